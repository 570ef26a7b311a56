/*
 * replica.h - reads off the primary: a streaming replica (database_read_url)
 * serves the heavy reads - reports, List calls, exports - while it is no
 * more than read_max_staleness_ms behind the primary, and the primary
 * serves them otherwise.
 *
 * HOW STALE
 *	A monitor thread samples the primary's WAL position (pg_current_wal_
 *	lsn) with the time, every read_max_staleness_ms / 5 (100 ms to 1 s),
 *	and asks the replica how far it has replayed (pg_last_wal_replay_
 *	lsn). The replica holds everything the primary had at the newest
 *	sample whose position it has replayed, so its data is at most as old
 *	as that sample: that age is its staleness. An idle primary's position
 *	does not move, so an idle replica is fresh. A replica that cannot be
 *	reached, is not in recovery, or is too stale is not used until it is
 *	fresh again (rekindle_replica_staleness_seconds, rekindle_replica_up).
 */
#ifndef RK_REPLICA_H
#define RK_REPLICA_H

#include <stdbool.h>

/* Starts the monitor when read_url is set; a no-op otherwise. */
void replica_start(const char *primary_url, const char *read_url,
    int max_staleness_ms);
void replica_stop(void);

/* True while the replica may serve reads. */
bool replica_fresh(void);

/* The replica's libpq string (NULL: none configured). */
const char *replica_url(void);

#endif
