/*
 * campaigner.h - the campaigner's jobs: launching campaigns (and, with the
 * engagement issue, their reminder timers).
 */
#ifndef RK_CAMPAIGNER_H
#define RK_CAMPAIGNER_H

#include "worker.h"

/* worker_spec.handle for the "campaign" queue. */
rk_err campaigner_handle(struct worker *w, db_conn *db, const struct job *job,
    arena *a, const char **why);

#endif
