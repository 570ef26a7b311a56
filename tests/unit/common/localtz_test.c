/* localtz_test.c - local weekday and hour, fast path against libc. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "localtz.h"

#define US INT64_C(1000000)

static void
test_known_instants(void **state)
{
	static const struct {
		const char *zone;
		int64_t unix_s;
		int dow, hour;
	} c[] = {
		/* 2024-03-10 01:30 UTC: Sunday 08:30 in Ho Chi Minh City */
		{"Asia/Ho_Chi_Minh", INT64_C(1710034200), 7, 8},
		/* 06:30 and 07:30 UTC that day: 01:30 EST, then 03:30 EDT
		 * after New York's clocks went forward */
		{"America/New_York", INT64_C(1710052200), 7, 1},
		{"America/New_York", INT64_C(1710055800), 7, 3},
		/* before 1990 through libc: 1975-01-01 00:00 UTC was 08:00 in
		 * Saigon (UTC+8 then), a Wednesday */
		{"Asia/Ho_Chi_Minh", INT64_C(157766400), 3, 8},
		/* unknown zones count as UTC */
		{"Nowhere/Atlantis", INT64_C(1710034200), 7, 1},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		int dow, hour;

		localtz_dow_hour(c[i].zone, c[i].unix_s * US, &dow, &hour);
		assert_int_equal(dow, c[i].dow);
		assert_int_equal(hour, c[i].hour);
	}
}

/* The arithmetic agrees with localtime_r over many instants. */
static void
test_fast_path_matches_libc(void **state)
{
	static const char *const zone[] = {"Asia/Ho_Chi_Minh", "Asia/Kolkata",
	    "UTC", "Asia/Tokyo"};

	(void)state;
	srand(7);
	for (int i = 0; i < 20000; i++) {
		const char *z = zone[i % 4];
		int64_t s = INT64_C(700000000) + (int64_t)rand() % INT64_C(1500000000);
		char tz[80];
		struct tm lt;
		time_t t = (time_t)s;
		int dow, hour;

		localtz_dow_hour(z, s * US + 999999, &dow, &hour);
		snprintf(tz, sizeof(tz), ":%s", z);
		setenv("TZ", tz, 1);
		tzset();
		localtime_r(&t, &lt);
		assert_int_equal(hour, lt.tm_hour);
		assert_int_equal(dow, lt.tm_wday == 0 ? 7 : lt.tm_wday);
	}
}

/* Zones that move their clocks go through the process's TZ: threads
 * asking at once (a delivery process's lanes) get each its own answer. */
#define NT 4
#define NQ 4000
static const char *const moving[] = {"America/New_York", "Europe/Paris",
    "Australia/Sydney", "Asia/Ho_Chi_Minh"};
static int64_t when[NQ];
static int want[NQ][2];

static void *
ask(void *arg)
{
	int bad = 0;

	for (int round = 0; round < 5; round++)
		for (int i = (int)(intptr_t)arg; i < NQ; i++) {
			int dow, hour;

			localtz_dow_hour(moving[i % 4], when[i], &dow, &hour);
			bad += dow != want[i][0] || hour != want[i][1];
		}
	return ((void *)(intptr_t)bad);
}

static void
test_threads(void **state)
{
	pthread_t t[NT];

	(void)state;
	srand(11);
	for (int i = 0; i < NQ; i++) {
		when[i] = (INT64_C(700000000) + (int64_t)rand() %
		    INT64_C(1500000000)) * US;
		localtz_dow_hour(moving[i % 4], when[i], &want[i][0], &want[i][1]);
	}
	for (int k = 0; k < NT; k++)
		assert_int_equal(pthread_create(&t[k], NULL, ask,
		    (void *)(intptr_t)k), 0);
	for (int k = 0; k < NT; k++) {
		void *bad;

		pthread_join(t[k], &bad);
		assert_int_equal((intptr_t)bad, 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_instants),
		cmocka_unit_test(test_fast_path_matches_libc),
		cmocka_unit_test(test_threads),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
