/*
 * engage.h - recording engagement events and what they set in motion,
 * inside the caller's transaction (the API's RecordEvents and
 * RecordDeliveryReceipts, the tracking endpoint's links).
 *
 *	every event	stored once by event_id (a repeat is a duplicate),
 *			with its evidence (evidence.h) and the message's
 *			customer, campaign and channel.
 *	delivered	the message's delivered_at.
 *	strong interest	(click, app open, page view) the journey's first
 *			interest; the campaign's first reminder timer (or,
 *			with no reminders, its escalation) is set for
 *			interest + delay_hours.
 *	registered	ends the journey: pending reminder and escalation
 *			timers cancelled, queued messages of the campaign
 *			cancelled, nothing more is sent.
 *	unsubscribed,	the channel's marketing consent revoked; queued
 *	complained	messages to the customer on that channel (any
 *			campaign) cancelled; this campaign's journey ends.
 */
#ifndef RK_ENGAGE_H
#define RK_ENGAGE_H

#include <stdint.h>

#include "arena.h"
#include "cfg.h"
#include "db.h"
#include "evidence.h"

/*
 * The configuration every process that records events or runs policy
 * timers shares: machine_open_seconds, machine_click_seconds,
 * policy_hour_seconds (the tokens' key is msgtoken_cfg's).
 */
extern const struct cfg_entry engage_cfg[];
extern int var_policy_hour_seconds;

/* The evidence rules as configured. */
void engage_rules(struct evidence_rules *r);

enum engage_result { ENGAGE_RECORDED, ENGAGE_DUPLICATE, ENGAGE_UNKNOWN };

struct engage_event {
	const char *event_id;		/* the caller's id, idempotency */
	enum ev_type type;
	int64_t message_id;		/* from the verified token; 0 unknown */
	int64_t time_us;		/* when it happened; 0: now */
	const char *user_agent, *source_ip;	/* NULL if not known */
	/* out */
	enum engage_result result;
	enum evidence evidence;
	const char *customer_id, *campaign_id;	/* in the arena */
	int channel;
};

/*
 * Records ev[0..n) with their effects. Strings out are in a. hour_s is
 * the length of a policy hour in seconds (3600; less for a compressed
 * clock).
 */
rk_err engage_record(db_conn *db, arena *a, const struct evidence_rules *r,
    int hour_s, struct engage_event *ev, size_t n);

#endif
