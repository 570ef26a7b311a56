/*
 * fit.h - the base-wide first step of a full profiling run, done once per
 * run by whichever profiler claims the run's fit job: from one random
 * sample of customers, the RFM quintile cut-offs, the BG/NBD and MBG/NBD
 * fits (and the choice between them) and the churn models (logistic
 * regression and boosted trees, trained at one past cut-off, the better by
 * AUC at a later one kept). Then it splits the customers into chunks for
 * the profiler pool, which profiles and scores every customer in one pass
 * with these models.
 */
#ifndef RK_FIT_H
#define RK_FIT_H

#include <stdint.h>

#include "arena.h"
#include "db.h"
#include "profile.h"
#include "refdata.h"

/* Of the sample, customers used for the BTYD fits. */
#define FIT_BTYD_CUSTOMERS 10000
/*
 * Churn cut-offs: the validation one, as-of - 90 days, and the training
 * ones before it, 90 days apart (as-of - 180, - 270, - 360 days), each
 * customer's rows at all of them stacked: more rows, and a model that
 * has seen more than one season.
 */
#define FIT_TRAIN_CUTS 3
#define FIT_CUTS (1 + FIT_TRAIN_CUTS)
/* At most this many training rows (a uniform reservoir sample of them):
 * the training memory and time are bounded whatever the sample. */
#define FIT_TRAIN_ROWS 60000

/*
 * Runs the step for run_id (state "fitting"; any other state: nothing to
 * do) inside the caller's transaction: sample customers (about sample of
 * them, chosen by a hash of seed and id), fits stored in
 * model_fits, ref reloaded with them, one chunk job per chunk customers
 * enqueued, the run set "running". On failure *why says what failed.
 */
rk_err fit_run(db_conn *db, arena *a, struct refdata *ref,
    const struct profile_rules *rules, int64_t run_id, int64_t as_of_us,
    int sample, int seed, int chunk, const char **why);

#endif
