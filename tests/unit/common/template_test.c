/* template_test.c - placeholders, channel limits, rendering, SMS segments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "template.h"

static void
test_placeholders_checked_when_saved(void **state)
{
	static const struct {
		enum tmpl_part part;
		const char *text;
		const char *why;	/* substring, NULL: valid */
	} c[] = {
		{TP_SMS, "Chào {name}, {offer} tại {partner} đến {expiry}: {link}",
		    NULL},
		{TP_SMS, "Ưu đãi {{đặc biệt}} cho {name}", NULL},
		{TP_SMS, "Chào {ten}", "unknown placeholder \"{ten}\""},
		{TP_SMS, "Chào {name", "without \"}\""},
		{TP_SMS, "Chào name}", "lone \"}\""},
		{TP_EMAIL_SUBJECT, "Quà cho\n{name}", "one line"},
		{TP_EMAIL_TEXT, "Dòng 1\nDòng 2 {code}", NULL},
		{TP_EMAIL_TEXT, "bad \xff byte", "UTF-8"},
		{TP_PUSH_TITLE, "{offer} {partner}", "may render to 101 characters"},
		{TP_PUSH_TITLE, "{partner} tặng bạn", NULL},
	};
	char buf[256];

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		const char *why = tmpl_check(c[i].part, c[i].text, buf,
		    sizeof(buf));

		if (c[i].why == NULL)
			assert_null(why);
		else {
			assert_non_null(why);
			assert_non_null(strstr(why, c[i].why));
		}
	}
}

/* Vietnamese forces UCS-2 (70 a segment, 67 when split): the prefix, the
 * longest values of the placeholders and the text must fit in 4 segments
 * (268 characters). */
static void
test_sms_segments_worst_case(void **state)
{
	char long_text[400], buf[256];

	(void)state;
	assert_int_equal(tmpl_sms_segments("Hello {}"), 1);
	memset(long_text, 'a', 161);
	long_text[161] = '\0';
	assert_int_equal(tmpl_sms_segments(long_text), 2);
	assert_int_equal(tmpl_sms_segments("Chào bạn"), 1);
	/* 71 UCS-2 characters: 2 segments */
	strcpy(long_text, "ư");
	for (int i = 0; i < 70; i++)
		strcat(long_text, "a");
	assert_int_equal(tmpl_sms_segments(long_text), 2);
	/* prefix 5 + name 40 + offer 60 + partner 40 + link 48 = 193 */
	assert_null(tmpl_check(TP_SMS, "{name} {offer} {partner} {link}", buf,
	    sizeof(buf)));
	assert_non_null(strstr(tmpl_check(TP_SMS, "{name} {offer} {partner} "
	    "{link} Ưu đãi chỉ dành riêng cho bạn trong tháng này, nhanh tay "
	    "lên kẻo lỡ, số lượng có hạn, áp dụng cho chủ thẻ tín dụng",
	    buf, sizeof(buf)), "SMS segments"));
}

static void
test_render_escapes_and_cuts(void **state)
{
	const char *vals[TV_N] = {"Nguyễn <Văn> A", "Giảm 50%", "TIKI",
	    "31/12/2025", "TK-123", "https://r.example/t/abc"};
	char out[256], small[8];
	size_t n;

	(void)state;
	n = tmpl_render("Chào {name}! {{{offer}}} {link}", vals, false, out,
	    sizeof(out));
	assert_string_equal(out, "Chào Nguyễn <Văn> A! {Giảm 50%} "
	    "https://r.example/t/abc");
	assert_int_equal(n, strlen(out));
	tmpl_render("<b>{name}</b>", vals, true, out, sizeof(out));
	assert_string_equal(out, "<b>Nguyễn &lt;Văn&gt; A</b>");
	/* absent values render empty; output is cut, the needed length told */
	vals[TV_CODE] = NULL;
	assert_int_equal(tmpl_render("[{code}]", vals, false, out, sizeof(out)),
	    2);
	assert_int_equal(tmpl_render("{partner} {partner}", vals, false, small,
	    sizeof(small)), 9);
	assert_int_equal(strlen(small), 7);
	/* values longer than their placeholder allows are cut to it */
	vals[TV_EXPIRY] = "31/12/2025 23:59";
	tmpl_render("{expiry}", vals, false, out, sizeof(out));
	assert_string_equal(out, "31/12/2025");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_placeholders_checked_when_saved),
		cmocka_unit_test(test_sms_segments_worst_case),
		cmocka_unit_test(test_render_escapes_and_cuts),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
