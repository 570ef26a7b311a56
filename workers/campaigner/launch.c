/*
 * launch.c - the launch as a sequence of set-based statements over a
 * temporary table of candidates (one row per customer the rule matches),
 * so a million-customer audience is a handful of scans, not a million
 * round trips.
 *
 * RULES
 *	The audience, its exclusions, control split and first-choice offers:
 *	audience.h. Each offer goes to at most min(quantity left, budget
 *	left / amount, free codes) customers, highest churn risk first; the
 *	rest get the fallback while it lasts, then nothing (no_offer).
 *
 * CONCURRENCY
 *	The launch row, the campaign and every offer used are locked (FOR
 *	UPDATE) before anything is counted, so two launches drawing on one
 *	offer take turns, and the offers' CHECK constraints hold the caps
 *	whatever else writes.
 */
#include <stdio.h>
#include <string.h>

#include <stdlib.h>

#include "audience.h"
#include "campaign.h"
#include "channel.h"
#include "clock.h"
#include "jobq.h"
#include "launch.h"
#include "log.h"
#include "variants.h"

/* The campaign's offers valid now, locked, with how many customers each
 * can still take. */
static const char offers_sql[] =
    "CREATE TEMP TABLE launch_offers ON COMMIT DROP AS "
    "SELECT o.offer_id, o.kind, o.partner_id, o.category, "
    " o.offer_id = k.fallback_offer_id AS is_fallback, "
    " coalesce(u.ord, 0) AS ord, "
    " least(coalesce(o.quantity_cap - o.quantity_used, 9e18::bigint), "
    "  coalesce((o.budget_minor - o.budget_used_minor) / o.amount_minor, "
    "   9e18::bigint), "
    "  CASE WHEN o.kind = 1 THEN (SELECT count(*) FROM voucher_codes v "
    "   WHERE v.offer_id = o.offer_id AND v.customer_id IS NULL) "
    "   ELSE 9e18::bigint END) AS allow "
    "FROM campaigns k "
    "JOIN offers o ON o.offer_id = ANY (k.offer_ids) OR "
    " o.offer_id = k.fallback_offer_id OR o.offer_id IN (SELECT "
    " v.offer_id FROM campaign_variants v WHERE v.campaign_id = $1) "
    "LEFT JOIN unnest(k.offer_ids) WITH ORDINALITY u(id, ord) "
    " ON u.id = o.offer_id "
    "WHERE k.campaign_id = $1 AND now() >= o.valid_from "
    " AND now() < o.valid_until";

/*
 * A member row is the current journey. The launch is a campaign's first
 * (one per campaign, in one transaction): nobody is a member yet, and a
 * plain insert is a third faster than an upsert that looks for a
 * conflict on every row (a million members: 4.0-4.7 s against 5.8-6.8
 * s) - a member there already is an error, never overwritten. An entry
 * run (always-on) upserts: a new entry replaces the row; an exclusion
 * replaces only an exclusion.
 */
#define MEMBERS_SQL                                                       \
	"INSERT INTO campaign_members (campaign_id, customer_id, status, "  \
	"reason, offer_id, offer_basis, voucher_code, entry, variant_id) "  \
	"SELECT $1, customer_id, CASE WHEN reason IS NOT NULL THEN "        \
	" 'excluded' WHEN control THEN 'control' ELSE 'treatment' END, "    \
	" reason, CASE WHEN reason IS NULL AND NOT control THEN offer_id END, " \
	" CASE WHEN reason IS NULL AND NOT control THEN basis END, code, "  \
	" entry, variant_id FROM launch_cand ORDER BY customer_id"
#define MEMBERS_UPSERT                                                    \
	" ON CONFLICT (campaign_id, customer_id) DO UPDATE SET "            \
	" status = EXCLUDED.status, reason = EXCLUDED.reason, "             \
	" offer_id = EXCLUDED.offer_id, offer_basis = EXCLUDED.offer_basis, " \
	" voucher_code = EXCLUDED.voucher_code, entry = EXCLUDED.entry, "   \
	" variant_id = EXCLUDED.variant_id, "                               \
	" added_at = now(), journey = 'open', interest_at = NULL, "         \
	" registered_at = NULL, reminders = 0, journey_at = NULL "          \
	"WHERE campaign_members.status = 'excluded' OR "                    \
	" EXCLUDED.status <> 'excluded'"

/* Each step: its name, its statement, and the one an entry run (always-on)
 * makes instead, if another. */
static const char *const steps[][3] = {
	/* Sorts and hashes over the whole audience, in memory; and set-wise
	 * joins whatever the statistics say (fresh data has none yet, and a
	 * nested loop over a million profiles never ends). */
	{"setting work memory", "SET LOCAL work_mem = '256MB'"},
	{"preferring set joins", "SET LOCAL enable_nestloop = off"},
	{"gathering consents", "CREATE TEMP TABLE launch_consent ON COMMIT DROP "
	    "AS SELECT customer_id, array_agg(channel) AS chans "
	    "FROM customer_consents WHERE purpose = 1 AND granted "
	    "GROUP BY customer_id"},
	{"locking the offers", "SELECT 1 FROM offers o, campaigns k "
	    "WHERE k.campaign_id = $1 AND (o.offer_id = ANY (k.offer_ids) OR "
	    "o.offer_id = k.fallback_offer_id OR o.offer_id IN (SELECT "
	    "v.offer_id FROM campaign_variants v WHERE v.campaign_id = $1)) "
	    "ORDER BY o.offer_id FOR UPDATE OF o"},
	{"counting the offers' room", offers_sql},
	{"selecting the audience", NULL},	/* audience.h */
	/* A temporary table has no statistics until asked: without them the
	 * joins below are planned as nested loops over a million rows. */
	{"analysing the audience", "ANALYZE launch_cand"},
	/* Variants (variants.h): a bucket of md5(campaign:customer:variant
	 * [:entry]) picks one; its offer, valid and in launch_offers, replaces
	 * the one by affinity (caps and the fallback below still apply). */
	{"splitting variants", "UPDATE launch_cand c SET variant_id = "
	    "v.variant_id, offer_id = CASE WHEN vo.offer_id IS NOT NULL THEN "
	    "vo.offer_id ELSE c.offer_id END, basis = CASE WHEN vo.offer_id IS "
	    "NOT NULL THEN 'variant' ELSE c.basis END "
	    "FROM launch_variants v LEFT JOIN launch_offers vo ON "
	    "vo.offer_id = v.offer_id "
	    "WHERE c.reason IS NULL AND NOT c.control AND ('x' || substr(md5($1 "
	    "|| ':' || c.customer_id || ':variant' || CASE WHEN c.entry > 1 THEN "
	    "':' || c.entry ELSE '' END), 1, 8))::bit(32)::bigint % 10000 "
	    "BETWEEN v.lo AND v.hi - 1"},
	/* Past an offer's room: highest risk first keeps it. */
	{"applying caps", "WITH r AS MATERIALIZED (SELECT customer_id, offer_id, "
	    " row_number() OVER (PARTITION BY offer_id ORDER BY risk DESC, "
	    " customer_id) AS rn FROM launch_cand WHERE reason IS NULL AND "
	    " NOT control AND offer_id IN (SELECT offer_id FROM launch_offers "
	    " WHERE allow < 9e18::bigint)) "
	    "UPDATE launch_cand c SET offer_id = NULL, basis = NULL, "
	    "overflow = r.offer_id <> coalesce((SELECT offer_id FROM "
	    " launch_offers WHERE is_fallback), '') "
	    "FROM r JOIN launch_offers lo ON lo.offer_id = r.offer_id "
	    "WHERE c.customer_id = r.customer_id AND r.rn > lo.allow"},
	/* Both inputs computed once (MATERIALIZED): planned as a join, the
	 * room's count would run once per overflowing customer. */
	{"falling back", "WITH fb AS MATERIALIZED (SELECT lo.offer_id, "
	    " lo.allow - (SELECT count(*) FROM launch_cand x WHERE "
	    " x.offer_id = lo.offer_id AND x.reason IS NULL AND NOT x.control) "
	    " AS room FROM launch_offers lo WHERE lo.is_fallback), "
	    "r AS MATERIALIZED (SELECT customer_id, row_number() OVER (ORDER BY "
	    " risk DESC, customer_id) AS rn FROM launch_cand WHERE overflow) "
	    "UPDATE launch_cand c SET offer_id = fb.offer_id, basis = 'fallback' "
	    "FROM r, fb WHERE c.customer_id = r.customer_id AND r.rn <= fb.room"},
	{"marking the unserved", "UPDATE launch_cand SET reason = 'no_offer' "
	    "WHERE reason IS NULL AND NOT control AND offer_id IS NULL"},
	/* Codes: the n-th customer of a voucher offer gets its n-th free
	 * code (the room counted the free codes). */
	{"assigning voucher codes", "WITH want AS (SELECT c.customer_id, "
	    " c.offer_id, row_number() OVER (PARTITION BY c.offer_id ORDER BY "
	    " c.customer_id) AS rn FROM launch_cand c JOIN launch_offers lo ON "
	    " lo.offer_id = c.offer_id WHERE lo.kind = 1 AND c.reason IS NULL "
	    " AND NOT c.control), "
	    "free AS (SELECT v.offer_id, v.code, row_number() OVER (PARTITION BY "
	    " v.offer_id ORDER BY v.code) AS rn FROM voucher_codes v WHERE "
	    " v.customer_id IS NULL AND v.offer_id IN (SELECT offer_id FROM "
	    " launch_offers WHERE kind = 1)), "
	    "pick AS (SELECT w.customer_id, w.offer_id, f.code FROM want w "
	    " JOIN free f ON f.offer_id = w.offer_id AND f.rn = w.rn), "
	    "taken AS (UPDATE voucher_codes v SET customer_id = p.customer_id, "
	    " campaign_id = $1, assigned_at = now() FROM pick p "
	    " WHERE v.offer_id = p.offer_id AND v.code = p.code "
	    " RETURNING v.customer_id, v.code) "
	    "UPDATE launch_cand c SET code = t.code FROM taken t "
	    "WHERE c.customer_id = t.customer_id"},
	/* Entering again: the journey the member row holds is kept as a
	 * past entry, with how it ended, before the row becomes the new
	 * one. The current entry is the member row alone (033); a control
	 * member has no offer (034). */
	{"keeping earlier journeys", "INSERT INTO campaign_past_entries "
	    "(campaign_id, customer_id, entry, status, offer_id, entered_at, "
	    "journey, registered_at, reminders, variant_id) SELECT $1, "
	    "mb.customer_id, mb.entry, mb.status, mb.offer_id, mb.added_at, "
	    "mb.journey, mb.registered_at, mb.reminders, mb.variant_id FROM "
	    "campaign_members mb JOIN launch_cand c ON c.customer_id = "
	    "mb.customer_id WHERE mb.campaign_id = $1 AND mb.status IN "
	    "('treatment', 'control') AND c.entry > mb.entry AND c.reason IS "
	    "NULL"},
	{"recording members", MEMBERS_SQL, MEMBERS_SQL MEMBERS_UPSERT},
	{"spending the offers", "UPDATE offers o SET quantity_used = "
	    "quantity_used + n.cnt, budget_used_minor = budget_used_minor + "
	    "n.cnt * o.amount_minor, updated_at = now() "
	    "FROM (SELECT offer_id, count(*) AS cnt FROM launch_cand WHERE "
	    " reason IS NULL AND NOT control GROUP BY offer_id) n "
	    "WHERE o.offer_id = n.offer_id"},
	{"writing the outbox", "INSERT INTO messages (campaign_id, customer_id, "
	    "entry, step, channel_index, channel, not_before) "
	    "SELECT $1, c.customer_id, c.entry, 0, c.ch_idx - 1, c.channel, "
	    " greatest(now(), k.start_at) "
	    "FROM launch_cand c, campaigns k WHERE k.campaign_id = $1 "
	    " AND c.reason IS NULL AND NOT c.control ORDER BY c.customer_id"},
};

/* Runs the steps over campaign_id's audience (entries: newcomers only);
 * *why names the step that failed. */
static rk_err
run_steps(db_conn *db, arena *a, const char *campaign_id, bool entries,
    const char **why)
{
	const char *p[1] = {campaign_id};
	char timing[1024];
	struct audience_stmt aud;
	size_t n = 0;
	rk_err rc;

	if ((rc = audience_build(db, a, campaign_id, entries, &aud)) != RK_OK) {
		*why = "reading the audience rule";
		return (rc);
	}
	if ((rc = variants_prepare(db, a, campaign_id)) != RK_OK) {
		*why = "splitting the variants";
		return (rc);
	}
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		int64_t t0 = clock_mono_ms();
		const char *sql = entries && steps[i][2] != NULL ? steps[i][2] :
		    steps[i][1];

		if (sql == NULL)
			rc = db_exec(db, aud.sql, aud.nparams, aud.params, NULL);
		else
			rc = db_exec(db, sql, strstr(sql, "$1") ? 1 : 0, p, NULL);
		if (rc != RK_OK) {
			*why = steps[i][0];
			return (rc);
		}
		n += (size_t)snprintf(timing + n, sizeof(timing) - n, "%s%s %lld ms",
		    i ? ", " : "", steps[i][0], (long long)(clock_mono_ms() - t0));
		if (n >= sizeof(timing))
			n = sizeof(timing) - 1;
	}
	/* The outbox rows are the delivery pools' work: they claim them
	 * when due (deliver.c); no job is needed. */
	log_info("LAUNCH-STEPS", "campaign %s: %s", campaign_id, timing);
	return (RK_OK);
}

/* What launch_cand came to: considered, treatment, control, excluded,
 * and the exclusions by reason ({"no_consent": 12, ...}) - one pass over
 * the candidates, grouped by what became of them. */
#define TALLY_SQL                                                         \
	"SELECT coalesce(sum(n), 0)::int8 AS considered, "                  \
	" coalesce(sum(n) FILTER (WHERE reason IS NULL AND NOT ctl), 0)::int8 " \
	"  AS treatment, "                                                  \
	" coalesce(sum(n) FILTER (WHERE reason IS NULL AND ctl), 0)::int8 " \
	"  AS control, "                                                    \
	" coalesce(sum(n) FILTER (WHERE reason IS NOT NULL), 0)::int8 "     \
	"  AS excluded, "                                                   \
	" coalesce(jsonb_object_agg(reason, n) FILTER (WHERE reason IS NOT " \
	"  NULL), '{}') AS exclusions "                                     \
	"FROM (SELECT reason, CASE WHEN reason IS NULL THEN control END "   \
	" AS ctl, count(*) AS n FROM launch_cand GROUP BY 1, 2) g"

rk_err
launch_run(db_conn *db, arena *a, const char *campaign_id, int64_t launch_id,
    const char **why)
{
	char lid[24];
	const char *p[2] = {campaign_id, lid};
	db_res *r;
	rk_err rc;
	bool running;

	snprintf(lid, sizeof(lid), "%lld", (long long)launch_id);
	rc = db_exec(db, "SELECT l.state = 'running' FROM campaign_launches l "
	    "JOIN campaigns k ON k.campaign_id = l.campaign_id "
	    "WHERE l.id = $2 AND l.campaign_id = $1 FOR UPDATE", 2, p, &r);
	if (rc != RK_OK) {
		*why = "locking the launch";
		return (rc);
	}
	running = db_res_nrows(r) == 1 && db_res_bool(r, 0, 0);
	db_res_free(r);
	if (!running)
		return (RK_OK);
	if ((rc = run_steps(db, a, campaign_id, false, why)) != RK_OK)
		return (rc);
	rc = db_exec(db, "UPDATE campaign_launches SET state = 'done', "
	    "considered = s.considered, treatment = s.treatment, "
	    "control = s.control, excluded = s.excluded, messages = s.treatment, "
	    "exclusions = s.exclusions, finished_at = now(), updated_at = now() "
	    "FROM (" TALLY_SQL ") s WHERE id = $1 "
	    "RETURNING s.considered, s.treatment, s.control, s.excluded", 1,
	    p + 1, &r);
	if (rc != RK_OK) {
		*why = "closing the launch";
		return (rc);
	}
	log_info("CAMPAIGN-LAUNCHED", "campaign %s: %s considered, %s treatment, "
	    "%s control, %s excluded", campaign_id, db_res_str(r, 0, 0),
	    db_res_str(r, 0, 1), db_res_str(r, 0, 2), db_res_str(r, 0, 3));
	db_res_free(r);
	/* Running now (a launch runs at its start time; a campaign paused
	 * before it started stays paused); its completion checked from now. */
	rc = db_exec(db, "UPDATE campaigns SET state = " DB_NUM(CAMPAIGN_RUNNING)
	    ", updated_at = now() WHERE campaign_id = $1 AND state = "
	    DB_NUM(CAMPAIGN_SCHEDULED), 1, p, NULL);
	if (rc == RK_OK)
		rc = campaign_arm_check(db, campaign_id);
	if (rc != RK_OK)
		*why = "starting the campaign";
	return (rc);
}

rk_err
entry_run(db_conn *db, arena *a, const char *campaign_id, const char **why)
{
	const char *p[1] = {campaign_id};
	db_res *r;
	rk_err rc;
	bool live;

	/* one run at a time per campaign, and only while it takes entries */
	rc = db_exec(db, "SELECT state = " DB_NUM(CAMPAIGN_RUNNING) " AND "
	    "(end_at IS NULL OR end_at > now()) FROM campaigns WHERE "
	    "campaign_id = $1 AND kind = " DB_NUM(CAMPAIGN_KIND_ALWAYS_ON)
	    " FOR UPDATE", 1, p, &r);
	if (rc != RK_OK) {
		*why = "locking the campaign";
		return (rc);
	}
	live = db_res_nrows(r) == 1 && db_res_bool(r, 0, 0);
	db_res_free(r);
	if (!live)
		return (RK_OK);
	if ((rc = run_steps(db, a, campaign_id, true, why)) != RK_OK)
		return (rc);
	if ((rc = db_exec(db, TALLY_SQL, 0, NULL, &r)) != RK_OK) {
		*why = "counting the entries";
		return (rc);
	}
	log_info("CAMPAIGN-ENTRIES", "campaign %s: %s considered, %s entered "
	    "(treatment), %s entered (control), %s excluded", campaign_id,
	    db_res_str(r, 0, 0), db_res_str(r, 0, 1), db_res_str(r, 0, 2),
	    db_res_str(r, 0, 3));
	db_res_free(r);
	return (RK_OK);
}
