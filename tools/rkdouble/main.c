/*
 * main.c - rkdouble: the messaging providers rekindle talks to, on
 * loopback, for tests, benchmarks and the demo. One HTTP server speaks
 *
 *	POST /zns/message/template	Zalo ZNS send (access_token header;
 *					phone 84..., template_id,
 *					template_data, tracking_id; quota in
 *					every reply; -118, -124, -220)
 *	POST /v4/oa/access_token	Zalo OA token refresh, as
 *					oauth.zaloapp.com takes it: a form
 *					(app_id zns-app-1, grant_type
 *					refresh_token, refresh_token) and the
 *					app's secret_key header (zns-secret-1)
 *	POST /sms/send			eSMS-style brand-name SMS (RequestId is
 *					the idempotency key: a repeat is
 *					CodeResult 124; advertising content
 *					must start with "[QC]")
 *	POST /fcm/v1/projects/P/messages:send
 *					FCM HTTP v1 (data values must be
 *					strings; data.tracking_id is the key;
 *					a bearer token minted below, else 401)
 *	POST /oauth2/token		Google's OAuth 2.0 JWT bearer grant
 *					for the double's service account
 *					(gtoken.h: GET /_fcm/service_account
 *					gives its key file; POST
 *					/_fcm/token_life {"seconds"}, POST
 *					/_fcm/revoke_tokens)
 *
 * and an SMTP relay (smtp.h) that takes advertising e-mail: a message must
 * have Subject, Message-ID, MIME-Version, List-Unsubscribe and
 * X-Rekindle-Key (the idempotency key) headers; a recipient on the bounce
 * list answers 550.
 *
 * AS THE REAL ONES, NEVER FRIENDLIER
 *	Only the SMS gateway de-duplicates on our key (a repeated RequestId
 *	is CodeResult 124 and sends nothing). ZNS, FCM and the SMTP relay
 *	take a repeat as a new message (ZNS charges its quota again); the
 *	double counts it as a duplicate, so a test can see it.
 *
 * FAULTS (POST /_faults {"channel": ..., counts and/or "rate": {...}})
 *	http_500	HTTP 500 / SMTP 451, nothing taken
 *	http_429	HTTP 429 + Retry-After / SMTP 421 and closed
 *	drop		the request read, the connection closed, no reply,
 *			nothing taken
 *	drop_after	the request read and TAKEN, then closed, no reply
 *	late, stalls	TAKEN, the reply held back late_ms / stall_ms
 *			(past a client's timeout: it does not know it went)
 *	Counts come first, then each request draws from the rates. On
 *	SMTP a drawn fault hits one stage at random (greeting, MAIL, RCPT,
 *	DATA, after the final dot; drop_after and late only after the
 *	dot); counted faults hit the "stage" given (connect, mail, rcpt,
 *	data, dot; default dot). Slow replies never hold a
 *	server thread (MHD suspends the connection).
 *
 * It records every accepted request's idempotency key, so a duplicate
 * send shows. Control endpoints: GET /_stats (per channel: accepted,
 * duplicates, rejected, keys, and the faults injected by kind), GET
 * /_keys/CHANNEL, GET /_log/CHANNEL (every delivery to a recipient:
 * [to, wall-clock ms]; SMS repeats the gateway dropped are not
 * deliveries), GET /_messages/CHANNEL (the last bodies), POST
 * /_faults, POST /_zns/no_account (phones without Zalo), POST
 * /_zns/expire_token (and {"drop_refreshes": N}: the next N refreshes are
 * TAKEN - the old refresh token spent, a new pair made - and the
 * connection closed with no reply), POST /_zns/new_pair (what the OA's
 * console does: a new pair, answered, the old one void), POST
 * /_zns/token_life {"seconds": N} (pairs made from then on expire N s
 * after they are made, -220 afterwards, and the refresh answers
 * expires_in N; 0: only /_zns/expire_token expires one), POST
 * /_email/bounce (addresses that answer 550). GET /_stats gives the
 * refresh requests too (zns.refreshes), and the sends refused for the
 * token: zns.token_invalid (-124: not the newest pair's - a refresh
 * voids the old pair at once, which Zalo may not do, but a double is
 * never friendlier) and zns.token_expired (-220).
 *
 * The relay asks what a bank's submission relay can be told to (smtp.h):
 * with --smtp-cert and --smtp-key, STARTTLS before MAIL; with --smtp-auth
 * USER:PASSWORD, AUTH PLAIN or LOGIN before MAIL (over TLS when it is
 * offered). GET /_stats counts them under email: starttls (TLS sessions),
 * auth_ok, auth_failed (535) and refused (MAIL answered 530).
 *
 *	rkdouble [--listen PORT] [--port-file FILE] [--smtp-listen PORT]
 *	    [--smtp-port-file FILE] [--smtp-cert PEM --smtp-key PEM]
 *	    [--smtp-auth USER:PASSWORD]
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "form.h"
#include "gtoken.h"
#include "keyset.h"
#include "mem.h"
#include "smtp.h"

enum chan { CH_SMS, CH_ZNS, CH_FCM, CH_EMAIL, NCH };
static const char *const chan_name[NCH] = {"sms", "zns", "fcm", "email"};

/* Zalo's OA token refresh (oauth.zaloapp.com), and the app the double
 * knows. */
#define ZNS_REFRESH_PATH "/v4/oa/access_token"
#define ZNS_APP "zns-app-1"
#define ZNS_SECRET "zns-secret-1"
#define KEEP_BODIES 50
#define MAX_BODY (1 << 20)
#define ZNS_DAILY_QUOTA 1000000
#define LOG_MAX 2000000

/* Kinds of injected fault, as counted and as named in /_faults. */
enum fault { F_NONE, F_500, F_429, F_DROP, F_DROP_AFTER, F_LATE, NFAULT };
static const char *const fault_name[NFAULT] = {"none", "http_500",
    "http_429", "drop", "drop_after", "late"};

struct faults {
	int count[NFAULT];		/* still to inject, in kind order */
	double rate[NFAULT];		/* then drawn per request */
	int retry_after_s, late_ms;
	int stage;			/* SMTP: where counted faults hit */
	long injected[NFAULT];
};

static struct {
	pthread_mutex_t mu;
	keyset *keys[NCH];
	long accepted[NCH], duplicates[NCH], rejected[NCH];
	struct faults fault[NCH];
	char *bodies[NCH][KEEP_BODIES];
	long nbodies[NCH];
	keyset *no_zalo, *bounce;
	char zns_token[64], zns_refresh[64];
	bool zns_expired;
	int zns_life_s;		/* pairs made from now expire after; 0: never */
	int zns_pair_life_s;	/* the pair's, as it was made */
	time_t zns_made;	/* when the pair was made */
	long token_invalid;	/* sends refused for the token: -124 */
	long token_expired;	/* and -220 */
	int token_gen;
	int refresh_drops;	/* refreshes to take and then drop */
	long refreshes;		/* refresh requests answered or dropped */
	long smtp_events[SMTPE_REFUSED + 1];	/* smtp.h's, by kind */
	long zns_quota_left;
	unsigned short rng[3];
	/* what reached a recipient, and when (wall clock ms) */
	struct deliveries {
		char **to;
		int64_t *at_ms;
		size_t n, cap;
	} log[NCH];
} st = {.mu = PTHREAD_MUTEX_INITIALIZER, .rng = {0x1234, 0x5678, 0x9abc}};

/* GET /_stats's names of smtp.h's events. */
static const char *const smtp_event_name[SMTPE_REFUSED + 1] = {"starttls",
    "auth_ok", "auth_failed", "refused"};

static volatile sig_atomic_t stop;

struct conn {
	char *body;
	size_t len;
	bool too_big;
	/* a reply made but held back (late), sent when resumed */
	bool held;
	unsigned code;
	json_t *resp;
	int retry_after;
};

/* A reply made while this is set is kept on the connection, not sent. */
static __thread struct conn *capture;

/* Connections suspended until their time (a late reply). */
struct sleeper {
	struct MHD_Connection *c;
	int64_t due_ms;
	struct sleeper *next;
};
static pthread_mutex_t sleep_mu = PTHREAD_MUTEX_INITIALIZER;
static struct sleeper *sleepers;

static void
new_token(void)
{
	st.token_gen++;
	snprintf(st.zns_token, sizeof(st.zns_token), "zns-token-%d", st.token_gen);
	snprintf(st.zns_refresh, sizeof(st.zns_refresh), "zns-refresh-%d",
	    st.token_gen);
	st.zns_expired = false;
	st.zns_made = time(NULL);
	st.zns_pair_life_s = st.zns_life_s;
}

static enum MHD_Result
reply(struct MHD_Connection *c, unsigned code, json_t *j, int retry_after)
{
	char *text;
	struct MHD_Response *r;
	enum MHD_Result rc;

	if (capture != NULL) {
		capture->code = code;
		capture->resp = j;
		capture->retry_after = retry_after;
		return (MHD_YES);
	}
	text = json_dumps(j, JSON_COMPACT);
	r = MHD_create_response_from_buffer(strlen(text), text,
	    MHD_RESPMEM_MUST_FREE);
	json_decref(j);
	MHD_add_response_header(r, "Content-Type", "application/json");
	if (retry_after > 0) {
		char ra[16];

		snprintf(ra, sizeof(ra), "%d", retry_after);
		MHD_add_response_header(r, "Retry-After", ra);
	}
	rc = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return (rc);
}

/* Keeps the body among the channel's last KEEP_BODIES (lock held). */
static void
keep(enum chan ch, const char *body)
{
	long i = st.nbodies[ch]++ % KEEP_BODIES;

	free(st.bodies[ch][i]);
	st.bodies[ch][i] = xstrdup(body);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* The fault for one request on ch: a counted one first, else a draw
 * from the rates; *retry_after and *late_ms for its reply. */
static enum fault
fault_pick(enum chan ch, bool rates_only, int *retry_after, int *late_ms,
    bool *counted)
{
	struct faults *f = &st.fault[ch];
	enum fault k = F_NONE;

	pthread_mutex_lock(&st.mu);
	for (int i = F_500; i < NFAULT && k == F_NONE && !rates_only; i++)
		if (f->count[i] > 0) {
			f->count[i]--;
			k = (enum fault)i;
		}
	*counted = k != F_NONE;
	if (k == F_NONE) {
		double x = erand48(st.rng), sum = 0;

		for (int i = F_500; i < NFAULT && k == F_NONE; i++)
			if (x < (sum += f->rate[i]))
				k = (enum fault)i;
	}
	if (k != F_NONE)
		f->injected[k]++;
	*retry_after = f->retry_after_s > 0 ? f->retry_after_s : 1;
	*late_ms = f->late_ms > 0 ? f->late_ms : 1000;
	pthread_mutex_unlock(&st.mu);
	return (k);
}

/* Holds c until delay_ms from now (MHD_suspend_connection). */
static void
sleep_conn(struct MHD_Connection *c, int delay_ms)
{
	struct sleeper *s = xcalloc(1, sizeof(*s));

	s->c = c;
	s->due_ms = now_ms() + delay_ms;
	MHD_suspend_connection(c);
	pthread_mutex_lock(&sleep_mu);
	s->next = sleepers;
	sleepers = s;
	pthread_mutex_unlock(&sleep_mu);
}

/* Resumes the held connections whose time came. */
static void *
waker(void *arg)
{
	(void)arg;
	for (;;) {
		struct timespec ts = {0, 5 * 1000000L};
		int64_t now = now_ms();

		pthread_mutex_lock(&sleep_mu);
		for (struct sleeper **p = &sleepers; *p != NULL;) {
			struct sleeper *s = *p;

			if (s->due_ms > now) {
				p = &s->next;
				continue;
			}
			*p = s->next;
			MHD_resume_connection(s->c);
			free(s);
		}
		pthread_mutex_unlock(&sleep_mu);
		nanosleep(&ts, NULL);
	}
	return (NULL);
}

/* Appends a delivery to the channel's log (lock held). */
static void
log_delivery(enum chan ch, const char *to)
{
	struct deliveries *d = &st.log[ch];
	struct timespec ts;

	if (d->n == LOG_MAX)
		return;
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 1024;
		d->to = xrealloc(d->to, d->cap * sizeof(char *));
		d->at_ms = xrealloc(d->at_ms, d->cap * sizeof(int64_t));
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	d->to[d->n] = xstrdup(to ? to : "");
	d->at_ms[d->n++] = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Records an accepted key for recipient to (lock held); true if it came
 * before. A repeat reaches the recipient again - except on the SMS
 * gateway, which drops it - and the delivery log shows that.
 */
static bool
record(enum chan ch, const char *key, const char *to, const char *body)
{
	bool dup = keyset_add(st.keys[ch], key) > 1;

	if (dup)
		st.duplicates[ch]++;
	else {
		st.accepted[ch]++;
		keep(ch, body);
	}
	if (!dup || ch != CH_SMS)
		log_delivery(ch, to);
	return (dup);
}

static bool
zns_phone(const char *p)
{
	return (p != NULL && strlen(p) == 11 && strncmp(p, "84", 2) == 0 &&
	    strspn(p, "0123456789") == 11);
}

static enum MHD_Result
zns_send(struct MHD_Connection *c, json_t *req, const char *body)
{
	const char *token = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    "access_token");
	const char *phone = json_string_value(json_object_get(req, "phone")),
	    *tid = json_string_value(json_object_get(req, "tracking_id")),
	    *tpl = json_string_value(json_object_get(req, "template_id"));
	json_t *data = json_object_get(req, "template_data"), *out;
	int err = 0;
	const char *msg = "Success";
	long left;

	pthread_mutex_lock(&st.mu);
	if (token == NULL || strcmp(token, st.zns_token) != 0) {
		err = -124;
		msg = "Access token is invalid";
	} else if (st.zns_expired || (st.zns_pair_life_s > 0 && time(NULL) >=
	    st.zns_made + st.zns_pair_life_s)) {
		err = -220;
		msg = "Access token has expired";
	} else if (!zns_phone(phone) || tid == NULL || *tid == '\0' ||
	    tpl == NULL || !json_is_object(data)) {
		err = -108;
		msg = "Invalid parameters (phone 84..., template_id, "
		    "template_data, tracking_id)";
	} else if (keyset_count(st.no_zalo, phone) > 0) {
		err = -118;
		msg = "Zalo account not existed";
	} else if (st.zns_quota_left <= 0) {
		err = -1472;
		msg = "Out of daily quota";
	}
	if (err != 0) {
		st.rejected[CH_ZNS]++;
		if (err == -124)
			st.token_invalid++;
		else if (err == -220)
			st.token_expired++;
		pthread_mutex_unlock(&st.mu);
		return (reply(c, MHD_HTTP_OK, json_pack("{s:i,s:s}", "error", err,
		    "message", msg), 0));
	}
	/* Zalo does not de-duplicate on tracking_id: a repeat is a second
	 * message, charged again */
	(void)record(CH_ZNS, tid, phone, body);
	st.zns_quota_left--;
	left = st.zns_quota_left;
	{
		char sent[24], q[24];

		/* Zalo sends numbers as strings. */
		snprintf(sent, sizeof(sent), "%lld", (long long)time(NULL) * 1000);
		snprintf(q, sizeof(q), "%ld", left);
		out = json_pack("{s:i,s:s,s:{s:s,s:s,s:s,s:{s:s,s:s}}}", "error", 0,
		    "message", msg, "data", "msg_id", tid, "sent_time", sent,
		    "sending_mode", "1", "quota", "dailyQuota", "1000000",
		    "remainingQuota", q);
	}
	pthread_mutex_unlock(&st.mu);
	return (reply(c, MHD_HTTP_OK, out, 0));
}

/* A refresh: a new pair for the refresh token, which is then spent
 * (one use only). Errors come as HTTP 200 with an error code, as Zalo's;
 * the codes for a wrong app or secret are the double's own - rekindle
 * reads only whether an access_token came. */
static enum MHD_Result
zns_refresh(struct MHD_Connection *c, const char *form)
{
	const char *secret = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    "secret_key");
	char *app = form_value(form, "app_id"), *grant = form_value(form,
	    "grant_type"), *rt = form_value(form, "refresh_token");
	json_t *out;

	pthread_mutex_lock(&st.mu);
	if (secret == NULL || strcmp(secret, ZNS_SECRET) != 0 || app == NULL ||
	    strcmp(app, ZNS_APP) != 0)
		out = json_pack("{s:i,s:s}", "error", -14002, "error_description",
		    "Invalid app_id or secret_key");
	else if (grant == NULL || strcmp(grant, "refresh_token") != 0)
		out = json_pack("{s:i,s:s}", "error", -14003, "error_description",
		    "Invalid grant_type");
	else if (rt == NULL || strcmp(rt, st.zns_refresh) != 0)
		out = json_pack("{s:i,s:s}", "error", -14014, "error_description",
		    "Invalid refresh token");
	else {
		char life[16];

		new_token();
		/* Zalo answers expires_in as a string */
		snprintf(life, sizeof(life), "%d", st.zns_life_s > 0 ?
		    st.zns_life_s : 90000);
		out = json_pack("{s:s,s:s,s:s}", "access_token", st.zns_token,
		    "refresh_token", st.zns_refresh, "expires_in", life);
	}
	pthread_mutex_unlock(&st.mu);
	free(app);
	free(grant);
	free(rt);
	return (reply(c, MHD_HTTP_OK, out, 0));
}

static enum MHD_Result
sms_send(struct MHD_Connection *c, json_t *req, const char *body)
{
	const char *rid = json_string_value(json_object_get(req, "RequestId")),
	    *content = json_string_value(json_object_get(req, "Content")),
	    *type = json_string_value(json_object_get(req, "SmsType")),
	    *key = json_string_value(json_object_get(req, "ApiKey"));
	json_t *phones = json_object_get(req, "Phones");
	bool dup;

	if (key == NULL || *key == '\0')
		return (reply(c, MHD_HTTP_OK, json_pack("{s:s,s:s}", "CodeResult",
		    "101", "ErrorMessage", "Authorize failed"), 0));
	if (rid == NULL || *rid == '\0' || content == NULL ||
	    !json_is_array(phones) || json_array_size(phones) == 0 ||
	    (type != NULL && strcmp(type, "1") == 0 &&
	    strncmp(content, "[QC]", 4) != 0)) {
		pthread_mutex_lock(&st.mu);
		st.rejected[CH_SMS]++;
		pthread_mutex_unlock(&st.mu);
		return (reply(c, MHD_HTTP_OK, json_pack("{s:s,s:s}", "CodeResult",
		    "99", "ErrorMessage", "RequestId, Content, Phones required; "
		    "advertising content starts with [QC]"), 0));
	}
	pthread_mutex_lock(&st.mu);
	dup = record(CH_SMS, rid, json_string_value(json_array_get(phones, 0)),
	    body);
	pthread_mutex_unlock(&st.mu);
	if (dup)
		return (reply(c, MHD_HTTP_OK, json_pack("{s:s,s:s}", "CodeResult",
		    "124", "ErrorMessage", "Duplicate RequestId"), 0));
	return (reply(c, MHD_HTTP_OK, json_pack("{s:s,s:s}", "CodeResult", "100",
	    "SMSID", rid), 0));
}

static enum MHD_Result
fcm_send(struct MHD_Connection *c, json_t *req, const char *body,
    const char *url)
{
	const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    "Authorization");
	json_t *m = json_object_get(req, "message"), *data, *v;
	const char *k, *tid;
	char name[300];

	if (!gtoken_valid(auth)) {
		pthread_mutex_lock(&st.mu);
		st.rejected[CH_FCM]++;
		pthread_mutex_unlock(&st.mu);
		return (reply(c, MHD_HTTP_UNAUTHORIZED, json_pack(
		    "{s:{s:i,s:s,s:s}}", "error", "code", 401, "status",
		    "UNAUTHENTICATED", "message", "Request had invalid "
		    "authentication credentials. Expected OAuth 2 access "
		    "token, login cookie or other valid authentication "
		    "credential."), 0));
	}
	data = json_object_get(m, "data");
	json_object_foreach(data, k, v)
		if (!json_is_string(v))
			return (reply(c, MHD_HTTP_BAD_REQUEST, json_pack(
			    "{s:{s:i,s:s,s:s}}", "error", "code", 400, "status",
			    "INVALID_ARGUMENT", "message", "data values must be "
			    "strings"), 0));
	tid = json_string_value(json_object_get(data, "tracking_id"));
	if (json_string_value(json_object_get(m, "token")) == NULL ||
	    tid == NULL)
		return (reply(c, MHD_HTTP_BAD_REQUEST, json_pack(
		    "{s:{s:i,s:s,s:s}}", "error", "code", 400, "status",
		    "INVALID_ARGUMENT", "message", "message.token and "
		    "data.tracking_id are required"), 0));
	pthread_mutex_lock(&st.mu);
	(void)record(CH_FCM, tid, json_string_value(json_object_get(m,
	    "token")), body);
	pthread_mutex_unlock(&st.mu);
	snprintf(name, sizeof(name), "%.*s/messages/%s",
	    (int)(strstr(url, "/messages:send") - url - 8), url + 8, tid);
	return (reply(c, MHD_HTTP_OK, json_pack("{s:s}", "name", name), 0));
}

/* A kept e-mail, "from\nto\nmessage", as {from, to, message}. */
static json_t *
mail_json(const char *raw)
{
	const char *to = strchr(raw, '\n'), *msg = to ? strchr(to + 1, '\n') :
	    NULL;

	if (msg == NULL)
		return (NULL);
	return (json_pack("{s:s%,s:s%,s:s}", "from", raw, (size_t)(to - raw),
	    "to", to + 1, (size_t)(msg - to - 1), "message", msg + 1));
}

static void
add_key(void *ctx, const char *key, unsigned count)
{
	json_array_append_new(ctx, json_pack("{s:s,s:i}", "key", key, "count",
	    (int)count));
}

static int
chan_of(const char *s)
{
	for (int i = 0; i < NCH; i++)
		if (strcmp(s, chan_name[i]) == 0)
			return (i);
	return (-1);
}

/* The host:port the client called, for URLs that point back here. */
static const char *
host_of(struct MHD_Connection *c)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");

	return (h != NULL ? h : "127.0.0.1");
}

static enum MHD_Result
control(struct MHD_Connection *c, const char *method, const char *url,
    json_t *req)
{
	json_t *out;
	int ch;

	if (strcmp(url, "/_stats") == 0) {
		out = json_object();
		pthread_mutex_lock(&st.mu);
		for (int i = 0; i < NCH; i++) {
			json_t *f = json_object();

			for (int k = F_500; k < NFAULT; k++)
				json_object_set_new(f, fault_name[k], json_integer(
				    (json_int_t)st.fault[i].injected[k]));
			json_object_set_new(out, chan_name[i], json_pack(
			    "{s:I,s:I,s:I,s:I,s:o}", "accepted",
			    (json_int_t)st.accepted[i], "duplicates",
			    (json_int_t)st.duplicates[i], "rejected",
			    (json_int_t)st.rejected[i], "keys",
			    (json_int_t)keyset_size(st.keys[i]), "faults", f));
			if (i == CH_ZNS)
				json_object_set_new(json_object_get(out,
				    chan_name[i]), "refreshes", json_integer(
				    (json_int_t)st.refreshes));
			if (i == CH_ZNS) {
				json_object_set_new(json_object_get(out,
				    chan_name[i]), "token_invalid", json_integer(
				    (json_int_t)st.token_invalid));
				json_object_set_new(json_object_get(out,
				    chan_name[i]), "token_expired", json_integer(
				    (json_int_t)st.token_expired));
			}
			if (i == CH_FCM)
				json_object_set_new(json_object_get(out,
				    chan_name[i]), "tokens_minted", json_integer(
				    (json_int_t)gtoken_minted()));
			if (i == CH_EMAIL)
				for (int e = 0; e <= SMTPE_REFUSED; e++)
					json_object_set_new(json_object_get(out,
					    chan_name[i]), smtp_event_name[e],
					    json_integer((json_int_t)
					    st.smtp_events[e]));
		}
		pthread_mutex_unlock(&st.mu);
		return (reply(c, MHD_HTTP_OK, out, 0));
	}
	if (strncmp(url, "/_keys/", 7) == 0 && (ch = chan_of(url + 7)) >= 0) {
		out = json_array();
		pthread_mutex_lock(&st.mu);
		keyset_each(st.keys[ch], add_key, out);
		pthread_mutex_unlock(&st.mu);
		return (reply(c, MHD_HTTP_OK, out, 0));
	}
	if (strncmp(url, "/_log/", 6) == 0 && (ch = chan_of(url + 6)) >= 0) {
		out = json_array();
		pthread_mutex_lock(&st.mu);
		for (size_t i = 0; i < st.log[ch].n; i++)
			json_array_append_new(out, json_pack("[s,I]",
			    st.log[ch].to[i], (json_int_t)st.log[ch].at_ms[i]));
		pthread_mutex_unlock(&st.mu);
		return (reply(c, MHD_HTTP_OK, out, 0));
	}
	if (strncmp(url, "/_messages/", 11) == 0 &&
	    (ch = chan_of(url + 11)) >= 0) {
		out = json_array();
		pthread_mutex_lock(&st.mu);
		for (long i = st.nbodies[ch] > KEEP_BODIES ? st.nbodies[ch] -
		    KEEP_BODIES : 0; i < st.nbodies[ch]; i++) {
			const char *raw = st.bodies[ch][i % KEEP_BODIES];
			json_t *b = ch == CH_EMAIL ? mail_json(raw) : json_loads(raw, 0,
			    NULL);

			json_array_append_new(out, b ? b : json_null());
		}
		pthread_mutex_unlock(&st.mu);
		return (reply(c, MHD_HTTP_OK, out, 0));
	}
	if (strcmp(url, "/_fcm/service_account") == 0)
		return (reply(c, MHD_HTTP_OK, gtoken_service_account(host_of(c)),
		    0));
	if (strcmp(method, "POST") != 0 || req == NULL)
		return (reply(c, MHD_HTTP_NOT_FOUND, json_pack("{s:s}", "error",
		    "no such endpoint"), 0));
	if (strcmp(url, "/_fcm/token_life") == 0)
		gtoken_set_life((int)json_integer_value(json_object_get(req,
		    "seconds")));
	if (strcmp(url, "/_fcm/revoke_tokens") == 0)
		gtoken_revoke_all();
	if (strncmp(url, "/_fcm/", 6) == 0)
		return (reply(c, MHD_HTTP_OK, json_pack("{s:b}", "ok", 1), 0));
	pthread_mutex_lock(&st.mu);
	if (strcmp(url, "/_faults") == 0 && (ch = chan_of(json_string_value(
	    json_object_get(req, "channel")) ? json_string_value(json_object_get(
	    req, "channel")) : "")) >= 0) {
		struct faults *f = &st.fault[ch];
		json_t *rate = json_object_get(req, "rate");

		for (int k = F_500; k < NFAULT; k++) {
			f->count[k] = (int)json_integer_value(json_object_get(req,
			    fault_name[k]));
			f->rate[k] = json_number_value(json_object_get(rate,
			    fault_name[k]));
		}
		/* "stalls"/"stall_ms": the older names of late replies */
		f->count[F_LATE] += (int)json_integer_value(json_object_get(req,
		    "stalls"));
		f->retry_after_s = (int)json_integer_value(json_object_get(req,
		    "retry_after"));
		f->stage = SMTP_DOT;
		for (int k = SMTP_CONNECT; k <= SMTP_DOT; k++) {
			static const char *const stages[] = {"connect", "mail",
			    "rcpt", "data", "dot"};
			const char *v = json_string_value(json_object_get(req,
			    "stage"));

			if (v != NULL && strcmp(v, stages[k]) == 0)
				f->stage = k;
		}
		f->late_ms = (int)json_integer_value(json_object_get(req,
		    json_object_get(req, "late_ms") ? "late_ms" : "stall_ms"));
	} else if (strcmp(url, "/_zns/no_account") == 0) {
		size_t i;
		json_t *p;

		json_array_foreach(json_object_get(req, "phones"), i, p)
			if (json_is_string(p))
				(void)keyset_add(st.no_zalo, json_string_value(p));
	} else if (strcmp(url, "/_email/bounce") == 0) {
		size_t i;
		json_t *p;

		json_array_foreach(json_object_get(req, "addresses"), i, p)
			if (json_is_string(p))
				(void)keyset_add(st.bounce, json_string_value(p));
	} else if (strcmp(url, "/_zns/expire_token") == 0) {
		st.zns_expired = true;
		st.refresh_drops = (int)json_integer_value(json_object_get(req,
		    "drop_refreshes"));
	} else if (strcmp(url, "/_zns/token_life") == 0) {
		json_int_t n = json_integer_value(json_object_get(req,
		    "seconds"));

		st.zns_life_s = n > 0 && n <= 86400 * 366 ? (int)n : 0;
	} else if (strcmp(url, "/_zns/new_pair") == 0) {
		new_token();
		out = json_pack("{s:s,s:s}", "access_token", st.zns_token,
		    "refresh_token", st.zns_refresh);
		pthread_mutex_unlock(&st.mu);
		return (reply(c, MHD_HTTP_OK, out, 0));
	} else {
		pthread_mutex_unlock(&st.mu);
		return (reply(c, MHD_HTTP_NOT_FOUND, json_pack("{s:s}", "error",
		    "no such endpoint"), 0));
	}
	pthread_mutex_unlock(&st.mu);
	return (reply(c, MHD_HTTP_OK, json_pack("{s:b}", "ok", 1), 0));
}

/* A provider request on channel ch (-1: another endpoint), answered. */
static enum MHD_Result
serve(struct MHD_Connection *c, int ch, const char *url, json_t *req,
    const char *body)
{
	if (ch == CH_ZNS)
		return (zns_send(c, req, body));
	if (ch == CH_SMS)
		return (sms_send(c, req, body));
	if (ch == CH_FCM)
		return (fcm_send(c, req, body, url));
	if (strcmp(url, ZNS_REFRESH_PATH) == 0)
		return (zns_refresh(c, body != NULL ? body : ""));
	return (reply(c, MHD_HTTP_NOT_FOUND, json_pack("{s:s}", "error",
	    "no such endpoint"), 0));
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_len, void **con_cls)
{
	struct conn *cn = *con_cls;
	json_t *req = NULL;
	enum MHD_Result rc;
	enum fault f = F_NONE;
	int retry_after = 0, late = 0, ch = -1;
	bool counted;

	(void)cls;
	(void)version;
	if (cn == NULL) {
		*con_cls = xcalloc(1, sizeof(struct conn));
		return (MHD_YES);
	}
	if (*upload_len > 0) {
		if (cn->len + *upload_len > MAX_BODY)
			cn->too_big = true;
		else {
			cn->body = xrealloc(cn->body, cn->len + *upload_len + 1);
			memcpy(cn->body + cn->len, upload, *upload_len);
			cn->len += *upload_len;
			cn->body[cn->len] = '\0';
		}
		*upload_len = 0;
		return (MHD_YES);
	}
	if (cn->held) {
		/* resumed: the late reply, now */
		cn->held = false;
		rc = reply(c, cn->code, cn->resp, cn->retry_after);
		cn->resp = NULL;
		return (rc);
	}
	if (cn->too_big)
		return (reply(c, MHD_HTTP_CONTENT_TOO_LARGE, json_pack("{s:s}",
		    "error", "body too large"), 0));
	if (cn->body != NULL)
		req = json_loads(cn->body, 0, NULL);
	if (strncmp(url, "/_", 2) == 0) {
		rc = control(c, method, url, req);
		json_decref(req);
		return (rc);
	}
	if (strcmp(url, "/oauth2/token") == 0 && strcmp(method, "POST") == 0) {
		/* a form, not JSON */
		json_t *out = NULL;
		unsigned code = gtoken_mint(host_of(c), cn->body ? cn->body :
		    "", &out);

		json_decref(req);
		return (reply(c, code, out, 0));
	}
	if (strcmp(method, "POST") != 0 || (req == NULL && strcmp(url,
	    ZNS_REFRESH_PATH) != 0)) {
		json_decref(req);
		return (reply(c, MHD_HTTP_BAD_REQUEST, json_pack("{s:s}", "error",
		    "expected a POST with a JSON body"), 0));
	}
	if (strcmp(url, "/zns/message/template") == 0)
		ch = CH_ZNS;
	else if (strcmp(url, "/sms/send") == 0)
		ch = CH_SMS;
	else if (strncmp(url, "/fcm/v1/projects/", 17) == 0 &&
	    strstr(url, "/messages:send") != NULL)
		ch = CH_FCM;
	if (ch >= 0)
		f = fault_pick((enum chan)ch, false, &retry_after, &late, &counted);
	else if (strcmp(url, ZNS_REFRESH_PATH) == 0) {
		pthread_mutex_lock(&st.mu);
		st.refreshes++;
		if (st.refresh_drops > 0) {
			st.refresh_drops--;
			f = F_DROP_AFTER;
		}
		pthread_mutex_unlock(&st.mu);
	}
	if (f == F_500 || f == F_429)
		rc = reply(c, f == F_500 ? MHD_HTTP_INTERNAL_SERVER_ERROR :
		    MHD_HTTP_TOO_MANY_REQUESTS, json_pack("{s:s}", "error",
		    "injected fault"), f == F_429 ? retry_after : 0);
	else if (f == F_DROP)
		rc = MHD_NO;		/* read, not taken, no reply */
	else {
		/* a reply to keep back (late) or never send (drop_after) */
		capture = f == F_DROP_AFTER || f == F_LATE ? cn : NULL;
		rc = serve(c, ch, url, req, cn->body);
		capture = NULL;
		if (f == F_DROP_AFTER) {
			/* taken, and then the connection is gone */
			json_decref(cn->resp);
			cn->resp = NULL;
			rc = MHD_NO;
		} else if (f == F_LATE) {
			cn->held = true;
			sleep_conn(c, late);
			rc = MHD_YES;
		}
	}
	json_decref(req);
	return (rc);
}

static void
done(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct conn *cn = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (cn != NULL) {
		free(cn->body);
		json_decref(cn->resp);
		free(cn);
		*con_cls = NULL;
	}
}

static int
mail_rcpt(const char *addr, char *reply, size_t cap)
{
	unsigned bounced;

	pthread_mutex_lock(&st.mu);
	if ((bounced = keyset_count(st.bounce, addr)) > 0)
		st.rejected[CH_EMAIL]++;
	pthread_mutex_unlock(&st.mu);
	if (bounced == 0)
		return (0);
	snprintf(reply, cap, "5.1.1 no such mailbox here");
	return (550);
}

/* The value of header name in the header section of msg, copied into out
 * (cap bytes, unfolded lines are enough here); false if absent. */
static bool
header(const char *msg, size_t len, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);

	for (const char *p = msg; p < msg + len && !(p[0] == '\r' &&
	    p[1] == '\n');) {
		const char *eol = strstr(p, "\r\n");

		if (eol == NULL)
			return (false);
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1;

			while (*v == ' ')
				v++;
			snprintf(out, cap, "%.*s", (int)(eol - v), v);
			return (true);
		}
		p = eol + 2;
	}
	return (false);
}

static void
mail_message(const char *from, const char *rcpt, const char *data,
    size_t len, char *reply, size_t cap)
{
	char key[256], v[256];
	char *text;
	bool dup;

	if (!header(data, len, "X-Rekindle-Key", key, sizeof(key)) ||
	    !header(data, len, "Message-ID", v, sizeof(v)) ||
	    !header(data, len, "Subject", v, sizeof(v)) ||
	    !header(data, len, "List-Unsubscribe", v, sizeof(v)) ||
	    !header(data, len, "MIME-Version", v, sizeof(v))) {
		pthread_mutex_lock(&st.mu);
		st.rejected[CH_EMAIL]++;
		pthread_mutex_unlock(&st.mu);
		snprintf(reply, cap, "554 5.6.0 Subject, Message-ID, MIME-Version, "
		    "List-Unsubscribe and X-Rekindle-Key are required");
		return;
	}
	/* kept raw, "from\nto\nmessage"; made JSON only when asked for */
	text = xasprintf("%s\n%s\n%.*s", from, rcpt, (int)len, data);
	pthread_mutex_lock(&st.mu);
	dup = record(CH_EMAIL, key, rcpt, text);
	pthread_mutex_unlock(&st.mu);
	free(text);
	/* a relay takes a repeat too; the double counts it as a duplicate */
	snprintf(reply, cap, "250 2.0.0 %s %s", dup ? "accepted again" :
	    "queued as", key);
}

static void
mail_event(enum smtp_event e)
{
	pthread_mutex_lock(&st.mu);
	st.smtp_events[e]++;
	pthread_mutex_unlock(&st.mu);
}

/*
 * The e-mail faults (smtp.h): one drawn per transaction at MAIL, for a
 * stage drawn too; *slot keeps it (1 + fault * 8 + stage) till then.
 */
static enum smtp_fault
mail_fault(enum smtp_stage stage, int *slot, int *delay_ms)
{
	static const enum smtp_fault as_smtp[NFAULT] = {SMTPF_NONE, SMTPF_451,
	    SMTPF_421, SMTPF_DROP, SMTPF_DROP_AFTER, SMTPF_LATE};
	int retry_after, late;
	bool counted;
	enum fault f;

	if (stage == SMTP_CONNECT) {
		/* a greeting can only refuse (421) or not come */
		f = fault_pick(CH_EMAIL, st.fault[CH_EMAIL].stage != SMTP_CONNECT,
		    &retry_after, &late, &counted);
		return (f == F_429 ? SMTPF_421 : f == F_DROP ? SMTPF_DROP :
		    SMTPF_NONE);
	}
	if (stage == SMTP_MAIL) {
		enum smtp_stage at = SMTP_DOT;

		f = fault_pick(CH_EMAIL, st.fault[CH_EMAIL].stage == SMTP_CONNECT,
		    &retry_after, &late, &counted);
		if (f == F_NONE)
			return (SMTPF_NONE);
		if (counted && f != F_DROP_AFTER && f != F_LATE)
			at = (enum smtp_stage)st.fault[CH_EMAIL].stage;
		else if (!counted && f != F_DROP_AFTER && f != F_LATE) {
			pthread_mutex_lock(&st.mu);
			at = (enum smtp_stage)(SMTP_MAIL + (int)(erand48(st.rng) *
			    4));
			pthread_mutex_unlock(&st.mu);
		}
		*slot = 1 + (int)f * 8 + (int)at;
		*delay_ms = late;
	}
	if (*slot == 0 || (enum smtp_stage)((*slot - 1) % 8) != stage)
		return (SMTPF_NONE);
	f = (enum fault)((*slot - 1) / 8);
	*slot = 0;
	if (f == F_LATE)
		*delay_ms = st.fault[CH_EMAIL].late_ms > 0 ?
		    st.fault[CH_EMAIL].late_ms : 1000;
	return (as_smtp[f]);
}

/* Writes port to file (if not NULL), atomically by rename. */
static bool
write_port(const char *file, unsigned port)
{
	char tmp[4096];
	FILE *fp;

	if (file == NULL)
		return (true);
	snprintf(tmp, sizeof(tmp), "%s.tmp", file);
	if ((fp = fopen(tmp, "w")) == NULL || fprintf(fp, "%u\n", port) < 0 ||
	    fclose(fp) != 0 || rename(tmp, file) != 0) {
		fprintf(stderr, "rkdouble: cannot write %s\n", file);
		return (false);
	}
	return (true);
}

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"port-file", required_argument, NULL, 'p'},
		{"smtp-listen", required_argument, NULL, 's'},
		{"smtp-port-file", required_argument, NULL, 'f'},
		{"smtp-cert", required_argument, NULL, 'c'},
		{"smtp-key", required_argument, NULL, 'k'},
		{"smtp-auth", required_argument, NULL, 'a'},
		{NULL, 0, NULL, 0},
	};
	static const struct smtp_hooks hooks = {mail_rcpt, mail_message,
	    mail_fault, mail_event};
	struct smtp_secure sec = {0};
	const char *port_file = NULL, *smtp_port_file = NULL;
	int smtp_port = 0;
	const union MHD_DaemonInfo *info;
	struct MHD_Daemon *d;
	pthread_t wt;
	int port = 0, opt;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == 'l')
			port = atoi(optarg);
		else if (opt == 'p')
			port_file = optarg;
		else if (opt == 's')
			smtp_port = atoi(optarg);
		else if (opt == 'f')
			smtp_port_file = optarg;
		else if (opt == 'c')
			sec.cert_file = optarg;
		else if (opt == 'k')
			sec.key_file = optarg;
		else if (opt == 'a' && strchr(optarg, ':') != NULL) {
			sec.user = optarg;
			sec.password = strchr(optarg, ':') + 1;
			*strchr(optarg, ':') = '\0';
		} else {
			fprintf(stderr, "usage: rkdouble [--listen PORT] "
			    "[--port-file FILE] [--smtp-listen PORT] "
			    "[--smtp-port-file FILE] [--smtp-cert PEM --smtp-key "
			    "PEM] [--smtp-auth USER:PASSWORD]\n");
			return (2);
		}
	}
	if ((sec.cert_file == NULL) != (sec.key_file == NULL)) {
		fprintf(stderr, "rkdouble: --smtp-cert and --smtp-key go "
		    "together\n");
		return (2);
	}
	for (int i = 0; i < NCH; i++) {
		st.keys[i] = keyset_new();
		st.fault[i].stage = SMTP_DOT;
	}
	st.no_zalo = keyset_new();
	st.bounce = keyset_new();
	st.zns_quota_left = ZNS_DAILY_QUOTA;
	new_token();
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	/* OpenSSL writes with write(2), not send(MSG_NOSIGNAL): a client gone
	 * mid-reply (a pool SIGKILLed) is EPIPE, not the end of the double */
	signal(SIGPIPE, SIG_IGN);
	if (pthread_create(&wt, NULL, waker, NULL) != 0) {
		fprintf(stderr, "rkdouble: cannot start a thread\n");
		return (1);
	}
	pthread_detach(wt);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME, (uint16_t)port, NULL, NULL, handle, NULL,
	    MHD_OPTION_THREAD_POOL_SIZE, 4u, MHD_OPTION_NOTIFY_COMPLETED, done,
	    NULL, MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "rkdouble: cannot listen on port %d\n", port);
		return (1);
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	if ((smtp_port = smtp_serve(smtp_port, &hooks, &sec)) < 0) {
		fprintf(stderr, "rkdouble: cannot listen for SMTP: %s\n",
		    strerror(errno));
		return (1);
	}
	/* the SMTP port first: the HTTP port file says "ready" */
	if (!write_port(smtp_port_file, smtp_port) ||
	    !write_port(port_file, info->port))
		return (1);
	fprintf(stderr, "rkdouble: HTTP on 127.0.0.1:%u, SMTP on 127.0.0.1:%d; "
	    "ZNS token %s, refresh token %s\n", (unsigned)info->port, smtp_port,
	    st.zns_token, st.zns_refresh);
	while (!stop)
		pause();
	MHD_stop_daemon(d);
	for (int i = 0; i < NCH; i++) {
		for (size_t k = 0; k < st.log[i].n; k++)
			free(st.log[i].to[k]);
		free(st.log[i].to);
		free(st.log[i].at_ms);
		keyset_free(st.keys[i]);
		for (int k = 0; k < KEEP_BODIES; k++)
			free(st.bodies[i][k]);
	}
	keyset_free(st.no_zalo);
	keyset_free(st.bounce);
	return (0);
}
