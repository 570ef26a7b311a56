/*
 * customer_rpc.h - rekindle.v1.CustomerService handlers.
 */
#ifndef RK_CUSTOMER_RPC_H
#define RK_CUSTOMER_RPC_H

#include "rpc.h"

extern const struct rpc_handler customer_handlers[];
/* UpsertPartners and ListPartners (partner_rpc.c). */
extern const struct rpc_handler partner_handlers[];
/* UpsertPromotions, ListPromotions, DeletePromotion (promotion_rpc.c). */
extern const struct rpc_handler promotion_handlers[];
/* UpdateDoNotCall (dnc_rpc.c). */
extern const struct rpc_handler dnc_handlers[];
/* ListTransactions (transaction_rpc.c). */
extern const struct rpc_handler transaction_handlers[];
/* ListConsentEvents (consent_rpc.c). */
extern const struct rpc_handler consent_handlers[];
/* UpsertFxRates, ListFxRates (fx_rpc.c). */
extern const struct rpc_handler fx_handlers[];
/* ExportCustomerData, EraseCustomer (privacy_rpc.c). */
extern const struct rpc_handler privacy_handlers[];
/* AuditService.ListAuditEvents (audit_rpc.c). */
extern const struct rpc_handler audit_handlers[];

/* IngestTransactions (ingest.c): per batch message, and at the end. */
rk_err ingest_message(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp);
rk_err ingest_finish(rpc_call *c, ProtobufCMessage **resp);
void ingest_closed(rpc_call *c);

#endif
