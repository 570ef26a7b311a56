/*
 * deliver.h - a delivery pool process: claims its channel's due messages
 * from the outbox, asks the contact governor, and walks each through the
 * send ledger (msgstate.h) - 'sending' committed with its cap slot before
 * the provider is called, the outcome committed after, never a
 * transaction or lock held across the call.
 */
#ifndef RK_DELIVER_H
#define RK_DELIVER_H

#include "worker.h"

extern const struct cfg_entry deliver_cfg[];

/* The channel this process serves (CHANNEL_SMS, ...), set before
 * worker_main. */
extern int deliver_channel;

/* Lanes of a delivery process (deliver_lanes): deliver_poll runs in each
 * at once, so what it shares is read-only after deliver_init or guarded
 * (the metrics, the channel's token). */
extern int deliver_lanes;

rk_err deliver_init(struct worker *w, db_conn *db);
/* One batch: claim, send, record. How many messages it took, -1 on a
 * database error. */
int deliver_poll(struct worker *w, db_conn *db, arena *a);
/* The heartbeat's share: extends this process's leases, and settles the
 * attempts of processes that died mid-send. */
void deliver_heartbeat(struct worker *w, db_conn *db, int lease_s);

#endif
