/*
 * rfm.h - recency, frequency and monetary scores and the segment they
 * name, kept in agreement with the lifecycle state.
 *
 * SCORES
 *	A full run's fit stores, for each of R, F and M, the 0th to 100th
 *	percentiles of a random sample of the customers who bought
 *	(RFM_POINTS values). A customer's score is the quintile of its mid-
 *	rank: the share of the sample below its value plus half the share
 *	equal to it, so customers with the same value share one score and a
 *	value most customers have (one purchase day, for 65 % of CDNOW)
 *	takes the score of the middle of its tie, never the whole scale
 *	collapsing onto it. Recency is days since the last purchase (lower is
 *	better); frequency is distinct purchase days and monetary is spend,
 *	both over rfm_window_days (0: the whole history).
 *
 * SEGMENTS
 *	The usual R x F grid (segment.h), but a segment never contradicts the
 *	lifecycle state, which is absolute where a quintile is relative: a
 *	lost customer reads as R 1, a dormant one at most R 2, an at-risk one
 *	R 3, an active or new one at least R 3; "New" is only for a new
 *	customer (an active one there is "Promising"). A customer with no
 *	purchase has no scores and the segment "No purchase".
 *
 * Pure: no I/O.
 */
#ifndef RK_RFM_H
#define RK_RFM_H

#include <stdbool.h>
#include <stddef.h>

#include "profile.h"

#define RFM_POINTS 101

struct rfm_table {
	double q[RFM_POINTS];	/* percentiles 0..100, ascending */
};

/* The percentiles of v[n] (sorted in place); n > 0. */
void rfm_table_of(double *v, size_t n, struct rfm_table *t);

/* The score 1..5 of v under t (mid-rank quintile; ties share one). */
int rfm_score(const struct rfm_table *t, double v, bool lower_is_better);

/* Whether days is a window rfm_window_days accepts (0, 30, 90, 180, 365). */
bool rfm_window_ok(int days);

/* Frequency (distinct purchase days) and monetary (spend, minor units)
 * of r over window days (0: the whole history). */
void rfm_inputs(const struct profile_result *r, int window, double *f,
    double *m);

/* The segment of scores rs, fs (1..5) in state st; "No purchase" when
 * !purchased. */
const char *rfm_segment(int rs, int fs, enum lifecycle st, bool purchased);

#endif
