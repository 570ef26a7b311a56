/* dueheap_test.c - the timer heap gives timers back earliest first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>

#include "dueheap.h"

static void
test_order(void **state)
{
	struct dueheap h;
	int64_t last = -1;
	size_t n = 0;

	(void)state;
	dueheap_init(&h);
	assert_null(dueheap_peek(&h));
	srand(42);
	for (int i = 0; i < 5000; i++)
		dueheap_push(&h, rand() % 1000, i);
	while (dueheap_peek(&h) != NULL) {
		assert_true(dueheap_peek(&h)->due_us >= last);
		last = dueheap_peek(&h)->due_us;
		dueheap_pop(&h);
		n++;
	}
	assert_int_equal(n, 5000);
	/* ties by id */
	dueheap_push(&h, 5, 9);
	dueheap_push(&h, 5, 3);
	assert_int_equal(dueheap_peek(&h)->id, 3);
	dueheap_free(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
