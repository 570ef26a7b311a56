/*
 * launcher.h - the pieces of rekindle-local: a private PostgreSQL cluster
 * and a supervisor for the API and the worker pools.
 */
#ifndef RK_LAUNCHER_H
#define RK_LAUNCHER_H

#include <stdbool.h>
#include <sys/types.h>

#include "err.h"

/*
 * Creates (first time) and starts a cluster under dir/pg on a private
 * port, with its socket in dir/pg; as root the server runs as "postgres".
 * On RK_OK url (capacity cap) holds the libpq connection string.
 */
rk_err pgcluster_start(const char *dir, int port, char *url, size_t cap);
/* Fast shutdown of the cluster under dir. */
void pgcluster_stop(const char *dir);

/* Runs argv (argv[0] a path) and waits; as_postgres drops to that user.
 * Returns the exit status, or -1 if it could not run. */
int run_wait(char *const argv[], bool as_postgres, const char *log_path);

struct child {
	const char *name;	/* for logs */
	char *const *argv;
	pid_t pid;
	int restarts;
	long started_ms;
};

/* Starts c (fork + exec, own process group not used: signals pass). */
rk_err child_start(struct child *c);

#endif
