/*
 * pbtime.h - google.protobuf.Timestamp <-> microseconds since the epoch.
 */
#ifndef RK_PBTIME_H
#define RK_PBTIME_H

#include <stdint.h>

#include "arena.h"
#include "google/protobuf/timestamp.pb-c.h"

/* A Timestamp in a; NULL if us is 0 (unset). */
Google__Protobuf__Timestamp *pbtime_new(arena *a, int64_t us);
/* Microseconds of t; 0 for NULL. */
int64_t pbtime_us(const Google__Protobuf__Timestamp *t);

/* SQL that turns a bigint microseconds parameter $N into timestamptz. */
#define PBTIME_SQL(n) "(timestamptz 'epoch' + $" #n "::bigint * interval '1 microsecond')"
/* SQL giving a timestamptz column as bigint microseconds. */
#define PBTIME_US(col) "(extract(epoch from " col ") * 1000000)::bigint"

#endif
