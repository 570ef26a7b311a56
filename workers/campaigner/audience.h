/*
 * audience.h - the statement that selects a campaign's audience into the
 * launch's temporary table launch_cand (one row per customer the rule
 * matches: risk, affinities, the plan's first reachable channel, the
 * exclusion reason if any, control or not, the offer by affinity).
 *
 * The statement is written for the campaign at hand: only the rule's
 * active conditions appear, their values as parameters, and the channel
 * choice as a CASE over the campaign's own plan. The planner so sees the
 * real selectivity of each condition (a generic rule joined to the
 * campaign row is estimated at one customer, and planned as sorts and
 * merges over the whole base), and no per-customer subquery runs.
 * Expects temporary tables launch_offers and launch_consent (launch.c).
 */
#ifndef RK_AUDIENCE_H
#define RK_AUDIENCE_H

#include <stdbool.h>

#include "arena.h"
#include "db.h"

#define AUDIENCE_MAX_PARAMS 16

struct audience_stmt {
	const char *sql;
	const char *params[AUDIENCE_MAX_PARAMS];
	int nparams;
};

/*
 * Reads campaign_id's rule and plan and writes its statement into *out
 * (in a). RK_ENOTFOUND if there is no such campaign. entries: an
 * always-on campaign's entry run - only customers not yet in it (or
 * excluded last time, or whose last entry is reentry_days old with
 * nothing of it pending) are candidates, each with the number of the
 * entry they would make (launch_cand.entry; 1 at a launch).
 */
rk_err audience_build(db_conn *db, arena *a, const char *campaign_id,
    bool entries, struct audience_stmt *out);

#endif
