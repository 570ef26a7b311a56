/*
 * report_rpc.c - GetCampaignStats (the funnel so far) and
 * GetCampaignReport (the funnel, and what the campaign gained, measured
 * against its control group).
 *
 * MEASUREMENT
 *	Every entry counts (a launch's customers; an always-on campaign's
 *	entries week after week, a customer once per entry).
 *	Reactivation: the customer's first card transaction after the
 *	reference time, within the campaign's attribution window (30 days
 *	by default), from the ingested transactions. The reference time is
 *	when the entry's first message went out; for control entries, and
 *	for treatment ones no message reached, when they entered - so both
 *	groups are measured from the same moment (intention to treat).
 *	Rate = reactivated / group size. Lift = treatment rate - control
 *	rate, with a 95 % Wald interval for a difference of proportions.
 *	Incremental spend = (mean window spend in treatment - in control) x
 *	treatment size. Spend in another currency counts in VND at the
 *	rate of its day (money.h). Redemption: a treatment entry's
 *	transaction within its offer's validity at the offer's partner, in
 *	its category, or with its voucher code (REDEEMS_SQL). Cost = what
 *	the redemptions cost the bank (cashback on the qualifying amount up
 *	to the offer's face value, the fixed amount, the voucher's value) +
 *	the messages sent (and uncertain: they may have been charged) at
 *	each channel's price (configuration); cost per reactivation = cost
 *	/ incremental reactivations (lift x treatment size); ROI =
 *	(incremental spend x margin - cost) / cost, the margin in
 *	configuration.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "campaign_rpc.h"
#include "channel.h"
#include "money.h"
#include "log.h"
#include "rekindle/v1/campaign.pb-c.h"
#include "validate.h"

/*
 * Does transaction t use offer o? Its voucher code (one given to this
 * customer), its merchant's partner (partner_merchants, else the longest
 * name prefix: refdata.c's rule), its MCC's category; a fallback that
 * names neither is used by any card transaction (a voucher only by its
 * code).
 */
#define REDEEMS_SQL                                                         \
	"(t.voucher_code IS NOT NULL AND EXISTS (SELECT 1 FROM voucher_codes " \
	"  v WHERE v.offer_id = o.offer_id AND v.code = t.voucher_code AND "   \
	"  v.customer_id = t.customer_id)) "                                   \
	"OR (o.partner_id IS NOT NULL AND o.partner_id = coalesce((SELECT "    \
	"  pm.partner_id FROM partner_merchants pm WHERE pm.merchant_id = "    \
	"  t.merchant_id), (SELECT pp.partner_id FROM partner_name_prefixes "  \
	"  pp WHERE left(upper(t.merchant_name), length(pp.prefix)) = "        \
	"  pp.prefix ORDER BY length(pp.prefix) DESC LIMIT 1))) "              \
	"OR (o.category IS NOT NULL AND o.category = (SELECT mc.category "     \
	"  FROM mcc_codes mc WHERE mc.mcc = t.mcc)) "                          \
	"OR (o.partner_id IS NULL AND o.category IS NULL AND o.kind <> 1)"

/*
 * Every entry of the campaign (a launch's customers are its entries; an
 * always-on campaign's come week after week): m, with its reference time
 * t0 (its first message sent, else when it entered) and how its journey
 * went (the member row for the current entry, the archived outcome for
 * earlier ones); r, with its comeback within the window. $1 the campaign.
 */
#define ENTRIES_CTE                                                         \
	"WITH k AS (SELECT campaign_id, attribution_days FROM campaigns "      \
	" WHERE campaign_id = $1), "                                           \
	"m AS (SELECT e.customer_id, e.entry, e.status, e.offer_id, "          \
	" e.variant_id, "                                                      \
	" e.entered_at, coalesce(mb.reminders, e.reminders, 0) AS reminders, " \
	" coalesce(mb.registered_at, e.registered_at) AS registered_at, "      \
	" coalesce(s.sent_at, e.entered_at) AS t0 "                            \
	" FROM campaign_entries e "                                            \
	" LEFT JOIN campaign_members mb ON mb.campaign_id = e.campaign_id AND " \
	"  mb.customer_id = e.customer_id AND mb.entry = e.entry "             \
	" LEFT JOIN messages s ON s.campaign_id = e.campaign_id AND "          \
	"  s.customer_id = e.customer_id AND s.entry = e.entry AND "           \
	"  s.step = 0 AND s.state = 'sent' "                                   \
	" WHERE e.campaign_id = $1), "                                         \
	"r AS (SELECT m.customer_id, m.entry, m.status, m.offer_id, "          \
	" m.variant_id, m.entered_at, m.registered_at, m.t0, w.back, w.spend, " \
	" rd.n > 0 AS redeemed, CASE WHEN rd.n = 0 THEN 0 WHEN o.kind = 2 "    \
	"  THEN least(o.amount_minor, round(rd.amount * o.cashback_percent / " \
	"  100)::bigint) ELSE o.amount_minor END AS offer_cost "               \
	" FROM m LEFT JOIN offers o ON o.offer_id = m.offer_id "               \
	" CROSS JOIN LATERAL (SELECT min(t.occurred_at) AS back, "             \
	"  coalesce(sum(" VND_SQL("t.amount_minor", "t.currency",              \
	"t.occurred_at") "), 0) AS spend FROM transactions t "                 \
	"  WHERE t.customer_id = m.customer_id AND t.occurred_at > m.t0 AND "  \
	"  t.occurred_at <= m.t0 + (SELECT attribution_days FROM k) * "        \
	"  interval '1 day') w "                                               \
	" CROSS JOIN LATERAL (SELECT count(*) AS n, coalesce(sum("             \
	"  " VND_SQL("t.amount_minor", "t.currency", "t.occurred_at") "), 0) " \
	"  AS amount FROM transactions t WHERE m.status = 'treatment' AND "    \
	"  t.customer_id = m.customer_id AND t.occurred_at > m.t0 AND "        \
	"  t.occurred_at >= o.valid_from AND t.occurred_at < o.valid_until "   \
	"  AND t.amount_minor > 0 AND (" REDEEMS_SQL ")) rd) "

/* The entries of each week (Monday, UTC) and their comebacks. */
#define WEEKS_SQL ENTRIES_CTE                                               \
	"SELECT to_char(date_trunc('week', entered_at AT TIME ZONE 'UTC'), "   \
	" 'YYYY-MM-DD'), count(*) FILTER (WHERE status = 'treatment'), "       \
	" count(*) FILTER (WHERE status = 'control'), "                        \
	" count(*) FILTER (WHERE status = 'treatment' AND back IS NOT NULL), " \
	" count(*) FILTER (WHERE status = 'control' AND back IS NOT NULL) "    \
	"FROM r GROUP BY 1 ORDER BY 1"

/* Each variant's treatment entries: how many, reached, clicked,
 * registered, reactivated; its current share. */
#define VARIANTS_SQL ENTRIES_CTE ", "                                       \
	"s AS (SELECT DISTINCT customer_id, entry FROM messages WHERE "        \
	" campaign_id = $1 AND state = 'sent'), "                              \
	"c AS (SELECT DISTINCT customer_id FROM events WHERE campaign_id = $1 " \
	" AND type = 3 AND evidence = 2) "                                     \
	"SELECT v.variant_id, coalesce(v.offer_id, ''), count(r.customer_id), " \
	" count(s.customer_id), count(c.customer_id), count(r.registered_at), " \
	" count(r.back), coalesce(v.share, 0) "                                \
	"FROM campaign_variants v LEFT JOIN r ON r.variant_id = v.variant_id " \
	" AND r.status = 'treatment' "                                         \
	"LEFT JOIN s ON s.customer_id = r.customer_id AND s.entry = r.entry "  \
	"LEFT JOIN c ON c.customer_id = r.customer_id "                        \
	"WHERE v.campaign_id = $1 "                                            \
	"GROUP BY v.variant_id, v.offer_id, v.share, v.ord ORDER BY v.ord"

/* Comebacks by group and day after the reference time (day 0: within
 * the first 24 hours). */
#define DAYS_SQL ENTRIES_CTE                                                \
	"SELECT status, floor(extract(epoch FROM back - t0) / 86400)::int, "   \
	" count(*) FROM r WHERE back IS NOT NULL GROUP BY 1, 2 ORDER BY 2"

/* Per offer: treatment entries, redemptions, comebacks, offer cost. */
#define OFFERS_SQL ENTRIES_CTE                                              \
	"SELECT r.offer_id, o.title, count(*), count(*) FILTER (WHERE "        \
	" r.redeemed), count(r.back), coalesce(sum(r.offer_cost), 0) "         \
	"FROM r JOIN offers o ON o.offer_id = r.offer_id "                     \
	"WHERE r.status = 'treatment' GROUP BY r.offer_id, o.title "           \
	"ORDER BY count(*) DESC, r.offer_id"

/* Strong clicks on a campaign's messages; $1 the campaign. */
#define CLICKS_SQL                                                          \
	"(SELECT DISTINCT message_id FROM events WHERE campaign_id = $1 AND "  \
	" type = 3 AND evidence = 2)"

/* Per channel: messages that may have been charged, delivered, clicked. */
#define CHANNELS_SQL                                                        \
	"SELECT m.channel, count(*) FILTER (WHERE m.state IN ('sent', "        \
	" 'uncertain')), count(*) FILTER (WHERE m.delivered_at IS NOT NULL), " \
	" count(c.message_id) FROM messages m LEFT JOIN " CLICKS_SQL " c ON "  \
	" c.message_id = m.id WHERE m.campaign_id = $1 GROUP BY m.channel "    \
	"ORDER BY m.channel"

/* Per step (0 the first message, 1.. reminders): sent, clicked, and the
 * customers who registered after that step reached them. */
#define STEPS_SQL                                                           \
	"SELECT m.step, count(*) FILTER (WHERE m.state = 'sent'), "            \
	" count(c.message_id), count(*) FILTER (WHERE m.state = 'sent' AND "   \
	" mb.registered_at > m.sent_at) FROM messages m LEFT JOIN "            \
	CLICKS_SQL " c ON c.message_id = m.id LEFT JOIN campaign_members mb "  \
	" ON mb.campaign_id = m.campaign_id AND mb.customer_id = "             \
	" m.customer_id AND mb.entry = m.entry WHERE m.campaign_id = $1 "      \
	"GROUP BY m.step ORDER BY m.step"

#define FUNNEL_SQL ENTRIES_CTE ", "                                         \
	"e AS (SELECT customer_id, "                                           \
	" bool_or(type IN (3, 8, 9) AND evidence = 2) AS strong, "             \
	" bool_or(type = 2 AND evidence = 1) AS weak, "                        \
	" bool_or(type = 3 AND evidence = 2) AS clicked, "                     \
	" bool_or(type = 1) AS delivered FROM events WHERE campaign_id = $1 "  \
	" GROUP BY customer_id) "                                              \
	"SELECT (SELECT count(*) FROM k), "                                    \
	" (SELECT count(*) FROM m), "                                          \
	" (SELECT count(*) FROM m WHERE status = 'control'), "                 \
	" (SELECT count(DISTINCT customer_id) FROM messages WHERE "            \
	"  campaign_id = $1 AND state = 'sent'), "                             \
	" (SELECT count(*) FROM (SELECT customer_id FROM messages WHERE "      \
	"  campaign_id = $1 AND delivered_at IS NOT NULL UNION SELECT "        \
	"  customer_id FROM e WHERE delivered) d), "                           \
	" (SELECT count(*) FROM e WHERE strong), "                             \
	" (SELECT count(*) FROM e WHERE weak AND NOT strong), "                \
	" (SELECT count(*) FROM e WHERE clicked), "                            \
	" (SELECT count(*) FROM m WHERE registered_at IS NOT NULL), "          \
	" (SELECT count(*) FROM m WHERE reminders > 0), "                      \
	" (SELECT count(DISTINCT customer_id) FROM tickets WHERE "             \
	"  campaign_id = $1), "                                                \
	" (SELECT count(DISTINCT customer_id) FROM tickets WHERE "             \
	"  campaign_id = $1 AND first_contact_at IS NOT NULL), "               \
	" (SELECT count(*) FROM r WHERE status = 'treatment' AND back IS NOT " \
	"  NULL), "                                                            \
	" (SELECT count(*) FROM r WHERE status = 'control' AND back IS NOT "   \
	"  NULL), "                                                            \
	" (SELECT coalesce(sum(spend), 0) FROM r WHERE status = 'treatment'), " \
	" (SELECT coalesce(sum(spend), 0) FROM r WHERE status = 'control'), "  \
	" (SELECT coalesce(sum(offer_cost), 0) FROM r WHERE "                  \
	"  status = 'treatment'), "                                            \
	" (SELECT coalesce(sum(CASE channel WHEN 1 THEN $2::bigint WHEN 2 "    \
	"  THEN $3::bigint WHEN 3 THEN $4::bigint ELSE $5::bigint END), 0) "   \
	"  FROM messages WHERE campaign_id = $1 AND "                          \
	"  state IN ('sent', 'uncertain')), "                                  \
	" (SELECT count(*) FROM messages WHERE campaign_id = $1 AND "          \
	"  state = 'uncertain'), "                                             \
	" (SELECT count(*) FROM messages WHERE campaign_id = $1 AND "          \
	"  state IN ('failed', 'denied')), "                                   \
	" (SELECT count(*) FROM r WHERE redeemed)"

/* Prices of one message per channel, in VND (configuration; the
 * defaults are the table's). */
static int var_price_email, var_price_sms, var_price_zns, var_price_push,
    var_margin_bp;

const struct cfg_entry report_cfg[] = {
	{"price_email_minor", CFG_INT, "0", &var_price_email, 0, 100000000, 0,
	    "what one e-mail costs, in VND, for cost per reactivation"},
	{"price_sms_minor", CFG_INT, "800", &var_price_sms, 0, 100000000, 0,
	    "what one advertising SMS costs, in VND"},
	{"price_zns_minor", CFG_INT, "300", &var_price_zns, 0, 100000000, 0,
	    "what one ZNS message costs, in VND"},
	{"price_push_minor", CFG_INT, "0", &var_price_push, 0, 100000000, 0,
	    "what one push notification costs, in VND"},
	{"margin_basis_points", CFG_INT, "150", &var_margin_bp, 0, 10000, 0,
	    "what the bank keeps of card spend, in 1/100 %, for the ROI"},
	CFG_END,
};

/* What a campaign's entries spent and cost, in VND. */
struct money {
	int64_t spend_t, spend_c;	/* in the window, treatment / control */
	int64_t offer_cost, msg_cost;
	int64_t redeemed;		/* treatment entries that used the offer */
};

/* The funnel and the money of campaign_id; RK_ENOTFOUND if none. */
static rk_err
measure(rpc_call *c, const char *campaign_id, Rekindle__V1__CampaignStats **st,
    struct money *mo)
{
	arena *a = rpc_arena(c);
	const char *p[5] = {campaign_id, arena_printf(a, "%d", var_price_email),
	    arena_printf(a, "%d", var_price_sms), arena_printf(a, "%d",
	    var_price_zns), arena_printf(a, "%d", var_price_push)};
	Rekindle__V1__CampaignStats *s;
	db_res *r;
	rk_err rc;
	int k = 1;

	if ((rc = db_execp(rpc_read_db(c), "campaign_funnel", FUNNEL_SQL, 5, p,
	    &r)) != RK_OK)
		return (rc);
	if (db_res_int64(r, 0, 0) == 0) {
		db_res_free(r);
		return (rpc_error(c, RK_ENOTFOUND, "campaign not found"));
	}
	s = arena_alloc(a, sizeof(*s));
	rekindle__v1__campaign_stats__init(s);
	s->campaign_id = arena_strdup(a, campaign_id);
	s->audience = db_res_int64(r, 0, k++);
	s->control = db_res_int64(r, 0, k++);
	s->sent = db_res_int64(r, 0, k++);
	s->delivered = db_res_int64(r, 0, k++);
	s->opened_strong = db_res_int64(r, 0, k++);
	s->opened_weak = db_res_int64(r, 0, k++);
	s->clicked = db_res_int64(r, 0, k++);
	s->registered = db_res_int64(r, 0, k++);
	s->reminded = db_res_int64(r, 0, k++);
	s->ticketed = db_res_int64(r, 0, k++);
	s->contacted = db_res_int64(r, 0, k++);
	s->reactivated = db_res_int64(r, 0, k++);
	s->control_reactivated = db_res_int64(r, 0, k++);
	mo->spend_t = db_res_int64(r, 0, k++);
	mo->spend_c = db_res_int64(r, 0, k++);
	mo->offer_cost = db_res_int64(r, 0, k++);
	mo->msg_cost = db_res_int64(r, 0, k++);
	s->uncertain = db_res_int64(r, 0, k++);
	s->undelivered = db_res_int64(r, 0, k++);
	mo->redeemed = db_res_int64(r, 0, k++);
	db_res_free(r);
	*st = s;
	return (RK_OK);
}

static rk_err
get_stats(rpc_call *c, const ProtobufCMessage *req, ProtobufCMessage **resp)
{
	const Rekindle__V1__GetCampaignStatsRequest *r = (const void *)req;
	Rekindle__V1__CampaignStats *st;
	struct money mo;
	const char *why;
	rk_err rc;

	if ((why = validate_id(r->campaign_id)) != NULL)
		return (rpc_bad_field(c, "campaign_id", "%s", why));
	if ((rc = measure(c, r->campaign_id, &st, &mo)) != RK_OK)
		return (rc);
	*resp = &st->base;
	return (RK_OK);
}

static Rekindle__V1__Money *
vnd(arena *a, double minor)
{
	Rekindle__V1__Money *m = arena_alloc(a, sizeof(*m));

	rekindle__v1__money__init(m);
	m->amount_minor = (int64_t)llround(minor);
	m->currency = "VND";
	return (m);
}

/* A horizontal bar chart of the funnel, self-contained SVG. */
static char *
funnel_svg(arena *a, const Rekindle__V1__CampaignStats *s)
{
	const struct {
		const char *label;
		int64_t n;
	} rows[] = {{"Audience", s->audience}, {"Control", s->control},
	    {"Sent", s->sent}, {"Delivered", s->delivered},
	    {"Opened (strong)", s->opened_strong},
	    {"Opened (weak)", s->opened_weak}, {"Clicked", s->clicked},
	    {"Registered", s->registered}, {"Reminded", s->reminded},
	    {"Ticketed", s->ticketed}, {"Contacted", s->contacted},
	    {"Reactivated", s->reactivated}};
	int nrows = (int)(sizeof(rows) / sizeof(rows[0]));
	double top = s->audience > 0 ? (double)s->audience : 1;
	char *svg = arena_printf(a, "<svg xmlns=\"http://www.w3.org/2000/svg\" "
	    "width=\"640\" height=\"%d\" font-family=\"sans-serif\" "
	    "font-size=\"12\">", 24 * nrows + 10);

	for (int i = 0; i < nrows; i++)
		svg = arena_printf(a, "%s<text x=\"4\" y=\"%d\">%s</text><rect "
		    "x=\"130\" y=\"%d\" width=\"%.1f\" height=\"16\" "
		    "fill=\"#c0392b\"/><text x=\"%.1f\" y=\"%d\">%lld</text>", svg,
		    24 * i + 20, rows[i].label, 24 * i + 8, 420.0 *
		    (double)rows[i].n / top, 136 + 420.0 * (double)rows[i].n / top,
		    24 * i + 20, (long long)rows[i].n);
	return (arena_printf(a, "%s</svg>", svg));
}

/* The report's entries by week. */
static rk_err
weeks(rpc_call *c, const char *campaign_id, Rekindle__V1__CampaignReport *out)
{
	const char *p[1] = {campaign_id};
	arena *a = rpc_arena(c);
	db_res *r;
	rk_err rc;

	if ((rc = db_execp(rpc_read_db(c), "campaign_weeks", WEEKS_SQL, 1, p,
	    &r)) != RK_OK)
		return (rc);
	out->n_entries_by_week = (size_t)db_res_nrows(r);
	out->entries_by_week = arena_alloc(a, sizeof(*out->entries_by_week) *
	    (out->n_entries_by_week + 1));
	for (size_t i = 0; i < out->n_entries_by_week; i++) {
		Rekindle__V1__EntryWeek *w = arena_alloc(a, sizeof(*w));
		int row = (int)i;

		rekindle__v1__entry_week__init(w);
		w->week = arena_strdup(a, db_res_str(r, row, 0));
		w->treatment = db_res_int64(r, row, 1);
		w->control = db_res_int64(r, row, 2);
		w->treatment_reactivated = db_res_int64(r, row, 3);
		w->control_reactivated = db_res_int64(r, row, 4);
		out->entries_by_week[i] = w;
	}
	db_res_free(r);
	return (RK_OK);
}

/* A 95 % Wald interval for the difference of two proportions. */
static void
lift_ci(double p1, double n1, double p0, double n0, double *lo, double *hi)
{
	double se = n1 > 0 && n0 > 0 ? sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) /
	    n0) : 0;

	*lo = p1 - p0 - 1.96 * se;
	*hi = p1 - p0 + 1.96 * se;
}

/* Two-sided p-value of a pooled two-proportion z-test. */
static double
two_prop_p(double x1, double n1, double x2, double n2)
{
	double p, se, z;

	if (n1 <= 0 || n2 <= 0)
		return (1);
	p = (x1 + x2) / (n1 + n2);
	se = sqrt(p * (1 - p) * (1 / n1 + 1 / n2));
	if (se <= 0)
		return (1);
	z = fabs(x1 / n1 - x2 / n2) / se;
	return (erfc(z / sqrt(2)));
}

#define VARIANT_TEST "two-proportion z-test (pooled), the best variant " \
	"against each other one, p-values Holm-adjusted; significant when " \
	"every adjusted p < 0.05"

/*
 * The report's variants: each one's funnel and lift over control (rate pc
 * of nc), the best by reactivation rate, and whether it beats each other
 * variant (VARIANT_TEST).
 */
static rk_err
variants(rpc_call *c, const char *campaign_id, double pc, double nc,
    Rekindle__V1__CampaignReport *out)
{
	const char *p[1] = {campaign_id};
	arena *a = rpc_arena(c);
	double padj[8], pv[8];
	int order[8], best = 0, n, m = 0;
	db_res *r;
	rk_err rc;

	if ((rc = db_execp(rpc_read_db(c), "campaign_variants", VARIANTS_SQL, 1, p,
	    &r)) != RK_OK)
		return (rc);
	n = db_res_nrows(r) < 8 ? db_res_nrows(r) : 8;
	out->n_variants = (size_t)n;
	out->variants = arena_alloc(a, sizeof(*out->variants) * (size_t)(n + 1));
	for (int i = 0; i < n; i++) {
		Rekindle__V1__VariantResult *v = arena_alloc(a, sizeof(*v));

		rekindle__v1__variant_result__init(v);
		v->variant_id = arena_strdup(a, db_res_str(r, i, 0));
		v->offer_id = arena_strdup(a, db_res_str(r, i, 1));
		v->entries = db_res_int64(r, i, 2);
		v->sent = db_res_int64(r, i, 3);
		v->clicked = db_res_int64(r, i, 4);
		v->registered = db_res_int64(r, i, 5);
		v->reactivated = db_res_int64(r, i, 6);
		v->share = db_res_double(r, i, 7);
		v->rate = v->entries > 0 ? (double)v->reactivated /
		    (double)v->entries : 0;
		v->lift = v->rate - pc;
		lift_ci(v->rate, (double)v->entries, pc, nc, &v->lift_ci_low,
		    &v->lift_ci_high);
		out->variants[i] = v;
		if (v->rate > out->variants[best]->rate)
			best = i;
	}
	db_res_free(r);
	/* no comeback yet: no best to name */
	if (n < 2 || out->variants[best]->reactivated == 0)
		return (RK_OK);
	out->best_variant = out->variants[best]->variant_id;
	out->variant_test = VARIANT_TEST;
	/* best against each other one; Holm: the k-th smallest of m p-values
	 * times (m - k), made monotone */
	for (int i = 0; i < n; i++)
		if (i != best) {
			const Rekindle__V1__VariantResult *b = out->variants[best],
			    *o = out->variants[i];

			pv[m] = two_prop_p((double)b->reactivated,
			    (double)b->entries, (double)o->reactivated,
			    (double)o->entries);
			order[m] = m;
			m++;
		}
	for (int i = 1; i < m; i++)
		for (int j = i; j > 0 && pv[order[j]] < pv[order[j - 1]]; j--) {
			int t = order[j];

			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	for (int k = 0; k < m; k++) {
		double adj = fmin(1, pv[order[k]] * (m - k));

		padj[k] = k > 0 && padj[k - 1] > adj ? padj[k - 1] : adj;
	}
	out->best_p_value = padj[m - 1];
	out->best_significant = out->best_p_value < 0.05 &&
	    out->variants[best]->rate > 0;
	return (RK_OK);
}

/* The price of one message on channel ch (configuration). */
static int64_t
price(int ch)
{
	switch (ch) {
	case CHANNEL_EMAIL:
		return (var_price_email);
	case CHANNEL_SMS:
		return (var_price_sms);
	case CHANNEL_ZNS:
		return (var_price_zns);
	default:
		return (var_price_push);
	}
}

/* Cumulative reactivation by day, treatment (nt entries) and control
 * (nc). */
static rk_err
days(rpc_call *c, const char *campaign_id, double nt, double nc,
    Rekindle__V1__CampaignReport *out)
{
	const char *p[1] = {campaign_id};
	arena *a = rpc_arena(c);
	int64_t *ct, *cc;
	int window;
	db_res *r;
	rk_err rc;

	if ((rc = db_execp(rpc_read_db(c), "report_window", "SELECT "
	    "attribution_days FROM campaigns WHERE campaign_id = $1", 1, p,
	    &r)) != RK_OK)
		return (rc);
	window = db_res_nrows(r) == 1 ? (int)db_res_int64(r, 0, 0) : 0;
	db_res_free(r);
	if (window < 1 || window > 365)
		return (RK_OK);
	if ((rc = db_execp(rpc_read_db(c), "report_days", DAYS_SQL, 1, p, &r)) !=
	    RK_OK)
		return (rc);
	ct = arena_zalloc(a, sizeof(int64_t) * (size_t)(window + 1));
	cc = arena_zalloc(a, sizeof(int64_t) * (size_t)(window + 1));
	for (int i = 0; i < db_res_nrows(r); i++) {
		int d = (int)db_res_int64(r, i, 1);

		if (d < 0 || d > window)
			continue;
		(strcmp(db_res_str(r, i, 0), "treatment") == 0 ? ct : cc)[d] +=
		    db_res_int64(r, i, 2);
	}
	db_res_free(r);
	out->n_reactivation_by_day = (size_t)window + 1;
	out->reactivation_by_day = arena_alloc(a,
	    sizeof(*out->reactivation_by_day) * (size_t)(window + 2));
	for (int d = 0; d <= window; d++) {
		Rekindle__V1__ReactivationDay *x = arena_alloc(a, sizeof(*x));

		if (d > 0) {
			ct[d] += ct[d - 1];
			cc[d] += cc[d - 1];
		}
		rekindle__v1__reactivation_day__init(x);
		x->day = d;
		x->treatment = nt > 0 ? (double)ct[d] / nt : 0;
		x->control = nc > 0 ? (double)cc[d] / nc : 0;
		out->reactivation_by_day[d] = x;
	}
	return (RK_OK);
}

/* The report's per-channel, per-offer and per-step tables. */
static rk_err
tables(rpc_call *c, const char *campaign_id, Rekindle__V1__CampaignReport *out)
{
	const char *p[1] = {campaign_id};
	arena *a = rpc_arena(c);
	db_res *r;
	rk_err rc;
	size_t n;

	if ((rc = db_execp(rpc_read_db(c), "report_channels", CHANNELS_SQL, 1, p,
	    &r)) != RK_OK)
		return (rc);
	n = out->n_channels = (size_t)db_res_nrows(r);
	out->channels = arena_alloc(a, sizeof(*out->channels) * (n + 1));
	for (size_t i = 0; i < n; i++) {
		Rekindle__V1__ChannelResult *x = arena_alloc(a, sizeof(*x));
		int row = (int)i;

		rekindle__v1__channel_result__init(x);
		x->channel = (Rekindle__V1__Channel)db_res_int64(r, row, 0);
		x->messages = db_res_int64(r, row, 1);
		x->delivered = db_res_int64(r, row, 2);
		x->clicked = db_res_int64(r, row, 3);
		x->cost = vnd(a, (double)(x->messages * price((int)x->channel)));
		out->channels[i] = x;
	}
	db_res_free(r);
	if ((rc = db_execp(rpc_read_db(c), "report_offers", OFFERS_SQL, 1, p,
	    &r)) != RK_OK)
		return (rc);
	n = out->n_offers = (size_t)db_res_nrows(r);
	out->offers = arena_alloc(a, sizeof(*out->offers) * (n + 1));
	for (size_t i = 0; i < n; i++) {
		Rekindle__V1__OfferResult *x = arena_alloc(a, sizeof(*x));
		int row = (int)i;

		rekindle__v1__offer_result__init(x);
		x->offer_id = arena_strdup(a, db_res_str(r, row, 0));
		x->title = arena_strdup(a, db_res_str(r, row, 1));
		x->entries = db_res_int64(r, row, 2);
		x->redeemed = db_res_int64(r, row, 3);
		x->reactivated = db_res_int64(r, row, 4);
		x->cost = vnd(a, (double)db_res_int64(r, row, 5));
		out->offers[i] = x;
	}
	db_res_free(r);
	if ((rc = db_execp(rpc_read_db(c), "report_steps", STEPS_SQL, 1, p,
	    &r)) != RK_OK)
		return (rc);
	n = out->n_steps = (size_t)db_res_nrows(r);
	out->steps = arena_alloc(a, sizeof(*out->steps) * (n + 1));
	for (size_t i = 0; i < n; i++) {
		Rekindle__V1__StepResult *x = arena_alloc(a, sizeof(*x));
		int row = (int)i;

		rekindle__v1__step_result__init(x);
		x->step = (int32_t)db_res_int64(r, row, 0);
		x->sent = db_res_int64(r, row, 1);
		x->clicked = db_res_int64(r, row, 2);
		x->registered_after = db_res_int64(r, row, 3);
		out->steps[i] = x;
	}
	db_res_free(r);
	return (RK_OK);
}

static rk_err
get_report(rpc_call *c, const ProtobufCMessage *req, ProtobufCMessage **resp)
{
	const Rekindle__V1__GetCampaignReportRequest *r = (const void *)req;
	Rekindle__V1__CampaignReport *out;
	Rekindle__V1__CampaignStats *st;
	arena *a = rpc_arena(c);
	struct money mo;
	double nt, nc, pt, pc, incremental, inc_spend, total;
	const char *why;
	rk_err rc;

	if ((why = validate_id(r->campaign_id)) != NULL)
		return (rpc_bad_field(c, "campaign_id", "%s", why));
	if ((rc = measure(c, r->campaign_id, &st, &mo)) != RK_OK)
		return (rc);
	out = arena_alloc(a, sizeof(*out));
	rekindle__v1__campaign_report__init(out);
	out->stats = st;
	nt = (double)(st->audience - st->control);
	nc = (double)st->control;
	pt = nt > 0 ? (double)st->reactivated / nt : 0;
	pc = nc > 0 ? (double)st->control_reactivated / nc : 0;
	out->treatment_rate = pt;
	out->control_rate = pc;
	out->lift = pt - pc;
	lift_ci(pt, nt, pc, nc, &out->lift_ci_low, &out->lift_ci_high);
	inc_spend = nt > 0 && nc > 0 ? ((double)mo.spend_t / nt -
	    (double)mo.spend_c / nc) * nt : 0;
	out->incremental_spend = vnd(a, inc_spend);
	incremental = out->lift * nt;
	total = (double)(mo.offer_cost + mo.msg_cost);
	out->cost_per_reactivation = vnd(a, incremental >= 1 ? total /
	    incremental : 0);
	out->redeemed = mo.redeemed;
	out->redemption_rate = nt > 0 ? (double)mo.redeemed / nt : 0;
	out->offer_cost = vnd(a, (double)mo.offer_cost);
	out->message_cost = vnd(a, (double)mo.msg_cost);
	out->total_cost = vnd(a, total);
	out->margin_percent = var_margin_bp / 100.0;
	out->roi = total > 0 ? (inc_spend * out->margin_percent / 100 - total) /
	    total : 0;
	out->funnel_svg = funnel_svg(a, st);
	if ((rc = weeks(c, r->campaign_id, out)) != RK_OK ||
	    (rc = variants(c, r->campaign_id, pc, nc, out)) != RK_OK ||
	    (rc = tables(c, r->campaign_id, out)) != RK_OK ||
	    (rc = days(c, r->campaign_id, nt, nc, out)) != RK_OK)
		return (rc);
	*resp = &out->base;
	return (RK_OK);
}

const struct rpc_handler report_handlers[] = {
	{.path = "/rekindle.v1.CampaignService/GetCampaignStats",
	    .unary = get_stats},
	{.path = "/rekindle.v1.CampaignService/GetCampaignReport",
	    .unary = get_report},
	{.path = NULL},
};
