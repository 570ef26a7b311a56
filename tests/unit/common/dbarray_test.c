/* dbarray_test.c - the array literals passed as statement parameters and
 * read back from results: quoting, NULL elements, round trips, and rows
 * gathered a column a literal (dbrows). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "db.h"
#include "dbrows.h"

static void
test_text_array_quotes_escapes_and_nulls(void **state)
{
	arena *a = arena_create(1024);
	const char *in[] = {"plain", "a \"quoted\" word", "back\\slash", NULL,
	    "", "Trần, Lan"};

	(void)state;
	assert_string_equal(db_text_array(a, in, 6), "{\"plain\","
	    "\"a \\\"quoted\\\" word\",\"back\\\\slash\",NULL,\"\","
	    "\"Trần, Lan\"}");
	assert_string_equal(db_text_array(a, in, 0), "{}");
	assert_string_equal(db_text_array(a, in + 3, 1), "{NULL}");
	arena_destroy(a);
}

static void
test_int64_array_and_split_round_trip(void **state)
{
	arena *a = arena_create(1024);
	const int64_t ids[] = {1, -7, INT64_MAX, 0};
	size_t n;
	char **v;

	(void)state;
	assert_string_equal(db_int64_array(a, ids, 4),
	    "{1,-7,9223372036854775807,0}");
	v = db_array_split(a, db_int64_array(a, ids, 4), &n);
	assert_int_equal(n, 4);
	assert_string_equal(v[2], "9223372036854775807");
	v = db_array_split(a, "{}", &n);
	assert_int_equal(n, 0);
	arena_destroy(a);
}

static void
test_rows_go_as_one_literal_a_column(void **state)
{
	arena *a = arena_create(1024);
	struct dbrows r;
	const char *p[3], **row;

	(void)state;
	dbrows_init(&r, a, 3, 4);
	dbrows_params(&r, p);
	assert_string_equal(p[0], "{}");
	row = dbrows_add(&r);
	row[0] = "7";
	row[1] = "Trần, Lan";
	row[2] = NULL;
	row = dbrows_add(&r);
	row[0] = "8";
	row[1] = "a \"b\"";
	row[2] = "x";
	dbrows_params(&r, p);
	assert_string_equal(p[0], "{\"7\",\"8\"}");
	assert_string_equal(p[1], "{\"Trần, Lan\",\"a \\\"b\\\"\"}");
	assert_string_equal(p[2], "{NULL,\"x\"}");
	dbrows_clear(&r);
	assert_int_equal(r.n, 0);
	row = dbrows_add(&r);
	row[0] = "9";
	row[1] = row[2] = "";
	dbrows_params(&r, p);
	assert_string_equal(p[0], "{\"9\"}");
	arena_destroy(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_array_quotes_escapes_and_nulls),
		cmocka_unit_test(test_int64_array_and_split_round_trip),
		cmocka_unit_test(test_rows_go_as_one_literal_a_column),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
