/*
 * fire.h - what a fired timer does, in the transaction that fires it.
 *
 *	reminder	(kind 1, seq n) while the journey is open and the
 *			campaign running: the n-th reminder message (step n)
 *			on the policy's channel for n (else the channel the
 *			first message went on), handed to that channel's
 *			delivery pool, which asks the contact governor; then
 *			reminder n + 1 after the interval, or, after the
 *			last, the escalation if the policy asks for one.
 *	escalation	(kind 2) while the journey is open: a ticket for the
 *			campaign's team (tickets.h), if the contact governor
 *			allows a call; else the journey finishes, with why.
 *	call-back	(kind 3) the ticket is due again: back to its agent's
 *			queue at the top.
 *	SLA		(kind 4) the ticket's first contact is late: priority
 *			raised, reassigned, the supervisor flagged.
 *
 * A timer fires once: only a pending timer this process holds moves to
 * 'fired', and its work commits with that move.
 */
#ifndef RK_FIRE_H
#define RK_FIRE_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "db.h"

/* Fires ids[0..n) held by `me`; *fired is how many were still due. The
 * caller commits. hour_s is the length of a policy hour in seconds. */
rk_err fire_timers(db_conn *db, arena *a, const char *me, const int64_t *ids,
    size_t n, int hour_s, int *fired);

#endif
