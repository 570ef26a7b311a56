/*
 * care.h - customer-care messages (an opt-out's confirmation), sent by
 * the pool of a channel that has a care_request (channel_ops.h).
 */
#ifndef RK_CARE_H
#define RK_CARE_H

#include "arena.h"
#include "channel_ops.h"
#include "db.h"

/*
 * Claims due care messages of ops' channel (leased lease_s seconds),
 * sends each to url and records the outcome. Returns how many were
 * claimed; 0 where the channel sends none.
 */
int care_poll(db_conn *db, arena *a, const struct channel_ops *ops,
    const char *url, int lease_s);

#endif
