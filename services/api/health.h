/*
 * health.h - grpc.health.v1.Health: Check and Watch.
 *
 * The whole server ("") and every rekindle.v1 service report one status:
 * SERVING while the database answers and the server is not shutting down.
 */
#ifndef RK_HEALTH_H
#define RK_HEALTH_H

#include <stdbool.h>

#include "rpc.h"

extern const struct rpc_handler health_handlers[];

/* Sets the status; Watch streams get the change. Thread-safe. */
void health_set_serving(bool serving);
bool health_serving(void);

/* Ends every Watch stream (server shutdown). */
void health_shutdown(void);

#endif
