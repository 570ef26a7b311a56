/*
 * main.c - rkdouble: the messaging providers rekindle talks to, on
 * loopback, for tests, benchmarks and the demo. One HTTP server speaks
 *
 *	POST /zns/message/template	Zalo ZNS send (access_token header;
 *					phone 84..., template_id,
 *					template_data, tracking_id; quota in
 *					every reply; -118, -124, -220)
 *	POST /zns/oa/access_token	token refresh (refresh_token)
 *	POST /sms/send			eSMS-style brand-name SMS (RequestId is
 *					the idempotency key: a repeat is
 *					CodeResult 124; advertising content
 *					must start with "[QC]")
 *	POST /fcm/v1/projects/P/messages:send
 *					FCM HTTP v1 (data values must be
 *					strings; data.tracking_id is the key)
 *
 * and an SMTP relay (smtp.h) that takes advertising e-mail: a message must
 * have Subject, Message-ID, MIME-Version, List-Unsubscribe and
 * X-Rekindle-Key (the idempotency key) headers; a recipient on the bounce
 * list answers 550. Faults on channel "email": 451 for "http_500", 421
 * and a closed connection for "http_429", stalls before the reply.
 *
 * and records every accepted request's idempotency key, so a duplicate
 * send shows. Control endpoints: GET /_stats, GET /_keys/CHANNEL,
 * GET /_messages/CHANNEL (the last bodies), POST /_faults (a number of
 * HTTP 500s, 429s with Retry-After, or stalls - slow replies to requests
 * that are then accepted - on a channel), POST
 * /_zns/no_account (phones without Zalo), POST /_zns/expire_token, POST
 * /_email/bounce (addresses that answer 550).
 *
 *	rkdouble [--listen PORT] [--port-file FILE] [--smtp-listen PORT]
 *	    [--smtp-port-file FILE]
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

#include "keyset.h"
#include "mem.h"
#include "smtp.h"

enum chan { CH_SMS, CH_ZNS, CH_FCM, CH_EMAIL, NCH };
static const char *const chan_name[NCH] = {"sms", "zns", "fcm", "email"};

#define KEEP_BODIES 50
#define MAX_BODY (1 << 20)
#define ZNS_DAILY_QUOTA 1000000

struct faults {
	int http_500, http_429, stalls;
	int retry_after_s, stall_ms;
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
	int token_gen;
	long zns_quota_left;
} st = {.mu = PTHREAD_MUTEX_INITIALIZER};

static volatile sig_atomic_t stop;

struct conn {
	char *body;
	size_t len;
	bool too_big;
};

static void
new_token(void)
{
	st.token_gen++;
	snprintf(st.zns_token, sizeof(st.zns_token), "zns-token-%d", st.token_gen);
	snprintf(st.zns_refresh, sizeof(st.zns_refresh), "zns-refresh-%d",
	    st.token_gen);
	st.zns_expired = false;
}

static enum MHD_Result
reply(struct MHD_Connection *c, unsigned code, json_t *j, int retry_after)
{
	char *text = json_dumps(j, JSON_COMPACT);
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text),
	    text, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result rc;

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

/* An injected fault for ch, if one is due: its status, or 0; *stall_ms
 * when the reply is to be slow instead. */
static unsigned
fault_take(enum chan ch, int *retry_after, int *stall_ms)
{
	struct faults *f = &st.fault[ch];
	int stall = 0;
	unsigned code = 0;

	pthread_mutex_lock(&st.mu);
	if (f->stalls > 0) {
		f->stalls--;
		stall = f->stall_ms;
	} else if (f->http_500 > 0) {
		f->http_500--;
		code = MHD_HTTP_INTERNAL_SERVER_ERROR;
	} else if (f->http_429 > 0) {
		f->http_429--;
		code = MHD_HTTP_TOO_MANY_REQUESTS;
		*retry_after = f->retry_after_s > 0 ? f->retry_after_s : 1;
	}
	pthread_mutex_unlock(&st.mu);
	*stall_ms = stall;
	return (code);
}

/* fault_take, a stall slept here. */
static unsigned
fault_due(enum chan ch, int *retry_after)
{
	int stall;
	unsigned code = fault_take(ch, retry_after, &stall);

	if (stall > 0) {
		struct timespec ts = {stall / 1000, (long)(stall % 1000) * 1000000};

		/* then handled as usual: a caller that gave up meanwhile
		 * does not know the message went (the case keys exist for) */
		nanosleep(&ts, NULL);
	}
	return (code);
}

/* Records an accepted key (lock held); true if it came before. */
static bool
record(enum chan ch, const char *key, const char *body)
{
	bool dup = keyset_add(st.keys[ch], key) > 1;

	if (dup)
		st.duplicates[ch]++;
	else {
		st.accepted[ch]++;
		keep(ch, body);
	}
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
	} else if (st.zns_expired) {
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
		pthread_mutex_unlock(&st.mu);
		return (reply(c, MHD_HTTP_OK, json_pack("{s:i,s:s}", "error", err,
		    "message", msg), 0));
	}
	if (!record(CH_ZNS, tid, body))
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

static enum MHD_Result
zns_refresh(struct MHD_Connection *c, json_t *req)
{
	const char *rt = json_string_value(json_object_get(req,
	    "refresh_token"));
	json_t *out;

	pthread_mutex_lock(&st.mu);
	if (rt == NULL || strcmp(rt, st.zns_refresh) != 0) {
		pthread_mutex_unlock(&st.mu);
		return (reply(c, MHD_HTTP_OK, json_pack("{s:i,s:s}", "error", -14014,
		    "error_description", "Invalid refresh token"), 0));
	}
	new_token();
	out = json_pack("{s:s,s:s,s:s}", "access_token", st.zns_token,
	    "refresh_token", st.zns_refresh, "expires_in", "90000");
	pthread_mutex_unlock(&st.mu);
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
	dup = record(CH_SMS, rid, body);
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

	if (auth == NULL || strncmp(auth, "Bearer ", 7) != 0)
		return (reply(c, MHD_HTTP_UNAUTHORIZED, json_pack("{s:{s:i,s:s}}",
		    "error", "code", 401, "status", "UNAUTHENTICATED"), 0));
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
	(void)record(CH_FCM, tid, body);
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

static enum MHD_Result
control(struct MHD_Connection *c, const char *method, const char *url,
    json_t *req)
{
	json_t *out;
	int ch;

	if (strcmp(url, "/_stats") == 0) {
		out = json_object();
		pthread_mutex_lock(&st.mu);
		for (int i = 0; i < NCH; i++)
			json_object_set_new(out, chan_name[i], json_pack(
			    "{s:I,s:I,s:I,s:I}", "accepted",
			    (json_int_t)st.accepted[i], "duplicates",
			    (json_int_t)st.duplicates[i], "rejected",
			    (json_int_t)st.rejected[i], "keys",
			    (json_int_t)keyset_size(st.keys[i])));
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
	if (strcmp(method, "POST") != 0 || req == NULL)
		return (reply(c, MHD_HTTP_NOT_FOUND, json_pack("{s:s}", "error",
		    "no such endpoint"), 0));
	pthread_mutex_lock(&st.mu);
	if (strcmp(url, "/_faults") == 0 && (ch = chan_of(json_string_value(
	    json_object_get(req, "channel")) ? json_string_value(json_object_get(
	    req, "channel")) : "")) >= 0) {
		struct faults *f = &st.fault[ch];

		f->http_500 = (int)json_integer_value(json_object_get(req,
		    "http_500"));
		f->http_429 = (int)json_integer_value(json_object_get(req,
		    "http_429"));
		f->retry_after_s = (int)json_integer_value(json_object_get(req,
		    "retry_after"));
		f->stalls = (int)json_integer_value(json_object_get(req, "stalls"));
		f->stall_ms = (int)json_integer_value(json_object_get(req,
		    "stall_ms"));
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
	} else {
		pthread_mutex_unlock(&st.mu);
		return (reply(c, MHD_HTTP_NOT_FOUND, json_pack("{s:s}", "error",
		    "no such endpoint"), 0));
	}
	pthread_mutex_unlock(&st.mu);
	return (reply(c, MHD_HTTP_OK, json_pack("{s:b}", "ok", 1), 0));
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_len, void **con_cls)
{
	struct conn *cn = *con_cls;
	json_t *req = NULL;
	enum MHD_Result rc;
	unsigned code;
	int retry_after = 0, ch = -1;

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
	if (strcmp(method, "POST") != 0 || req == NULL) {
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
	if (ch >= 0 && (code = fault_due((enum chan)ch, &retry_after)) != 0)
		rc = reply(c, code, json_pack("{s:s}", "error", "injected fault"),
		    retry_after);
	else if (ch == CH_ZNS)
		rc = zns_send(c, req, cn->body);
	else if (ch == CH_SMS)
		rc = sms_send(c, req, cn->body);
	else if (ch == CH_FCM)
		rc = fcm_send(c, req, cn->body, url);
	else if (strcmp(url, "/zns/oa/access_token") == 0)
		rc = zns_refresh(c, req);
	else
		rc = reply(c, MHD_HTTP_NOT_FOUND, json_pack("{s:s}", "error",
		    "no such endpoint"), 0);
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
    size_t len, char *reply, size_t cap, int *delay_ms)
{
	char key[256], v[256];
	int retry_after = 0;
	unsigned code;
	char *text;
	bool dup;

	if ((code = fault_take(CH_EMAIL, &retry_after, delay_ms)) != 0) {
		snprintf(reply, cap, code == MHD_HTTP_TOO_MANY_REQUESTS ?
		    "421 4.7.0 too many messages, try again later" :
		    "451 4.3.0 injected fault, try again later");
		return;
	}
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
	dup = record(CH_EMAIL, key, text);
	pthread_mutex_unlock(&st.mu);
	free(text);
	/* a relay takes a repeat too; the double counts it as a duplicate */
	snprintf(reply, cap, "250 2.0.0 %s %s", dup ? "accepted again" :
	    "queued as", key);
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
		{NULL, 0, NULL, 0},
	};
	static const struct smtp_hooks hooks = {mail_rcpt, mail_message};
	const char *port_file = NULL, *smtp_port_file = NULL;
	int smtp_port = 0;
	const union MHD_DaemonInfo *info;
	struct MHD_Daemon *d;
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
		else {
			fprintf(stderr, "usage: rkdouble [--listen PORT] "
			    "[--port-file FILE] [--smtp-listen PORT] "
			    "[--smtp-port-file FILE]\n");
			return (2);
		}
	}
	for (int i = 0; i < NCH; i++)
		st.keys[i] = keyset_new();
	st.no_zalo = keyset_new();
	st.bounce = keyset_new();
	st.zns_quota_left = ZNS_DAILY_QUOTA;
	new_token();
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_USE_ERROR_LOG, (uint16_t)port, NULL, NULL, handle, NULL,
	    MHD_OPTION_THREAD_POOL_SIZE, 4u, MHD_OPTION_NOTIFY_COMPLETED, done,
	    NULL, MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "rkdouble: cannot listen on port %d\n", port);
		return (1);
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	if ((smtp_port = smtp_serve(smtp_port, &hooks)) < 0) {
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
		keyset_free(st.keys[i]);
		for (int k = 0; k < KEEP_BODIES; k++)
			free(st.bodies[i][k]);
	}
	keyset_free(st.no_zalo);
	keyset_free(st.bounce);
	return (0);
}
