/* arena_test.c - alignment, growth, reset, the protobuf allocator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "rekindle/bus/v1/bus.pb-c.h"

static void
test_allocations_are_aligned_and_distinct(void **state)
{
	arena *a = arena_create(1024);
	char *p = arena_alloc(a, 3), *q = arena_alloc(a, 5);

	(void)state;
	assert_int_equal((uintptr_t)p % 16, 0);
	assert_int_equal((uintptr_t)q % 16, 0);
	assert_true(q >= p + 3);
	assert_string_equal(arena_printf(a, "%d-%s", 7, "x"), "7-x");
	assert_string_equal(arena_strndup(a, "abcdef", 3), "abc");
	arena_destroy(a);
}

static void
test_large_allocations_and_reset(void **state)
{
	arena *a = arena_create(1024);

	(void)state;
	for (int i = 0; i < 100; i++)
		memset(arena_alloc(a, 5000), i, 5000);
	assert_true(arena_used(a) >= 500000);
	arena_reset(a);
	assert_int_equal(arena_used(a), 0);
	memset(arena_zalloc(a, 100), 1, 100);
	arena_destroy(a);
	arena_destroy(NULL);
}

static void
test_protobuf_unpack_into_arena(void **state)
{
	Rekindle__Bus__V1__ProfileJob job = REKINDLE__BUS__V1__PROFILE_JOB__INIT;
	char *ids[] = {"a", "bb"};
	uint8_t buf[64];
	size_t n;
	arena *a = arena_create(1024);
	Rekindle__Bus__V1__ProfileJob *back;

	(void)state;
	job.n_customer_ids = 2;
	job.customer_ids = ids;
	n = rekindle__bus__v1__profile_job__pack(&job, buf);
	back = rekindle__bus__v1__profile_job__unpack(arena_pb_allocator(a), n,
	    buf);
	assert_non_null(back);
	assert_int_equal(back->n_customer_ids, 2);
	assert_string_equal(back->customer_ids[1], "bb");
	arena_destroy(a);	/* no free_unpacked needed */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allocations_are_aligned_and_distinct),
		cmocka_unit_test(test_large_allocations_and_reset),
		cmocka_unit_test(test_protobuf_unpack_into_arena),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
