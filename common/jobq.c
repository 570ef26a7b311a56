/*
 * jobq.c - claim, complete, fail, heartbeat and sweep on rekindle.jobs.
 *
 * CONCURRENCY
 *	Any number of processes on any number of machines may claim from
 *	the same queue: SKIP LOCKED hands each row to one claimer, and the
 *	ownership check in jobq_complete closes the lease-expiry race.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobq.h"
#include "log.h"

rk_err
jobq_enqueue(db_conn *db, const char *queue, const void *payload, size_t len,
    int64_t *id)
{
	return (jobq_enqueue_at(db, queue, payload, len, 0, id));
}

rk_err
jobq_enqueue_at(db_conn *db, const char *queue, const void *payload,
    size_t len, int64_t run_at_us, int64_t *id)
{
	char at[24];
	/* the calling thread's request (the API call, or the job that made
	 * this one) goes with the job */
	const char *p[4] = {queue, payload, at, log_request_id()};
	int lens[4] = {0, (int)len, 0, 0}, fmts[4] = {0, 1, 0, 0};
	db_res *r;
	rk_err rc;

	snprintf(at, sizeof(at), "%lld", (long long)run_at_us);
	if (p[3] != NULL && *p[3] == '\0')
		p[3] = NULL;
	rc = db_execp_bin(db, "jobq_enqueue",
	    "INSERT INTO jobs (queue, payload, run_at, request_id) VALUES ($1, "
	    "$2, CASE WHEN $3::bigint > 0 THEN timestamptz 'epoch' + $3::bigint "
	    "* interval '1 microsecond' ELSE now() END, $4) RETURNING id",
	    4, p, lens, fmts, &r);
	if (rc != RK_OK)
		return (rc);
	if (id != NULL)
		*id = db_res_int64(r, 0, 0);
	db_res_free(r);
	return (RK_OK);
}

static int
hexval(int c)
{
	return (isdigit(c) ? c - '0' : tolower(c) - 'a' + 10);
}

/* Decodes PostgreSQL's hex bytea output ("\x0a1b...") into the arena. */
static unsigned char *
unhex(arena *a, const char *s, size_t *len)
{
	size_t n;
	unsigned char *out;

	if (s[0] != '\\' || s[1] != 'x') {
		*len = 0;
		return (arena_alloc(a, 1));
	}
	s += 2;
	n = strlen(s) / 2;
	out = arena_alloc(a, n + 1);
	for (size_t i = 0; i < n; i++)
		out[i] = (unsigned char)(hexval((unsigned char)s[2 * i]) << 4 |
		    hexval((unsigned char)s[2 * i + 1]));
	*len = n;
	return (out);
}

rk_err
jobq_claim(db_conn *db, const char *queue, const char *worker, int max,
    int lease_s, arena *a, struct job **jobs, int *n)
{
	char smax[16], slease[16];
	const char *p[4] = {queue, worker, smax, slease};
	db_res *r;
	rk_err rc;

	*jobs = NULL;
	*n = 0;
	snprintf(smax, sizeof(smax), "%d", max);
	snprintf(slease, sizeof(slease), "%d", lease_s);
	rc = db_execp(db, "jobq_claim",
	    "WITH c AS (SELECT id FROM jobs WHERE state = 'available' "
	    " AND queue = $1 AND run_at <= now() ORDER BY run_at, id "
	    " LIMIT $3 FOR UPDATE SKIP LOCKED) "
	    "UPDATE jobs j SET state = 'running', attempt = j.attempt + 1, "
	    " locked_by = $2, lease_expires_at = now() + make_interval(secs => $4) "
	    "FROM c WHERE j.id = c.id "
	    "RETURNING j.id, j.attempt, j.max_attempts, j.payload, "
	    " j.request_id",
	    4, p, &r);
	if (rc != RK_OK)
		return (rc);
	*n = db_res_nrows(r);
	*jobs = arena_zalloc(a, sizeof(**jobs) * (size_t)(*n ? *n : 1));
	for (int i = 0; i < *n; i++) {
		struct job *j = &(*jobs)[i];

		j->id = db_res_int64(r, i, 0);
		j->attempt = (int)db_res_int64(r, i, 1);
		j->max_attempts = (int)db_res_int64(r, i, 2);
		j->payload = unhex(a, db_res_str(r, i, 3), &j->len);
		j->request_id = db_res_isnull(r, i, 4) ? NULL :
		    arena_strdup(a, db_res_str(r, i, 4));
	}
	db_res_free(r);
	return (RK_OK);
}

rk_err
jobq_complete(db_conn *db, const struct job *job, const char *worker)
{
	char id[24], att[16];
	const char *p[3] = {id, worker, att};
	db_res *r;
	rk_err rc;
	int64_t n;

	snprintf(id, sizeof(id), "%lld", (long long)job->id);
	snprintf(att, sizeof(att), "%d", job->attempt);
	rc = db_execp(db, "jobq_complete",
	    "UPDATE jobs SET state = 'done', finished_at = now(), "
	    " lease_expires_at = NULL "
	    "WHERE id = $1 AND locked_by = $2 AND attempt = $3 "
	    " AND state = 'running'", 3, p, &r);
	if (rc != RK_OK)
		return (rc);
	n = db_res_affected(r);
	db_res_free(r);
	return (n == 1 ? RK_OK : RK_EPRECOND);
}

double
jobq_backoff_s(int attempt, double r)
{
	double base = pow(2.0, attempt < 1 ? 1 : attempt > 12 ? 12 : attempt);

	return (base * (1.0 + 0.25 * r));
}

rk_err
jobq_fail(db_conn *db, const struct job *job, const char *worker,
    const char *error, int retry)
{
	char id[24], att[16], delay[32], msg[1001];
	const char *p[5] = {id, worker, att, delay, msg};

	snprintf(id, sizeof(id), "%lld", (long long)job->id);
	snprintf(att, sizeof(att), "%d", job->attempt);
	snprintf(delay, sizeof(delay), "%.3f",
	    retry ? jobq_backoff_s(job->attempt, drand48()) : -1.0);
	snprintf(msg, sizeof(msg), "%s", error ? error : "");
	return (db_execp(db, "jobq_fail",
	    "UPDATE jobs SET last_error = $5, locked_by = NULL, "
	    " lease_expires_at = NULL, "
	    " state = CASE WHEN $4::float8 < 0 OR attempt >= max_attempts "
	    "   THEN 'discarded' ELSE 'available' END, "
	    " finished_at = CASE WHEN $4::float8 < 0 OR attempt >= max_attempts "
	    "   THEN now() END, "
	    " run_at = now() + make_interval(secs => greatest($4::float8, 0)) "
	    "WHERE id = $1 AND locked_by = $2 AND attempt = $3 "
	    " AND state = 'running'", 5, p, NULL));
}

rk_err
jobq_release(db_conn *db, const char *worker)
{
	const char *p[1] = {worker};

	return (db_execp(db, "jobq_release",
	    "UPDATE jobs SET state = 'available', attempt = attempt - 1, "
	    " locked_by = NULL, lease_expires_at = NULL "
	    "WHERE state = 'running' AND locked_by = $1", 1, p, NULL));
}

rk_err
jobq_heartbeat(db_conn *db, const char *worker, int lease_s, int64_t *extended)
{
	char slease[16];
	const char *p[2] = {worker, slease};
	db_res *r;
	rk_err rc;

	snprintf(slease, sizeof(slease), "%d", lease_s);
	rc = db_execp(db, "jobq_heartbeat",
	    "UPDATE jobs SET lease_expires_at = now() + make_interval(secs => $2) "
	    "WHERE state = 'running' AND locked_by = $1", 2, p, &r);
	if (rc != RK_OK)
		return (rc);
	if (extended != NULL)
		*extended = db_res_affected(r);
	db_res_free(r);
	return (RK_OK);
}

rk_err
jobq_sweep(db_conn *db, int keep_s, int64_t *requeued, int64_t *purged)
{
	char keep[16];
	const char *p[1] = {keep};
	db_res *r;
	rk_err rc;

	rc = db_execp(db, "jobq_requeue",
	    "UPDATE jobs SET state = CASE WHEN attempt >= max_attempts "
	    "  THEN 'discarded' ELSE 'available' END, "
	    " last_error = 'lease of ' || coalesce(locked_by, '?') || ' expired', "
	    " locked_by = NULL, lease_expires_at = NULL "
	    "WHERE id IN (SELECT id FROM jobs WHERE state = 'running' "
	    " AND lease_expires_at < now() LIMIT 1000 FOR UPDATE SKIP LOCKED)",
	    0, NULL, &r);
	if (rc != RK_OK)
		return (rc);
	if (requeued != NULL)
		*requeued = db_res_affected(r);
	db_res_free(r);
	snprintf(keep, sizeof(keep), "%d", keep_s);
	rc = db_execp(db, "jobq_purge",
	    "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs "
	    " WHERE state = 'done' AND finished_at < now() - "
	    " make_interval(secs => $1) LIMIT 5000)", 1, p, &r);
	if (rc != RK_OK)
		return (rc);
	if (purged != NULL)
		*purged = db_res_affected(r);
	db_res_free(r);
	return (RK_OK);
}
