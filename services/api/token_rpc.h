/*
 * token_rpc.h - the API-token methods of rekindle.v1.AgentService.
 */
#ifndef RK_TOKEN_RPC_H
#define RK_TOKEN_RPC_H

#include "rpc.h"

extern const struct rpc_handler token_handlers[];

#endif
