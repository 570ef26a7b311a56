/* cred_test.c - the shared access token's rules (cred.h), on clocks the
 * test sets: renewed ahead of expiry by one lane while the others send,
 * not used in its last minute, renewed at once when refused (by one lane,
 * and not again for a token already replaced), and retried after a
 * failure at 1 s doubling to a minute. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>

#include "arena.h"
#include "cred.h"

#define S INT64_C(1000000)

/* A service account: no token until one is minted, then renewed ahead. */
static void
test_minted_ahead_of_expiry(void **state)
{
	struct cred c = CRED_INITIALIZER;
	bool a = false, b = false;
	int64_t t = 1700000000 * S, m = 1000 * S, life = 3600 * S;

	(void)state;
	cred_init(&c, NULL, NULL, 0, 0, true);
	/* no token: lane a mints, lane b waits for it */
	assert_int_equal(cred_state(&c, t, m, &a), CRED_RENEW);
	assert_true(a);
	assert_int_equal(cred_state(&c, t, m, &b), CRED_WAIT);
	assert_false(b);
	assert_true(cred_begin(&c, 0, &a));
	assert_false(a);
	cred_end(&c, "tok-1", NULL, t + life, life, m);
	assert_int_equal(cred_state(&c, t + S, m, &b), CRED_OK);
	/* five minutes before expiry (a quarter of an hour is more): one
	 * lane renews, the other goes on with the token */
	assert_int_equal(cred_state(&c, t + life - 301 * S, m, &a), CRED_OK);
	assert_int_equal(cred_state(&c, t + life - 300 * S, m, &a), CRED_RENEW);
	assert_int_equal(cred_state(&c, t + life - 299 * S, m, &b), CRED_OK);
	/* not in its last minute */
	assert_int_equal(cred_state(&c, t + life - 60 * S, m, &b), CRED_WAIT);
	assert_true(cred_begin(&c, 0, &a));
	cred_end(&c, "tok-2", NULL, t + 2 * life, life, m);
	assert_int_equal(cred_state(&c, t + life - 30 * S, m, &b), CRED_OK);
	cred_fini(&c);
}

/* A short-lived token: margins of a quarter and a tenth of its life. */
static void
test_short_life_margins(void **state)
{
	struct cred c = CRED_INITIALIZER;
	bool a = false;
	int64_t t = 1700000000 * S, m = 5 * S, life = 8 * S;

	(void)state;
	cred_init(&c, "tok", "rt", t + life, life, true);
	assert_int_equal(cred_state(&c, t + 5 * S, m, &a), CRED_OK);
	assert_int_equal(cred_state(&c, t + 6 * S, m, &a), CRED_RENEW);
	assert_true(cred_begin(&c, 0, &a));
	/* 0.8 s before the end (a tenth of 8 s): no longer used */
	assert_int_equal(cred_state(&c, t + 7 * S + 200000, m, &a), CRED_WAIT);
	cred_end(&c, "tok2", "rt2", t + 6 * S + life, life, m);
	assert_int_equal(cred_state(&c, t + 7 * S + 200000, m, &a), CRED_OK);
	cred_fini(&c);
}

/* Refused: one lane renews; a lane whose refused token was already
 * replaced does nothing; failures are retried 1, 2, 4 ... 60 s later. */
static void
test_refused_and_retried(void **state)
{
	struct cred c = CRED_INITIALIZER;
	arena *ar = arena_create(256);
	unsigned seen_a, seen_b, seen_c;
	bool a = false, b = false, cl = false;
	int64_t t = 1700000000 * S, m = 100 * S;
	static const int64_t waits[] = {1, 2, 4, 8, 16, 32, 60, 60};

	(void)state;
	/* a token of unknown expiry, renewable (a refresh token) */
	cred_init(&c, "tok", "rt", 0, 0, true);
	assert_string_equal(cred_use(&c, ar, &seen_a), "tok");
	cred_use(&c, ar, &seen_b);
	assert_string_equal(cred_refresh(&c, ar), "rt");
	assert_int_equal(cred_state(&c, t + 86400 * S, m, &a), CRED_OK);
	/* both lanes' requests refused: the first renews, not the second */
	assert_true(cred_begin(&c, seen_a, &a));
	assert_int_equal(cred_state(&c, t, m, &cl), CRED_WAIT);
	assert_false(cred_begin(&c, seen_b, &b));
	for (size_t i = 0; i < sizeof(waits) / sizeof(waits[0]); i++) {
		cred_end(&c, NULL, NULL, 0, 0, m);
		assert_int_equal(cred_state(&c, t, m + waits[i] * S - 1, &cl),
		    CRED_WAIT);
		assert_int_equal(cred_state(&c, t, m + waits[i] * S, &cl),
		    CRED_RENEW);
		assert_true(cred_begin(&c, seen_a, &cl));
		m += waits[i] * S;
	}
	cred_end(&c, "tok-new", "rt-new", 0, 0, m);
	assert_int_equal(cred_state(&c, t, m, &cl), CRED_OK);
	assert_string_equal(cred_refresh(&c, ar), "rt-new");
	/* a late refusal of the old token: already replaced */
	assert_false(cred_begin(&c, seen_b, &b));
	assert_int_equal(cred_state(&c, t, m, &cl), CRED_OK);
	/* and the next failure waits 1 s again */
	cred_use(&c, ar, &seen_c);
	assert_true(cred_begin(&c, seen_c, &b));
	cred_end(&c, NULL, NULL, 0, 0, m);
	assert_int_equal(cred_state(&c, t, m + S, &cl), CRED_RENEW);
	/* the chosen lane takes a stored refresh token alone: no token
	 * yet, renewed at once */
	assert_true(cred_begin(&c, 0, &cl));
	cred_end(&c, "", "rt-seeded", 0, 0, m);
	assert_string_equal(cred_use(&c, ar, &seen_c), "");
	assert_int_equal(cred_state(&c, t, m, &cl), CRED_RENEW);
	assert_int_equal(cred_state(&c, t, m, &b), CRED_WAIT);
	assert_string_equal(cred_refresh(&c, ar), "rt-seeded");
	cred_fini(&c);
	arena_destroy(ar);
}

/* A token taken as it is: never renewed ahead; refused, renewed once (and
 * that renewal can only fail). */
static void
test_fixed_token(void **state)
{
	struct cred c = CRED_INITIALIZER;
	arena *ar = arena_create(256);
	unsigned seen;
	bool a = false;
	int64_t t = 1700000000 * S, m = 0;

	(void)state;
	cred_init(&c, "fixed", NULL, 0, 0, false);
	assert_string_equal(cred_refresh(&c, ar), "");
	assert_int_equal(cred_state(&c, t + 365 * 86400 * S, m, &a), CRED_OK);
	cred_use(&c, ar, &seen);
	assert_true(cred_begin(&c, seen, &a));
	cred_end(&c, NULL, NULL, 0, 0, m);
	assert_int_equal(cred_state(&c, t, m, &a), CRED_WAIT);
	cred_fini(&c);
	arena_destroy(ar);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minted_ahead_of_expiry),
		cmocka_unit_test(test_short_life_margins),
		cmocka_unit_test(test_refused_and_retried),
		cmocka_unit_test(test_fixed_token),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
