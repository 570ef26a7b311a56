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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "btyd.h"
#include "copybin.h"
#include "finalize.h"
#include "log.h"
#include "mem.h"

/* Log-likelihood units by which BG/NBD must beat MBG/NBD to be used. */
#define BTYD_PREFER_BG 2.0

/* Parses a PostgreSQL float8[] text ("{1,2.5,3,4}") into out[4]. */
static bool
pg_array4(const char *s, double out[4])
{
	const char *p = s;

	if (p == NULL || *p != '{')
		return (false);
	for (int i = 0; i < 4; i++) {
		char *end;

		out[i] = strtod(p + 1, &end);
		if (end == p + 1)
			return (false);
		p = end;
	}
	return (true);
}

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
	if (!pg_array4(db_res_str(res, 0, 0), r) ||
	    !pg_array4(db_res_str(res, 0, 1), f) ||
	    !pg_array4(db_res_str(res, 0, 2), m)) {
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

static void
put_opt_text(copybin *b, const char *s)
{
	if (s == NULL)
		copybin_null(b);
	else
		copybin_text(b, s, strlen(s));
}

/* Rescores every profile with the new cut-offs and model. */
static rk_err
rescore(db_conn *db, const struct refdata *ref, const char **why)
{
	copybin b;
	rk_err rc;

	copybin_init(&b);
	rc = db_exec(db, "CREATE TEMP TABLE IF NOT EXISTS profile_scores ("
	    " customer_id text, recency_score smallint, frequency_score smallint,"
	    " monetary_score smallint, segment text, btyd_model text,"
	    " p_alive float8, expected_30d float8, expected_90d float8)", 0,
	    NULL, NULL);
	if (rc == RK_OK)
		rc = db_exec(db, "TRUNCATE profile_scores", 0, NULL, NULL);
	if (rc == RK_OK)
		rc = db_exec(db, "DECLARE scores NO SCROLL CURSOR FOR "
		    "SELECT customer_id, days_since_last, count_365d, spend_365d, "
		    " btyd_x, btyd_t_x, btyd_T FROM customer_profiles "
		    "WHERE txn_count > 0", 0, NULL, NULL);
	while (rc == RK_OK) {
		db_res *res;
		int n;

		if ((rc = db_exec(db, "FETCH FORWARD 20000 FROM scores", 0, NULL,
		    &res)) != RK_OK)
			break;
		n = db_res_nrows(res);
		copybin_reset(&b);
		copybin_header(&b);
		for (int i = 0; i < n; i++) {
			struct btyd_customer c = {db_res_double(res, i, 4),
			    db_res_double(res, i, 5), db_res_double(res, i, 6), 1};
			const char *id = db_res_str(res, i, 0);
			int s[3];

			refdata_rfm(ref, db_res_double(res, i, 1),
			    db_res_double(res, i, 2), db_res_double(res, i, 3), s);
			copybin_tuple(&b, 9);
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
	if (rc == RK_OK)
		rc = db_exec(db, "CLOSE scores", 0, NULL, NULL);
	if (rc == RK_OK)
		rc = db_exec(db, "UPDATE customer_profiles p SET "
		    "recency_score = s.recency_score, "
		    "frequency_score = s.frequency_score, "
		    "monetary_score = s.monetary_score, segment = s.segment, "
		    "btyd_model = s.btyd_model, p_alive = s.p_alive, "
		    "expected_30d = s.expected_30d, expected_90d = s.expected_90d "
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
	if ((rc = fit_rfm(db, run_id, as_of, why)) != RK_OK ||
	    (rc = fit_btyd(db, run_id, as_of, why)) != RK_OK)
		return (rc);
	if ((rc = refdata_load(ref, db, true)) != RK_OK) {
		*why = "reloading models";
		return (rc);
	}
	if ((rc = rescore(db, ref, why)) != RK_OK)
		return (rc);
	rc = db_exec(db, "UPDATE profile_runs SET state = 'done', "
	    "finished_at = now(), updated_at = now() WHERE id = $1", 1, p, NULL);
	if (rc != RK_OK)
		*why = "closing the run";
	return (rc);
}
