/*
 * gate_test.c - the provider circuit breaker's rules (gate.h): shut by a
 * batch with no answer, one probe at a time after 1 s doubling to a
 * minute, opened by any answer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gate.h"

#define S INT64_C(1000000)

static void
test_open_until_a_batch_goes_unanswered(void **state)
{
	struct gate g = GATE_INITIALIZER;

	(void)state;
	assert_int_equal(gate_state(&g, 0), GATE_OPEN);
	/* one call answered among failures: the provider is there */
	assert_false(gate_result(&g, 0, 1, 40, false));
	assert_int_equal(gate_state(&g, 0), GATE_OPEN);
	/* nothing to say: a batch of withheld calls */
	assert_false(gate_result(&g, 0, 0, 0, false));
	assert_int_equal(gate_state(&g, 0), GATE_OPEN);
	/* one or two unanswered at a campaign's tail: faults, not an
	 * outage */
	assert_false(gate_result(&g, 5 * S, 0, 2, false));
	assert_int_equal(gate_state(&g, 5 * S), GATE_OPEN);
	/* every call of three or more unanswered: shut */
	assert_true(gate_result(&g, 10 * S, 0, 3, false));
	assert_true(gate_shut(&g));
	assert_int_equal(gate_state(&g, 10 * S), GATE_SHUT);
}

static void
test_one_probe_after_a_doubling_wait(void **state)
{
	struct gate g = GATE_INITIALIZER;
	int64_t t = 0, waits[] = {1, 2, 4, 8, 16, 32, 60, 60};

	(void)state;
	(void)gate_result(&g, t, 0, 5, false);
	for (size_t i = 0; i < sizeof(waits) / sizeof(waits[0]); i++) {
		assert_int_equal(gate_state(&g, t + waits[i] * S - 1), GATE_SHUT);
		assert_int_equal(gate_state(&g, t + waits[i] * S), GATE_PROBE);
		/* one lane has the probe: the others wait for it */
		assert_int_equal(gate_state(&g, t + waits[i] * S), GATE_SHUT);
		t += waits[i] * S;
		/* the probe unanswered: shut longer (not "just shut") */
		assert_false(gate_result(&g, t, 0, 1, true));
	}
	/* a batch that left before the gate shut and ends after says
	 * nothing new: the wait is the probe's */
	(void)gate_result(&g, t + 30 * S, 0, 9, false);
	assert_int_equal(gate_state(&g, t + 60 * S), GATE_PROBE);
	/* the probe answered (even a refusal): open */
	assert_true(gate_result(&g, t + 61 * S, 1, 0, true));
	assert_int_equal(gate_state(&g, t + 61 * S), GATE_OPEN);
	/* and the next outage starts again from 1 s */
	(void)gate_result(&g, t + 70 * S, 0, 4, false);
	assert_int_equal(gate_state(&g, t + 71 * S), GATE_PROBE);
}

static void
test_a_probe_that_sent_nothing_gives_the_probe_back(void **state)
{
	struct gate g = GATE_INITIALIZER;

	(void)state;
	(void)gate_result(&g, 0, 0, 3, false);
	assert_int_equal(gate_state(&g, S), GATE_PROBE);
	/* nothing was due, or the claim failed: another lane may try now */
	assert_false(gate_result(&g, S, 0, 0, true));
	assert_int_equal(gate_state(&g, S), GATE_PROBE);
	assert_true(gate_shut(&g));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_until_a_batch_goes_unanswered),
		cmocka_unit_test(test_one_probe_after_a_doubling_wait),
		cmocka_unit_test(test_a_probe_that_sent_nothing_gives_the_probe_back),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
