/*
 * governor.c - the contact rules, decided in a fixed order: address,
 * consent and Do-Not-Call deny; the daily cap and the local window defer.
 */
#include <stddef.h>

#include "governor.h"
#include "localtz.h"

#define MINUTE_US INT64_C(60000000)
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
in_window(const struct gov_rules *r, const struct gov_request *q,
    int64_t t_us)
{
	int ch = q->channel, dow, m, from = q->window_from_min,
	    until = q->window_until_min;

	if (r->from_hour[ch] <= 0 && r->until_hour[ch] >= 24 && from == until)
		return (true);
	localtz_dow_minute(q->zone, t_us, &dow, &m);
	if (m < r->from_hour[ch] * 60 || m >= r->until_hour[ch] * 60)
		return (false);
	if (from < until)
		return (m >= from && m < until);
	return (from == until || m >= from || m < until);
}

/* The first whole minute from t_us on that is inside the windows (the
 * campaign's may open on any minute; local minutes change on UTC minutes
 * in every zone). */
static int64_t
next_open(const struct gov_rules *r, const struct gov_request *rq,
    int64_t t_us)
{
	int64_t q = (t_us / MINUTE_US + 1) * MINUTE_US;

	for (int i = 0; i < 60 * 24 * 2; i++, q += MINUTE_US)
		if (in_window(r, rq, q))
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
	if (!in_window(rules, q, t)) {
		if (out->verdict == GOV_SEND)
			out->reason = GOV_OUTSIDE_WINDOW;
		out->verdict = GOV_DEFER;
		t = next_open(rules, q, t);
	}
	if (out->verdict == GOV_DEFER)
		out->not_before_us = t;
}

int64_t
gov_pace_slot(int64_t *tat_us, int64_t now_us, int rate)
{
	int64_t slot;

	if (rate <= 0)
		return (now_us);
	slot = *tat_us > now_us ? *tat_us : now_us;
	*tat_us = slot + (INT64_C(1000000) + rate - 1) / rate;
	return (slot);
}
