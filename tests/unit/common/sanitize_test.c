/* sanitize_test.c - contact data never survives sanitize_mask. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "sanitize.h"

static void
test_masks_vietnamese_phones_in_every_form(void **state)
{
	static const char *in[] = {"call 0912345678 now", "+84912345678",
	    "84 912 345 678", "0912-345-678"};
	char out[128];

	(void)state;
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		sanitize_mask(out, sizeof(out), in[i]);
		assert_null(strstr(out, "345"));
		assert_non_null(strstr(out, "<phone>"));
	}
}

static void
test_masks_email_addresses(void **state)
{
	char out[128];

	(void)state;
	sanitize_mask(out, sizeof(out), "to nguyen.van.a+x@example.com.vn ok");
	assert_string_equal(out, "to <email> ok");
}

static void
test_keeps_ids_and_amounts(void **state)
{
	char out[128];

	(void)state;
	sanitize_mask(out, sizeof(out), "job 12345 customer UK17850 150000");
	assert_string_equal(out, "job 12345 customer UK17850 150000");
}

static void
test_truncates_to_capacity(void **state)
{
	char out[8];

	(void)state;
	sanitize_mask(out, sizeof(out), "abcdefghijkl");
	assert_string_equal(out, "abcdefg");
}

static void
test_printable_replaces_control_bytes(void **state)
{
	char out[16];

	(void)state;
	sanitize_printable(out, sizeof(out), "a\nb\x01" "c", 64);
	assert_string_equal(out, "a?b?c");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_masks_vietnamese_phones_in_every_form),
		cmocka_unit_test(test_masks_email_addresses),
		cmocka_unit_test(test_keeps_ids_and_amounts),
		cmocka_unit_test(test_truncates_to_capacity),
		cmocka_unit_test(test_printable_replaces_control_bytes),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
