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
#include "clock.h"

static long
day_of(long ymd)
{
	struct tm tm = {0};

	tm.tm_year = (int)(ymd / 10000) - 1900;
	tm.tm_mon = (int)(ymd / 100 % 100) - 1;
	tm.tm_mday = (int)(ymd % 100);
	return ((long)(timegm(&tm) / 86400));
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return ((x > y) - (x < y));
}

int
main(int argc, char **argv)
{
	static struct btyd_customer c[2357];
	static long first[2358], prev[2358], last[2358];
	static int x[2358];
	long master, sample, ymd, cds, end = day_of(19970930);
	double dollars, ms[21];
	FILE *fp;

	if (argc != 2 || (fp = fopen(argv[1], "r")) == NULL) {
		fprintf(stderr, "usage: btyd_bench CDNOW_sample.txt\n");
		return (2);
	}
	while (fscanf(fp, "%ld %ld %ld %ld %lf", &master, &sample, &ymd, &cds,
	    &dollars) == 5) {
		long d = day_of(ymd);

		if (sample < 1 || sample > 2357)
			continue;
		if (first[sample] == 0) {
			first[sample] = last[sample] = prev[sample] = d;
		} else if (d != prev[sample] && d <= end) {
			prev[sample] = last[sample] = d;
			x[sample]++;
		}
	}
	fclose(fp);
	for (int i = 1; i <= 2357; i++)
		c[i - 1] = (struct btyd_customer){x[i],
		    x[i] ? (last[i] - first[i]) / 7.0 : 0,
		    (end - first[i]) / 7.0, 1};
	for (int m = BTYD_BGNBD; m <= BTYD_MBGNBD; m++) {
		struct btyd_params p;

		for (int k = 0; k < 21; k++) {
			struct timespec t0, t1;

			clock_gettime(CLOCK_MONOTONIC, &t0);
			btyd_fit((enum btyd_model)m, c, 2357, &p);
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
