/*
 * zns.c - Zalo Notification Service template messages (POST
 * /message/template with the OA access token in the access_token
 * header). tracking_id carries our key, but Zalo only echoes it for
 * reconciliation: it does not de-duplicate on it, a repeat is a second
 * message and charged again. So an ambiguous attempt is not repeated
 * (unless zns_on_uncertain = resend); the OA webhook's
 * user_received_message, recorded as a delivery receipt, settles it.
 *
 * THE TOKEN
 *	The OA access token lives about 25 hours (expires_in, 90000 s);
 *	each refresh answers a new refresh token too (Zalo's OAuth v4 for
 *	Official Accounts, developers.zalo.me), and the old refresh token is
 *	spent. The refresh is a form POSTed to
 *	oauth.zaloapp.com/v4/oa/access_token - app_id, grant_type
 *	refresh_token, refresh_token - with the app's secret_key header, and
 *	answers {access_token, refresh_token, expires_in}; a refresh token
 *	serves once, for three months. So the pair is the pool's, not a
 *	process's: kept in provider_tokens (migrations 025, 028), seeded
 *	from the configuration, and a refresh is stored under a compare on
 *	its generation, with its expiry; a process due to renew first takes
 *	a newer stored pair if there is one. The lanes share the pair
 *	(cred.h): it is renewed five minutes before it expires, one lane
 *	renewing while the others send with the old one, and at once when
 *	Zalo refuses it (-124, -220) - a pair seeded from the configuration
 *	has no known expiry until its first refresh. No lock is held across
 *	the refresh: one slow answer stalls no other lane.
 *
 *	A refresh whose answer is lost may still have been spent at Zalo:
 *	then no refresh token the pool holds works any more, and only a new
 *	pair from the OA's console (zns_access_token and zns_refresh_token,
 *	then a restart of one process: the seed replaces a stored pair whose
 *	refresh token it was not seeded with) lets the pool send again.
 *	Nothing here can tell that from a passing outage. So after a failed
 *	renewal of a refused token the process claims nothing - a refused
 *	attempt spends one of the message's attempts, and eight make it
 *	failed for good - and tries again after 1 s, doubling to a minute,
 *	taking a newer pair from the store first (the restarted process's
 *	seed); each renewal's outcome is counted
 *	(rekindle_provider_token_refreshes_total) and the operators are
 *	alerted on failures (deploy/monitoring/rekindle-rules.yml).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "channel_ops.h"
#include "clock.h"
#include "deliver_db.h"
#include "log.h"
#include "mem.h"

static char *var_zns_access_token, *var_zns_refresh_token,
    *var_zns_refresh_url, *var_zns_app_id, *var_zns_secret_key,
    *var_zns_on_uncertain;
/* The pair, shared by the lanes. */
static struct cred cred = CRED_INITIALIZER;
/* The stored generation held, -1: no store (no refresh token); read and
 * written only by the lane renewing (and zns_init, before the lanes). */
static int64_t store_gen = -1;
static _Thread_local unsigned token_seen;	/* the one this lane used */
static _Thread_local bool lane_renews;	/* zns_credentials chose this lane */

static const struct cfg_entry zns_cfg[] = {
	{"zns_access_token", CFG_STR, "", &var_zns_access_token, 0, 0,
	    CFG_SECRET, "Zalo OA access token (refreshed when it expires)"},
	{"zns_refresh_token", CFG_STR, "", &var_zns_refresh_token, 0, 0,
	    CFG_SECRET, "Zalo OA refresh token"},
	{"zns_refresh_url", CFG_STR, "https://oauth.zaloapp.com/v4/oa/"
	    "access_token", &var_zns_refresh_url, 0, 0, 0,
	    "Zalo OA token refresh endpoint"},
	{"zns_app_id", CFG_STR, "", &var_zns_app_id, 0, 0, 0,
	    "the Zalo app's id (refreshing the OA token)"},
	{"zns_secret_key", CFG_STR, "", &var_zns_secret_key, 0, 0, CFG_SECRET,
	    "the Zalo app's secret key (refreshing the OA token)"},
	{"zns_on_uncertain", CFG_STR, "hold", &var_zns_on_uncertain, 0, 0, 0,
	    "a ZNS message that may have been taken: hold (Zalo does not "
	    "de-duplicate) or resend"},
	CFG_END,
};

char *
provider_zns_request(const char *phone_e164, const char *template_id,
    const json_t *template_data, const char *key)
{
	json_t *j = json_pack("{s:s,s:s,s:O,s:s}", "phone", *phone_e164 == '+' ?
	    phone_e164 + 1 : phone_e164, "template_id", template_id,
	    "template_data", template_data, "tracking_id", key);
	char *s = json_dumps(j, JSON_COMPACT);

	json_decref(j);
	return (s);
}

void
provider_zns_reply(const struct http_reply *h, struct send_result *r)
{
	json_t *j, *data;
	int err;

	if (provider_http_verdict(h, r))
		return;
	j = h->body ? json_loads(h->body, 0, NULL) : NULL;
	if (h->status != 200 || !json_is_integer(json_object_get(j, "error"))) {
		provider_set(r, SEND_FAILED, "unexpected reply (%ld)", h->status);
		json_decref(j);
		return;
	}
	err = (int)json_integer_value(json_object_get(j, "error"));
	data = json_object_get(j, "data");
	switch (err) {
	case 0: {
		const char *q = json_string_value(json_object_get(json_object_get(
		    data, "quota"), "remainingQuota"));

		provider_set(r, SEND_OK, "accepted");
		snprintf(r->provider_id, sizeof(r->provider_id), "%s",
		    json_string_value(json_object_get(data, "msg_id")) ?
		    json_string_value(json_object_get(data, "msg_id")) : "");
		r->quota_left = q ? atol(q) : -1;
		break;
	}
	case -118:
		provider_set(r, SEND_NEXT_CHANNEL, "no Zalo account (-118)");
		break;
	case -114:
		provider_set(r, SEND_NEXT_CHANNEL, "Zalo user inactive or "
		    "refused (-114)");
		break;
	case -124:
	case -220:
		provider_set(r, SEND_REFRESH_TOKEN, "access token %s (%d)",
		    err == -220 ? "expired" : "invalid", err);
		break;
	case -1472:
		provider_set(r, SEND_NEXT_CHANNEL, "daily ZNS quota used up "
		    "(-1472)");
		break;
	default:
		provider_set(r, SEND_FAILED, "Zalo refused the message (%d)", err);
	}
	json_decref(j);
}

/* The renewing lane: a pair stored by another process since ours, taken
 * (the renewal ends); false if there is none. */
static bool
take_newer(db_conn *db, arena *a)
{
	struct ptoken t;

	if (store_gen < 0 || ddb_token_get(db, a, "zns", &t) != RK_OK ||
	    t.access == NULL || t.gen == store_gen)
		return (false);
	store_gen = t.gen;
	cred_end(&cred, t.access, t.refresh, t.expires_us, t.life_us,
	    clock_mono_us());
	log_info("ZNS-TOKEN", "access token of generation %lld taken from the "
	    "store (refreshed by another process)", (long long)t.gen);
	return (true);
}

static rk_err
zns_init(db_conn *db, enum on_uncertain *policy)
{
	char digest[65];
	struct ptoken t;
	arena *a;
	rk_err rc;

	if ((rc = channel_policy("zns_on_uncertain", var_zns_on_uncertain,
	    policy)) != RK_OK)
		return (rc);
	if (*var_zns_access_token == '\0' && *var_zns_refresh_token == '\0') {
		log_error("CONFIG-INVALID", "zns: zns_access_token or "
		    "zns_refresh_token (or both) from the OA's console");
		return (RK_EINVAL);
	}
	/* until the store says otherwise: renewed ahead only with a
	 * refresh token (with it alone, the first send waits for one) */
	cred_init(&cred, var_zns_access_token, var_zns_refresh_token, 0, 0,
	    *var_zns_refresh_token != '\0');
	if (*var_zns_refresh_token == '\0')
		return (RK_OK);
	if (*var_zns_app_id == '\0' || *var_zns_secret_key == '\0') {
		log_error("CONFIG-INVALID", "zns_refresh_token needs zns_app_id "
		    "and zns_secret_key: Zalo refreshes only for the app");
		return (RK_EINVAL);
	}
	/* the pool's pair: the configuration's, unless it was refreshed
	 * since it was stored */
	provider_sha256_hex(var_zns_refresh_token, 32, digest);
	a = arena_create(1024);
	rc = ddb_token_seed(db, a, "zns", var_zns_access_token,
	    var_zns_refresh_token, digest, &t);
	if (rc == RK_OK && t.access != NULL) {
		store_gen = t.gen;
		cred_init(&cred, t.access, t.refresh, t.expires_us, t.life_us,
		    true);
	}
	arena_destroy(a);
	return (rc);
}

static const char *
zns_address(const struct dmsg *m)
{
	return (m->zalo && *m->phone != '\0' ? m->phone : NULL);
}

static void
zns_request(arena *a, const struct dmsg *m, const struct render *r,
    struct http_call *c)
{
	static const char *const names[TV_N] = {"name", "offer", "partner",
	    "expiry", "code", "link"};
	json_t *data = json_object();

	for (int v = 0; v < TV_N; v++)
		json_object_set_new(data, names[v], json_string(r->vals[v] ?
		    r->vals[v] : ""));
	c->body = provider_zns_request(m->phone, m->provider_template, data,
	    r->key);
	c->len = strlen(c->body);
	json_decref(data);
	c->headers[0] = arena_printf(a, "access_token: %s", cred_use(&cred, a,
	    &token_seen));
}

static enum credentials
zns_credentials(void)
{
	return (cred_state(&cred, clock_now_us(), clock_mono_us(),
	    &lane_renews));
}

/* expires_in, in seconds: Zalo answers it as a string ("90000"); a
 * number is taken too. 0 if absent or out of range (1 s .. a year). */
static int64_t
life_of(const json_t *e)
{
	const char *s = json_string_value(e);
	long long v = json_is_integer(e) ? json_integer_value(e) : s ?
	    strtoll(s, NULL, 10) : 0;

	return (v >= 1 && v <= 366LL * 86400 ? (int64_t)v * 1000000 : 0);
}

/*
 * Renews the pair: when it is due (zns_credentials said so), or after a
 * batch Zalo refused the token this lane used - unless another lane has
 * since, or another process has (it is in the store), or is renewing it
 * now (its lease: 029_token_refresh_lease.sql - the refresh token is
 * single-use, so two at once had one refused). A new pair is stored under
 * a compare on its generation, so one refresh serves the pool. No lock is
 * held across the call.
 */
static const char *
zns_refresh(db_conn *db, arena *a)
{
	const char *access, *refresh, *rt, *outcome;
	const char *hdr[2] = {NULL, NULL};
	char *body, *app, *form_rt;
	int64_t asked_us, life_us, expires_us = 0;
	json_t *j;
	struct http_reply r;

	if (!cred_begin(&cred, token_seen, &lane_renews))
		return (NULL);
	if (take_newer(db, a))
		return ("taken");
	if (store_gen >= 0) {
		bool got = false;

		if (ddb_token_lease(db, "zns", store_gen, http_timeout_ms() + 5000,
		    &got) != RK_OK || !got) {
			/* another process renews it (or the store is away):
			 * its pair is taken from the store when it comes */
			if (take_newer(db, a))
				return ("taken");
			cred_end(&cred, NULL, NULL, 0, 0, clock_mono_us());
			return (NULL);
		}
	}
	if (*(rt = cred_refresh(&cred, a)) == '\0') {
		cred_end(&cred, NULL, NULL, 0, 0, clock_mono_us());
		if (store_gen >= 0)
			(void)ddb_token_unlease(db, "zns", store_gen);
		log_warn("ZNS-TOKEN", "zns_access_token was refused and there is "
		    "no zns_refresh_token: a new pair and a restart");
		return ("failed");
	}
	app = http_form_escape(var_zns_app_id);
	form_rt = http_form_escape(rt);
	body = xmalloc(strlen(app) + strlen(form_rt) + 64);
	sprintf(body, "app_id=%s&grant_type=refresh_token&refresh_token=%s",
	    app, form_rt);
	hdr[0] = arena_printf(a, "secret_key: %s", var_zns_secret_key);
	asked_us = clock_now_us();	/* its life counts from the asking */
	http_post(var_zns_refresh_url, "application/x-www-form-urlencoded",
	    hdr, body, &r);
	free(app);
	free(form_rt);
	free(body);
	j = r.body ? json_loads(r.body, 0, NULL) : NULL;
	access = json_string_value(json_object_get(j, "access_token"));
	refresh = json_string_value(json_object_get(j, "refresh_token"));
	if ((life_us = life_of(json_object_get(j, "expires_in"))) > 0)
		expires_us = asked_us + life_us;
	if (access != NULL) {
		bool won = false;

		outcome = "refreshed";
		if (store_gen >= 0 && ddb_token_put(db, "zns", access, refresh ?
		    refresh : rt, expires_us, store_gen, &won) != RK_OK) {
			outcome = "unstored";
			log_warn("ZNS-TOKEN", "access token refreshed but not "
			    "stored (%s): the pool's other processes keep the "
			    "old one until they renew it", db_errmsg(db));
		}
		/* not stored because a newer pair is (the configuration was
		 * seeded again meanwhile): that one */
		if (store_gen >= 0 && !won && strcmp(outcome, "unstored") != 0 &&
		    take_newer(db, a))
			outcome = "taken";
		else {
			if (won)
				store_gen++;
			cred_end(&cred, access, refresh, expires_us, life_us,
			    clock_mono_us());
			log_info("ZNS-TOKEN", "access token refreshed, good for "
			    "%lld s", (long long)(life_us / 1000000));
		}
	} else if (take_newer(db, a))
		outcome = "taken";
	else {
		cred_end(&cred, NULL, NULL, 0, 0, clock_mono_us());
		outcome = "failed";
		log_warn("ZNS-TOKEN", "could not refresh the access token "
		    "(HTTP %ld)", r.status);
		/* another process may try (its own refresh token may differ:
		 * a pair seeded again) */
		if (store_gen >= 0)
			(void)ddb_token_unlease(db, "zns", store_gen);
	}
	json_decref(j);
	free(r.body);
	return (outcome);
}

const struct channel_ops zns_ops = {
	.channel = CHANNEL_ZNS,
	.dedups = false,
	.cfg = zns_cfg,
	.init = zns_init,
	.address = zns_address,
	.request = zns_request,
	.reply = provider_zns_reply,
	.refresh = zns_refresh,
	.credentials = zns_credentials,
};
