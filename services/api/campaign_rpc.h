/*
 * campaign_rpc.h - rekindle.v1.CampaignService handlers (campaign_rpc.c).
 */
#ifndef RK_CAMPAIGN_RPC_H
#define RK_CAMPAIGN_RPC_H

#include "rpc.h"

extern const struct rpc_handler campaign_handlers[];

#endif
