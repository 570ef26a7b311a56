/*
 * clock.h - the one source of "now", so tests can control time.
 */
#ifndef RK_CLOCK_H
#define RK_CLOCK_H

#include <stdint.h>

/* Wall-clock microseconds since the Unix epoch. */
int64_t clock_now_us(void);
/* Monotonic milliseconds, for intervals and deadlines. */
int64_t clock_mono_ms(void);
/* Monotonic microseconds, for timing short steps. */
int64_t clock_mono_us(void);

struct timespec;
/* *ts = the time on clock id (CLOCK_REALTIME, CLOCK_MONOTONIC) ms from
 * now: an absolute deadline for pthread_cond_timedwait. */
void clock_deadline(int clock_id, int ms, struct timespec *ts);

#endif
