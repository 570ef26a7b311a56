/*
 * profiler.h - the profiler's job: re-profile the customers a job names,
 * and its configuration.
 */
#ifndef RK_PROFILER_H
#define RK_PROFILER_H

#include "worker.h"

/* Lifecycle thresholds and the like (profiler_cfg keys). */
extern const struct cfg_entry profiler_cfg[];

/* worker_spec.post_init: loads reference data. */
rk_err profiler_init(struct worker *w, db_conn *db);

/* worker_spec.handle for the "profile" queue. */
rk_err profiler_handle(struct worker *w, db_conn *db, const struct job *job,
    arena *a, const char **why);

#endif
