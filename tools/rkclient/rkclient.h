/*
 * rkclient.h - a small blocking gRPC client on the C core API, for
 * rekindlectl, the demo and the tests.
 *
 * One rkc is one channel; calls on it are serialised by the caller (it is
 * not for concurrent use). Messages are protobuf-c; replies are unpacked
 * with the default allocator and freed with protobuf_c_message_free_unpacked.
 */
#ifndef RK_RKCLIENT_H
#define RK_RKCLIENT_H

#include <protobuf-c/protobuf-c.h>

#include "err.h"

typedef struct rkc rkc;
typedef struct rkc_stream rkc_stream;

#define RKC_MAX_VIOLATIONS 16

/* What the server said: gRPC code, message and BadRequest violations. */
struct rkc_status {
	int code;			/* grpc_status_code */
	char message[256];
	int nviolations;
	char field[RKC_MAX_VIOLATIONS][128];
	char description[RKC_MAX_VIOLATIONS][160];
};

/*
 * Opens a channel to target ("host:port"). token (may be NULL) is sent as
 * "authorization: Bearer <token>". ca_file (NULL or "" = plaintext) turns
 * on TLS with that CA bundle. Never fails for an unreachable server: the
 * first call does.
 */
rk_err rkc_open(const char *target, const char *token, const char *ca_file,
    rkc **out);
void rkc_close(rkc *c);

/* Maps a gRPC status code to rk_err (the inverse of the server's map). */
rk_err rkc_err_from_code(int code);
/* The gRPC code's name ("INVALID_ARGUMENT"). */
const char *rkc_code_name(int code);

/*
 * Unary call of method ("/pkg.Svc/M"). On RK_OK *resp owns the reply.
 * Otherwise st (may be NULL) says why; *resp is NULL.
 */
rk_err rkc_unary(rkc *c, const char *method, const ProtobufCMessage *req,
    const ProtobufCMessageDescriptor *resp_desc, int timeout_ms,
    ProtobufCMessage **resp, struct rkc_status *st);

/* Client streaming: open, send messages, then close for the one reply. */
rk_err rkc_stream_open(rkc *c, const char *method, int timeout_ms,
    rkc_stream **out);
/* RK_ECANCELED: the server ended the call; close it to learn why. */
rk_err rkc_stream_send(rkc_stream *s, const ProtobufCMessage *msg);
rk_err rkc_stream_close(rkc_stream *s,
    const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
    struct rkc_status *st);

/*
 * Server streaming: sends req, then calls each(msg, arg) for every message
 * in order (msg is freed after; a failure from each cancels the call).
 * RK_OK once the server ended the stream with OK; st says why otherwise.
 */
typedef rk_err (*rkc_each_fn)(const ProtobufCMessage *msg, void *arg);
rk_err rkc_server_stream(rkc *c, const char *method,
    const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
    int timeout_ms, rkc_each_fn each, void *arg, struct rkc_status *st);

#endif
