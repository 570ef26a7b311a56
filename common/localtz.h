/*
 * localtz.h - local weekday and hour of an instant in a customer's IANA
 * time zone, for millions of transactions at a time.
 *
 * Zones whose offset is the same at every month start from 1990 to 2040
 * (Asia/Ho_Chi_Minh, Asia/Bangkok, ...) are computed by arithmetic inside
 * that span; others, and instants outside it, go through the C library's
 * zone rules. Not thread-safe: the C library is switched between zones
 * through TZ, so only one thread of a process may call it, and that
 * process's other threads must not read the time zone environment.
 */
#ifndef RK_LOCALTZ_H
#define RK_LOCALTZ_H

#include <stdint.h>

/* The zone of a customer who did not give one. */
#define RK_DEFAULT_TIME_ZONE "Asia/Ho_Chi_Minh"

/*
 * The local weekday (*dow, 1 = Monday .. 7 = Sunday) and hour (0..23) of
 * unix_us in zone. An unknown zone name counts as UTC.
 */
void localtz_dow_hour(const char *zone, int64_t unix_us, int *dow,
    int *hour);

/* The same with the local minute of the day (0..1439) for the hour. */
void localtz_dow_minute(const char *zone, int64_t unix_us, int *dow,
    int *minute);

#endif
