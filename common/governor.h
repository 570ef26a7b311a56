/*
 * governor.h - the contact governor's rules: may this contact happen now,
 * later, or never? Every send (and every telesales call) asks it, across
 * all campaigns, and every answer carries a reason code that is recorded,
 * so "why did this customer get nothing?" has an answer.
 *
 * The rules (Decree 91/2020 on spam messages, Decree 13/2023 on personal
 * data): consent per channel and purpose; the Do-Not-Call list; at most
 * N advertising SMS, emails, calls per recipient in any 24 hours; SMS only
 * within 07:00-22:00 and calls within 08:00-17:00 in the recipient's time
 * zone. A contact outside its window or over its cap waits for the first
 * moment it is allowed; it is not dropped.
 *
 * Pure: the caller supplies the clock, the counts and the consent (from
 * PostgreSQL, in the transaction that then records the contact).
 */
#ifndef RK_GOVERNOR_H
#define RK_GOVERNOR_H

#include <stdbool.h>
#include <stdint.h>

#include "channel.h"

/* Channels are channel.h's (rekindle.v1.Channel's numbers). */

/* Limits (configuration). A cap of 0 means none; a window of 0..24 means
 * any hour. */
struct gov_rules {
	int per_24h[CHANNEL_N];		/* advertising contacts */
	int from_hour[CHANNEL_N];		/* local, inclusive */
	int until_hour[CHANNEL_N];		/* local, exclusive */
};

/* The defaults above: 3 SMS, 3 emails, 1 call in 24 h; SMS 07-22, calls
 * 08-17. */
void gov_default_rules(struct gov_rules *r);

enum gov_verdict { GOV_SEND, GOV_DEFER, GOV_DENY };

enum gov_reason {
	GOV_OK,
	GOV_NO_CONSENT,		/* no consent for this channel and purpose */
	GOV_DO_NOT_CALL,	/* on the Do-Not-Call list */
	GOV_NO_ADDRESS,		/* no phone, email, Zalo or push token */
	GOV_OUTSIDE_WINDOW,	/* deferred to the window's next opening */
	GOV_DAILY_CAP,		/* deferred until a 24-hour slot frees */
	GOV_NREASONS
};

/* The stable code of a reason ("daily_cap"), as stored and reported. */
const char *gov_reason_code(enum gov_reason r);

/* What the caller knows about one intended contact. */
struct gov_request {
	int channel;			/* CHANNEL_SMS, ... */
	bool advertising;		/* marketing, not a service message */
	int64_t now_us;
	const char *zone;		/* the recipient's IANA time zone */
	bool has_address;
	bool consent;			/* for this channel and the purpose */
	bool do_not_call;		/* denies advertising SMS and calls */
	/* Advertising contacts on this channel in the 24 hours before now,
	 * and when the oldest of them was (0 if none). */
	int sent_24h;
	int64_t oldest_us;
	/* The campaign's own local send window, minutes after midnight,
	 * from inclusive, until exclusive (until < from: it spans midnight);
	 * equal (both 0 by default): none. A contact outside it waits for
	 * it like one outside the channel's hours. */
	int window_from_min, window_until_min;
};

struct gov_decision {
	enum gov_verdict verdict;
	enum gov_reason reason;
	int64_t not_before_us;		/* GOV_DEFER: try again then */
};

/* Decides one contact under rules. */
void gov_decide(const struct gov_rules *rules, const struct gov_request *q,
    struct gov_decision *out);

/*
 * A campaign's provider rate, calls a second: the generic cell rate
 * algorithm in its virtual-scheduling form (ITU-T I.371). *tat_us is the
 * theoretical arrival time of the next call; the call at now_us gets the
 * slot max(*tat_us, now_us), and *tat_us moves on to one emission
 * interval (1/rate, rounded up to the microsecond: never faster) after
 * it. So slots are never closer than the interval, and a call that waits
 * for its slot keeps any t seconds to rate x t + 1 calls. rate <= 0: no
 * limit, the slot is now and *tat_us is left alone.
 */
int64_t gov_pace_slot(int64_t *tat_us, int64_t now_us, int rate);

#endif
