/* jobq_test.c - retry backoff: exponential, capped, jittered. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "err.h"
#include "jobq.h"

static void
test_backoff_doubles_and_is_capped(void **state)
{
	(void)state;
	assert_true(jobq_backoff_s(1, 0) == 2.0);
	assert_true(jobq_backoff_s(2, 0) == 4.0);
	assert_true(jobq_backoff_s(5, 0) == 32.0);
	assert_true(jobq_backoff_s(40, 0) == 4096.0);
	assert_true(jobq_backoff_s(0, 0) == 2.0);
}

static void
test_backoff_jitter_is_at_most_a_quarter(void **state)
{
	(void)state;
	assert_true(jobq_backoff_s(3, 1.0) == 10.0);
	assert_true(jobq_backoff_s(3, 0.5) > 8.0);
}

static void
test_every_error_has_a_name_and_text(void **state)
{
	(void)state;
	for (int e = 0; e < RK_ERR_COUNT; e++) {
		assert_non_null(rk_strerror((rk_err)e));
		assert_string_not_equal(rk_errname((rk_err)e), "RK_E?");
	}
	assert_string_equal(rk_strerror(RK_ERR_COUNT), "unknown error");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff_doubles_and_is_capped),
		cmocka_unit_test(test_backoff_jitter_is_at_most_a_quarter),
		cmocka_unit_test(test_every_error_has_a_name_and_text),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
