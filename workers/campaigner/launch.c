/*
 * launch.c - the launch as a sequence of set-based statements over a
 * temporary table of candidates (one row per customer the rule matches),
 * so a million-customer audience is a handful of scans, not a million
 * round trips.
 *
 * RULES
 *	Audience: lifecycle states, dormant-days and churn-risk ranges,
 *	lifetime spend, segments; affinity matches when the customer's top
 *	category or top partner is one of those listed (either list empty
 *	and the other too: everyone). Exclusions, the first that applies:
 *	no_consent (no marketing consent on any channel of the plan),
 *	do_not_call (reachable only by SMS, and on the list), no_channel (no
 *	address for any consented channel), in_running_campaign, cooldown.
 *	Control: md5(campaign_id:customer_id), first 32 bits, modulo 10,000,
 *	below holdout_percent x 100 - the same split whoever computes it.
 *	Offer: the first of the campaign's offers for the customer's top
 *	partner, else for the top category, else the fallback. Each offer
 *	goes to at most min(quantity left, budget left / amount, free codes)
 *	customers, highest churn risk first; the rest get the fallback while
 *	it lasts, then nothing (no_offer).
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

#include "channel.h"
#include "clock.h"
#include "jobq.h"
#include "launch.h"
#include "log.h"
#include "rekindle/bus/v1/bus.pb-c.h"

static const char cand_sql[] =
    "CREATE TEMP TABLE launch_cand ON COMMIT DROP AS "
    "SELECT p.customer_id, coalesce(p.churn_risk, 0) AS risk, p.top_partner, "
    " p.top_category, ch.idx AS ch_idx, ch.ch AS channel, "
    " CASE WHEN cs.chans IS NULL OR NOT cs.chans && k.channel_order "
    "  THEN 'no_consent' "
    "  WHEN ch.idx IS NULL AND dnc.phone_e164 IS NOT NULL THEN 'do_not_call' "
    "  WHEN ch.idx IS NULL THEN 'no_channel' "
    "  WHEN k.aud_exclude_running AND EXISTS (SELECT 1 FROM campaign_members m "
    "   JOIN campaigns c2 ON c2.campaign_id = m.campaign_id "
    "   WHERE m.customer_id = p.customer_id AND m.status <> 'excluded' "
    "   AND c2.state IN (2, 3, 4) AND c2.campaign_id <> k.campaign_id) "
    "  THEN 'in_running_campaign' "
    "  WHEN k.aud_cooldown_days > 0 AND EXISTS (SELECT 1 FROM messages m "
    "   WHERE m.customer_id = p.customer_id AND m.state = 'sent' AND "
    "   m.sent_at > now() - k.aud_cooldown_days * interval '1 day') "
    "  THEN 'cooldown' END AS reason, "
    " ('x' || substr(md5(k.campaign_id || ':' || p.customer_id), 1, 8))"
    "  ::bit(32)::bigint % 10000 < round(k.holdout_percent * 100) "
    "  AS control, "
    /* First choice: partner, then category, then the fallback. */
    " coalesce(po.offer_id, co.offer_id, fb.offer_id) AS offer_id, "
    " CASE WHEN po.offer_id IS NOT NULL THEN 'partner' "
    "  WHEN co.offer_id IS NOT NULL THEN 'category' "
    "  WHEN fb.offer_id IS NOT NULL THEN 'fallback' END AS basis, "
    " NULL::text AS code, false AS overflow "
    "FROM campaigns k "
    "JOIN customer_profiles p ON true "
    "JOIN customers cu ON cu.id = p.customer_id "
    "LEFT JOIN (SELECT DISTINCT ON (partner_id) partner_id, offer_id "
    " FROM launch_offers WHERE partner_id IS NOT NULL AND ord > 0 "
    " ORDER BY partner_id, ord) po ON po.partner_id = p.top_partner "
    "LEFT JOIN (SELECT DISTINCT ON (category) category, offer_id "
    " FROM launch_offers WHERE category IS NOT NULL AND ord > 0 "
    " ORDER BY category, ord) co ON co.category = p.top_category "
    "LEFT JOIN (SELECT offer_id FROM launch_offers WHERE is_fallback) fb "
    " ON true "
    "LEFT JOIN launch_consent cs ON cs.customer_id = p.customer_id "
    "LEFT JOIN do_not_call dnc ON dnc.phone_e164 = cu.phone_e164 "
    "LEFT JOIN LATERAL (SELECT o.idx, o.ch "
    " FROM unnest(k.channel_order) WITH ORDINALITY o(ch, idx) "
    " WHERE o.ch = ANY (cs.chans) AND CASE o.ch "
    "  WHEN 1 THEN cu.email IS NOT NULL "
    "  WHEN 2 THEN cu.phone_e164 IS NOT NULL AND dnc.phone_e164 IS NULL "
    "  WHEN 3 THEN cu.zalo_available AND cu.phone_e164 IS NOT NULL "
    "  ELSE cu.push_token IS NOT NULL END "
    " ORDER BY o.idx LIMIT 1) ch ON true "
    "WHERE k.campaign_id = $1 AND p.txn_count > 0 "
    " AND (cardinality(k.aud_states) = 0 OR p.state = ANY (ARRAY("
    "  SELECT (ARRAY['new', 'active', 'at_risk', 'dormant', 'lost'])[s] "
    "  FROM unnest(k.aud_states) s))) "
    " AND p.days_since_last >= k.aud_min_dormant_days "
    " AND (k.aud_max_dormant_days = 0 OR "
    "  p.days_since_last <= k.aud_max_dormant_days) "
    " AND coalesce(p.churn_risk, 0) >= k.aud_min_churn_risk "
    " AND (k.aud_max_churn_risk = 0 OR "
    "  coalesce(p.churn_risk, 0) <= k.aud_max_churn_risk) "
    " AND p.total_spend_minor >= k.aud_min_past_spend "
    " AND (cardinality(k.aud_segments) = 0 OR p.segment = ANY (k.aud_segments)) "
    " AND ((cardinality(k.aud_categories) = 0 AND "
    "  cardinality(k.aud_partner_ids) = 0) OR "
    "  p.top_category = ANY (k.aud_categories) OR "
    "  p.top_partner = ANY (k.aud_partner_ids))";

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
    " o.offer_id = k.fallback_offer_id "
    "LEFT JOIN unnest(k.offer_ids) WITH ORDINALITY u(id, ord) "
    " ON u.id = o.offer_id "
    "WHERE k.campaign_id = $1 AND now() >= o.valid_from "
    " AND now() < o.valid_until";

static const char *const steps[][2] = {
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
	    "o.offer_id = k.fallback_offer_id) ORDER BY o.offer_id "
	    "FOR UPDATE OF o"},
	{"counting the offers' room", offers_sql},
	{"selecting the audience", cand_sql},
	/* A temporary table has no statistics until asked: without them the
	 * joins below are planned as nested loops over a million rows. */
	{"analysing the audience", "ANALYZE launch_cand"},
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
	{"recording members", "INSERT INTO campaign_members (campaign_id, "
	    "customer_id, status, reason, offer_id, offer_basis, voucher_code) "
	    "SELECT $1, customer_id, CASE WHEN reason IS NOT NULL THEN "
	    " 'excluded' WHEN control THEN 'control' ELSE 'treatment' END, "
	    " reason, CASE WHEN reason IS NULL AND NOT control THEN offer_id END, "
	    " CASE WHEN reason IS NULL AND NOT control THEN basis END, code "
	    "FROM launch_cand ORDER BY customer_id"},
	{"spending the offers", "UPDATE offers o SET quantity_used = "
	    "quantity_used + n.cnt, budget_used_minor = budget_used_minor + "
	    "n.cnt * o.amount_minor, updated_at = now() "
	    "FROM (SELECT offer_id, count(*) AS cnt FROM launch_cand WHERE "
	    " reason IS NULL AND NOT control GROUP BY offer_id) n "
	    "WHERE o.offer_id = n.offer_id"},
	{"writing the outbox", "INSERT INTO messages (campaign_id, customer_id, "
	    "step, channel_index, channel, not_before) "
	    "SELECT $1, c.customer_id, 0, c.ch_idx - 1, c.channel, "
	    " greatest(now(), k.start_at) "
	    "FROM launch_cand c, campaigns k WHERE k.campaign_id = $1 "
	    " AND c.reason IS NULL AND NOT c.control ORDER BY c.customer_id"},
};

/* Messages per delivery job. */
#define DELIVER_BATCH 500
#define RK_XSTR(x) #x
#define RK_STR(x) RK_XSTR(x)

/* One deliver job per DELIVER_BATCH first messages of each channel. */
static rk_err
enqueue_deliveries(db_conn *db, arena *a, const char *campaign_id)
{
	const char *p[1] = {campaign_id};
	db_res *r;
	rk_err rc;
	int n;

	rc = db_exec(db, "SELECT channel, array_agg(id ORDER BY id)::text "
	    "FROM (SELECT id, channel, (row_number() OVER (PARTITION BY channel "
	    " ORDER BY id) - 1) / " RK_STR(DELIVER_BATCH) " AS chunk "
	    " FROM messages WHERE campaign_id = $1 AND step = 0) s "
	    "GROUP BY channel, chunk", 1, p, &r);
	if (rc != RK_OK)
		return (rc);
	n = db_res_nrows(r);
	for (int i = 0; rc == RK_OK && i < n; i++) {
		Rekindle__Bus__V1__DeliverJob job =
		    REKINDLE__BUS__V1__DELIVER_JOB__INIT;
		size_t nids, len;
		char **ids = db_array_split(a, db_res_str(r, i, 1), &nids);
		unsigned char *buf;

		job.message_ids = arena_alloc(a, sizeof(int64_t) * (nids + 1));
		job.n_message_ids = nids;
		for (size_t k = 0; k < nids; k++)
			job.message_ids[k] = strtoll(ids[k], NULL, 10);
		len = rekindle__bus__v1__deliver_job__get_packed_size(&job);
		buf = arena_alloc(a, len + 1);
		rekindle__bus__v1__deliver_job__pack(&job, buf);
		rc = jobq_enqueue(db, channel_queue((int)db_res_int64(r, i, 0)),
		    buf, len, NULL);
	}
	db_res_free(r);
	return (rc);
}

rk_err
launch_run(db_conn *db, arena *a, const char *campaign_id, int64_t launch_id,
    const char **why)
{
	char lid[24];
	const char *p[2] = {campaign_id, lid};
	char timing[1024];
	size_t n = 0;
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
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		int64_t t0 = clock_mono_ms();

		if ((rc = db_exec(db, steps[i][1], strstr(steps[i][1], "$1") ?
		    1 : 0, p, NULL)) != RK_OK) {
			*why = steps[i][0];
			return (rc);
		}
		n += (size_t)snprintf(timing + n, sizeof(timing) - n, "%s%s %lld ms",
		    i ? ", " : "", steps[i][0], (long long)(clock_mono_ms() - t0));
	}
	if ((rc = enqueue_deliveries(db, a, campaign_id)) != RK_OK) {
		*why = "enqueueing deliveries";
		return (rc);
	}
	log_info("LAUNCH-STEPS", "campaign %s: %s", campaign_id, timing);
	rc = db_exec(db, "UPDATE campaign_launches SET state = 'done', "
	    "considered = s.considered, treatment = s.treatment, "
	    "control = s.control, excluded = s.excluded, messages = s.treatment, "
	    "finished_at = now(), updated_at = now() "
	    "FROM (SELECT count(*) AS considered, "
	    " count(*) FILTER (WHERE reason IS NULL AND NOT control) AS treatment,"
	    " count(*) FILTER (WHERE reason IS NULL AND control) AS control, "
	    " count(*) FILTER (WHERE reason IS NOT NULL) AS excluded "
	    " FROM launch_cand) s WHERE id = $1 "
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
	/* Running from its start time; scheduled until then. */
	rc = db_exec(db, "UPDATE campaigns SET state = CASE WHEN start_at > now() "
	    "THEN 2 ELSE 3 END, updated_at = now() WHERE campaign_id = $1 "
	    "AND state = 2", 1, p, NULL);
	if (rc != RK_OK)
		*why = "starting the campaign";
	return (rc);
}
