/*
 * campaign_rpc.c - CampaignService: campaign definitions and their
 * lifecycle (CreateCampaign, GetCampaign, ListCampaigns, UpdateCampaign,
 * PauseCampaign, ResumeCampaign, CancelCampaign).
 *
 * A campaign is checked whole: UpdateCampaign merges the masked fields
 * into the stored campaign and checks the result as CreateCampaign checks a
 * new one, so no sequence of updates can store what a create would refuse.
 * Definitions change only in draft; running campaigns are paused, resumed
 * or cancelled, with a reason.
 *
 * LaunchCampaign moves a draft to scheduled and, in the same transaction,
 * records the launch and enqueues its job for the campaigner pool (which
 * selects the audience, splits the control group, gives offers and writes
 * the outbox in one transaction of its own). A campaign launches once:
 * asking again returns the same operation. A campaign with a channel (of
 * its plan or reminders) on which an offer it may give has no template
 * is refused (FAILED_PRECONDITION, naming them): each such message would
 * fail at delivery.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign.h"
#include "campaign_rpc.h"
#include "channel.h"
#include "idem.h"
#include "log.h"
#include "operation.h"
#include "pbtime.h"
#include "rekindle/v1/campaign.pb-c.h"
#include "segment.h"
#include "validate.h"
#include "wakeup.h"

#define MAX_LIST 50
#define MAX_OFFERS 50
#define OP_PREFIX "operations/launch-"


#define CAMPAIGN_COLS                                                     \
	"campaign_id, name, state, aud_states::text, aud_min_dormant_days, "  \
	"aud_max_dormant_days, aud_min_churn_risk, aud_max_churn_risk, "      \
	"aud_min_past_spend, aud_segments::text, aud_categories::text, "      \
	"aud_partner_ids::text, aud_exclude_running, aud_cooldown_days, "     \
	"offer_ids::text, coalesce(fallback_offer_id, ''), holdout_percent, " \
	"channel_order::text, coalesce(window_start_min, -1), "               \
	"coalesce(window_end_min, -1), provider_rate_per_second, "            \
	"coalesce(" PBTIME_US("start_at") ", 0), "                            \
	"coalesce(" PBTIME_US("end_at") ", 0), rem_delay_hours, rem_max, "    \
	"rem_interval_hours, rem_channels::text, rem_escalate, "              \
	"coalesce(rem_ticket_team_id, ''), attribution_days, "                \
	PBTIME_US("created_at") ", " PBTIME_US("updated_at") ", kind, "     \
	"reentry_days, adaptive_split, aud_include_unscored, aud_min_p_alive, " \
	"aud_max_p_alive"

/* "{1,2,3}" from n enum values. */
static char *
int_array(arena *a, const int *v, size_t n)
{
	char *s = arena_alloc(a, 2 + n * 12), *p = s;

	*p++ = '{';
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "%s%d", i ? "," : "", v[i]);
	*p++ = '}';
	*p = '\0';
	return (s);
}

/* The enum values of a PostgreSQL smallint[] text. */
static int *
parse_ints(arena *a, const char *text, size_t *n)
{
	char **s = db_array_split(a, text, n);
	int *v = arena_alloc(a, sizeof(int) * (*n + 1));

	for (size_t i = 0; i < *n; i++)
		v[i] = atoi(s[i]);
	return (v);
}

/* "HH:MM" as minutes after midnight, -1 if malformed. */
static int
parse_hhmm(const char *s)
{
	int h, m;
	char tail;

	if (strlen(s) != 5 || sscanf(s, "%2d:%2d%c", &h, &m, &tail) != 2 ||
	    h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m != 0))
		return (-1);
	return (h * 60 + m);
}

static void
check_channels(rpc_call *c, const char *f, const Rekindle__V1__Channel *ch,
    size_t n)
{
	bool seen[8] = {false};

	for (size_t i = 0; i < n; i++) {
		if (ch[i] < REKINDLE__V1__CHANNEL__CHANNEL_EMAIL ||
		    ch[i] > REKINDLE__V1__CHANNEL__CHANNEL_PUSH)
			rpc_bad_field(c, arena_printf(rpc_arena(c), "%s[%zu]", f, i),
			    "must be EMAIL, SMS, ZNS or PUSH");
		else if (seen[ch[i]])
			rpc_bad_field(c, arena_printf(rpc_arena(c), "%s[%zu]", f, i),
			    "is listed twice");
		else
			seen[ch[i]] = true;
	}
}

/* A probability range of a rule: both ends 0..1 (NaN is not), hi 0 for
 * "up to 1", else at least lo. */
static bool
unit_range(double lo, double hi)
{
	return (lo >= 0 && lo <= 1 && hi >= 0 && hi <= 1 && (hi == 0 ||
	    hi >= lo));
}

static void
check_audience(rpc_call *c, const Rekindle__V1__AudienceRule *r)
{
	const char *why;

	for (size_t i = 0; i < r->n_states; i++)
		if (r->states[i] < 1 || r->states[i] > 5)
			rpc_bad_field(c, arena_printf(rpc_arena(c),
			    "campaign.audience.states[%zu]", i), "is not a lifecycle "
			    "state");
	if (r->min_dormant_days < 0 || r->max_dormant_days < 0 ||
	    (r->max_dormant_days > 0 && r->max_dormant_days <
	    r->min_dormant_days))
		rpc_bad_field(c, "campaign.audience.max_dormant_days", "the range "
		    "is min_dormant_days..max_dormant_days (0: no upper bound)");
	if (!unit_range(r->min_churn_risk, r->max_churn_risk))
		rpc_bad_field(c, "campaign.audience.max_churn_risk", "risks are "
		    "0..1, min_churn_risk..max_churn_risk (0: up to 1)");
	if (!unit_range(r->min_p_alive, r->max_p_alive))
		rpc_bad_field(c, "campaign.audience.max_p_alive", "P(alive) is "
		    "0..1, min_p_alive..max_p_alive (0: up to 1)");
	if (r->min_past_spend_minor < 0)
		rpc_bad_field(c, "campaign.audience.min_past_spend_minor", "must "
		    "not be negative");
	for (size_t i = 0; i < r->n_segments; i++)
		if (!segment_known(r->segments[i]))
			rpc_bad_field(c, arena_printf(rpc_arena(c),
			    "campaign.audience.segments[%zu]", i), "is not a segment "
			    "(Champions, Loyal, Potential loyalists, New, Promising, "
			    "Needs attention, About to sleep, At risk, Cannot lose "
			    "them, Hibernating, Lost)");
	for (size_t i = 0; i < r->n_categories; i++)
		if ((why = validate_id(r->categories[i])) != NULL)
			rpc_bad_field(c, arena_printf(rpc_arena(c),
			    "campaign.audience.categories[%zu]", i), "%s", why);
	for (size_t i = 0; i < r->n_partner_ids; i++)
		if ((why = validate_partner_id(r->partner_ids[i])) != NULL)
			rpc_bad_field(c, arena_printf(rpc_arena(c),
			    "campaign.audience.partner_ids[%zu]", i), "%s", why);
	if (r->cooldown_days < 0 || r->cooldown_days > 365)
		rpc_bad_field(c, "campaign.audience.cooldown_days", "must be "
		    "0..365");
}

static void
check_reminders(rpc_call *c, const Rekindle__V1__ReminderPolicy *r)
{
	const char *why;

	if (r->max_reminders < 0 || r->max_reminders > 5)
		rpc_bad_field(c, "campaign.reminders.max_reminders", "must be 0..5");
	if (r->max_reminders > 0 && (r->delay_hours < 1 || r->delay_hours >
	    24 * 30))
		rpc_bad_field(c, "campaign.reminders.delay_hours", "must be "
		    "1..720 when reminders are sent");
	if (r->max_reminders > 1 && (r->interval_hours < 1 ||
	    r->interval_hours > 24 * 30))
		rpc_bad_field(c, "campaign.reminders.interval_hours", "must be "
		    "1..720 with more than one reminder");
	check_channels(c, "campaign.reminders.channels", r->channels,
	    r->n_channels);
	if (r->escalate_to_ticket && (why = validate_id(r->ticket_team_id)) !=
	    NULL)
		rpc_bad_field(c, "campaign.reminders.ticket_team_id", "%s", why);
}

/* Every check that needs no database. */
static void
check_campaign(rpc_call *c, const Rekindle__V1__Campaign *cp)
{
	const char *why;
	int64_t from = pbtime_us(cp->start_time), to = pbtime_us(cp->end_time);

	if ((why = validate_id(cp->campaign_id)) != NULL)
		rpc_bad_field(c, "campaign.campaign_id", "%s", why);
	if ((why = validate_text(cp->name, MAX_NAME_LEN)) != NULL ||
	    *cp->name == '\0')
		rpc_bad_field(c, "campaign.name", "%s", why ? why : "is required");
	if (cp->audience)
		check_audience(c, cp->audience);
	if (cp->n_offer_ids > MAX_OFFERS)
		rpc_bad_field(c, "campaign.offer_ids", "at most %d offers",
		    MAX_OFFERS);
	for (size_t i = 0; i < cp->n_offer_ids; i++)
		if ((why = validate_id(cp->offer_ids[i])) != NULL)
			rpc_bad_field(c, arena_printf(rpc_arena(c),
			    "campaign.offer_ids[%zu]", i), "%s", why);
	if (*cp->fallback_offer_id && (why = validate_id(cp->fallback_offer_id)) !=
	    NULL)
		rpc_bad_field(c, "campaign.fallback_offer_id", "%s", why);
	if (cp->n_offer_ids == 0 && *cp->fallback_offer_id == '\0')
		rpc_bad_field(c, "campaign.offer_ids", "offers or a fallback offer "
		    "are required");
	if (!(cp->holdout_percent >= 0 && cp->holdout_percent <= 50))
		rpc_bad_field(c, "campaign.holdout_percent", "must be 0..50");
	if (cp->n_channel_order == 0)
		rpc_bad_field(c, "campaign.channel_order", "at least one channel "
		    "is required");
	check_channels(c, "campaign.channel_order", cp->channel_order,
	    cp->n_channel_order);
	if ((*cp->send_window_start == '\0') != (*cp->send_window_end == '\0'))
		rpc_bad_field(c, "campaign.send_window_end", "give both ends of "
		    "the window or neither");
	else if (*cp->send_window_start) {
		int s = parse_hhmm(cp->send_window_start),
		    e = parse_hhmm(cp->send_window_end);

		if (s < 0)
			rpc_bad_field(c, "campaign.send_window_start", "expected "
			    "\"HH:MM\"");
		if (e < 0)
			rpc_bad_field(c, "campaign.send_window_end", "expected "
			    "\"HH:MM\"");
		else if (s >= 0 && e <= s)
			rpc_bad_field(c, "campaign.send_window_end", "must be after "
			    "send_window_start");
	}
	if (cp->provider_rate_per_second < 0)
		rpc_bad_field(c, "campaign.provider_rate_per_second", "must not "
		    "be negative");
	if (from > 0 && to > 0 && to <= from)
		rpc_bad_field(c, "campaign.end_time", "must be after start_time");
	if (cp->reminders)
		check_reminders(c, cp->reminders);
	if (cp->attribution_days < 1 || cp->attribution_days > 365)
		rpc_bad_field(c, "campaign.attribution_days", "must be 1..365");
	if (cp->kind != REKINDLE__V1__CAMPAIGN_KIND__CAMPAIGN_KIND_ONE_SHOT &&
	    cp->kind != REKINDLE__V1__CAMPAIGN_KIND__CAMPAIGN_KIND_ALWAYS_ON)
		rpc_bad_field(c, "campaign.kind", "must be ONE_SHOT or ALWAYS_ON");
	if (cp->reentry_days < 0 || cp->reentry_days > 3650)
		rpc_bad_field(c, "campaign.reentry_days", "must be 0..3650");
	else if (cp->reentry_days > 0 &&
	    cp->kind != REKINDLE__V1__CAMPAIGN_KIND__CAMPAIGN_KIND_ALWAYS_ON)
		rpc_bad_field(c, "campaign.reentry_days", "applies to ALWAYS_ON "
		    "campaigns only");
	variants_check(c, cp);
}

/* Names the campaign uses must exist: offers, categories, partners. */
static rk_err
check_refs(rpc_call *c, const Rekindle__V1__Campaign *cp)
{
	arena *a = rpc_arena(c);
	const Rekindle__V1__AudienceRule *au = cp->audience;
	const char *p[5] = {db_text_array(a, (const char *const *)cp->offer_ids,
	    cp->n_offer_ids), *cp->fallback_offer_id ? cp->fallback_offer_id :
	    NULL, au ? db_text_array(a, (const char *const *)au->categories,
	    au->n_categories) : "{}", au ? db_text_array(a,
	    (const char *const *)au->partner_ids, au->n_partner_ids) : "{}",
	    variants_offers(a, cp)};
	db_res *r;
	rk_err rc;

	rc = db_execp(rpc_db(c), "campaign_refs", "SELECT "
	    "(SELECT array_agg(i - 1) FROM unnest($1::text[]) WITH ORDINALITY "
	    " u(id, i) WHERE NOT EXISTS (SELECT 1 FROM offers o WHERE "
	    " o.offer_id = u.id))::text, "
	    "$2::text IS NULL OR EXISTS (SELECT 1 FROM offers WHERE "
	    " offer_id = $2), "
	    "(SELECT array_agg(i - 1) FROM unnest($3::text[]) WITH ORDINALITY "
	    " u(id, i) WHERE NOT EXISTS (SELECT 1 FROM categories k WHERE "
	    " k.category = u.id))::text, "
	    "(SELECT array_agg(i - 1) FROM unnest($4::text[]) WITH ORDINALITY "
	    " u(id, i) WHERE NOT EXISTS (SELECT 1 FROM partners p WHERE "
	    " p.partner_id = u.id))::text, "
	    "(SELECT array_agg(i - 1) FROM unnest($5::text[]) WITH ORDINALITY "
	    " u(id, i) WHERE u.id <> '' AND NOT EXISTS (SELECT 1 FROM offers o "
	    " WHERE o.offer_id = u.id))::text", 5, p, &r);
	if (rc != RK_OK)
		return (rc);
	{
		static const char *const what[5] = {"campaign.offer_ids",
		    NULL, "campaign.audience.categories",
		    "campaign.audience.partner_ids", "campaign.variants"};
		static const char *const noun[5] = {"no such offer", NULL,
		    "no such category", "no such partner", "no such offer"};

		for (int k = 0; k < 5; k++) {
			size_t n = 0;
			char **idx;

			if (k == 1) {
				if (!db_res_bool(r, 0, 1))
					rpc_bad_field(c, "campaign.fallback_offer_id",
					    "no such offer");
				continue;
			}
			if (db_res_isnull(r, 0, k))
				continue;
			idx = db_array_split(a, db_res_str(r, 0, k), &n);
			for (size_t i = 0; i < n; i++)
				rpc_bad_field(c, arena_printf(a, "%s[%s]%s", what[k],
				    idx[i], k == 4 ? ".offer_id" : ""), "%s", noun[k]);
		}
	}
	db_res_free(r);
	return (rpc_fields_ok(c));
}

/* The Campaign in row of r (CAMPAIGN_COLS). */
static Rekindle__V1__Campaign *
campaign_view(arena *a, db_res *r, int row)
{
	Rekindle__V1__Campaign *cp;
	Rekindle__V1__AudienceRule *au;
	Rekindle__V1__ReminderPolicy *rp;
	size_t n;
	int k = 0, *v;

	cp = arena_alloc(a, sizeof(*cp));
	au = arena_alloc(a, sizeof(*au));
	rp = arena_alloc(a, sizeof(*rp));
	rekindle__v1__campaign__init(cp);
	rekindle__v1__audience_rule__init(au);
	rekindle__v1__reminder_policy__init(rp);
	cp->campaign_id = arena_strdup(a, db_res_str(r, row, k++));
	cp->name = arena_strdup(a, db_res_str(r, row, k++));
	cp->state = (Rekindle__V1__CampaignState)db_res_int64(r, row, k++);
	v = parse_ints(a, db_res_str(r, row, k++), &n);
	au->states = (Rekindle__V1__LifecycleState *)v;
	au->n_states = n;
	au->min_dormant_days = (int32_t)db_res_int64(r, row, k++);
	au->max_dormant_days = (int32_t)db_res_int64(r, row, k++);
	au->min_churn_risk = db_res_double(r, row, k++);
	au->max_churn_risk = db_res_double(r, row, k++);
	au->min_past_spend_minor = db_res_int64(r, row, k++);
	au->segments = db_array_split(a, db_res_str(r, row, k++), &au->n_segments);
	au->categories = db_array_split(a, db_res_str(r, row, k++),
	    &au->n_categories);
	au->partner_ids = db_array_split(a, db_res_str(r, row, k++),
	    &au->n_partner_ids);
	au->exclude_in_running_campaign = db_res_bool(r, row, k++);
	au->cooldown_days = (int32_t)db_res_int64(r, row, k++);
	cp->audience = au;
	cp->offer_ids = db_array_split(a, db_res_str(r, row, k++),
	    &cp->n_offer_ids);
	cp->fallback_offer_id = arena_strdup(a, db_res_str(r, row, k++));
	cp->holdout_percent = db_res_double(r, row, k++);
	v = parse_ints(a, db_res_str(r, row, k++), &n);
	cp->channel_order = (Rekindle__V1__Channel *)v;
	cp->n_channel_order = n;
	{
		int s = (int)db_res_int64(r, row, k++), e = (int)db_res_int64(r, 0,
		    k++);

		cp->send_window_start = s < 0 ? "" : arena_printf(a, "%02d:%02d",
		    s / 60, s % 60);
		cp->send_window_end = e < 0 ? "" : arena_printf(a, "%02d:%02d",
		    e / 60, e % 60);
	}
	cp->provider_rate_per_second = (int32_t)db_res_int64(r, row, k++);
	cp->start_time = pbtime_new(a, db_res_int64(r, row, k++));
	cp->end_time = pbtime_new(a, db_res_int64(r, row, k++));
	rp->delay_hours = (int32_t)db_res_int64(r, row, k++);
	rp->max_reminders = (int32_t)db_res_int64(r, row, k++);
	rp->interval_hours = (int32_t)db_res_int64(r, row, k++);
	v = parse_ints(a, db_res_str(r, row, k++), &n);
	rp->channels = (Rekindle__V1__Channel *)v;
	rp->n_channels = n;
	rp->escalate_to_ticket = db_res_bool(r, row, k++);
	rp->ticket_team_id = arena_strdup(a, db_res_str(r, row, k++));
	cp->reminders = rp;
	cp->attribution_days = (int32_t)db_res_int64(r, row, k++);
	cp->create_time = pbtime_new(a, db_res_int64(r, row, k++));
	cp->update_time = pbtime_new(a, db_res_int64(r, row, k++));
	cp->kind = (Rekindle__V1__CampaignKind)db_res_int64(r, row, k++);
	cp->reentry_days = (int32_t)db_res_int64(r, row, k++);
	cp->adaptive_split = db_res_bool(r, row, k++);
	au->include_unscored = db_res_bool(r, row, k++);
	au->min_p_alive = db_res_double(r, row, k++);
	au->max_p_alive = db_res_double(r, row, k++);
	return (cp);
}

/* The campaign's row as a Campaign (NOT_FOUND if none). */
static rk_err
load_campaign(rpc_call *c, const char *id, bool lock,
    Rekindle__V1__Campaign **out)
{
	const char *p[1] = {id};
	db_res *r;
	rk_err rc;

	rc = lock ? db_execp(rpc_db(c), "campaign_get_locked", "SELECT "
	    CAMPAIGN_COLS " FROM campaigns WHERE campaign_id = $1 FOR UPDATE", 1,
	    p, &r) : db_execp(rpc_db(c), "campaign_get", "SELECT " CAMPAIGN_COLS
	    " FROM campaigns WHERE campaign_id = $1", 1, p, &r);
	if (rc != RK_OK)
		return (rc);
	if (db_res_nrows(r) == 0) {
		db_res_free(r);
		return (rpc_error(c, RK_ENOTFOUND, "campaign not found"));
	}
	*out = campaign_view(rpc_arena(c), r, 0);
	db_res_free(r);
	return (variants_attach(c, out, 1));
}

/* Writes every definition column of cp (INSERT, or UPDATE of a draft). */
static rk_err
store_campaign(rpc_call *c, const Rekindle__V1__Campaign *cp, bool insert,
    bool *existed)
{
	static const Rekindle__V1__AudienceRule no_audience =
	    REKINDLE__V1__AUDIENCE_RULE__INIT;
	static const Rekindle__V1__ReminderPolicy no_reminders =
	    REKINDLE__V1__REMINDER_POLICY__INIT;
	const Rekindle__V1__AudienceRule *au = cp->audience ? cp->audience :
	    &no_audience;
	const Rekindle__V1__ReminderPolicy *rp = cp->reminders ? cp->reminders :
	    &no_reminders;
	arena *a = rpc_arena(c);
	const char *p[40];
	db_res *r;
	rk_err rc;
	int k = 0;

	p[k++] = cp->campaign_id;
	p[k++] = cp->name;
	p[k++] = int_array(a, (const int *)au->states, au->n_states);
	p[k++] = arena_printf(a, "%d", au->min_dormant_days);
	p[k++] = arena_printf(a, "%d", au->max_dormant_days);
	p[k++] = arena_printf(a, "%.17g", au->min_churn_risk);
	p[k++] = arena_printf(a, "%.17g", au->max_churn_risk);
	p[k++] = arena_printf(a, "%lld", (long long)au->min_past_spend_minor);
	p[k++] = db_text_array(a, (const char *const *)au->segments,
	    au->n_segments);
	p[k++] = db_text_array(a, (const char *const *)au->categories,
	    au->n_categories);
	p[k++] = db_text_array(a, (const char *const *)au->partner_ids,
	    au->n_partner_ids);
	p[k++] = au->exclude_in_running_campaign ? "true" : "false";
	p[k++] = arena_printf(a, "%d", au->cooldown_days);
	p[k++] = db_text_array(a, (const char *const *)cp->offer_ids,
	    cp->n_offer_ids);
	p[k++] = *cp->fallback_offer_id ? cp->fallback_offer_id : NULL;
	p[k++] = arena_printf(a, "%.17g", cp->holdout_percent);
	p[k++] = int_array(a, (const int *)cp->channel_order, cp->n_channel_order);
	p[k++] = *cp->send_window_start ? arena_printf(a, "%d",
	    parse_hhmm(cp->send_window_start)) : NULL;
	p[k++] = *cp->send_window_end ? arena_printf(a, "%d",
	    parse_hhmm(cp->send_window_end)) : NULL;
	p[k++] = arena_printf(a, "%d", cp->provider_rate_per_second);
	p[k++] = cp->start_time ? arena_printf(a, "%lld",
	    (long long)pbtime_us(cp->start_time)) : NULL;
	p[k++] = cp->end_time ? arena_printf(a, "%lld",
	    (long long)pbtime_us(cp->end_time)) : NULL;
	p[k++] = arena_printf(a, "%d", rp->delay_hours);
	p[k++] = arena_printf(a, "%d", rp->max_reminders);
	p[k++] = arena_printf(a, "%d", rp->interval_hours);
	p[k++] = int_array(a, (const int *)rp->channels, rp->n_channels);
	p[k++] = rp->escalate_to_ticket ? "true" : "false";
	p[k++] = *rp->ticket_team_id ? rp->ticket_team_id : NULL;
	p[k++] = arena_printf(a, "%d", cp->attribution_days);
	p[k++] = arena_printf(a, "%d", cp->kind);
	p[k++] = arena_printf(a, "%d", cp->reentry_days);
	p[k++] = cp->adaptive_split ? "true" : "false";
	p[k++] = au->include_unscored ? "true" : "false";
	p[k++] = arena_printf(a, "%.17g", au->min_p_alive);
	p[k++] = arena_printf(a, "%.17g", au->max_p_alive);
	if (insert)
		rc = db_execp(rpc_db(c), "campaign_insert", "INSERT INTO campaigns "
		    "(campaign_id, name, aud_states, aud_min_dormant_days, "
		    "aud_max_dormant_days, aud_min_churn_risk, aud_max_churn_risk, "
		    "aud_min_past_spend, aud_segments, aud_categories, "
		    "aud_partner_ids, aud_exclude_running, aud_cooldown_days, "
		    "offer_ids, fallback_offer_id, holdout_percent, channel_order, "
		    "window_start_min, window_end_min, provider_rate_per_second, "
		    "start_at, end_at, rem_delay_hours, rem_max, "
		    "rem_interval_hours, rem_channels, rem_escalate, "
		    "rem_ticket_team_id, attribution_days, kind, reentry_days, "
		    "adaptive_split, aud_include_unscored, aud_min_p_alive, "
		    "aud_max_p_alive) "
		    "VALUES ($1, $2, $3, $4, "
		    "$5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, "
		    "$18, $19, $20, " PBTIME_SQL(21) ", " PBTIME_SQL(22) ", $23, "
		    "$24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35) "
		    "ON CONFLICT (campaign_id) DO "
		    "NOTHING RETURNING 1", k, p, &r);
	else
		rc = db_execp(rpc_db(c), "campaign_update", "UPDATE campaigns SET "
		    "name = $2, aud_states = $3, aud_min_dormant_days = $4, "
		    "aud_max_dormant_days = $5, aud_min_churn_risk = $6, "
		    "aud_max_churn_risk = $7, aud_min_past_spend = $8, "
		    "aud_segments = $9, aud_categories = $10, aud_partner_ids = $11, "
		    "aud_exclude_running = $12, aud_cooldown_days = $13, "
		    "offer_ids = $14, fallback_offer_id = $15, "
		    "holdout_percent = $16, channel_order = $17, "
		    "window_start_min = $18, window_end_min = $19, "
		    "provider_rate_per_second = $20, start_at = " PBTIME_SQL(21)
		    ", end_at = " PBTIME_SQL(22) ", rem_delay_hours = $23, "
		    "rem_max = $24, rem_interval_hours = $25, rem_channels = $26, "
		    "rem_escalate = $27, rem_ticket_team_id = $28, "
		    "attribution_days = $29, kind = $30, reentry_days = $31, "
		    "adaptive_split = $32, aud_include_unscored = $33, "
		    "aud_min_p_alive = $34, aud_max_p_alive = $35, "
		    "updated_at = now() "
		    "WHERE campaign_id = $1 RETURNING 1", k, p, &r);
	if (rc != RK_OK)
		return (rc);
	*existed = db_res_nrows(r) == 0;
	db_res_free(r);
	return (*existed ? RK_OK : variants_store(c, cp));
}

/* The effect of CreateCampaign, inside its transaction. */
static rk_err
write_campaign(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	const Rekindle__V1__Campaign *cp =
	    ((const Rekindle__V1__CreateCampaignRequest *)req)->campaign;
	Rekindle__V1__Campaign *out;
	bool existed;
	rk_err rc;

	if ((rc = check_refs(c, cp)) != RK_OK ||
	    (rc = store_campaign(c, cp, true, &existed)) != RK_OK)
		return (rc);
	if (existed)
		return (rpc_error(c, RK_ECONFLICT, "campaign %s already exists",
		    cp->campaign_id));
	if ((rc = load_campaign(c, cp->campaign_id, false, &out)) != RK_OK)
		return (rc);
	*resp = &out->base;
	return (RK_OK);
}

/* Fills defaults a caller may leave unset. */
static Rekindle__V1__Campaign *
with_defaults(rpc_call *c, const Rekindle__V1__Campaign *in)
{
	Rekindle__V1__Campaign *cp = arena_alloc(rpc_arena(c), sizeof(*cp));

	*cp = *in;
	if (cp->attribution_days == 0)
		cp->attribution_days = 30;
	if (cp->kind == REKINDLE__V1__CAMPAIGN_KIND__CAMPAIGN_KIND_UNSPECIFIED)
		cp->kind = REKINDLE__V1__CAMPAIGN_KIND__CAMPAIGN_KIND_ONE_SHOT;
	return (cp);
}

static rk_err
create_campaign(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	const Rekindle__V1__CreateCampaignRequest *r = (const void *)req;
	Rekindle__V1__CreateCampaignRequest fixed;
	Rekindle__V1__Campaign *out;
	const char *why;
	rk_err rc;

	if (r->campaign == NULL)
		return (rpc_bad_field(c, "campaign", "is required"));
	if (r->request_id && *r->request_id &&
	    (why = validate_id(r->request_id)) != NULL)
		rpc_bad_field(c, "request_id", "%s", why);
	fixed = *r;
	fixed.campaign = with_defaults(c, r->campaign);
	check_campaign(c, fixed.campaign);
	if ((rc = rpc_fields_ok(c)) != RK_OK)
		return (rc);
	rc = idem_transaction(c, "CreateCampaign", r->request_id, &fixed.base,
	    &rekindle__v1__campaign__descriptor, write_campaign,
	    (ProtobufCMessage **)&out);
	if (rc != RK_OK)
		return (rc);
	log_info("CAMPAIGN-CREATE", "campaign %s created", out->campaign_id);
	*resp = &out->base;
	return (RK_OK);
}

static rk_err
get_campaign(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	const Rekindle__V1__GetCampaignRequest *r = (const void *)req;
	Rekindle__V1__Campaign *cp;
	const char *why;
	rk_err rc;

	if ((why = validate_id(r->campaign_id)) != NULL)
		return (rpc_bad_field(c, "campaign_id", "%s", why));
	if ((rc = load_campaign(c, r->campaign_id, false, &cp)) == RK_OK)
		*resp = &cp->base;
	return (rc);
}

static rk_err
list_campaigns(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	const Rekindle__V1__ListCampaignsRequest *r = (const void *)req;
	Rekindle__V1__ListCampaignsResponse *out;
	int size = r->page_size <= 0 || r->page_size > MAX_LIST ? MAX_LIST :
	    r->page_size;
	arena *a = rpc_arena(c);
	const char *p[3] = {arena_printf(a, "%d", size + 1), r->page_token &&
	    *r->page_token ? r->page_token : "", r->n_states ? int_array(a,
	    (const int *)r->states, r->n_states) : NULL};
	db_res *res;
	rk_err rc = RK_OK;
	int n;

	if (*p[1] && validate_id(p[1]) != NULL)
		return (rpc_bad_field(c, "page_token", "is not a token this "
		    "server issued"));
	for (size_t i = 0; i < r->n_states; i++)
		if ((int)r->states[i] < CAMPAIGN_DRAFT || (int)r->states[i] > CAMPAIGN_CANCELLED)
			return (rpc_bad_field(c, arena_printf(a, "states[%zu]", i),
			    "is not a campaign state"));
	if ((rc = db_execp(rpc_read_db(c), "campaign_list", "SELECT " CAMPAIGN_COLS
	    " FROM campaigns WHERE campaign_id > $2 AND ($3::smallint[] IS NULL "
	    "OR state = ANY($3::smallint[])) ORDER BY campaign_id LIMIT $1", 3, p,
	    &res)) != RK_OK)
		return (rc);
	n = db_res_nrows(res);
	out = arena_alloc(a, sizeof(*out));
	rekindle__v1__list_campaigns_response__init(out);
	out->n_campaigns = (size_t)(n > size ? size : n);
	out->campaigns = arena_alloc(a, sizeof(void *) * (out->n_campaigns + 1));
	for (size_t i = 0; i < out->n_campaigns; i++)
		out->campaigns[i] = campaign_view(a, res, (int)i);
	db_res_free(res);
	out->next_page_token = n > size ?
	    out->campaigns[out->n_campaigns - 1]->campaign_id : "";
	if ((rc = variants_attach(c, out->campaigns, out->n_campaigns)) != RK_OK)
		return (rc);
	*resp = &out->base;
	return (RK_OK);
}

/* Copies the masked fields of in onto cur. */
static void
merge(rpc_call *c, Rekindle__V1__Campaign *cur, const Rekindle__V1__Campaign *in,
    const Google__Protobuf__FieldMask *m)
{
	for (size_t i = 0; i < m->n_paths; i++) {
		const char *f = m->paths[i];

		if (strcmp(f, "name") == 0)
			cur->name = in->name;
		else if (strcmp(f, "audience") == 0)
			cur->audience = in->audience;
		else if (strcmp(f, "offer_ids") == 0) {
			cur->offer_ids = in->offer_ids;
			cur->n_offer_ids = in->n_offer_ids;
		} else if (strcmp(f, "fallback_offer_id") == 0)
			cur->fallback_offer_id = in->fallback_offer_id;
		else if (strcmp(f, "holdout_percent") == 0)
			cur->holdout_percent = in->holdout_percent;
		else if (strcmp(f, "channel_order") == 0) {
			cur->channel_order = in->channel_order;
			cur->n_channel_order = in->n_channel_order;
		} else if (strcmp(f, "send_window_start") == 0)
			cur->send_window_start = in->send_window_start;
		else if (strcmp(f, "send_window_end") == 0)
			cur->send_window_end = in->send_window_end;
		else if (strcmp(f, "provider_rate_per_second") == 0)
			cur->provider_rate_per_second = in->provider_rate_per_second;
		else if (strcmp(f, "start_time") == 0)
			cur->start_time = in->start_time;
		else if (strcmp(f, "end_time") == 0)
			cur->end_time = in->end_time;
		else if (strcmp(f, "reminders") == 0)
			cur->reminders = in->reminders;
		else if (strcmp(f, "attribution_days") == 0)
			cur->attribution_days = in->attribution_days;
		else if (strcmp(f, "kind") == 0)
			cur->kind = in->kind;
		else if (strcmp(f, "reentry_days") == 0)
			cur->reentry_days = in->reentry_days;
		else if (strcmp(f, "variants") == 0) {
			cur->variants = in->variants;
			cur->n_variants = in->n_variants;
		} else if (strcmp(f, "adaptive_split") == 0)
			cur->adaptive_split = in->adaptive_split;
		else
			rpc_bad_field(c, arena_printf(rpc_arena(c),
			    "update_mask.paths[%zu]", i), "cannot be changed");
	}
}

static rk_err
update_campaign(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	const Rekindle__V1__UpdateCampaignRequest *r = (const void *)req;
	Rekindle__V1__Campaign *cur, *out;
	const char *why;
	bool gone;
	rk_err rc;

	if (r->campaign == NULL || (why = validate_id(r->campaign->campaign_id)) !=
	    NULL)
		return (rpc_bad_field(c, "campaign.campaign_id", "%s",
		    r->campaign ? why : "is required"));
	if (r->update_mask == NULL || r->update_mask->n_paths == 0)
		return (rpc_bad_field(c, "update_mask", "is required: the fields "
		    "to change"));
	if ((rc = rpc_begin(c)) != RK_OK)
		return (rc);
	if ((rc = load_campaign(c, r->campaign->campaign_id, true, &cur)) !=
	    RK_OK)
		goto fail;
	merge(c, cur, r->campaign, r->update_mask);
	if ((rc = rpc_fields_ok(c)) != RK_OK)
		goto fail;
	if ((int)cur->state != CAMPAIGN_DRAFT) {
		rc = rpc_error(c, RK_EPRECOND, "only a draft campaign changes; "
		    "this one is past launch");
		goto fail;
	}
	check_campaign(c, cur);
	if ((rc = rpc_fields_ok(c)) != RK_OK ||
	    (rc = check_refs(c, cur)) != RK_OK ||
	    (rc = store_campaign(c, cur, false, &gone)) != RK_OK ||
	    (rc = load_campaign(c, cur->campaign_id, false, &out)) != RK_OK ||
	    (rc = db_commit(rpc_db(c))) != RK_OK)
		goto fail;
	log_info("CAMPAIGN-UPDATE", "campaign %s updated", out->campaign_id);
	*resp = &out->base;
	return (RK_OK);
fail:
	db_rollback(rpc_db(c));
	return (rc);
}

/*
 * What a move sets in motion, in its transaction: the campaign's work
 * stopped (cancel), held messages due again (resume).
 */
typedef rk_err (*after_move)(rpc_call *c, const char *id, const char *why);

static rk_err
after_cancel(rpc_call *c, const char *id, const char *why)
{
	struct campaign_cancelled n;
	rk_err rc;

	rc = campaign_cancel(rpc_db(c), rpc_arena(c), id, why,
	    arena_printf(rpc_arena(c), "token:%lld", (long long)rpc_token_id(c)),
	    &n);
	if (rc == RK_OK)
		log_info("CAMPAIGN-CANCELLED", "campaign %s: %lld queued messages "
		    "cancelled, %lld timers cancelled, %lld tickets closed", id,
		    (long long)n.messages, (long long)n.timers, (long long)n.tickets);
	return (rc);
}

static rk_err
after_resume(rpc_call *c, const char *id, const char *why)
{
	const char *p[1] = {id};
	int64_t due;
	rk_err rc;

	(void)why;
	/* not started yet: scheduled again, its start timer still pending */
	rc = db_execp(rpc_db(c), "campaign_resume_scheduled", "UPDATE campaigns "
	    "k SET state = " DB_NUM(CAMPAIGN_SCHEDULED) " FROM campaign_launches l "
	    "WHERE k.campaign_id = $1 AND l.campaign_id = k.campaign_id AND "
	    "l.state = 'scheduled'", 1, p, NULL);
	if (rc == RK_OK)
		rc = campaign_resume(rpc_db(c), id, &due);
	return (rc);
}

/*
 * Moves a campaign between states: from any state in from (a bit per
 * state) to the state to, with the caller's reason; then after, if any.
 */
static rk_err
transition(rpc_call *c, const ProtobufCMessage *req, ProtobufCMessage **resp,
    unsigned from, int to, const char *verb, after_move after)
{
	const Rekindle__V1__CampaignActionRequest *r = (const void *)req;
	const char *p[3], *why;
	Rekindle__V1__Campaign *cp;
	db_res *res;
	rk_err rc;

	if ((why = validate_id(r->campaign_id)) != NULL)
		return (rpc_bad_field(c, "campaign_id", "%s", why));
	if (r->reason && (why = validate_text(r->reason, 500)) != NULL)
		return (rpc_bad_field(c, "reason", "%s", why));
	p[0] = r->campaign_id;
	p[1] = arena_printf(rpc_arena(c), "%d", to);
	p[2] = r->reason && *r->reason ? r->reason : NULL;
	if ((rc = rpc_begin(c)) != RK_OK)
		return (rc);
	if (to == CAMPAIGN_CANCELLED &&
	    (rc = campaign_lock_timers(rpc_db(c), r->campaign_id)) != RK_OK)
		goto fail;
	if ((rc = load_campaign(c, r->campaign_id, true, &cp)) != RK_OK)
		goto fail;
	if ((int)cp->state != to && !(from & (1u << cp->state))) {
		rc = rpc_error(c, RK_EPRECOND, "cannot %s a campaign in state %d",
		    verb, (int)cp->state);
		goto fail;
	}
	if ((int)cp->state != to) {
		rc = db_execp(rpc_db(c), "campaign_transition", "UPDATE campaigns "
		    "SET state = $2, state_reason = $3, updated_at = now() "
		    "WHERE campaign_id = $1 RETURNING 1", 3, p, &res);
		if (rc != RK_OK)
			goto fail;
		db_res_free(res);
		if (after != NULL && (rc = after(c, r->campaign_id, p[2])) != RK_OK)
			goto fail;
		if ((rc = load_campaign(c, r->campaign_id, false, &cp)) != RK_OK)
			goto fail;
	}
	if ((rc = db_commit(rpc_db(c))) != RK_OK)
		goto fail;
	log_info("CAMPAIGN-STATE", "campaign %s: %s (state %d)", cp->campaign_id,
	    verb, (int)cp->state);
	*resp = &cp->base;
	return (RK_OK);
fail:
	db_rollback(rpc_db(c));
	return (rc);
}

#define BIT(s) (1u << (s))

static rk_err
pause_campaign(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	return (transition(c, req, resp, BIT(CAMPAIGN_SCHEDULED) |
	    BIT(CAMPAIGN_RUNNING), CAMPAIGN_PAUSED, "pause", NULL));
}

static rk_err
resume_campaign(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	rk_err rc;

	rc = transition(c, req, resp, BIT(CAMPAIGN_PAUSED), CAMPAIGN_RUNNING,
	    "resume", after_resume);
	/* the delivery pools take what was held at once, not at their next
	 * poll */
	for (int ch = CHANNEL_EMAIL; rc == RK_OK && ch <= CHANNEL_PUSH; ch++)
		wakeup(channel_queue(ch), 1);
	return (rc);
}

static rk_err
cancel_campaign(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	return (transition(c, req, resp, BIT(CAMPAIGN_DRAFT) |
	    BIT(CAMPAIGN_SCHEDULED) | BIT(CAMPAIGN_RUNNING) |
	    BIT(CAMPAIGN_PAUSED), CAMPAIGN_CANCELLED, "cancel", after_cancel));
}

/* The launch's Operation from its campaign_launches row: its tallies,
 * then each exclusion reason's count as excluded_<reason>. */
static rk_err
load_launch(rpc_call *c, const char *id, Rekindle__V1__Operation **out)
{
	static const char *const tally[5] = {"customers_considered",
	    "treatment", "control", "excluded", "messages_queued"};
	const char *p[1] = {id}, **keys;
	arena *a = rpc_arena(c);
	Rekindle__V1__Operation *op;
	int64_t *v;
	int n;
	db_res *r;
	rk_err rc;
	double secs;

	/* A launch whose job gave up is over, with the job's last error. */
	rc = db_execp(rpc_db(c), "launch_get", "SELECT l.id, CASE WHEN "
	    "j.state = 'discarded' THEN 'failed' ELSE l.state END, considered, "
	    "treatment, control, excluded, messages, coalesce(l.error, "
	    "j.last_error, ''), " PBTIME_US("started_at") ", "
	    PBTIME_US("updated_at") ", "
	    "extract(epoch from coalesce(l.finished_at, now()) - started_at), "
	    "x.key, x.value::int8 "
	    "FROM campaign_launches l LEFT JOIN jobs j ON j.id = l.job_id "
	    "LEFT JOIN LATERAL jsonb_each_text(l.exclusions) x ON true "
	    "WHERE l.id = $1 ORDER BY x.key", 1, p, &r);
	if (rc != RK_OK)
		return (rc);
	if ((n = db_res_nrows(r)) == 0) {
		db_res_free(r);
		return (rpc_error(c, RK_ENOTFOUND, "operation not found"));
	}
	/* one row per reason (one row, its key NULL, if none) */
	keys = arena_alloc(a, sizeof(*keys) * (size_t)(5 + n));
	v = arena_alloc(a, sizeof(*v) * (size_t)(5 + n));
	for (int i = 0; i < 5; i++) {
		keys[i] = tally[i];
		v[i] = db_res_int64(r, 0, 2 + i);
	}
	for (int i = 0; i < n && !db_res_isnull(r, i, 11); i++) {
		keys[5 + i] = arena_printf(a, "excluded_%s", db_res_str(r, i, 11));
		v[5 + i] = db_res_int64(r, i, 12);
	}
	op = operation_new(a, OP_PREFIX, db_res_str(r, 0, 0), keys, v, 5 +
	    (db_res_isnull(r, 0, 11) ? 0 : n));
	/* waiting for its start time or running: not done */
	op->done = strcmp(db_res_str(r, 0, 1), "running") != 0 &&
	    strcmp(db_res_str(r, 0, 1), "scheduled") != 0;
	op->percent_done = op->done ? 100 : 0;
	secs = db_res_double(r, 0, 10);
	op->rate = op->done && secs > 0 ? (double)db_res_int64(r, 0, 2) / secs :
	    0;
	/* An error is the launch's only when it did not succeed: a launch
	 * made on a later attempt keeps none of the error of the one retried
	 * (a lease that ran out, a connection cut). */
	op->error_message = arena_strdup(a, op->done && strcmp(db_res_str(r, 0,
	    1), "done") != 0 ? db_res_str(r, 0, 7) : "");
	op->create_time = pbtime_new(a, db_res_int64(r, 0, 8));
	op->update_time = pbtime_new(a, db_res_int64(r, 0, 9));
	db_res_free(r);
	*out = op;
	return (RK_OK);
}

static rk_err
launch_campaign(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	const Rekindle__V1__LaunchCampaignRequest *r = (const void *)req;
	const char *p[2] = {r->campaign_id, r->request_id && *r->request_id ?
	    r->request_id : NULL}, *why;
	Rekindle__V1__Operation *op;
	char id[24] = "";
	bool fresh = false, queued = false;
	int64_t launch_id;
	db_res *res;
	rk_err rc;
	int state;

	if ((why = validate_id(r->campaign_id)) != NULL)
		rpc_bad_field(c, "campaign_id", "%s", why);
	if (p[1] && (why = validate_id(p[1])) != NULL)
		rpc_bad_field(c, "request_id", "%s", why);
	if ((rc = rpc_fields_ok(c)) != RK_OK || (rc = rpc_begin(c)) != RK_OK)
		return (rc);
	rc = db_execp(rpc_db(c), "launch_find", "SELECT k.state, "
	    "coalesce(l.id::text, '') FROM campaigns k LEFT JOIN "
	    "campaign_launches l ON l.campaign_id = k.campaign_id "
	    "WHERE k.campaign_id = $1 FOR UPDATE OF k", 1, p, &res);
	if (rc != RK_OK)
		goto fail;
	if (db_res_nrows(res) == 0) {
		db_res_free(res);
		rc = rpc_error(c, RK_ENOTFOUND, "campaign not found");
		goto fail;
	}
	state = (int)db_res_int64(res, 0, 0);
	snprintf(id, sizeof(id), "%s", db_res_str(res, 0, 1));
	db_res_free(res);
	if (*id == '\0' && state != CAMPAIGN_DRAFT) {
		rc = rpc_error(c, RK_EPRECOND, "only a draft campaign launches");
		goto fail;
	}
	if (*id == '\0') {
		/* a message with no words would fail at delivery: said now */
		const char *gaps;

		if ((rc = campaign_template_gaps(rpc_db(c), rpc_arena(c),
		    r->campaign_id, NULL, &gaps)) != RK_OK)
			goto fail;
		if (gaps != NULL) {
			rc = rpc_error(c, RK_EPRECOND, "no message template: %s "
			    "- every such message would fail; add one to the "
			    "offer (or variant), or take the channel out of the "
			    "plan", gaps);
			goto fail;
		}
		/* now, or a start timer at its start time */
		rc = campaign_launch(rpc_db(c), rpc_arena(c), r->campaign_id, p[1],
		    &launch_id, &queued);
		if (rc != RK_OK)
			goto fail;
		snprintf(id, sizeof(id), "%lld", (long long)launch_id);
		fresh = true;
	}
	if ((rc = load_launch(c, id, &op)) != RK_OK ||
	    (rc = db_commit(rpc_db(c))) != RK_OK)
		goto fail;
	if (queued)
		wakeup("campaign", 1);
	if (fresh)
		log_info("CAMPAIGN-LAUNCH", "campaign %s: launch %s %s",
		    r->campaign_id, id, queued ? "queued" : "waits for its start");
	*resp = &op->base;
	return (RK_OK);
fail:
	db_rollback(rpc_db(c));
	return (rc);
}

static rk_err
get_operation(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	return (operation_get(c, req, resp, OP_PREFIX, load_launch));
}

/* The funnel so far: members by status, messages by state. */
const struct rpc_handler campaign_handlers[] = {
	{.path = "/rekindle.v1.CampaignService/CreateCampaign",
	    .unary = create_campaign},
	{.path = "/rekindle.v1.CampaignService/GetCampaign",
	    .unary = get_campaign},
	{.path = "/rekindle.v1.CampaignService/ListCampaigns",
	    .unary = list_campaigns},
	{.path = "/rekindle.v1.CampaignService/UpdateCampaign",
	    .unary = update_campaign},
	{.path = "/rekindle.v1.CampaignService/PauseCampaign",
	    .unary = pause_campaign},
	{.path = "/rekindle.v1.CampaignService/ResumeCampaign",
	    .unary = resume_campaign},
	{.path = "/rekindle.v1.CampaignService/CancelCampaign",
	    .unary = cancel_campaign},
	{.path = "/rekindle.v1.CampaignService/LaunchCampaign",
	    .unary = launch_campaign},
	{.path = "/rekindle.v1.CampaignService/GetOperation",
	    .unary = get_operation},
	{.path = NULL},
};
