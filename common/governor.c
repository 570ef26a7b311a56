/*
 * governor.c - the contact rules, decided in a fixed order: address,
 * consent and Do-Not-Call deny; the daily cap and the local window defer.
 */
#include <stddef.h>

#include "governor.h"
#include "localtz.h"

#define QUARTER_US INT64_C(900000000)
#define DAY_US INT64_C(86400000000)

void
gov_default_rules(struct gov_rules *r)
{
	for (int c = 0; c < CHANNEL_N; c++) {
		r->per_24h[c] = 0;
		r->from_hour[c] = 0;
		r->until_hour[c] = 24;
	}
	r->per_24h[CHANNEL_SMS] = 3;
	r->per_24h[CHANNEL_EMAIL] = 3;
	r->per_24h[CHANNEL_CALL] = 1;
	r->from_hour[CHANNEL_SMS] = 7;
	r->until_hour[CHANNEL_SMS] = 22;
	r->from_hour[CHANNEL_CALL] = 8;
	r->until_hour[CHANNEL_CALL] = 17;
}

const char *
gov_reason_code(enum gov_reason r)
{
	static const char *const code[GOV_NREASONS] = {"ok", "no_consent",
	    "do_not_call", "no_address", "outside_window", "daily_cap"};

	return ((unsigned)r < GOV_NREASONS ? code[r] : "unknown");
}

static bool
in_window(const struct gov_rules *r, int ch, const char *zone,
    int64_t t_us)
{
	int dow, hour;

	if (r->from_hour[ch] <= 0 && r->until_hour[ch] >= 24)
		return (true);
	localtz_dow_hour(zone, t_us, &dow, &hour);
	return (hour >= r->from_hour[ch] && hour < r->until_hour[ch]);
}

/* The first quarter hour from t_us on that is inside the window (local
 * hours change on UTC quarter hours in every zone). */
static int64_t
next_open(const struct gov_rules *r, int ch, const char *zone,
    int64_t t_us)
{
	int64_t q = (t_us / QUARTER_US + 1) * QUARTER_US;

	for (int i = 0; i < 4 * 24 * 2; i++, q += QUARTER_US)
		if (in_window(r, ch, zone, q))
			return (q);
	return (t_us + DAY_US);		/* an empty window: check tomorrow */
}

void
gov_decide(const struct gov_rules *rules, const struct gov_request *q,
    struct gov_decision *out)
{
	int ch = q->channel;
	int64_t t = q->now_us;

	out->verdict = GOV_DENY;
	out->not_before_us = 0;
	if (!q->has_address) {
		out->reason = GOV_NO_ADDRESS;
		return;
	}
	if (!q->consent) {
		out->reason = GOV_NO_CONSENT;
		return;
	}
	if (q->do_not_call && q->advertising &&
	    (ch == CHANNEL_CALL || ch == CHANNEL_SMS)) {
		out->reason = GOV_DO_NOT_CALL;
		return;
	}
	out->verdict = GOV_SEND;
	out->reason = GOV_OK;
	if (!q->advertising)
		return;
	/* Over the cap: the oldest contact leaves the 24 hours first. A
	 * contact then must also fall inside the window. */
	if (rules->per_24h[ch] > 0 && q->sent_24h >= rules->per_24h[ch]) {
		out->verdict = GOV_DEFER;
		out->reason = GOV_DAILY_CAP;
		t = (q->oldest_us > 0 ? q->oldest_us : t) + DAY_US;
		if (t <= q->now_us)
			t = q->now_us + 1;
	}
	if (!in_window(rules, ch, q->zone, t)) {
		if (out->verdict == GOV_SEND)
			out->reason = GOV_OUTSIDE_WINDOW;
		out->verdict = GOV_DEFER;
		t = next_open(rules, ch, q->zone, t);
	}
	if (out->verdict == GOV_DEFER)
		out->not_before_us = t;
}
