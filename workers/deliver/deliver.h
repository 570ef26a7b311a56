/*
 * deliver.h - a delivery pool's job: send a batch of outbox messages on
 * one channel, through the contact governor, with idempotency keys, and
 * record what became of each (sent, deferred, retried later, moved to the
 * next channel of the campaign's plan, failed).
 */
#ifndef RK_DELIVER_H
#define RK_DELIVER_H

#include "worker.h"

extern const struct cfg_entry deliver_cfg[];

/* The channel this process serves (CHANNEL_SMS, ...), set before
 * worker_main. */
extern int deliver_channel;

rk_err deliver_init(struct worker *w, db_conn *db);
rk_err deliver_handle(struct worker *w, db_conn *db, const struct job *job,
    arena *a, const char **why);

#endif
