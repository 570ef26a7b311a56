/*
 * push.c - app push through Firebase Cloud Messaging HTTP v1 (POST
 * .../messages:send, OAuth2 bearer). FCM has no idempotency key: a
 * repeated send is a second notification. So an ambiguous attempt is not
 * repeated (unless push_on_uncertain = resend), and every message names
 * itself to the device so that a repeat, if one ever goes, replaces the
 * first instead of showing twice: android.notification.tag (Android
 * replaces a notification with the same tag) and the apns-collapse-id
 * header (APNs: at most 64 bytes; a longer key is sent as its SHA-256).
 *
 * THE TOKEN
 *	HTTP v1 takes an OAuth 2.0 access token that lives an hour
 *	(firebase.google.com/docs/cloud-messaging/auth-server). With
 *	fcm_service_account (the JSON key file the Firebase console gives)
 *	each process mints its own (gauth.h) before the first send and again
 *	five minutes before it expires, one lane minting while the others
 *	go on with the old one (cred.h). A 401 (UNAUTHENTICATED: the error
 *	model of Google APIs, cloud.google.com/apis/design/errors) means the
 *	token was refused and nothing was sent: the message is queued again
 *	and the token minted anew. While none can be minted the process
 *	claims nothing, trying again after 1 s doubling to a minute, and
 *	counts each failure (rekindle_provider_token_refreshes_total). A fixed
 *	fcm_access_token is taken as it is, for tests and short runs: once
 *	refused the pool waits for a restart with a new one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "channel_ops.h"
#include "clock.h"
#include "gauth.h"
#include "log.h"
#include "mem.h"

#define FCM_SCOPE "https://www.googleapis.com/auth/firebase.messaging"

static char *var_fcm_access_token, *var_fcm_service_account,
    *var_push_on_uncertain;

static const struct cfg_entry push_cfg[] = {
	{"fcm_access_token", CFG_STR, "", &var_fcm_access_token, 0, 0,
	    CFG_SECRET, "FCM OAuth2 bearer token, taken as it is (it lives an "
	    "hour: fcm_service_account for a pool that runs longer)"},
	{"fcm_service_account", CFG_STR, "", &var_fcm_service_account, 0, 0, 0,
	    "the Firebase service account's JSON key file: FCM access tokens "
	    "are minted with it"},
	{"push_on_uncertain", CFG_STR, "hold", &var_push_on_uncertain, 0, 0, 0,
	    "a push that may have been taken: hold (FCM does not "
	    "de-duplicate) or resend (the device folds it by tag)"},
	CFG_END,
};

/* The bearer token, shared by the lanes. */
static struct cred cred = CRED_INITIALIZER;
static struct gauth_account account;
static bool minting;		/* a service account: tokens are minted */
static _Thread_local unsigned token_seen;	/* the one this lane used */
static _Thread_local bool lane_renews;	/* push_credentials chose this lane */

/* The APNs collapse id of key: itself, or its SHA-256 in hex if longer
 * than APNs allows. */
static void
collapse_id(const char *key, char out[65])
{
	if (strlen(key) <= 64) {
		snprintf(out, 65, "%s", key);
		return;
	}
	provider_sha256_hex(key, 32, out);
}

char *
provider_fcm_request(const char *device_token, const char *title,
    const char *body, const json_t *data, const char *key)
{
	json_t *d = json_object(), *j;
	const char *k;
	json_t *v;
	char cid[65];
	char *s;

	/* FCM data values are strings, always. */
	json_object_foreach((json_t *)data, k, v) {
		if (json_is_string(v))
			json_object_set(d, k, v);
		else {
			char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

			json_object_set_new(d, k, json_string(t ? t : ""));
			free(t);
		}
	}
	json_object_set_new(d, "tracking_id", json_string(key));
	collapse_id(key, cid);
	j = json_pack("{s:{s:s,s:{s:s,s:s},s:o,s:{s:s,s:{s:s}},s:{s:{s:s}}}}",
	    "message", "token", device_token, "notification", "title", title,
	    "body", body, "data", d, "android", "priority", "high",
	    "notification", "tag", key, "apns", "headers", "apns-collapse-id",
	    cid);
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return (s);
}

void
provider_fcm_reply(const struct http_reply *h, struct send_result *r)
{
	json_t *j;
	const char *status;

	if (provider_http_verdict(h, r))
		return;
	j = h->body ? json_loads(h->body, 0, NULL) : NULL;
	status = json_string_value(json_object_get(json_object_get(j, "error"),
	    "status"));
	if (h->status == 200 && json_string_value(json_object_get(j, "name"))) {
		provider_set(r, SEND_OK, "accepted");
		snprintf(r->provider_id, sizeof(r->provider_id), "%s",
		    json_string_value(json_object_get(j, "name")));
	} else if (h->status == 401)
		provider_set(r, SEND_REFRESH_TOKEN, "FCM refused the access "
		    "token (401 %s)", status ? status : "");
	else if (h->status == 404 || (status && strcmp(status,
	    "UNREGISTERED") == 0))
		provider_set(r, SEND_NEXT_CHANNEL, "device token no longer "
		    "registered");
	else
		provider_set(r, SEND_FAILED, "FCM refused the message (%ld)",
		    h->status);
	json_decref(j);
}

static rk_err
push_init(db_conn *db, enum on_uncertain *policy)
{
	char why[256];
	rk_err rc;

	(void)db;
	if ((rc = channel_policy("push_on_uncertain", var_push_on_uncertain,
	    policy)) != RK_OK)
		return (rc);
	if ((*var_fcm_service_account != '\0') == (*var_fcm_access_token !=
	    '\0')) {
		log_error("CONFIG-INVALID", "push: set fcm_service_account (or, "
		    "for a token taken as it is, fcm_access_token), not both");
		return (RK_EINVAL);
	}
	if (*var_fcm_access_token != '\0') {
		cred_init(&cred, var_fcm_access_token, NULL, 0, 0, false);
		return (RK_OK);
	}
	if (gauth_load(var_fcm_service_account, &account, why, sizeof(why)) !=
	    RK_OK) {
		log_error("CONFIG-INVALID", "fcm_service_account: %s", why);
		return (RK_EINVAL);
	}
	minting = true;
	cred_init(&cred, NULL, NULL, 0, 0, true);
	return (RK_OK);
}

static enum credentials
push_credentials(void)
{
	return (cred_state(&cred, clock_now_us(), clock_mono_us(),
	    &lane_renews));
}

/* A new token from the service account, NULL if none was given (the
 * HTTP status in *status). No lock held: it is a network call. */
static char *
mint(int *life_s, long *status)
{
	char *jwt, *form, *tok = NULL;
	struct http_reply r;

	*status = 0;
	if ((jwt = gauth_assertion(&account, FCM_SCOPE, clock_now_us() /
	    1000000)) == NULL)
		return (NULL);
	form = gauth_form(jwt);
	http_post(account.token_uri, "application/x-www-form-urlencoded",
	    NULL, form, &r);
	if ((*status = r.status) == 200)
		tok = gauth_token_of(r.body, life_s);
	free(r.body);
	free(form);
	free(jwt);
	return (tok);
}

/*
 * Mints a token: when one is due (push_credentials said so), or after a
 * batch FCM answered 401 - unless a lane has had a new token since this
 * one built its requests, or another is minting.
 */
static const char *
push_refresh(db_conn *db, arena *a)
{
	char *tok = NULL;
	int life_s = 0;
	long status = 0;
	int64_t asked_us;
	const char *outcome;

	(void)db;
	(void)a;
	if (!cred_begin(&cred, token_seen, &lane_renews))
		return (NULL);
	asked_us = clock_now_us();	/* its life counts from the asking */
	if (minting)
		tok = mint(&life_s, &status);
	cred_end(&cred, tok, NULL, tok ? asked_us + (int64_t)life_s * 1000000 :
	    0, (int64_t)life_s * 1000000, clock_mono_us());
	if (tok == NULL && minting)
		log_warn("FCM-TOKEN", "no access token minted at the service "
		    "account's token_uri (HTTP %ld)", status);
	else if (tok == NULL)
		log_warn("FCM-TOKEN", "fcm_access_token was refused and cannot "
		    "be renewed: a new one (or fcm_service_account) and a "
		    "restart");
	else
		log_info("FCM-TOKEN", "access token minted, good for %d s",
		    life_s);
	outcome = tok ? "refreshed" : "failed";
	free(tok);
	return (outcome);
}

static const char *
push_address(const struct dmsg *m)
{
	return (*m->push_token != '\0' ? m->push_token : NULL);
}

static void
push_request(arena *a, const struct dmsg *m, const struct render *r,
    struct http_call *c)
{
	char text[2048], title[512];
	json_t *data = json_pack("{s:s,s:s}", "campaign_id", m->campaign,
	    "link", r->vals[TV_LINK]);

	tmpl_render(m->subject, r->vals, false, title, sizeof(title));
	tmpl_render(m->body, r->vals, false, text, sizeof(text));
	c->body = provider_fcm_request(m->push_token, title, text, data, r->key);
	c->len = strlen(c->body);
	json_decref(data);
	c->headers[0] = arena_printf(a, "Authorization: Bearer %s",
	    cred_use(&cred, a, &token_seen));
}

const struct channel_ops push_ops = {
	.channel = CHANNEL_PUSH,
	.dedups = false,
	.cfg = push_cfg,
	.init = push_init,
	.address = push_address,
	.request = push_request,
	.reply = provider_fcm_reply,
	.refresh = push_refresh,
	.credentials = push_credentials,
};
