/*
 * btyd_bench.c - times the BG/NBD and MBG/NBD fits on the CDNOW sample
 * (2,357 customers, calibration weeks 1-39): median of 21 fits each.
 *	btyd_bench CDNOW_sample.txt
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "btyd.h"
#include "cdnow.h"

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return ((x > y) - (x < y));
}

int
main(int argc, char **argv)
{
	static struct btyd_customer c[CDNOW_CUSTOMERS];
	double ms[21];

	if (argc != 2 || cdnow_load(argv[1], c) != 0) {
		fprintf(stderr, "usage: btyd_bench CDNOW_sample.txt\n");
		return (2);
	}
	for (int m = BTYD_BGNBD; m <= BTYD_MBGNBD; m++) {
		struct btyd_params p;

		for (int k = 0; k < 21; k++) {
			struct timespec t0, t1;

			clock_gettime(CLOCK_MONOTONIC, &t0);
			btyd_fit((enum btyd_model)m, c, CDNOW_CUSTOMERS, &p);
			clock_gettime(CLOCK_MONOTONIC, &t1);
			ms[k] = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
			    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
		}
		qsort(ms, 21, sizeof(double), cmp);
		printf("%s fit on CDNOW (2357 customers): median %.1f ms "
		    "(min %.1f, max %.1f); r=%.4f alpha=%.4f a=%.4f b=%.4f "
		    "LL=%.2f iterations=%d\n", btyd_name((enum btyd_model)m),
		    ms[10], ms[0], ms[20], p.r, p.alpha, p.a, p.b,
		    p.log_likelihood, p.iterations);
	}
	return (0);
}
