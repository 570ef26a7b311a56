/*
 * profile.c - the per-customer accumulator.
 *
 * Days are UTC day numbers (us / 86,400 s); gaps are between distinct
 * purchase days. The usual gap is the median; overdue = days since the
 * last purchase / median gap. The spend trend compares the last 90 days
 * with the 90 before: (recent - previous) / (recent + previous), in
 * [-1, 1], 0 when both are 0. Refunds (negative amounts) lower spend but
 * are not purchases: they do not move recency or frequency.
 */
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "profile.h"

#define DAY_US INT64_C(86400000000)

static const int window_days[4] = {30, 90, 180, 365};

const char *
profile_state_name(enum lifecycle s)
{
	static const char *const names[] = {"", "new", "active", "at_risk",
	    "dormant", "lost"};

	return (s >= LC_NEW && s <= LC_LOST ? names[s] : "unknown");
}

void
profile_begin(struct profile *p, int64_t as_of_us,
    const struct profile_rules *rules)
{
	int32_t *gaps = p->gaps;
	int cap = p->capgaps;

	memset(p, 0, sizeof(*p));
	p->gaps = gaps;
	p->capgaps = cap;
	p->as_of_us = as_of_us;
	p->rules = rules;
	p->last_day = -1;
	for (int i = 0; i < 4; i++)
		p->win[i].days = window_days[i];
}

void
profile_fini(struct profile *p)
{
	free(p->gaps);
	p->gaps = NULL;
	p->capgaps = 0;
}

void
profile_add(struct profile *p, const struct profile_txn *t)
{
	int64_t age_us = p->as_of_us - t->at_us, day = t->at_us / DAY_US;
	int64_t money = t->in_currency ? t->amount_minor : 0;
	bool purchase = t->amount_minor > 0;

	if (t->ingested_us > p->watermark_us)
		p->watermark_us = t->ingested_us;
	if (t->at_us > p->as_of_us)
		return;		/* after the profile's date */
	p->spend += money;
	for (int i = 0; i < 4; i++)
		if (age_us < window_days[i] * DAY_US) {
			p->win[i].spend_minor += money;
			p->win[i].count += purchase;
		}
	if (age_us < 90 * DAY_US)
		p->recent90 += money;
	else if (age_us < 180 * DAY_US)
		p->previous90 += money;
	if (!purchase)
		return;
	p->count++;
	if (p->first_us == 0)
		p->first_us = p->streak_start_us = t->at_us;
	if (p->last_day >= 0 && day != p->last_day) {
		int32_t gap = (int32_t)(day - p->last_day);

		if (p->ngaps == p->capgaps) {
			p->capgaps = p->capgaps ? p->capgaps * 2 : 64;
			p->gaps = xrealloc(p->gaps, sizeof(int32_t) *
			    (size_t)p->capgaps);
		}
		p->gaps[p->ngaps++] = gap;
		if (gap >= p->rules->dormant_days)
			p->streak_start_us = t->at_us;	/* came back */
	}
	p->last_day = day;
	p->last_us = t->at_us;
	p->hour_count[t->local_hour % 24]++;
	p->total_pos_spend += money;
	if (t->local_dow >= 6)
		p->weekend_spend += money;
	if (t->promo)
		p->promo_spend += money;
	if (age_us < 365 * DAY_US) {
		p->year_spend += money;
		p->year_count++;
		if (t->category >= 0 && t->category < PROFILE_MAX_CATEGORIES) {
			p->cat_spend[t->category] += money;
			p->cat_count[t->category]++;
		}
		if (t->partner >= 0 && t->partner < PROFILE_MAX_PARTNERS) {
			p->par_spend[t->partner] += money;
			p->par_count[t->partner]++;
		}
	}
}

static int
cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return ((x > y) - (x < y));
}

/*
 * Sorts v[n] ascending: by insertion for the few dozen gaps most customers
 * have (glibc's qsort is a merge sort through malloc, and was 6 % of a
 * full run's profiler CPU), qsort beyond.
 */
static void
sort_gaps(int32_t *v, int n)
{
	if (n > 48) {
		qsort(v, (size_t)n, sizeof(int32_t), cmp_i32);
		return;
	}
	for (int i = 1; i < n; i++) {
		int32_t x = v[i];
		int j = i;

		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

/* Linear-interpolated quantile q of sorted v[n]. */
static double
quantile(const int32_t *v, int n, double q)
{
	double pos = q * (n - 1);
	int i = (int)pos;

	if (n == 0)
		return (0);
	if (i + 1 >= n)
		return (v[n - 1]);
	return (v[i] + (pos - i) * (v[i + 1] - v[i]));
}

/* Top PROFILE_TOP indexes by spend among n slots. */
static int
top_shares(const int64_t *spend, const int64_t *count, int n, int64_t total,
    int64_t total_count, struct profile_share *out)
{
	int k = 0;
	bool used[PROFILE_MAX_PARTNERS] = {false};

	for (; k < PROFILE_TOP; k++) {
		int best = -1;

		for (int i = 0; i < n; i++)
			if (!used[i] && count[i] > 0 && (best < 0 ||
			    spend[i] > spend[best] || (spend[i] == spend[best] &&
			    count[i] > count[best])))
				best = i;
		if (best < 0)
			break;
		used[best] = true;
		out[k].index = best;
		out[k].spend_share = total > 0 ? (double)spend[best] / total : 0;
		out[k].count_share = total_count > 0 ?
		    (double)count[best] / total_count : 0;
	}
	return (k);
}

void
profile_finish(struct profile *p, struct profile_result *out)
{
	const struct profile_rules *rules = p->rules;
	/* Calendar days (UTC) between the last purchase and the as-of day. */
	int days_since = p->count ? (int)(p->as_of_us / DAY_US - p->last_day) : 0;
	int best = -1;
	double median;

	memset(out, 0, sizeof(*out));
	out->first_us = p->first_us;
	out->last_us = p->last_us;
	out->count = p->count;
	out->spend = p->spend;
	memcpy(out->win, p->win, sizeof(out->win));
	out->purchase_days = p->count ? p->ngaps + 1 : 0;
	/* purchase days within each window: back from the last one, gap by
	 * gap (before the gaps are sorted) */
	for (int i = 0; i < 4; i++) {
		int64_t d = days_since, n = 0;

		if (p->count && d < window_days[i])
			for (n = 1; n <= p->ngaps; n++) {
				d += p->gaps[p->ngaps - n];
				if (d >= window_days[i])
					break;
			}
		out->win_purchase_days[i] = n;
	}
	out->avg_ticket_minor = p->count ? (double)p->total_pos_spend / p->count :
	    0;
	sort_gaps(p->gaps, p->ngaps);
	median = quantile(p->gaps, p->ngaps, 0.5);
	out->median_gap_days = median;
	out->p90_gap_days = quantile(p->gaps, p->ngaps, 0.9);
	out->days_since_last = days_since;
	out->overdue_ratio = median > 0 ? days_since / median : 0;
	out->ntop_categories = top_shares(p->cat_spend, p->cat_count,
	    PROFILE_MAX_CATEGORIES, p->year_spend, p->year_count,
	    out->top_categories);
	out->ntop_partners = top_shares(p->par_spend, p->par_count,
	    PROFILE_MAX_PARTNERS, p->year_spend, p->year_count,
	    out->top_partners);
	out->weekend_spend_share = p->total_pos_spend > 0 ?
	    (double)p->weekend_spend / p->total_pos_spend : 0;
	out->promo_spend_share = p->total_pos_spend > 0 ?
	    (double)p->promo_spend / p->total_pos_spend : 0;
	out->spend_trend = p->recent90 + p->previous90 > 0 ?
	    (double)(p->recent90 - p->previous90) /
	    (double)(p->recent90 + p->previous90) : 0;
	for (int h = 0; h < 24; h++)
		if (p->hour_count[h] > 0 && (best < 0 ||
		    p->hour_count[h] > p->hour_count[best]))
			best = h;
	out->peak_hour = best;

	/* Lifecycle, most severe first; each state began when its
	 * threshold was crossed after the last purchase. */
	if (p->count == 0) {
		out->state = LC_LOST;
		out->state_since_us = p->as_of_us;
	} else if (days_since >= rules->lost_days) {
		out->state = LC_LOST;
		out->state_since_us = p->last_us + rules->lost_days * DAY_US;
	} else if (days_since >= rules->dormant_days) {
		out->state = LC_DORMANT;
		out->state_since_us = p->last_us + rules->dormant_days * DAY_US;
	} else if (days_since >= rules->at_risk_days ||
	    (p->ngaps >= 3 && median > 0 &&
	    out->overdue_ratio >= rules->at_risk_overdue)) {
		double d = rules->at_risk_days;

		if (p->ngaps >= 3 && median * rules->at_risk_overdue < d)
			d = median * rules->at_risk_overdue;
		out->state = LC_AT_RISK;
		out->state_since_us = p->last_us + (int64_t)(d * DAY_US);
	} else if (p->as_of_us - p->first_us < rules->new_days * DAY_US) {
		out->state = LC_NEW;
		out->state_since_us = p->first_us;
	} else {
		/* Active since it stopped being new, or since it came back. */
		out->state = LC_ACTIVE;
		out->state_since_us = p->streak_start_us == p->first_us ?
		    p->first_us + rules->new_days * DAY_US : p->streak_start_us;
	}
	out->btyd_x = p->count ? p->ngaps : 0;
	out->btyd_t_x = p->count ? (double)(p->last_day - p->first_us / DAY_US) :
	    0;
	out->btyd_T = p->count ? (double)(p->as_of_us - p->first_us) /
	    (double)DAY_US : 0;
}
