/*
 * daemon.h - the one start-up every rekindle program runs (Postfix
 * master/single_server, PostgreSQL postmaster): the API, the tracker, the
 * launcher, the timer pool and every worker (worker.h builds on it).
 *
 * daemon_start, in order: options (-c FILE, -o NAME=VALUE, -v,
 * --print-config) and the configuration tables (daemon_cfg and the
 * program's own); JSON logging; SIGTERM and SIGINT blocked in every
 * thread and taken by one signal thread that only sets the stop flag;
 * SIGPIPE ignored; with DAEMON_DATABASE, the database (connect with
 * retries for up to a minute, then the migrations under their advisory
 * lock) and a health thread that pings it; the metrics and health
 * endpoint on metrics_listen. The program then serves, checking
 * daemon_stopping() or blocking in daemon_wait(), and ends with
 * daemon_finish().
 *
 * The endpoint (libmicrohttpd) answers
 *	GET /metrics	Prometheus text format (metrics.h)
 *	GET /healthz	200 while the process runs (liveness)
 *	GET /readyz	200 when it can work: the database answered the last
 *			ping, every part named by daemon_set_ready is up (the
 *			bus, the listener), and it is not stopping; else 503
 *			with what is missing
 */
#ifndef RK_DAEMON_H
#define RK_DAEMON_H

#include <stdbool.h>

#include "cfg.h"
#include "db.h"

#define DAEMON_DATABASE 0x1	/* needs database_url; migrates at start */

struct daemon_spec {
	const char *name;	/* "rekindle-api": logs, application_name */
	/* the program's configuration tables, NULL-terminated, or NULL */
	const struct cfg_entry *const *cfg;
	unsigned flags;
};

/* Keys every program reads: database_url, metrics_listen, ... */
extern const struct cfg_entry daemon_cfg[];
extern char *var_database_url;

/* Starts the process as above; exits on a bad option, configuration or
 * database that never came up. */
void daemon_start(int argc, char **argv, const struct daemon_spec *spec);

/* True once SIGTERM or SIGINT arrived. */
bool daemon_stopping(void);

/* Sleeps ms, or less if a stop arrives; returns !daemon_stopping(). */
bool daemon_sleep_ms(int ms);

/* Blocks until SIGTERM or SIGINT; returns the signal. */
int daemon_wait(void);

/* Asks the process to stop, as a signal would (a worker recycling). */
void daemon_request_stop(void);

/*
 * A connection named app ("rekindle-profiler/heartbeat"), waiting up to
 * 60 s for the database; NULL if a stop came first.
 */
db_conn *daemon_db_open(const char *app);

/* The metrics thread's own connection, for gauges read at a scrape
 * (metrics_on_scrape functions only); NULL while the database is away. */
db_conn *daemon_metrics_db(void);

/* Marks a part the process needs ("bus", "grpc") up or down for /readyz;
 * a part never named does not count. At most 8 parts. */
void daemon_set_ready(const char *part, bool up);

/* Called by the health thread after each database ping (the API turns
 * it into grpc.health.v1's status). */
void daemon_on_health(void (*fn)(bool db_ok));

/* Writes port to path through a temporary file and rename(2), so a
 * reader never sees half a number. Fatal on failure. */
void daemon_write_port_file(const char *path, int port);

/* In a child after fork, before exec: undoes what the skeleton did to
 * signals (the mask and SIGPIPE survive exec), so the program run gets
 * them as usual. Async-signal-safe. */
void daemon_child_signals(void);

/* This process's id ("rekindle-timer@host:pid"); static. */
const char *daemon_id(void);

/* The program's name, as given in its spec. */
const char *daemon_name(void);

/* Stops the endpoint and the health thread, frees the configuration. */
void daemon_finish(void);

#endif
