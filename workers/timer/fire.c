/*
 * fire.c - the fired timers' work: reminders set-wise (one statement for
 * the whole batch), escalations, call-backs and SLA breaches per ticket.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign.h"
#include "fire.h"
#include "log.h"
#include "tickets.h"

/*
 * Reminders: $1 the fired reminder timers, $2 the policy hour in seconds.
 * Returns how many reminder messages it wrote to the outbox.
 */
#define REMIND_SQL                                                         \
	"WITH t AS (SELECT id, campaign_id, customer_id, seq, due_at, entry " \
	" FROM timers WHERE id = ANY ($1::bigint[])), "                       \
	"live AS MATERIALIZED (SELECT t.*, k.rem_max, k.rem_interval_hours, " \
	" k.rem_escalate, k.channel_order, coalesce(k.rem_channels[((t.seq - 1) " \
	"  % greatest(cardinality(k.rem_channels), 1)) + 1], m0.channel, "   \
	"  k.channel_order[1]) AS ch "                                        \
	" FROM t JOIN campaigns k ON k.campaign_id = t.campaign_id "          \
	" JOIN campaign_members mb ON mb.campaign_id = t.campaign_id AND "    \
	"  mb.customer_id = t.customer_id AND mb.entry = t.entry "            \
	" LEFT JOIN messages m0 ON m0.campaign_id = t.campaign_id AND "       \
	"  m0.customer_id = t.customer_id AND m0.entry = t.entry AND "        \
	"  m0.step = 0 "                                                      \
	" WHERE mb.journey = 'open' AND mb.registered_at IS NULL "            \
	"  AND k.state IN (" DB_NUM(CAMPAIGN_RUNNING) ", "                    \
	"  " DB_NUM(CAMPAIGN_PAUSED) ")), "                                                \
	"mem AS (UPDATE campaign_members mb SET reminders = "                 \
	" greatest(mb.reminders, l.seq), journey_at = now() FROM live l "     \
	" WHERE mb.campaign_id = l.campaign_id AND "                          \
	" mb.customer_id = l.customer_id), "                                  \
	"nxt AS (INSERT INTO timers (kind, due_at, campaign_id, customer_id, " \
	" seq, entry) SELECT CASE WHEN seq < rem_max THEN 1 ELSE 2 END, due_at + "   \
	" rem_interval_hours * $2::int * interval '1 second', campaign_id, "  \
	" customer_id, CASE WHEN seq < rem_max THEN seq + 1 ELSE 0 END, "     \
	" entry "                                                             \
	" FROM live WHERE seq < rem_max OR rem_escalate "                     \
	" ON CONFLICT DO NOTHING), "                                          \
	"msg AS (INSERT INTO messages (campaign_id, customer_id, entry, "     \
	" step, channel_index, channel) SELECT campaign_id, customer_id, "    \
	" entry, seq, "                                                       \
	" coalesce(array_position(channel_order, ch), "                       \
	"  cardinality(channel_order)) - 1, ch FROM live "                    \
	" ON CONFLICT (campaign_id, customer_id, entry, step) DO NOTHING "    \
	" RETURNING id) "                                                     \
	"SELECT count(*) FROM msg"

static rk_err
remind(db_conn *db, arena *a, const char *ids, int hour_s)
{
	const char *p[2] = {ids, arena_printf(a, "%d", hour_s)};
	db_res *r;
	rk_err rc;

	/* the reminders are outbox rows, claimed by the delivery pools */
	if ((rc = db_execp(db, "timer_remind", REMIND_SQL, 2, p, &r)) != RK_OK)
		return (rc);
	db_res_free(r);
	return (RK_OK);
}

/* Records what a timer came to. */
static rk_err
outcome(db_conn *db, arena *a, int64_t id, const char *what)
{
	const char *p[2] = {arena_printf(a, "%lld", (long long)id), what};

	return (db_execp(db, "timer_outcome", "UPDATE timers SET outcome = $2 "
	    "WHERE id = $1", 2, p, NULL));
}

/* A call-back or SLA timer of a ticket. */
static rk_err
ticket_timer(db_conn *db, arena *a, int64_t id, int kind, int64_t ticket)
{
	const char *p[1] = {arena_printf(a, "%lld", (long long)ticket)}, *to;
	db_res *r;
	rk_err rc;
	bool due;

	if (kind == TIMER_CALL_BACK) {
		/* back to the top of its agent's queue */
		rc = db_execp(db, "timer_callback", "UPDATE tickets SET "
		    "state = CASE WHEN agent_id IS NULL THEN 1 ELSE 2 END, "
		    "resolution = NULL, priority = 1, updated_at = now() "
		    "WHERE id = $1 AND state = 5 AND resolution = 4 RETURNING 1", 1,
		    p, &r);
		if (rc != RK_OK)
			return (rc);
		due = db_res_nrows(r) == 1;
		db_res_free(r);
		if (rc == RK_OK && due)
			rc = ticket_audit(db, a, ticket, "timer", "call-back due", NULL,
			    NULL);
		return (rc == RK_OK ? outcome(db, a, id, due ? "call-back due" :
		    "ticket moved on") : rc);
	}
	/* SLA: no first contact yet - raise, reassign, flag */
	rc = db_execp(db, "timer_sla", "UPDATE tickets SET sla_breached = true, "
	    "supervisor_flag = true, priority = greatest(1, priority - 1), "
	    "updated_at = now() WHERE id = $1 AND first_contact_at IS NULL AND "
	    "state < 4 RETURNING coalesce(agent_id, '')", 1, p, &r);
	if (rc != RK_OK)
		return (rc);
	due = db_res_nrows(r) == 1;
	if (due) {
		const char *was = arena_strdup(a, db_res_str(r, 0, 0));

		db_res_free(r);
		rc = ticket_audit(db, a, ticket, "timer", "sla breached", "agent_id",
		    was);
		if (rc == RK_OK)
			rc = db_execp(db, "timer_sla_unassign", "UPDATE tickets SET "
			    "agent_id = NULL, state = 1 WHERE id = $1", 1, p, NULL);
		if (rc == RK_OK)
			rc = ticket_route(db, a, ticket, *was ? was : NULL, "timer",
			    &to);
		if (rc == RK_OK)
			log_warn("TICKET-SLA-BREACH", "ticket %lld: no first contact "
			    "in time; priority raised, %s, supervisor flagged",
			    (long long)ticket, to ? "reassigned" : "queued");
	} else
		db_res_free(r);
	return (rc == RK_OK ? outcome(db, a, id, due ? "breached" : "met") : rc);
}

/* A campaign's own timer: its start, its end, an entry run, a completion
 * check. */
static rk_err
campaign_timer(db_conn *db, arena *a, int64_t id, int kind,
    const char *campaign_id, int seq, int hour_s)
{
	const char *what;
	int64_t n;
	bool yes;
	rk_err rc;

	if (kind == TIMER_CAMPAIGN_START) {
		rc = campaign_start(db, a, campaign_id, &yes);
		what = yes ? "launch queued" : "nothing to start";
		if (rc == RK_OK && yes)
			log_info("CAMPAIGN-START", "campaign %s: start time reached, "
			    "launch queued", campaign_id);
	} else if (kind == TIMER_CAMPAIGN_END) {
		rc = campaign_end(db, campaign_id, &n);
		what = arena_printf(a, "%lld first messages cancelled",
		    (long long)n);
		if (rc == RK_OK)
			log_info("CAMPAIGN-END", "campaign %s: end time reached, %s",
			    campaign_id, what);
	} else if (kind == TIMER_CAMPAIGN_ENTRY) {
		rc = campaign_entry(db, a, campaign_id, seq, &yes);
		what = yes ? "entry run queued" : "campaign not taking entries";
	} else {
		rc = campaign_check(db, a, campaign_id, seq, hour_s, &yes);
		what = yes ? "completed" : "not yet";
		if (rc == RK_OK && yes)
			log_info("CAMPAIGN-COMPLETED", "campaign %s: every journey "
			    "ended and the attribution window closed", campaign_id);
	}
	return (rc == RK_OK ? outcome(db, a, id, what) : rc);
}

rk_err
fire_timers(db_conn *db, arena *a, const char *me, const int64_t *ids,
    size_t n, int hour_s, int *fired)
{
	const char *p[2] = {db_int64_array(a, ids, n), me};
	int64_t *rem;
	size_t nrem = 0;
	db_res *r;
	rk_err rc;

	*fired = 0;
	rc = db_execp(db, "timer_fire", "UPDATE timers SET state = 'fired', "
	    "fired_at = clock_timestamp() WHERE id = ANY ($1::bigint[]) AND "
	    "state = 'pending' AND claimed_by = $2 RETURNING id, kind, "
	    "coalesce(ticket_id, 0), coalesce(campaign_id, ''), "
	    "coalesce(customer_id, ''), seq", 2, p, &r);
	if (rc != RK_OK)
		return (rc);
	*fired = db_res_nrows(r);
	rem = arena_alloc(a, sizeof(*rem) * (size_t)(*fired + 1));
	for (int i = 0; rc == RK_OK && i < *fired; i++) {
		int64_t id = db_res_int64(r, i, 0), ticket = db_res_int64(r, i, 2);
		int kind = (int)db_res_int64(r, i, 1);

		if (kind == TIMER_REMINDER)
			rem[nrem++] = id;	/* set-wise, below */
		else if (kind >= TIMER_CAMPAIGN_START)
			rc = campaign_timer(db, a, id, kind, db_res_str(r, i, 3),
			    (int)db_res_int64(r, i, 5), hour_s);
		else if (kind == TIMER_ESCALATION) {
			int64_t tid;
			const char *why;

			rc = ticket_open(db, a, db_res_str(r, i, 3), db_res_str(r, i, 4),
			    hour_s, &tid, &why);
			if (rc == RK_OK)
				rc = outcome(db, a, id, tid ? arena_printf(a, "ticket %lld",
				    (long long)tid) : why);
		} else
			rc = ticket_timer(db, a, id, kind, ticket);
	}
	db_res_free(r);
	if (rc == RK_OK && nrem > 0)
		rc = remind(db, a, db_int64_array(a, rem, nrem), hour_s);
	return (rc);
}
