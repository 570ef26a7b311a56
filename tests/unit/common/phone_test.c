/* phone_test.c - Vietnamese numbers to E.164; e-mail checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "phone.h"

static void
test_normalizes_all_three_forms(void **state)
{
	static const char *in[] = {"0912345678", "84912345678",
	    "+84912345678", "+84 912 345 678", "(091) 234-5678", "091.234.5678"};
	char out[16];

	(void)state;
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		assert_int_equal(phone_normalize_vn(in[i], out, sizeof(out)),
		    RK_OK);
		assert_string_equal(out, "+84912345678");
	}
}

static void
test_accepts_landlines(void **state)
{
	char out[16];

	(void)state;
	assert_int_equal(phone_normalize_vn("02438123456", out, sizeof(out)),
	    RK_OK);
	assert_string_equal(out, "+842438123456");
}

static void
test_rejects_bad_numbers(void **state)
{
	static const char *bad[] = {"", "12345", "091234567", "09123456789",
	    "+1 415 555 0100", "0112345678", "0912abc678", "+0912345678",
	    "0412345678"};
	char out[16] = "unchanged";

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(phone_normalize_vn(bad[i], out, sizeof(out)),
		    RK_EINVAL);
	assert_string_equal(out, "unchanged");
}

static void
test_email_checks(void **state)
{
	(void)state;
	assert_true(email_valid("an.nguyen@example.com.vn"));
	assert_true(email_valid("a+tag@sub-domain.example.org"));
	assert_false(email_valid("no-at-sign.example.com"));
	assert_false(email_valid("two@@example.com"));
	assert_false(email_valid("a@localhost"));
	assert_false(email_valid(".a@example.com"));
	assert_false(email_valid("a..b@example.com"));
	assert_false(email_valid("a@-example.com"));
	assert_false(email_valid("a@example.c0m"));
	assert_false(email_valid("a b@example.com"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalizes_all_three_forms),
		cmocka_unit_test(test_accepts_landlines),
		cmocka_unit_test(test_rejects_bad_numbers),
		cmocka_unit_test(test_email_checks),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
