/*
 * rpc.h - what an RPC handler sees of a call.
 *
 * A handler is one function per method (unary), or a per-message and an
 * end function (client streaming, bidi). Handlers run on a handler thread
 * that owns a database connection, except "inline" ones (health,
 * reflection) that never block and run on the completion-queue thread.
 * Everything transient goes in the call's arenas; nothing a handler
 * allocates there needs freeing.
 */
#ifndef RK_RPC_H
#define RK_RPC_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "db.h"
#include "err.h"

typedef struct rpc_call rpc_call;

enum rpc_kind { RPC_UNARY, RPC_CLIENT_STREAM, RPC_SERVER_STREAM, RPC_BIDI };

/* Roles a method admits (bits); none = public, no token needed. */
#define ROLE_ADMIN 0x1u
#define ROLE_SERVICE 0x2u
#define ROLE_AGENT 0x4u
#define ROLES_ALL (ROLE_ADMIN | ROLE_SERVICE | ROLE_AGENT)

/*
 * Unary: fill *resp (a message of the method's output type, in the call
 * arena). Server streaming: send with rpc_stream_send and end with
 * rpc_stream_finish; return RK_OK to keep the stream open.
 */
typedef rk_err (*rpc_unary_fn)(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp);
/* Client streaming / bidi, per message; bidi may set *resp to reply. */
typedef rk_err (*rpc_message_fn)(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp);
/* Client streaming / bidi, after the client half-closed. */
typedef rk_err (*rpc_finish_fn)(rpc_call *c, ProtobufCMessage **resp);
/* Called once when a call ends for any reason (stream bookkeeping). */
typedef void (*rpc_closed_fn)(rpc_call *c);

struct rpc_handler {
	const char *path;	/* "/rekindle.v1.CustomerService/GetCustomer";
				 * who may call it: roles.c */
	bool inline_;		/* runs on the CQ thread; must not block */
	rpc_unary_fn unary;
	rpc_message_fn message;
	rpc_finish_fn finish;
	rpc_closed_fn closed;
	/* Optional: decode/encode with these instead of the service's own
	 * (reflection v1alpha is served with the wire-identical v1 types). */
	const ProtobufCMessageDescriptor *in, *out;
};

/* The method's path ("/rekindle.v1.CustomerService/GetCustomer"). */
const char *rpc_path(rpc_call *c);

/* Call-lifetime arena; borrowed until the call ends. */
arena *rpc_arena(rpc_call *c);
/* Per-message arena of a stream, reset after each message. */
arena *rpc_msg_arena(rpc_call *c);
/* The handler thread's connection; NULL for inline handlers. */
db_conn *rpc_db(rpc_call *c);
/*
 * A connection for a heavy read that may lag the primary by up to
 * read_max_staleness_ms: the read replica's while it is fresh (replica.h),
 * else rpc_db's. Never for a write, nor inside rpc_begin's transaction.
 */
db_conn *rpc_read_db(rpc_call *c);
/* Per-call slot for stream handlers' state (in the call arena). */
void **rpc_state(rpc_call *c);
/* Request id (from x-request-id or generated); borrowed. */
const char *rpc_request_id(rpc_call *c);
/* The caller's role bit and token id (0 for public calls). */
unsigned rpc_role(rpc_call *c);
int64_t rpc_token_id(rpc_call *c);
/* Remaining milliseconds before the deadline; -1 if none. */
int64_t rpc_remaining_ms(rpc_call *c);

/*
 * Begins a transaction whose statements stop at the call's deadline. On
 * failure nothing is open.
 */
rk_err rpc_begin(rpc_call *c);
/* Ends the transaction rpc_begin opened: commits when rc is RK_OK, else
 * rolls back. Returns rc, or the commit's failure. */
rk_err rpc_end(rpc_call *c, rk_err rc);

/*
 * Records a field violation for the google.rpc.BadRequest detail and
 * returns RK_EINVAL. field is a path ("customers[3].phone").
 */
rk_err rpc_bad_field(rpc_call *c, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Number of violations recorded so far. */
int rpc_nviolations(rpc_call *c);
/* RK_OK without violations, else INVALID_ARGUMENT with them all ("N
 * invalid field(s); nothing was written"). */
rk_err rpc_fields_ok(rpc_call *c);

/*
 * Sets the message the client sees with a failing status and returns err.
 * Say what, never echo personal data.
 */
rk_err rpc_error(rpc_call *c, rk_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Server streaming: queues msg (packed at once, so it may be transient).
 * If a message is still in flight the newer one replaces an older queued
 * one (latest state wins). Thread-safe.
 */
void rpc_stream_send(rpc_call *c, const ProtobufCMessage *msg);
/*
 * Server streaming, every message in order: waits (until the deadline)
 * for the message in flight to be sent, then sends msg. RK_ECANCELED if
 * the call ended, RK_ETIMEDOUT at the deadline. Handler threads only.
 */
rk_err rpc_stream_send_all(rpc_call *c, const ProtobufCMessage *msg);
/* Ends a server stream with status err (after queued sends). */
void rpc_stream_finish(rpc_call *c, rk_err err, const char *message);

/* Takes / drops a reference that keeps c valid outside its handler. */
void rpc_call_ref(rpc_call *c);
void rpc_call_unref(rpc_call *c);

#endif
