/*
 * calib_test.c - Platt scaling and isotonic regression on scores whose
 * true probability is known, the out-of-fold reliability table, the JSON
 * round trip, and the BTYD degenerate-fit test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "btyd.h"
#include "calib.h"
#include "churn.h"
#include "unif.h"

#define N 20000

/*
 * Scores s uniform on (0, 1) whose true probability is q(s) = s^3 (an
 * over-confident model: a score of 0.5 is right one time in eight).
 */
static void
make(double *p, int *y, uint64_t seed)
{
	for (int i = 0; i < N; i++) {
		p[i] = unif(&seed);
		y[i] = unif(&seed) < p[i] * p[i] * p[i];
	}
}

static void
test_calibration_fixes_a_bent_model(void **state)
{
	static double p[N], oof[N];
	static int y[N];
	struct calib_bin bins[CALIB_BINS];
	double raw, brier[2];

	(void)state;
	make(p, y, 7);
	raw = calib_brier(p, y, N);
	for (int k = 0; k < 2; k++) {
		enum calib_kind kind = k ? CALIB_ISOTONIC : CALIB_PLATT;

		assert_int_equal(calib_cross(kind, p, y, N, oof), RK_OK);
		brier[k] = calib_brier(oof, y, N);
		assert_true(brier[k] < raw);
	}
	/* the bend is not a sigmoid of the log-odds: isotonic does better */
	assert_true(brier[1] < brier[0]);
	assert_int_equal(calib_cross(CALIB_ISOTONIC, p, y, N, oof), RK_OK);
	calib_table(oof, y, N, bins);
	for (int b = 0; b < CALIB_BINS; b++)
		if (bins[b].count >= 200)
			assert_true(fabs(bins[b].predicted - bins[b].observed) <=
			    0.05);
	/* and the raw scores were far off */
	calib_table(p, y, N, bins);
	assert_true(bins[5].predicted - bins[5].observed > 0.2);
}

static void
test_isotonic_is_monotone_and_round_trips(void **state)
{
	static double p[N];
	static int y[N];
	static struct calib c, back;
	json_t *j;
	double last = -1;

	(void)state;
	make(p, y, 11);
	assert_int_equal(calib_fit(CALIB_ISOTONIC, p, y, N, &c), RK_OK);
	assert_true(c.n > 1 && c.n <= CALIB_MAX_KNOTS);
	for (double s = 0; s <= 1; s += 0.001) {
		double v = calib_apply(&c, s);

		assert_true(v >= last - 1e-12 && v >= 0 && v <= 1);
		last = v;
	}
	/* near the truth in the middle */
	assert_true(fabs(calib_apply(&c, 0.8) - 0.512) < 0.06);
	j = calib_to_json(&c);
	calib_from_json(j, &back);
	json_decref(j);
	assert_int_equal(back.kind, CALIB_ISOTONIC);
	assert_true(fabs(calib_apply(&back, 0.37) - calib_apply(&c, 0.37)) <
	    1e-12);
	/* Platt round trip, and rubbish reads as no calibration */
	assert_int_equal(calib_fit(CALIB_PLATT, p, y, N, &c), RK_OK);
	assert_true(c.a > 1);	/* sharper than the raw log-odds */
	j = calib_to_json(&c);
	calib_from_json(j, &back);
	json_decref(j);
	assert_true(fabs(calib_apply(&back, 0.6) - calib_apply(&c, 0.6)) <
	    1e-12);
	j = json_pack("{s:s,s:[f,f],s:[f]}", "method", "isotonic", "x", 0.1, 0.2,
	    "y", 0.5);
	calib_from_json(j, &back);
	json_decref(j);
	assert_int_equal(back.kind, CALIB_NONE);
	assert_true(calib_apply(&back, 0.3) == 0.3);
}

static void
test_one_class_cannot_calibrate(void **state)
{
	double p[4] = {0.1, 0.2, 0.3, 0.4};
	int y[4] = {1, 1, 1, 1};
	struct calib c;

	(void)state;
	assert_int_equal(calib_fit(CALIB_PLATT, p, y, 4, &c), RK_EINVAL);
	assert_int_equal(calib_fit(CALIB_ISOTONIC, p, y, 4, &c), RK_EINVAL);
}

/* The boundaries of issue 16: Online Retail's a of 2e-14, the purchase-
 * card fit's a of 1e6 and b of 6e7, and an ordinary CDNOW fit. */
static void
test_degenerate_fits(void **state)
{
	struct btyd_params lo = {0.8, 60, 2e-14, 3, 0, 0},
	    off = {0.5, 10, 1e6, 6e7, 0, 0}, fine = {0.24, 4.4, 0.79, 2.43, 0, 0},
	    b0 = {0.5, 10, 0.5, 1e-9, 0, 0};
	char buf[320];

	(void)state;
	assert_non_null(btyd_degenerate(BTYD_MBGNBD, &lo, buf, sizeof(buf)));
	assert_non_null(strstr(buf, "no dropout heterogeneity"));
	assert_non_null(strstr(buf, "MBG/NBD"));
	assert_non_null(btyd_degenerate(BTYD_BGNBD, &off, buf, sizeof(buf)));
	assert_non_null(strstr(buf, "a/(a+b) = 0.0164"));
	assert_non_null(btyd_degenerate(BTYD_BGNBD, &b0, buf, sizeof(buf)));
	assert_null(btyd_degenerate(BTYD_BGNBD, &fine, buf, sizeof(buf)));
}

/* A calibrated model of either kind saves and loads to the same scores
 * (the saved text once overran its buffer by the framing's bytes). */
static void
test_calibrated_model_round_trip(void **state)
{
	static struct churn_row rows[2000];
	static int y[2000];
	static double raw[2000];
	uint64_t seed = 3;

	(void)state;
	for (int i = 0; i < 2000; i++) {
		for (int j = 0; j < CHURN_NFEAT; j++)
			rows[i].x[j] = (float)unif(&seed);
		y[i] = unif(&seed) < rows[i].x[0];
	}
	for (int k = CHURN_LR; k <= CHURN_GBT; k++) {
		churn_model *m, *back;
		struct calib c;
		char *text;

		assert_int_equal(churn_train((enum churn_kind)k, rows, y, 2000, &m),
		    RK_OK);
		assert_int_equal(churn_score(m, rows, 2000, raw, NULL), RK_OK);
		assert_int_equal(calib_fit(CALIB_ISOTONIC, raw, y, 2000, &c), RK_OK);
		churn_set_calibration(m, &c);
		text = churn_model_save(m);
		assert_non_null(text);
		assert_int_equal(churn_model_load(text, &back), RK_OK);
		assert_int_equal(churn_calibration(back)->kind, CALIB_ISOTONIC);
		for (int i = 0; i < 50; i++)
			assert_true(fabs(churn_predict(m, &rows[i]) -
			    churn_predict(back, &rows[i])) < 1e-6);
		free(text);
		churn_model_free(m);
		churn_model_free(back);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_calibration_fixes_a_bent_model),
		cmocka_unit_test(test_isotonic_is_monotone_and_round_trips),
		cmocka_unit_test(test_one_class_cannot_calibrate),
		cmocka_unit_test(test_degenerate_fits),
		cmocka_unit_test(test_calibrated_model_round_trip),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
