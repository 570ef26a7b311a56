/*
 * profiler.c - decodes a ProfileJob and recomputes those customers'
 * profiles in the job's transaction.
 *
 * A profile is recomputed from the customer's transactions, never added
 * to, so a job run twice (after a lease expired) writes the same rows.
 */
#include "clock.h"
#include "log.h"
#include "profiler.h"
#include "profiler_db.h"
#include "refdata.h"
#include "rekindle/bus/v1/bus.pb-c.h"

static int var_new_days;
static int var_at_risk_days;
static int var_at_risk_overdue_pct;
static int var_dormant_days;
static int var_lost_days;

const struct cfg_entry profiler_cfg[] = {
	{"lifecycle_new_days", CFG_INT, "30", &var_new_days, 1, 3650, 0,
	    "first purchase within this many days: new"},
	{"lifecycle_at_risk_days", CFG_INT, "45", &var_at_risk_days, 1, 3650, 0,
	    "no purchase for this many days: at risk"},
	{"lifecycle_at_risk_overdue_pct", CFG_INT, "300",
	    &var_at_risk_overdue_pct, 100, 10000, 0,
	    "or this percentage of the usual gap overdue: at risk"},
	{"lifecycle_dormant_days", CFG_INT, "90", &var_dormant_days, 1, 3650, 0,
	    "no purchase for this many days: dormant"},
	{"lifecycle_lost_days", CFG_INT, "365", &var_lost_days, 1, 7300, 0,
	    "no purchase for this many days: lost"},
	CFG_END,
};

static struct refdata ref;
static struct profile_rules rules;

rk_err
profiler_init(struct worker *w, db_conn *db)
{
	(void)w;
	rules = (struct profile_rules){var_new_days, var_at_risk_days,
	    var_at_risk_overdue_pct / 100.0, var_dormant_days, var_lost_days};
	if (!(rules.new_days < rules.dormant_days &&
	    rules.at_risk_days < rules.dormant_days &&
	    rules.dormant_days < rules.lost_days))
		log_fatal("CONFIG-INVALID", "lifecycle thresholds must satisfy "
		    "new, at_risk < dormant < lost");
	return (refdata_load(&ref, db, true));
}

rk_err
profiler_handle(struct worker *w, db_conn *db, const struct job *job,
    arena *a, const char **why)
{
	Rekindle__Bus__V1__ProfileJob *pj;
	struct profile_selection sel = {0};
	int64_t n = 0;
	rk_err rc;

	(void)w;
	pj = rekindle__bus__v1__profile_job__unpack(arena_pb_allocator(a),
	    job->len, job->payload);
	if (pj == NULL) {
		*why = "malformed ProfileJob payload";
		return (RK_EPROTO);
	}
	if ((rc = refdata_load(&ref, db, false)) != RK_OK) {
		*why = db_errmsg(db);
		return (rc);
	}
	sel.ids = (const char *const *)pj->customer_ids;
	sel.nids = pj->n_customer_ids;
	rc = profiler_db_profile(db, a, &ref, &rules, &sel, clock_now_us(),
	    job->id, &n);
	if (rc != RK_OK) {
		*why = db_errmsg(db);
		return (rc);
	}
	log_debug("PROFILE-DONE", "job %lld: %lld profiles for %zu customers",
	    (long long)job->id, (long long)n, pj->n_customer_ids);
	return (RK_OK);
}
