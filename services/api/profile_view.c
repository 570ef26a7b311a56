/*
 * profile_view.c - customer_profiles rows to protobuf.
 */
#include <jansson.h>
#include <string.h>

#include "pbtime.h"
#include "profile_view.h"

Rekindle__V1__LifecycleState
profile_view_state(const char *s)
{
	static const char *const names[] = {"", "new", "active", "at_risk",
	    "dormant", "lost"};

	for (int i = 1; s != NULL && i <= 5; i++)
		if (strcmp(s, names[i]) == 0)
			return ((Rekindle__V1__LifecycleState)i);
	return (REKINDLE__V1__LIFECYCLE_STATE__LIFECYCLE_STATE_UNSPECIFIED);
}

static char *
str(arena *a, db_res *r, int row, int col)
{
	const char *v = db_res_str(r, row, col);

	return (arena_strdup(a, v ? v : ""));
}

/* [{"key":..,"spend_share":..,"count_share":..}] to Affinity messages. */
static void
affinities(arena *a, const char *json, Rekindle__V1__Affinity ***out,
    size_t *n)
{
	json_t *arr = json ? json_loads(json, 0, NULL) : NULL;
	size_t i;
	json_t *v;

	*n = 0;
	*out = NULL;
	if (!json_is_array(arr)) {
		json_decref(arr);
		return;
	}
	*out = arena_alloc(a, sizeof(void *) * (json_array_size(arr) + 1));
	json_array_foreach(arr, i, v) {
		Rekindle__V1__Affinity *af = arena_alloc(a, sizeof(*af));

		rekindle__v1__affinity__init(af);
		af->key = arena_strdup(a, json_string_value(json_object_get(v,
		    "key")) ? json_string_value(json_object_get(v, "key")) : "");
		af->spend_share = json_number_value(json_object_get(v,
		    "spend_share"));
		af->count_share = json_number_value(json_object_get(v,
		    "count_share"));
		(*out)[(*n)++] = af;
	}
	json_decref(arr);
}

static void
reasons(arena *a, const char *json, char ***out, size_t *n)
{
	json_t *arr = json ? json_loads(json, 0, NULL) : NULL;
	size_t i;
	json_t *v;

	*n = 0;
	*out = NULL;
	if (!json_is_array(arr)) {
		json_decref(arr);
		return;
	}
	*out = arena_alloc(a, sizeof(char *) * (json_array_size(arr) + 1));
	json_array_foreach(arr, i, v)
		if (json_is_string(v))
			(*out)[(*n)++] = arena_strdup(a, json_string_value(v));
	json_decref(arr);
}

/* A nullable float8 column as a DoubleValue (absent: NULL). */
static Google__Protobuf__DoubleValue *
dval(arena *a, db_res *r, int row, int col)
{
	Google__Protobuf__DoubleValue *v;

	if (db_res_isnull(r, row, col))
		return (NULL);
	v = arena_alloc(a, sizeof(*v));
	google__protobuf__double_value__init(v);
	v->value = db_res_double(r, row, col);
	return (v);
}

static Google__Protobuf__Int32Value *
ival(arena *a, db_res *r, int row, int col)
{
	Google__Protobuf__Int32Value *v;

	if (db_res_isnull(r, row, col))
		return (NULL);
	v = arena_alloc(a, sizeof(*v));
	google__protobuf__int32_value__init(v);
	v->value = (int32_t)db_res_int64(r, row, col);
	return (v);
}

/* Why a score is absent, from what the profile has. */
const char *
profile_view_unscored(const char *score, int64_t txn_count)
{
	if (txn_count == 0)
		return ("no purchase before the profile time");
	if (strcmp(score, "churn_risk") == 0)
		return ("no churn model yet: too little history to train one");
	if (strcmp(score, "p_alive") == 0)
		return ("P(alive) carries no information on this data: the BTYD "
		    "fit is degenerate or ranks no better than chance (see the "
		    "model report)");
	if (strncmp(score, "expected_", 9) == 0)
		return ("no usable BTYD fit: every fit is degenerate or none "
		    "yet (see the model report)");
	return ("no RFM fit yet: profiling has not completed a full run");
}

/* Records, for each absent score, why. */
static void
note_unscored(arena *a, Rekindle__V1__Profile *p)
{
	static const char *const names[] = {"recency_score",
	    "frequency_score", "monetary_score", "days_since_last_transaction",
	    "p_alive", "expected_purchases_30d", "expected_purchases_90d",
	    "churn_risk"};
	const void *have[] = {p->recency_score, p->frequency_score,
	    p->monetary_score, p->days_since_last_transaction, p->p_alive,
	    p->expected_purchases_30d, p->expected_purchases_90d,
	    p->churn_risk};
	size_t n = sizeof(names) / sizeof(names[0]);

	p->not_scored = arena_alloc(a, sizeof(void *) * n);
	for (size_t i = 0; i < n; i++) {
		Rekindle__V1__Profile__NotScoredEntry *e;

		if (have[i] != NULL)
			continue;
		e = arena_alloc(a, sizeof(*e));
		rekindle__v1__profile__not_scored_entry__init(e);
		e->key = (char *)names[i];
		e->value = (char *)profile_view_unscored(names[i],
		    p->transaction_count);
		p->not_scored[p->n_not_scored++] = e;
	}
}

Rekindle__V1__Profile *
profile_view(arena *a, db_res *r, int row, int c)
{
	static const struct {
		int days, count, spend;
	} windows[] = {
		{30, PV_COUNT_30D, PV_SPEND_30D},
		{90, PV_COUNT_90D, PV_SPEND_90D},
		{180, PV_COUNT_180D, PV_SPEND_180D},
		{365, PV_COUNT_365D, PV_SPEND_365D},
	};
	const size_t nwin = sizeof(windows) / sizeof(windows[0]);
	Rekindle__V1__Profile *p;

	if (db_res_isnull(r, row, c + PV_ID))
		return (NULL);
	p = arena_alloc(a, sizeof(*p));
	rekindle__v1__profile__init(p);
	p->customer_id = str(a, r, row, c + PV_ID);
	p->first_transaction_time = pbtime_new(a, db_res_int64(r, row,
	    c + PV_FIRST_TXN));
	p->last_transaction_time = pbtime_new(a, db_res_int64(r, row,
	    c + PV_LAST_TXN));
	p->transaction_count = db_res_int64(r, row, c + PV_TXN_COUNT);
	p->total_spend_minor = db_res_int64(r, row, c + PV_TOTAL_SPEND);
	p->currency = str(a, r, row, c + PV_CURRENCY);
	p->profile_time = pbtime_new(a, db_res_int64(r, row, c + PV_PROFILED_AT));
	if (!db_res_isnull(r, row, c + PV_COUNT_30D)) {
		p->n_windows = nwin;
		p->windows = arena_alloc(a, sizeof(void *) * nwin);
		for (size_t i = 0; i < nwin; i++) {
			Rekindle__V1__WindowStats *w = arena_alloc(a, sizeof(*w));

			rekindle__v1__window_stats__init(w);
			w->days = windows[i].days;
			w->count = db_res_int64(r, row, c + windows[i].count);
			w->spend_minor = db_res_int64(r, row, c + windows[i].spend);
			p->windows[i] = w;
		}
	}
	p->median_gap_days = db_res_double(r, row, c + PV_MEDIAN_GAP);
	p->p90_gap_days = db_res_double(r, row, c + PV_P90_GAP);
	p->overdue_ratio = db_res_double(r, row, c + PV_OVERDUE);
	affinities(a, db_res_str(r, row, c + PV_TOP_CATEGORIES),
	    &p->top_categories, &p->n_top_categories);
	affinities(a, db_res_str(r, row, c + PV_TOP_PARTNERS),
	    &p->top_partners, &p->n_top_partners);
	p->weekend_spend_share = db_res_double(r, row, c + PV_WEEKEND_SHARE);
	p->peak_hour = (int32_t)db_res_int64(r, row, c + PV_PEAK_HOUR);
	p->promo_spend_share = db_res_double(r, row, c + PV_PROMO_SHARE);
	p->spend_trend = db_res_double(r, row, c + PV_TREND);
	p->state = profile_view_state(db_res_str(r, row, c + PV_STATE));
	p->state_since = pbtime_new(a, db_res_int64(r, row, c + PV_STATE_SINCE));
	p->recency_score = ival(a, r, row, c + PV_RECENCY);
	p->frequency_score = ival(a, r, row, c + PV_FREQUENCY);
	p->monetary_score = ival(a, r, row, c + PV_MONETARY);
	p->segment = str(a, r, row, c + PV_SEGMENT);
	p->p_alive = dval(a, r, row, c + PV_P_ALIVE);
	p->expected_purchases_30d = dval(a, r, row, c + PV_EXPECTED_30D);
	p->expected_purchases_90d = dval(a, r, row, c + PV_EXPECTED_90D);
	p->churn_risk = dval(a, r, row, c + PV_CHURN_RISK);
	reasons(a, db_res_str(r, row, c + PV_REASONS), &p->churn_reasons,
	    &p->n_churn_reasons);
	p->days_since_last_transaction = ival(a, r, row, c + PV_DAYS_SINCE_LAST);
	reasons(a, db_res_str(r, row, c + PV_REASONS_VI), &p->churn_reasons_vi,
	    &p->n_churn_reasons_vi);
	note_unscored(a, p);
	return (p);
}
