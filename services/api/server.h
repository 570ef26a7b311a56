/*
 * server.h - the gRPC server on the C core API (only server.c and
 * status.c include gRPC headers).
 *
 * Methods come from a table built from protobuf-c service descriptors
 * (methods.c). Several completion-queue threads do the I/O; a pool of
 * handler threads, each with its own database connection, runs the
 * handlers, so a slow query holds one handler thread and no other call.
 * Unknown methods get UNIMPLEMENTED at once from an always-armed generic
 * request.
 */
#ifndef RK_SERVER_H
#define RK_SERVER_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>

#include "err.h"
#include "rpc.h"

struct server_method {
	char *path;
	const ProtobufCMessageDescriptor *in, *out;
	enum rpc_kind kind;
	unsigned roles;		/* who may call it (roles.c); 0: anyone */
	const struct rpc_handler *h;
	void *registration;	/* gRPC's handle, set by server_create */
};

struct server_config {
	const char *listen;		/* "127.0.0.1:50051"; ":0" picks a port */
	const char *database_url;
	int cq_threads;
	int handler_threads;
	int max_recv_bytes;
	int max_send_bytes;
	int max_queue;			/* calls waiting for a handler thread */
	const char *tls_cert_file;	/* PEM; empty = plaintext */
	const char *tls_key_file;
	const char *tls_client_ca_file;	/* non-empty = mutual TLS required */
};

typedef struct server server;

/*
 * Creates and starts a server for the n methods (borrowed; must outlive
 * the server). On RK_OK *out owns it and *port is the bound port.
 * Errors: RK_EINVAL (bad address or TLS files), RK_ESYS.
 */
rk_err server_start(const struct server_config *cfg,
    struct server_method *methods, int n, server **out, int *port,
    char *errmsg, size_t errlen);

/*
 * Stops accepting calls, lets calls in flight finish for up to grace_ms,
 * cancels the rest, and frees everything. server_stop(NULL) is a no-op.
 */
void server_stop(server *s, int grace_ms);

#endif
