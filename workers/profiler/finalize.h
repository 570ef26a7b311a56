/*
 * finalize.h - the base-wide step of a full profiling run, done once per
 * run by whichever profiler claims the run's finalize job: RFM quintile
 * cut-offs, the BG/NBD and MBG/NBD fits (and the choice between them),
 * the churn models (logistic regression and boosted trees, the better by
 * AUC on a later period kept), then every profile's RFM scores, segment,
 * P(alive), expected purchases, churn risk and reasons.
 */
#ifndef RK_FINALIZE_H
#define RK_FINALIZE_H

#include <stdint.h>

#include "arena.h"
#include "db.h"
#include "refdata.h"

/* Customers sampled for the BTYD fits (all when fewer). */
#define FINALIZE_FIT_SAMPLE 10000
/* Samples per cut-off for training and validating the churn models. */
#define FINALIZE_CHURN_SAMPLE 30000

/*
 * Runs the step for run_id inside the caller's transaction; reloads ref
 * with the new fits. On failure *why says what failed.
 */
rk_err finalize_run(db_conn *db, arena *a, struct refdata *ref,
    int64_t run_id, int64_t as_of_us, const char **why);

#endif
