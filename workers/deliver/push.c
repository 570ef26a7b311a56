/*
 * push.c - app push through Firebase Cloud Messaging HTTP v1 (POST
 * .../messages:send, OAuth2 bearer). FCM has no idempotency key: a
 * repeated send is a second notification. So an ambiguous attempt is not
 * repeated (unless push_on_uncertain = resend), and every message names
 * itself to the device so that a repeat, if one ever goes, replaces the
 * first instead of showing twice: android.notification.tag (Android
 * replaces a notification with the same tag) and the apns-collapse-id
 * header (APNs: at most 64 bytes; a longer key is sent as its SHA-256).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "channel_ops.h"

static char *var_fcm_access_token, *var_push_on_uncertain;

static const struct cfg_entry push_cfg[] = {
	{"fcm_access_token", CFG_STR, "", &var_fcm_access_token, 0, 0,
	    CFG_SECRET, "FCM OAuth2 bearer token"},
	{"push_on_uncertain", CFG_STR, "hold", &var_push_on_uncertain, 0, 0, 0,
	    "a push that may have been taken: hold (FCM does not "
	    "de-duplicate) or resend (the device folds it by tag)"},
	CFG_END,
};

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
	} else if (h->status == 404 || (status && strcmp(status,
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
	(void)db;
	return (channel_policy("push_on_uncertain", var_push_on_uncertain,
	    policy));
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
	    var_fcm_access_token);
}

const struct channel_ops push_ops = {
	.channel = CHANNEL_PUSH,
	.dedups = false,
	.cfg = push_cfg,
	.init = push_init,
	.address = push_address,
	.request = push_request,
	.reply = provider_fcm_reply,
};
