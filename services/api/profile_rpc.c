/*
 * profile_rpc.c - GetProfile, ListProfiles, RunProfiling, GetOperation.
 *
 * RunProfiling records the run and enqueues its fit job in one
 * transaction: a profiler fits the base-wide models on a sample, then
 * splits the customers into id ranges of profile_chunk customers, one job
 * each, which the pool profiles and scores. It returns the run as an
 * Operation; a repeated request_id returns the same run.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "config.h"
#include "jobq.h"
#include "log.h"
#include "operation.h"
#include "pbtime.h"
#include "profile_rpc.h"
#include "profile_view.h"
#include "rekindle/bus/v1/bus.pb-c.h"
#include "rekindle/v1/common.pb-c.h"
#include "rekindle/v1/profile.pb-c.h"
#include "segment.h"
#include "validate.h"
#include "wakeup.h"

#define OP_PREFIX "operations/profile-"

/* The profile of customer id (validated here) into *out. */
static rk_err
load_profile(rpc_call *c, const char *id, Rekindle__V1__Profile **out)
{
	const char *p[1] = {id}, *why;
	db_res *res;
	rk_err rc;

	if ((why = validate_id(id)) != NULL)
		return (rpc_bad_field(c, "customer_id", "%s", why));
	rc = db_execp(rpc_db(c), "profile_get", "SELECT " PROFILE_VIEW_COLS
	    " FROM customer_profiles p WHERE p.customer_id = $1", 1, p, &res);
	if (rc != RK_OK)
		return (rc);
	*out = db_res_nrows(res) ? profile_view(rpc_arena(c), res, 0, 0) : NULL;
	db_res_free(res);
	if (*out == NULL)
		return (rpc_error(c, RK_ENOTFOUND, "no profile for that customer"));
	return (RK_OK);
}

static rk_err
get_profile(rpc_call *c, const ProtobufCMessage *req, ProtobufCMessage **resp)
{
	const Rekindle__V1__GetProfileRequest *r = (const void *)req;
	Rekindle__V1__Profile *pr;
	rk_err rc;

	if ((rc = load_profile(c, r->customer_id, &pr)) == RK_OK)
		*resp = &pr->base;
	return (rc);
}

static const char *const state_names[] = {"", "new", "active", "at_risk",
    "dormant", "lost"};

static rk_err
list_profiles(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	const Rekindle__V1__ListProfilesRequest *r = (const void *)req;
	Rekindle__V1__ListProfilesResponse *out;
	int size = r->page_size <= 0 ? 100 : r->page_size > 1000 ? 1000 :
	    r->page_size;
	const char *states[8], *p[10], *why;
	char lim[16], minr[32], maxr[32], mind[16], maxd[16];
	arena *a = rpc_arena(c);
	size_t ns = 0;
	db_res *res;
	rk_err rc;
	int n;

	for (size_t i = 0; i < r->n_states && ns < 5; i++) {
		if (r->states[i] < 1 || r->states[i] > 5)
			return (rpc_bad_field(c, "states", "unknown state"));
		states[ns++] = state_names[r->states[i]];
	}
	for (size_t i = 0; i < r->n_segments; i++)
		if (!segment_known(r->segments[i]))
			return (rpc_bad_field(c, "segments", "\"%s\" is not a "
			    "segment (Champions, Loyal, ..., Lost)",
			    validate_text(r->segments[i], 40) ? "?" :
			    r->segments[i]));
	if (r->page_token && *r->page_token &&
	    (why = validate_id(r->page_token)) != NULL)
		return (rpc_bad_field(c, "page_token", "is not a token this "
		    "server issued"));
	/* written so that NaN fails too */
	if (!(r->min_churn_risk >= 0 && r->max_churn_risk >= 0 &&
	    r->min_churn_risk <= 1 && r->max_churn_risk <= 1))
		return (rpc_bad_field(c, "min_churn_risk", "risks are 0..1"));
	if (r->min_dormant_days < 0 || r->max_dormant_days < 0)
		return (rpc_bad_field(c, "min_dormant_days", "must be >= 0"));
	snprintf(lim, sizeof(lim), "%d", size + 1);
	snprintf(minr, sizeof(minr), "%.6f", r->min_churn_risk);
	snprintf(maxr, sizeof(maxr), "%.6f", r->max_churn_risk > 0 ?
	    r->max_churn_risk : 1.0);
	snprintf(mind, sizeof(mind), "%d", r->min_dormant_days);
	snprintf(maxd, sizeof(maxd), "%d", r->max_dormant_days > 0 ?
	    r->max_dormant_days : 1000000);
	p[0] = lim;
	p[1] = r->page_token && *r->page_token ? r->page_token : "";
	p[2] = ns ? db_text_array(a, states, ns) : NULL;
	p[3] = r->n_segments ? db_text_array(a, (const char *const *)r->segments,
	    r->n_segments) : NULL;
	p[4] = r->category && *r->category ? r->category : NULL;
	p[5] = r->partner_id && *r->partner_id ? r->partner_id : NULL;
	p[6] = minr;
	p[7] = maxr;
	p[8] = mind;
	p[9] = maxd;
	rc = db_execp(rpc_read_db(c), "profile_list", "SELECT " PROFILE_VIEW_COLS
	    " FROM customer_profiles p WHERE p.customer_id > $2 "
	    " AND ($3::text[] IS NULL OR p.state = ANY($3::text[])) "
	    " AND ($4::text[] IS NULL OR p.segment = ANY($4::text[])) "
	    " AND ($5::text IS NULL OR p.top_category = $5) "
	    " AND ($6::text IS NULL OR p.top_partner = $6) "
	    " AND ($7::float8 = 0 OR p.churn_risk >= $7::float8) "
	    " AND ($8::float8 = 1 OR p.churn_risk <= $8::float8) "
	    " AND (($9::int = 0 AND $10::int = 1000000) OR "
	    "  p.days_since_last BETWEEN $9::int AND $10::int) "
	    "ORDER BY p.customer_id LIMIT $1", 10, p, &res);
	if (rc != RK_OK)
		return (rc);
	n = db_res_nrows(res);
	out = arena_alloc(a, sizeof(*out));
	rekindle__v1__list_profiles_response__init(out);
	out->n_profiles = (size_t)(n > size ? size : n);
	out->profiles = arena_alloc(a, sizeof(void *) * (out->n_profiles + 1));
	for (size_t i = 0; i < out->n_profiles; i++)
		out->profiles[i] = profile_view(a, res, (int)i, 0);
	out->next_page_token = n > size ?
	    out->profiles[out->n_profiles - 1]->customer_id : "";
	db_res_free(res);
	*resp = &out->base;
	return (RK_OK);
}

/* The run's Operation from its profile_runs row. */
static rk_err
load_operation(rpc_call *c, const char *run_id, Rekindle__V1__Operation **out)
{
	const char *p[1] = {run_id};
	Rekindle__V1__Operation *op;
	arena *a = rpc_arena(c);
	double elapsed;
	db_res *r;
	rk_err rc;

	rc = db_execp(rpc_db(c), "profile_run_get",
	    "SELECT id, state, chunks_total, chunks_done, customers_total, "
	    " customers_done, coalesce(error, ''), "
	    PBTIME_US("started_at") ", " PBTIME_US("updated_at") ", "
	    " extract(epoch from coalesce(finished_at, now()) - started_at) "
	    "FROM profile_runs WHERE id = $1", 1, p, &r);
	if (rc != RK_OK)
		return (rc);
	if (db_res_nrows(r) == 0) {
		db_res_free(r);
		return (rpc_error(c, RK_ENOTFOUND, "operation not found"));
	}
	{
		static const char *const keys[4] = {"chunks_total", "chunks_done",
		    "customers_total", "customers_done"};
		int64_t v[4];

		for (int i = 0; i < 4; i++)
			v[i] = db_res_int64(r, 0, 2 + i);
		op = operation_new(a, OP_PREFIX, db_res_str(r, 0, 0), keys, v, 4);
	}
	op->done = strcmp(db_res_str(r, 0, 1), "done") == 0 ||
	    strcmp(db_res_str(r, 0, 1), "failed") == 0;
	{
		int64_t total = db_res_int64(r, 0, 2), done = db_res_int64(r, 0, 3);

		/* While the models are fitted there are no chunks yet. */
		op->percent_done = op->done ? 100.0 : total > 0 ?
		    100.0 * (double)done / (double)total : 0;
	}
	elapsed = db_res_double(r, 0, 9);
	op->rate = elapsed > 0 ? (double)db_res_int64(r, 0, 5) / elapsed : 0;
	op->error_message = arena_strdup(a, db_res_str(r, 0, 6));
	op->create_time = pbtime_new(a, db_res_int64(r, 0, 7));
	op->update_time = pbtime_new(a, db_res_int64(r, 0, 8));
	db_res_free(r);
	*out = op;
	return (RK_OK);
}

static rk_err
run_profiling(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	const Rekindle__V1__RunProfilingRequest *r = (const void *)req;
	Rekindle__Bus__V1__ProfileJob job = REKINDLE__BUS__V1__PROFILE_JOB__INIT;
	int64_t as_of = r->as_of ? pbtime_us(r->as_of) : clock_now_us();
	char sas_of[24], run[24];
	const char *p[2], *why;
	Rekindle__V1__Operation *op;
	db_conn *db = rpc_db(c);
	unsigned char *buf;
	size_t len;
	db_res *res;
	bool fresh;
	rk_err rc;

	if (r->request_id && *r->request_id &&
	    (why = validate_id(r->request_id)) != NULL)
		return (rpc_bad_field(c, "request_id", "%s", why));
	if (r->as_of && (why = validate_past_time(r->as_of->seconds,
	    (int64_t)time(NULL))) != NULL)
		return (rpc_bad_field(c, "as_of", "%s", why));
	snprintf(sas_of, sizeof(sas_of), "%lld", (long long)as_of);
	if ((rc = rpc_begin(c)) != RK_OK)
		return (rc);
	p[0] = r->request_id && *r->request_id ? r->request_id : NULL;
	p[1] = sas_of;
	rc = db_exec(db, "INSERT INTO profile_runs (request_id, as_of, state, "
	    "chunks_total, customers_total) VALUES ($1, " PBTIME_SQL(2) ", "
	    "'fitting', 0, (SELECT count(*) FROM customers)) "
	    "ON CONFLICT (request_id) DO NOTHING RETURNING id", 2, p, &res);
	if (rc != RK_OK)
		goto fail;
	fresh = db_res_nrows(res) == 1;
	if (!fresh) {
		/* A retry of request_id: the run it started (a new statement
		 * sees the row the conflict waited for). */
		db_res_free(res);
		rc = db_exec(db, "SELECT id FROM profile_runs WHERE "
		    "request_id = $1", 1, p, &res);
		if (rc != RK_OK)
			goto fail;
	}
	snprintf(run, sizeof(run), "%s", db_res_str(res, 0, 0));
	db_res_free(res);
	if (fresh) {
		job.run_id = atoll(run);
		job.as_of_us = as_of;
		job.fit = 1;
		job.chunk_customers = var_profile_chunk;
		len = rekindle__bus__v1__profile_job__get_packed_size(&job);
		buf = arena_alloc(rpc_msg_arena(c), len + 1);
		rekindle__bus__v1__profile_job__pack(&job, buf);
		rc = jobq_enqueue(db, "profile", buf, len, NULL);
	}
	if (rc == RK_OK)
		rc = db_commit(db);
	if (rc != RK_OK)
		goto fail;
	if (fresh) {
		wakeup("profile", 1);
		log_info("PROFILE-RUN", "run %s started", run);
	}
	if ((rc = load_operation(c, run, &op)) == RK_OK)
		*resp = &op->base;
	return (rc);
fail:
	db_rollback(db);
	return (rc);
}

static rk_err
get_operation(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	return (operation_get(c, req, resp, OP_PREFIX, load_operation));
}

/* One BTYD fit row as a ModelFit. */
static Rekindle__V1__ModelFit *
model_fit(arena *a, const char *model, json_t *params, double ll,
    int64_t customers)
{
	static const char *const keys[] = {"r", "alpha", "a", "b"};
	Rekindle__V1__ModelFit *f = arena_alloc(a, sizeof(*f));

	rekindle__v1__model_fit__init(f);
	f->model = arena_strdup(a, model);
	f->log_likelihood = ll;
	f->customers = (int32_t)customers;
	f->degenerate = arena_strdup(a, json_string_value(json_object_get(params,
	    "degenerate")) ? json_string_value(json_object_get(params,
	    "degenerate")) : "");
	f->n_parameters = 4;
	f->parameters = arena_alloc(a, sizeof(void *) * 4);
	for (int i = 0; i < 4; i++) {
		Rekindle__V1__ModelFit__ParametersEntry *e =
		    arena_alloc(a, sizeof(*e));

		rekindle__v1__model_fit__parameters_entry__init(e);
		e->key = (char *)keys[i];
		e->value = json_number_value(json_object_get(params, keys[i]));
		f->parameters[i] = e;
	}
	return (f);
}

static Google__Protobuf__DoubleValue *
json_dval(arena *a, const json_t *v)
{
	Google__Protobuf__DoubleValue *d;

	if (!json_is_number(v))
		return (NULL);
	d = arena_alloc(a, sizeof(*d));
	google__protobuf__double_value__init(d);
	d->value = json_number_value(v);
	return (d);
}

/* {"model": "mbgnbd"|"bgnbd"|"none", "reason", "informative",
 * "validation": {"auc_p_alive", "auc_expected_90d", "customers"}} */
static void
btyd_report(arena *a, const json_t *p, Rekindle__V1__ModelReport *out)
{
	const char *m = json_string_value(json_object_get(p, "model"));
	const char *why = json_string_value(json_object_get(p, "reason"));
	const json_t *v = json_object_get(p, "validation");

	out->btyd_model = m == NULL ? "" : strcmp(m, "mbgnbd") == 0 ?
	    "MBG/NBD" : strcmp(m, "bgnbd") == 0 ? "BG/NBD" : "none";
	out->btyd_reason = arena_strdup(a, why ? why : "");
	/* fits before issue 16 have no "informative": they were used */
	out->p_alive_informative = json_object_get(p, "informative") ?
	    json_is_true(json_object_get(p, "informative")) :
	    strcmp(out->btyd_model, "none") != 0;
	out->p_alive_auc = json_dval(a, json_object_get(v, "auc_p_alive"));
	out->expected_purchases_auc = json_dval(a, json_object_get(v,
	    "auc_expected_90d"));
	if (out->validation_customers == 0)
		out->validation_customers = (int32_t)json_integer_value(
		    json_object_get(v, "customers"));
}

static Rekindle__V1__CalibrationBin **
bins(arena *a, const json_t *cal, size_t *n)
{
	Rekindle__V1__CalibrationBin **out = arena_alloc(a, sizeof(void *) *
	    (json_array_size(cal) + 1));
	const json_t *bin;
	size_t k;

	*n = 0;
	json_array_foreach(cal, k, bin) {
		Rekindle__V1__CalibrationBin *b = arena_alloc(a, sizeof(*b));

		rekindle__v1__calibration_bin__init(b);
		b->predicted = json_number_value(json_object_get(bin,
		    "predicted"));
		b->observed = json_number_value(json_object_get(bin, "observed"));
		b->count = json_integer_value(json_object_get(bin, "count"));
		out[(*n)++] = b;
	}
	return (out);
}

static void
churn_report(arena *a, const json_t *p, int64_t fitted_us,
    Rekindle__V1__ModelReport *out)
{
	const char *kept = json_string_value(json_object_get(p, "kept"));
	const char *name = json_string_value(json_object_get(p, "kept_name"));
	const char *method = json_string_value(json_object_get(p,
	    "calibration_method"));
	const char *why = json_string_value(json_object_get(p,
	    "calibration_why"));

	out->churn_model = arena_printf(a, "%s; AUC on the later period: "
	    "logistic %.3f, trees %.3f (%lld rounds)", name ? name : "?",
	    json_number_value(json_object_get(p, "auc_lr")),
	    json_number_value(json_object_get(p, "auc_gbt")),
	    (long long)json_integer_value(json_object_get(p, "gbt_rounds")));
	out->churn_auc = json_number_value(json_object_get(p, kept &&
	    strcmp(kept, "lr") == 0 ? "auc_lr" : "auc_gbt"));
	out->trained_time = pbtime_new(a, fitted_us);
	out->calibration = bins(a, json_object_get(p, "calibration"),
	    &out->n_calibration);
	out->calibration_before = bins(a, json_object_get(p,
	    "calibration_before"), &out->n_calibration_before);
	out->calibration_method = arena_strdup(a, method ? method : "none");
	out->calibration_reason = arena_strdup(a, why ? why : "");
	out->brier_before = json_number_value(json_object_get(p,
	    "brier_before"));
	out->brier_after = json_number_value(json_object_get(p, "brier_after"));
	out->calibrated_auc = json_number_value(json_object_get(p,
	    "auc_calibrated"));
	out->validation_customers = (int32_t)json_integer_value(
	    json_object_get(p, "validation_rows"));
}

static rk_err
get_model_report(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	Rekindle__V1__ModelReport *out;
	arena *a = rpc_arena(c);
	db_res *r;
	rk_err rc;

	(void)req;
	rc = db_execp(rpc_db(c), "model_report",
	    "SELECT DISTINCT ON (model) model, params::text, "
	    " coalesce(log_likelihood, 0), coalesce(customers, 0), "
	    PBTIME_US("fitted_at") " FROM model_fits "
	    "WHERE model IN ('bgnbd', 'mbgnbd', 'btyd', 'churn') "
	    "ORDER BY model, fitted_at DESC, id DESC", 0, NULL, &r);
	if (rc != RK_OK)
		return (rc);
	out = arena_alloc(a, sizeof(*out));
	rekindle__v1__model_report__init(out);
	out->fits = arena_alloc(a, sizeof(void *) * 4);
	out->churn_model = "";
	for (int i = 0; i < db_res_nrows(r); i++) {
		const char *model = db_res_str(r, i, 0);
		json_t *params = json_loads(db_res_str(r, i, 1), 0, NULL);

		if (strcmp(model, "bgnbd") == 0 || strcmp(model, "mbgnbd") == 0) {
			out->fits[out->n_fits++] = model_fit(a, strcmp(model,
			    "bgnbd") == 0 ? "BG/NBD" : "MBG/NBD", params,
			    db_res_double(r, i, 2), db_res_int64(r, i, 3));
		} else if (strcmp(model, "btyd") == 0) {
			btyd_report(a, params, out);
		} else {
			churn_report(a, params, db_res_int64(r, i, 4), out);
		}
		json_decref(params);
	}
	db_res_free(r);
	*resp = &out->base;
	return (RK_OK);
}

static rk_err
explain_churn_risk(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	const Rekindle__V1__ExplainChurnRiskRequest *r = (const void *)req;
	Rekindle__V1__ChurnExplanation *out;
	Rekindle__V1__Profile *pr;
	rk_err rc;

	if ((rc = load_profile(c, r->customer_id, &pr)) != RK_OK)
		return (rc);
	out = arena_alloc(rpc_arena(c), sizeof(*out));
	rekindle__v1__churn_explanation__init(out);
	out->customer_id = pr->customer_id;
	out->churn_risk = pr->churn_risk;
	if (pr->churn_risk == NULL)
		out->not_scored_reason = (char *)profile_view_unscored(
		    "churn_risk", pr->transaction_count);
	out->n_reasons = pr->n_churn_reasons;
	out->reasons = pr->churn_reasons;
	out->n_reasons_vi = pr->n_churn_reasons_vi;
	out->reasons_vi = pr->churn_reasons_vi;
	*resp = &out->base;
	return (RK_OK);
}

const struct rpc_handler profile_handlers[] = {
	{.path = "/rekindle.v1.ProfileService/GetModelReport",
	    .unary = get_model_report},
	{.path = "/rekindle.v1.ProfileService/ExplainChurnRisk",
	    .unary = explain_churn_risk},
	{.path = "/rekindle.v1.ProfileService/GetProfile",
	    .unary = get_profile},
	{.path = "/rekindle.v1.ProfileService/ListProfiles",
	    .unary = list_profiles},
	{.path = "/rekindle.v1.ProfileService/RunProfiling",
	    .unary = run_profiling},
	{.path = "/rekindle.v1.ProfileService/GetOperation",
	    .unary = get_operation},
	{.path = NULL},
};
