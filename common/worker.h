/*
 * worker.h - the one skeleton every rekindle worker process runs
 * (Postfix single_server, PostgreSQL background worker loop).
 *
 * A worker's main.c fills a worker_spec and returns worker_main(). The
 * skeleton, in order: the process start-up every program shares
 * (daemon.h: options, configuration, logging, signals, the database with
 * migrations, the metrics and health endpoint), the bus, a heartbeat thread
 * that extends leases and sweeps expired ones, then the loop: claim a
 * batch -> for each job, in one transaction, handle() and mark it done ->
 * wait on the bus for a wake-up or the poll interval. It exits on
 * SIGTERM/SIGINT, after max_jobs jobs or max_idle idle seconds; its
 * supervisor (systemd, the local launcher) starts a fresh one.
 */
#ifndef RK_WORKER_H
#define RK_WORKER_H

#include "arena.h"
#include "cfg.h"
#include "db.h"
#include "jobq.h"

struct worker;

struct worker_spec {
	const char *name;	/* program name, "profiler" */
	const char *queue;	/* the job queue it serves */
	/* Program-specific config table (CFG_END-terminated) or NULL. */
	const struct cfg_entry *cfg;
	/* A table shared with other programs (msgtoken_cfg), or NULL. */
	const struct cfg_entry *cfg_shared;
	/* More tables (NULL-terminated list), or NULL. */
	const struct cfg_entry *const *cfg_more;
	/* Optional; runs after the database is open. */
	rk_err (*post_init)(struct worker *w, db_conn *db);
	/*
	 * Does one job inside an open transaction on db. Transient memory
	 * goes to a (reset after the job). RK_OK commits the effect with the
	 * job's completion; RK_ERETRY/RK_EUNAVAIL/RK_ETIMEDOUT retry later;
	 * any other error discards the job. Set *why for the job's record.
	 */
	rk_err (*handle)(struct worker *w, db_conn *db, const struct job *job,
	    arena *a, const char **why);
	/*
	 * Instead of handle, for a pool that claims rows of its own rather
	 * than jobs (the delivery pools claim outbox messages): one round of
	 * work in transactions of its own making, returning how many items
	 * it took (0: nothing due; the loop then waits for a wake-up) or -1
	 * on a database error. a is reset after each round.
	 */
	int (*poll)(struct worker *w, db_conn *db, arena *a);
	/* Optional: the heartbeat thread's share of a poll pool, every
	 * lease/3 on the heartbeat's own connection (extend its own
	 * leases, settle the rows of processes that died). */
	void (*heartbeat)(struct worker *w, db_conn *db, int lease_s);
	/* Optional, poll pools: how many loops run poll at once, each in a
	 * thread with a database connection of its own (read once the
	 * configuration is; NULL or < 2: one). poll must then be safe to
	 * run in several threads; max_jobs counts per lane. */
	const int *lanes;
};

/* Runs the worker; returns the process exit status. */
int worker_main(int argc, char **argv, const struct worker_spec *spec);

/* This process's worker id ("profiler@host:pid"); borrowed. */
const char *worker_id(const struct worker *w);

/* True once SIGTERM/SIGINT arrived: long handlers should stop early. */
int worker_stopping(void);

/* The lease of claimed work, seconds (lease_seconds). */
int worker_lease_seconds(void);

/* The longest wait between polls when no wake-up comes (poll_interval_ms). */
int worker_poll_interval_ms(void);

/* Sets the rekindle_queue_depth and rekindle_queue_oldest_age_seconds
 * gauges of queue (and channel, "" if none). A job worker reports its
 * queue at each scrape by itself; a poll pool reports its own. */
void worker_queue_gauge(const char *queue, const char *channel,
    int64_t depth, double oldest_s);

/* The configuration shared by every worker (for the example config test). */
extern const struct cfg_entry worker_cfg[];

#endif
