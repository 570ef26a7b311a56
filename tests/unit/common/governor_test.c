/* governor_test.c - contact rules with a controlled clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>

#include "governor.h"

#define H INT64_C(3600000000)
/* 2025-03-03 00:00 UTC (a Monday) = 07:00 in Ho Chi Minh City */
#define T0 (INT64_C(1740960000) * 1000000)

static struct gov_decision
decide(int ch, int64_t now, int sent, int64_t oldest,
    const char *zone)
{
	struct gov_rules r;
	struct gov_request q = {ch, true, now, zone, true, true, false, sent,
	    oldest, 0, 0};
	struct gov_decision d;

	gov_default_rules(&r);
	gov_decide(&r, &q, &d);
	return (d);
}

static void
test_sms_window_defers_to_seven(void **state)
{
	struct gov_decision d;

	(void)state;
	/* 06:30 local: wait for 07:00 */
	d = decide(CHANNEL_SMS, T0 - H / 2, 0, 0, "Asia/Ho_Chi_Minh");
	assert_int_equal(d.verdict, GOV_DEFER);
	assert_int_equal(d.reason, GOV_OUTSIDE_WINDOW);
	assert_true(d.not_before_us == T0);
	/* 21:59 local: send; 22:00 local: tomorrow 07:00 */
	d = decide(CHANNEL_SMS, T0 + 15 * H - 60000000, 0, 0, "Asia/Ho_Chi_Minh");
	assert_int_equal(d.verdict, GOV_SEND);
	d = decide(CHANNEL_SMS, T0 + 15 * H, 0, 0, "Asia/Ho_Chi_Minh");
	assert_int_equal(d.verdict, GOV_DEFER);
	assert_true(d.not_before_us == T0 + 24 * H);
	/* the recipient's zone counts: 00:00 UTC is 19:00 in New York */
	d = decide(CHANNEL_SMS, T0, 0, 0, "America/New_York");
	assert_int_equal(d.verdict, GOV_SEND);
	d = decide(CHANNEL_SMS, T0 + 4 * H, 0, 0, "America/New_York");
	assert_true(d.not_before_us == T0 + 12 * H);	/* 07:00 EST */
}

/* The campaign's own window, in the recipient's local minutes, inside the
 * channel's hours. */
static void
test_campaign_window(void **state)
{
	struct gov_rules r;
	struct gov_request q = {CHANNEL_ZNS, true, T0, "Asia/Ho_Chi_Minh", true,
	    true, false, 0, 0, 8 * 60 + 10, 9 * 60 + 30};
	struct gov_decision d;

	(void)state;
	gov_default_rules(&r);
	/* 07:00 local: wait for 08:10, to the minute */
	gov_decide(&r, &q, &d);
	assert_int_equal(d.verdict, GOV_DEFER);
	assert_int_equal(d.reason, GOV_OUTSIDE_WINDOW);
	assert_true(d.not_before_us == T0 + H + 10 * 60000000LL);
	/* 09:29 sends; 09:30 waits for tomorrow 08:10 */
	q.now_us = T0 + 2 * H + 29 * 60000000LL;
	gov_decide(&r, &q, &d);
	assert_int_equal(d.verdict, GOV_SEND);
	q.now_us = T0 + 2 * H + 30 * 60000000LL;
	gov_decide(&r, &q, &d);
	assert_true(d.not_before_us == T0 + 25 * H + 10 * 60000000LL);
	/* 21:00-02:00 spans midnight: 23:00 sends, 03:00 waits for 21:00 */
	q.window_from_min = 21 * 60;
	q.window_until_min = 2 * 60;
	q.now_us = T0 + 16 * H;
	gov_decide(&r, &q, &d);
	assert_int_equal(d.verdict, GOV_SEND);
	q.now_us = T0 + 20 * H;
	gov_decide(&r, &q, &d);
	assert_true(d.not_before_us == T0 + 38 * H);
	/* with SMS's 07-22 hours too, only 21:00-22:00 is left */
	q.channel = CHANNEL_SMS;
	q.now_us = T0 + 15 * H + 60000000LL;	/* 22:01 */
	gov_decide(&r, &q, &d);
	assert_true(d.not_before_us == T0 + 38 * H);
}

static void
test_daily_caps_defer_until_a_slot_frees(void **state)
{
	struct gov_decision d;

	(void)state;
	/* 3 SMS in 24 h, the oldest 10 h ago (at 00:00 local): the next at
	 * 00:00 local tomorrow, which is outside the window: 07:00 */
	d = decide(CHANNEL_SMS, T0 + 3 * H, 3, T0 - 7 * H, "Asia/Ho_Chi_Minh");
	assert_int_equal(d.verdict, GOV_DEFER);
	assert_int_equal(d.reason, GOV_DAILY_CAP);
	assert_true(d.not_before_us == T0 + 24 * H);
	/* emails have no window: exactly 24 h after the oldest */
	d = decide(CHANNEL_EMAIL, T0 + 3 * H, 3, T0 - 2 * H, "Asia/Ho_Chi_Minh");
	assert_int_equal(d.reason, GOV_DAILY_CAP);
	assert_true(d.not_before_us == T0 + 22 * H);
	d = decide(CHANNEL_EMAIL, T0 + 3 * H, 2, T0 - 2 * H, "Asia/Ho_Chi_Minh");
	assert_int_equal(d.verdict, GOV_SEND);
	/* one call a day, 08:00-17:00 */
	d = decide(CHANNEL_CALL, T0 + 2 * H, 1, T0 + H, "Asia/Ho_Chi_Minh");
	assert_int_equal(d.reason, GOV_DAILY_CAP);
	assert_true(d.not_before_us == T0 + 25 * H);
	d = decide(CHANNEL_CALL, T0 + 10 * H, 0, 0, "Asia/Ho_Chi_Minh");	/* 17:00 */
	assert_true(d.not_before_us == T0 + 25 * H);
	/* push and ZNS have neither cap nor window by default */
	assert_int_equal(decide(CHANNEL_PUSH, T0 - 5 * H, 50, T0 - 6 * H,
	    "Asia/Ho_Chi_Minh").verdict, GOV_SEND);
}

static void
test_consent_dnc_address_deny(void **state)
{
	struct gov_rules r;
	struct gov_request q = {CHANNEL_SMS, true, T0 + H, "Asia/Ho_Chi_Minh", true,
	    true, true, 0, 0, 0, 0};
	struct gov_decision d;

	(void)state;
	gov_default_rules(&r);
	gov_decide(&r, &q, &d);
	assert_int_equal(d.verdict, GOV_DENY);
	assert_string_equal(gov_reason_code(d.reason), "do_not_call");
	/* a service SMS (not advertising) to a DNC number, at night */
	q.advertising = false;
	q.now_us = T0 - 3 * H;
	gov_decide(&r, &q, &d);
	assert_int_equal(d.verdict, GOV_SEND);
	q.advertising = true;
	q.do_not_call = false;
	q.consent = false;
	gov_decide(&r, &q, &d);
	assert_string_equal(gov_reason_code(d.reason), "no_consent");
	q.has_address = false;
	gov_decide(&r, &q, &d);
	assert_string_equal(gov_reason_code(d.reason), "no_address");
	/* limits are configuration */
	q.has_address = q.consent = true;
	q.now_us = T0 + H;
	q.sent_24h = 3;
	q.oldest_us = T0;
	r.per_24h[CHANNEL_SMS] = 5;
	gov_decide(&r, &q, &d);
	assert_int_equal(d.verdict, GOV_SEND);
}

/* The pace: slots an interval apart, rounded up; idle time not banked. */
static void
test_pace_slots(void **state)
{
	int64_t tat = 0, now = T0;

	(void)state;
	/* three calls at once at 3 a second: now, then 1/3 s apart */
	assert_true(gov_pace_slot(&tat, now, 3) == now);
	assert_true(gov_pace_slot(&tat, now, 3) == now + 333334);
	assert_true(gov_pace_slot(&tat, now, 3) == now + 666668);
	assert_true(tat == now + 1000002);
	/* after a quiet minute the next call goes at once: no burst saved */
	now += 60 * INT64_C(1000000);
	assert_true(gov_pace_slot(&tat, now, 3) == now);
	assert_true(tat == now + 333334);
	/* no limit */
	assert_true(gov_pace_slot(&tat, now + 5, 0) == now + 5);
	assert_true(tat == now + 333334);
	/* the highest rate still moves on */
	tat = 0;
	assert_true(gov_pace_slot(&tat, now, INT32_MAX) == now);
	assert_true(gov_pace_slot(&tat, now, INT32_MAX) == now + 1);
}

/* Calls at random times, each going at its slot: in every window of t
 * seconds at most rate x t + 1 of them. */
static void
test_pace_bound(void **state)
{
	enum { N = 2000 };
	static int64_t at[N];
	int64_t tat = 0, now = T0;
	unsigned seed = 7;
	const int rate = 50;

	(void)state;
	for (int i = 0; i < N; i++) {
		seed = seed * 1103515245u + 12345u;
		now += (int64_t)(seed >> 16) % 40000;	/* 0-40 ms apart */
		at[i] = gov_pace_slot(&tat, now, rate);
		assert_true(at[i] >= now);
		if (i > 0)
			assert_true(at[i] - at[i - 1] >= 1000000 / rate);
	}
	for (int64_t w = 1; w <= 5; w++)
		for (int i = 0, j = 0; i < N; i++) {
			while (j < N && at[j] < at[i] + w * 1000000)
				j++;
			assert_true(j - i <= rate * w + 1);
		}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sms_window_defers_to_seven),
		cmocka_unit_test(test_daily_caps_defer_until_a_slot_frees),
		cmocka_unit_test(test_campaign_window),
		cmocka_unit_test(test_consent_dnc_address_deny),
		cmocka_unit_test(test_pace_slots),
		cmocka_unit_test(test_pace_bound),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
