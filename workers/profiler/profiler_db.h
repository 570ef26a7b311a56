/*
 * profiler_db.h - the profiler's SQL.
 */
#ifndef RK_PROFILER_DB_H
#define RK_PROFILER_DB_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "db.h"

/*
 * Recomputes the first profile row (first and last transaction time,
 * count, total spend in the customer's main currency) of the n customers,
 * inside the caller's transaction, first giving customers known only from
 * their transactions a stub row. *rows gets the profile rows written.
 */
rk_err profiler_db_basic(db_conn *db, arena *a, const char *const *ids,
    size_t n, int64_t job_id, int64_t *rows);

#endif
