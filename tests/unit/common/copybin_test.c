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

/* What the encoder writes, the decoder reads back: the header is skipped
 * on the first row, the trailer reads as 0 fields. */
static void
test_parse_round_trip(void **state)
{
	struct copybin_field f[4];
	copybin b;
	size_t row;

	(void)state;
	copybin_init(&b);
	copybin_header(&b);
	copybin_tuple(&b, 4);
	copybin_text(&b, "S001", 4);
	copybin_timestamptz(&b, INT64_C(1700000000000000));
	copybin_null(&b);
	copybin_int16(&b, -7);
	row = b.len;
	assert_int_equal(copybin_parse(b.buf, row, f, 4), 4);
	assert_int_equal(f[0].len, 4);
	assert_memory_equal(f[0].p, "S001", 4);
	assert_true(copybin_get_timestamptz(&f[1]) == INT64_C(1700000000000000));
	assert_int_equal(f[2].len, -1);
	assert_int_equal(copybin_get_int(&f[2], 42), 42);
	assert_int_equal(copybin_get_int(&f[3], 0), -7);
	/* too many fields for the caller, or a truncated row: malformed */
	assert_int_equal(copybin_parse(b.buf, row, f, 3), -1);
	assert_int_equal(copybin_parse(b.buf, row - 1, f, 4), -1);
	copybin_trailer(&b);
	assert_int_equal(copybin_parse(b.buf + row, b.len - row, f, 4), 0);
	copybin_fini(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_tuple_trailer_bytes),
		cmocka_unit_test(test_timestamptz_counts_from_2000),
		cmocka_unit_test(test_grows_past_initial_buffer),
		cmocka_unit_test(test_parse_round_trip),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
