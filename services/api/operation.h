/*
 * operation.h - rekindle.v1.Operation, shared by the services whose work
 * runs long (profiling runs, campaign launches): "operations/<kind>-<id>".
 */
#ifndef RK_OPERATION_H
#define RK_OPERATION_H

#include "arena.h"
#include "rpc.h"
#include "rekindle/v1/common.pb-c.h"

/* A new Operation prefix+id in a, with n counters keys[i] = values[i]
 * (keys borrowed: string constants). */
Rekindle__V1__Operation *operation_new(arena *a, const char *prefix,
    const char *id, const char *const *keys, const int64_t *values, int n);

/* The id after prefix in name if name is prefix followed by 1..20 digits,
 * else NULL. */
const char *operation_id(const char *name, const char *prefix);

/* Loads the Operation of id (NOT_FOUND through rpc_error if none). */
typedef rk_err (*operation_load_fn)(rpc_call *c, const char *id,
    Rekindle__V1__Operation **out);

/*
 * The whole of a GetOperation handler: checks the request's name against
 * prefix (INVALID_ARGUMENT otherwise) and answers with what load finds.
 */
rk_err operation_get(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp, const char *prefix, operation_load_fn load);

#endif
