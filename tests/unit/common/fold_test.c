/*
 * fold_test.c - opt-out keywords whatever the case, diacritics (composed
 * or decomposed) and spacing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "fold.h"

#define KW "TC,HUY,TU CHOI,STOP"

static void
test_fold_words(void **state)
{
	char out[64];

	(void)state;
	fold_words("  Từ chối!! ", 64, out, sizeof(out));
	assert_string_equal(out, "TU CHOI");
	fold_words("ĐẶNG Thị Ánh-Nguyệt", 64, out, sizeof(out));
	assert_string_equal(out, "DANG THI ANH NGUYET");
	/* decomposed: U + combining hook above */
	fold_words("hu\xcc\x89y", 64, out, sizeof(out));
	assert_string_equal(out, "HUY");
	/* malformed UTF-8 separates words, never reads past n */
	fold_words("A\xe1\xbb", 3, out, sizeof(out));
	assert_string_equal(out, "A");
	/* a small output stays terminated */
	fold_words("abcdef", 6, out, 4);
	assert_string_equal(out, "ABC");
}

static void
test_keywords(void **state)
{
	char m[32];

	(void)state;
	const char *yes[] = {"TC", "tc", " Tc. ", "HUY", "Hủy", "huỷ", "HỦY BANK",
	    "Tu choi", "TỪ CHỐI", "từ   chối quảng cáo", "stop", "Stop!"};
	const char *no[] = {"", "TCB", "xin chao", "HUYEN", "TU", "CHOI",
	    "khong tu choi", "STOPPED"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		assert_true(fold_keyword(yes[i], strlen(yes[i]), KW, m, sizeof(m)));
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_false(fold_keyword(no[i], strlen(no[i]), KW, m, sizeof(m)));
	assert_true(fold_keyword("Từ chối", strlen("Từ chối"), KW, m, sizeof(m)));
	assert_string_equal(m, "TU CHOI");
	/* keywords written with diacritics match too */
	assert_true(fold_keyword("huy", 3, "HỦY", NULL, 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fold_words),
		cmocka_unit_test(test_keywords),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
