/*
 * pbcheck.h - checks of a decoded request that hold for every method,
 * made by the server before the handler runs (pbcheck.c).
 */
#ifndef RK_PBCHECK_H
#define RK_PBCHECK_H

#include "rpc.h"

/* Every Timestamp in m within the protobuf range, and its page_token (if
 * any) one this server issued for this method - unwrapped in place to
 * the handler's key; INVALID_ARGUMENT naming each field that is not. */
rk_err pbcheck_request(rpc_call *c, const ProtobufCMessage *m);

/* Wraps the reply's next_page_token (if any) into an opaque token of this
 * method. */
void pbcheck_response(rpc_call *c, ProtobufCMessage *m);

#endif
