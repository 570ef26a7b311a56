/*
 * worker.c - the worker process skeleton.
 *
 * CONCURRENCY
 *	The main loop (claims and handles jobs on its own connection) and
 *	the heartbeat (extends this worker's leases and re-queues other
 *	workers' expired ones, on a second connection). A poll pool may run
 *	more lanes: the same loop in more threads, each with a connection
 *	and a wake-up socket of its own, so that one lane's database round
 *	trips overlap another's provider calls. They share only the stop
 *	flag (and whatever the pool's own code shares, which it guards).
 *
 * DIAGNOSTICS
 *	WORKER-START, WORKER-EXIT, JOB-DONE (debug), JOB-FAIL, JOB-LOST
 *	(claim taken over), JOB-RELEASE (jobs whose failure the database
 *	was not there to record, given back), LEASE-REQUEUE, DB-UNAVAILABLE,
 *	WORKER-LANES, WORKER-RECYCLE.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bus.h"
#include "clock.h"
#include "daemon.h"
#include "log.h"
#include "mem.h"
#include "metrics.h"
#include "worker.h"

static char *var_bus_connect;
static int var_worker_batch;
static int var_lease_seconds;
static int var_poll_interval_ms;
static int var_max_jobs;
static int var_max_idle;
static int var_job_keep_seconds;
static int var_debug_stall_ms;

const struct cfg_entry worker_cfg[] = {
	{"bus_connect", CFG_STR, "ipc:///tmp/rekindle-bus.ipc", &var_bus_connect,
	    0, 0, 0, "comma-separated nng URLs of the publishers to dial"},
	{"worker_batch", CFG_INT, "16", &var_worker_batch, 1, 1000, 0,
	    "jobs claimed per query"},
	{"lease_seconds", CFG_INT, "30", &var_lease_seconds, 1, 3600, 0,
	    "lease of a claimed job; a dead worker's jobs return after it"},
	{"poll_interval_ms", CFG_INT, "1000", &var_poll_interval_ms, 10, 60000,
	    0, "longest wait for work when no wake-up arrives"},
	{"max_jobs", CFG_INT, "100000", &var_max_jobs, 0, 100000000, 0,
	    "exit after this many jobs (0 = never); the supervisor restarts"},
	{"max_idle", CFG_INT, "0", &var_max_idle, 0, 86400, 0,
	    "exit after this many idle seconds (0 = never)"},
	{"job_keep_seconds", CFG_INT, "86400", &var_job_keep_seconds, 0,
	    100000000, 0, "how long finished jobs stay in the table"},
	{"debug_stall_ms", CFG_INT, "0", &var_debug_stall_ms, 0, 600000, 0,
	    "fault injection for tests: stall this long inside every job"},
	CFG_END,
};

struct worker {
	const struct worker_spec *spec;
	/* a job's failure could not be recorded (the database went away):
	 * it is still "running" under this worker, and the heartbeat would
	 * keep its lease alive for ever - released before the next claim */
	bool stranded;
};

static struct metric jobs_done = METRIC_COUNTER("rekindle_jobs_total",
    "Jobs this worker finished, by queue and outcome (done, retry, "
    "discarded, lost).", "queue", "outcome");
static struct metric job_seconds = METRIC_HISTOGRAM(
    "rekindle_job_duration_seconds", "Time to run one job, by queue.",
    metric_long_buckets, "queue");
static struct metric queue_depth = METRIC_GAUGE("rekindle_queue_depth",
    "Work waiting in a queue: due and not yet taken.", "queue", "channel");
static struct metric queue_age = METRIC_GAUGE(
    "rekindle_queue_oldest_age_seconds",
    "How long the oldest due item of a queue has waited.", "queue",
    "channel");

int
worker_stopping(void)
{
	return (daemon_stopping());
}

int
worker_lease_seconds(void)
{
	return (var_lease_seconds);
}

int
worker_poll_interval_ms(void)
{
	return (var_poll_interval_ms);
}

const char *
worker_id(const struct worker *w)
{
	(void)w;
	return (daemon_id());
}

void
worker_queue_gauge(const char *queue, const char *channel, int64_t depth,
    double oldest_s)
{
	metric_set(&queue_depth, (double)depth, queue, channel);
	metric_set(&queue_age, oldest_s, queue, channel);
}

/* At a scrape: the depth and age of this worker's job queue, on a
 * connection of the metrics thread's own. */
static void
scrape_queue(void *arg)
{
	db_conn *db = daemon_metrics_db();
	const struct worker *w = arg;
	const char *p[1] = {w->spec->queue};
	db_res *r;

	if (db == NULL)
		return;
	if (db_execp(db, "queue_gauge", "SELECT count(*), coalesce(extract("
	    "epoch FROM now() - min(run_at)), 0)::float8 FROM jobs WHERE "
	    "queue = $1 AND state = 'available' AND run_at <= now()", 1, p,
	    &r) != RK_OK)
		return;
	worker_queue_gauge(w->spec->queue, "", db_res_int64(r, 0, 0),
	    db_res_double(r, 0, 1));
	db_res_free(r);
}

static void *
heartbeat_main(void *arg)
{
	struct worker *w = arg;
	char app[160];
	db_conn *db;
	int period = var_lease_seconds * 1000 / 3;

	snprintf(app, sizeof(app), "%s/heartbeat", w->spec->name);
	if ((db = daemon_db_open(app)) == NULL)
		return (NULL);
	if (period < 200)
		period = 200;
	while (!daemon_stopping()) {
		int64_t requeued = 0, purged = 0;

		if (jobq_heartbeat(db, daemon_id(), var_lease_seconds, NULL) != RK_OK ||
		    jobq_sweep(db, var_job_keep_seconds, &requeued, &purged) !=
		    RK_OK)
			log_warn("DB-UNAVAILABLE", "heartbeat failed: %s",
			    db_errmsg(db));
		if (requeued > 0)
			log_info("LEASE-REQUEUE", "re-queued %lld jobs whose "
			    "lease expired", (long long)requeued);
		if (w->spec->heartbeat != NULL)
			w->spec->heartbeat(w, db, var_lease_seconds);
		daemon_sleep_ms(period);
	}
	db_close(db);
	return (NULL);
}

static bool
transient(rk_err rc)
{
	return (rc == RK_ERETRY || rc == RK_EUNAVAIL || rc == RK_ETIMEDOUT);
}

/* Runs one job in its own transaction; returns true if it was completed. */
static bool
run_job(struct worker *w, db_conn *db, const struct job *job, arena *a)
{
	const char *why = NULL, *outcome;
	int64_t t0 = clock_mono_ms();
	char rid[40];
	rk_err rc;

	/* the request that made the job, so one id follows a change from the
	 * API through the workers; else the job's own */
	if (job->request_id != NULL && *job->request_id != '\0')
		log_set_request_id(job->request_id);
	else {
		snprintf(rid, sizeof(rid), "job-%lld", (long long)job->id);
		log_set_request_id(rid);
	}
	if (var_debug_stall_ms > 0)
		daemon_sleep_ms(var_debug_stall_ms);
	if ((rc = db_begin(db)) == RK_OK) {
		rc = w->spec->handle(w, db, job, a, &why);
		if (rc == RK_OK)
			rc = jobq_complete(db, job, daemon_id());
		if (rc == RK_OK)
			rc = db_commit(db);
		else
			db_rollback(db);
	}
	outcome = rc == RK_OK ? "done" : rc == RK_EPRECOND ? "lost" :
	    transient(rc) && job->attempt < job->max_attempts ? "retry" :
	    "discarded";
	metric_add(&jobs_done, 1, w->spec->queue, outcome);
	metric_observe(&job_seconds, (double)(clock_mono_ms() - t0) / 1e3,
	    w->spec->queue);
	if (rc == RK_OK) {
		log_debug("JOB-DONE", "job %lld done on attempt %d",
		    (long long)job->id, job->attempt);
	} else if (rc == RK_EPRECOND) {
		log_warn("JOB-LOST", "job %lld: claim taken over after the lease "
		    "expired; effect rolled back", (long long)job->id);
	} else {
		if (why == NULL)
			why = rk_strerror(rc);
		log_error("JOB-FAIL", "job %lld attempt %d failed: %s (%s)",
		    (long long)job->id, job->attempt, why,
		    rc == RK_EUNAVAIL || rc == RK_EINTERNAL ? db_errmsg(db) : "");
		if (jobq_fail(db, job, daemon_id(), why, transient(rc)) !=
		    RK_OK) {
			log_warn("DB-UNAVAILABLE", "could not record failure of "
			    "job %lld: %s", (long long)job->id, db_errmsg(db));
			w->stranded = true;
		}
	}
	log_set_request_id(NULL);
	arena_reset(a);
	return (rc == RK_OK);
}

/*
 * The loop of one lane: claim -> handle -> wait for a wake-up, until the
 * process stops or recycles. Returns the items it finished.
 */
static int
run_lane(struct worker *w, db_conn *db, bus *b)
{
	const struct worker_spec *spec = w->spec;
	int done = 0;
	int64_t idle_since = clock_mono_ms();
	arena *a = arena_create(64 * 1024), *batch_arena = arena_create(64 * 1024);

	while (!daemon_stopping()) {
		struct job *jobs;
		int n = 0;
		rk_err rc;

		if (spec->poll != NULL) {
			n = spec->poll(w, db, a);
			arena_reset(a);
			if (n < 0) {
				daemon_sleep_ms(var_poll_interval_ms);
				continue;
			}
			done += n;
			if (n > 0) {
				idle_since = clock_mono_ms();
				if (var_max_jobs > 0 && done >= var_max_jobs) {
					log_info("WORKER-RECYCLE", "exiting after "
					    "%d items", done);
					break;
				}
				continue;
			}
			goto wait;
		}
		/* between batches nothing is in hand: every job still
		 * "running" under this worker is stranded */
		if (w->stranded && jobq_release(db, daemon_id()) == RK_OK) {
			w->stranded = false;
			log_info("JOB-RELEASE", "jobs whose failure could not be "
			    "recorded are available again");
		}
		rc = jobq_claim(db, spec->queue, daemon_id(), var_worker_batch,
		    var_lease_seconds, batch_arena, &jobs, &n);
		if (rc != RK_OK) {
			log_warn("DB-UNAVAILABLE", "could not claim jobs: %s",
			    db_errmsg(db));
			daemon_sleep_ms(var_poll_interval_ms);
			continue;
		}
		for (int i = 0; i < n && !daemon_stopping(); i++)
			done += run_job(w, db, &jobs[i], a);
		arena_reset(batch_arena);
		if (n > 0)
			idle_since = clock_mono_ms();
		if (var_max_jobs > 0 && done >= var_max_jobs) {
			log_info("WORKER-RECYCLE", "exiting after %d jobs", done);
			break;
		}
		if (n == var_worker_batch)
			continue;
wait:
		if (var_max_idle > 0 &&
		    clock_mono_ms() - idle_since > var_max_idle * 1000LL) {
			log_info("WORKER-RECYCLE", "exiting after %d idle seconds",
			    var_max_idle);
			break;
		}
		if (b != NULL) {
			char rid[64];

			if (bus_recv(b, var_poll_interval_ms, NULL, rid,
			    sizeof(rid)) == RK_OK && *rid != '\0') {
				log_set_request_id(rid);
				log_debug("BUS-WAKEUP", "woken for \"%s\"",
				    spec->queue);
				log_set_request_id(NULL);
			}
		} else
			daemon_sleep_ms(var_poll_interval_ms);
	}
	/* one lane recycling ends the process: its supervisor starts anew */
	daemon_request_stop();
	arena_destroy(a);
	arena_destroy(batch_arena);
	return (done);
}

/* A lane beyond the first: a connection and a wake-up socket of its own. */
struct lane {
	struct worker *w;
	int index;
	int done;
	pthread_t thread;
};

static void *
lane_main(void *arg)
{
	struct lane *l = arg;
	char app[160], err[512];
	db_conn *db;
	bus *b = NULL;

	snprintf(app, sizeof(app), "%s/lane%d", l->w->spec->name, l->index);
	if ((db = daemon_db_open(app)) == NULL) {
		daemon_request_stop();
		return (NULL);
	}
	if (*var_bus_connect != '\0' && bus_open_sub(var_bus_connect,
	    l->w->spec->queue, &b, err, sizeof(err)) != RK_OK) {
		log_error("BUS-OPEN-FAIL", "%s", err);
		daemon_request_stop();
		db_close(db);
		return (NULL);
	}
	l->done = run_lane(l->w, db, b);
	bus_close(b);
	db_close(db);
	return (NULL);
}

int
worker_main(int argc, char **argv, const struct worker_spec *spec)
{
	const struct cfg_entry *tables[16] = {worker_cfg};
	size_t nt = 1;
	struct worker w = {.spec = spec};
	struct lane *lanes = NULL;
	char err[512];
	int done, nlanes;
	pthread_t hb;
	db_conn *db;
	bus *b = NULL;

	if (spec->cfg != NULL)
		tables[nt++] = spec->cfg;
	if (spec->cfg_shared != NULL)
		tables[nt++] = spec->cfg_shared;
	for (size_t i = 0; spec->cfg_more != NULL && spec->cfg_more[i] != NULL &&
	    nt + 1 < sizeof(tables) / sizeof(tables[0]); i++)
		tables[nt++] = spec->cfg_more[i];
	daemon_start(argc, argv, &(struct daemon_spec){.name = spec->name,
	    .cfg = tables, .flags = DAEMON_DATABASE});
	if ((db = daemon_db_open(spec->name)) == NULL)
		return (0);
	/* a database restart while starting is waited out, not fatal */
	for (int tries = 0; spec->post_init != NULL; tries++) {
		rk_err rc = spec->post_init(&w, db);

		if (rc == RK_OK)
			break;
		if (rc != RK_EUNAVAIL || tries >= 600)
			log_fatal("WORKER-INIT-FAIL", "could not initialise %s: %s",
			    spec->name, rk_strerror(rc));
		if (!daemon_sleep_ms(100))
			return (0);	/* stopped while waiting */
	}
	if (*var_bus_connect != '\0') {
		if (bus_open_sub(var_bus_connect, spec->queue, &b, err,
		    sizeof(err)) != RK_OK)
			log_fatal("BUS-OPEN-FAIL", "%s", err);
		daemon_set_ready("bus", true);
	}
	if (spec->poll == NULL)
		metrics_on_scrape(scrape_queue, &w);
	if (pthread_create(&hb, NULL, heartbeat_main, &w) != 0)
		log_fatal("THREAD-FAIL", "could not start heartbeat thread: %m");
	nlanes = spec->poll != NULL && spec->lanes != NULL && *spec->lanes > 1 ?
	    *spec->lanes : 1;
	if (nlanes > 1)
		lanes = xcalloc((size_t)nlanes, sizeof(*lanes));
	for (int i = 1; i < nlanes; i++) {
		lanes[i] = (struct lane){.w = &w, .index = i};
		if (pthread_create(&lanes[i].thread, NULL, lane_main,
		    &lanes[i]) != 0)
			log_fatal("THREAD-FAIL", "could not start lane %d: %m", i);
	}
	log_info("WORKER-START", "%s serving queue \"%s\"", daemon_id(),
	    spec->queue);
	if (nlanes > 1)
		log_info("WORKER-LANES", "%d lanes, each claiming on a database "
		    "connection of its own", nlanes);
	done = run_lane(&w, db, b);
	for (int i = 1; i < nlanes; i++) {
		pthread_join(lanes[i].thread, NULL);
		done += lanes[i].done;
	}
	free(lanes);
	daemon_request_stop();
	pthread_join(hb, NULL);
	if (jobq_release(db, daemon_id()) != RK_OK)
		log_warn("DB-UNAVAILABLE", "could not release jobs: %s",
		    db_errmsg(db));
	bus_close(b);
	db_close(db);
	log_info("WORKER-EXIT", "%s exiting after %d jobs", daemon_id(), done);
	daemon_finish();
	return (0);
}
