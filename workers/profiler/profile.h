/*
 * profile.h - one customer's spending profile, accumulated from their
 * transactions in time order, in memory bounded by the length of their
 * history in days (gaps between purchase days) and nothing else.
 *
 * Pure: no I/O. The profiler feeds it rows from one ordered scan and
 * writes out what profile_finish computes.
 */
#ifndef RK_PROFILE_H
#define RK_PROFILE_H

#include <stdbool.h>
#include <stdint.h>

#define PROFILE_MAX_CATEGORIES 16
#define PROFILE_MAX_PARTNERS 64
#define PROFILE_TOP 3

enum lifecycle { LC_NEW = 1, LC_ACTIVE, LC_AT_RISK, LC_DORMANT, LC_LOST };

/* Thresholds, in days (configuration). */
struct profile_rules {
	int new_days;		/* first purchase within: new */
	int at_risk_days;	/* no purchase for: at risk */
	double at_risk_overdue;	/* ... or this many usual gaps overdue */
	int dormant_days;	/* no purchase for: dormant */
	int lost_days;		/* no purchase for: lost */
	int rfm_window_days;	/* RFM frequency and monetary window (rfm.h) */
};

/* One transaction as the scan delivers it. */
struct profile_txn {
	int64_t at_us;		/* UTC */
	int64_t ingested_us;	/* when rekindle stored it */
	int64_t amount_minor;
	bool in_currency;	/* in the profile's currency (counts money) */
	int local_dow;		/* 1 = Monday .. 7 = Sunday, customer's zone */
	int local_hour;		/* 0..23, customer's zone */
	int category;		/* index into the category list, -1 none */
	int partner;		/* index into the partner list, -1 none */
	bool promo;		/* during a promotion that covers it */
};

struct profile_share {
	int index;		/* category or partner index */
	double spend_share;
	double count_share;
};

struct profile_window {
	int days;
	int64_t count;
	int64_t spend_minor;
};

/* The accumulator; zero it with profile_begin. */
struct profile {
	const struct profile_rules *rules;
	int64_t as_of_us;
	int64_t first_us, last_us, count, spend;
	int64_t last_day;		/* day number of the last purchase */
	int64_t streak_start_us;	/* first purchase after a dormant gap */
	int32_t *gaps;			/* gaps between purchase days */
	int ngaps, capgaps;
	struct profile_window win[4];	/* 30, 90, 180, 365 */
	int64_t cat_spend[PROFILE_MAX_CATEGORIES], cat_count[PROFILE_MAX_CATEGORIES];
	int64_t par_spend[PROFILE_MAX_PARTNERS], par_count[PROFILE_MAX_PARTNERS];
	int64_t year_spend, year_count;		/* last 365 days */
	int64_t weekend_spend, total_pos_spend;
	int64_t hour_count[24];
	int64_t promo_spend;
	int64_t recent90, previous90;
	int64_t watermark_us;	/* newest ingested_us seen */
};

/* What profile_finish computes. */
struct profile_result {
	int64_t first_us, last_us, count, spend;
	struct profile_window win[4];
	int64_t purchase_days;		/* distinct purchase days */
	int64_t win_purchase_days[4];	/* ... within each window */
	double median_gap_days, p90_gap_days, overdue_ratio;
	int days_since_last;
	struct profile_share top_categories[PROFILE_TOP];
	int ntop_categories;
	struct profile_share top_partners[PROFILE_TOP];
	int ntop_partners;
	double weekend_spend_share, promo_spend_share, spend_trend;
	int peak_hour;			/* -1 if no purchase */
	enum lifecycle state;
	int64_t state_since_us;
	double avg_ticket_minor;
	/* BTYD summary in days: repeat days, last repeat, age. */
	double btyd_x, btyd_t_x, btyd_T;
};

/*
 * Starts a customer as of as_of_us under rules (borrowed), reusing p's
 * gap buffer.
 */
void profile_begin(struct profile *p, int64_t as_of_us,
    const struct profile_rules *rules);
/* Adds one transaction; calls must come in time order. */
void profile_add(struct profile *p, const struct profile_txn *t);
/* Computes the result (sorts p's gaps). */
void profile_finish(struct profile *p, struct profile_result *out);
/* Frees the gap buffer. */
void profile_fini(struct profile *p);

/* Name of a lifecycle state ("dormant"). */
const char *profile_state_name(enum lifecycle s);

#endif
