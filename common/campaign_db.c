/*
 * campaign_db.c - the statements of a campaign's life (campaign.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign.h"
#include "channel.h"
#include "jobq.h"
#include "log.h"
#include "rekindle/bus/v1/bus.pb-c.h"

/* Queues a campaign job: the launch launch_id, or (0) an entry run. */
static rk_err
enqueue(db_conn *db, arena *a, const char *campaign_id, int64_t launch_id,
    int64_t *job_id)
{
	Rekindle__Bus__V1__CampaignJob job = REKINDLE__BUS__V1__CAMPAIGN_JOB__INIT;
	unsigned char *buf;
	size_t len;

	job.campaign_id = (char *)campaign_id;
	job.launch_id = launch_id;
	job.entry = launch_id == 0;
	len = rekindle__bus__v1__campaign_job__get_packed_size(&job);
	buf = arena_alloc(a, len + 1);
	rekindle__bus__v1__campaign_job__pack(&job, buf);
	return (jobq_enqueue(db, "campaign", buf, len, job_id));
}

/* Queues the launch job of launch_id and marks the launch running. */
static rk_err
queue_job(db_conn *db, arena *a, const char *campaign_id, int64_t launch_id)
{
	const char *p[2];
	int64_t job_id;
	rk_err rc;

	if ((rc = enqueue(db, a, campaign_id, launch_id, &job_id)) != RK_OK)
		return (rc);
	p[0] = arena_printf(a, "%lld", (long long)launch_id);
	p[1] = arena_printf(a, "%lld", (long long)job_id);
	return (db_execp(db, "campaign_job", "UPDATE campaign_launches SET "
	    "job_id = $2, state = 'running', updated_at = now() WHERE id = $1",
	    2, p, NULL));
}

rk_err
campaign_template_gaps(db_conn *db, arena *a, const char *campaign_id,
    const char *offer_id, const char **gaps)
{
	const char *p[2] = {campaign_id, offer_id};
	db_res *r;
	rk_err rc;

	/*
	 * The offers a member of a variant may get: the variant's own, or
	 * (none given, or no variants) one of the campaign's by affinity;
	 * the fallback in either case (a capped offer falls back to it).
	 */
	rc = db_execp(db, "campaign_template_gaps", "WITH k AS (SELECT * FROM "
	    "campaigns WHERE campaign_id = $1), "
	    "ch AS (SELECT DISTINCT c FROM k, unnest(k.channel_order || CASE "
	    " WHEN k.rem_max > 0 THEN k.rem_channels ELSE '{}' END) c), "
	    "v AS (SELECT variant_id, offer_id FROM campaign_variants WHERE "
	    " campaign_id = $1 UNION ALL SELECT NULL, NULL WHERE NOT EXISTS "
	    " (SELECT 1 FROM campaign_variants WHERE campaign_id = $1)), "
	    "vo AS (SELECT v.variant_id, o.offer_id FROM v, k, LATERAL ("
	    " SELECT v.offer_id WHERE v.offer_id IS NOT NULL UNION "
	    " SELECT unnest(k.offer_ids) WHERE v.offer_id IS NULL UNION "
	    " SELECT k.fallback_offer_id WHERE k.fallback_offer_id IS NOT NULL"
	    ") o(offer_id)) "
	    "SELECT ch.c, array_to_string((array_agg(vo.offer_id || "
	    " coalesce(' (variant ' || vo.variant_id || ')', '') ORDER BY "
	    " vo.offer_id, vo.variant_id))[1:5], ', '), count(*) FROM ch, vo "
	    "WHERE NOT EXISTS (SELECT 1 FROM offer_templates t WHERE "
	    " t.offer_id = vo.offer_id AND t.channel = ch.c) "
	    "AND NOT EXISTS (SELECT 1 FROM variant_templates t WHERE "
	    " t.campaign_id = $1 AND t.variant_id = vo.variant_id AND "
	    " t.channel = ch.c) AND ($2::text IS NULL OR vo.offer_id = $2) "
	    "GROUP BY ch.c ORDER BY ch.c", 2, p, &r);
	if (rc != RK_OK)
		return (rc);
	*gaps = NULL;
	for (int i = 0; i < db_res_nrows(r); i++) {
		int64_t all = db_res_int64(r, i, 2);
		const char *one = arena_printf(a, "%s for %s %s%s",
		    channel_name((int)db_res_int64(r, i, 0)), all > 1 ?
		    "offers" : "offer", db_res_str(r, i, 1), all > 5 ?
		    arena_printf(a, " and %lld more", (long long)(all - 5)) : "");

		*gaps = *gaps ? arena_printf(a, "%s; %s", *gaps, one) : one;
	}
	db_res_free(r);
	return (RK_OK);
}

rk_err
campaign_offer_gaps(db_conn *db, arena *a, const char *offer_id,
    const char **campaign, const char **gaps)
{
	const char *p[1] = {offer_id};
	db_res *r;
	rk_err rc;

	*campaign = *gaps = NULL;
	rc = db_execp(db, "campaign_offer_users", "SELECT k.campaign_id FROM "
	    "campaigns k WHERE k.state IN (" DB_NUM(CAMPAIGN_SCHEDULED) ", "
	    DB_NUM(CAMPAIGN_RUNNING) ", " DB_NUM(CAMPAIGN_PAUSED) ") AND ($1 = "
	    "ANY (k.offer_ids) OR k.fallback_offer_id = $1 OR EXISTS (SELECT 1 "
	    "FROM campaign_variants v WHERE v.campaign_id = k.campaign_id AND "
	    "v.offer_id = $1)) ORDER BY k.campaign_id", 1, p, &r);
	if (rc != RK_OK)
		return (rc);
	for (int i = 0; rc == RK_OK && *gaps == NULL && i < db_res_nrows(r);
	    i++) {
		*campaign = arena_strdup(a, db_res_str(r, i, 0));
		rc = campaign_template_gaps(db, a, *campaign, offer_id, gaps);
	}
	if (*gaps == NULL)
		*campaign = NULL;
	db_res_free(r);
	return (rc);
}

rk_err
campaign_launch(db_conn *db, arena *a, const char *campaign_id,
    const char *request_id, int64_t *launch_id, bool *queued)
{
	const char *p[2] = {campaign_id, request_id};
	db_res *r;
	rk_err rc;

	*queued = false;
	rc = db_execp(db, "campaign_launch", "INSERT INTO campaign_launches "
	    "(campaign_id, request_id, state) SELECT campaign_id, $2, "
	    "CASE WHEN start_at > now() THEN 'scheduled' ELSE 'running' END "
	    "FROM campaigns WHERE campaign_id = $1 RETURNING id, "
	    "state = 'scheduled'", 2, p, &r);
	if (rc != RK_OK)
		return (rc);
	*launch_id = db_res_int64(r, 0, 0);
	*queued = !db_res_bool(r, 0, 1);
	db_res_free(r);
	rc = db_execp(db, "campaign_scheduled", "UPDATE campaigns SET state = "
	    DB_NUM(CAMPAIGN_SCHEDULED) ", updated_at = now() WHERE campaign_id = $1",
	    1, p, NULL);
	/* the start (if later) and the end, each once */
	if (rc == RK_OK)
		rc = db_execp(db, "campaign_timers", "INSERT INTO timers (kind, "
		    "due_at, campaign_id) SELECT t.kind, t.at, k.campaign_id "
		    "FROM campaigns k, LATERAL (VALUES (" DB_NUM(TIMER_CAMPAIGN_START)
		    ", k.start_at), (" DB_NUM(TIMER_CAMPAIGN_END) ", k.end_at)) "
		    "t(kind, at) WHERE k.campaign_id = $1 AND t.at IS NOT NULL AND "
		    "(t.kind = " DB_NUM(TIMER_CAMPAIGN_END) " OR t.at > now()) "
		    "ON CONFLICT DO NOTHING", 1, p, NULL);
	if (rc == RK_OK && *queued)
		rc = queue_job(db, a, campaign_id, *launch_id);
	return (rc);
}

rk_err
campaign_start(db_conn *db, arena *a, const char *campaign_id, bool *queued)
{
	const char *p[1] = {campaign_id};
	int64_t launch_id = 0;
	db_res *r;
	rk_err rc;

	*queued = false;
	/* the campaign first, as every other writer of it locks it */
	rc = db_execp(db, "campaign_start", "SELECT l.id FROM campaigns k "
	    "JOIN campaign_launches l ON l.campaign_id = k.campaign_id "
	    "WHERE k.campaign_id = $1 AND l.state = 'scheduled' AND k.state IN ("
	    DB_NUM(CAMPAIGN_SCHEDULED) ", " DB_NUM(CAMPAIGN_PAUSED) ") FOR UPDATE", 1, p,
	    &r);
	if (rc != RK_OK)
		return (rc);
	if (db_res_nrows(r) == 1)
		launch_id = db_res_int64(r, 0, 0);
	db_res_free(r);
	if (launch_id == 0)
		return (RK_OK);
	if ((rc = queue_job(db, a, campaign_id, launch_id)) == RK_OK)
		*queued = true;
	return (rc);
}

rk_err
campaign_end(db_conn *db, const char *campaign_id, int64_t *cancelled)
{
	const char *p[1] = {campaign_id};

	return (db_execp_count(db, "campaign_end", "UPDATE messages SET state = "
	    "'cancelled', reason = 'campaign ended', updated_at = now() "
	    "WHERE campaign_id = $1 AND step = 0 AND state = 'queued'", 1, p,
	    cancelled));
}

/* The daily entry timer of an always-on campaign: seq is the day of
 * its due time (days since 1970), so each day has one. $1 the campaign,
 * $2 the due time as SQL. */
#define DAILY_ENTRY_SQL(due)                                              \
	"INSERT INTO timers (kind, due_at, campaign_id, seq) SELECT "       \
	DB_NUM(TIMER_CAMPAIGN_ENTRY) ", " due ", campaign_id, "             \
	"(extract(epoch FROM " due ") / 86400)::int FROM campaigns "        \
	"WHERE campaign_id = $1 AND kind = " DB_NUM(CAMPAIGN_KIND_ALWAYS_ON)  \
	" AND (end_at IS NULL OR end_at > " due ") ON CONFLICT DO NOTHING"

rk_err
campaign_arm_check(db_conn *db, const char *campaign_id)
{
	const char *p[1] = {campaign_id};
	rk_err rc;

	rc = db_execp(db, "campaign_arm_check", "INSERT INTO timers (kind, "
	    "due_at, campaign_id, seq) VALUES (" DB_NUM(TIMER_CAMPAIGN_CHECK) ", "
	    "now(), $1, 1) ON CONFLICT DO NOTHING", 1, p, NULL);
	if (rc == RK_OK)
		rc = db_execp(db, "campaign_arm_entry", DAILY_ENTRY_SQL(
		    "now() + interval '1 day'"), 1, p, NULL);
	return (rc);
}

rk_err
campaign_entries_due(db_conn *db, int64_t tag)
{
	char seq[24];
	const char *p[1] = {seq};

	snprintf(seq, sizeof(seq), "%lld", -(long long)(tag % 2000000000) - 1);
	return (db_execp(db, "campaign_entries_due", "INSERT INTO timers (kind, "
	    "due_at, campaign_id, seq) SELECT " DB_NUM(TIMER_CAMPAIGN_ENTRY) ", "
	    "now() + interval '2 seconds', k.campaign_id, $1::int "
	    "FROM campaigns k WHERE k.kind = " DB_NUM(CAMPAIGN_KIND_ALWAYS_ON)
	    " AND k.state = " DB_NUM(CAMPAIGN_RUNNING) " AND (k.end_at IS NULL "
	    "OR k.end_at > now()) AND NOT EXISTS (SELECT 1 FROM timers t WHERE "
	    "t.campaign_id = k.campaign_id AND t.kind = "
	    DB_NUM(TIMER_CAMPAIGN_ENTRY) " AND t.state = 'pending' AND "
	    "t.seq < 0) ON CONFLICT DO NOTHING", 1, p, NULL));
}

rk_err
campaign_entry(db_conn *db, arena *a, const char *campaign_id, int seq,
    bool *queued)
{
	const char *p[1] = {campaign_id};
	db_res *r;
	bool live;
	rk_err rc;

	*queued = false;
	rc = db_execp(db, "campaign_entry_live", "SELECT state = "
	    DB_NUM(CAMPAIGN_RUNNING) " AND (end_at IS NULL OR end_at > now()) "
	    "FROM campaigns WHERE campaign_id = $1 AND kind = "
	    DB_NUM(CAMPAIGN_KIND_ALWAYS_ON) " AND state IN ("
	    DB_NUM(CAMPAIGN_RUNNING) ", " DB_NUM(CAMPAIGN_PAUSED) ")", 1, p, &r);
	if (rc != RK_OK)
		return (rc);
	/* gone, over or cancelled: no more runs (paused: the next day's) */
	if (db_res_nrows(r) == 0) {
		db_res_free(r);
		return (RK_OK);
	}
	live = db_res_bool(r, 0, 0);
	db_res_free(r);
	if (live && (rc = enqueue(db, a, campaign_id, 0, NULL)) != RK_OK)
		return (rc);
	*queued = live;
	if (seq > 0)
		rc = db_execp(db, "campaign_next_entry", DAILY_ENTRY_SQL(
		    "now() + interval '1 day'"), 1, p, NULL);
	return (rc);
}

/* When the attribution window starts: the campaign's last message,
 * ticket closed, or launch finished; $1 the campaign. */
#define LAST_SQL                                                          \
	"greatest((SELECT max(sent_at) FROM messages WHERE campaign_id = $1), " \
	" (SELECT max(closed_at) FROM tickets WHERE campaign_id = $1), "     \
	" (SELECT max(finished_at) FROM campaign_launches WHERE "            \
	"  campaign_id = $1))"
/* The window's length; $2 the hour in seconds. */
#define WINDOW_SQL "k.attribution_days * 24 * $2::int * interval '1 second'"

rk_err
campaign_check(db_conn *db, arena *a, const char *campaign_id, int seq,
    int hour_s, bool *completed)
{
	const char *p[3] = {campaign_id, arena_printf(a, "%d", hour_s),
	    arena_printf(a, "%d", seq + 1)};
	db_res *r;
	rk_err rc;

	*completed = false;
	/* the campaign locked first: a cancel or a pause waits, or won */
	rc = db_execp(db, "campaign_check", "WITH k AS (SELECT campaign_id, "
	    "state, attribution_days, kind, end_at FROM campaigns WHERE campaign_id = $1 "
	    "FOR UPDATE), last AS (SELECT " LAST_SQL " AS at) "
	    "SELECT k.state, "
	    "EXISTS (SELECT 1 FROM messages m WHERE m.campaign_id = $1 AND "
	    " (m.state IN ('queued', 'sending') OR (m.state = 'uncertain' AND "
	    " m.resend))) OR EXISTS (SELECT 1 FROM timers t WHERE "
	    " t.campaign_id = $1 AND t.state = 'pending' AND t.kind < "
	    DB_NUM(TIMER_CAMPAIGN_START) ") OR EXISTS (SELECT 1 FROM tickets tk "
	    " WHERE tk.campaign_id = $1 AND (tk.state < 5 OR EXISTS (SELECT 1 "
	    " FROM timers t WHERE t.ticket_id = tk.id AND t.state = "
	    " 'pending'))) OR EXISTS (SELECT 1 FROM campaign_launches l WHERE "
	    " l.campaign_id = $1 AND l.state IN ('scheduled', 'running')), "
	    "coalesce(last.at, now()) + " WINDOW_SQL " <= now(), "
	    /* an always-on campaign takes entries until its end */
	    "k.kind = " DB_NUM(CAMPAIGN_KIND_ALWAYS_ON) " AND (k.end_at IS NULL "
	    "OR k.end_at > now()) "
	    "FROM k, last", 2, p, &r);
	if (rc != RK_OK)
		return (rc);
	if (db_res_nrows(r) == 0) {
		db_res_free(r);
		return (RK_OK);
	}
	{
		int state = (int)db_res_int64(r, 0, 0);
		bool busy = db_res_bool(r, 0, 1), closed = db_res_bool(r, 0, 2),
		    live = db_res_bool(r, 0, 3);

		db_res_free(r);
		if (state == CAMPAIGN_COMPLETED || state == CAMPAIGN_CANCELLED)
			return (RK_OK);		/* over: no more checks */
		if (state == CAMPAIGN_RUNNING && !busy && closed && !live) {
			rc = db_execp(db, "campaign_complete", "UPDATE campaigns SET "
			    "state = " DB_NUM(CAMPAIGN_COMPLETED) ", state_reason = "
			    "'every journey ended and the attribution window closed', "
			    "updated_at = now() WHERE campaign_id = $1", 1, p, NULL);
			if (rc == RK_OK)
				*completed = true;
			return (rc);
		}
	}
	/* again when the window would close, an hour from now at the
	 * soonest */
	return (db_execp(db, "campaign_recheck", "INSERT INTO timers (kind, "
	    "due_at, campaign_id, seq) SELECT " DB_NUM(TIMER_CAMPAIGN_CHECK) ", "
	    "greatest(now() + $2::int * interval '1 second', "
	    "coalesce(" LAST_SQL ", now()) + " WINDOW_SQL "), "
	    "$1, $3::int FROM campaigns k WHERE k.campaign_id = $1 "
	    "ON CONFLICT DO NOTHING", 3, p, NULL));
}

/* The campaign's own and its tickets' pending timers; $1 the campaign. */
#define TIMERS_OF "state = 'pending' AND (campaign_id = $1 OR ticket_id IN " \
	"(SELECT id FROM tickets WHERE campaign_id = $1))"

rk_err
campaign_lock_timers(db_conn *db, const char *campaign_id)
{
	const char *p[1] = {campaign_id};

	return (db_execp(db, "campaign_lock_timers", "SELECT 1 FROM timers "
	    "WHERE " TIMERS_OF " ORDER BY id FOR UPDATE", 1, p, NULL));
}

rk_err
campaign_cancel(db_conn *db, arena *a, const char *campaign_id,
    const char *reason, const char *actor, struct campaign_cancelled *out)
{
	const char *why = reason && *reason ? arena_printf(a, "%s: %s",
	    CAMPAIGN_CANCELLED_REASON, reason) : CAMPAIGN_CANCELLED_REASON;
	const char *p[3] = {campaign_id, why, actor};
	rk_err rc;

	memset(out, 0, sizeof(*out));
	/* queued: cancelled; uncertain: held (never sent again) */
	rc = db_execp_count(db, "campaign_cancel_messages", "UPDATE messages "
	    "SET state = CASE WHEN state = 'queued' THEN 'cancelled' ELSE state END, "
	    "resend = false, reason = $2, updated_at = now() "
	    "WHERE campaign_id = $1 AND (state = 'queued' OR (state = "
	    "'uncertain' AND resend))", 2, p, &out->messages);
	if (rc == RK_OK)
		rc = db_execp_count(db, "campaign_cancel_timers", "UPDATE timers "
		    "SET state = 'cancelled', outcome = $2 WHERE " TIMERS_OF, 2, p,
		    &out->timers);
	/* open tickets, and resolved ones waiting for a call-back */
	if (rc == RK_OK)
		rc = db_execp_count(db, "campaign_cancel_tickets", "WITH c AS "
		    "(UPDATE tickets SET state = 6, closed_at = now(), "
		    "closed_reason = $2, updated_at = now() WHERE campaign_id = $1 "
		    "AND (state < 5 OR (state = 5 AND resolution = 4)) "
		    "RETURNING id, agent_id) INSERT INTO ticket_audit (ticket_id, "
		    "actor, action, detail) SELECT id, $3, 'closed', "
		    "jsonb_build_object('reason', $2::text, 'agent_id', agent_id) "
		    "FROM c", 3, p, &out->tickets);
	if (rc != RK_OK)
		return (rc);
	return (db_execp(db, "campaign_cancel_launch", "UPDATE campaign_launches "
	    "SET state = 'cancelled', error = $2, finished_at = now(), "
	    "updated_at = now() WHERE campaign_id = $1 AND state IN "
	    "('scheduled', 'running')", 2, p, NULL));
}

rk_err
campaign_resume(db_conn *db, const char *campaign_id, int64_t *due)
{
	const char *p[1] = {campaign_id};

	return (db_execp_count(db, "campaign_resume", "UPDATE messages SET "
	    "not_before = now(), reason = NULL, updated_at = now() WHERE "
	    "campaign_id = $1 AND state = 'queued' AND reason = '"
	    CAMPAIGN_PAUSED_REASON "'", 1, p, due));
}
