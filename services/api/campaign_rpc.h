/*
 * campaign_rpc.h - rekindle.v1.CampaignService handlers: campaigns and
 * launches (campaign_rpc.c), the funnel and the report (report_rpc.c).
 */
#ifndef RK_CAMPAIGN_RPC_H
#define RK_CAMPAIGN_RPC_H

#include "cfg.h"
#include "rekindle/v1/campaign.pb-c.h"
#include "rpc.h"

extern const struct rpc_handler campaign_handlers[];
extern const struct rpc_handler report_handlers[];
extern const struct rpc_handler message_handlers[];

/*
 * A campaign's variants (campaign_variants.c): checked (bad fields to c),
 * their offers as a text[] for the reference check, stored (replacing
 * the campaign's) and read back onto cps[0..n).
 */
void variants_check(rpc_call *c, const Rekindle__V1__Campaign *cp);
const char *variants_offers(arena *a, const Rekindle__V1__Campaign *cp);
rk_err variants_store(rpc_call *c, const Rekindle__V1__Campaign *cp);
rk_err variants_attach(rpc_call *c, Rekindle__V1__Campaign **cps, size_t n);

/* The message prices the report counts (report_rpc.c). */
extern const struct cfg_entry report_cfg[];

#endif
