/*
 * engage.c - a batch of events in a few statements: their messages in
 * one query, the events in one insert, then the effects in batch order -
 * the common ones (delivery, first interest) set-wise, each event that
 * ends a journey on its own - so a batch has the outcome it would have
 * had one event at a time.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "dbrows.h"
#include "engage.h"
#include "strv.h"

int var_policy_hour_seconds;
static int var_machine_open_seconds, var_machine_click_seconds;

const struct cfg_entry engage_cfg[] = {
	{"machine_open_seconds", CFG_INT, "10", &var_machine_open_seconds, 0,
	    3600, 0, "an e-mail open this soon after sending is a machine's"},
	{"machine_click_seconds", CFG_INT, "2", &var_machine_click_seconds, 0,
	    3600, 0, "a click this soon after sending is a link scanner's"},
	{"policy_hour_seconds", CFG_INT, "3600", &var_policy_hour_seconds, 1,
	    3600, 0, "the length of a campaign policy's hour (less: a "
	    "compressed clock for demos and tests)"},
	CFG_END,
};

void
engage_rules(struct evidence_rules *r)
{
	evidence_default_rules(r);
	r->machine_open_s = var_machine_open_seconds;
	r->machine_click_s = var_machine_click_seconds;
}

#define TS(n) "(timestamptz 'epoch' + $" #n "::bigint * interval '1 microsecond')"

/* Ends the campaign's journey for the customer: timers and queued
 * messages of the campaign cancelled. p: campaign, customer, why. */
static rk_err
end_journey(db_conn *db, const char *const *p)
{
	rk_err rc;

	rc = db_execp(db, "engage_end_timers", "UPDATE timers SET state = "
	    "'cancelled', outcome = $3 WHERE campaign_id = $1 AND "
	    "customer_id = $2 AND state = 'pending' AND kind IN (1, 2)", 3, p,
	    NULL);
	if (rc == RK_OK)
		rc = db_execp(db, "engage_end_messages", "UPDATE messages SET "
		    "state = CASE WHEN state = 'queued' THEN 'cancelled' ELSE "
		    "state END, resend = false, reason = $3, updated_at = now() "
		    "WHERE campaign_id = $1 AND customer_id = $2 AND (state = "
		    "'queued' OR (state = 'uncertain' AND resend))", 3, p, NULL);
	return (rc);
}

/*
 * What the common events set in motion, gathered over a run of the batch
 * and written set-wise: delivery times, and first interests with their
 * reminder (or escalation) timers.
 */
struct pending {
	struct dbrows dl;	/* delivered: message, time */
	struct dbrows in;	/* strong interest: campaign, customer, time */
};

/* Writes what p gathered, and empties it. */
static rk_err
flush(db_conn *db, struct pending *p, const char *hour_s)
{
	const char *q[4];
	rk_err rc = RK_OK;

	/* a message delivered twice in the batch keeps the earlier time */
	if (p->dl.n > 0) {
		dbrows_params(&p->dl, q);
		/* a delivery settles an uncertain message: it was sent */
		rc = db_execp(db, "engage_delivered", "UPDATE messages m SET "
		    "delivered_at = least(coalesce(m.delivered_at, d.t), d.t), "
		    "state = CASE WHEN m.state = 'uncertain' THEN 'sent' ELSE "
		    "m.state END, resend = false, sent_at = coalesce(m.sent_at, "
		    "d.t), reason = CASE WHEN m.state = 'uncertain' THEN "
		    "'delivered (receipt)' ELSE m.reason END, updated_at = now() "
		    "FROM (SELECT id, min(timestamptz 'epoch' + us * interval "
		    "'1 microsecond') t FROM unnest($1::bigint[], $2::bigint[]) "
		    "u(id, us) GROUP BY id) d WHERE m.id = d.id", 2, q, NULL);
	}
	/* The first strong interest starts the reminders (or escalation). */
	if (rc == RK_OK && p->in.n > 0) {
		dbrows_params(&p->in, q);
		q[3] = hour_s;
		rc = db_execp(db, "engage_interest", "WITH f AS (SELECT c, cu, "
		    "min(timestamptz 'epoch' + us * interval '1 microsecond') t "
		    "FROM unnest($1::text[], $2::text[], $3::bigint[]) u(c, cu, us) "
		    "GROUP BY c, cu), j AS (UPDATE campaign_members m SET "
		    "interest_at = f.t, journey_at = now() FROM f "
		    "WHERE m.campaign_id = f.c AND m.customer_id = f.cu AND "
		    "m.journey = 'open' AND m.status = 'treatment' AND "
		    "m.interest_at IS NULL "
		    "RETURNING m.campaign_id, m.customer_id, m.interest_at, m.entry) "
		    "INSERT INTO timers (kind, due_at, campaign_id, customer_id, seq, "
		    "entry) "
		    "SELECT CASE WHEN k.rem_max > 0 THEN 1 ELSE 2 END, "
		    "j.interest_at + k.rem_delay_hours * $4::int * "
		    "interval '1 second', j.campaign_id, j.customer_id, "
		    "CASE WHEN k.rem_max > 0 THEN 1 ELSE 0 END, j.entry "
		    "FROM j JOIN campaigns k ON k.campaign_id = j.campaign_id "
		    "WHERE k.rem_max > 0 OR k.rem_escalate ON CONFLICT DO NOTHING", 4,
		    q, NULL);
	}
	dbrows_clear(&p->dl);
	dbrows_clear(&p->in);
	return (rc);
}

/*
 * What an event that ends a journey sets in motion, at once; q:
 * campaign, customer, time (us), channel. The journey's timers are
 * locked before its member row, in the order a firing timer takes them,
 * so the two never wait on each other in a circle.
 */
static rk_err
ending(db_conn *db, const struct engage_event *e, const char *const *q)
{
	const char *p[3] = {q[0], q[1], e->type == EV_REGISTERED ?
	    "registered" : "unsubscribed"};
	rk_err rc;

	if ((rc = end_journey(db, p)) != RK_OK)
		return (rc);
	if (e->type == EV_REGISTERED)
		return (db_execp(db, "engage_registered", "UPDATE campaign_members "
		    "SET registered_at = least(coalesce(registered_at, " TS(3) "), "
		    TS(3) "), journey = CASE WHEN journey IN ('open', 'escalated') "
		    "THEN 'registered' ELSE journey END, journey_at = now() "
		    "WHERE campaign_id = $1 AND customer_id = $2", 3, q, NULL));
	/* unsubscribed, complained */
	/* a withdrawal in the consent ledger (migration 019): its evidence
	 * is the campaign whose link or complaint it came through */
	rc = db_execp(db, "engage_revoke", "SELECT rekindle.record_consent($1, "
	    "$3::smallint, 1::smallint, false, " TS(2) ", 'unsubscribe-link', "
	    "'campaign:' || $4, 'engagement')", 4, (const char *[]){q[1], q[2],
	    q[3], q[0]}, NULL);
	if (rc == RK_OK)
		rc = db_execp(db, "engage_unsub_messages", "UPDATE messages "
		    "SET state = CASE WHEN state = 'queued' THEN 'cancelled' ELSE "
		    "state END, resend = false, reason = 'unsubscribed', "
		    "updated_at = now() WHERE customer_id = $1 AND channel = $2 "
		    "AND (state = 'queued' OR (state = 'uncertain' AND resend))",
		    2, (const char *[]){q[1], q[3]}, NULL);
	if (rc == RK_OK)
		rc = db_execp(db, "engage_unsub_journey", "UPDATE "
		    "campaign_members SET journey = 'unsubscribed', "
		    "journey_at = now() WHERE campaign_id = $1 AND "
		    "customer_id = $2 AND journey IN ('open', 'escalated')", 2, p,
		    NULL);
	return (rc);
}

/* The batch's messages, by id: what an event needs of its message. */
struct msg_row {
	int64_t id, sent_us;		/* sent_us -1: not sent */
	const char *campaign, *customer;
	int channel;
};

static int
cmp_msg_row(const void *x, const void *y)
{
	int64_t a = ((const struct msg_row *)x)->id,
	    b = ((const struct msg_row *)y)->id;

	return ((a > b) - (a < b));
}

/* Every event's message, one query; *out sorted by id. */
static rk_err
load_messages(db_conn *db, arena *a, const struct engage_event *ev, size_t n,
    struct msg_row **out, size_t *nout)
{
	int64_t *ids = arena_alloc(a, sizeof(int64_t) * (n + 1));
	size_t k = 0;
	db_res *r;
	rk_err rc;

	for (size_t i = 0; i < n; i++)
		if (ev[i].message_id > 0)
			ids[k++] = ev[i].message_id;
	*out = NULL;
	*nout = 0;
	if (k == 0)
		return (RK_OK);
	/* an erased customer's links lead nowhere: their messages are
	 * unknown (migration 020) */
	rc = db_execp(db, "engage_messages", "SELECT m.id, m.campaign_id, "
	    "m.customer_id, m.channel, coalesce((extract(epoch FROM m.sent_at) "
	    "* 1e6)::int8, -1) FROM messages m WHERE m.id = ANY ($1::bigint[]) "
	    "AND NOT EXISTS (SELECT 1 FROM customers cu WHERE cu.id = "
	    "m.customer_id AND cu.erased_at IS NOT NULL) ORDER BY m.id",
	    1, (const char *[]){db_int64_array(a, ids, k)}, &r);
	if (rc != RK_OK)
		return (rc);
	*nout = (size_t)db_res_nrows(r);
	*out = arena_alloc(a, sizeof(**out) * (*nout + 1));
	for (size_t i = 0; i < *nout; i++) {
		struct msg_row *m = &(*out)[i];

		m->id = db_res_int64(r, (int)i, 0);
		m->campaign = arena_strdup(a, db_res_str(r, (int)i, 1));
		m->customer = arena_strdup(a, db_res_str(r, (int)i, 2));
		m->channel = (int)db_res_int64(r, (int)i, 3);
		m->sent_us = db_res_int64(r, (int)i, 4);
	}
	db_res_free(r);
	return (RK_OK);
}

/*
 * Inserts the known events (ev[i] with idx[i] set) in one statement and
 * sets each one's result: recorded the first time its event_id is seen,
 * else a duplicate.
 */
static rk_err
insert_events(db_conn *db, arena *a, struct engage_event *ev, size_t n,
    const int64_t *us, const char *const *why)
{
	enum { NC = 11 };
	const char **got, *p[NC];
	struct dbrows rows;
	size_t ngot;
	bool *taken;
	db_res *r;
	rk_err rc;

	dbrows_init(&rows, a, NC, n);
	for (size_t i = 0; i < n; i++) {
		const struct engage_event *e = &ev[i];
		const char **row;

		if (e->result == ENGAGE_UNKNOWN)
			continue;
		row = dbrows_add(&rows);
		row[0] = e->event_id;
		row[1] = arena_printf(a, "%lld", (long long)e->message_id);
		row[2] = e->campaign_id;
		row[3] = e->customer_id;
		row[4] = arena_printf(a, "%d", e->channel);
		row[5] = arena_printf(a, "%d", (int)e->type);
		row[6] = arena_printf(a, "%d", (int)e->evidence);
		row[7] = arena_printf(a, "%lld", (long long)us[i]);
		row[8] = why[i];
		row[9] = e->user_agent && *e->user_agent ? e->user_agent : NULL;
		row[10] = e->source_ip && *e->source_ip ? e->source_ip : NULL;
	}
	if (rows.n == 0)
		return (RK_OK);
	dbrows_params(&rows, p);
	rc = db_execp(db, "engage_insert", "INSERT INTO events (event_id, "
	    "message_id, campaign_id, customer_id, channel, type, evidence, "
	    "occurred_at, evidence_why, user_agent, source_ip) "
	    "SELECT e, m, c, cu, ch, ty, ev, timestamptz 'epoch' + us * "
	    "interval '1 microsecond', w, ua, ip FROM unnest($1::text[], "
	    "$2::bigint[], $3::text[], $4::text[], $5::smallint[], "
	    "$6::smallint[], $7::smallint[], $8::bigint[], $9::text[], "
	    "$10::text[], $11::text[]) u(e, m, c, cu, ch, ty, ev, us, w, ua, ip) "
	    "ON CONFLICT (event_id) DO NOTHING RETURNING event_id", NC, p, &r);
	if (rc != RK_OK)
		return (rc);
	ngot = (size_t)db_res_nrows(r);
	got = arena_alloc(a, sizeof(char *) * (ngot + 1));
	taken = arena_zalloc(a, sizeof(bool) * (ngot + 1));
	for (size_t i = 0; i < ngot; i++)
		got[i] = arena_strdup(a, db_res_str(r, (int)i, 0));
	db_res_free(r);
	qsort(got, ngot, sizeof(*got), strv_cmp);
	for (size_t i = 0; i < n; i++) {
		const char **hit;

		if (ev[i].result == ENGAGE_UNKNOWN)
			continue;
		hit = bsearch(&ev[i].event_id, got, ngot, sizeof(*got), strv_cmp);
		if (hit != NULL && !taken[hit - got]) {
			taken[hit - got] = true;
			ev[i].result = ENGAGE_RECORDED;
		} else
			ev[i].result = ENGAGE_DUPLICATE;
	}
	return (RK_OK);
}

rk_err
engage_record(db_conn *db, arena *a, const struct evidence_rules *r,
    int hour_s, struct engage_event *ev, size_t n)
{
	int64_t now = clock_now_us(), *us = arena_alloc(a, sizeof(int64_t) *
	    (n + 1));
	const char **why = arena_alloc(a, sizeof(char *) * (n + 1)),
	    *hour = arena_printf(a, "%d", hour_s);
	struct pending pd;
	struct msg_row *msgs;
	size_t nmsgs;
	rk_err rc;

	if ((rc = load_messages(db, a, ev, n, &msgs, &nmsgs)) != RK_OK)
		return (rc);
	for (size_t i = 0; i < n; i++) {
		struct engage_event *e = &ev[i];
		struct msg_row key = {.id = e->message_id}, *m;

		e->result = ENGAGE_UNKNOWN;
		us[i] = e->time_us ? e->time_us : now;
		m = e->message_id > 0 && nmsgs > 0 ? bsearch(&key, msgs, nmsgs,
		    sizeof(*msgs), cmp_msg_row) : NULL;
		if (m == NULL)
			continue;
		e->result = ENGAGE_RECORDED;	/* known; settled by the insert */
		e->campaign_id = m->campaign;
		e->customer_id = m->customer;
		e->channel = m->channel;
		e->evidence = evidence_of(r, e->type, m->sent_us < 0 ? -1 :
		    us[i] - m->sent_us, e->user_agent, &why[i]);
	}
	if ((rc = insert_events(db, a, ev, n, us, why)) != RK_OK)
		return (rc);
	dbrows_init(&pd.dl, a, 2, n);
	dbrows_init(&pd.in, a, 3, n);
	/*
	 * In batch order, as if one at a time: the common effects gather and
	 * are written together, up to each event that ends a journey, which
	 * is written on its own after them.
	 */
	for (size_t i = 0; i < n; i++) {
		const struct engage_event *e = &ev[i];
		const char *t;

		if (e->result != ENGAGE_RECORDED)
			continue;
		t = arena_printf(a, "%lld", (long long)us[i]);
		if (e->type == EV_DELIVERED) {
			const char **row = dbrows_add(&pd.dl);

			row[0] = arena_printf(a, "%lld", (long long)e->message_id);
			row[1] = t;
		} else if (e->type == EV_REGISTERED ||
		    e->type == EV_UNSUBSCRIBED || e->type == EV_COMPLAINED) {
			const char *q[4] = {e->campaign_id, e->customer_id, t,
			    arena_printf(a, "%d", e->channel)};

			if ((rc = flush(db, &pd, hour)) != RK_OK ||
			    (rc = ending(db, e, q)) != RK_OK)
				return (rc);
		} else if (evidence_is_interest(e->type) &&
		    e->evidence == EVIDENCE_STRONG) {
			const char **row = dbrows_add(&pd.in);

			row[0] = e->campaign_id;
			row[1] = e->customer_id;
			row[2] = t;
		}
	}
	return (flush(db, &pd, hour));
}
