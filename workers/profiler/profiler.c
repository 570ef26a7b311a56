/*
 * profiler.c - decodes a ProfileJob and, in the job's transaction, fits a
 * full run's models or recomputes those customers' profiles.
 *
 * A profile is recomputed from the customer's transactions, never added
 * to, so a job run twice (after a lease expired) writes the same rows.
 */
#include <stdio.h>

#include "campaign.h"
#include "clock.h"
#include "fit.h"
#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "profiler.h"
#include "profiler_db.h"
#include "refdata.h"
#include "rfm.h"
#include "rekindle/bus/v1/bus.pb-c.h"

static int var_new_days;
static int var_at_risk_days;
static int var_at_risk_overdue_pct;
static int var_dormant_days;
static int var_lost_days;
static int var_fit_sample;
static int var_fit_seed;
static int var_rfm_window_days;

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
	{"rfm_window_days", CFG_INT, "0", &var_rfm_window_days, 0, 365, 0,
	    "RFM frequency (purchase days) and monetary (spend) over this many "
	    "days: 0 (the whole history), 30, 90, 180 or 365"},
	{"profile_fit_sample", CFG_INT, "30000", &var_fit_sample, 100, 1000000,
	    0, "customers sampled (about: a Bernoulli sample) per full run for "
	    "RFM cut-offs and model fits"},
	{"profile_fit_seed", CFG_INT, "1", &var_fit_seed, 0, 2147483647, 0,
	    "the sample's seed: the same seed and data, the same sample"},
	CFG_END,
};

static struct refdata ref;
static int64_t ref_run;		/* the full run ref was last loaded for */
static struct profile_rules rules;

static struct metric profiled = METRIC_COUNTER(
    "rekindle_profiles_written_total", "Customer profiles computed, by kind "
    "of job (run: a chunk of a full run; incremental: after an ingest).",
    "kind");
static struct metric run_seconds = METRIC_HISTOGRAM(
    "rekindle_profile_run_duration_seconds", "Full profiling runs, from start "
    "to their profiles swapped in, as counted by the process that "
    "finished them.",
    metric_long_buckets, NULL);
static struct metric progress = METRIC_GAUGE(
    "rekindle_profile_run_progress_ratio", "Customers profiled out of those "
    "to profile, of the newest full run (1 when done).", NULL);
static struct metric running = METRIC_GAUGE("rekindle_profile_runs_running",
    "Full profiling runs under way.", NULL);

/* At a scrape: the newest run's progress. */
static void
scrape(void *arg)
{
	db_conn *db = daemon_metrics_db();
	double ratio;
	int64_t n;

	(void)arg;
	if (db != NULL && profiler_db_progress(db, &ratio, &n) == RK_OK) {
		metric_set(&progress, ratio);
		metric_set(&running, (double)n);
	}
}

rk_err
profiler_init(struct worker *w, db_conn *db)
{
	(void)w;
	rules = (struct profile_rules){var_new_days, var_at_risk_days,
	    var_at_risk_overdue_pct / 100.0, var_dormant_days, var_lost_days,
	    var_rfm_window_days};
	if (!rfm_window_ok(var_rfm_window_days))
		log_fatal("CONFIG-INVALID", "rfm_window_days must be 0, 30, 90, "
		    "180 or 365");
	if (!(rules.new_days < rules.dormant_days &&
	    rules.at_risk_days < rules.dormant_days &&
	    rules.dormant_days < rules.lost_days))
		log_fatal("CONFIG-INVALID", "lifecycle thresholds must satisfy "
		    "new, at_risk < dormant < lost");
	metrics_on_scrape(scrape, NULL);
	metric_register(&run_seconds);
	return (refdata_load(&ref, db, true));
}

/*
 * Counts a finished chunk of a full run, in the chunk's transaction; the
 * chunk that completes the run closes it, exactly once, and swaps its
 * table in. The run's end is stamped after the swap, by the clock: now()
 * is the start of the transaction, which began before this chunk was
 * profiled.
 */
static rk_err
chunk_done(db_conn *db, arena *a, const Rekindle__Bus__V1__ProfileJob *pj,
    int64_t customers)
{
	const char *timing;
	int64_t t0, t1;
	double secs;
	rk_err rc;
	bool done;

	if ((rc = profiler_db_chunk_done(db, pj->run_id, customers, &done)) !=
	    RK_OK || !done)
		return (rc);
	t0 = clock_mono_ms();
	if ((rc = profiler_db_run_swap(db, a, pj->run_id, &timing)) != RK_OK)
		return (rc);
	t1 = clock_mono_ms();
	if ((rc = profiler_db_run_finished(db, pj->run_id, &secs)) != RK_OK)
		return (rc);
	metric_observe(&run_seconds, secs);
	log_info("PROFILE-RUN-DONE", "run %lld done in %.2f s (the swap: "
	    "%lld ms: %s)", (long long)pj->run_id, secs, (long long)(t1 - t0),
	    timing);
	/* customers may newly match an always-on campaign */
	return (campaign_entries_due(db, pj->run_id));
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
	/* A full run works from the reference data of its start. */
	if ((rc = refdata_load(&ref, db, pj->run_id != 0 &&
	    pj->run_id != ref_run)) != RK_OK) {
		*why = db_errmsg(db);
		return (rc);
	}
	ref_run = pj->run_id ? pj->run_id : ref_run;
	if (pj->run_id != 0 && pj->fit) {
		if (pj->chunk_customers <= 0) {
			*why = "fit job without chunk_customers";
			return (RK_EPROTO);
		}
		return (fit_run(db, a, &ref, &rules, pj->run_id, pj->as_of_us,
		    var_fit_sample, var_fit_seed, pj->chunk_customers, why));
	}
	if (pj->run_id != 0) {
		sel.lo = pj->range_lo;
		sel.hi = *pj->range_hi ? pj->range_hi : NULL;
		sel.run_id = pj->run_id;
	} else {
		sel.ids = (const char *const *)pj->customer_ids;
		sel.nids = pj->n_customer_ids;
	}
	rc = profiler_db_profile(db, a, &ref, &rules, &sel, pj->run_id ?
	    pj->as_of_us : clock_now_us(), job->id, &n);
	if (rc == RK_OK)
		metric_add(&profiled, (double)n, pj->run_id ? "run" :
		    "incremental");
	if (rc == RK_OK && pj->run_id != 0)
		rc = chunk_done(db, a, pj, n);
	else if (rc == RK_OK && n > 0)
		rc = campaign_entries_due(db, job->id);
	if (rc != RK_OK) {
		*why = db_errmsg(db);
		return (rc);
	}
	log_debug("PROFILE-DONE", "job %lld: %lld profiles for %zu customers",
	    (long long)job->id, (long long)n, pj->n_customer_ids);
	return (RK_OK);
}
