/*
 * idem.h - idempotent retries of mutating calls by client request_id.
 *
 * Inside the call's transaction: idem_lookup finds an earlier reply to the
 * same (method, request_id); idem_store records this one. A request_id
 * reused with a different request is RK_ECONFLICT.
 */
#ifndef RK_IDEM_H
#define RK_IDEM_H

#include <protobuf-c/protobuf-c.h>

#include "rpc.h"

/*
 * RK_OK with *resp set: replay this reply. RK_ENOTFOUND: first time, go
 * on. RK_ECONFLICT: same id, different request. Empty request_id:
 * RK_ENOTFOUND (no idempotency asked for).
 */
rk_err idem_lookup(rpc_call *c, const char *method, const char *request_id,
    const ProtobufCMessage *req, const ProtobufCMessageDescriptor *out,
    ProtobufCMessage **resp);

/* Records the reply; a no-op for an empty request_id. */
rk_err idem_store(rpc_call *c, const char *method, const char *request_id,
    const ProtobufCMessage *req, const ProtobufCMessage *resp);

/* Writes a request's effect in the open transaction and fills *resp. */
typedef rk_err (*idem_write_fn)(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp);

/*
 * The whole of an idempotent mutating call: one transaction that replays
 * the stored reply of a repeated request_id, or runs write and stores its
 * reply. Serialization failures and a concurrent first use of the same
 * request_id are retried (up to 3 times). On RK_OK *resp is the reply.
 */
rk_err idem_transaction(rpc_call *c, const char *method,
    const char *request_id, const ProtobufCMessage *req,
    const ProtobufCMessageDescriptor *out, idem_write_fn write,
    ProtobufCMessage **resp);

#endif
