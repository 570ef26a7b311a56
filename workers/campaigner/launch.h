/*
 * launch.h - launching a campaign: in one transaction, the audience rule
 * over the profiles, the exclusions (each with its reason), the
 * deterministic control split, an offer per customer by affinity within
 * every offer's budget, quantity cap and voucher codes, and the outbox of
 * first messages; and the same for the newcomers of an always-on
 * campaign (entry runs).
 */
#ifndef RK_LAUNCH_H
#define RK_LAUNCH_H

#include <stdint.h>

#include "arena.h"
#include "db.h"

/*
 * Launches campaign_id for its campaign_launches row launch_id inside the
 * caller's transaction. A launch already done is left alone (a job run
 * twice launches once). On failure *why says which step failed.
 */
rk_err launch_run(db_conn *db, arena *a, const char *campaign_id,
    int64_t launch_id, const char **why);

/*
 * An always-on campaign's entry run inside the caller's transaction: the
 * same steps over the customers who may enter now (audience.h), each
 * entry recorded (campaign_entries) with its journey's first message.
 * Nothing if the campaign is not running or past its end. Idempotent: a
 * second run finds nobody new.
 */
rk_err entry_run(db_conn *db, arena *a, const char *campaign_id,
    const char **why);

#endif
