/*
 * variants.h - how a launch or an entry run splits its treatment
 * customers between the campaign's variants (rekindle.v1.Variant).
 *
 * A customer's bucket is md5("campaign:customer:variant[:entry]") read as
 * a number modulo 10,000 - the same whoever computes it, and apart from
 * the control split's hash. Each variant owns a range of buckets in
 * proportion to its share: its weight, or for an always-on campaign with
 * adaptive_split its Thompson-sampling share - the chance that its
 * reactivation rate is the best, under a Beta(1 + reactivated, 1 +
 * entries not reactivated so far) posterior per variant, estimated by
 * drawing from them (Braze's Intelligent Selection does the same on
 * clicks; here the outcome is the bank's own, reactivation).
 */
#ifndef RK_VARIANTS_H
#define RK_VARIANTS_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "db.h"

#define VARIANTS_MAX 5
#define VARIANT_BUCKETS 10000

/*
 * The Thompson shares of n variants with succ[i] reactivated of
 * trials[i] entries: draws rounds, seeded by seed (reproducible). Pure.
 */
void variants_thompson(const int64_t *succ, const int64_t *trials, int n,
    int draws, uint64_t seed, double *share);

/*
 * Bucket ranges [lo[i], hi[i]) of 0..VARIANT_BUCKETS from shares summing
 * to 1; every variant with a share keeps at least one bucket. Pure.
 */
void variants_ranges(const double *share, int n, int *lo, int *hi);

/*
 * Creates the temporary table launch_variants (variant_id, offer_id, lo,
 * hi) of campaign_id for this transaction - empty without variants - and
 * records each variant's share (adaptive: from the entries so far; a
 * first launch has none, so every variant gets an equal chance).
 */
rk_err variants_prepare(db_conn *db, arena *a, const char *campaign_id);

#endif
