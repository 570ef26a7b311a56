/*
 * finalize.c - RFM cut-offs, BTYD fits and base-wide scores.
 *
 * Which BTYD model: both have four parameters, so their log-likelihoods on
 * the same sample compare directly (equal AIC penalty). BG/NBD cannot let
 * a customer die without a repeat purchase (P(alive) = 1 at x = 0), which
 * a card used once and then forgotten contradicts; MBG/NBD allows it. So
 * MBG/NBD is used unless BG/NBD fits clearly better (by more than
 * BTYD_PREFER_BG log-likelihood units, an AIC difference of 4). The
 * choice and its reason are stored with the fit.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "btyd.h"
#include "clock.h"
#include "churn.h"
#include "copybin.h"
#include "finalize.h"
#include "log.h"
#include "mem.h"

/* Log-likelihood units by which BG/NBD must beat MBG/NBD to be used. */
#define BTYD_PREFER_BG 2.0
/* Churn reasons are given from this risk up. */
#define REASON_MIN_RISK 0.2

static rk_err
fit_rfm(db_conn *db, int64_t run_id, const char *as_of, const char **why)
{
	double r[4], f[4], m[4];
	char params[512], rid[24];
	const char *p[3];
	db_res *res;
	rk_err rc;

	rc = db_exec(db, "SELECT "
	    "percentile_cont(ARRAY[0.2,0.4,0.6,0.8]) WITHIN GROUP "
	    " (ORDER BY days_since_last), "
	    "percentile_cont(ARRAY[0.2,0.4,0.6,0.8]) WITHIN GROUP "
	    " (ORDER BY count_365d), "
	    "percentile_cont(ARRAY[0.2,0.4,0.6,0.8]) WITHIN GROUP "
	    " (ORDER BY spend_365d) "
	    "FROM customer_profiles WHERE txn_count > 0", 0, NULL, &res);
	if (rc != RK_OK) {
		*why = "RFM quintiles";
		return (rc);
	}
	if (db_parse_float_array(db_res_str(res, 0, 0), r, 4) != 4 ||
	    db_parse_float_array(db_res_str(res, 0, 1), f, 4) != 4 ||
	    db_parse_float_array(db_res_str(res, 0, 2), m, 4) != 4) {
		db_res_free(res);
		return (RK_OK);		/* no customers yet */
	}
	db_res_free(res);
	snprintf(params, sizeof(params), "{\"r\":[%g,%g,%g,%g],"
	    "\"f\":[%g,%g,%g,%g],\"m\":[%g,%g,%g,%g]}", r[0], r[1], r[2], r[3],
	    f[0], f[1], f[2], f[3], m[0], m[1], m[2], m[3]);
	snprintf(rid, sizeof(rid), "%lld", (long long)run_id);
	p[0] = params;
	p[1] = as_of;
	p[2] = rid;
	rc = db_exec(db, "INSERT INTO model_fits (model, params, as_of, run_id) "
	    "VALUES ('rfm', $1, $2, $3)", 3, p, NULL);
	if (rc != RK_OK)
		*why = "storing RFM cut-offs";
	return (rc);
}

static rk_err
store_fit(db_conn *db, const char *model, const char *params, double ll,
    size_t n, const char *as_of, const char *rid)
{
	char sll[32], sn[24];
	const char *p[6] = {model, params, sll, sn, as_of, rid};

	snprintf(sll, sizeof(sll), "%.6f", ll);
	snprintf(sn, sizeof(sn), "%zu", n);
	return (db_exec(db, "INSERT INTO model_fits (model, params, "
	    "log_likelihood, customers, as_of, run_id) VALUES ($1, $2, $3, $4, "
	    "$5, $6)", 6, p, NULL));
}

static rk_err
fit_btyd(db_conn *db, int64_t run_id, const char *as_of, const char **why)
{
	struct btyd_customer *c;
	struct btyd_params fit[2];
	char params[512], rid[24], limit[24];
	const char *p[1] = {limit};
	bool ok[2];
	size_t n;
	db_res *res;
	rk_err rc;
	int best;

	snprintf(limit, sizeof(limit), "%d", FINALIZE_FIT_SAMPLE);
	snprintf(rid, sizeof(rid), "%lld", (long long)run_id);
	rc = db_exec(db, "SELECT btyd_x, btyd_t_x, btyd_T FROM "
	    "customer_profiles WHERE txn_count > 0 AND btyd_T > 0 "
	    "ORDER BY random() LIMIT $1", 1, p, &res);
	if (rc != RK_OK) {
		*why = "BTYD sample";
		return (rc);
	}
	n = (size_t)db_res_nrows(res);
	c = xcalloc(n + 1, sizeof(*c));
	for (size_t i = 0; i < n; i++)
		c[i] = (struct btyd_customer){db_res_double(res, (int)i, 0),
		    db_res_double(res, (int)i, 1), db_res_double(res, (int)i, 2),
		    1};
	db_res_free(res);
	for (int m = 0; m < 2; m++) {
		rk_err frc = btyd_fit((enum btyd_model)m, c, n, &fit[m]);

		ok[m] = frc == RK_OK || frc == RK_ERETRY;
		if (!ok[m])
			continue;
		snprintf(params, sizeof(params), "{\"r\":%.8g,\"alpha\":%.8g,"
		    "\"a\":%.8g,\"b\":%.8g,\"time_unit\":\"day\","
		    "\"converged\":%s}", fit[m].r, fit[m].alpha, fit[m].a,
		    fit[m].b, frc == RK_OK ? "true" : "false");
		if ((rc = store_fit(db, m == 0 ? "bgnbd" : "mbgnbd", params,
		    fit[m].log_likelihood, n, as_of, rid)) != RK_OK) {
			free(c);
			*why = "storing a BTYD fit";
			return (rc);
		}
	}
	free(c);
	if (!ok[0] && !ok[1])
		return (RK_OK);		/* nothing repeats yet: no model */
	best = !ok[0] ? 1 : !ok[1] ? 0 :
	    fit[0].log_likelihood > fit[1].log_likelihood + BTYD_PREFER_BG ? 0 :
	    1;
	snprintf(params, sizeof(params), "{\"model\":\"%s\",\"r\":%.8g,"
	    "\"alpha\":%.8g,\"a\":%.8g,\"b\":%.8g,\"reason\":\"%s on %zu "
	    "customers: BG/NBD LL %.1f, MBG/NBD LL %.1f\"}",
	    best ? "mbgnbd" : "bgnbd", fit[best].r, fit[best].alpha, fit[best].a,
	    fit[best].b, best ? "MBG/NBD lets one-time buyers lapse and BG/NBD "
	    "does not fit clearly better" : "BG/NBD fits clearly better", n,
	    ok[0] ? fit[0].log_likelihood : 0.0,
	    ok[1] ? fit[1].log_likelihood : 0.0);
	rc = store_fit(db, "btyd", params, fit[best].log_likelihood, n, as_of,
	    rid);
	if (rc != RK_OK)
		*why = "storing the BTYD choice";
	else
		log_info("BTYD-FIT", "run %lld: %s chosen (%s LL %.1f, %s LL "
		    "%.1f, %zu customers)", (long long)run_id,
		    btyd_name((enum btyd_model)best), btyd_name(BTYD_BGNBD),
		    fit[0].log_likelihood, btyd_name(BTYD_MBGNBD),
		    fit[1].log_likelihood, n);
	return (rc);
}

/* Up to FINALIZE_CHURN_SAMPLE samples of one cut-off of the run. */
static rk_err
load_samples(db_conn *db, const char *rid, int cutoff,
    struct churn_row **rows, int **y, int *n)
{
	char cut[8], lim[16];
	const char *p[3] = {rid, cut, lim};
	db_res *res;
	rk_err rc;

	snprintf(cut, sizeof(cut), "%d", cutoff);
	snprintf(lim, sizeof(lim), "%d", FINALIZE_CHURN_SAMPLE);
	rc = db_exec(db, "SELECT x::text, churned, days_since, median_gap, "
	    "overdue, trend, count90, count365 FROM churn_samples "
	    "WHERE run_id = $1 AND cutoff = $2 ORDER BY random() LIMIT $3", 3,
	    p, &res);
	if (rc != RK_OK)
		return (rc);
	*n = db_res_nrows(res);
	*rows = xcalloc((size_t)*n + 1, sizeof(**rows));
	*y = xcalloc((size_t)*n + 1, sizeof(**y));
	for (int i = 0; i < *n; i++) {
		struct churn_row *r = &(*rows)[i];
		double x[CHURN_NFEAT] = {0};

		(void)db_parse_float_array(db_res_str(res, i, 0), x, CHURN_NFEAT);
		for (int j = 0; j < CHURN_NFEAT; j++)
			r->x[j] = (float)x[j];
		(*y)[i] = db_res_bool(res, i, 1);
		r->days_since = (int)db_res_int64(res, i, 2);
		r->median_gap = db_res_double(res, i, 3);
		r->overdue = db_res_double(res, i, 4);
		r->trend = db_res_double(res, i, 5);
		r->count90 = db_res_int64(res, i, 6);
		r->count365 = db_res_int64(res, i, 7);
	}
	db_res_free(res);
	return (RK_OK);
}

/*
 * Trains both churn models on the earlier cut-off, measures AUC on the
 * later one, keeps the better, and stores it with a calibration table.
 */
static rk_err
fit_churn(db_conn *db, int64_t run_id, const char *as_of, const char **why)
{
	struct churn_row *train = NULL, *val = NULL;
	int *ytrain = NULL, *yval = NULL, ntrain = 0, nval = 0, kept = -1;
	churn_model *m[2] = {NULL, NULL};
	double auc[2] = {NAN, NAN}, *score = NULL;
	char rid[24];
	rk_err rc;

	snprintf(rid, sizeof(rid), "%lld", (long long)run_id);
	if ((rc = load_samples(db, rid, 1, &train, &ytrain, &ntrain)) != RK_OK ||
	    (rc = load_samples(db, rid, 2, &val, &yval, &nval)) != RK_OK) {
		*why = "loading churn samples";
		goto out;
	}
	score = xcalloc((size_t)nval + 1, sizeof(double));
	for (int k = 0; k < 2 && nval > 0; k++) {
		if (churn_train((enum churn_kind)k, train, ytrain, ntrain, &m[k]) !=
		    RK_OK)
			continue;
		if (churn_score(m[k], val, nval, score, NULL) != RK_OK)
			continue;
		auc[k] = churn_auc(score, yval, nval);
		if (!isnan(auc[k]) && (kept < 0 || auc[k] > auc[kept]))
			kept = k;
	}
	if (kept < 0) {
		log_info("CHURN-SKIP", "run %lld: not enough history to train "
		    "(%d training, %d validation samples)", (long long)run_id,
		    ntrain, nval);
		goto out;
	}
	{
		json_t *o = json_object(), *cal = json_array(), *model;
		char *saved = churn_model_save(m[kept]), *text;
		const char *p[4];
		char sn[24];

		(void)churn_score(m[kept], val, nval, score, NULL);
		/* Calibration: validation customers in ten bins of risk. */
		for (int bin = 0; bin < 10; bin++) {
			double lo = bin / 10.0, hi = (bin + 1) / 10.0, ps = 0, obs = 0;
			int cnt = 0;

			for (int i = 0; i < nval; i++)
				if (score[i] >= lo && (score[i] < hi || bin == 9)) {
					ps += score[i];
					obs += yval[i];
					cnt++;
				}
			if (cnt > 0)
				json_array_append_new(cal, json_pack("{s:f,s:f,s:i}",
				    "predicted", ps / cnt, "observed", obs / cnt,
				    "count", cnt));
		}
		model = saved ? json_loads(saved, 0, NULL) : NULL;
		json_object_set_new(o, "kept", json_string(kept == CHURN_LR ?
		    "lr" : "gbt"));
		json_object_set_new(o, "kept_name", json_string(churn_kind_name(
		    (enum churn_kind)kept)));
		json_object_set_new(o, "auc_lr", isnan(auc[0]) ? json_null() :
		    json_real(auc[0]));
		json_object_set_new(o, "auc_gbt", isnan(auc[1]) ? json_null() :
		    json_real(auc[1]));
		json_object_set_new(o, "train_rows", json_integer(ntrain));
		json_object_set_new(o, "validation_rows", json_integer(nval));
		json_object_set_new(o, "calibration", cal);
		json_object_set_new(o, "model", model ? model : json_null());
		text = json_dumps(o, JSON_COMPACT);
		snprintf(sn, sizeof(sn), "%d", ntrain);
		p[0] = text;
		p[1] = sn;
		p[2] = as_of;
		p[3] = rid;
		rc = db_exec(db, "INSERT INTO model_fits (model, params, customers, "
		    "as_of, run_id) VALUES ('churn', $1, $2, $3, $4)", 4, p, NULL);
		if (rc != RK_OK)
			*why = "storing the churn model";
		else
			log_info("CHURN-FIT", "run %lld: AUC logistic %.3f, trees "
			    "%.3f on %d later customers; kept %s", (long long)run_id,
			    auc[0], auc[1], nval, kept == CHURN_LR ? "logistic" :
			    "trees");
		free(text);
		free(saved);
		json_decref(o);
	}
out:
	churn_model_free(m[0]);
	churn_model_free(m[1]);
	free(train);
	free(val);
	free(ytrain);
	free(yval);
	free(score);
	return (rc);
}

static void
put_opt_text(copybin *b, const char *s)
{
	if (s == NULL)
		copybin_null(b);
	else
		copybin_text(b, s, strlen(s));
}

/* The churn row of row i of a rescore batch (profile columns 1..14). */
static void
churn_row_of(db_res *res, int i, struct churn_row *row)
{
	struct profile_result pr;

	memset(&pr, 0, sizeof(pr));
	pr.count = 1;
	pr.days_since_last = (int)db_res_int64(res, i, 1);
	pr.win[3].count = db_res_int64(res, i, 2);
	pr.win[3].spend_minor = db_res_int64(res, i, 3);
	pr.win[1].count = db_res_int64(res, i, 7);
	pr.median_gap_days = db_res_double(res, i, 8);
	pr.overdue_ratio = db_res_double(res, i, 9);
	pr.spend_trend = db_res_double(res, i, 10);
	pr.weekend_spend_share = db_res_double(res, i, 12);
	pr.promo_spend_share = db_res_double(res, i, 13);
	pr.avg_ticket_minor = db_res_double(res, i, 14);
	churn_row_from(&pr, db_res_double(res, i, 11), row);
}

/* Appends row i's churn risk and reasons (risk NaN: none). */
static void
put_churn(copybin *b, const struct churn_row *row, double risk,
    const float *contrib)
{
	char reasons[CHURN_MAX_REASONS][128];
	const char *rp[CHURN_MAX_REASONS];
	int nr;

	if (isnan(risk)) {
		copybin_null(b);
		copybin_null(b);
		return;
	}
	nr = churn_reasons_from(contrib, row, reasons);
	for (int k = 0; k < nr; k++)
		rp[k] = reasons[k];
	copybin_float8(b, risk);
	copybin_text_array(b, rp, nr);
}

/* Rescores every profile with the new cut-offs and model. */
static rk_err
rescore(db_conn *db, const struct refdata *ref, const char **why)
{
	struct churn_row *rows = NULL, *sub = NULL;
	double *risk = NULL, *subrisk = NULL;
	float *contrib = NULL, *subc = NULL;
	int *idx = NULL;
	copybin b;
	rk_err rc;

	copybin_init(&b);
	rc = db_exec(db, "CREATE TEMP TABLE IF NOT EXISTS profile_scores ("
	    " customer_id text, recency_score smallint, frequency_score smallint,"
	    " monetary_score smallint, segment text, btyd_model text,"
	    " p_alive float8, expected_30d float8, expected_90d float8,"
	    " churn_risk float8, churn_reasons text[])", 0, NULL, NULL);
	if (rc == RK_OK)
		rc = db_exec(db, "TRUNCATE profile_scores", 0, NULL, NULL);
	if (rc == RK_OK)
		rc = db_exec(db, "DECLARE scores NO SCROLL CURSOR FOR "
		    "SELECT customer_id, days_since_last, count_365d, spend_365d, "
		    " btyd_x, btyd_t_x, btyd_T, count_90d, median_gap_days, "
		    " overdue_ratio, spend_trend, "
		    " extract(epoch from as_of - first_txn_at) / 86400, "
		    " weekend_spend_share, promo_spend_share, avg_ticket_minor "
		    "FROM customer_profiles WHERE txn_count > 0", 0, NULL, NULL);
	while (rc == RK_OK) {
		db_res *res;
		int n;

		if ((rc = db_exec(db, "FETCH FORWARD 20000 FROM scores", 0, NULL,
		    &res)) != RK_OK)
			break;
		n = db_res_nrows(res);
		copybin_reset(&b);
		copybin_header(&b);
		/* Churn risk for the whole batch at once (one model call). */
		rows = xrealloc(rows, sizeof(*rows) * (size_t)(n ? n : 1));
		risk = xrealloc(risk, sizeof(*risk) * (size_t)(n ? n : 1));
		contrib = xrealloc(contrib, sizeof(*contrib) * CHURN_NFEAT *
		    (size_t)(n ? n : 1));
		for (int i = 0; i < n; i++) {
			churn_row_of(res, i, &rows[i]);
			risk[i] = NAN;
		}
		if (ref->churn != NULL && n > 0 && churn_score(ref->churn, rows, n,
		    risk, NULL) != RK_OK)
			for (int i = 0; i < n; i++)
				risk[i] = NAN;
		/* Reasons (per-feature contributions, costly for trees) only
		 * where there is a risk worth explaining. */
		memset(contrib, 0, sizeof(*contrib) * CHURN_NFEAT * (size_t)n);
		if (ref->churn != NULL && n > 0) {
			int m = 0;

			idx = xrealloc(idx, sizeof(*idx) * (size_t)n);
			sub = xrealloc(sub, sizeof(*sub) * (size_t)n);
			for (int i = 0; i < n; i++)
				if (risk[i] >= REASON_MIN_RISK) {
					idx[m] = i;
					sub[m++] = rows[i];
				}
			subrisk = xrealloc(subrisk, sizeof(*subrisk) * (size_t)(m + 1));
			subc = xrealloc(subc, sizeof(*subc) * CHURN_NFEAT *
			    (size_t)(m + 1));
			if (m > 0 && churn_score(ref->churn, sub, m, subrisk, subc) ==
			    RK_OK)
				for (int k = 0; k < m; k++)
					memcpy(contrib + (size_t)idx[k] * CHURN_NFEAT,
					    subc + (size_t)k * CHURN_NFEAT,
					    sizeof(float) * CHURN_NFEAT);
		}
		for (int i = 0; i < n; i++) {
			struct btyd_customer c = {db_res_double(res, i, 4),
			    db_res_double(res, i, 5), db_res_double(res, i, 6), 1};
			const char *id = db_res_str(res, i, 0);
			int s[3];

			refdata_rfm(ref, db_res_double(res, i, 1),
			    db_res_double(res, i, 2), db_res_double(res, i, 3), s);
			copybin_tuple(&b, 11);
			copybin_text(&b, id, strlen(id));
			for (int k = 0; k < 3; k++) {
				if (s[k] > 0)
					copybin_int16(&b, (int16_t)s[k]);
				else
					copybin_null(&b);
			}
			put_opt_text(&b, refdata_segment(s[0], s[1]));
			if (ref->have_btyd) {
				put_opt_text(&b, btyd_name(ref->btyd));
				copybin_float8(&b, btyd_p_alive(ref->btyd,
				    &ref->btyd_params, &c));
				copybin_float8(&b, btyd_expected(ref->btyd,
				    &ref->btyd_params, &c, 30));
				copybin_float8(&b, btyd_expected(ref->btyd,
				    &ref->btyd_params, &c, 90));
			} else {
				for (int k = 0; k < 4; k++)
					copybin_null(&b);
			}
			put_churn(&b, &rows[i], risk[i],
			    contrib + (size_t)i * CHURN_NFEAT);
		}
		db_res_free(res);
		if (n == 0)
			break;
		copybin_trailer(&b);
		if ((rc = db_copy_begin(db, "COPY profile_scores FROM STDIN "
		    "(FORMAT binary)")) != RK_OK)
			break;
		if ((rc = db_copy_put(db, b.buf, b.len)) != RK_OK) {
			(void)db_copy_end(db, NULL);
			break;
		}
		rc = db_copy_end(db, NULL);
	}
	copybin_fini(&b);
	free(rows);
	free(risk);
	free(contrib);
	free(sub);
	free(subrisk);
	free(subc);
	free(idx);
	if (rc == RK_OK)
		rc = db_exec(db, "CLOSE scores", 0, NULL, NULL);
	if (rc == RK_OK)
		rc = db_exec(db, "UPDATE customer_profiles p SET "
		    "recency_score = s.recency_score, "
		    "frequency_score = s.frequency_score, "
		    "monetary_score = s.monetary_score, segment = s.segment, "
		    "btyd_model = s.btyd_model, p_alive = s.p_alive, "
		    "expected_30d = s.expected_30d, expected_90d = s.expected_90d, "
		    "churn_risk = s.churn_risk, churn_reasons = s.churn_reasons "
		    "FROM profile_scores s WHERE p.customer_id = s.customer_id",
		    0, NULL, NULL);
	if (rc != RK_OK)
		*why = "rescoring profiles";
	return (rc);
}

rk_err
finalize_run(db_conn *db, arena *a, struct refdata *ref, int64_t run_id,
    int64_t as_of_us, const char **why)
{
	char rid[24];
	const char *p[1] = {rid}, *as_of;
	int64_t t0, t1, t2;
	rk_err rc;

	{
		/* as_of as an ISO timestamp for the fits' rows */
		time_t s = (time_t)(as_of_us / 1000000);
		struct tm tm;
		char buf[40];

		gmtime_r(&s, &tm);
		strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S+00", &tm);
		as_of = arena_strdup(a, buf);
	}
	snprintf(rid, sizeof(rid), "%lld", (long long)run_id);
	t0 = clock_mono_ms();
	if ((rc = fit_rfm(db, run_id, as_of, why)) != RK_OK ||
	    (rc = fit_btyd(db, run_id, as_of, why)) != RK_OK)
		return (rc);
	t1 = clock_mono_ms();
	if ((rc = fit_churn(db, run_id, as_of, why)) != RK_OK)
		return (rc);
	t2 = clock_mono_ms();
	if ((rc = refdata_load(ref, db, true)) != RK_OK) {
		*why = "reloading models";
		return (rc);
	}
	if ((rc = rescore(db, ref, why)) != RK_OK)
		return (rc);
	log_info("FINALIZE-DONE", "run %lld: RFM and BTYD %lld ms, churn models "
	    "%lld ms, rescoring %lld ms", (long long)run_id,
	    (long long)(t1 - t0), (long long)(t2 - t1),
	    (long long)(clock_mono_ms() - t2));
	rc = db_exec(db, "UPDATE profile_runs SET state = 'done', "
	    "finished_at = now(), updated_at = now() WHERE id = $1", 1, p, NULL);
	if (rc != RK_OK)
		*why = "closing the run";
	return (rc);
}
