/* rfm_test.c - rank-based RFM scores (ties share one; no collapse on a
 * value most customers have) and segments that agree with the state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "rfm.h"

static void
test_uniform_values_fill_the_five_quintiles(void **state)
{
	double v[1000];
	struct rfm_table t;
	int count[6] = {0};

	(void)state;
	for (int i = 0; i < 1000; i++)
		v[i] = i;
	rfm_table_of(v, 1000, &t);
	for (int i = 0; i < 1000; i++)
		count[rfm_score(&t, i, false)]++;
	for (int s = 1; s <= 5; s++)
		assert_in_range(count[s], 180, 220);
	/* lower is better turns the scale over */
	assert_int_equal(rfm_score(&t, 0, true), 5);
	assert_int_equal(rfm_score(&t, 999, true), 1);
	/* beyond the sample */
	assert_int_equal(rfm_score(&t, -5, false), 1);
	assert_int_equal(rfm_score(&t, 5000, false), 5);
}

static void
test_a_value_most_customers_share_takes_the_middle_of_its_tie(void **state)
{
	/* CDNOW-like purchase days: 65 % one day, then a long tail */
	double v[1000];
	struct rfm_table t;
	int seen[6] = {0};

	(void)state;
	for (int i = 0; i < 1000; i++)
		v[i] = i < 650 ? 1 : i < 800 ? 2 : i < 900 ? 3 : 4 + (i - 900) / 10;
	rfm_table_of(v, 1000, &t);
	/* everyone with one purchase day has the same score, the middle of
	 * its 65 % tie (mid-rank 0.325): 2 - not 1 for everyone below the
	 * 80th percentile, which is what cut-offs at [1, 1, 1, 2] gave */
	assert_int_equal(rfm_score(&t, 1, false), 2);
	assert_int_equal(rfm_score(&t, 2, false), 4);
	assert_int_equal(rfm_score(&t, 3, false), 5);
	assert_int_equal(rfm_score(&t, 12, false), 5);
	for (int i = 0; i < 1000; i++)
		seen[rfm_score(&t, v[i], false)]++;
	assert_int_equal(seen[2], 650);
	assert_int_equal(seen[4], 150);
	assert_int_equal(seen[5], 200);
}

static void
test_segments_never_contradict_the_state(void **state)
{
	static const char *const never_lost[] = {"New", "Promising",
	    "Potential loyalists", "Champions", "Loyal", "Needs attention",
	    "About to sleep", NULL};
	static const char *const never_active[] = {"Lost", "Hibernating",
	    "At risk", "Cannot lose them", NULL};

	(void)state;
	for (int rs = 1; rs <= 5; rs++)
		for (int fs = 1; fs <= 5; fs++) {
			const char *lost = rfm_segment(rs, fs, LC_LOST, true),
			    *dormant = rfm_segment(rs, fs, LC_DORMANT, true),
			    *active = rfm_segment(rs, fs, LC_ACTIVE, true),
			    *fresh = rfm_segment(rs, fs, LC_NEW, true);

			for (int i = 0; never_lost[i] != NULL; i++) {
				assert_string_not_equal(lost, never_lost[i]);
				assert_string_not_equal(dormant, never_lost[i]);
			}
			for (int i = 0; never_active[i] != NULL; i++) {
				assert_string_not_equal(active, never_active[i]);
				assert_string_not_equal(fresh, never_active[i]);
			}
			assert_string_not_equal(active, "New");
		}
	assert_string_equal(rfm_segment(1, 1, LC_LOST, true), "Lost");
	assert_string_equal(rfm_segment(5, 1, LC_LOST, true), "Lost");
	assert_string_equal(rfm_segment(5, 5, LC_DORMANT, true),
	    "Cannot lose them");
	assert_string_equal(rfm_segment(5, 1, LC_NEW, true), "New");
	assert_string_equal(rfm_segment(5, 1, LC_ACTIVE, true), "Promising");
	assert_string_equal(rfm_segment(1, 1, LC_ACTIVE, true),
	    "About to sleep");
	assert_string_equal(rfm_segment(0, 0, LC_LOST, false), "No purchase");
}

static void
test_inputs_follow_the_window(void **state)
{
	struct profile_result r;
	double f, m;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.purchase_days = 9;
	r.spend = 90000;
	for (int i = 0; i < 4; i++) {
		static const int days[4] = {30, 90, 180, 365};

		r.win[i].days = days[i];
		r.win[i].spend_minor = 1000 * (i + 1);
		r.win_purchase_days[i] = i + 1;
	}
	rfm_inputs(&r, 0, &f, &m);
	assert_true(f == 9 && m == 90000);
	rfm_inputs(&r, 365, &f, &m);
	assert_true(f == 4 && m == 4000);
	assert_true(rfm_window_ok(0) && rfm_window_ok(90) && !rfm_window_ok(7));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uniform_values_fill_the_five_quintiles),
		cmocka_unit_test(test_a_value_most_customers_share_takes_the_middle_of_its_tie),
		cmocka_unit_test(test_segments_never_contradict_the_state),
		cmocka_unit_test(test_inputs_follow_the_window),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
