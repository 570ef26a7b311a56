/*
 * pbcheck.h - checks of a decoded request that hold for every method,
 * made by the server before the handler runs (pbcheck.c).
 */
#ifndef RK_PBCHECK_H
#define RK_PBCHECK_H

#include "rpc.h"

/* Every Timestamp in m within the protobuf range; INVALID_ARGUMENT naming
 * each field that is not. */
rk_err pbcheck_request(rpc_call *c, const ProtobufCMessage *m);

#endif
