/*
 * audience.c - the audience statement, written from the campaign's row.
 *
 * RULES (rekindle.v1.AudienceRule)
 *	Lifecycle states, dormant-days, churn-risk and P(alive) ranges (an
 *	upper bound of 0 is none; a customer without the score a rule is on
 *	is excluded as not_scored unless include_unscored), lifetime spend,
 *	segments;
 *	affinity matches when
 *	the customer's top category or top partner is one of those listed
 *	(both lists empty: everyone). Exclusions, the first that applies:
 *	not_scored (a churn-risk or P(alive) rule, no such score, unscored
 *	not included),
 *	no_consent (no marketing consent on any channel of the plan),
 *	do_not_call (reachable only by SMS, and on the list), no_channel (no
 *	address for any consented channel), in_running_campaign, cooldown.
 *	Control: md5(campaign_id:customer_id), first 32 bits, modulo 10,000,
 *	below holdout_percent x 100 - the same split whoever computes it.
 *	Offer: the first of the campaign's offers for the customer's top
 *	partner, else for the top category, else the fallback.
 *	Entries (always-on): a customer already in the campaign is a
 *	candidate again only if excluded then (the same entry, decided
 *	anew), or if their entry is reentry_days old and nothing of its
 *	journey is pending - no message waiting, no timer, no open ticket
 *	(the next entry, split by md5(campaign:customer:entry)).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audience.h"
#include "channel.h"

/* What a channel needs of the customer besides consent. */
static const char *const reach[] = {
	[CHANNEL_EMAIL] = "cu.email IS NOT NULL",
	[CHANNEL_SMS] = "cu.phone_e164 IS NOT NULL AND dnc.phone_e164 IS NULL",
	[CHANNEL_ZNS] = "cu.zalo_available AND cu.phone_e164 IS NOT NULL",
	[CHANNEL_PUSH] = "cu.push_token IS NOT NULL",
};

static const char *const state_names[] = {NULL, "new", "active", "at_risk",
	"dormant", "lost"};

/* Adds a parameter; returns its placeholder ("$3"). */
static const char *
param(arena *a, struct audience_stmt *s, const char *value)
{
	s->params[s->nparams++] = value;
	return (arena_printf(a, "$%d", s->nparams));
}

/* The plan's first channel the customer agreed to and can be reached on,
 * as a 1-based index, or NULL. */
static const char *
channel_pick(arena *a, char **plan, size_t n)
{
	char *e = "CASE";

	for (size_t i = 0; i < n; i++) {
		int ch = atoi(plan[i]);

		if (ch >= CHANNEL_EMAIL && ch <= CHANNEL_PUSH)
			e = arena_printf(a, "%s WHEN %d = ANY (cs.chans) AND %s THEN %zu",
			    e, ch, reach[ch], i + 1);
	}
	return (arena_printf(a, "%s ELSE NULL::int END", e));
}

/* Lifecycle state numbers ("{4,5}") as a text[] of names ("{dormant,lost}"). */
static const char *
state_array(arena *a, const char *nums)
{
	size_t n;
	char **v = db_array_split(a, nums, &n);
	const char **names = arena_alloc(a, sizeof(char *) * (n + 1));
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		int st = atoi(v[i]);

		if (st >= 1 && st <= 5)
			names[k++] = state_names[st];
	}
	return (db_text_array(a, names, k));
}

/* The campaign's rule, its columns named once: RULE_<name> is a column's
 * place after the first (the plan's channels, RULE_PLAN). */
#define RULE_COLS(X)                                                      \
	X(STATES, "aud_states::text")                                       \
	X(NSTATES, "cardinality(aud_states)")                               \
	X(MIN_DORMANT, "aud_min_dormant_days")                              \
	X(MAX_DORMANT, "aud_max_dormant_days")                              \
	X(MIN_RISK, "aud_min_churn_risk")                                   \
	X(MAX_RISK, "aud_max_churn_risk")                                   \
	X(MIN_P_ALIVE, "aud_min_p_alive")                                   \
	X(MAX_P_ALIVE, "aud_max_p_alive")                                   \
	X(INCLUDE_UNSCORED, "aud_include_unscored")                         \
	X(MIN_SPEND, "aud_min_past_spend")                                  \
	X(SEGMENTS, "aud_segments::text")                                   \
	X(NSEGMENTS, "cardinality(aud_segments)")                           \
	X(CATEGORIES, "aud_categories::text")                               \
	X(PARTNERS, "aud_partner_ids::text")                                \
	X(NAFFINITY, "cardinality(aud_categories) + "                       \
	    "cardinality(aud_partner_ids)")                                 \
	X(EXCLUDE_RUNNING, "aud_exclude_running")                           \
	X(COOLDOWN, "aud_cooldown_days")                                    \
	X(HOLDOUT, "round(holdout_percent * 100)::int")                     \
	X(REENTRY, "reentry_days")

enum {
	RULE_PLAN,
#define RULE_ENUM(name, expr) RULE_##name,
	RULE_COLS(RULE_ENUM)
#undef RULE_ENUM
};

#define RULE_SQL(name, expr) ", " expr

/* The rule's column c as a new parameter of s. */
static const char *
rule_param(arena *a, struct audience_stmt *s, db_res *r, int c)
{
	return (param(a, s, arena_strdup(a, db_res_str(r, 0, c))));
}

rk_err
audience_build(db_conn *db, arena *a, const char *campaign_id, bool entries,
    struct audience_stmt *s)
{
	/* a rule on a score: its column, and the rule's bounds on it (the
	 * least, then the most) */
	static const struct {
		const char *col;
		int bound[2];
	} scores[] = {
		{"p.churn_risk", {RULE_MIN_RISK, RULE_MAX_RISK}},
		{"p.p_alive", {RULE_MIN_P_ALIVE, RULE_MAX_P_ALIVE}},
	};
	const char *p[1] = {campaign_id}, *pick, *plan, *id, *where, *reason,
	    *joins = "", *entry = "1", *split;
	const char *unscored = NULL;
	char **chans;
	size_t nch;
	db_res *r;
	rk_err rc;

	rc = db_exec(db, "SELECT channel_order::text" RULE_COLS(RULE_SQL)
	    " FROM campaigns WHERE campaign_id = $1", 1, p, &r);
	if (rc != RK_OK)
		return (rc);
	if (db_res_nrows(r) != 1) {
		db_res_free(r);
		return (RK_ENOTFOUND);
	}
	memset(s, 0, sizeof(*s));
	id = param(a, s, arena_strdup(a, campaign_id));
	plan = rule_param(a, s, r, RULE_PLAN);
	chans = db_array_split(a, db_res_str(r, 0, RULE_PLAN), &nch);
	pick = channel_pick(a, chans, nch);

	/* The rule's conditions, only those that restrict. */
	where = "p.txn_count > 0";
	if (db_res_int64(r, 0, RULE_NSTATES) > 0)
		where = arena_printf(a, "%s AND p.state = ANY (%s::text[])", where,
		    param(a, s, state_array(a, db_res_str(r, 0, RULE_STATES))));
	if (db_res_int64(r, 0, RULE_MIN_DORMANT) > 0)
		where = arena_printf(a, "%s AND p.days_since_last >= %s::int", where,
		    rule_param(a, s, r, RULE_MIN_DORMANT));
	if (db_res_int64(r, 0, RULE_MAX_DORMANT) > 0)
		where = arena_printf(a, "%s AND p.days_since_last <= %s::int", where,
		    rule_param(a, s, r, RULE_MAX_DORMANT));
	/*
	 * A rule on a score (churn risk, P(alive)): a customer without that
	 * score matches only if the campaign includes the unscored, else is
	 * excluded as not_scored (below) - never read as 0.
	 */
	for (size_t k = 0; k < sizeof(scores) / sizeof(scores[0]); k++) {
		const char *col = scores[k].col;
		bool rule = false;

		for (int hi = 0; hi < 2; hi++)
			if (db_res_double(r, 0, scores[k].bound[hi]) > 0) {
				rule = true;
				where = arena_printf(a, "%s AND (%s IS NULL OR %s %s "
				    "%s::float8)", where, col, col, hi ? "<=" : ">=",
				    rule_param(a, s, r, scores[k].bound[hi]));
			}
		if (rule)
			unscored = unscored == NULL ? arena_printf(a, "%s IS NULL",
			    col) : arena_printf(a, "%s OR %s IS NULL", unscored, col);
	}
	if (db_res_int64(r, 0, RULE_MIN_SPEND) > 0)
		where = arena_printf(a, "%s AND p.total_spend_minor >= %s::int8",
		    where, rule_param(a, s, r, RULE_MIN_SPEND));
	if (db_res_int64(r, 0, RULE_NSEGMENTS) > 0)
		where = arena_printf(a, "%s AND p.segment = ANY (%s::text[])", where,
		    rule_param(a, s, r, RULE_SEGMENTS));
	if (db_res_int64(r, 0, RULE_NAFFINITY) > 0)
		where = arena_printf(a, "%s AND (p.top_category = ANY (%s::text[]) "
		    "OR p.top_partner = ANY (%s::text[]))", where, rule_param(a, s,
		    r, RULE_CATEGORIES), rule_param(a, s, r, RULE_PARTNERS));

	/* The exclusions, each a set joined once. */
	reason = unscored != NULL && !db_res_bool(r, 0, RULE_INCLUDE_UNSCORED) ?
	    arena_printf(a, "CASE WHEN %s THEN 'not_scored' WHEN", unscored) :
	    "CASE WHEN";
	reason = arena_printf(a, "%1$s cs.chans IS NULL OR NOT cs.chans && "
	    "%2$s::smallint[] THEN 'no_consent' "
	    "WHEN (%3$s) IS NULL AND dnc.phone_e164 IS NOT NULL "
	    "THEN 'do_not_call' WHEN (%3$s) IS NULL THEN 'no_channel' ", reason,
	    plan, pick);
	/* An entry run: who may enter (again), and as which entry. */
	if (entries) {
		joins = arena_printf(a, "%1$s LEFT JOIN campaign_members mb ON "
		    "mb.campaign_id = %2$s AND mb.customer_id = p.customer_id "
		    "LEFT JOIN (SELECT customer_id FROM messages WHERE "
		    "campaign_id = %2$s AND (state IN ('queued', 'sending') OR "
		    "(state = 'uncertain' AND resend)) UNION SELECT customer_id "
		    "FROM timers WHERE campaign_id = %2$s AND state = 'pending' AND "
		    "customer_id IS NOT NULL UNION SELECT customer_id FROM tickets "
		    "WHERE campaign_id = %2$s AND state < 5) busy ON "
		    "busy.customer_id = p.customer_id", joins, id);
		where = arena_printf(a, "%1$s AND (mb.customer_id IS NULL OR "
		    "mb.status = 'excluded' OR (%2$s::int > 0 AND mb.added_at <= "
		    "now() - %2$s::int * interval '1 day' AND busy.customer_id IS "
		    "NULL))", where, rule_param(a, s, r, RULE_REENTRY));
		entry = "CASE WHEN mb.customer_id IS NULL THEN 1 WHEN mb.status = "
		    "'excluded' THEN mb.entry ELSE mb.entry + 1 END";
	}
	/* the first entry split as ever; a later one anew */
	split = arena_printf(a, "%1$s || ':' || p.customer_id || CASE WHEN %2$s "
	    "> 1 THEN ':' || (%2$s) ELSE '' END", id, entry);
	if (db_res_bool(r, 0, RULE_EXCLUDE_RUNNING)) {
		joins = arena_printf(a, "%s LEFT JOIN (SELECT DISTINCT m.customer_id "
		    "FROM campaign_members m JOIN campaigns c2 ON c2.campaign_id = "
		    "m.campaign_id WHERE m.status <> 'excluded' AND c2.state IN "
		    "(2, 3, 4) AND c2.campaign_id <> %s) run ON run.customer_id = "
		    "p.customer_id", joins, id);
		reason = arena_printf(a, "%s WHEN run.customer_id IS NOT NULL THEN "
		    "'in_running_campaign'", reason);
	}
	if (db_res_int64(r, 0, RULE_COOLDOWN) > 0) {
		joins = arena_printf(a, "%s LEFT JOIN (SELECT DISTINCT customer_id "
		    "FROM messages WHERE state = 'sent' AND sent_at > now() - "
		    "%s::int * interval '1 day') cool ON cool.customer_id = "
		    "p.customer_id", joins, rule_param(a, s, r, RULE_COOLDOWN));
		reason = arena_printf(a, "%s WHEN cool.customer_id IS NOT NULL THEN "
		    "'cooldown'", reason);
	}
	s->sql = arena_printf(a,
	    "CREATE TEMP TABLE launch_cand ON COMMIT DROP AS "
	    "SELECT *, (%1$s::smallint[])[ch_idx] AS channel FROM ("
	    "SELECT p.customer_id, coalesce(p.churn_risk, 0) AS risk, "
	    " p.top_partner, p.top_category, %2$s AS ch_idx, %3$s END AS reason, "
	    " ('x' || substr(md5(%4$s), 1, 8))"
	    "  ::bit(32)::bigint %% 10000 < %5$s::int AS control, "
	    " coalesce(po.offer_id, co.offer_id, fb.offer_id) AS offer_id, "
	    " CASE WHEN po.offer_id IS NOT NULL THEN 'partner' "
	    "  WHEN co.offer_id IS NOT NULL THEN 'category' "
	    "  WHEN fb.offer_id IS NOT NULL THEN 'fallback' END AS basis, "
	    " NULL::text AS code, false AS overflow, (%8$s)::smallint AS entry, "
	    " NULL::text AS variant_id "
	    "FROM customer_profiles p JOIN customers cu ON cu.id = p.customer_id "
	    "LEFT JOIN (SELECT DISTINCT ON (partner_id) partner_id, offer_id "
	    " FROM launch_offers WHERE partner_id IS NOT NULL AND ord > 0 "
	    " ORDER BY partner_id, ord) po ON po.partner_id = p.top_partner "
	    "LEFT JOIN (SELECT DISTINCT ON (category) category, offer_id "
	    " FROM launch_offers WHERE category IS NOT NULL AND ord > 0 "
	    " ORDER BY category, ord) co ON co.category = p.top_category "
	    "LEFT JOIN (SELECT offer_id FROM launch_offers WHERE is_fallback) fb "
	    " ON true "
	    "LEFT JOIN launch_consent cs ON cs.customer_id = p.customer_id "
	    "LEFT JOIN do_not_call dnc ON dnc.phone_e164 = cu.phone_e164 %6$s "
	    "WHERE %7$s) c", plan, pick, reason, split, rule_param(a, s, r,
	    RULE_HOLDOUT), joins, where, entry);
	db_res_free(r);
	return (RK_OK);
}
