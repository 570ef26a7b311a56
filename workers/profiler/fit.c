/*
 * fit.c - the sample, the RFM cut-offs, the BTYD fits, the churn models,
 * and the run's chunks.
 *
 * Which BTYD model: both have four parameters, so their log-likelihoods on
 * the same sample compare directly (equal AIC penalty). BG/NBD cannot let
 * a customer die without a repeat purchase (P(alive) = 1 at x = 0), which
 * a card used once and then forgotten contradicts; MBG/NBD allows it. So
 * MBG/NBD is used unless BG/NBD fits clearly better (by more than
 * BTYD_PREFER_BG log-likelihood units, an AIC difference of 4). The
 * choice and its reason are stored with the fit.
 *
 * Degenerate fits: a fit that runs to a boundary of the parameter space
 * (btyd_degenerate: a or b below 1e-6 or above 1e4) says that dropout does
 * not differ between customers, so its P(alive) ranks nobody; such a model
 * is not chosen, and if both are degenerate (or the chosen one gives
 * everyone the same P(alive)) no BTYD model is used: P(alive) and the
 * expected purchases are left absent, and the stored reason says why.
 * The chosen model's family is fitted again on the sample as of the later
 * churn cut-off and scored there, so the report gives the AUC of
 * 1 - P(alive) and of -E[purchases in 90 days] on the same validation
 * period and customers as the churn models'.
 *
 * The sample: customers whose md5(id) falls in a window placed by the
 * seed, so it is uniform over all customers and the same for the same
 * seed and data
 * (profile_fit_seed); the BTYD fit takes FIT_BTYD_CUSTOMERS of it after a
 * seeded shuffle, never the first ones in id order (on CDNOW those are
 * the customers who first bought in January).
 *
 * Why a sample: quintile cut-offs and model parameters from a uniform
 * random sample of tens of thousands of customers differ from those of the
 * whole base by sampling error only (a quintile cut-off from 30,000
 * customers is within about 0.3 percentile points), and taking them first
 * lets the pool score every customer in the same pass that profiles it,
 * instead of rewriting every profile afterwards.
 */
#include <jansson.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "btyd.h"
#include "clock.h"
#include "churn.h"
#include "fit.h"
#include "log.h"
#include "jobq.h"
#include "mem.h"
#include "profiler_db.h"
#include "rekindle/bus/v1/bus.pb-c.h"
#include "rfm.h"

/* Log-likelihood units by which BG/NBD must beat MBG/NBD to be used. */
#define BTYD_PREFER_BG 2.0
/* Calibration: bins of this many customers must be this close. */
#define CALIB_MIN_BIN 200
#define CALIB_TOLERANCE 0.05
/* P(alive) below this validation AUC ranks no better than chance. */
#define BTYD_MIN_AUC 0.55
#define DAY_US INT64_C(86400000000)

/* What the sample gives: each array holds at most the sample size. */
struct sample {
	const struct profile_rules *rules;
	/* cut 0: the validation cut-off, as-of - 90 days; cut k >= 1: the
	 * training cut-offs, as-of - (k + 1) x 90 days, stacked */
	int64_t as_of_us, cut_us[FIT_CUTS];
	struct profile now, cut[FIT_CUTS];
	bool bought_after[FIT_CUTS];	/* a purchase in the 90 days after */
	struct btyd_customer *btyd;
	size_t nbtyd;
	double *rec, *freq, *mon;	/* RFM inputs */
	size_t nrfm;
	/* [0] training rows of every training cut-off (at most
	 * FIT_TRAIN_ROWS of them), [1] validation */
	struct churn_row *rows[2];
	int *y[2], nrows[2];
	int64_t seen;			/* training rows offered */
	/* BTYD summaries at the later cut-off, one per rows[1] entry */
	struct btyd_customer *vbtyd;
	uint64_t seed;
};

/* The RFM percentile tables of the sample (rfm.h), with the window they
 * were taken over. */
static rk_err
fit_rfm(db_conn *db, struct sample *s, int64_t run_id, const char **why)
{
	struct rfm_table t[3];
	double *v[3] = {s->rec, s->freq, s->mon};
	char *params;
	size_t len = 0, cap = 3 * RFM_POINTS * 26 + 64;
	rk_err rc;

	if (s->nrfm == 0)
		return (RK_OK);		/* no customers yet */
	params = xmalloc(cap);
	len += (size_t)snprintf(params, cap, "{\"window_days\":%d",
	    s->rules->rfm_window_days);
	for (int k = 0; k < 3; k++) {
		rfm_table_of(v[k], s->nrfm, &t[k]);
		len += (size_t)snprintf(params + len, cap - len, ",\"%c\":[",
		    "rfm"[k]);
		for (int i = 0; i < RFM_POINTS; i++)
			len += (size_t)snprintf(params + len, cap - len, "%s%.17g",
			    i ? "," : "", t[k].q[i]);
		len += (size_t)snprintf(params + len, cap - len, "]");
	}
	snprintf(params + len, cap - len, "}");
	rc = profiler_db_fit_store(db, run_id, s->as_of_us, "rfm", params, NAN,
	    (int64_t)s->nrfm);
	free(params);
	if (rc != RK_OK)
		*why = "storing RFM percentiles";
	return (rc);
}

/* splitmix64: the seeded shuffle's generator. */
static uint64_t
next_rand(uint64_t *st)
{
	uint64_t z = (*st += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return (z ^ (z >> 31));
}

/* Rounded to 1e-9, so that an AUC never ranks floating-point noise. */
static double
round9(double v)
{
	return (round(v * 1e9) / 1e9);
}

/*
 * The AUCs of 1 - P(alive) and of -E[purchases in 90 days] against the
 * churn label on the later cut-off, from model family m fitted there
 * (NAN when that fit fails); *degen says if that fit is degenerate.
 */
static void
validate_btyd(struct sample *s, enum btyd_model m, double auc[2],
    const char **degen, char *buf, size_t cap)
{
	int n = s->nrows[1];
	struct btyd_params p;
	double *sc[2];

	auc[0] = auc[1] = NAN;
	*degen = NULL;
	if (n == 0)
		return;
	{
		rk_err rc = btyd_fit(m, s->vbtyd, (size_t)n, &p);

		if (rc != RK_OK && rc != RK_ERETRY)
			return;
	}
	*degen = btyd_degenerate(m, &p, buf, cap);
	sc[0] = xcalloc((size_t)n, sizeof(double));
	sc[1] = xcalloc((size_t)n, sizeof(double));
	for (int i = 0; i < n; i++) {
		sc[0][i] = round9(1 - btyd_p_alive(m, &p, &s->vbtyd[i]));
		sc[1][i] = round9(-btyd_expected(m, &p, &s->vbtyd[i],
		    CHURN_HORIZON_DAYS));
	}
	auc[0] = churn_auc(sc[0], s->y[1], n);
	auc[1] = churn_auc(sc[1], s->y[1], n);
	free(sc[0]);
	free(sc[1]);
}

static json_t *
json_num_or_null(double v)
{
	return (isfinite(v) ? json_real(v) : json_null());
}

static rk_err
fit_btyd(db_conn *db, struct sample *s, int64_t run_id, const char **why)
{
	static const char *const key[2] = {"bgnbd", "mbgnbd"};
	struct btyd_customer *c = s->btyd;
	struct btyd_params fit[2];
	char note[3][320], reason[768], pa_note[512] = "";
	const char *degen[2] = {NULL, NULL}, *vdegen = NULL;
	size_t n = s->nbtyd < FIT_BTYD_CUSTOMERS ? s->nbtyd : FIT_BTYD_CUSTOMERS;
	bool ok[2], usable[2];
	double lo = 1, hi = 0, vauc[2] = {NAN, NAN};
	json_t *o, *dg;
	char *text;
	rk_err rc;
	int best;

	/* A uniform subset of the sample: a seeded Fisher-Yates prefix. */
	for (size_t i = 0; i < n && s->nbtyd > 1; i++) {
		size_t j = i + (size_t)(next_rand(&s->seed) % (s->nbtyd - i));
		struct btyd_customer t = c[i];

		c[i] = c[j];
		c[j] = t;
	}
	for (int m = 0; m < 2; m++) {
		rk_err frc = btyd_fit((enum btyd_model)m, c, n, &fit[m]);

		ok[m] = frc == RK_OK || frc == RK_ERETRY;
		if (!ok[m]) {
			usable[m] = false;
			continue;
		}
		degen[m] = btyd_degenerate((enum btyd_model)m, &fit[m], note[m],
		    sizeof(note[m]));
		usable[m] = degen[m] == NULL;
		o = json_pack("{s:f,s:f,s:f,s:f,s:s,s:b,s:o}", "r", fit[m].r,
		    "alpha", fit[m].alpha, "a", fit[m].a, "b", fit[m].b,
		    "time_unit", "day", "converged", frc == RK_OK, "degenerate",
		    degen[m] ? json_string(degen[m]) : json_null());
		text = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		rc = profiler_db_fit_store(db, run_id, s->as_of_us, key[m], text,
		    fit[m].log_likelihood, (int64_t)n);
		free(text);
		if (rc != RK_OK) {
			*why = "storing a BTYD fit";
			return (rc);
		}
		if (degen[m] != NULL)
			log_info("BTYD-DEGENERATE", "run %lld: %s", (long long)run_id,
			    degen[m]);
	}
	if (!ok[0] && !ok[1])
		return (RK_OK);		/* nothing repeats yet: no model */
	/* The choice, with a reason that is true of these fits. */
	if (usable[0] && usable[1]) {
		best = fit[0].log_likelihood > fit[1].log_likelihood +
		    BTYD_PREFER_BG ? 0 : 1;
		snprintf(reason, sizeof(reason), best ? "MBG/NBD: BG/NBD does "
		    "not fit better by more than %.0f log-likelihood units "
		    "(BG/NBD %.1f, MBG/NBD %.1f on %zu customers), and MBG/NBD "
		    "allows drop-out at the first purchase" : "BG/NBD: it fits "
		    "better by more than %.0f log-likelihood units (BG/NBD %.1f, "
		    "MBG/NBD %.1f on %zu customers)", BTYD_PREFER_BG,
		    fit[0].log_likelihood, fit[1].log_likelihood, n);
	} else if (usable[0] || usable[1]) {
		best = usable[0] ? 0 : 1;
		snprintf(reason, sizeof(reason), "%s: the only fit that is not "
		    "degenerate (%s)", btyd_name((enum btyd_model)best),
		    degen[!best] ? degen[!best] : "the other did not fit");
	} else {
		best = -1;
		snprintf(reason, sizeof(reason), "none: every fit is degenerate "
		    "(%s%s%s); P(alive) is not used for ranking or audiences",
		    degen[0] ? degen[0] : "", degen[0] && degen[1] ? "; " : "",
		    degen[1] ? degen[1] : "");
	}
	/* A fit that gives everyone one P(alive) ranks no one either. */
	for (size_t i = 0; best >= 0 && i < n; i++) {
		double v = btyd_p_alive((enum btyd_model)best, &fit[best], &c[i]);

		lo = v < lo ? v : lo;
		hi = v > hi ? v : hi;
	}
	if (best >= 0 && hi - lo < 1e-6) {
		snprintf(reason, sizeof(reason), "none: %s gives every sampled "
		    "customer the same P(alive) (%.9f), which ranks no one; "
		    "P(alive) is not used for ranking or audiences",
		    btyd_name((enum btyd_model)best), hi);
		best = -1;
	}
	/*
	 * A fit with a small a (no dropout heterogeneity in effect) can pass
	 * the bounds - the likelihood is flat towards a = 0, and the
	 * minimiser can stop short of them - yet say P(alive) is about 1 for
	 * nearly everyone: it must estimate at least BTYD_MIN_DROPPED of its
	 * own customers gone, and rank the validation period's customers
	 * better than chance. Expected purchases still follow frequency and
	 * recency, so the model stays in use for them.
	 */
	if (best >= 0) {
		double gone = btyd_dropped_share((enum btyd_model)best, &fit[best],
		    c, n);

		validate_btyd(s, (enum btyd_model)best, vauc, &vdegen, note[2],
		    sizeof(note[2]));
		if (vdegen != NULL)
			snprintf(pa_note, sizeof(pa_note), "P(alive) is not used: "
			    "fitted as of the validation cut-off, %s", vdegen);
		else if (gone < BTYD_MIN_DROPPED)
			snprintf(pa_note, sizeof(pa_note), "P(alive) is not used: "
			    "%s (a = %.3g, b = %.3g) estimates that only %.2g %% "
			    "of the customers it was fitted on have dropped out - "
			    "next to no dropout, so P(alive) is about 1 for nearly "
			    "everyone", btyd_name((enum btyd_model)best),
			    fit[best].a, fit[best].b, 100 * gone);
		else if (!(vauc[0] >= BTYD_MIN_AUC))
			snprintf(pa_note, sizeof(pa_note), "P(alive) is not used: "
			    "it ranks the validation period's customers no better "
			    "than chance (AUC of 1 - P(alive) %.4f, below %.2f)",
			    vauc[0], BTYD_MIN_AUC);
	}
	if (*pa_note != '\0') {
		size_t len = strlen(reason);

		snprintf(reason + len, sizeof(reason) - len, "; %s", pa_note);
	}
	dg = json_object();
	for (int m = 0; m < 2; m++)
		json_object_set_new(dg, key[m], degen[m] ? json_string(degen[m]) :
		    json_null());
	o = json_pack("{s:s,s:s,s:b,s:o,s:{s:o,s:o,s:i}}", "model",
	    best < 0 ? "none" : key[best], "reason", reason, "informative",
	    best >= 0 && *pa_note == '\0', "degenerate", dg, "validation", "auc_p_alive",
	    json_num_or_null(vauc[0]), "auc_expected_90d",
	    json_num_or_null(vauc[1]), "customers", s->nrows[1]);
	if (best >= 0) {
		json_object_set_new(o, "r", json_real(fit[best].r));
		json_object_set_new(o, "alpha", json_real(fit[best].alpha));
		json_object_set_new(o, "a", json_real(fit[best].a));
		json_object_set_new(o, "b", json_real(fit[best].b));
	}
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	rc = profiler_db_fit_store(db, run_id, s->as_of_us, "btyd", text, best >=
	    0 ? fit[best].log_likelihood : NAN, (int64_t)n);
	free(text);
	if (rc != RK_OK)
		*why = "storing the BTYD choice";
	else
		log_info("BTYD-FIT", "run %lld: %s (validation AUC 1-P(alive) "
		    "%.4f, -E[90 d] %.4f)", (long long)run_id, reason, vauc[0],
		    vauc[1]);
	return (rc);
}

/* A reliability table as JSON, bins with customers only. */
static json_t *
table_json(const double *p, const int *y, int n)
{
	struct calib_bin bins[CALIB_BINS];
	json_t *a = json_array();

	calib_table(p, y, n, bins);
	for (int b = 0; b < CALIB_BINS; b++)
		if (bins[b].count > 0)
			json_array_append_new(a, json_pack("{s:f,s:f,s:i}",
			    "predicted", bins[b].predicted, "observed",
			    bins[b].observed, "count", bins[b].count));
	return (a);
}

/* The largest |predicted - observed| over bins of CALIB_MIN_BIN or more. */
static double
worst_bin(const double *p, const int *y, int n)
{
	struct calib_bin bins[CALIB_BINS];
	double w = 0;

	calib_table(p, y, n, bins);
	for (int b = 0; b < CALIB_BINS; b++)
		if (bins[b].count >= CALIB_MIN_BIN &&
		    fabs(bins[b].predicted - bins[b].observed) > w)
			w = fabs(bins[b].predicted - bins[b].observed);
	return (w);
}

/*
 * Calibrates m on the validation rows (calib.h): Platt and isotonic are
 * each judged out of fold - first whether every bin of CALIB_MIN_BIN
 * customers or more is within CALIB_TOLERANCE of its observed rate (what
 * a bank reads the risk by), then by Brier score; the better is fitted
 * on every validation row and kept in the model. Into o go the method and
 * why, the reliability table and Brier score before (raw scores) and
 * after (out of fold); returns the after table.
 */
static json_t *
calibrate(churn_model *m, const struct churn_row *val, const int *yval,
    int nval, double *raw, json_t *o)
{
	static const enum calib_kind kinds[2] = {CALIB_PLATT, CALIB_ISOTONIC};
	double *oof[2], brier[2] = {NAN, NAN}, worst[2] = {NAN, NAN}, before;
	struct calib *c = xmalloc(sizeof(*c));
	json_t *after;
	int best = -1;

	(void)churn_score(m, val, nval, raw, NULL);
	before = calib_brier(raw, yval, nval);
	for (int k = 0; k < 2; k++) {
		bool ok, best_ok;

		oof[k] = xcalloc((size_t)nval + 1, sizeof(double));
		if (calib_cross(kinds[k], raw, yval, nval, oof[k]) != RK_OK)
			continue;
		brier[k] = calib_brier(oof[k], yval, nval);
		worst[k] = worst_bin(oof[k], yval, nval);
		ok = worst[k] <= CALIB_TOLERANCE;
		best_ok = best >= 0 && worst[best] <= CALIB_TOLERANCE;
		if (best < 0 || (ok && !best_ok) || (ok == best_ok &&
		    brier[k] < brier[best]))
			best = k;
	}
	json_object_set_new(o, "calibration_before", table_json(raw, yval,
	    nval));
	json_object_set_new(o, "brier_before", json_real(before));
	if (best >= 0 && calib_fit(kinds[best], raw, yval, nval, c) == RK_OK) {
		char why[384];

		churn_set_calibration(m, c);
		snprintf(why, sizeof(why), "%s, judged out of fold on the "
		    "validation period: %s (largest gap in a bin of %d or more: "
		    "Platt %.3f, isotonic %.3f; Brier: Platt %.4f, isotonic %.4f, "
		    "uncalibrated %.4f)", best ? "isotonic regression" :
		    "Platt scaling", worst[best] <= CALIB_TOLERANCE &&
		    !(worst[!best] <= CALIB_TOLERANCE) ? "the only one with every "
		    "bin within 0.05 of its observed rate" : "the lower Brier "
		    "score", CALIB_MIN_BIN, worst[0], worst[1], brier[0], brier[1],
		    before);
		json_object_set_new(o, "calibration_method",
		    json_string(calib_name(kinds[best])));
		json_object_set_new(o, "calibration_why", json_string(why));
		json_object_set_new(o, "brier_after", json_real(brier[best]));
		json_object_set_new(o, "auc_calibrated", json_real(churn_auc(
		    oof[best], yval, nval)));
		after = table_json(oof[best], yval, nval);
	} else {
		json_object_set_new(o, "calibration_method", json_string("none"));
		json_object_set_new(o, "calibration_why", json_string("one class "
		    "only in the validation period: nothing to calibrate on"));
		json_object_set_new(o, "brier_after", json_real(before));
		after = table_json(raw, yval, nval);
	}
	free(oof[0]);
	free(oof[1]);
	free(c);
	return (after);
}

/*
 * Trains both churn models on the earlier cut-off, measures AUC on the
 * later one, keeps the better, calibrates it there (calibrate), and
 * stores it with its reliability tables.
 */
static rk_err
fit_churn(db_conn *db, struct sample *s, int64_t run_id, const char **why)
{
	const struct churn_row *train = s->rows[0], *val = s->rows[1];
	const int *ytrain = s->y[0], *yval = s->y[1];
	int ntrain = s->nrows[0], nval = s->nrows[1], kept = -1;
	churn_model *m[2] = {NULL, NULL};
	double auc[2] = {NAN, NAN}, *score = NULL;
	rk_err rc = RK_OK;

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
		json_t *o = json_object(), *cal, *model;
		char *saved, *text;

		cal = calibrate(m[kept], val, yval, nval, score, o);
		saved = churn_model_save(m[kept]);
		model = saved ? json_loads(saved, 0, NULL) : NULL;
		json_object_set_new(o, "kept", json_string(kept == CHURN_LR ?
		    "lr" : "gbt"));
		json_object_set_new(o, "kept_name", json_string(churn_kind_name(
		    (enum churn_kind)kept)));
		json_object_set_new(o, "auc_lr", isnan(auc[0]) ? json_null() :
		    json_real(auc[0]));
		json_object_set_new(o, "auc_gbt", isnan(auc[1]) ? json_null() :
		    json_real(auc[1]));
		json_object_set_new(o, "gbt_rounds", m[CHURN_GBT] ?
		    json_integer(churn_model_rounds(m[CHURN_GBT])) : json_null());
		json_object_set_new(o, "train_rows", json_integer(ntrain));
		json_object_set_new(o, "validation_rows", json_integer(nval));
		json_object_set_new(o, "calibration", cal);
		json_object_set_new(o, "model", model ? model : json_null());
		text = json_dumps(o, JSON_COMPACT);
		rc = profiler_db_fit_store(db, run_id, s->as_of_us, "churn", text,
		    NAN, ntrain);
		if (rc != RK_OK)
			*why = "storing the churn model";
		else
			log_info("CHURN-FIT", "run %lld: AUC logistic %.3f, trees "
			    "%.3f (%d rounds) on %d later customers; kept %s",
			    (long long)run_id, auc[0], auc[1], m[CHURN_GBT] ?
			    churn_model_rounds(m[CHURN_GBT]) : 0, nval,
			    kept == CHURN_LR ? "logistic" : "trees");
		free(text);
		free(saved);
		json_decref(o);
	}
out:
	churn_model_free(m[0]);
	churn_model_free(m[1]);
	free(score);
	return (rc);
}

static void
sample_begin(void *ctx, const char *id, const char *currency)
{
	struct sample *s = ctx;

	(void)id;
	(void)currency;
	profile_begin(&s->now, s->as_of_us, s->rules);
	for (int k = 0; k < FIT_CUTS; k++) {
		profile_begin(&s->cut[k], s->cut_us[k], s->rules);
		s->bought_after[k] = false;
	}
}

static void
sample_add(void *ctx, const struct profile_txn *t)
{
	struct sample *s = ctx;

	profile_add(&s->now, t);
	for (int k = 0; k < FIT_CUTS; k++) {
		profile_add(&s->cut[k], t);
		if (t->amount_minor > 0 && t->at_us > s->cut_us[k] &&
		    t->at_us <= s->cut_us[k] + CHURN_HORIZON_DAYS * DAY_US &&
		    t->at_us <= s->as_of_us)
			s->bought_after[k] = true;
	}
}

static rk_err
sample_end(void *ctx)
{
	struct sample *s = ctx;
	struct profile_result r;

	profile_finish(&s->now, &r);
	if (r.count > 0) {
		s->rec[s->nrfm] = r.days_since_last;
		rfm_inputs(&r, s->rules->rfm_window_days, &s->freq[s->nrfm],
		    &s->mon[s->nrfm]);
		s->nrfm++;
		if (r.btyd_T > 0)
			s->btyd[s->nbtyd++] = (struct btyd_customer){r.btyd_x,
			    r.btyd_t_x, r.btyd_T, 1};
	}
	for (int k = 0; k < FIT_CUTS; k++) {
		int d = k == 0, i = s->nrows[d];

		if (s->cut[k].count == 0)
			continue;	/* no purchase before the cut-off */
		profile_finish(&s->cut[k], &r);
		if (r.count == 0)
			continue;	/* none that counts as one */
		/* training rows past FIT_TRAIN_ROWS: a reservoir sample
		 * (Algorithm R), uniform over every row seen, seeded - a
		 * row replaces the one at a random index, or is dropped */
		if (d == 0 && ++s->seen > FIT_TRAIN_ROWS) {
			uint64_t j = next_rand(&s->seed) % (uint64_t)s->seen;

			if (j >= FIT_TRAIN_ROWS)
				continue;
			i = (int)j;
		}
		churn_row_from(&r, churn_tenure_days(&r, s->cut_us[k]),
		    &s->rows[d][i]);
		if (d == 1)
			s->vbtyd[i] = (struct btyd_customer){r.btyd_x, r.btyd_t_x,
			    r.btyd_T, 1};
		s->y[d][i] = !s->bought_after[k];
		if (i == s->nrows[d])
			s->nrows[d]++;
	}
	return (RK_OK);
}

/* A random sample of about n customers, profiled now and at the two
 * churn cut-offs. */
static rk_err
take_sample(db_conn *db, arena *a, const struct refdata *ref,
    struct sample *s, int n)
{
	struct scan_sink sink = {s, sample_begin, sample_add, sample_end};
	struct profile_selection sel = {0};
	uint64_t start;
	const char **ids;
	int got;
	rk_err rc;

	/*
	 * Each customer with probability n / customers: those whose
	 * sample_key (the first 32 bits of md5(id), 027_sample_key.sql) lies
	 * in a window of width 2^32 n / customers starting at a point drawn
	 * from the seed, wrapping at 2^32. md5 is uniform over ids, so the
	 * sample is uniform over customers; the same seed and data give the
	 * same sample on any release (md5's values are fixed by RFC 1321; not
	 * hashtextextended, which is internal and PostgreSQL's developers
	 * keep the right to change: pgsql-hackers, "Document hashtext() and
	 * Friends?", Tom Lane, 2012). The key is stored and indexed: one or
	 * two index ranges, not an md5 over every customer at every run.
	 */
	start = next_rand(&(uint64_t){s->seed}) >> 32;
	if ((rc = profiler_db_sample_ids(db, a, n, start, &ids, &got)) != RK_OK)
		return (rc);
	s->btyd = xcalloc((size_t)got + 1, sizeof(*s->btyd));
	s->rec = xcalloc((size_t)got + 1, sizeof(double));
	s->freq = xcalloc((size_t)got + 1, sizeof(double));
	s->mon = xcalloc((size_t)got + 1, sizeof(double));
	s->vbtyd = xcalloc((size_t)got + 1, sizeof(*s->vbtyd));
	for (int k = 0; k < 2; k++) {
		size_t cap = k == 0 && (size_t)got * (FIT_CUTS - 1) > FIT_TRAIN_ROWS ?
		    FIT_TRAIN_ROWS + 1 : (size_t)got * (k == 0 ? FIT_CUTS - 1 : 1) +
		    1;

		s->rows[k] = xcalloc(cap, sizeof(*s->rows[k]));
		s->y[k] = xcalloc(cap, sizeof(*s->y[k]));
	}
	if (got == 0)
		return (RK_OK);
	sel.ids = ids;
	sel.nids = (size_t)got;
	return (profiler_db_scan(db, a, ref, &sel, &sink));
}

static void
sample_free(struct sample *s)
{
	profile_fini(&s->now);
	for (int k = 0; k < FIT_CUTS; k++)
		profile_fini(&s->cut[k]);
	for (int k = 0; k < 2; k++) {
		free(s->rows[k]);
		free(s->y[k]);
	}
	free(s->btyd);
	free(s->vbtyd);
	free(s->rec);
	free(s->freq);
	free(s->mon);
}

static rk_err
enqueue_chunk(db_conn *db, arena *a, int64_t run_id, int64_t as_of_us,
    const char *lo, const char *hi)
{
	Rekindle__Bus__V1__ProfileJob job = REKINDLE__BUS__V1__PROFILE_JOB__INIT;
	unsigned char *buf;
	size_t len;

	job.run_id = run_id;
	job.as_of_us = as_of_us;
	job.range_lo = (char *)lo;
	job.range_hi = (char *)hi;
	len = rekindle__bus__v1__profile_job__get_packed_size(&job);
	buf = arena_alloc(a, len + 1);
	rekindle__bus__v1__profile_job__pack(&job, buf);
	return (jobq_enqueue(db, "profile", buf, len, NULL));
}

/* Splits the customers into id ranges of chunk customers, one job each. */
static rk_err
enqueue_chunks(db_conn *db, arena *a, int64_t run_id, int64_t as_of_us,
    int chunk, const char **why)
{
	const char **starts;
	int n;
	rk_err rc;

	/* Range starts: every chunk-th id; the first range starts at ''. */
	if ((rc = profiler_db_chunk_starts(db, a, chunk, &starts, &n)) !=
	    RK_OK) {
		*why = "splitting customers into chunks";
		return (rc);
	}
	for (int i = 0; rc == RK_OK && i <= n; i++)
		rc = enqueue_chunk(db, a, run_id, as_of_us, i == 0 ? "" :
		    starts[i - 1], i < n ? starts[i] : "");
	if (rc == RK_OK)
		rc = profiler_db_run_running(db, run_id, (int64_t)n + 1);
	if (rc != RK_OK)
		*why = "enqueueing chunks";
	return (rc);
}

/*
 * Gives the heap's free pages back to the system (glibc: malloc_trim). A
 * fit allocates in bursts - the sample's profiles, then liblinear's rows
 * and xgboost's histograms in its threads' arenas - and what it frees
 * stays resident as free heap: trimmed before the fit (what the last
 * run's chunks left) and after it (what the fit left), a profiler's peak
 * resident memory over two full runs of a million customers went from
 * 61.6 MB to 55-59 MB, and its chunks run in 27 MB instead of 53 MB.
 */
static void
return_free_memory(void)
{
#ifdef __GLIBC__
	(void)malloc_trim(0);
#endif
}

rk_err
fit_run(db_conn *db, arena *a, struct refdata *ref,
    const struct profile_rules *rules, int64_t run_id, int64_t as_of_us,
    int sample, int seed, int chunk, const char **why)
{
	struct sample s;
	int64_t t0, t1, t2, t3;
	bool fitting;
	rk_err rc;

	/* A fit job run twice (an expired lease) fits and splits once. */
	if ((rc = profiler_db_run_lock(db, run_id, &fitting)) != RK_OK) {
		*why = "locking the run";
		return (rc);
	}
	if (!fitting)
		return (RK_OK);
	memset(&s, 0, sizeof(s));
	s.rules = rules;
	s.as_of_us = as_of_us;
	s.seed = (uint64_t)seed;
	for (int k = 0; k < FIT_CUTS; k++)
		s.cut_us[k] = as_of_us - (k + 1) * CHURN_HORIZON_DAYS * DAY_US;
	return_free_memory();
	t0 = clock_mono_ms();
	if ((rc = take_sample(db, a, ref, &s, sample)) != RK_OK) {
		*why = "profiling the sample";
		goto out;
	}
	t1 = clock_mono_ms();
	if ((rc = fit_rfm(db, &s, run_id, why)) != RK_OK ||
	    (rc = fit_btyd(db, &s, run_id, why)) != RK_OK)
		goto out;
	t2 = clock_mono_ms();
	if ((rc = fit_churn(db, &s, run_id, why)) != RK_OK)
		goto out;
	t3 = clock_mono_ms();
	if ((rc = refdata_load(ref, db, true)) != RK_OK) {
		*why = "reloading models";
		goto out;
	}
	if ((rc = profiler_db_run_begin(db, a, run_id)) != RK_OK) {
		*why = "creating the run's table";
		goto out;
	}
	rc = enqueue_chunks(db, a, run_id, as_of_us, chunk, why);
	if (rc == RK_OK)
		log_info("FIT-DONE", "run %lld: sample of %zu customers %lld ms, "
		    "RFM and BTYD %lld ms, churn models %lld ms", (long long)run_id,
		    s.nrfm, (long long)(t1 - t0), (long long)(t2 - t1),
		    (long long)(t3 - t2));
out:
	sample_free(&s);
	return_free_memory();
	return (rc);
}
