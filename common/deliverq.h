/*
 * deliverq.h - handing outbox messages to a channel's delivery pool: a
 * DeliverJob (rekindle.bus.v1) of at most DELIVERQ_BATCH message ids on
 * the channel's queue (channel.h), in the caller's transaction.
 */
#ifndef RK_DELIVERQ_H
#define RK_DELIVERQ_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "db.h"

#define DELIVERQ_BATCH 500

/*
 * Enqueues ids[0..n) of channel's messages as jobs of DELIVERQ_BATCH,
 * runnable from run_at_us (0: now).
 */
rk_err deliverq_enqueue(db_conn *db, arena *a, int channel,
    const int64_t *ids, size_t n, int64_t run_at_us);

/* The same for ids given as a PostgreSQL bigint[] literal ("{1,2,3}"). */
rk_err deliverq_enqueue_text(db_conn *db, arena *a, int channel,
    const char *ids);

#endif
