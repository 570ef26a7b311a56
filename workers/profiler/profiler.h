/*
 * profiler.h - the profiler's job: re-profile the customers a job names.
 */
#ifndef RK_PROFILER_H
#define RK_PROFILER_H

#include "worker.h"

/* worker_spec.handle for the "profile" queue. */
rk_err profiler_handle(struct worker *w, db_conn *db, const struct job *job,
    arena *a, const char **why);

#endif
