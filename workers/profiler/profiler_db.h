/*
 * profiler_db.h - the profiler's SQL: one ordered binary COPY of the
 * chosen customers' transactions, handed over customer by customer, and
 * profiles written back through binary COPY.
 */
#ifndef RK_PROFILER_DB_H
#define RK_PROFILER_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "db.h"
#include "profile.h"
#include "refdata.h"

/* The longest customer id the scan accepts (the API allows 64). */
#define PROFILER_MAX_ID 79

/* Which customers: a list of ids, or the id range [lo, hi) (hi NULL:
 * unbounded); run_id: the full run whose table (profiler_db_run_begin)
 * the profiles go to, 0 for an upsert into customer_profiles. */
struct profile_selection {
	const char *const *ids;
	size_t nids;
	const char *lo, *hi;
	int64_t run_id;
};

/* What a scan hands over: begin, the customer's transactions in time
 * order, end; then the next customer. */
struct scan_sink {
	void *ctx;
	/* currency: that of the customer's first transaction, which the
	 * profile counts money in (t->in_currency says which do). */
	void (*begin)(void *ctx, const char *id, const char *currency);
	void (*add)(void *ctx, const struct profile_txn *t);
	rk_err (*end)(void *ctx);
};

/*
 * Streams the selected customers' transactions, ordered by customer and
 * time, with categories, partners, promotions and local weekday and hour
 * resolved, into sink. Memory is constant: one row at a time. Nothing
 * else may run on db until it returns.
 */
rk_err profiler_db_scan(db_conn *db, arena *a, const struct refdata *ref,
    const struct profile_selection *sel, const struct scan_sink *sink);

/*
 * Recomputes the profiles of the selected customers as of as_of_us,
 * inside the caller's transaction: stub customer rows for ids known only
 * from transactions, one scan, RFM scores, P(alive) and churn risk with
 * reasons from ref's models (scored in batches), and an upsert of every
 * profile - or, for a chunk of a full run, a plain COPY into the run's
 * table. Memory grows with the number of customers selected (a chunk),
 * not with the base. *customers gets the number of profiles written.
 */
rk_err profiler_db_profile(db_conn *db, arena *a, const struct refdata *ref,
    const struct profile_rules *rules, const struct profile_selection *sel,
    int64_t as_of_us, int64_t job_id, int64_t *customers);

/*
 * A full run writes its profiles into a table of its own, created here
 * (in the fit step's transaction) with customer_profiles' columns and
 * its key, and no other index: a COPY per chunk instead of an upsert per
 * profile. Tables left by runs that ended without a swap are dropped.
 */
rk_err profiler_db_run_begin(db_conn *db, arena *a, int64_t run_id);

/*
 * Swaps the finished run's table in as customer_profiles, inside the
 * transaction of the run's last chunk: its statistics taken, then, under
 * an exclusive lock on customer_profiles, every profile written there
 * since the run started (incremental jobs) that saw more data than the
 * run's carried over, and the old table dropped. Readers wait only for
 * the carry-over. *timing: each step's time, for the log.
 */
rk_err profiler_db_run_swap(db_conn *db, arena *a, int64_t run_id,
    const char **timing);

/*
 * A full run, from its fit job to its last chunk. The fit job locks the
 * run's row (FOR UPDATE) and goes on only if *fitting (a job run twice
 * after an expired lease fits and splits once); stores each fitted model
 * (model_fits: params as JSON, log_likelihood NaN for none, the customers
 * it was fitted on, as of as_of_us to the second); takes the sample's
 * ids - every customer whose sample_key lies in a window of width
 * 2^32 n / customers from start, wrapping at 2^32 (fit.c says why) - and
 * the chunks' range starts (every chunk-th id, the first range's ''
 * not among them; both lists NULL-terminated, in a); and marks the run
 * running with its number of chunks. Each chunk counts itself done,
 * *last for the one that completes the run (state 'done', once); after
 * the swap, the run's end is stamped by the clock (now() is its
 * transaction's start) and *seconds is how long it took.
 */
rk_err profiler_db_run_lock(db_conn *db, int64_t run_id, bool *fitting);
rk_err profiler_db_fit_store(db_conn *db, int64_t run_id, int64_t as_of_us,
    const char *model, const char *params, double log_likelihood,
    int64_t customers);
rk_err profiler_db_sample_ids(db_conn *db, arena *a, int n, uint64_t start,
    const char ***ids, int *got);
rk_err profiler_db_chunk_starts(db_conn *db, arena *a, int chunk,
    const char ***starts, int *n);
rk_err profiler_db_run_running(db_conn *db, int64_t run_id, int64_t chunks);
rk_err profiler_db_chunk_done(db_conn *db, int64_t run_id, int64_t customers,
    bool *last);
rk_err profiler_db_run_finished(db_conn *db, int64_t run_id,
    double *seconds);

/* For the metrics: the newest full run's customers done out of its
 * total (*ratio, 1 if none), and how many runs are under way (*running). */
rk_err profiler_db_progress(db_conn *db, double *ratio, int64_t *running);

#endif
