/* msgkey_test.c - the idempotency key: made and read back, ids with
 * colons and percents kept apart, malformed keys refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "channel.h"
#include "msgkey.h"

static void
make(const char *campaign, const char *customer, int step, int channel,
    char *out)
{
	struct msgkey k = {.step = step, .channel = channel};

	snprintf(k.campaign, sizeof(k.campaign), "%s", campaign);
	snprintf(k.customer, sizeof(k.customer), "%s", customer);
	assert_true(msgkey_make(&k, out, MSGKEY_MAX));
}

static void
test_msgkey_round_trips_plain_and_escaped_ids(void **state)
{
	static const char *const ids[][2] = {
		{"WAKE-2025-07", "UK12347"},
		{"a:b", "c"},		/* would read as campaign "a" */
		{"a", "b:c"},
		{"100%", "x%3Ay"},	/* a literal percent sequence */
		{"Chiến dịch", "khách hàng 1"},
	};
	char key[MSGKEY_MAX];
	struct msgkey k;

	(void)state;
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		make(ids[i][0], ids[i][1], 2, CHANNEL_ZNS, key);
		assert_null(strchr(key, ' '));
		assert_true(msgkey_parse(key, &k));
		assert_string_equal(k.campaign, ids[i][0]);
		assert_string_equal(k.customer, ids[i][1]);
		assert_int_equal(k.step, 2);
		assert_int_equal(k.channel, CHANNEL_ZNS);
	}
	make("WAKE", "C1", 0, CHANNEL_SMS, key);
	assert_string_equal(key, "WAKE:C1:0:sms");
}

static void
test_msgkey_ids_with_colons_never_share_a_key(void **state)
{
	char k1[MSGKEY_MAX], k2[MSGKEY_MAX];

	(void)state;
	/* "a:b" + "c" and "a" + "b:c" were both "a:b:c:..." */
	make("a:b", "c", 0, CHANNEL_SMS, k1);
	make("a", "b:c", 0, CHANNEL_SMS, k2);
	assert_string_not_equal(k1, k2);
}

static void
test_msgkey_refuses_malformed_keys(void **state)
{
	static const char *const bad[] = {
		"", "a:b:0", "a:b:0:sms:x", ":b:0:sms", "a::0:sms", "a:b::sms",
		"a:b:x:sms", "a:b:-1:sms", "a:b:99999:sms", "a:b:0:fax",
		"a%:b:0:sms", "a%4:b:0:sms", "a%zz:b:0:sms", "a%00:b:0:sms",
		"a b:c:0:sms",
		/* an entry: 2.., written only when not the first */
		"a:b:0:sms:1", "a:b:0:sms:0", "a:b:0:sms:02", "a:b:0:sms:",
		"a:b:0:sms:2:3", "a:b:0:sms:99999", "a:b:0::2",
	};
	struct msgkey k;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (msgkey_parse(bad[i], &k))
			fail_msg("accepted \"%s\"", bad[i]);
	assert_false(msgkey_parse(NULL, &k));
}

static void
test_msgkey_make_refuses_what_does_not_fit(void **state)
{
	struct msgkey k = {.campaign = "c", .customer = "x", .step = 0,
	    .channel = 99};
	char small[9], big[16];

	(void)state;
	assert_false(msgkey_make(&k, big, sizeof(big)));	/* no channel */
	k.channel = CHANNEL_SMS;
	assert_false(msgkey_make(&k, small, sizeof(small)));	/* 9 + NUL */
	assert_true(msgkey_make(&k, big, sizeof(big)));
	assert_string_equal(big, "c:x:0:sms");
}

static void
test_msgkey_entry_only_after_the_first(void **state)
{
	struct msgkey k = {.campaign = "ON", .customer = "C:1", .step = 1,
	    .channel = CHANNEL_ZNS, .entry = 1};
	char key[MSGKEY_MAX];

	(void)state;
	assert_true(msgkey_make(&k, key, sizeof(key)));
	assert_string_equal(key, "ON:C%3A1:1:zns");
	assert_true(msgkey_parse(key, &k));
	assert_int_equal(k.entry, 1);
	k.entry = 12;
	assert_true(msgkey_make(&k, key, sizeof(key)));
	assert_string_equal(key, "ON:C%3A1:1:zns:12");
	k.entry = 0;
	assert_true(msgkey_parse(key, &k));
	assert_int_equal(k.entry, 12);
	assert_int_equal(k.step, 1);
	assert_int_equal(k.channel, CHANNEL_ZNS);
	assert_string_equal(k.customer, "C:1");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msgkey_round_trips_plain_and_escaped_ids),
		cmocka_unit_test(test_msgkey_ids_with_colons_never_share_a_key),
		cmocka_unit_test(test_msgkey_refuses_malformed_keys),
		cmocka_unit_test(test_msgkey_make_refuses_what_does_not_fit),
		cmocka_unit_test(test_msgkey_entry_only_after_the_first),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
