/*
 * btyd_test.c - BG/NBD on the CDNOW sample reproduces Fader, Hardie & Lee
 * (2005): r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4,
 * with calibration weeks 1-39, time in weeks and same-day purchases
 * merged. MBG/NBD fits the same data; the derived quantities behave. On
 * simulated customers, a fit says no dropout exactly when there is none.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "btyd.h"
#include "cdnow.h"
#include "unif.h"

#define MAXC 2357

static struct btyd_customer cust[MAXC];
static size_t ncust;

static int
load_cdnow(void **state)
{
	(void)state;
	ncust = CDNOW_CUSTOMERS;
	return (cdnow_load(RK_CDNOW, cust));
}

/* |got - want| within half a unit of want's third significant digit. */
static void
assert_3sig(double got, double want)
{
	double unit = pow(10, floor(log10(fabs(want))) - 2);

	if (fabs(got - want) > unit / 2)
		fail_msg("got %.6f, want %.4g to 3 significant digits", got, want);
}

static void
test_summary_matches_the_paper(void **state)
{
	double sx = 0;
	int zero = 0;

	(void)state;
	assert_int_equal(ncust, 2357);
	for (size_t i = 0; i < ncust; i++) {
		sx += cust[i].x;
		zero += cust[i].x == 0;
	}
	assert_true(sx == 2457);
	assert_int_equal(zero, 1411);
}

static void
test_bgnbd_reproduces_published_parameters(void **state)
{
	struct btyd_params p;

	(void)state;
	assert_int_equal(btyd_fit(BTYD_BGNBD, cust, ncust, &p), RK_OK);
	assert_3sig(p.r, 0.243);
	assert_3sig(p.alpha, 4.414);
	assert_3sig(p.a, 0.793);
	assert_3sig(p.b, 2.426);
	assert_3sig(p.log_likelihood, -9582.4);
	assert_true(fabs(p.log_likelihood - -9582.4) < 0.1);
}

static void
test_mbgnbd_fits_and_differs_where_it_should(void **state)
{
	struct btyd_params bg, mbg;
	struct btyd_customer once = {0, 0, 38, 1}, loyal = {10, 37, 38, 1};

	(void)state;
	assert_int_equal(btyd_fit(BTYD_BGNBD, cust, ncust, &bg), RK_OK);
	assert_int_equal(btyd_fit(BTYD_MBGNBD, cust, ncust, &mbg), RK_OK);
	assert_true(isfinite(mbg.log_likelihood));
	/* A one-time buyer: BG/NBD says certainly alive, MBG/NBD does not. */
	assert_true(btyd_p_alive(BTYD_BGNBD, &bg, &once) == 1.0);
	assert_true(btyd_p_alive(BTYD_MBGNBD, &mbg, &once) < 0.9);
	/* A frequent, recent buyer is alive under both. */
	assert_true(btyd_p_alive(BTYD_BGNBD, &bg, &loyal) > 0.9);
	assert_true(btyd_p_alive(BTYD_MBGNBD, &mbg, &loyal) > 0.9);
}

/* FHL 2005 fig. / lifetimes: customer with x=2, t_x=30.43, T=38.86
 * expects about 1.226 purchases in the next 39 weeks. */
static void
test_conditional_expectation_matches_known_value(void **state)
{
	struct btyd_params p = {0.2426, 4.4137, 0.7930, 2.4262, 0, 0};
	struct btyd_customer c = {2, 30.43, 38.86, 1};
	double e = btyd_expected(BTYD_BGNBD, &p, &c, 39);

	(void)state;
	if (fabs(e - 1.226) > 0.005)
		fail_msg("E[Y(39)] = %.4f, want 1.226", e);
	assert_true(btyd_expected(BTYD_MBGNBD, &p, &c, 39) > 0);
}

static void
test_fit_rejects_no_repeat_data(void **state)
{
	struct btyd_customer none[2] = {{0, 0, 10, 1}, {0, 0, 5, 1}};
	struct btyd_params p;

	(void)state;
	assert_int_equal(btyd_fit(BTYD_BGNBD, none, 2, &p), RK_EINVAL);
	assert_int_equal(btyd_fit(BTYD_BGNBD, none, 0, &p), RK_EINVAL);
}

/*
 * Customers who never drop out - each buys as a Poisson process at a
 * rate drawn from an exponential (gamma, r = 1) for as long as they are
 * watched - leave the fit nothing to say about dropout: it runs to a
 * boundary (btyd_degenerate), or towards one until it estimates almost
 * none of them gone (seed 3: a = 0.005, b = 27, 0.15 % gone), which the
 * profiler reads as P(alive) carrying no information (BTYD_MIN_DROPPED,
 * 1 %). The same customers with BG/NBD's dropout are
 * neither, and the fit finds the simulated a and b again.
 */
static void
simulate(struct btyd_customer *sim, int n, bool dropout, uint64_t st)
{
	for (int i = 0; i < n; i++) {
		double rate = -log(unif(&st)) / 20;
		double T = 60 + 300 * unif(&st);
		/* BG/NBD's dropout: after each repeat purchase, gone with a
		 * probability drawn from Beta(1, 3) */
		double p = dropout ? 1 - cbrt(unif(&st)) : 0;
		double t = 0, x = 0, t_x = 0;

		for (;;) {
			t += -log(unif(&st)) / rate;
			if (t > T)
				break;
			x++;
			t_x = t;
			if (unif(&st) < p)
				break;
		}
		sim[i] = (struct btyd_customer){x, t_x, T, 1};
	}
}

/* Fits m to n simulated customers and checks what it says of dropout. */
static void
check_fit(enum btyd_model m, const struct btyd_customer *sim, int n,
    int seed, bool dropout)
{
	struct btyd_params p;
	rk_err rc = btyd_fit(m, sim, (size_t)n, &p);
	char buf[320];
	const char *why = btyd_degenerate(m, &p, buf, sizeof(buf));
	double gone = btyd_dropped_share(m, &p, sim, (size_t)n);
	bool informative = why == NULL && gone >= BTYD_MIN_DROPPED;

	assert_true(rc == RK_OK || rc == RK_ERETRY);
	if (informative != dropout)
		fail_msg("%s, seed %d, %s dropout: r=%g alpha=%g a=%g b=%g, "
		    "%.4f gone%s%s", btyd_name(m), seed, dropout ? "with" :
		    "without", p.r, p.alpha, p.a, p.b, gone, why ? ": " : "",
		    why ? why : "");
	if (dropout && (gone < 0.4 || gone > 0.8))
		fail_msg("%s, seed %d: %.4f gone", btyd_name(m), seed, gone);
	/* the generating process is found again */
	if (dropout && m == BTYD_BGNBD &&
	    (fabs(p.a - 1) > 0.35 || fabs(p.b - 3) > 1.2))
		fail_msg("BG/NBD, seed %d: a=%g b=%g, simulated 1 and 3", seed,
		    p.a, p.b);
}

static void
test_data_without_dropout_fits_degenerate(void **state)
{
	enum { N = 3000 };
	static struct btyd_customer sim[N];

	(void)state;
	for (int seed = 1; seed <= 8; seed++) {
		for (int dropout = 0; dropout <= 1; dropout++) {
			simulate(sim, N, dropout, (uint64_t)seed);
			check_fit(BTYD_BGNBD, sim, N, seed, dropout);
			check_fit(BTYD_MBGNBD, sim, N, seed, dropout);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_summary_matches_the_paper),
		cmocka_unit_test(test_bgnbd_reproduces_published_parameters),
		cmocka_unit_test(test_mbgnbd_fits_and_differs_where_it_should),
		cmocka_unit_test(test_conditional_expectation_matches_known_value),
		cmocka_unit_test(test_fit_rejects_no_repeat_data),
		cmocka_unit_test(test_data_without_dropout_fits_degenerate),
	};

	return (cmocka_run_group_tests(tests, load_cdnow, NULL));
}
