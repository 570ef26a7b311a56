/* variants_test.c - the split between variants: weights to bucket ranges,
 * and Thompson sampling's shares following the outcomes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>

#include "variants.h"

static void
test_ranges_cover_every_bucket_once(void **state)
{
	const double third[3] = {1.0 / 3, 1.0 / 3, 1.0 / 3}, tiny[3] = {0.9999,
	    0.00005, 0.00005}, weights[2] = {3, 1};
	int lo[3], hi[3];

	(void)state;
	variants_ranges(third, 3, lo, hi);
	assert_int_equal(lo[0], 0);
	assert_int_equal(hi[0], lo[1]);
	assert_int_equal(hi[1], lo[2]);
	assert_int_equal(hi[2], VARIANT_BUCKETS);
	assert_int_equal(hi[0], 3333);
	/* a share too small to round to a bucket still has one */
	variants_ranges(tiny, 3, lo, hi);
	assert_true(hi[1] > lo[1] && hi[2] > lo[2]);
	assert_int_equal(hi[2], VARIANT_BUCKETS);
	/* shares need not sum to 1: 3:1 */
	variants_ranges(weights, 2, lo, hi);
	assert_int_equal(hi[0], 7500);
	assert_int_equal(hi[1], VARIANT_BUCKETS);
}

static void
test_thompson_follows_the_outcomes(void **state)
{
	const int64_t none[2] = {0, 0}, clear_s[2] = {10, 60},
	    clear_n[2] = {200, 200}, close_s[2] = {20, 22}, close_n[2] = {200,
	    200};
	double share[2], again[2];

	(void)state;
	/* nothing known: an even chance each */
	variants_thompson(none, none, 2, 20000, 7, share);
	assert_true(share[0] > 0.47 && share[0] < 0.53);
	assert_true(share[0] + share[1] > 0.999 && share[0] + share[1] < 1.001);
	/* 5 % against 30 %: nearly all to the second */
	variants_thompson(clear_s, clear_n, 2, 20000, 7, share);
	assert_true(share[1] > 0.999);
	/* 10 % against 11 %: still exploring both */
	variants_thompson(close_s, close_n, 2, 20000, 7, share);
	assert_true(share[1] > 0.55 && share[1] < 0.8);
	/* the same seed and outcomes give the same shares */
	variants_thompson(close_s, close_n, 2, 20000, 7, again);
	assert_true(share[1] == again[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ranges_cover_every_bucket_once),
		cmocka_unit_test(test_thompson_follows_the_outcomes),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
