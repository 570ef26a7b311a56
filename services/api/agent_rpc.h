/*
 * agent_rpc.h - rekindle.v1.AgentService handlers (agent_rpc.c) and
 * rekindle.v1.TicketService handlers (ticket_rpc.c).
 */
#ifndef RK_AGENT_RPC_H
#define RK_AGENT_RPC_H

#include "rpc.h"

extern const struct rpc_handler agent_handlers[];
extern const struct rpc_handler ticket_handlers[];

/* The agent a caller's token of role agent speaks for, or NULL (any
 * other role, or a token naming no agent). In the call's arena. */
const char *agent_of_caller(rpc_call *c);

#endif
