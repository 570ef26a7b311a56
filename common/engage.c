/*
 * engage.c - one event at a time: the message, the event row, then its
 * effects, each a prepared statement.
 */
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "engage.h"

char *var_tracking_secret;
int var_policy_hour_seconds;
static int var_machine_open_seconds, var_machine_click_seconds;

const struct cfg_entry engage_cfg[] = {
	{"tracking_secret", CFG_STR, "", &var_tracking_secret, 0, 0, CFG_SECRET,
	    "HMAC key of the message tokens (the delivery pools' own)"},
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
		    "state = 'cancelled', reason = $3 WHERE campaign_id = $1 AND "
		    "customer_id = $2 AND state = 'queued'", 3, p, NULL);
	return (rc);
}

/* What the event sets in motion; q: campaign, customer, time (us),
 * channel, message id. */
static rk_err
effects(db_conn *db, const struct engage_event *e, const char *const *q,
    const char *hour_s)
{
	const char *p[3] = {q[0], q[1], NULL};
	rk_err rc = RK_OK;

	switch (e->type) {
	case EV_DELIVERED:
		return (db_execp(db, "engage_delivered", "UPDATE messages SET "
		    "delivered_at = least(coalesce(delivered_at, " TS(3) "), "
		    TS(3) ") WHERE id = $1 AND customer_id = $2", 3,
		    (const char *[]){q[4], q[1], q[2]}, NULL));
	case EV_REGISTERED:
		rc = db_execp(db, "engage_registered", "UPDATE campaign_members SET "
		    "registered_at = least(coalesce(registered_at, " TS(3) "), "
		    TS(3) "), journey = CASE WHEN journey IN ('open', 'escalated') "
		    "THEN 'registered' ELSE journey END, journey_at = now() "
		    "WHERE campaign_id = $1 AND customer_id = $2", 3, q, NULL);
		p[2] = "registered";
		return (rc == RK_OK ? end_journey(db, p) : rc);
	case EV_UNSUBSCRIBED:
	case EV_COMPLAINED:
		rc = db_execp(db, "engage_revoke", "INSERT INTO customer_consents "
		    "(customer_id, channel, purpose, granted, granted_at, source) "
		    "VALUES ($1, $3, 1, false, " TS(2) ", 'unsubscribe-link') "
		    "ON CONFLICT (customer_id, channel, purpose) DO UPDATE SET "
		    "granted = false, granted_at = EXCLUDED.granted_at, source = "
		    "EXCLUDED.source, recorded_at = now()", 3, q + 1, NULL);
		if (rc == RK_OK)
			rc = db_execp(db, "engage_unsub_messages", "UPDATE messages "
			    "SET state = 'cancelled', reason = 'unsubscribed' WHERE "
			    "customer_id = $1 AND channel = $2 AND state = 'queued'", 2,
			    (const char *[]){q[1], q[3]}, NULL);
		if (rc == RK_OK)
			rc = db_execp(db, "engage_unsub_journey", "UPDATE "
			    "campaign_members SET journey = 'unsubscribed', "
			    "journey_at = now() WHERE campaign_id = $1 AND "
			    "customer_id = $2 AND journey IN ('open', 'escalated')", 2,
			    p, NULL);
		p[2] = "unsubscribed";
		return (rc == RK_OK ? end_journey(db, p) : rc);
	default:
		break;
	}
	if (!evidence_is_interest(e->type) || e->evidence != EVIDENCE_STRONG)
		return (RK_OK);
	/* The first strong interest starts the reminders (or escalation). */
	return (db_execp(db, "engage_interest", "WITH j AS (UPDATE "
	    "campaign_members SET interest_at = " TS(3) ", journey_at = now() "
	    "WHERE campaign_id = $1 AND customer_id = $2 AND journey = 'open' "
	    "AND status = 'treatment' AND interest_at IS NULL "
	    "RETURNING campaign_id, customer_id) "
	    "INSERT INTO timers (kind, due_at, campaign_id, customer_id, seq) "
	    "SELECT CASE WHEN k.rem_max > 0 THEN 1 ELSE 2 END, " TS(3) " + "
	    "k.rem_delay_hours * $4::int * interval '1 second', j.campaign_id, "
	    "j.customer_id, CASE WHEN k.rem_max > 0 THEN 1 ELSE 0 END "
	    "FROM j JOIN campaigns k ON k.campaign_id = j.campaign_id "
	    "WHERE k.rem_max > 0 OR k.rem_escalate ON CONFLICT DO NOTHING", 4,
	    (const char *[]){q[0], q[1], q[2], hour_s}, NULL));
}

rk_err
engage_record(db_conn *db, arena *a, const struct evidence_rules *r,
    int hour_s, struct engage_event *ev, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct engage_event *e = &ev[i];
		const char *p[1], *q[5], *why;
		int64_t sent_us, t = e->time_us ? e->time_us : clock_now_us();
		db_res *res;
		rk_err rc;

		e->result = ENGAGE_UNKNOWN;
		if (e->message_id <= 0)
			continue;
		p[0] = arena_printf(a, "%lld", (long long)e->message_id);
		rc = db_execp(db, "engage_message", "SELECT campaign_id, "
		    "customer_id, channel, coalesce((extract(epoch FROM sent_at) "
		    "* 1e6)::int8, -1) FROM messages WHERE id = $1", 1, p, &res);
		if (rc != RK_OK)
			return (rc);
		if (db_res_nrows(res) == 0) {
			db_res_free(res);
			continue;
		}
		e->campaign_id = arena_strdup(a, db_res_str(res, 0, 0));
		e->customer_id = arena_strdup(a, db_res_str(res, 0, 1));
		e->channel = (int)db_res_int64(res, 0, 2);
		sent_us = db_res_int64(res, 0, 3);
		db_res_free(res);
		e->evidence = evidence_of(r, e->type, sent_us < 0 ? -1 : t - sent_us,
		    e->user_agent, &why);
		{
			const char *ins[11] = {e->event_id, p[0], e->campaign_id,
			    e->customer_id, arena_printf(a, "%d", e->channel),
			    arena_printf(a, "%d", (int)e->type), arena_printf(a, "%d",
			    (int)e->evidence), arena_printf(a, "%lld", (long long)t),
			    why, e->user_agent && *e->user_agent ? e->user_agent :
			    NULL, e->source_ip && *e->source_ip ? e->source_ip : NULL};

			rc = db_execp(db, "engage_insert", "INSERT INTO events "
			    "(event_id, message_id, campaign_id, customer_id, channel, "
			    "type, evidence, occurred_at, evidence_why, user_agent, "
			    "source_ip) VALUES ($1, $2, $3, $4, $5, $6, $7, " TS(8)
			    ", $9, $10, $11) ON CONFLICT (event_id) DO NOTHING", 11, ins,
			    &res);
		}
		if (rc != RK_OK)
			return (rc);
		e->result = db_res_affected(res) == 1 ? ENGAGE_RECORDED :
		    ENGAGE_DUPLICATE;
		db_res_free(res);
		if (e->result == ENGAGE_DUPLICATE)
			continue;
		q[0] = e->campaign_id;
		q[1] = e->customer_id;
		q[2] = arena_printf(a, "%lld", (long long)t);
		q[3] = arena_printf(a, "%d", e->channel);
		q[4] = p[0];
		if ((rc = effects(db, e, q, arena_printf(a, "%d", hour_s))) != RK_OK)
			return (rc);
	}
	return (RK_OK);
}
