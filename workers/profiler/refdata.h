/*
 * refdata.h - the reference data a profiler holds in memory: categories
 * by MCC, partners by merchant id and name prefix, promotions, and the
 * model parameters in use (BTYD, RFM cut-offs). Small tables, reloaded
 * when older than a minute, so edits through the API take effect without
 * restarts.
 */
#ifndef RK_REFDATA_H
#define RK_REFDATA_H

#include <stdbool.h>
#include <stdint.h>

#include "btyd.h"
#include "churn.h"
#include "rfm.h"
#include "db.h"
#include "profile.h"

struct promotion {
	int64_t starts_us, ends_us;
	char *merchant_id;	/* NULL = any */
	int partner;		/* -1 = any */
	int category;		/* -1 = any */
};

struct merchant_partner {
	char *merchant_id;
	int partner;
};

struct refdata {
	int64_t loaded_ms;
	char *category[PROFILE_MAX_CATEGORIES];
	int ncategories;
	int8_t mcc_category[10000];	/* -1: unknown */
	int other;			/* index of "other" */
	char *partner[PROFILE_MAX_PARTNERS];
	int npartners;
	struct merchant_partner *merchants;	/* sorted by id, bytewise */
	int nmerchants;
	struct { char *prefix; int partner; } *prefixes;	/* longest first */
	int nprefixes;
	struct promotion *promos;
	int npromos;
	bool have_btyd;
	bool p_alive_ok;	/* P(alive) informative (else written NULL) */
	enum btyd_model btyd;
	struct btyd_params btyd_params;
	bool have_rfm;
	struct rfm_table rfm[3];	/* R, F, M percentiles (rfm.h) */
	int rfm_window_days;		/* what F and M were taken over */
	churn_model *churn;		/* the kept churn model, or NULL */
};

/* Loads (or reloads when stale or force) from db. */
rk_err refdata_load(struct refdata *r, db_conn *db, bool force);
void refdata_free(struct refdata *r);

/* Category index of an MCC (the "other" index when unknown). */
int refdata_category(const struct refdata *r, int mcc);
/* Partner index of a merchant (id first, then name prefix), -1 if none. */
int refdata_partner(const struct refdata *r, const char *merchant_id,
    const char *merchant_name);
/* Whether a transaction falls in a promotion. */
bool refdata_promo(const struct refdata *r, int64_t at_us,
    const char *merchant_id, int partner, int category);

/* RFM scores 1..5 of a customer who bought, from the stored percentiles
 * (0 if there are none yet). */
void refdata_rfm(const struct refdata *r, const struct profile_result *p,
    int scores[3]);

#endif
