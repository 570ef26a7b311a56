/* csv_test.c - RFC 4180 records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "csv.h"

static void
test_quotes_commas_newlines_crlf(void **state)
{
	char text[] = "a,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\n"
	    "last,,\n";
	FILE *fp = fmemopen(text, strlen(text), "r");
	csv *r = csv_open(fp);
	struct csv_row row;

	(void)state;
	assert_int_equal(csv_next(r, &row), 1);
	assert_int_equal(row.n, 3);
	assert_string_equal(row.field[2], "c");
	assert_int_equal(csv_next(r, &row), 1);
	assert_string_equal(row.field[0], "x, y");
	assert_string_equal(row.field[1], "say \"hi\"");
	assert_string_equal(row.field[2], "two\nlines");
	assert_int_equal(csv_next(r, &row), 1);
	assert_int_equal(row.n, 3);
	assert_string_equal(row.field[1], "");
	assert_int_equal(csv_next(r, &row), 0);
	csv_close(r);
	fclose(fp);
}

static void
test_unterminated_quote_is_malformed(void **state)
{
	char text[] = "\"open,end\n";
	FILE *fp = fmemopen(text, strlen(text), "r");
	csv *r = csv_open(fp);
	struct csv_row row;

	(void)state;
	assert_int_equal(csv_next(r, &row), -1);
	csv_close(r);
	fclose(fp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quotes_commas_newlines_crlf),
		cmocka_unit_test(test_unterminated_quote_is_malformed),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
