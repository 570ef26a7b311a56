/*
 * worker.h - the one skeleton every rekindle worker process runs
 * (Postfix single_server, PostgreSQL background worker loop).
 *
 * A worker's main.c fills a worker_spec and returns worker_main(). The
 * skeleton, in order: options (-c file, -o name=value, -v,
 * --print-config), logging, configuration, signal handlers that only set
 * flags, the database (migrations applied), the bus, a heartbeat thread
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
};

/* Runs the worker; returns the process exit status. */
int worker_main(int argc, char **argv, const struct worker_spec *spec);

/* This process's worker id ("profiler@host:pid"); borrowed. */
const char *worker_id(const struct worker *w);

/* True once SIGTERM/SIGINT arrived: long handlers should stop early. */
int worker_stopping(void);

/* The configuration shared by every worker (for the example config test). */
extern const struct cfg_entry worker_cfg[];

#endif
