/*
 * tickets.h - opening, routing and moving telesales tickets, inside the
 * caller's transaction; shared by the timer pool (escalation, call-backs,
 * SLA breaches) and the API (agents' availability, claims, resolution).
 *
 * OPENING
 *	Only if the contact governor would let an agent call the customer
 *	at all (consent to advertising calls, not on the Do-Not-Call list,
 *	a phone number); the daily call cap and the calling window decide
 *	when, not whether. One open ticket per customer and campaign. The
 *	ticket carries its context: the profile (state, risk and its
 *	reasons, preferences), the offer, the engagement timeline, and
 *	talking points drawn from them.
 *
 * ROUTING (per team)
 *	round-robin: the available agent assigned to longest ago;
 *	least-loaded: the one with the fewest open tickets; skills-based:
 *	among those with every skill the ticket needs (the customer's
 *	language, "lang:vi"), the least loaded. Only agents who are
 *	available, working now (their days and hours, in their zone) and
 *	under capacity take tickets; with none, the ticket waits in the
 *	team's queue (ClaimNextTicket). The team row is locked while
 *	routing, so capacity holds with many routers.
 *
 * Every change is written to ticket_audit with its actor.
 */
#ifndef RK_TICKETS_H
#define RK_TICKETS_H

#include <stdint.h>

#include "arena.h"
#include "db.h"

/* Ticket states, as rekindle.v1.TicketState. */
enum { TICKET_NEW = 1, TICKET_ASSIGNED, TICKET_IN_PROGRESS, TICKET_CONTACTED,
	TICKET_RESOLVED, TICKET_CLOSED };

/*
 * Opens the escalation ticket of (campaign_id, customer_id) for the
 * campaign's team and routes it. *ticket_id is the new ticket, or 0 with
 * *why saying why none was opened (static text). hour_s: the length of a
 * policy hour (3600; less for a compressed clock), for the SLA.
 */
rk_err ticket_open(db_conn *db, arena *a, const char *campaign_id,
    const char *customer_id, int hour_s, int64_t *ticket_id,
    const char **why);

/*
 * Routes ticket_id to an agent of its team (excluding except_agent, if
 * not NULL). *agent_id is the agent (in a) or NULL if it waits in the
 * queue.
 */
rk_err ticket_route(db_conn *db, arena *a, int64_t ticket_id,
    const char *except_agent, const char *actor, const char **agent_id);

/* Takes every open ticket away from agent_id and routes it again. *n is
 * how many moved. */
rk_err ticket_reassign_agent(db_conn *db, arena *a, const char *agent_id,
    const char *actor, int *n);

/* Appends to the audit trail of ticket_id; detail {key: value} when key
 * is not NULL. */
rk_err ticket_audit(db_conn *db, arena *a, int64_t ticket_id,
    const char *actor, const char *action, const char *key,
    const char *value);

#endif
