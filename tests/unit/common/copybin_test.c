/* copybin_test.c - the binary COPY stream, byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "copybin.h"

static void
test_header_tuple_trailer_bytes(void **state)
{
	static const unsigned char want[] = {
	    'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0,
	    0, 0, 0, 0, 0, 0, 0, 0,			/* flags, extension */
	    0, 3,					/* 3 fields */
	    0, 0, 0, 2, 'h', 'i',			/* text */
	    0xff, 0xff, 0xff, 0xff,			/* NULL */
	    0, 0, 0, 2, 0x13, 0x88,			/* int16 5000 */
	    0xff, 0xff};				/* trailer */
	copybin b;

	(void)state;
	copybin_init(&b);
	copybin_header(&b);
	copybin_tuple(&b, 3);
	copybin_text(&b, "hi", 2);
	copybin_null(&b);
	copybin_int16(&b, 5000);
	copybin_trailer(&b);
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.buf, want, sizeof(want));
	copybin_fini(&b);
}

static void
test_timestamptz_counts_from_2000(void **state)
{
	copybin b;

	(void)state;
	copybin_init(&b);
	copybin_timestamptz(&b, COPYBIN_PG_EPOCH_US + 1);
	assert_int_equal(b.len, 12);
	assert_int_equal(b.buf[3], 8);
	assert_int_equal(b.buf[11], 1);
	for (int i = 4; i < 11; i++)
		assert_int_equal(b.buf[i], 0);
	copybin_reset(&b);
	copybin_int64(&b, -2);
	assert_int_equal(b.buf[4], 0xff);
	assert_int_equal(b.buf[11], 0xfe);
	copybin_fini(&b);
}

static void
test_grows_past_initial_buffer(void **state)
{
	char big[100000];
	copybin b;

	(void)state;
	memset(big, 'x', sizeof(big));
	copybin_init(&b);
	for (int i = 0; i < 5; i++)
		copybin_text(&b, big, sizeof(big));
	assert_int_equal(b.len, 5 * (4 + sizeof(big)));
	copybin_fini(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_tuple_trailer_bytes),
		cmocka_unit_test(test_timestamptz_counts_from_2000),
		cmocka_unit_test(test_grows_past_initial_buffer),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
