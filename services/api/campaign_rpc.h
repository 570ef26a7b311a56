/*
 * campaign_rpc.h - rekindle.v1.CampaignService handlers: campaigns and
 * launches (campaign_rpc.c), the funnel and the report (report_rpc.c).
 */
#ifndef RK_CAMPAIGN_RPC_H
#define RK_CAMPAIGN_RPC_H

#include "cfg.h"
#include "rpc.h"

extern const struct rpc_handler campaign_handlers[];
extern const struct rpc_handler report_handlers[];
extern const struct rpc_handler message_handlers[];

/* The message prices the report counts (report_rpc.c). */
extern const struct cfg_entry report_cfg[];

#endif
