/*
 * profiler.c - decodes a ProfileJob and recomputes those customers'
 * profile rows in the job's transaction.
 *
 * The profile is recomputed from the customer's transactions, not added
 * to, so running a job twice (after a lease expired) gives the same row.
 */
#include "log.h"
#include "profiler.h"
#include "profiler_db.h"
#include "rekindle/bus/v1/bus.pb-c.h"

rk_err
profiler_handle(struct worker *w, db_conn *db, const struct job *job,
    arena *a, const char **why)
{
	Rekindle__Bus__V1__ProfileJob *pj;
	int64_t rows = 0;
	rk_err rc;

	(void)w;
	pj = rekindle__bus__v1__profile_job__unpack(arena_pb_allocator(a),
	    job->len, job->payload);
	if (pj == NULL) {
		*why = "malformed ProfileJob payload";
		return (RK_EPROTO);
	}
	rc = profiler_db_basic(db, a, (const char *const *)pj->customer_ids,
	    pj->n_customer_ids, job->id, &rows);
	if (rc != RK_OK) {
		*why = db_errmsg(db);
		return (rc);
	}
	log_debug("PROFILE-DONE", "job %lld: %lld profiles for %zu customers",
	    (long long)job->id, (long long)rows, pj->n_customer_ids);
	return (RK_OK);
}
