/*
 * calib.c - Platt scaling and isotonic regression (calib.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "calib.h"
#include "mem.h"

/* Log-odds of p, kept finite. */
static double
logit(double p)
{
	p = p < 1e-9 ? 1e-9 : p > 1 - 1e-9 ? 1 - 1e-9 : p;
	return (log(p / (1 - p)));
}

/*
 * Platt (1999): logistic regression of the label on the score's log-odds,
 * by Newton's method, with the targets pulled off 0 and 1 by the class
 * counts (his prior correction) so a perfectly separated set still fits.
 */
static rk_err
fit_platt(const double *p, const int *y, int n, struct calib *c)
{
	double npos = 0, tpos, tneg, a = 1, b = 0;

	for (int i = 0; i < n; i++)
		npos += y[i] != 0;
	tpos = (npos + 1) / (npos + 2);
	tneg = 1 / (n - npos + 2);
	for (int it = 0; it < 100; it++) {
		double g0 = 0, g1 = 0, h00 = 0, h01 = 0, h11 = 0, det, da, db;

		for (int i = 0; i < n; i++) {
			double z = logit(p[i]), q = 1 / (1 + exp(-(a * z + b)));
			double t = y[i] ? tpos : tneg, w = q * (1 - q);

			g0 += (q - t) * z;
			g1 += q - t;
			h00 += w * z * z;
			h01 += w * z;
			h11 += w;
		}
		h00 += 1e-12;
		h11 += 1e-12;
		det = h00 * h11 - h01 * h01;
		if (fabs(det) < 1e-300)
			break;
		da = (h11 * g0 - h01 * g1) / det;
		db = (h00 * g1 - h01 * g0) / det;
		a -= da;
		b -= db;
		if (fabs(da) < 1e-10 && fabs(db) < 1e-10)
			break;
	}
	c->kind = CALIB_PLATT;
	c->a = a;
	c->b = b;
	return (isfinite(a) && isfinite(b) ? RK_OK : RK_EINVAL);
}

struct block {
	double sp, sy, w;	/* sums of score and label, and the weight */
};

static int
cmp_pair(const void *x, const void *y)
{
	double a = ((const double *)x)[0], b = ((const double *)y)[0];

	return ((a > b) - (a < b));
}

/* Pool-adjacent-violators on the scores in order; knots at block means. */
static rk_err
fit_isotonic(const double *p, const int *y, int n, struct calib *c)
{
	double *pr = xmalloc(sizeof(double) * 2 * (size_t)n);
	struct block *bl = xmalloc(sizeof(*bl) * (size_t)n);
	int nb = 0;

	for (int i = 0; i < n; i++) {
		pr[2 * i] = p[i];
		pr[2 * i + 1] = y[i] != 0;
	}
	qsort(pr, (size_t)n, 2 * sizeof(double), cmp_pair);
	for (int i = 0; i < n; i++) {
		/* equal scores are one block from the start */
		if (nb > 0 && pr[2 * i] == bl[nb - 1].sp / bl[nb - 1].w) {
			bl[nb - 1].sp += pr[2 * i];
			bl[nb - 1].sy += pr[2 * i + 1];
			bl[nb - 1].w += 1;
		} else {
			bl[nb++] = (struct block){pr[2 * i], pr[2 * i + 1], 1};
		}
		while (nb > 1 && bl[nb - 2].sy / bl[nb - 2].w >
		    bl[nb - 1].sy / bl[nb - 1].w) {
			bl[nb - 2].sp += bl[nb - 1].sp;
			bl[nb - 2].sy += bl[nb - 1].sy;
			bl[nb - 2].w += bl[nb - 1].w;
			nb--;
		}
	}
	/* Too many knots: merge neighbours evenly (still monotone). */
	c->n = 0;
	for (int i = 0; i < nb;) {
		int j = nb <= CALIB_MAX_KNOTS ? i + 1 : (int)((long long)(c->n + 1) *
		    nb / CALIB_MAX_KNOTS);
		struct block m = {0, 0, 0};

		if (j <= i)
			j = i + 1;
		for (int k = i; k < j && k < nb; k++) {
			m.sp += bl[k].sp;
			m.sy += bl[k].sy;
			m.w += bl[k].w;
		}
		c->x[c->n] = m.sp / m.w;
		c->y[c->n++] = m.sy / m.w;
		i = j;
	}
	c->kind = CALIB_ISOTONIC;
	free(pr);
	free(bl);
	return (RK_OK);
}

rk_err
calib_fit(enum calib_kind kind, const double *p, const int *y, int n,
    struct calib *out)
{
	int pos = 0;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < n; i++)
		pos += y[i] != 0;
	if (n < 2 || pos == 0 || pos == n)
		return (RK_EINVAL);
	if (kind == CALIB_PLATT)
		return (fit_platt(p, y, n, out));
	if (kind == CALIB_ISOTONIC)
		return (fit_isotonic(p, y, n, out));
	return (RK_OK);
}

double
calib_apply(const struct calib *c, double p)
{
	int lo, hi;

	if (c == NULL || c->kind == CALIB_NONE || isnan(p))
		return (p);
	if (c->kind == CALIB_PLATT)
		return (1 / (1 + exp(-(c->a * logit(p) + c->b))));
	if (c->n == 0)
		return (p);
	if (p <= c->x[0])
		return (c->y[0]);
	if (p >= c->x[c->n - 1])
		return (c->y[c->n - 1]);
	lo = 0;
	hi = c->n - 1;
	while (hi - lo > 1) {
		int mid = (lo + hi) / 2;

		if (c->x[mid] <= p)
			lo = mid;
		else
			hi = mid;
	}
	if (c->x[hi] <= c->x[lo])
		return (c->y[lo]);
	return (c->y[lo] + (c->y[hi] - c->y[lo]) * (p - c->x[lo]) /
	    (c->x[hi] - c->x[lo]));
}

double
calib_brier(const double *p, const int *y, int n)
{
	double s = 0;

	for (int i = 0; i < n; i++)
		s += (p[i] - (y[i] != 0)) * (p[i] - (y[i] != 0));
	return (n > 0 ? s / n : NAN);
}

void
calib_table(const double *p, const int *y, int n,
    struct calib_bin bins[CALIB_BINS])
{
	double sp[CALIB_BINS] = {0}, sy[CALIB_BINS] = {0};

	for (int b = 0; b < CALIB_BINS; b++)
		bins[b].count = 0;
	for (int i = 0; i < n; i++) {
		int b = (int)(p[i] * CALIB_BINS);

		b = b < 0 ? 0 : b >= CALIB_BINS ? CALIB_BINS - 1 : b;
		sp[b] += p[i];
		sy[b] += y[i] != 0;
		bins[b].count++;
	}
	for (int b = 0; b < CALIB_BINS; b++) {
		bins[b].predicted = bins[b].count ? sp[b] / bins[b].count : 0;
		bins[b].observed = bins[b].count ? sy[b] / bins[b].count : 0;
	}
}

rk_err
calib_cross(enum calib_kind kind, const double *p, const int *y, int n,
    double *out)
{
	double *fp = xmalloc(sizeof(double) * (size_t)(n + 1));
	int *fy = xmalloc(sizeof(int) * (size_t)(n + 1));
	struct calib *c = xmalloc(sizeof(*c));
	rk_err rc = RK_OK;

	for (int fold = 0; rc == RK_OK && fold < CALIB_FOLDS; fold++) {
		int m = 0;

		for (int i = 0; i < n; i++)
			if (i % CALIB_FOLDS != fold) {
				fp[m] = p[i];
				fy[m++] = y[i];
			}
		if ((rc = calib_fit(kind, fp, fy, m, c)) != RK_OK)
			break;
		for (int i = fold; i < n; i += CALIB_FOLDS)
			out[i] = calib_apply(c, p[i]);
	}
	free(fp);
	free(fy);
	free(c);
	return (rc);
}

const char *
calib_name(enum calib_kind k)
{
	return (k == CALIB_PLATT ? "platt" : k == CALIB_ISOTONIC ? "isotonic" :
	    "none");
}

json_t *
calib_to_json(const struct calib *c)
{
	json_t *x, *y;

	if (c->kind == CALIB_PLATT)
		return (json_pack("{s:s,s:f,s:f}", "method", "platt", "a", c->a,
		    "b", c->b));
	if (c->kind != CALIB_ISOTONIC)
		return (NULL);
	x = json_array();
	y = json_array();
	for (int i = 0; i < c->n; i++) {
		json_array_append_new(x, json_real(c->x[i]));
		json_array_append_new(y, json_real(c->y[i]));
	}
	return (json_pack("{s:s,s:o,s:o}", "method", "isotonic", "x", x, "y",
	    y));
}

void
calib_from_json(const json_t *j, struct calib *c)
{
	const char *m = json_string_value(json_object_get(j, "method"));
	const json_t *x = json_object_get(j, "x"), *y = json_object_get(j, "y");

	memset(c, 0, sizeof(*c));
	if (m != NULL && strcmp(m, "platt") == 0 &&
	    json_is_number(json_object_get(j, "a")) &&
	    json_is_number(json_object_get(j, "b"))) {
		c->kind = CALIB_PLATT;
		c->a = json_number_value(json_object_get(j, "a"));
		c->b = json_number_value(json_object_get(j, "b"));
	} else if (m != NULL && strcmp(m, "isotonic") == 0 &&
	    json_array_size(x) == json_array_size(y) && json_array_size(x) > 0 &&
	    json_array_size(x) <= CALIB_MAX_KNOTS) {
		c->kind = CALIB_ISOTONIC;
		c->n = (int)json_array_size(x);
		for (int i = 0; i < c->n; i++) {
			c->x[i] = json_number_value(json_array_get(x, (size_t)i));
			c->y[i] = json_number_value(json_array_get(y, (size_t)i));
			/* knots must rise for the search; else no calibration */
			if (i > 0 && c->x[i] < c->x[i - 1])
				c->kind = CALIB_NONE;
		}
	}
}
