/*
 * replica.c - the replica's staleness, measured against the primary's WAL
 * position (replica.h).
 *
 * CONCURRENCY
 *	One monitor thread owns both connections and the samples; handler
 *	threads read only the atomic verdict.
 *
 * DIAGNOSTICS
 *	REPLICA-FRESH, REPLICA-STALE (the verdict changed), REPLICA-NOT-STANDBY.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "clock.h"
#include "daemon.h"
#include "db.h"
#include "log.h"
#include "metrics.h"
#include "replica.h"

#define NSAMPLES 256

static struct metric staleness = METRIC_GAUGE(
    "rekindle_replica_staleness_seconds", "How far behind the primary the "
    "read replica may be (the age of the newest primary WAL position it has "
    "replayed).", NULL);
static struct metric up = METRIC_GAUGE("rekindle_replica_up",
    "1 while the read replica is reachable and fresh enough to serve reads.",
    NULL);

static _Atomic bool fresh;
static const char *primary, *replica;
static int max_ms;
static pthread_t th;
static bool started;

/* "16/B374D848" as a number; 0 if not an LSN. */
static uint64_t
lsn_of(const char *s)
{
	unsigned int hi, lo;

	if (s == NULL || sscanf(s, "%X/%X", &hi, &lo) != 2)
		return (0);
	return ((uint64_t)hi << 32 | lo);
}

/* One text value of a one-row query, or NULL (in a, static buffer). */
static const char *
one(db_conn *db, const char *name, const char *sql, char *buf, size_t cap)
{
	db_res *r;

	if (db == NULL || db_execp(db, name, sql, 0, NULL, &r) != RK_OK)
		return (NULL);
	if (db_res_nrows(r) != 1 || db_res_isnull(r, 0, 0)) {
		db_res_free(r);
		return (NULL);
	}
	snprintf(buf, cap, "%s", db_res_str(r, 0, 0));
	db_res_free(r);
	return (buf);
}

static void *
monitor(void *arg)
{
	struct {
		uint64_t lsn;
		int64_t at_ms;
	} s[NSAMPLES];
	int n = 0, probe = max_ms / 5;
	db_conn *p = NULL, *r = NULL;
	bool said_standby = false;
	char err[256], buf[64];

	(void)arg;
	probe = probe < 100 ? 100 : probe > 1000 ? 1000 : probe;
	do {
		int64_t now = clock_mono_ms(), age = -1;
		uint64_t at, replayed;
		bool ok;

		if (p == NULL && db_open(primary, "rekindle-api/replica-probe",
		    &p, err, sizeof(err)) != RK_OK)
			p = NULL;
		if (r == NULL && db_open(replica, "rekindle-api/replica-probe",
		    &r, err, sizeof(err)) != RK_OK)
			r = NULL;
		at = lsn_of(one(p, "primary_lsn", "SELECT pg_current_wal_lsn()"
		    "::text", buf, sizeof(buf)));
		if (at != 0) {
			if (n == NSAMPLES) {	/* keep the newest */
				for (int i = 1; i < n; i++)
					s[i - 1] = s[i];
				n--;
			}
			s[n].lsn = at;
			s[n].at_ms = now;
			n++;
		}
		replayed = lsn_of(one(r, "replica_lsn", "SELECT "
		    "pg_last_wal_replay_lsn()::text", buf, sizeof(buf)));
		if (r != NULL && replayed == 0 && !said_standby &&
		    one(r, "replica_ping", "SELECT 1", buf, sizeof(buf))) {
			log_warn("REPLICA-NOT-STANDBY", "database_read_url is not a "
			    "standby; reads stay on the primary");
			said_standby = true;
		}
		/* the newest sample it has replayed; older ones are done */
		for (int i = n - 1; i >= 0 && replayed != 0; i--)
			if (s[i].lsn <= replayed) {
				age = clock_mono_ms() - s[i].at_ms;
				for (int k = i; k < n; k++)
					s[k - i] = s[k];
				n -= i;
				break;
			}
		if (age < 0 && n > 0 && replayed != 0)
			age = clock_mono_ms() - s[0].at_ms;	/* at least */
		ok = at != 0 && replayed != 0 && age >= 0 && age <= max_ms;
		metric_set(&staleness, age < 0 ? 0 : (double)age / 1e3);
		metric_set(&up, ok);
		if (ok != fresh)
			log_msg(ok ? LOG_INFO : LOG_WARN, ok ? "REPLICA-FRESH" :
			    "REPLICA-STALE", ok ? "reads go to the replica (%lld ms "
			    "behind)" : "reads go to the primary (replica %lld ms "
			    "behind or unreachable)", (long long)age);
		fresh = ok;
	} while (daemon_sleep_ms(probe));
	db_close(p);
	db_close(r);
	return (NULL);
}

void
replica_start(const char *primary_url, const char *read_url,
    int max_staleness_ms)
{
	if (read_url == NULL || *read_url == '\0')
		return;
	primary = primary_url;
	replica = read_url;
	max_ms = max_staleness_ms;
	metric_register(&staleness);
	if (pthread_create(&th, NULL, monitor, NULL) != 0)
		log_fatal("THREAD-FAIL", "could not start the replica monitor");
	started = true;
}

void
replica_stop(void)
{
	if (started)
		pthread_join(th, NULL);
	started = false;
	fresh = false;
}

bool
replica_fresh(void)
{
	return (fresh);
}

const char *
replica_url(void)
{
	return (replica);
}
