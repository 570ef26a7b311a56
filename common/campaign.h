/*
 * campaign.h - a campaign's life after its definition: launched, started
 * at its start time, ended at its end time, paused, resumed, cancelled,
 * completed. The states and the durable timers that move a campaign are
 * named here once (as rekindle.v1.CampaignState and migrations 010 and
 * 015 number them).
 *
 * A launch with a start time in the future leaves the campaign SCHEDULED
 * and a start timer at that time; the timer pool fires it, whatever
 * restarted in between, and the launch job then selects the audience as
 * of that moment (campaign_start). An end timer at end_at cancels the
 * first messages still queued (reminders of journeys under way go on).
 * A check timer, armed when the launch is done, completes the campaign
 * once no member has anything left to happen - no message waiting, no
 * reminder or escalation pending, no ticket open - and the attribution
 * window after the last message or ticket has closed; until then it
 * re-arms itself. Cancelling ends everything at once: queued messages,
 * pending timers, open tickets (closed with the reason, out of every
 * agent's queue).
 *
 * An always-on campaign (CAMPAIGN_KIND_ALWAYS_ON) keeps its rule live:
 * its launch lets in whoever matches then, and entry runs later let in
 * whoever matches since - after every profiling run (campaign_entries_due)
 * and daily (an entry timer re-armed each day). A run is a campaign job
 * (the campaigner's launch steps, for newcomers only), so it happens once
 * whatever fires it; a customer enters once, and again reentry_days after
 * their last entry when nothing of that journey is pending.
 *
 * Every function works inside the caller's transaction and commits
 * nothing; the caller holds the campaign row (FOR UPDATE) where it
 * changes the campaign's state.
 */
#ifndef RK_CAMPAIGN_H
#define RK_CAMPAIGN_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "db.h"
#include "err.h"

/* Macros, not enums: they are written into SQL text too (DB_NUM). */
#define CAMPAIGN_DRAFT 1
#define CAMPAIGN_SCHEDULED 2
#define CAMPAIGN_RUNNING 3
#define CAMPAIGN_PAUSED 4
#define CAMPAIGN_COMPLETED 5
#define CAMPAIGN_CANCELLED 6

#define TIMER_REMINDER 1	/* seq: the reminder's number */
#define TIMER_ESCALATION 2	/* a ticket for the journey */
#define TIMER_CALL_BACK 3	/* an agent's call-back on a ticket */
#define TIMER_SLA 4		/* a ticket's first-contact deadline */
#define TIMER_CAMPAIGN_START 5
#define TIMER_CAMPAIGN_END 6
#define TIMER_CAMPAIGN_CHECK 7	/* seq: the check's number */
#define TIMER_CAMPAIGN_ENTRY 8	/* an always-on campaign's entry run; seq:
				 * the day (daily) or minus the profiling
				 * job that asked for it */

#define CAMPAIGN_KIND_ONE_SHOT 1
#define CAMPAIGN_KIND_ALWAYS_ON 2

/* The reason a message or ticket carries when its campaign is cancelled. */
#define CAMPAIGN_CANCELLED_REASON "campaign cancelled"
/* The reason of a message held while its campaign is paused. */
#define CAMPAIGN_PAUSED_REASON "campaign paused"

/*
 * Launches the draft campaign_id (locked by the caller): a launch row,
 * the campaign SCHEDULED, and either the launch job now (*queued) or a
 * start timer at start_at; an end timer at end_at. *launch_id: the new
 * launch.
 */
rk_err campaign_launch(db_conn *db, arena *a, const char *campaign_id,
    const char *request_id, int64_t *launch_id, bool *queued);

/*
 * What campaign_id's messages would have no words for: each channel of its
 * plan (and of its reminders, if it sends any) with offers a member may
 * get there - in a variant without a template of its own on it - that
 * have none either (only offer_id, unless it is NULL). Every such message
 * would fail at delivery. *gaps: NULL if there are none, else one entry
 * per channel, "sms for offers A, B (variant V); zns for offer C" (the
 * first five offers named; in a).
 */
rk_err campaign_template_gaps(db_conn *db, arena *a, const char *campaign_id,
    const char *offer_id, const char **gaps);

/*
 * After offer_id's templates changed (in the open transaction): the first
 * campaign under way - scheduled, running or paused - that may give it
 * and would now have no words for it (campaign_template_gaps; another
 * offer's gap is not this edit's), in *campaign with its *gaps; both NULL
 * if none.
 */
rk_err campaign_offer_gaps(db_conn *db, arena *a, const char *offer_id,
    const char **campaign, const char **gaps);

/*
 * A start timer fired: queues the launch job of a launch still waiting
 * for it (*queued), unless the campaign was cancelled meanwhile.
 */
rk_err campaign_start(db_conn *db, arena *a, const char *campaign_id,
    bool *queued);

/* An end timer fired: the first messages still queued are cancelled
 * (*cancelled: how many). */
rk_err campaign_end(db_conn *db, const char *campaign_id, int64_t *cancelled);

/* A launch finished: the first completion check, due at once; for an
 * always-on campaign the first daily entry run too. */
rk_err campaign_arm_check(db_conn *db, const char *campaign_id);

/*
 * A profiling run (or incremental job) tag finished: an entry run of
 * every running always-on campaign, due in a few seconds unless one is
 * already waiting (a burst of profiling jobs asks once).
 */
rk_err campaign_entries_due(db_conn *db, int64_t tag);

/*
 * An entry timer (seq) fired: the entry job of a running always-on
 * campaign before its end (*queued); a daily one arms the next day's.
 */
rk_err campaign_entry(db_conn *db, arena *a, const char *campaign_id,
    int seq, bool *queued);

/*
 * A check timer (number seq) fired: COMPLETED if nothing is left to
 * happen and attribution_days (of hour_s-second hours) have passed since
 * the last message or ticket; else the next check at the later of that
 * time and an hour from now. *completed tells which.
 */
rk_err campaign_check(db_conn *db, arena *a, const char *campaign_id,
    int seq, int hour_s, bool *completed);

/*
 * Locks the pending timers of the campaign and of its tickets: a cancel
 * calls it first in its transaction, before it locks the campaign, for a
 * firing timer holds its row before it touches the campaign (the order
 * every writer keeps, so none waits on another in a circle).
 */
rk_err campaign_lock_timers(db_conn *db, const char *campaign_id);

struct campaign_cancelled {
	int64_t messages;	/* queued ones cancelled */
	int64_t timers;		/* pending ones cancelled */
	int64_t tickets;	/* open ones closed */
};

/*
 * The campaign (already CANCELLED by the caller, in this transaction)
 * stops: queued messages cancelled and uncertain ones no longer sent
 * again, every pending timer of it or of its tickets cancelled, its open
 * tickets closed with reason (an audit row each, by actor), a launch not
 * yet run cancelled.
 */
rk_err campaign_cancel(db_conn *db, arena *a, const char *campaign_id,
    const char *reason, const char *actor, struct campaign_cancelled *out);

/* The campaign was resumed: messages held while it was paused are due
 * now (*due: how many). */
rk_err campaign_resume(db_conn *db, const char *campaign_id, int64_t *due);

#endif
