/*
 * worker.c - the worker process skeleton.
 *
 * CONCURRENCY
 *	Two threads: the main loop (claims and handles jobs on its own
 *	connection) and the heartbeat (extends this worker's leases and
 *	re-queues other workers' expired ones, on a second connection). They
 *	share only the stop flag.
 *
 * DIAGNOSTICS
 *	WORKER-START, WORKER-EXIT, JOB-DONE (debug), JOB-FAIL, JOB-LOST
 *	(claim taken over), LEASE-REQUEUE, DB-UNAVAILABLE.
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
#include "log.h"
#include "mem.h"
#include "options.h"
#include "worker.h"

static char *var_database_url;
static char *var_bus_connect;
static int var_worker_batch;
static int var_lease_seconds;
static int var_poll_interval_ms;
static int var_max_jobs;
static int var_max_idle;
static int var_job_keep_seconds;
static int var_debug_stall_ms;

const struct cfg_entry worker_cfg[] = {
	{"database_url", CFG_STR, "", &var_database_url, 0, 0, CFG_SECRET,
	    "libpq connection string of the rekindle database"},
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
	char id[128];
};

static volatile sig_atomic_t stop_flag;

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

int
worker_stopping(void)
{
	return (stop_flag != 0);
}

int
worker_lease_seconds(void)
{
	return (var_lease_seconds);
}

const char *
worker_id(const struct worker *w)
{
	return (w->id);
}

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !stop_flag)
		;
}

/* Opens a connection, waiting up to 60 s for the database to come up. */
static db_conn *
open_db(const char *app)
{
	char err[512];
	db_conn *db;

	for (int i = 0; i < 600 && !stop_flag; i++) {
		if (db_open(var_database_url, app, &db, err, sizeof(err)) ==
		    RK_OK)
			return (db);
		if (i == 0)
			log_warn("DB-UNAVAILABLE", "could not connect to the "
			    "database, retrying: %s", err);
		sleep_ms(100);
	}
	log_fatal("DB-CONNECT-FAIL", "could not connect to the database: %s",
	    err);
}

static void *
heartbeat_main(void *arg)
{
	struct worker *w = arg;
	char app[160];
	db_conn *db;
	int period = var_lease_seconds * 1000 / 3;

	snprintf(app, sizeof(app), "%s/heartbeat", w->spec->name);
	db = open_db(app);
	if (period < 200)
		period = 200;
	while (!stop_flag) {
		int64_t requeued = 0, purged = 0;

		if (jobq_heartbeat(db, w->id, var_lease_seconds, NULL) != RK_OK ||
		    jobq_sweep(db, var_job_keep_seconds, &requeued, &purged) !=
		    RK_OK)
			log_warn("DB-UNAVAILABLE", "heartbeat failed: %s",
			    db_errmsg(db));
		if (requeued > 0)
			log_info("LEASE-REQUEUE", "re-queued %lld jobs whose "
			    "lease expired", (long long)requeued);
		if (w->spec->heartbeat != NULL)
			w->spec->heartbeat(w, db, var_lease_seconds);
		for (int t = 0; t < period && !stop_flag; t += 50)
			sleep_ms(50);
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
	const char *why = NULL;
	char rid[40];
	rk_err rc;

	snprintf(rid, sizeof(rid), "job-%lld", (long long)job->id);
	log_set_request_id(rid);
	if (var_debug_stall_ms > 0)
		for (int t = 0; t < var_debug_stall_ms && !stop_flag; t += 10)
			sleep_ms(10);
	if ((rc = db_begin(db)) == RK_OK) {
		rc = w->spec->handle(w, db, job, a, &why);
		if (rc == RK_OK)
			rc = jobq_complete(db, job, w->id);
		if (rc == RK_OK)
			rc = db_commit(db);
		else
			db_rollback(db);
	}
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
		if (jobq_fail(db, job, w->id, why, transient(rc)) != RK_OK)
			log_warn("DB-UNAVAILABLE", "could not record failure of "
			    "job %lld: %s", (long long)job->id, db_errmsg(db));
	}
	log_set_request_id(NULL);
	arena_reset(a);
	return (rc == RK_OK);
}

int
worker_main(int argc, char **argv, const struct worker_spec *spec)
{
	const struct cfg_entry *tables[16] = {worker_cfg};
	size_t nt = 1;
	struct worker w = {.spec = spec};
	char err[512], host[64];
	int done = 0;
	int64_t idle_since;
	pthread_t hb;
	db_conn *db;
	bus *b = NULL;
	arena *a, *batch_arena;

	log_init(spec->name);
	if (spec->cfg != NULL)
		tables[nt++] = spec->cfg;
	if (spec->cfg_shared != NULL)
		tables[nt++] = spec->cfg_shared;
	for (size_t i = 0; spec->cfg_more != NULL && spec->cfg_more[i] != NULL &&
	    nt + 1 < sizeof(tables) / sizeof(tables[0]); i++)
		tables[nt++] = spec->cfg_more[i];
	options_load(argc, argv, tables);
	gethostname(host, sizeof(host));
	host[sizeof(host) - 1] = '\0';
	snprintf(w.id, sizeof(w.id), "%s@%s:%d", spec->name, host,
	    (int)getpid());
	srand48((long)getpid() ^ (long)clock_now_us());

	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);

	db = open_db(spec->name);
	if (db_migrate(db, db_migrations, db_nmigrations, NULL) != RK_OK)
		log_fatal("DB-MIGRATE-FAIL", "could not apply migrations: %s",
		    db_errmsg(db));
	if (spec->post_init != NULL && spec->post_init(&w, db) != RK_OK)
		log_fatal("WORKER-INIT-FAIL", "could not initialise %s",
		    spec->name);
	if (*var_bus_connect != '\0' && bus_open_sub(var_bus_connect,
	    spec->queue, &b, err, sizeof(err)) != RK_OK)
		log_fatal("BUS-OPEN-FAIL", "%s", err);
	if (pthread_create(&hb, NULL, heartbeat_main, &w) != 0)
		log_fatal("THREAD-FAIL", "could not start heartbeat thread: %m");
	log_info("WORKER-START", "%s serving queue \"%s\"", w.id, spec->queue);

	a = arena_create(64 * 1024);
	batch_arena = arena_create(64 * 1024);
	idle_since = clock_mono_ms();
	while (!stop_flag) {
		struct job *jobs;
		int n = 0;
		rk_err rc;

		if (spec->poll != NULL) {
			n = spec->poll(&w, db, a);
			arena_reset(a);
			if (n < 0) {
				sleep_ms(var_poll_interval_ms);
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
		rc = jobq_claim(db, spec->queue, w.id, var_worker_batch,
		    var_lease_seconds, batch_arena, &jobs, &n);
		if (rc != RK_OK) {
			log_warn("DB-UNAVAILABLE", "could not claim jobs: %s",
			    db_errmsg(db));
			sleep_ms(var_poll_interval_ms);
			continue;
		}
		for (int i = 0; i < n && !stop_flag; i++)
			done += run_job(&w, db, &jobs[i], a);
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
		if (b != NULL)
			(void)bus_recv(b, var_poll_interval_ms, NULL);
		else
			sleep_ms(var_poll_interval_ms);
	}
	stop_flag = 1;
	pthread_join(hb, NULL);
	if (jobq_release(db, w.id) != RK_OK)
		log_warn("DB-UNAVAILABLE", "could not release jobs: %s",
		    db_errmsg(db));
	arena_destroy(a);
	arena_destroy(batch_arena);
	bus_close(b);
	db_close(db);
	log_info("WORKER-EXIT", "%s exiting after %d jobs", w.id, done);
	cfg_free(tables);
	return (0);
}
