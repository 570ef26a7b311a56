/*
 * churn.c - churn models and their reasons.
 *
 * Logistic regression: liblinear's L2-regularised LR (solver L2R_LR,
 * C = 1) on standardised features; the weights are kept in our own form
 * so scoring and reasons need no liblinear model. Gradient-boosted trees:
 * libxgboost (binary:logistic, depth 4, eta 0.2, as many rounds as a
 * held-out fifth of the training rows rewards); reasons come from its
 * per-feature contributions (path-based approximate SHAP). For LR the
 * contribution of a feature is its weight times its standardised value.
 * The words for them are in reasons.c.
 */
#include <jansson.h>
#include <linear.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xgboost/c_api.h>

#include "calib.h"
#include "churn.h"
#include "log.h"
#include "mem.h"

#define DAY_US INT64_C(86400000000)
/* Boosting rounds: see train_gbt. */
#define GBT_MAX_ROUNDS 150
#define GBT_PATIENCE 10
#define GBT_SPLIT_MIN 500
#define GBT_SMALL_ROUNDS 40

const char *const churn_feature_names[CHURN_NFEAT] = {"days_since_last",
    "count_90d", "count_365d", "spend_365d", "median_gap_days",
    "overdue_ratio", "spend_trend", "tenure_days", "weekend_spend_share",
    "promo_spend_share", "avg_ticket", "purchase_days", "total_spend",
    "rate_90d", "quiet_share"};

struct churn_model {
	enum churn_kind kind;
	double mean[CHURN_NFEAT], sd[CHURN_NFEAT];	/* LR */
	double w[CHURN_NFEAT], b;			/* LR: P = σ(w·z + b) */
	BoosterHandle booster;				/* GBT */
	struct calib cal;		/* raw score -> probability */
};

double
churn_tenure_days(const struct profile_result *r, int64_t as_of_us)
{
	return (r->count ? (double)(as_of_us - r->first_us) / DAY_US : 0);
}

void
churn_row_from(const struct profile_result *r, double tenure,
    struct churn_row *row)
{
	double overdue = r->overdue_ratio > 100 ? 100 : r->overdue_ratio;

	row->x[0] = (float)log1p(r->days_since_last);
	row->x[1] = (float)log1p((double)r->win[1].count);
	row->x[2] = (float)log1p((double)r->win[3].count);
	row->x[3] = (float)log1p(r->win[3].spend_minor > 0 ?
	    (double)r->win[3].spend_minor : 0);
	row->x[4] = (float)log1p(r->median_gap_days);
	row->x[5] = (float)log1p(overdue);
	row->x[6] = (float)r->spend_trend;
	row->x[7] = (float)log1p(tenure > 0 ? tenure : 0);
	row->x[8] = (float)r->weekend_spend_share;
	row->x[9] = (float)r->promo_spend_share;
	row->x[10] = (float)log1p(r->avg_ticket_minor > 0 ? r->avg_ticket_minor :
	    0);
	/* the whole history: how often, how much, at what pace, and how much
	 * of it has been silence */
	row->x[11] = (float)log1p((double)r->purchase_days);
	row->x[12] = (float)log1p(r->spend > 0 ? (double)r->spend : 0);
	row->x[13] = (float)log1p(90.0 * (double)r->purchase_days /
	    (tenure > 30 ? tenure : 30));
	row->x[14] = (float)(tenure > 0 ? fmin(r->days_since_last / tenure, 1) :
	    0);
	row->days_since = r->days_since_last;
	row->median_gap = r->median_gap_days;
	row->overdue = r->overdue_ratio;
	row->trend = r->spend_trend;
	row->count90 = r->win[1].count;
	row->count365 = r->win[3].count;
	row->purchase_days = r->purchase_days;
}

const char *
churn_kind_name(enum churn_kind k)
{
	return (k == CHURN_LR ? "logistic regression (liblinear)" :
	    "gradient-boosted trees (xgboost)");
}

enum churn_kind
churn_model_kind(const churn_model *m)
{
	return (m->kind);
}

int
churn_model_rounds(const churn_model *m)
{
	int rounds = 0;

	if (m->kind != CHURN_GBT || XGBoosterBoostedRounds(m->booster,
	    &rounds) != 0)
		return (0);
	return (rounds);
}

static void
quiet_liblinear(const char *s)
{
	(void)s;
}

static rk_err
train_lr(const struct churn_row *rows, const int *y, int n, churn_model *m)
{
	struct feature_node *nodes = xcalloc((size_t)n * (CHURN_NFEAT + 2),
	    sizeof(*nodes));
	struct feature_node **x = xcalloc((size_t)n, sizeof(*x));
	double *yy = xcalloc((size_t)n, sizeof(double));
	struct problem prob = {n, CHURN_NFEAT + 1, yy, x, 1.0};
	struct parameter param;
	struct model *lm;
	int pos;

	for (int j = 0; j < CHURN_NFEAT; j++) {
		double s = 0, ss = 0;

		for (int i = 0; i < n; i++) {
			s += rows[i].x[j];
			ss += (double)rows[i].x[j] * rows[i].x[j];
		}
		m->mean[j] = s / n;
		m->sd[j] = sqrt(fmax(ss / n - m->mean[j] * m->mean[j], 0));
		if (m->sd[j] < 1e-9)
			m->sd[j] = 1;
	}
	for (int i = 0; i < n; i++) {
		struct feature_node *f = nodes + (size_t)i * (CHURN_NFEAT + 2);

		for (int j = 0; j < CHURN_NFEAT; j++) {
			f[j].index = j + 1;
			f[j].value = (rows[i].x[j] - m->mean[j]) / m->sd[j];
		}
		f[CHURN_NFEAT].index = CHURN_NFEAT + 1;	/* bias */
		f[CHURN_NFEAT].value = 1.0;
		f[CHURN_NFEAT + 1].index = -1;
		x[i] = f;
		yy[i] = y[i];
	}
	memset(&param, 0, sizeof(param));
	param.solver_type = L2R_LR;
	param.C = 1.0;
	param.eps = 0.01;
	set_print_string_function(quiet_liblinear);
	if (check_parameter(&prob, &param) != NULL) {
		free(nodes);
		free(x);
		free(yy);
		return (RK_EINVAL);
	}
	lm = train(&prob, &param);
	/* The decision value is for label[0]: orient it to "churned". */
	pos = lm->label[0] == 1 ? 1 : -1;
	for (int j = 0; j < CHURN_NFEAT; j++)
		m->w[j] = pos * lm->w[j];
	m->b = pos * lm->w[CHURN_NFEAT] * prob.bias;
	free_and_destroy_model(&lm);
	free(nodes);
	free(x);
	free(yy);
	return (RK_OK);
}

static rk_err
xgb_check(int rv, const char *what)
{
	if (rv == 0)
		return (RK_OK);
	log_error("XGBOOST-FAIL", "%s: %s", what, XGBGetLastError());
	return (RK_EINTERNAL);
}

static DMatrixHandle
dmatrix(const struct churn_row *rows, int n)
{
	float *data = xmalloc(sizeof(float) * (size_t)n * CHURN_NFEAT);
	DMatrixHandle d = NULL;

	for (int i = 0; i < n; i++)
		memcpy(data + (size_t)i * CHURN_NFEAT, rows[i].x,
		    sizeof(float) * CHURN_NFEAT);
	if (xgb_check(XGDMatrixCreateFromMat(data, (bst_ulong)n, CHURN_NFEAT,
	    NAN, &d), "creating a DMatrix") != RK_OK)
		d = NULL;
	free(data);
	return (d);
}

/* The held-out AUC in an xgboost evaluation line ("[7]\tstop-auc:0.91"). */
static double
eval_auc(const char *line)
{
	const char *c = strrchr(line, ':');

	return (c != NULL ? strtod(c + 1, NULL) : NAN);
}

/*
 * Boosts on four fifths of the rows and watches the AUC of the other fifth
 * after every round: the model keeps the rounds up to the best, once
 * GBT_PATIENCE rounds have passed without a better one (or GBT_MAX_ROUNDS).
 * Trees past that point only fit noise, and every tree costs every score.
 * With fewer than GBT_SPLIT_MIN rows there is too little to hold out:
 * GBT_SMALL_ROUNDS rounds on all of them. One thread: a second one took
 * 0.08 s off a million customers' fit but kept its own histograms and
 * malloc arena, 3 MB nearer the profiler's 64 MB.
 */
static rk_err
train_gbt(const struct churn_row *rows, const int *y, int n, churn_model *m)
{
	static const char *const params[][2] = {
		{"objective", "binary:logistic"}, {"max_depth", "4"},
		{"eta", "0.2"}, {"subsample", "0.8"}, {"min_child_weight", "5"},
		{"eval_metric", "auc"}, {"nthread", "1"}, {"seed", "1"},
		{"tree_method", "hist"},
		{"verbosity", "0"},
	};
	bool hold = n >= GBT_SPLIT_MIN;
	float *part[2], *label[2];
	int np[2] = {0, 0}, best = 0, rounds = hold ? GBT_MAX_ROUNDS :
	    GBT_SMALL_ROUNDS;
	DMatrixHandle d[2] = {NULL, NULL};
	const char *names[1] = {"stop"};
	double best_auc = -1;
	rk_err rc = RK_OK;

	/* part[0] boosts; part[1], every fifth row, is held out: the
	 * features only, as the matrices xgboost copies them from */
	for (int k = 0; k < 2; k++) {
		part[k] = xmalloc(sizeof(float) * CHURN_NFEAT * (size_t)n);
		label[k] = xmalloc(sizeof(float) * (size_t)n);
	}
	for (int i = 0; i < n; i++) {
		int k = hold && i % 5 == 4;

		memcpy(part[k] + (size_t)np[k] * CHURN_NFEAT, rows[i].x,
		    sizeof(float) * CHURN_NFEAT);
		label[k][np[k]++] = (float)y[i];
	}
	for (int k = 0; rc == RK_OK && k < (hold ? 2 : 1); k++) {
		rc = xgb_check(XGDMatrixCreateFromMat(part[k], (bst_ulong)np[k],
		    CHURN_NFEAT, NAN, &d[k]), "creating a DMatrix");
		free(part[k]);
		part[k] = NULL;
		if (rc == RK_OK)
			rc = xgb_check(XGDMatrixSetFloatInfo(d[k], "label", label[k],
			    (bst_ulong)np[k]), "setting labels");
	}
	if (rc == RK_OK)
		rc = xgb_check(XGBoosterCreate(d, hold ? 2 : 1, &m->booster),
		    "creating a booster");
	for (size_t i = 0; rc == RK_OK && i < sizeof(params) / sizeof(params[0]);
	    i++)
		rc = xgb_check(XGBoosterSetParam(m->booster, params[i][0],
		    params[i][1]), "setting a parameter");
	for (int it = 0; rc == RK_OK && it < rounds; it++) {
		const char *ev;
		double auc;

		rc = xgb_check(XGBoosterUpdateOneIter(m->booster, it, d[0]),
		    "boosting");
		if (rc != RK_OK || !hold)
			continue;
		rc = xgb_check(XGBoosterEvalOneIter(m->booster, it, &d[1], names,
		    1, &ev), "evaluating");
		if (rc != RK_OK)
			break;
		auc = eval_auc(ev);
		if (isnan(auc)) {
			log_error("XGBOOST-FAIL", "no AUC in \"%s\"", ev);
			rc = RK_EINTERNAL;
		} else if (auc > best_auc) {
			best_auc = auc;
			best = it;
		} else if (it - best >= GBT_PATIENCE) {
			break;
		}
	}
	if (rc == RK_OK && hold) {
		BoosterHandle kept;

		rc = xgb_check(XGBoosterSlice(m->booster, 0, best + 1, 1, &kept),
		    "keeping the best rounds");
		if (rc == RK_OK) {
			XGBoosterFree(m->booster);
			m->booster = kept;
			log_info("GBT-ROUNDS", "%d rounds kept, held-out AUC %.3f on "
			    "%d rows", best + 1, best_auc, np[1]);
		}
	}
	for (int k = 0; k < 2; k++) {
		if (d[k] != NULL)
			XGDMatrixFree(d[k]);
		free(part[k]);
		free(label[k]);
	}
	return (rc);
}

rk_err
churn_train(enum churn_kind k, const struct churn_row *rows, const int *y,
    int n, churn_model **out)
{
	churn_model *m = xcalloc(1, sizeof(*m));
	int pos = 0;
	rk_err rc;

	*out = NULL;
	for (int i = 0; i < n; i++)
		pos += y[i] != 0;
	if (n < 10 || pos == 0 || pos == n) {
		free(m);
		return (RK_EINVAL);
	}
	m->kind = k;
	rc = k == CHURN_LR ? train_lr(rows, y, n, m) : train_gbt(rows, y, n, m);
	if (rc != RK_OK) {
		churn_model_free(m);
		return (rc);
	}
	*out = m;
	return (RK_OK);
}

/* LR contributions and P for one row. */
static double
lr_row(const churn_model *m, const struct churn_row *r, float *contrib)
{
	double z = m->b;

	for (int j = 0; j < CHURN_NFEAT; j++) {
		double c = m->w[j] * (r->x[j] - m->mean[j]) / m->sd[j];

		z += c;
		if (contrib != NULL)
			contrib[j] = (float)c;
	}
	return (1.0 / (1.0 + exp(-z)));
}

rk_err
churn_score(const churn_model *m, const struct churn_row *rows, int n,
    double *p, float *contrib)
{
	DMatrixHandle d;
	const bst_ulong *shape;
	bst_ulong dim;
	const float *res;
	rk_err rc;

	if (m->kind == CHURN_LR) {
		for (int i = 0; i < n; i++)
			p[i] = calib_apply(&m->cal, lr_row(m, &rows[i], contrib ?
			    contrib + (size_t)i * CHURN_NFEAT : NULL));
		return (RK_OK);
	}
	if (n == 0)
		return (RK_OK);
	if ((d = dmatrix(rows, n)) == NULL)
		return (RK_EINTERNAL);
	rc = xgb_check(XGBoosterPredictFromDMatrix(m->booster, d,
	    "{\"type\": 0, \"training\": false, \"iteration_begin\": 0, "
	    "\"iteration_end\": 0, \"strict_shape\": false}", &shape, &dim, &res),
	    "predicting");
	for (int i = 0; rc == RK_OK && i < n; i++)
		p[i] = calib_apply(&m->cal, res[i]);
	if (rc == RK_OK && contrib != NULL) {
		/* n x (features + bias) contributions, by the fast path-based
		 * approximation (type 3; exact TreeSHAP is type 2 and several
		 * times slower): they only rank the reasons. Drop the bias. */
		rc = xgb_check(XGBoosterPredictFromDMatrix(m->booster, d,
		    "{\"type\": 3, \"training\": false, \"iteration_begin\": 0, "
		    "\"iteration_end\": 0, \"strict_shape\": false}", &shape, &dim,
		    &res), "explaining");
		for (int i = 0; rc == RK_OK && i < n; i++)
			memcpy(contrib + (size_t)i * CHURN_NFEAT,
			    res + (size_t)i * (CHURN_NFEAT + 1),
			    sizeof(float) * CHURN_NFEAT);
	}
	XGDMatrixFree(d);
	return (rc);
}

double
churn_predict(const churn_model *m, const struct churn_row *row)
{
	double p = NAN;

	(void)churn_score(m, row, 1, &p, NULL);
	return (p);
}

static int
cmp_pair(const void *a, const void *b)
{
	double x = ((const double *)a)[0], y = ((const double *)b)[0];

	return ((x > y) - (x < y));
}

double
churn_auc(const double *score, const int *y, int n)
{
	double *pairs = xmalloc(sizeof(double) * 2 * (size_t)(n ? n : 1));
	double ranksum = 0, npos = 0, nneg;

	for (int i = 0; i < n; i++) {
		pairs[2 * i] = score[i];
		pairs[2 * i + 1] = y[i];
	}
	qsort(pairs, (size_t)n, 2 * sizeof(double), cmp_pair);
	for (int i = 0; i < n;) {
		int j = i;
		double rank;

		while (j < n && pairs[2 * j] == pairs[2 * i])
			j++;
		rank = (i + 1 + j) / 2.0;	/* average rank of the tie */
		for (int k = i; k < j; k++)
			if (pairs[2 * k + 1] != 0) {
				ranksum += rank;
				npos++;
			}
		i = j;
	}
	free(pairs);
	nneg = n - npos;
	if (npos == 0 || nneg == 0)
		return (NAN);
	return ((ranksum - npos * (npos + 1) / 2) / (npos * nneg));
}

char *
churn_model_save(const churn_model *m)
{
	json_t *o = json_pack("{s:s,s:i}", "kind", m->kind == CHURN_LR ? "lr" :
	    "gbt", "nfeat", CHURN_NFEAT);
	char *s;

	if (m->cal.kind != CALIB_NONE)
		json_object_set_new(o, "calibration", calib_to_json(&m->cal));
	if (m->kind == CHURN_LR) {
		json_t *mean = json_array(), *sd = json_array(), *w = json_array();

		for (int j = 0; j < CHURN_NFEAT; j++) {
			json_array_append_new(mean, json_real(m->mean[j]));
			json_array_append_new(sd, json_real(m->sd[j]));
			json_array_append_new(w, json_real(m->w[j]));
		}
		json_object_set_new(o, "mean", mean);
		json_object_set_new(o, "sd", sd);
		json_object_set_new(o, "w", w);
		json_object_set_new(o, "b", json_real(m->b));
	} else {
		/* xgboost's own JSON, as the value of "model" */
		const char *raw;
		bst_ulong len;
		json_t *model = NULL;

		if (xgb_check(XGBoosterSaveModelToBuffer(m->booster,
		    "{\"format\": \"json\"}", &len, &raw), "saving") == RK_OK)
			model = json_loadb(raw, (size_t)len, 0, NULL);
		if (model == NULL) {
			json_decref(o);
			return (NULL);
		}
		json_object_set_new(o, "model", model);
	}
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return (s);
}

rk_err
churn_model_load(const char *text, churn_model **out)
{
	json_t *o = json_loads(text, 0, NULL);
	const char *kind = json_string_value(json_object_get(o, "kind"));
	churn_model *m;
	rk_err rc = RK_OK;

	*out = NULL;
	/* a model of other features (an older release's) cannot score */
	if (kind == NULL || json_integer_value(json_object_get(o, "nfeat")) !=
	    CHURN_NFEAT) {
		json_decref(o);
		return (RK_EPROTO);
	}
	m = xcalloc(1, sizeof(*m));
	calib_from_json(json_object_get(o, "calibration"), &m->cal);
	if (strcmp(kind, "lr") == 0) {
		m->kind = CHURN_LR;
		for (int j = 0; j < CHURN_NFEAT; j++) {
			m->mean[j] = json_real_value(json_array_get(
			    json_object_get(o, "mean"), (size_t)j));
			m->sd[j] = json_real_value(json_array_get(
			    json_object_get(o, "sd"), (size_t)j));
			m->w[j] = json_real_value(json_array_get(
			    json_object_get(o, "w"), (size_t)j));
			if (m->sd[j] == 0)
				m->sd[j] = 1;
		}
		m->b = json_real_value(json_object_get(o, "b"));
	} else {
		char *raw = json_dumps(json_object_get(o, "model"), JSON_COMPACT);

		m->kind = CHURN_GBT;
		rc = raw == NULL ? RK_EPROTO : xgb_check(XGBoosterCreate(NULL, 0,
		    &m->booster), "creating a booster");
		if (rc == RK_OK)
			rc = xgb_check(XGBoosterLoadModelFromBuffer(m->booster, raw,
			    strlen(raw)), "loading");
		/* A loaded model scores batches inside one profiler of a pool:
		 * the pool is the parallelism, and OpenMP threads waiting
		 * between small batches only burn the other profilers' CPU. */
		if (rc == RK_OK)
			rc = xgb_check(XGBoosterSetParam(m->booster, "nthread", "1"),
			    "setting a parameter");
		free(raw);
	}
	json_decref(o);
	if (rc != RK_OK) {
		churn_model_free(m);
		return (rc);
	}
	*out = m;
	return (RK_OK);
}

void
churn_set_calibration(churn_model *m, const struct calib *c)
{
	m->cal = *c;
}

const struct calib *
churn_calibration(const churn_model *m)
{
	return (&m->cal);
}

void
churn_model_free(churn_model *m)
{
	if (m == NULL)
		return;
	if (m->booster != NULL)
		XGBoosterFree(m->booster);
	free(m);
}
