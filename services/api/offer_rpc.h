/*
 * offer_rpc.h - rekindle.v1.OfferService handlers (offer_rpc.c).
 */
#ifndef RK_OFFER_RPC_H
#define RK_OFFER_RPC_H

#include <stdbool.h>

#include "rekindle/v1/offer.pb-c.h"
#include "rpc.h"

extern const struct rpc_handler offer_handlers[];

/*
 * Checks one message template (an offer's, or a campaign variant's) at
 * field f against its channel's limits; seen (indexed by channel) marks
 * the channels already given. Bad fields go to c.
 */
void offer_check_template(rpc_call *c, const char *f,
    const Rekindle__V1__MessageTemplate *t, bool seen[5]);

#endif
