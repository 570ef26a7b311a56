/*
 * cdnow.c - CDNOW sample to (x, t_x, T) in weeks.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cdnow.h"

/* Days since 1970-01-01 of YYYYMMDD. */
static long
day_of(long ymd)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = (int)(ymd / 10000) - 1900;
	tm.tm_mon = (int)(ymd / 100 % 100) - 1;
	tm.tm_mday = (int)(ymd % 100);
	return ((long)(timegm(&tm) / 86400));
}

int
cdnow_load(const char *path, struct btyd_customer *out)
{
	static long first[CDNOW_CUSTOMERS + 1], last[CDNOW_CUSTOMERS + 1],
	    prev[CDNOW_CUSTOMERS + 1];
	static int x[CDNOW_CUSTOMERS + 1];
	long master, sample, ymd, cds, end = day_of(19970930);
	double dollars;
	FILE *fp = fopen(path, "r");

	if (fp == NULL)
		return (-1);
	memset(first, 0, sizeof(first));
	memset(x, 0, sizeof(x));
	while (fscanf(fp, "%ld %ld %ld %ld %lf", &master, &sample, &ymd, &cds,
	    &dollars) == 5) {
		long d = day_of(ymd);

		if (sample < 1 || sample > CDNOW_CUSTOMERS) {
			fclose(fp);
			return (-1);
		}
		if (first[sample] == 0) {	/* records are in date order */
			first[sample] = last[sample] = prev[sample] = d;
		} else if (d != prev[sample] && d <= end) {
			prev[sample] = last[sample] = d;	/* same day merged */
			x[sample]++;
		}
	}
	fclose(fp);
	for (int i = 1; i <= CDNOW_CUSTOMERS; i++) {
		if (first[i] == 0)
			return (-1);
		out[i - 1].x = x[i];
		out[i - 1].t_x = x[i] ? (last[i] - first[i]) / 7.0 : 0;
		out[i - 1].T = (end - first[i]) / 7.0;
		out[i - 1].weight = 1;
	}
	return (0);
}
