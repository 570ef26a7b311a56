/*
 * deliver.c - one batch of messages on one channel, in the job's
 * transaction.
 *
 * EXACTLY ONCE
 *	Every send carries the key campaign:customer:step:channel, and the
 *	providers de-duplicate on it (SMS RequestId, ZNS tracking_id, FCM
 *	data.tracking_id). The results are committed with the job; a worker
 *	that dies mid-batch leaves the job to be run again after its lease,
 *	which repeats the same keys - and the providers answer "already
 *	accepted". So a message may be offered twice but lands once.
 *
 * CONTACT LIMITS
 *	The batch holds a transaction advisory lock per customer (taken in
 *	customer order, so two batches never wait on each other in a
 *	circle) while it counts the customer's last 24 hours and sends, so
 *	concurrent batches of other campaigns cannot both take the last
 *	slot of a daily cap.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "clock.h"
#include "dbrows.h"
#include "deliver.h"
#include "deliverq.h"
#include "governor.h"
#include "http.h"
#include "jobq.h"
#include "log.h"
#include "mem.h"
#include "mime.h"
#include "msgtoken.h"
#include "provider.h"
#include "rekindle/bus/v1/bus.pb-c.h"
#include "template.h"

#define MAX_ATTEMPTS 8
#define DAY_US INT64_C(86400000000)

int deliver_channel;

static char *var_provider_url, *var_sms_api_key, *var_sms_secret_key,
    *var_sms_brandname, *var_zns_access_token, *var_zns_refresh_token,
    *var_zns_refresh_url, *var_fcm_access_token, *var_tracking_url,
    *var_email_from, *var_email_from_name;
static int var_provider_timeout_ms, var_provider_parallel, var_sms_per_day, var_email_per_day,
    var_sms_from_hour, var_sms_until_hour;

const struct cfg_entry deliver_cfg[] = {
	{"provider_url", CFG_STR, "", &var_provider_url, 0, 0, 0,
	    "the channel provider's send endpoint (deliver pools)"},
	{"sms_api_key", CFG_STR, "", &var_sms_api_key, 0, 0, CFG_SECRET,
	    "SMS gateway account key"},
	{"sms_secret_key", CFG_STR, "", &var_sms_secret_key, 0, 0, CFG_SECRET,
	    "SMS gateway account secret"},
	{"sms_brandname", CFG_STR, "", &var_sms_brandname, 0, 0, 0,
	    "registered SMS brand name"},
	{"zns_access_token", CFG_STR, "", &var_zns_access_token, 0, 0,
	    CFG_SECRET, "Zalo OA access token (refreshed when it expires)"},
	{"zns_refresh_token", CFG_STR, "", &var_zns_refresh_token, 0, 0,
	    CFG_SECRET, "Zalo OA refresh token"},
	{"zns_refresh_url", CFG_STR, "", &var_zns_refresh_url, 0, 0, 0,
	    "Zalo OA token refresh endpoint"},
	{"fcm_access_token", CFG_STR, "", &var_fcm_access_token, 0, 0,
	    CFG_SECRET, "FCM OAuth2 bearer token"},
	{"email_from", CFG_STR, "uudai@rekindle.invalid", &var_email_from, 0, 0,
	    0, "sender address of advertising e-mail (its domain ends every "
	    "Message-ID)"},
	{"email_from_name", CFG_STR, "Ưu đãi thẻ", &var_email_from_name, 0, 0,
	    0, "sender display name of advertising e-mail (UTF-8)"},
	{"tracking_url", CFG_STR, "https://rk.invalid/t/",
	    &var_tracking_url, 0, 0, 0, "base of the personal links"},
	{"provider_timeout_ms", CFG_INT, "10000", &var_provider_timeout_ms, 100,
	    120000, 0, "longest wait for a provider's reply"},
	{"provider_parallel", CFG_INT, "16", &var_provider_parallel, 1, 256, 0,
	    "requests in flight at once to the provider, per process"},
	{"sms_per_day", CFG_INT, "3", &var_sms_per_day, 0, 100, 0,
	    "advertising SMS per number in any 24 hours (Decree 91: 3)"},
	{"email_per_day", CFG_INT, "3", &var_email_per_day, 0, 100, 0,
	    "advertising e-mails per address in any 24 hours (Decree 91: 3)"},
	{"sms_from_hour", CFG_INT, "7", &var_sms_from_hour, 0, 24, 0,
	    "advertising SMS from this local hour (Decree 91: 07)"},
	{"sms_until_hour", CFG_INT, "22", &var_sms_until_hour, 0, 24, 0,
	    "... until this local hour (Decree 91: 22)"},
	CFG_END,
};

/* One message and what the batch knows about it. */
struct msg {
	int64_t id;
	const char *campaign, *customer;
	int step, channel_index, attempts;
	const char *name, *phone, *email, *push_token, *zone;
	bool zalo, consent, dnc, has_template;
	const char *offer, *partner, *expiry, *code;
	const char *subject, *body, *html_body, *provider_template;
	const char *plan;	/* channel_order as text */
	char *request;		/* the provider request being sent */
	int campaign_state;
	/* what became of it */
	enum { M_SENT, M_DEFER, M_RETRY, M_NEXT, M_FAILED, M_CANCELLED,
	    M_PAUSED } fate;
	int64_t not_before_us;
	char reason[160];
	char provider_id[80];
};

rk_err
deliver_init(struct worker *w, db_conn *db)
{
	(void)w;
	(void)db;
	if (*var_provider_url == '\0')
		log_fatal("CONFIG-INVALID", "provider_url is required");
	if (*var_tracking_secret == '\0')
		log_fatal("CONFIG-INVALID", "tracking_secret is required");
	/* A personal link is never cut: base, up to 20 digits, ".", 16 hex. */
	if (strlen(var_tracking_url) + 37 > (size_t)tmpl_var_max[TV_LINK])
		log_fatal("CONFIG-INVALID", "tracking_url is longer than %d "
		    "characters: links would not fit {link}",
		    tmpl_var_max[TV_LINK] - 37);
	http_init(var_provider_timeout_ms, var_provider_parallel);
	return (RK_OK);
}

/* The personal link: the base and the message's token (msgtoken.h). */
static const char *
link_of(arena *a, int64_t id)
{
	char token[MSGTOKEN_MAX];

	msgtoken_make(var_tracking_secret, id, token);
	return (arena_printf(a, "%s%s", var_tracking_url, token));
}

static bool
has_address(const struct msg *m)
{
	switch (deliver_channel) {
	case CHANNEL_EMAIL:
		return (*m->email != '\0');
	case CHANNEL_SMS:
		return (*m->phone != '\0');
	case CHANNEL_ZNS:
		return (m->zalo && *m->phone != '\0');
	case CHANNEL_PUSH:
		return (*m->push_token != '\0');
	default:
		return (false);
	}
}

/* Asks a new ZNS access token with the refresh token. */
static bool
zns_refresh(void)
{
	char *body;
	json_t *j, *req = json_pack("{s:s}", "refresh_token",
	    var_zns_refresh_token);
	struct http_reply r;
	bool ok = false;

	body = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	http_post_json(var_zns_refresh_url, NULL, body, &r);
	free(body);
	j = r.body ? json_loads(r.body, 0, NULL) : NULL;
	if (json_string_value(json_object_get(j, "access_token")) != NULL) {
		free(var_zns_access_token);
		var_zns_access_token = xstrdup(json_string_value(json_object_get(j,
		    "access_token")));
		if (json_string_value(json_object_get(j, "refresh_token"))) {
			free(var_zns_refresh_token);
			var_zns_refresh_token = xstrdup(json_string_value(
			    json_object_get(j, "refresh_token")));
		}
		ok = true;
		log_info("ZNS-TOKEN", "access token refreshed");
	}
	json_decref(j);
	free(r.body);
	return (ok);
}

/*
 * An e-mail: subject, text and HTML rendered, the open pixel and the
 * unsubscribe link under the personal link; the MIME text (new).
 */
static char *
email_request(arena *a, const struct msg *m, const char *const vals[TV_N],
    const char *key, size_t *len)
{
	char subject[1024], text[8192], html[32768];
	const char *domain = strchr(var_email_from, '@');
	struct mail mail = {var_email_from_name, var_email_from, m->email,
	    subject, text, NULL, arena_printf(a, "%s/unsubscribe",
	    vals[TV_LINK]), arena_printf(a, "rk.%lld.%d@%s", (long long)m->id,
	    m->step, domain ? domain + 1 : "rekindle.invalid"), key,
	    clock_now_us()};
	char *part, *msg;

	tmpl_render(m->subject, vals, false, subject, sizeof(subject));
	tmpl_render(m->body, vals, false, text, sizeof(text));
	if (*m->html_body)
		tmpl_render(m->html_body, vals, true, html, sizeof(html));
	else
		html[0] = '\0';
	part = mime_html(html, text, arena_printf(a, "%s/open.gif",
	    vals[TV_LINK]));
	mail.html = part;
	msg = mime_compose(&mail, len);
	free(part);
	return (msg);
}

/* The ZNS header of the access token as it is now. */
static const char *
zns_header(arena *a)
{
	return (arena_printf(a, "access_token: %s", var_zns_access_token));
}

/* The provider request of one message: c set up, m->request its body. */
static void
prepare(arena *a, struct msg *m, struct http_call *c)
{
	const char *vals[TV_N] = {m->name, m->offer, m->partner, m->expiry,
	    m->code, link_of(a, m->id)};
	const char *key = arena_printf(a, "%s:%s:%d:%s", m->campaign, m->customer,
	    m->step, channel_name(deliver_channel));
	char text[2048], title[512];
	size_t len = 0;

	memset(c, 0, sizeof(*c));
	c->url = var_provider_url;
	switch (deliver_channel) {
	case CHANNEL_SMS: {
		struct sms_account acc = {var_sms_api_key, var_sms_secret_key,
		    var_sms_brandname};
		size_t n = (size_t)snprintf(text, sizeof(text), "%s",
		    TMPL_QC_PREFIX);

		tmpl_render(m->body, vals, false, text + n, sizeof(text) - n);
		m->request = provider_sms_request(&acc, m->phone, text, key);
		break;
	}
	case CHANNEL_ZNS: {
		json_t *data = json_object();

		for (int v = 0; v < TV_N; v++) {
			static const char *const names[TV_N] = {"name", "offer",
			    "partner", "expiry", "code", "link"};

			json_object_set_new(data, names[v], json_string(vals[v] ?
			    vals[v] : ""));
		}
		m->request = provider_zns_request(m->phone, m->provider_template,
		    data, key);
		json_decref(data);
		c->headers[0] = zns_header(a);
		break;
	}
	case CHANNEL_PUSH: {
		json_t *data = json_pack("{s:s,s:s}", "campaign_id", m->campaign,
		    "link", vals[TV_LINK]);

		tmpl_render(m->subject, vals, false, title, sizeof(title));
		tmpl_render(m->body, vals, false, text, sizeof(text));
		m->request = provider_fcm_request(m->push_token, title, text, data,
		    key);
		json_decref(data);
		c->headers[0] = arena_printf(a, "Authorization: Bearer %s",
		    var_fcm_access_token);
		break;
	}
	default:		/* CHANNEL_EMAIL */
		m->request = email_request(a, m, vals, key, &len);
		c->mail_from = var_email_from;
		c->mail_rcpt = m->email;
		break;
	}
	c->body = m->request;
	c->len = len ? len : strlen(m->request);
}

/* What the provider's reply to c means. */
static void
interpret(const struct http_call *c, struct send_result *res)
{
	const struct http_reply *r = &c->reply;
	const char *ra = *r->retry_after ? r->retry_after : NULL;

	switch (deliver_channel) {
	case CHANNEL_SMS:
		provider_sms_reply(r->status, ra, r->body, res);
		break;
	case CHANNEL_ZNS:
		provider_zns_reply(r->status, ra, r->body, res);
		break;
	case CHANNEL_PUSH:
		provider_fcm_reply(r->status, ra, r->body, res);
		break;
	default:
		provider_smtp_reply(r->status, r->body, res);
	}
}

/* The next channel of the plan after the message's, 0 if none. */
static int
next_channel(arena *a, const struct msg *m, int *index)
{
	size_t n;
	char **ch = db_array_split(a, m->plan, &n);

	if ((size_t)m->channel_index + 1 >= n)
		return (0);
	*index = m->channel_index + 1;
	return (atoi(ch[m->channel_index + 1]));
}

/*
 * The batch's messages ($1, ids) by primary key, whatever the planner's
 * statistics say: right after a launch the partial index of queued
 * messages looks empty to a planner that has not seen the new rows, and
 * scanning it for the batch's ids reads the whole queue every batch.
 * OFFSET 0 keeps the lookup a per-id index probe.
 */
#define BATCH_MESSAGES                                                    \
	"unnest($1::bigint[]) b(id) CROSS JOIN LATERAL (SELECT * FROM "     \
	" messages x WHERE x.id = b.id OFFSET 0) m"

#define CONTEXT_SQL                                                       \
	"SELECT m.id, m.campaign_id, m.customer_id, m.step, m.channel_index, " \
	" m.attempts, coalesce(cu.full_name, ''), coalesce(cu.phone_e164, ''), " \
	" coalesce(cu.email, ''), coalesce(cu.push_token, ''), cu.zalo_available, " \
	" cu.time_zone, EXISTS (SELECT 1 FROM customer_consents cc WHERE "  \
	"  cc.customer_id = m.customer_id AND cc.channel = m.channel AND "  \
	"  cc.purpose = 1 AND cc.granted), "                                \
	" EXISTS (SELECT 1 FROM do_not_call d WHERE "                       \
	"  d.phone_e164 = cu.phone_e164), "                                 \
	" t.offer_id IS NOT NULL, o.title, "                                \
	" coalesce(pa.display_name, o.partner_id, ''), "                    \
	" to_char(o.valid_until AT TIME ZONE cu.time_zone, 'DD/MM/YYYY'), " \
	" coalesce(mb.voucher_code, ''), coalesce(t.subject, ''), "         \
	" coalesce(t.body, ''), coalesce(t.html_body, ''), "                \
	" coalesce(t.provider_template_id, ''), "                           \
	" k.channel_order::text, k.state "                                  \
	"FROM " BATCH_MESSAGES " "                                          \
	"JOIN customers cu ON cu.id = m.customer_id "                       \
	"JOIN campaign_members mb ON mb.campaign_id = m.campaign_id AND "   \
	" mb.customer_id = m.customer_id "                                  \
	"JOIN offers o ON o.offer_id = mb.offer_id "                        \
	"LEFT JOIN partners pa ON pa.partner_id = o.partner_id "            \
	"LEFT JOIN offer_templates t ON t.offer_id = o.offer_id AND "       \
	" t.channel = m.channel "                                           \
	"JOIN campaigns k ON k.campaign_id = m.campaign_id "                \
	"WHERE m.state = 'queued' AND "                                     \
	" m.channel = $2 AND m.not_before <= now() "                        \
	"ORDER BY m.customer_id, m.id FOR UPDATE OF m"

/* The batch's messages still to send here, locked, with their context. */
static rk_err
load_batch(db_conn *db, arena *a, const char *ids, struct msg **out, int *n)
{
	const char *p[2] = {ids, arena_printf(a, "%d", deliver_channel)};
	db_res *r;
	rk_err rc;

	/* One customer's contacts are counted and sent by one batch at a
	 * time, whatever the campaign. */
	rc = db_exec(db, "SELECT pg_advisory_xact_lock(hashtext(customer_id)) "
	    "FROM (SELECT DISTINCT m.customer_id FROM " BATCH_MESSAGES
	    " ORDER BY 1) s", 1, p, NULL);
	if (rc == RK_OK)
		rc = db_exec(db, CONTEXT_SQL, 2, p, &r);
	if (rc != RK_OK)
		return (rc);
	*n = db_res_nrows(r);
	*out = arena_zalloc(a, sizeof(**out) * (size_t)(*n + 1));
	for (int i = 0; i < *n; i++) {
		struct msg *m = &(*out)[i];
		int k = 0;

		m->id = db_res_int64(r, i, k++);
		m->campaign = arena_strdup(a, db_res_str(r, i, k++));
		m->customer = arena_strdup(a, db_res_str(r, i, k++));
		m->step = (int)db_res_int64(r, i, k++);
		m->channel_index = (int)db_res_int64(r, i, k++);
		m->attempts = (int)db_res_int64(r, i, k++);
		m->name = arena_strdup(a, db_res_str(r, i, k++));
		m->phone = arena_strdup(a, db_res_str(r, i, k++));
		m->email = arena_strdup(a, db_res_str(r, i, k++));
		m->push_token = arena_strdup(a, db_res_str(r, i, k++));
		m->zalo = db_res_bool(r, i, k++);
		m->zone = arena_strdup(a, db_res_str(r, i, k++));
		m->consent = db_res_bool(r, i, k++);
		m->dnc = db_res_bool(r, i, k++);
		m->has_template = db_res_bool(r, i, k++);
		m->offer = arena_strdup(a, db_res_str(r, i, k++));
		m->partner = arena_strdup(a, db_res_str(r, i, k++));
		m->expiry = arena_strdup(a, db_res_str(r, i, k++));
		m->code = arena_strdup(a, db_res_str(r, i, k++));
		m->subject = arena_strdup(a, db_res_str(r, i, k++));
		m->body = arena_strdup(a, db_res_str(r, i, k++));
		m->html_body = arena_strdup(a, db_res_str(r, i, k++));
		m->provider_template = arena_strdup(a, db_res_str(r, i, k++));
		m->plan = arena_strdup(a, db_res_str(r, i, k++));
		m->campaign_state = (int)db_res_int64(r, i, k++);
	}
	db_res_free(r);
	return (RK_OK);
}

/* Advertising contacts of the batch's customers on this channel in the
 * last 24 hours: count and oldest, by customer (sorted like the batch). */
static rk_err
load_counts(db_conn *db, arena *a, struct msg *m, int n, int *sent,
    int64_t *oldest)
{
	const char **cust = arena_alloc(a, sizeof(char *) * (size_t)(n + 1));
	const char *p[2];
	db_res *r;
	rk_err rc;
	int rows, j;

	for (int i = 0; i < n; i++)
		cust[i] = m[i].customer;
	p[0] = db_text_array(a, cust, (size_t)n);
	p[1] = arena_printf(a, "%d", deliver_channel);
	rc = db_exec(db, "SELECT s.customer_id, count(*), "
	    "(extract(epoch from min(s.sent_at)) * 1e6)::int8 FROM messages s "
	    "WHERE s.customer_id = ANY ($1::text[]) AND s.channel = $2 AND "
	    " s.state = 'sent' AND s.sent_at > now() - interval '24 hours' "
	    "GROUP BY 1", 2, p, &r);
	if (rc != RK_OK)
		return (rc);
	rows = db_res_nrows(r);
	for (int i = 0; i < n; i++) {
		sent[i] = 0;
		oldest[i] = 0;
		for (j = 0; j < rows; j++)
			if (strcmp(db_res_str(r, j, 0), m[i].customer) == 0) {
				sent[i] = (int)db_res_int64(r, j, 1);
				oldest[i] = db_res_int64(r, j, 2);
				break;
			}
	}
	db_res_free(r);
	return (RK_OK);
}

/*
 * Decides what to do with one message under the campaign's state, its
 * template and the contact governor (with sent and oldest, the
 * customer's advertising contacts in 24 hours); true if it is to be sent
 * now, else m->fate is set.
 */
static bool
decide(const struct gov_rules *rules, struct msg *m, int sent, int64_t oldest,
    int64_t now)
{
	struct gov_request q = {(enum gov_channel)deliver_channel, true, now,
	    m->zone, has_address(m), m->consent, m->dnc, sent, oldest};
	struct gov_decision d;

	if (m->campaign_state == 4) {
		m->fate = M_PAUSED;
		return (false);
	}
	if (m->campaign_state != 3) {
		m->fate = M_CANCELLED;
		snprintf(m->reason, sizeof(m->reason), "campaign not running");
		return (false);
	}
	if (!m->has_template) {
		m->fate = M_NEXT;
		snprintf(m->reason, sizeof(m->reason), "no %s template",
		    channel_name(deliver_channel));
		return (false);
	}
	gov_decide(rules, &q, &d);
	if (d.verdict == GOV_DENY) {
		m->fate = M_NEXT;
		snprintf(m->reason, sizeof(m->reason), "%s",
		    gov_reason_code(d.reason));
		return (false);
	}
	if (d.verdict == GOV_DEFER) {
		m->fate = M_DEFER;
		m->not_before_us = d.not_before_us;
		snprintf(m->reason, sizeof(m->reason), "%s",
		    gov_reason_code(d.reason));
		return (false);
	}
	return (true);
}

/* The message's fate from the provider's answer; a send counts against
 * the customer's 24 hours. */
static void
settle(struct msg *m, const struct send_result *res, int *sent,
    int64_t *oldest, int64_t now)
{
	snprintf(m->reason, sizeof(m->reason), "%s", res->reason);
	switch (res->outcome) {
	case SEND_OK:
		m->fate = M_SENT;
		snprintf(m->provider_id, sizeof(m->provider_id), "%s",
		    res->provider_id);
		if (*sent == 0)
			*oldest = now;
		(*sent)++;
		break;
	case SEND_RETRY:
	case SEND_REFRESH_TOKEN: {
		/* exponential backoff with jitter, or what the provider asked */
		int64_t wait = res->retry_after_s > 0 ?
		    (int64_t)res->retry_after_s * 1000000 :
		    (INT64_C(1000000) << (m->attempts < 10 ? m->attempts : 10)) +
		    (int64_t)(lrand48() % 1000000);

		m->fate = m->attempts + 1 >= MAX_ATTEMPTS ? M_FAILED : M_RETRY;
		m->not_before_us = now + wait;
		break;
	}
	case SEND_NEXT_CHANNEL:
		m->fate = M_NEXT;
		break;
	case SEND_FAILED:
		m->fate = M_FAILED;
		break;
	}
}

/*
 * Sends calls[0..n) at once and reads the
 * answers into res; an expired or invalid ZNS token is refreshed once and
 * those calls sent again.
 */
static void
send_all(arena *a, struct http_call *calls, size_t n, struct send_result *res)
{
	size_t again = 0;

	http_run(calls, n);
	for (size_t k = 0; k < n; k++) {
		interpret(&calls[k], &res[k]);
		again += res[k].outcome == SEND_REFRESH_TOKEN;
	}
	if (again > 0 && zns_refresh()) {
		const char *hdr = zns_header(a);

		for (size_t k = 0; k < n; k++)
			if (res[k].outcome == SEND_REFRESH_TOKEN) {
				free(calls[k].reply.body);
				calls[k].headers[0] = hdr;
				http_run(&calls[k], 1);
				interpret(&calls[k], &res[k]);
			}
	}
	for (size_t k = 0; k < n; k++) {
		if (res[k].outcome == SEND_REFRESH_TOKEN)
			res[k].outcome = SEND_RETRY;
		free(calls[k].reply.body);
		calls[k].reply.body = NULL;
	}
}

/* A message that goes on: on which channel's queue, from when (0: now). */
struct onward {
	int64_t id;
	int channel;
	int64_t at_us;
};

static int
cmp_onward(const void *pa, const void *pb)
{
	const struct onward *a = pa, *b = pb;

	if (a->channel != b->channel)
		return (a->channel < b->channel ? -1 : 1);
	if (a->at_us != b->at_us)
		return (a->at_us < b->at_us ? -1 : 1);
	return (a->id < b->id ? -1 : a->id > b->id);
}

/* Start times this close share a job, which runs at the latest of them. */
#define ONWARD_GROUP_US INT64_C(1000000)

/*
 * Queues the onward messages as few jobs as their channels and start
 * times allow: a batch deferred to the end of quiet hours goes on as one
 * job, not a job a message. No message's job runs before its start.
 */
static rk_err
queue_onward(db_conn *db, arena *a, struct onward *o, size_t n)
{
	int64_t *ids = arena_alloc(a, sizeof(int64_t) * (n + 1));
	rk_err rc = RK_OK;

	qsort(o, n, sizeof(*o), cmp_onward);
	for (size_t i = 0, j; rc == RK_OK && i < n; i = j) {
		for (j = i; j < n && o[j].channel == o[i].channel &&
		    o[j].at_us - o[i].at_us <= ONWARD_GROUP_US; j++)
			ids[j] = o[j].id;
		rc = deliverq_enqueue(db, a, o[i].channel, ids + i, j - i,
		    o[j - 1].at_us);
	}
	return (rc);
}

/* The set-wise fate updates; $1..$ncols are their rows' columns. */
enum { F_SENT, F_LATER, F_NEXT, F_END, F_KINDS };
static const struct {
	const char *name, *sql;
	int ncols;
} fate_sql[F_KINDS] = {
	/* sent when the provider took them, not when the batch's
	 * transaction began */
	{"deliver_sent", "UPDATE messages m SET state = 'sent', sent_at = "
	    "clock_timestamp(), attempts = m.attempts + 1, provider_message_id = "
	    "s.pid, reason = NULL, last_error = NULL FROM unnest($1::bigint[], "
	    "$2::text[]) s(id, pid) WHERE m.id = s.id", 2},
	{"deliver_later", "UPDATE messages m SET not_before = timestamptz "
	    "'epoch' + s.at * interval '1 microsecond', attempts = m.attempts + "
	    "s.retry, reason = s.why, last_error = CASE WHEN s.retry = 1 THEN "
	    "s.why ELSE m.last_error END FROM unnest($1::bigint[], $2::bigint[], "
	    "$3::int[], $4::text[]) s(id, at, retry, why) WHERE m.id = s.id", 4},
	{"deliver_next", "UPDATE messages m SET channel = s.ch, channel_index = "
	    "s.idx, not_before = now(), reason = s.why FROM unnest($1::bigint[], "
	    "$2::int[], $3::int[], $4::text[]) s(id, ch, idx, why) "
	    "WHERE m.id = s.id", 4},
	{"deliver_end", "UPDATE messages m SET state = s.state, attempts = "
	    "m.attempts + s.tried, reason = s.why, last_error = s.why "
	    "FROM unnest($1::bigint[], $2::text[], $3::int[], $4::text[]) "
	    "s(id, state, tried, why) WHERE m.id = s.id", 4},
};

/* Runs fate update k over its rows, if there are any. */
static rk_err
fate_update(db_conn *db, int k, const struct dbrows *rows)
{
	const char *p[4];

	if (rows->n == 0)
		return (RK_OK);
	dbrows_params(rows, p);
	return (db_execp(db, fate_sql[k].name, fate_sql[k].sql, rows->ncols, p,
	    NULL));
}

/* A row of the deliver_end update: the message ends in state. */
static void
end_row(struct dbrows *rows, const char *id, const char *state, bool tried,
    const char *why)
{
	const char **row = dbrows_add(rows);

	row[0] = id;
	row[1] = state;
	row[2] = tried ? "1" : "0";
	row[3] = why;
}

/*
 * Records every message's fate, one statement a kind of fate, and queues
 * what comes next for the messages that go on.
 */
static rk_err
record_fates(db_conn *db, arena *a, struct msg *m, int n)
{
	struct onward *o = arena_alloc(a, sizeof(*o) * (size_t)(n + 1));
	struct dbrows rows[F_KINDS];
	size_t no = 0;
	rk_err rc = RK_OK;

	for (int k = 0; k < F_KINDS; k++)
		dbrows_init(&rows[k], a, fate_sql[k].ncols, (size_t)n);
	for (int i = 0; i < n; i++) {
		const char *id = arena_printf(a, "%lld", (long long)m[i].id), **row;
		int ch, idx = 0;

		switch (m[i].fate) {
		case M_SENT:
			row = dbrows_add(&rows[F_SENT]);
			row[0] = id;
			row[1] = m[i].provider_id;
			break;
		case M_PAUSED:
			m[i].not_before_us = clock_now_us() + 60 * INT64_C(1000000);
			/* FALLTHROUGH */
		case M_DEFER:
		case M_RETRY:
			row = dbrows_add(&rows[F_LATER]);
			row[0] = id;
			row[1] = arena_printf(a, "%lld", (long long)m[i].not_before_us);
			row[2] = m[i].fate == M_RETRY ? "1" : "0";
			row[3] = m[i].reason;
			o[no++] = (struct onward){m[i].id, deliver_channel,
			    m[i].not_before_us};
			break;
		case M_NEXT:
			if ((ch = next_channel(a, &m[i], &idx)) == 0) {
				/* the plan is spent: failed, no attempt made */
				end_row(&rows[F_END], id, "failed", false,
				    m[i].reason);
				break;
			}
			row = dbrows_add(&rows[F_NEXT]);
			row[0] = id;
			row[1] = arena_printf(a, "%d", ch);
			row[2] = arena_printf(a, "%d", idx);
			row[3] = m[i].reason;
			o[no++] = (struct onward){m[i].id, ch, 0};
			break;
		case M_FAILED:
		case M_CANCELLED:
			end_row(&rows[F_END], id, m[i].fate == M_FAILED ? "failed" :
			    "cancelled", true, m[i].reason);
			break;
		}
	}
	for (int k = 0; rc == RK_OK && k < F_KINDS; k++)
		rc = fate_update(db, k, &rows[k]);
	if (rc == RK_OK && no > 0)
		rc = queue_onward(db, a, o, no);
	return (rc);
}

rk_err
deliver_handle(struct worker *w, db_conn *db, const struct job *job,
    arena *a, const char **why)
{
	Rekindle__Bus__V1__DeliverJob *dj;
	struct gov_rules rules;
	struct http_call *calls;
	struct send_result *res;
	struct msg *m;
	int n, *sent, *which, counts[4] = {0};
	bool *done;
	int64_t *oldest, now = clock_now_us();
	const char *ids;
	rk_err rc;

	(void)w;
	dj = rekindle__bus__v1__deliver_job__unpack(arena_pb_allocator(a),
	    job->len, job->payload);
	if (dj == NULL) {
		*why = "malformed DeliverJob payload";
		return (RK_EPROTO);
	}
	ids = db_int64_array(a, dj->message_ids, dj->n_message_ids);
	if ((rc = load_batch(db, a, ids, &m, &n)) != RK_OK) {
		*why = db_errmsg(db);
		return (rc);
	}
	sent = arena_zalloc(a, sizeof(int) * (size_t)(n + 1));
	oldest = arena_zalloc(a, sizeof(int64_t) * (size_t)(n + 1));
	if ((rc = load_counts(db, a, m, n, sent, oldest)) != RK_OK) {
		*why = db_errmsg(db);
		return (rc);
	}
	gov_default_rules(&rules);
	rules.per_24h[GOV_SMS] = var_sms_per_day;
	rules.per_24h[GOV_EMAIL] = var_email_per_day;
	rules.from_hour[GOV_SMS] = var_sms_from_hour;
	rules.until_hour[GOV_SMS] = var_sms_until_hour;
	calls = arena_zalloc(a, sizeof(*calls) * (size_t)(n + 1));
	res = arena_zalloc(a, sizeof(*res) * (size_t)(n + 1));
	which = arena_zalloc(a, sizeof(int) * (size_t)(n + 1));
	done = arena_zalloc(a, sizeof(bool) * (size_t)(n + 1));
	/*
	 * In rounds, sent concurrently: each round takes every customer's
	 * next message (the batch is in customer order), so a customer's
	 * second message is decided knowing whether the first went.
	 */
	for (int left = n; left > 0;) {
		size_t nc = 0;

		for (int i = 0; i < n; i++) {
			if (done[i] || (i > 0 && !done[i - 1] &&
			    strcmp(m[i - 1].customer, m[i].customer) == 0))
				continue;
			/* a customer's earlier messages in this batch count */
			for (int k = i - 1; k >= 0 && strcmp(m[k].customer,
			    m[i].customer) == 0; k--)
				if (m[k].fate == M_SENT) {
					sent[i] = sent[k];
					oldest[i] = oldest[k];
					break;
				}
			if (decide(&rules, &m[i], sent[i], oldest[i], now)) {
				prepare(a, &m[i], &calls[nc]);
				which[nc++] = i;
				continue;
			}
			done[i] = true;
			left--;
		}
		send_all(a, calls, nc, res);
		for (size_t k = 0; k < nc; k++) {
			int i = which[k];

			settle(&m[i], &res[k], &sent[i], &oldest[i], now);
			free(m[i].request);
			m[i].request = NULL;
			done[i] = true;
			left--;
		}
	}
	for (int i = 0; i < n; i++)
		counts[m[i].fate == M_SENT ? 0 : m[i].fate == M_DEFER ||
		    m[i].fate == M_PAUSED ? 1 : m[i].fate == M_NEXT ? 2 : 3]++;
	if ((rc = record_fates(db, a, m, n)) != RK_OK) {
		*why = db_errmsg(db);
		return (rc);
	}
	log_debug("DELIVER-BATCH", "job %lld: %d sent, %d later, %d to the next "
	    "channel, %d failed or retried", (long long)job->id, counts[0],
	    counts[1], counts[2], counts[3]);
	return (RK_OK);
}
