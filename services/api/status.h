/*
 * status.h - rk_err to gRPC status, and the google.rpc.Status detail.
 */
#ifndef RK_STATUS_H
#define RK_STATUS_H

#include <grpc/status.h>
#include <stddef.h>

#include "arena.h"
#include "err.h"

struct field_violation {
	const char *field;
	const char *description;
};

/* The one table from rk_err to gRPC status codes. */
grpc_status_code status_from_err(rk_err err);

/*
 * Packs google.rpc.Status {code, message, details: [BadRequest]} (the
 * detail only when n > 0) into a (*len bytes) for grpc-status-details-bin.
 */
unsigned char *status_details_pack(arena *a, grpc_status_code code,
    const char *message, const struct field_violation *v, int n, size_t *len);

#endif
