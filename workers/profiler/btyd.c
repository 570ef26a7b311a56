/*
 * btyd.c - BG/NBD and MBG/NBD.
 *
 * Likelihoods (FHL 2005 eq. 6; Batislam et al. 2007 eq. 3), written with
 * the gamma and beta ratios for integer x expanded into products, which
 * keeps one evaluation over thousands of customers to microseconds:
 *	Γ(r+x)/Γ(r)           = Π_{i<x} (r+i)
 *	B(a, b+x)/B(a,b)      = Π_{i<x} (b+i)/(a+b+i)
 *	B(a+1, b+x-1)/B(a,b)  = a/(a+b+x-1) · Π_{i<x-1} (b+i)/(a+b+i)
 * and with lgamma for large x; these depend on x alone, so an evaluation
 * computes them once per distinct x. The optimiser works on
 * log-parameters so every trial point is admissible.
 */
#include <gsl/gsl_errno.h>
#include <gsl/gsl_multimin.h>
#include <gsl/gsl_sf_gamma.h>
#include <gsl/gsl_sf_hyperg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "btyd.h"
#include "mem.h"

#define SMALL_X 32	/* below: products; above: lgamma */
#define MAX_ITER 4000

const char *
btyd_name(enum btyd_model m)
{
	return (m == BTYD_BGNBD ? "BG/NBD" : "MBG/NBD");
}

/* ln Γ(r+x) - ln Γ(r) */
static double
lgamma_ratio(double r, double x)
{
	double s = 0;

	if (x > SMALL_X)
		return (lgamma(r + x) - lgamma(r));
	for (int i = 0; i < (int)x; i++)
		s += log(r + i);
	return (s);
}

/* ln B(a+da, b+db) - ln B(a, b), via lgamma (da, db small integers). */
static double
lbeta_ratio(double a, double b, double da, double db)
{
	return (lgamma(a + da) + lgamma(b + db) - lgamma(a + b + da + db) -
	    lgamma(a) - lgamma(b) + lgamma(a + b));
}

/* ln B(a, b+k)/B(a,b) for integer k >= 0. */
static double
lbeta_b_shift(double a, double b, double k)
{
	double s = 0;

	if (k > SMALL_X)
		return (lbeta_ratio(a, b, 0, k));
	for (int i = 0; i < (int)k; i++)
		s += log((b + i) / (a + b + i));
	return (s);
}

/*
 * The parts of a customer's log-likelihood that depend on x alone: one
 * evaluation over thousands of customers computes them once per distinct
 * x (customers arrive sorted by x), leaving two logs, an exp and a log1p
 * per customer.
 */
struct xterms {
	double x;
	double base;	/* ln Γ(r+x)/Γ(r) + r ln α */
	double k1;	/* the T term's beta part */
	double k2;	/* the t_x term's beta part; -inf: no such term */
};

static void
xterms_of(enum btyd_model m, const struct btyd_params *p, double x,
    struct xterms *k)
{
	double a = p->a, b = p->b;

	k->x = x;
	k->base = lgamma_ratio(p->r, x) + p->r * log(p->alpha);
	if (m == BTYD_BGNBD) {
		k->k1 = lbeta_b_shift(a, b, x);
		/* B(a+1, b+x-1)/B(a,b) = a/(a+b+x-1) · B(a, b+x-1)/B(a,b) */
		k->k2 = x <= 0 ? -INFINITY : log(a / (a + b + x - 1)) +
		    lbeta_b_shift(a, b, x - 1);
	} else {
		/* B(a, b+x+1)/B(a,b) and B(a+1, b+x)/B(a,b) = a/(a+b+x) ·
		 * B(a, b+x)/B(a,b); the second term is there for x = 0 too. */
		double lb = lbeta_b_shift(a, b, x);

		k->k1 = lb + log((b + x) / (a + b + x));
		k->k2 = log(a / (a + b + x)) + lb;
	}
}

static double
loglik_with(const struct btyd_params *p, const struct xterms *k,
    const struct btyd_customer *c)
{
	double rx = p->r + k->x;
	double t1 = k->k1 - rx * log(p->alpha + c->T), t2;

	if (isinf(k->k2))
		return (k->base + t1);
	t2 = k->k2 - rx * log(p->alpha + c->t_x);
	/* log(e^t1 + e^t2) */
	return (k->base + (t1 > t2 ? t1 + log1p(exp(t2 - t1)) :
	    t2 + log1p(exp(t1 - t2))));
}

double
btyd_loglik(enum btyd_model m, const struct btyd_params *p,
    const struct btyd_customer *c)
{
	struct xterms k;

	xterms_of(m, p, c->x, &k);
	return (loglik_with(p, &k, c));
}

struct fit_ctx {
	enum btyd_model m;
	const struct btyd_customer *c;
	size_t n;
};

static double
neg_ll(const gsl_vector *v, void *arg)
{
	const struct fit_ctx *f = arg;
	struct btyd_params p = {exp(gsl_vector_get(v, 0)),
	    exp(gsl_vector_get(v, 1)), exp(gsl_vector_get(v, 2)),
	    exp(gsl_vector_get(v, 3)), 0, 0};
	struct xterms k = {-1, 0, 0, 0};
	double s = 0;

	/* f->c is sorted by x: the x terms change a few dozen times. */
	for (size_t i = 0; i < f->n; i++) {
		if (f->c[i].x != k.x)
			xterms_of(f->m, &p, f->c[i].x, &k);
		s += f->c[i].weight * loglik_with(&p, &k, &f->c[i]);
	}
	return (isfinite(s) ? -s : HUGE_VAL);
}

static int
cmp_customer(const void *pa, const void *pb)
{
	const struct btyd_customer *a = pa, *b = pb;

	if (a->x != b->x)
		return (a->x < b->x ? -1 : 1);
	if (a->t_x != b->t_x)
		return (a->t_x < b->t_x ? -1 : 1);
	if (a->T != b->T)
		return (a->T < b->T ? -1 : 1);
	return (0);
}

/*
 * Merges customers with the same (x, t_x, T) into one weighted row: the
 * likelihood is a sum over customers, so this changes nothing but the
 * work (on CDNOW, every one-time buyer of a given day is one row).
 */
static struct btyd_customer *
group(const struct btyd_customer *c, size_t n, size_t *ng)
{
	struct btyd_customer *g = xmalloc(sizeof(*g) * n);
	size_t k = 0;

	memcpy(g, c, sizeof(*g) * n);
	qsort(g, n, sizeof(*g), cmp_customer);
	for (size_t i = 0; i < n; i++) {
		if (k > 0 && cmp_customer(&g[k - 1], &g[i]) == 0)
			g[k - 1].weight += g[i].weight;
		else
			g[k++] = g[i];
	}
	*ng = k;
	return (g);
}

rk_err
btyd_fit(enum btyd_model m, const struct btyd_customer *c, size_t n,
    struct btyd_params *out)
{
	struct fit_ctx f = {m, NULL, 0};
	struct btyd_customer *grouped;
	gsl_multimin_function fn = {neg_ll, 4, &f};
	gsl_multimin_fminimizer *s;
	gsl_vector *x0, *step;
	double repeats = 0;
	int status = GSL_CONTINUE, iter = 0;

	for (size_t i = 0; i < n; i++)
		repeats += c[i].x * c[i].weight;
	if (n == 0 || repeats == 0)
		return (RK_EINVAL);
	grouped = group(c, n, &f.n);
	f.c = grouped;
	gsl_set_error_handler_off();
	x0 = gsl_vector_alloc(4);
	step = gsl_vector_alloc(4);
	gsl_vector_set_all(x0, 0.0);		/* r = alpha = a = b = 1 */
	gsl_vector_set_all(step, 1.0);
	s = gsl_multimin_fminimizer_alloc(gsl_multimin_fminimizer_nmsimplex2, 4);
	gsl_multimin_fminimizer_set(s, &fn, x0, step);
	/* The size test is on log-parameters: 1e-6 is far finer than the
	 * three significant digits anyone reads. */
	for (int k = 0; status == GSL_CONTINUE && k < MAX_ITER; k++) {
		iter++;
		if (gsl_multimin_fminimizer_iterate(s) != GSL_SUCCESS)
			break;
		status = gsl_multimin_test_size(gsl_multimin_fminimizer_size(s),
		    1e-6);
	}
	out->r = exp(gsl_vector_get(s->x, 0));
	out->alpha = exp(gsl_vector_get(s->x, 1));
	out->a = exp(gsl_vector_get(s->x, 2));
	out->b = exp(gsl_vector_get(s->x, 3));
	out->log_likelihood = -s->fval;
	out->iterations = iter;
	gsl_multimin_fminimizer_free(s);
	gsl_vector_free(x0);
	gsl_vector_free(step);
	free(grouped);
	return (status == GSL_SUCCESS ? RK_OK : RK_ERETRY);
}

const char *
btyd_degenerate(enum btyd_model m, const struct btyd_params *p, char *buf,
    size_t cap)
{
	const char *name = btyd_name(m);

	if (p->a < BTYD_DEGENERATE_LO)
		snprintf(buf, cap, "%s: a = %.3g, at its lower bound: no dropout "
		    "heterogeneity - almost no one is estimated to drop out, so "
		    "P(alive) is about 1 for everyone and carries no information "
		    "here", name, p->a);
	else if (p->b < BTYD_DEGENERATE_LO)
		snprintf(buf, cap, "%s: b = %.3g, at its lower bound: every "
		    "customer is estimated to drop out at once, so P(alive) "
		    "carries no information here", name, p->b);
	else if (p->a > BTYD_DEGENERATE_HI || p->b > BTYD_DEGENERATE_HI)
		snprintf(buf, cap, "%s: a = %.3g and b = %.3g run off with "
		    "a/(a+b) = %.3g fixed: the same dropout probability for "
		    "everyone - no dropout heterogeneity, so P(alive) carries no "
		    "information here", name, p->a, p->b, p->a / (p->a + p->b));
	else
		return (NULL);
	return (buf);
}

double
btyd_dropped_share(enum btyd_model m, const struct btyd_params *p,
    const struct btyd_customer *c, size_t n)
{
	double dropped = 0, w = 0;

	for (size_t i = 0; i < n; i++) {
		dropped += c[i].weight * (1 - btyd_p_alive(m, p, &c[i]));
		w += c[i].weight;
	}
	return (w > 0 ? dropped / w : 0);
}

double
btyd_p_alive(enum btyd_model m, const struct btyd_params *p,
    const struct btyd_customer *c)
{
	double x = c->x, ratio;

	ratio = pow((p->alpha + c->T) / (p->alpha + c->t_x), p->r + x);
	if (m == BTYD_BGNBD) {
		if (x <= 0)
			return (1.0);
		return (1.0 / (1.0 + p->a / (p->b + x - 1) * ratio));
	}
	return (1.0 / (1.0 + p->a / (p->b + x) * ratio));
}

/* Gauss 2F1(a, b; c; z) for 0 <= z < 1, by GSL; NaN if it fails. */
static double
hyp2f1(double a, double b, double c, double z)
{
	gsl_sf_result res;

	if (gsl_sf_hyperg_2F1_e(a, b, c, z, &res) != GSL_SUCCESS)
		return (NAN);
	return (res.val);
}

double
btyd_expected(enum btyd_model m, const struct btyd_params *p,
    const struct btyd_customer *c, double t)
{
	double r = p->r, al = p->alpha, a = p->a, b = p->b, x = c->x;
	double z = t / (al + c->T + t);
	double lead = pow((al + c->T) / (al + c->T + t), r + x);
	double num, den;

	if (fabs(a - 1) < 1e-9)
		a = 1 + 1e-9;	/* the closed form has a removable pole at 1 */
	if (m == BTYD_BGNBD) {
		num = (a + b + x - 1) / (a - 1) *
		    (1 - lead * hyp2f1(r + x, b + x, a + b + x - 1, z));
		den = x > 0 ? 1 + a / (b + x - 1) *
		    pow((al + c->T) / (al + c->t_x), r + x) : 1;
	} else {
		num = (a + b + x) / (a - 1) *
		    (1 - lead * hyp2f1(r + x, b + x + 1, a + b + x, z));
		den = 1 + a / (b + x) * pow((al + c->T) / (al + c->t_x), r + x);
	}
	return (num / den);
}
