/*
 * profile_view.h - a customer_profiles row as a rekindle.v1.Profile, for
 * GetCustomer, GetProfile and ListProfiles alike.
 */
#ifndef RK_PROFILE_VIEW_H
#define RK_PROFILE_VIEW_H

#include "arena.h"
#include "db.h"
#include "pbtime.h"
#include "rekindle/v1/profile.pb-c.h"

/*
 * The select list (table alias p), its columns named once: PV_<name> is a
 * column's place after the first (p.customer_id, PV_ID), which says
 * whether the row has a profile at all.
 */
#define PROFILE_VIEW_LIST(X)                                                  \
	X(FIRST_TXN, PBTIME_US("p.first_txn_at"))                             \
	X(LAST_TXN, PBTIME_US("p.last_txn_at"))                               \
	X(TXN_COUNT, "p.txn_count")                                           \
	X(TOTAL_SPEND, "p.total_spend_minor")                                 \
	X(CURRENCY, "p.currency")                                             \
	X(PROFILED_AT, PBTIME_US("p.profiled_at"))                            \
	X(COUNT_30D, "p.count_30d")                                           \
	X(SPEND_30D, "p.spend_30d")                                           \
	X(COUNT_90D, "p.count_90d")                                           \
	X(SPEND_90D, "p.spend_90d")                                           \
	X(COUNT_180D, "p.count_180d")                                         \
	X(SPEND_180D, "p.spend_180d")                                         \
	X(COUNT_365D, "p.count_365d")                                         \
	X(SPEND_365D, "p.spend_365d")                                         \
	X(MEDIAN_GAP, "p.median_gap_days")                                    \
	X(P90_GAP, "p.p90_gap_days")                                          \
	X(OVERDUE, "p.overdue_ratio")                                         \
	X(TOP_CATEGORIES, "p.top_categories::text")                           \
	X(TOP_PARTNERS, "p.top_partners::text")                               \
	X(WEEKEND_SHARE, "p.weekend_spend_share")                             \
	X(PEAK_HOUR, "p.peak_hour")                                           \
	X(PROMO_SHARE, "p.promo_spend_share")                                 \
	X(TREND, "p.spend_trend")                                             \
	X(STATE, "p.state")                                                   \
	X(STATE_SINCE, PBTIME_US("p.state_since"))                            \
	X(RECENCY, "p.recency_score")                                         \
	X(FREQUENCY, "p.frequency_score")                                     \
	X(MONETARY, "p.monetary_score")                                       \
	X(SEGMENT, "p.segment")                                               \
	X(P_ALIVE, "p.p_alive")                                               \
	X(EXPECTED_30D, "p.expected_30d")                                     \
	X(EXPECTED_90D, "p.expected_90d")                                     \
	X(CHURN_RISK, "p.churn_risk")                                         \
	X(REASONS, "array_to_json(p.churn_reasons)::text")                    \
	X(DAYS_SINCE_LAST, "p.days_since_last")                               \
	X(REASONS_VI, "array_to_json(p.churn_reasons_vi)::text")

enum {
	PV_ID,
#define PV_ENUM(name, expr) PV_##name,
	PROFILE_VIEW_LIST(PV_ENUM)
#undef PV_ENUM
	PROFILE_VIEW_NCOLS
};

#define PV_SQL(name, expr) ", " expr
#define PROFILE_VIEW_COLS "p.customer_id" PROFILE_VIEW_LIST(PV_SQL)

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
