/*
 * profile_rpc.h - rekindle.v1.ProfileService handlers.
 */
#ifndef RK_PROFILE_RPC_H
#define RK_PROFILE_RPC_H

#include "rpc.h"

extern const struct rpc_handler profile_handlers[];

#endif
