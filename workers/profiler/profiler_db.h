/*
 * profiler_db.h - the profiler's SQL: one ordered binary COPY of the
 * chosen customers' transactions, handed over customer by customer, and
 * profiles written back through binary COPY.
 */
#ifndef RK_PROFILER_DB_H
#define RK_PROFILER_DB_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "db.h"
#include "profile.h"
#include "refdata.h"

/* The longest customer id the scan accepts (the API allows 64). */
#define PROFILER_MAX_ID 79

/* Which customers: a list of ids, or the id range [lo, hi) (hi NULL:
 * unbounded). */
struct profile_selection {
	const char *const *ids;
	size_t nids;
	const char *lo, *hi;
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
 * profile. Memory grows with the number of customers selected (a chunk),
 * not with the base. *customers gets the number of profiles written.
 */
rk_err profiler_db_profile(db_conn *db, arena *a, const struct refdata *ref,
    const struct profile_rules *rules, const struct profile_selection *sel,
    int64_t as_of_us, int64_t job_id, int64_t *customers);

/* For the metrics: the newest full run's customers done out of its
 * total (*ratio, 1 if none), and how many runs are under way (*running). */
rk_err profiler_db_progress(db_conn *db, double *ratio, int64_t *running);

#endif
