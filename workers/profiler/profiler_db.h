/*
 * profiler_db.h - the profiler's SQL: one ordered scan of the chosen
 * customers' transactions, profiles written back through binary COPY.
 */
#ifndef RK_PROFILER_DB_H
#define RK_PROFILER_DB_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "db.h"
#include "profile.h"
#include "refdata.h"

/* Which customers: a list of ids, or the id range [lo, hi) (hi NULL:
 * unbounded). */
struct profile_selection {
	const char *const *ids;
	size_t nids;
	const char *lo, *hi;
	int64_t run_id;		/* full runs: also write churn samples */
};

/*
 * Recomputes the profiles of the selected customers as of as_of_us,
 * inside the caller's transaction: stub customer rows for ids known only
 * from transactions, one scan ordered by customer and time (fetched in
 * bounded batches), and an upsert of every profile. *customers gets the
 * number of profiles written.
 */
rk_err profiler_db_profile(db_conn *db, arena *a, const struct refdata *ref,
    const struct profile_rules *rules, const struct profile_selection *sel,
    int64_t as_of_us, int64_t job_id, int64_t *customers);

#endif
