/*
 * segment.h - the named RFM segments (Champions ... Lost) and the grid
 * that maps recency and frequency scores to them. Shared by the profiler,
 * which assigns them, and the API, which checks the names callers give.
 */
#ifndef RK_SEGMENT_H
#define RK_SEGMENT_H

#include <stdbool.h>

#define SEGMENT_N 12

/* The segment of a customer who has made no purchase (no scores). */
#define SEGMENT_NO_PURCHASE "No purchase"

extern const char *const segment_names[SEGMENT_N];

/* The segment of recency and frequency scores 1..5; NULL if unscored. */
const char *segment_of(int r_score, int f_score);

/* Whether name is one of segment_names. */
bool segment_known(const char *name);

#endif
