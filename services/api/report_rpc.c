/*
 * report_rpc.c - GetCampaignStats (the funnel so far) and
 * GetCampaignReport (the funnel, and what the campaign gained, measured
 * against its control group).
 *
 * MEASUREMENT
 *	Reactivation: the customer's first card transaction after the
 *	reference time, within the campaign's attribution window (30 days
 *	by default), from the ingested transactions. The reference time is
 *	when the customer's first message went out; for control customers,
 *	and for treatment customers no message reached, the launch - so
 *	both groups are measured from the same moment (intention to treat).
 *	Rate = reactivated / group size. Lift = treatment rate - control
 *	rate, with a 95 % Wald interval for a difference of proportions.
 *	Incremental spend = (mean window spend in treatment - in control) x
 *	treatment size. Cost = the offers' value for reactivated treatment
 *	customers (the bank pays an offer when it is used) + the messages
 *	sent (and uncertain: they may have been charged) at each
 *	channel's price (configuration); cost per reactivation
 *	= cost / incremental reactivations (lift x treatment size).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "campaign_rpc.h"
#include "log.h"
#include "rekindle/v1/campaign.pb-c.h"
#include "validate.h"

#define FUNNEL_SQL                                                          \
	"WITH k AS (SELECT campaign_id, attribution_days FROM campaigns "      \
	" WHERE campaign_id = $1), "                                           \
	"l AS (SELECT coalesce(finished_at, started_at) AS at FROM "           \
	" campaign_launches WHERE campaign_id = $1), "                         \
	"m AS (SELECT mb.customer_id, mb.status, mb.offer_id, mb.reminders, "  \
	" mb.registered_at, coalesce(s.sent_at, l.at) AS t0 "                  \
	" FROM campaign_members mb CROSS JOIN l "                              \
	" LEFT JOIN messages s ON s.campaign_id = mb.campaign_id AND "         \
	"  s.customer_id = mb.customer_id AND s.step = 0 AND s.state = 'sent' " \
	" WHERE mb.campaign_id = $1 AND mb.status <> 'excluded'), "            \
	"r AS (SELECT m.customer_id, m.status, m.offer_id, w.back, w.spend "   \
	" FROM m CROSS JOIN LATERAL (SELECT min(t.occurred_at) AS back, "      \
	"  coalesce(sum(t.amount_minor), 0) AS spend FROM transactions t "     \
	"  WHERE t.customer_id = m.customer_id AND t.occurred_at > m.t0 AND "  \
	"  t.occurred_at <= m.t0 + (SELECT attribution_days FROM k) * "        \
	"  interval '1 day') w), "                                             \
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
	" (SELECT coalesce(sum(o.amount_minor), 0) FROM r JOIN offers o ON "   \
	"  o.offer_id = r.offer_id WHERE r.status = 'treatment' AND "          \
	"  r.back IS NOT NULL), "                                              \
	" (SELECT coalesce(sum(CASE channel WHEN 1 THEN $2::bigint WHEN 2 "    \
	"  THEN $3::bigint WHEN 3 THEN $4::bigint ELSE $5::bigint END), 0) "   \
	"  FROM messages WHERE campaign_id = $1 AND "                          \
	"  state IN ('sent', 'uncertain')), "                                  \
	" (SELECT count(*) FROM messages WHERE campaign_id = $1 AND "          \
	"  state = 'uncertain'), "                                             \
	" (SELECT count(*) FROM messages WHERE campaign_id = $1 AND "          \
	"  state IN ('failed', 'denied'))"

/* Prices of one message per channel, in VND (configuration; the
 * defaults are the table's). */
static int var_price_email, var_price_sms, var_price_zns, var_price_push;

const struct cfg_entry report_cfg[] = {
	{"price_email_minor", CFG_INT, "0", &var_price_email, 0, 100000000, 0,
	    "what one e-mail costs, in VND, for cost per reactivation"},
	{"price_sms_minor", CFG_INT, "800", &var_price_sms, 0, 100000000, 0,
	    "what one advertising SMS costs, in VND"},
	{"price_zns_minor", CFG_INT, "300", &var_price_zns, 0, 100000000, 0,
	    "what one ZNS message costs, in VND"},
	{"price_push_minor", CFG_INT, "0", &var_price_push, 0, 100000000, 0,
	    "what one push notification costs, in VND"},
	CFG_END,
};

/* The funnel and the money of campaign_id; RK_ENOTFOUND if none. */
static rk_err
measure(rpc_call *c, const char *campaign_id, Rekindle__V1__CampaignStats **st,
    int64_t *spend_t, int64_t *spend_c, int64_t *offer_cost,
    int64_t *msg_cost)
{
	arena *a = rpc_arena(c);
	const char *p[5] = {campaign_id, arena_printf(a, "%d", var_price_email),
	    arena_printf(a, "%d", var_price_sms), arena_printf(a, "%d",
	    var_price_zns), arena_printf(a, "%d", var_price_push)};
	Rekindle__V1__CampaignStats *s;
	db_res *r;
	rk_err rc;
	int k = 1;

	if ((rc = db_execp(rpc_db(c), "campaign_funnel", FUNNEL_SQL, 5, p,
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
	*spend_t = db_res_int64(r, 0, k++);
	*spend_c = db_res_int64(r, 0, k++);
	*offer_cost = db_res_int64(r, 0, k++);
	*msg_cost = db_res_int64(r, 0, k++);
	s->uncertain = db_res_int64(r, 0, k++);
	s->undelivered = db_res_int64(r, 0, k++);
	db_res_free(r);
	*st = s;
	return (RK_OK);
}

static rk_err
get_stats(rpc_call *c, const ProtobufCMessage *req, ProtobufCMessage **resp)
{
	const Rekindle__V1__GetCampaignStatsRequest *r = (const void *)req;
	Rekindle__V1__CampaignStats *st;
	int64_t x[4];
	const char *why;
	rk_err rc;

	if ((why = validate_id(r->campaign_id)) != NULL)
		return (rpc_bad_field(c, "campaign_id", "%s", why));
	if ((rc = measure(c, r->campaign_id, &st, &x[0], &x[1], &x[2],
	    &x[3])) != RK_OK)
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

static rk_err
get_report(rpc_call *c, const ProtobufCMessage *req, ProtobufCMessage **resp)
{
	const Rekindle__V1__GetCampaignReportRequest *r = (const void *)req;
	Rekindle__V1__CampaignReport *out;
	Rekindle__V1__CampaignStats *st;
	arena *a = rpc_arena(c);
	int64_t spend_t, spend_c, offer_cost, msg_cost;
	double nt, nc, pt, pc, se, incremental;
	const char *why;
	rk_err rc;

	if ((why = validate_id(r->campaign_id)) != NULL)
		return (rpc_bad_field(c, "campaign_id", "%s", why));
	if ((rc = measure(c, r->campaign_id, &st, &spend_t, &spend_c,
	    &offer_cost, &msg_cost)) != RK_OK)
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
	se = nt > 0 && nc > 0 ? sqrt(pt * (1 - pt) / nt + pc * (1 - pc) / nc) :
	    0;
	out->lift_ci_low = out->lift - 1.96 * se;
	out->lift_ci_high = out->lift + 1.96 * se;
	out->incremental_spend = vnd(a, nt > 0 && nc > 0 ? ((double)spend_t / nt -
	    (double)spend_c / nc) * nt : 0);
	incremental = out->lift * nt;
	out->cost_per_reactivation = vnd(a, incremental >= 1 ?
	    (double)(offer_cost + msg_cost) / incremental : 0);
	out->funnel_svg = funnel_svg(a, st);
	*resp = &out->base;
	return (RK_OK);
}

const struct rpc_handler report_handlers[] = {
	{.path = "/rekindle.v1.CampaignService/GetCampaignStats",
	    .roles = ROLE_ADMIN | ROLE_SERVICE, .unary = get_stats},
	{.path = "/rekindle.v1.CampaignService/GetCampaignReport",
	    .roles = ROLE_ADMIN | ROLE_SERVICE, .unary = get_report},
	{.path = NULL},
};
