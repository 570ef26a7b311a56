/*
 * btyd.h - "buy till you die" models of repeat purchasing: BG/NBD (Fader,
 * Hardie & Lee 2005) and MBG/NBD (Batislam, Denizel & Filiztekin 2007),
 * fitted by maximum likelihood with GSL's Nelder-Mead simplex, and the
 * per-customer quantities derived from them.
 *
 * Each customer is summarised as (x, t_x, T): x repeat purchases (distinct
 * purchase days after the first), t_x the time of the last one and T the
 * time since the first, both from the first purchase, in one unit (days or
 * weeks). BG/NBD lets a customer drop out only after a repeat purchase, so
 * a customer with x = 0 is certainly alive; MBG/NBD also allows drop-out at
 * the first purchase, which fits a card used once and then forgotten.
 */
#ifndef RK_BTYD_H
#define RK_BTYD_H

#include <stddef.h>

#include "err.h"

enum btyd_model { BTYD_BGNBD, BTYD_MBGNBD };

struct btyd_customer {
	double x;	/* repeat purchases (integer valued) */
	double t_x;	/* time of the last purchase, 0 if x = 0 */
	double T;	/* time since the first purchase */
	double weight;	/* how many customers share this summary (>= 1) */
};

struct btyd_params {
	double r, alpha, a, b;
	double log_likelihood;	/* at the optimum, summed over customers */
	int iterations;
};

/* Name of the model ("BG/NBD", "MBG/NBD"). */
const char *btyd_name(enum btyd_model m);

/*
 * Log-likelihood of one customer under m with parameters p (p's
 * log_likelihood is not read).
 */
double btyd_loglik(enum btyd_model m, const struct btyd_params *p,
    const struct btyd_customer *c);

/*
 * Fits m to the n customers. RK_EINVAL if n is 0 or nothing repeats;
 * RK_ERETRY if the optimiser did not converge in its iteration budget
 * (out then holds the best point found).
 */
rk_err btyd_fit(enum btyd_model m, const struct btyd_customer *c, size_t n,
    struct btyd_params *out);

/* Bounds outside which a fitted a or b means a degenerate fit. */
#define BTYD_DEGENERATE_LO 1e-6
#define BTYD_DEGENERATE_HI 1e4

/*
 * Whether a fit of m is degenerate - on a boundary of the parameter space,
 * where P(alive) carries no information: a or b below BTYD_DEGENERATE_LO
 * or above BTYD_DEGENERATE_HI (both running off with a/(a+b) fixed is the
 * latter). NULL if not; else what it means, in words, in buf.
 */
const char *btyd_degenerate(enum btyd_model m, const struct btyd_params *p,
    char *buf, size_t cap);

/*
 * The fit's estimate of the share of the n customers c who have dropped
 * out: their mean 1 - P(alive), by weight (0 if none). A fit that
 * estimates fewer than BTYD_MIN_DROPPED of its own customers gone says
 * no one drops out, whatever its a and b: on simulated customers who
 * never do, the fit stopped at a = 0.005, b = 27 once in eight samples
 * and estimated 0.15 % of them gone; with dropout, about 60 %
 * (btyd_test).
 */
#define BTYD_MIN_DROPPED 0.01
double btyd_dropped_share(enum btyd_model m, const struct btyd_params *p,
    const struct btyd_customer *c, size_t n);

/* P(alive at T | x, t_x, T). */
double btyd_p_alive(enum btyd_model m, const struct btyd_params *p,
    const struct btyd_customer *c);

/* Expected purchases in (T, T + t] for this customer. */
double btyd_expected(enum btyd_model m, const struct btyd_params *p,
    const struct btyd_customer *c, double t);

#endif
