/*
 * offer_rpc.h - rekindle.v1.OfferService handlers (offer_rpc.c).
 */
#ifndef RK_OFFER_RPC_H
#define RK_OFFER_RPC_H

#include "rpc.h"

extern const struct rpc_handler offer_handlers[];

#endif
