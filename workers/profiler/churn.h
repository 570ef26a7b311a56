/*
 * churn.h - churn risk: features of a customer at a cut-off date, two
 * model families trained on the bank's own history (logistic regression
 * with liblinear, gradient-boosted trees with libxgboost's C API), AUC
 * to choose between them, and each feature's contribution to a score
 * (reasons.h tells them in words).
 *
 * Label: no card purchase in the 90 days after the cut-off. Training
 * cut-offs: as-of - 180, - 270 and - 360 days, stacked (fit.h);
 * validation (a later, held-out period): as-of - 90 days. Scores are
 * computed at as-of from the profile.
 */
#ifndef RK_CHURN_H
#define RK_CHURN_H

#include <stdbool.h>
#include <stdint.h>

#include "calib.h"
#include "err.h"
#include "profile.h"

#define CHURN_NFEAT 15
#define CHURN_HORIZON_DAYS 90
#define CHURN_MAX_REASONS 3

enum churn_kind { CHURN_LR, CHURN_GBT };

/* One customer at one cut-off. */
struct churn_row {
	float x[CHURN_NFEAT];		/* model inputs (transformed) */
	/* raw values for reason texts */
	int days_since;
	double median_gap, overdue, trend;
	int64_t count90, count365, purchase_days;
};

/* Feature names, for reports and stored models. */
extern const char *const churn_feature_names[CHURN_NFEAT];

/*
 * Fills row from a profile and the customer's tenure at the profile's date
 * (days since the first purchase).
 */
void churn_row_from(const struct profile_result *r, double tenure_days,
    struct churn_row *row);

/* Days between a profile's first purchase and as_of_us (0 if none). */
double churn_tenure_days(const struct profile_result *r, int64_t as_of_us);

typedef struct churn_model churn_model;

/* Trains on n rows with labels y (1 = churned). RK_EINVAL if one class. */
rk_err churn_train(enum churn_kind k, const struct churn_row *rows,
    const int *y, int n, churn_model **out);
/* P(churn) of a row (calibrated, once the model has a calibration). */
double churn_predict(const churn_model *m, const struct churn_row *row);
/*
 * P(churn) of n rows into p; if contrib is not NULL, also each feature's
 * contribution to the log-odds (n x CHURN_NFEAT).
 */
rk_err churn_score(const churn_model *m, const struct churn_row *rows, int n,
    double *p, float *contrib);
enum churn_kind churn_model_kind(const churn_model *m);
/* Boosting rounds in a trees model (0 for logistic regression). */
int churn_model_rounds(const churn_model *m);
const char *churn_kind_name(enum churn_kind k);
/* From now on, scores are calibrated by c (fitted on the raw scores). */
void churn_set_calibration(churn_model *m, const struct calib *c);
const struct calib *churn_calibration(const churn_model *m);
/* Serialises the model to JSON (caller frees) / loads it back. */
char *churn_model_save(const churn_model *m);
rk_err churn_model_load(const char *json, churn_model **out);
void churn_model_free(churn_model *m);

/* Area under the ROC curve of scores against labels (ties averaged). */
double churn_auc(const double *score, const int *y, int n);

#endif
