/*
 * profile_view.h - a customer_profiles row as a rekindle.v1.Profile, for
 * GetCustomer, GetProfile and ListProfiles alike.
 */
#ifndef RK_PROFILE_VIEW_H
#define RK_PROFILE_VIEW_H

#include "arena.h"
#include "db.h"
#include "rekindle/v1/profile.pb-c.h"

/* The select list (table alias p); PROFILE_VIEW_NCOLS columns. */
#define PROFILE_VIEW_COLS                                                   \
	"p.customer_id, (extract(epoch from p.first_txn_at) * 1e6)::int8, "   \
	"(extract(epoch from p.last_txn_at) * 1e6)::int8, p.txn_count, "      \
	"p.total_spend_minor, p.currency, "                                   \
	"(extract(epoch from p.profiled_at) * 1e6)::int8, p.count_30d, "      \
	"p.spend_30d, p.count_90d, p.spend_90d, p.count_180d, p.spend_180d, " \
	"p.count_365d, p.spend_365d, p.median_gap_days, p.p90_gap_days, "     \
	"p.overdue_ratio, p.top_categories::text, p.top_partners::text, "     \
	"p.weekend_spend_share, p.peak_hour, p.promo_spend_share, "           \
	"p.spend_trend, p.state, "                                            \
	"(extract(epoch from p.state_since) * 1e6)::int8, p.recency_score, "  \
	"p.frequency_score, p.monetary_score, p.segment, p.p_alive, "         \
	"p.expected_30d, p.expected_90d, p.churn_risk, "                      \
	"array_to_json(p.churn_reasons)::text, p.days_since_last, "           \
	"array_to_json(p.churn_reasons_vi)::text"
#define PROFILE_VIEW_NCOLS 37

/*
 * The Profile in row of r whose columns start at col0, in a; NULL when
 * the row has no profile (p.customer_id NULL).
 */
Rekindle__V1__Profile *profile_view(arena *a, db_res *r, int row, int col0);

/*
 * Why the score named as its Profile field is absent, for a profile of
 * txn_count purchases (the text of Profile.not_scored).
 */
const char *profile_view_unscored(const char *score, int64_t txn_count);

/* The LifecycleState of a stored state name. */
Rekindle__V1__LifecycleState profile_view_state(const char *s);

#endif
