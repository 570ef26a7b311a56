/*
 * rfm.c - rank-based RFM scores and state-consistent segments (rfm.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rfm.h"
#include "segment.h"

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return ((x > y) - (x < y));
}

void
rfm_table_of(double *v, size_t n, struct rfm_table *t)
{
	qsort(v, n, sizeof(*v), cmp_double);
	for (int k = 0; k < RFM_POINTS; k++) {
		double pos = (double)k / (RFM_POINTS - 1) * (double)(n - 1);
		size_t lo = (size_t)pos;
		double frac = pos - (double)lo;

		t->q[k] = lo + 1 < n ? v[lo] + frac * (v[lo + 1] - v[lo]) :
		    v[n - 1];
	}
}

int
rfm_score(const struct rfm_table *t, double v, bool lower_is_better)
{
	int below = 0, upto = 0, s;
	double mid;

	while (below < RFM_POINTS && t->q[below] < v)
		below++;
	upto = below;
	while (upto < RFM_POINTS && t->q[upto] <= v)
		upto++;
	/* the share of the sample below v and half the share at v */
	mid = (below + upto) / 2.0 / RFM_POINTS;
	if (lower_is_better)
		mid = 1 - mid;
	s = 1 + (int)floor(5 * mid);
	return (s < 1 ? 1 : s > 5 ? 5 : s);
}

bool
rfm_window_ok(int days)
{
	return (days == 0 || days == 30 || days == 90 || days == 180 ||
	    days == 365);
}

void
rfm_inputs(const struct profile_result *r, int window, double *f, double *m)
{
	*f = (double)r->purchase_days;
	*m = (double)r->spend;
	for (int i = 0; i < 4 && window != 0; i++)
		if (r->win[i].days == window) {
			*f = (double)r->win_purchase_days[i];
			*m = (double)r->win[i].spend_minor;
		}
}

const char *
rfm_segment(int rs, int fs, enum lifecycle st, bool purchased)
{
	const char *seg;

	if (!purchased)
		return (SEGMENT_NO_PURCHASE);
	switch (st) {
	case LC_LOST:
		rs = 1;
		break;
	case LC_DORMANT:
		rs = rs > 2 ? 2 : rs;
		break;
	case LC_AT_RISK:
		rs = 3;
		break;
	case LC_NEW:
	case LC_ACTIVE:
		rs = rs < 3 ? 3 : rs;
		break;
	}
	seg = segment_of(rs, fs);
	if (seg != NULL && st != LC_NEW && strcmp(seg, "New") == 0)
		seg = "Promising";	/* "New" is for new customers */
	return (seg);
}
