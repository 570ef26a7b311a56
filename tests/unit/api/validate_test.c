/* validate_test.c - field checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "validate.h"

static void
test_ids(void **state)
{
	(void)state;
	assert_null(validate_id("CUST-001_a.b:c"));
	assert_non_null(validate_id(""));
	assert_non_null(validate_id(NULL));
	assert_non_null(validate_id("has space"));
	assert_non_null(validate_id("quote\""));
	assert_non_null(validate_id("12345678901234567890123456789012345678901"
	    "234567890123456789012345"));
}

static void
test_text_is_utf8_without_controls(void **state)
{
	(void)state;
	assert_null(validate_text("Nguyễn Văn A", 200));
	assert_non_null(validate_text("bad\x01", 200));
	assert_non_null(validate_text("\xc3", 200));
	assert_non_null(validate_text("\xc0\x80", 200));
	assert_non_null(validate_text("toolong", 3));
}

static void
test_zones_languages_currencies_times(void **state)
{
	(void)state;
	assert_null(validate_time_zone("Asia/Ho_Chi_Minh"));
	assert_non_null(validate_time_zone("Mars/Olympus"));
	assert_non_null(validate_time_zone("../../etc/passwd"));
	assert_null(validate_language("vi"));
	assert_null(validate_language("en-US"));
	assert_non_null(validate_language("vietnamese"));
	assert_null(validate_currency("VND"));
	assert_non_null(validate_currency("vnd"));
	assert_null(validate_past_time(1700000000, 1800000000));
	assert_non_null(validate_past_time(1900000000, 1800000000));
	assert_non_null(validate_past_time(0, 1800000000));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_text_is_utf8_without_controls),
		cmocka_unit_test(test_zones_languages_currencies_times),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
