/*
 * localtz.c - local weekday and hour, by arithmetic for fixed-offset
 * zones and through localtime_r(3) for the rest. The zone cache and the
 * process's TZ are shared by every thread (the lanes of a delivery
 * process, the API's handlers): one lock guards both.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "localtz.h"

#define MAX_ZONES 32
/* The span over which a zone is checked for a fixed offset. */
#define FIXED_FROM INT64_C(631152000)	/* 1990-01-01 */
#define FIXED_UNTIL INT64_C(2208988800)	/* 2040-01-01 */

static struct zone {
	char name[64];
	bool fixed;
	long offset;		/* seconds east of UTC, when fixed */
} zones[MAX_ZONES];
static int nzones;
static char current[64];	/* the zone TZ is set to, "" if none */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

/* Points the C library at zone. */
static void
use_zone(const char *zone)
{
	char tz[70];

	if (strcmp(current, zone) == 0)
		return;
	snprintf(tz, sizeof(tz), ":%s", zone);
	setenv("TZ", tz, 1);
	tzset();
	snprintf(current, sizeof(current), "%s", zone);
}

static const struct zone *
find_zone(const char *name)
{
	struct zone *z;

	for (int i = 0; i < nzones; i++)
		if (strcmp(zones[i].name, name) == 0)
			return (&zones[i]);
	if (nzones == MAX_ZONES || strlen(name) >= sizeof(z->name))
		return (NULL);
	z = &zones[nzones++];
	snprintf(z->name, sizeof(z->name), "%s", name);
	use_zone(name);
	z->fixed = true;
	for (int y = 1990; y < 2040 && z->fixed; y++)
		for (int m = 0; m < 12; m++) {
			struct tm tm = {.tm_year = y - 1900, .tm_mon = m,
			    .tm_mday = 1};
			time_t t = timegm(&tm);
			struct tm lt;

			localtime_r(&t, &lt);
			if (y == 1990 && m == 0)
				z->offset = lt.tm_gmtoff;
			else if (lt.tm_gmtoff != z->offset) {
				z->fixed = false;
				break;
			}
		}
	return (z);
}

void
localtz_dow_minute(const char *zone, int64_t unix_us, int *dow, int *minute)
{
	/* this thread's last fixed zone: a cache entry never changes once
	 * made, so it is read without the lock */
	static _Thread_local const struct zone *last;
	const struct zone *z;
	int64_t s = unix_us / 1000000 - (unix_us % 1000000 < 0);
	bool locked = false;

	if ((z = last) == NULL || strcmp(z->name, zone) != 0) {
		pthread_mutex_lock(&mu);
		locked = true;
		if ((z = find_zone(zone)) != NULL && z->fixed)
			last = z;
	}
	if (z != NULL && z->fixed && s >= FIXED_FROM && s < FIXED_UNTIL) {
		int64_t local = s + z->offset, days = local / 86400;

		/* 1970-01-01 was a Thursday (ISO 4); local > 0 here. */
		*dow = (int)((days + 3) % 7) + 1;
		*minute = (int)(local % 86400 / 60);
	} else {
		time_t t = (time_t)s;
		struct tm lt;

		if (!locked)
			pthread_mutex_lock(&mu);
		locked = true;
		use_zone(zone);
		localtime_r(&t, &lt);
		*dow = lt.tm_wday == 0 ? 7 : lt.tm_wday;
		*minute = lt.tm_hour * 60 + lt.tm_min;
	}
	if (locked)
		pthread_mutex_unlock(&mu);
}

void
localtz_dow_hour(const char *zone, int64_t unix_us, int *dow, int *hour)
{
	int minute;

	localtz_dow_minute(zone, unix_us, dow, &minute);
	*hour = minute / 60;
}
