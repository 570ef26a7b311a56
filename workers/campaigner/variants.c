/*
 * variants.c - the split between a campaign's variants (variants.h).
 */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "campaign.h"
#include "log.h"
#include "variants.h"

void
variants_thompson(const int64_t *succ, const int64_t *trials, int n,
    int draws, uint64_t seed, double *share)
{
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	int64_t wins[VARIANTS_MAX] = {0};

	gsl_rng_set(rng, (unsigned long)seed);
	for (int d = 0; d < draws; d++) {
		double best = -1;
		int arg = 0;

		for (int i = 0; i < n; i++) {
			int64_t s = succ[i] < 0 ? 0 : succ[i];
			int64_t f = trials[i] > s ? trials[i] - s : 0;
			double x = gsl_ran_beta(rng, 1.0 + (double)s,
			    1.0 + (double)f);

			if (x > best) {
				best = x;
				arg = i;
			}
		}
		wins[arg]++;
	}
	for (int i = 0; i < n; i++)
		share[i] = draws > 0 ? (double)wins[i] / draws : 1.0 / n;
	gsl_rng_free(rng);
}

void
variants_ranges(const double *share, int n, int *lo, int *hi)
{
	double sum = 0, cum = 0;
	int at = 0;

	for (int i = 0; i < n; i++)
		sum += share[i] > 0 ? share[i] : 0;
	for (int i = 0; i < n; i++) {
		int end;

		cum += sum > 0 ? (share[i] > 0 ? share[i] : 0) / sum : 1.0 / n;
		end = i == n - 1 ? VARIANT_BUCKETS :
		    (int)lround(cum * VARIANT_BUCKETS);
		/* every variant keeps a bucket, and leaves one to those after */
		if (end <= at)
			end = at + 1;
		if (end > VARIANT_BUCKETS - (n - 1 - i))
			end = VARIANT_BUCKETS - (n - 1 - i);
		lo[i] = at;
		hi[i] = end;
		at = end;
	}
}

/* The variants, their weights and (adaptive) how their entries did. */
#define VARIANTS_SQL                                                      \
	"SELECT v.variant_id, coalesce(v.offer_id, ''), v.weight, "         \
	" k.adaptive_split AND k.kind = " DB_NUM(CAMPAIGN_KIND_ALWAYS_ON) ", " \
	" count(e.customer_id), count(e.customer_id) FILTER (WHERE EXISTS " \
	"  (SELECT 1 FROM transactions t WHERE t.customer_id = "            \
	"  e.customer_id AND t.occurred_at > e.entered_at AND "             \
	"  t.occurred_at <= e.entered_at + k.attribution_days * "           \
	"  interval '1 day')) "                                             \
	"FROM campaign_variants v JOIN campaigns k ON k.campaign_id = "     \
	" v.campaign_id LEFT JOIN campaign_entries e ON e.campaign_id = "   \
	" v.campaign_id AND e.variant_id = v.variant_id AND "               \
	" e.status = 'treatment' AND k.adaptive_split "                     \
	"WHERE v.campaign_id = $1 "                                         \
	"GROUP BY v.variant_id, v.offer_id, v.weight, v.ord, "              \
	" k.adaptive_split, k.kind ORDER BY v.ord"

rk_err
variants_prepare(db_conn *db, arena *a, const char *campaign_id)
{
	const char *p[1] = {campaign_id}, *ids[VARIANTS_MAX],
	    *offers[VARIANTS_MAX], *q[5];
	int64_t succ[VARIANTS_MAX], trials[VARIANTS_MAX], total = 0;
	double share[VARIANTS_MAX] = {0}, wsum = 0;
	int lo[VARIANTS_MAX], hi[VARIANTS_MAX], n;
	char los[128] = "{", his[128] = "{", shs[256] = "{";
	bool adaptive;
	uint64_t seed = 1469598103934665603ULL;
	db_res *r;
	rk_err rc;

	if ((rc = db_exec(db, VARIANTS_SQL, 1, p, &r)) != RK_OK)
		return (rc);
	n = db_res_nrows(r) < VARIANTS_MAX ? db_res_nrows(r) : VARIANTS_MAX;
	adaptive = n > 0 && db_res_bool(r, 0, 3);
	for (int i = 0; i < n; i++) {
		ids[i] = arena_strdup(a, db_res_str(r, i, 0));
		offers[i] = arena_strdup(a, db_res_str(r, i, 1));
		share[i] = (double)db_res_int64(r, i, 2);
		wsum += share[i];
		trials[i] = db_res_int64(r, i, 4);
		succ[i] = db_res_int64(r, i, 5);
		total += trials[i];
	}
	db_res_free(r);
	if (adaptive) {
		/* the same outcomes give the same shares */
		for (const char *c = campaign_id; *c; c++)
			seed = (seed ^ (unsigned char)*c) * 1099511628211ULL;
		variants_thompson(succ, trials, n, 20000, seed ^ (uint64_t)total,
		    share);
	} else
		for (int i = 0; i < n; i++)
			share[i] = wsum > 0 ? share[i] / wsum : 0;
	variants_ranges(share, n, lo, hi);
	for (int i = 0; i < n; i++) {
		size_t l = strlen(los), h = strlen(his), s = strlen(shs);

		snprintf(los + l, sizeof(los) - l, "%s%d", i ? "," : "", lo[i]);
		snprintf(his + h, sizeof(his) - h, "%s%d", i ? "," : "", hi[i]);
		snprintf(shs + s, sizeof(shs) - s, "%s%.6f", i ? "," : "",
		    share[i]);
	}
	strcat(los, "}");
	strcat(his, "}");
	strcat(shs, "}");
	q[0] = db_text_array(a, ids, (size_t)n);
	q[1] = db_text_array(a, offers, (size_t)n);
	q[2] = los;
	q[3] = his;
	q[4] = shs;
	rc = db_exec(db, "CREATE TEMP TABLE launch_variants ON COMMIT DROP AS "
	    "SELECT id AS variant_id, nullif(offer, '') AS offer_id, lo, hi "
	    "FROM unnest($1::text[], $2::text[], $3::int[], $4::int[]) "
	    "u(id, offer, lo, hi)", 4, q, NULL);
	if (rc == RK_OK && n > 0) {
		const char *s[3] = {campaign_id, q[0], shs};

		rc = db_exec(db, "UPDATE campaign_variants v SET share = u.sh "
		    "FROM unnest($2::text[], $3::float8[]) u(id, sh) WHERE "
		    "v.campaign_id = $1 AND v.variant_id = u.id", 3, s, NULL);
		if (rc == RK_OK && adaptive)
			log_info("VARIANT-SHARES", "campaign %s: Thompson shares %s "
			    "from %lld entries", campaign_id, shs, (long long)total);
	}
	return (rc);
}
