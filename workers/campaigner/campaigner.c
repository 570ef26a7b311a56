/*
 * campaigner.c - decodes a CampaignJob and runs it in the job's
 * transaction.
 */
#include "campaigner.h"
#include "launch.h"
#include "log.h"
#include "rekindle/bus/v1/bus.pb-c.h"

rk_err
campaigner_handle(struct worker *w, db_conn *db, const struct job *job,
    arena *a, const char **why)
{
	Rekindle__Bus__V1__CampaignJob *cj;
	rk_err rc;

	(void)w;
	cj = rekindle__bus__v1__campaign_job__unpack(arena_pb_allocator(a),
	    job->len, job->payload);
	if (cj == NULL || *cj->campaign_id == '\0' || (cj->launch_id <= 0) !=
	    cj->entry) {
		*why = "malformed CampaignJob payload";
		return (RK_EPROTO);
	}
	rc = cj->entry ? entry_run(db, a, cj->campaign_id, why) :
	    launch_run(db, a, cj->campaign_id, cj->launch_id, why);
	if (rc != RK_OK)
		log_error("LAUNCH-FAIL", "campaign %s, %s %lld: %s: %s",
		    cj->campaign_id, cj->entry ? "entry run" : "launch",
		    (long long)cj->launch_id, *why, db_errmsg(db));
	return (rc);
}
