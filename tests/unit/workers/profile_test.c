/* profile_test.c - the per-customer accumulator on hand-made histories. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "profile.h"

#define DAY INT64_C(86400000000)
#define AS_OF (INT64_C(20000) * DAY)	/* day 20000, a Sunday */

static const struct profile_rules rules = {30, 45, 3.0, 90, 365, 0};

static struct profile_txn
txn(int64_t day, int64_t amount, int cat, int partner)
{
	struct profile_txn t = {AS_OF - day * DAY + 10 * 3600 * INT64_C(1000000),
	    0, amount, true, 3, 10, cat, partner, false};

	return (t);
}

static void
test_weekly_shopper_is_active_with_a_seven_day_rhythm(void **state)
{
	struct profile p = {0};
	struct profile_result r;

	(void)state;
	profile_begin(&p, AS_OF, &rules);
	for (int w = 52; w >= 1; w--) {
		struct profile_txn t = txn(w * 7, 200000, 2, w % 4 == 0 ? 1 : 0);

		if (w % 2 == 0)
			t.local_dow = 6;	/* every other on Saturday */
		profile_add(&p, &t);
	}
	profile_finish(&p, &r);
	assert_int_equal(r.count, 52);
	assert_true(r.median_gap_days == 7);
	assert_true(r.p90_gap_days == 7);
	assert_int_equal(r.days_since_last, 7);
	assert_true(fabs(r.overdue_ratio - 1.0) < 1e-9);
	assert_int_equal(r.state, LC_ACTIVE);
	assert_int_equal(r.ntop_categories, 1);
	assert_int_equal(r.top_categories[0].index, 2);
	assert_true(r.top_categories[0].spend_share > 0.99);
	assert_int_equal(r.top_partners[0].index, 0);
	assert_true(fabs(r.top_partners[0].count_share - 39.0 / 52) < 1e-9);
	assert_true(fabs(r.weekend_spend_share - 0.5) < 1e-9);
	assert_int_equal(r.peak_hour, 10);
	assert_int_equal(r.win[0].count, 4);	/* days 7, 14, 21, 28 */
	assert_int_equal(r.win[3].count, 52);
	/* distinct purchase days per window, counted back along the gaps */
	assert_int_equal(r.win_purchase_days[0], 4);
	assert_int_equal(r.win_purchase_days[1], 12);	/* 7 .. 84 */
	assert_int_equal(r.win_purchase_days[2], 25);	/* 7 .. 175 */
	assert_int_equal(r.win_purchase_days[3], 52);
	assert_int_equal(r.purchase_days, 52);
	assert_true(r.btyd_x == 51);
	profile_fini(&p);
}

static void
test_went_quiet_is_dormant_since_day_90_after_last(void **state)
{
	struct profile p = {0};
	struct profile_result r;

	(void)state;
	profile_begin(&p, AS_OF, &rules);
	for (int d = 300; d >= 120; d -= 10) {
		struct profile_txn t = txn(d, 50000, 1, -1);

		profile_add(&p, &t);
	}
	profile_finish(&p, &r);
	assert_int_equal(r.days_since_last, 120);
	assert_int_equal(r.state, LC_DORMANT);
	assert_true(r.state_since_us == AS_OF - 120 * DAY + 10 * 3600 *
	    INT64_C(1000000) + 90 * DAY);
	assert_true(fabs(r.overdue_ratio - 12.0) < 1e-9);
	assert_true(r.spend_trend == -1.0 || r.spend_trend < 0);
	profile_fini(&p);
}

static void
test_new_lost_and_at_risk_by_rhythm(void **state)
{
	struct profile p = {0};
	struct profile_result r;
	struct profile_txn t;

	(void)state;
	profile_begin(&p, AS_OF, &rules);
	t = txn(3, 1000, -1, -1);
	profile_add(&p, &t);
	profile_finish(&p, &r);
	assert_int_equal(r.state, LC_NEW);

	profile_begin(&p, AS_OF, &rules);
	t = txn(400, 1000, -1, -1);
	profile_add(&p, &t);
	profile_finish(&p, &r);
	assert_int_equal(r.state, LC_LOST);

	/* Daily buyer silent for 10 days: overdue 10x its 1-day rhythm. */
	profile_begin(&p, AS_OF, &rules);
	for (int d = 60; d >= 10; d--) {
		t = txn(d, 1000, -1, -1);
		profile_add(&p, &t);
	}
	profile_finish(&p, &r);
	assert_int_equal(r.state, LC_AT_RISK);
	assert_true(r.median_gap_days == 1);
	profile_fini(&p);
}

static void
test_refunds_lower_spend_but_are_not_purchases(void **state)
{
	struct profile p = {0};
	struct profile_result r;
	struct profile_txn a = txn(20, 10000, 0, -1), b = txn(5, -4000, 0, -1);

	(void)state;
	profile_begin(&p, AS_OF, &rules);
	profile_add(&p, &a);
	profile_add(&p, &b);
	profile_finish(&p, &r);
	assert_int_equal(r.count, 1);
	assert_int_equal(r.spend, 6000);
	assert_int_equal(r.days_since_last, 20);
	profile_fini(&p);
}

static void
test_came_back_is_active_since_its_return(void **state)
{
	struct profile p = {0};
	struct profile_result r;
	struct profile_txn t;

	(void)state;
	profile_begin(&p, AS_OF, &rules);
	for (int d = 300; d >= 200; d -= 5) {
		t = txn(d, 1000, -1, -1);
		profile_add(&p, &t);
	}
	for (int d = 20; d >= 2; d -= 3) {
		t = txn(d, 1000, -1, -1);
		profile_add(&p, &t);
	}
	profile_finish(&p, &r);
	assert_int_equal(r.state, LC_ACTIVE);
	assert_true(r.state_since_us == AS_OF - 20 * DAY + 10 * 3600 *
	    INT64_C(1000000));
	assert_true(r.spend_trend == 1.0);
	profile_fini(&p);
}

/* The usual gap and the 90th percentile of gaps in any order, for a few
 * gaps (sorted by insertion) and for many (by qsort). */
static void
test_gap_quantiles_whatever_the_order(void **state)
{
	static const int sizes[] = {2, 7, 20, 48, 49, 200};

	(void)state;
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct profile p = {0};
		struct profile_result r;
		int n = sizes[k], count[14] = {0}, sorted[200], m = 0, day = 0;
		double pos, want[2];

		for (int i = 0; i < n; i++) {
			int g = (i * 7919) % 13 + 1;

			count[g]++;
			day += g;
		}
		for (int g = 1; g <= 13; g++)
			for (int c = 0; c < count[g]; c++)
				sorted[m++] = g;
		for (int q = 0; q < 2; q++) {
			pos = (q ? 0.9 : 0.5) * (n - 1);
			want[q] = (int)pos + 1 < n ? sorted[(int)pos] + (pos -
			    (int)pos) * (sorted[(int)pos + 1] - sorted[(int)pos]) :
			    sorted[n - 1];
		}
		profile_begin(&p, AS_OF, &rules);
		day += 1;
		for (int i = 0; i <= n; i++) {
			struct profile_txn t = txn(day, 1000, 0, 0);

			profile_add(&p, &t);
			if (i < n)
				day -= (i * 7919) % 13 + 1;
		}
		profile_finish(&p, &r);
		assert_int_equal(r.purchase_days, n + 1);
		assert_true(fabs(r.median_gap_days - want[0]) < 1e-9);
		assert_true(fabs(r.p90_gap_days - want[1]) < 1e-9);
		profile_fini(&p);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_weekly_shopper_is_active_with_a_seven_day_rhythm),
		cmocka_unit_test(test_went_quiet_is_dormant_since_day_90_after_last),
		cmocka_unit_test(test_new_lost_and_at_risk_by_rhythm),
		cmocka_unit_test(test_refunds_lower_spend_but_are_not_purchases),
		cmocka_unit_test(test_came_back_is_active_since_its_return),
		cmocka_unit_test(test_gap_quantiles_whatever_the_order),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
