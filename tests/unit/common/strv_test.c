/* strv_test.c - string arrays: sorted, repeats dropped, searchable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "strv.h"

static void
test_sort_unique(void **state)
{
	const char *v[] = {"S2", "S10", "S2", "A", "S10", "S2", "b"};
	const char *want[] = {"A", "S10", "S2", "b"};
	const char *key = "S2", *missing = "S3";
	size_t n;

	(void)state;
	n = strv_sort_unique(v, sizeof(v) / sizeof(v[0]));
	assert_int_equal(n, 4);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(v[i], want[i]);
	assert_ptr_equal(bsearch(&key, v, n, sizeof(*v), strv_cmp), &v[2]);
	assert_null(bsearch(&missing, v, n, sizeof(*v), strv_cmp));
	assert_int_equal(strv_sort_unique(v, 0), 0);
	assert_int_equal(strv_sort_unique(v, 1), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sort_unique),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
