/*
 * calib.h - probability calibration of a churn model's scores: Platt
 * scaling (a logistic curve on the score's log-odds) and isotonic
 * regression (pool-adjacent-violators, read by linear interpolation
 * between the pooled blocks), the reliability table and Brier score that
 * judge them, and which of the two to keep.
 *
 * Platt has two parameters, so it needs little data but can only bend the
 * scores along a sigmoid; isotonic regression follows any monotone
 * miscalibration but needs more data and flattens ties into steps. Which
 * one a model keeps is decided out of fold (each fifth of the calibration
 * rows scored by the calibrator fitted on the other four fifths),
 * so the choice and the reported "after" table are not judged on the rows
 * they were fitted to (Niculescu-Mizil & Caruana, "Predicting Good
 * Probabilities With Supervised Learning", ICML 2005, compare the two the
 * same way).
 */
#ifndef RK_CALIB_H
#define RK_CALIB_H

#include <jansson.h>
#include <stdbool.h>

#include "err.h"

enum calib_kind { CALIB_NONE, CALIB_PLATT, CALIB_ISOTONIC };

#define CALIB_BINS 10
/* At most this many isotonic knots are kept (blocks merged evenly). */
#define CALIB_MAX_KNOTS 512

struct calib {
	enum calib_kind kind;
	double a, b;			/* Platt: P = 1 / (1 + exp(-(a z + b))) */
	int n;				/* isotonic: knots */
	double x[CALIB_MAX_KNOTS], y[CALIB_MAX_KNOTS];
};

/* One reliability bin: scores in [lo, hi). */
struct calib_bin {
	double predicted, observed;	/* means over the bin */
	int count;
};

/* Fits kind to n scores p (0..1) and labels y (0/1). RK_EINVAL if one
 * class only or n < 2. */
rk_err calib_fit(enum calib_kind kind, const double *p, const int *y, int n,
    struct calib *out);
/* The calibrated probability of a raw score (c NULL or CALIB_NONE: p). */
double calib_apply(const struct calib *c, double p);
/* Mean squared error of p against y. */
double calib_brier(const double *p, const int *y, int n);
/* CALIB_BINS equal-width bins of p against y. */
void calib_table(const double *p, const int *y, int n,
    struct calib_bin bins[CALIB_BINS]);
/* Folds of calib_cross. */
#define CALIB_FOLDS 5

/*
 * Out-of-fold calibrated scores of kind into out: row i scored by the
 * calibrator fitted on the rows not in its fold (i mod CALIB_FOLDS).
 */
rk_err calib_cross(enum calib_kind kind, const double *p, const int *y,
    int n, double *out);
const char *calib_name(enum calib_kind k);

/* {"method": "isotonic", "x": [..], "y": [..]} or {"method": "platt",
 * "a": .., "b": ..}; NULL for none. */
json_t *calib_to_json(const struct calib *c);
/* Reads calib_to_json's form; anything else is CALIB_NONE. */
void calib_from_json(const json_t *j, struct calib *c);

#endif
