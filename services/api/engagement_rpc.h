/*
 * engagement_rpc.h - rekindle.v1.EngagementService handlers
 * (engagement_rpc.c).
 */
#ifndef RK_ENGAGEMENT_RPC_H
#define RK_ENGAGEMENT_RPC_H

#include "rpc.h"

extern const struct rpc_handler engagement_handlers[];

#endif
