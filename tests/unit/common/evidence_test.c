/* evidence_test.c - ranking engagement evidence; message tokens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "evidence.h"
#include "msgtoken.h"

#define S(x) ((int64_t)(x) * 1000000)

static void
test_evidence(void **state)
{
	struct evidence_rules r;
	const char *why;
	static const char phone[] = "Mozilla/5.0 (Linux; Android 13; CUBOT "
	    "KingKong) Mobile Safari/537.36";

	(void)state;
	evidence_default_rules(&r);
	/* opens: weak from a person, machine from proxies, scanners, speed */
	assert_int_equal(evidence_of(&r, EV_OPENED, S(3600), phone, &why),
	    EVIDENCE_WEAK);
	assert_null(why);
	assert_int_equal(evidence_of(&r, EV_OPENED, S(3600), "Mozilla/5.0 "
	    "(Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via "
	    "ggpht.com GoogleImageProxy)", &why), EVIDENCE_MACHINE);
	assert_string_equal(why, "image proxy");
	assert_int_equal(evidence_of(&r, EV_OPENED, S(3), phone, &why),
	    EVIDENCE_MACHINE);
	assert_int_equal(evidence_of(&r, EV_OPENED, -1, phone, &why),
	    EVIDENCE_WEAK);
	/* clicks: strong, unless a scanner or too fast */
	assert_int_equal(evidence_of(&r, EV_CLICKED, S(600), phone, &why),
	    EVIDENCE_STRONG);
	assert_int_equal(evidence_of(&r, EV_CLICKED, S(600), "Mozilla/5.0 "
	    "(compatible; Mimecast URL Protection)", &why), EVIDENCE_MACHINE);
	assert_int_equal(evidence_of(&r, EV_CLICKED, S(1), phone, &why),
	    EVIDENCE_MACHINE);
	assert_int_equal(evidence_of(&r, EV_PAGE_VIEWED, S(600), "Googlebot/2.1 "
	    "(+http://www.google.com/bot.html)", &why), EVIDENCE_MACHINE);
	assert_int_equal(evidence_of(&r, EV_APP_OPENED, S(1), NULL, &why),
	    EVIDENCE_STRONG);
	/* facts */
	assert_int_equal(evidence_of(&r, EV_DELIVERED, S(1), NULL, &why),
	    EVIDENCE_STRONG);
	assert_int_equal(evidence_of(&r, EV_UNSUBSCRIBED, S(1), "curl/8", &why),
	    EVIDENCE_STRONG);
	assert_true(evidence_is_interest(EV_CLICKED));
	assert_false(evidence_is_interest(EV_OPENED));
}

static void
test_tokens(void **state)
{
	char t[MSGTOKEN_MAX];
	int64_t id = 0;

	(void)state;
	msgtoken_make("s3cret", 8812, t);
	assert_int_equal(strlen(t), 4 + 1 + 16);
	assert_true(msgtoken_verify("s3cret", t, strlen(t), &id));
	assert_int_equal(id, 8812);
	assert_false(msgtoken_verify("other", t, strlen(t), &id));
	t[strlen(t) - 1] = t[strlen(t) - 1] == '0' ? '1' : '0';
	assert_false(msgtoken_verify("s3cret", t, strlen(t), &id));
	assert_false(msgtoken_verify("s3cret", "08812.0000000000000000", 22,
	    &id));
	assert_false(msgtoken_verify("s3cret", "", 0, &id));
	msgtoken_make("s3cret", INT64_MAX, t);
	assert_true(msgtoken_verify("s3cret", t, strlen(t), &id));
	assert_true(id == INT64_MAX);
	/* past int64 (UBSan catches the overflow, were there one) */
	assert_false(msgtoken_verify("s3cret", "9223372036854775808.0000000000000000",
	    36, &id));
	assert_false(msgtoken_verify("s3cret",
	    "99999999999999999999999.0000000000000000", 40, &id));
	/* a token inside a longer path: only its own bytes count */
	msgtoken_make("s3cret", 7, t);
	strcat(t, "/open.gif");
	assert_true(msgtoken_verify("s3cret", t, 18, &id));
	assert_false(msgtoken_verify("s3cret", t, strlen(t), &id));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_evidence),
		cmocka_unit_test(test_tokens),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
