/*
 * jobq.h - the durable job queue in PostgreSQL.
 *
 * A job is a row of rekindle.jobs: a queue name and a protobuf payload.
 * Producers enqueue inside the transaction that made the work necessary
 * (transactional outbox). Workers claim batches with FOR UPDATE SKIP
 * LOCKED and a lease; a worker finishes a job in the same transaction as
 * its effect, and only while it still owns the claim (same worker, same
 * attempt), so a job whose lease ran out and was taken over can never be
 * finished twice. Expired leases are re-queued by any worker's sweeper.
 */
#ifndef RK_JOBQ_H
#define RK_JOBQ_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "db.h"
#include "err.h"

struct job {
	int64_t id;
	int attempt;		/* 1 on the first claim */
	int max_attempts;
	const unsigned char *payload;	/* in the claiming arena */
	size_t len;
	/* the request that made it (x-request-id), or NULL */
	const char *request_id;
};

/* Inserts a job; call inside the producer's transaction. *id may be NULL.
 * The calling thread's request id (log.h) is kept with it. */
rk_err jobq_enqueue(db_conn *db, const char *queue, const void *payload,
    size_t len, int64_t *id);
/* The same, claimable from run_at_us (microseconds since the epoch; 0:
 * now). */
rk_err jobq_enqueue_at(db_conn *db, const char *queue, const void *payload,
    size_t len, int64_t run_at_us, int64_t *id);

/*
 * Claims up to max available jobs of queue for worker, leased for
 * lease_s seconds. On RK_OK *jobs (in arena a) holds *n jobs (0 or more).
 */
rk_err jobq_claim(db_conn *db, const char *queue, const char *worker, int max,
    int lease_s, arena *a, struct job **jobs, int *n);

/*
 * Marks job done, inside the caller's transaction with the job's effect.
 * RK_EPRECOND: the claim is no longer ours; the caller must roll back.
 */
rk_err jobq_complete(db_conn *db, const struct job *job, const char *worker);

/*
 * Records a failure outside any transaction: back to available after an
 * exponential backoff with jitter, or discarded when retry is 0 or the
 * attempts are used up. The error text is stored, cut to 1000 bytes.
 */
rk_err jobq_fail(db_conn *db, const struct job *job, const char *worker,
    const char *error, int retry);

/*
 * Gives back every job worker claimed but did not finish (clean exit), so
 * that others take them at once instead of after the lease.
 */
rk_err jobq_release(db_conn *db, const char *worker);

/* Extends the leases of every job worker is running. */
rk_err jobq_heartbeat(db_conn *db, const char *worker, int lease_s,
    int64_t *extended);

/*
 * Re-queues running jobs whose lease expired and deletes done jobs older
 * than keep_s seconds. Counts go to *requeued / *purged (may be NULL).
 */
rk_err jobq_sweep(db_conn *db, int keep_s, int64_t *requeued,
    int64_t *purged);

/* Backoff before retry number attempt (1-based): 2^attempt s, capped, with
 * up to 25% jitter from r (0..1). Pure; exposed for tests. */
double jobq_backoff_s(int attempt, double r);

#endif
