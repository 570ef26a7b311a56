/*
 * profiler_db.c - profile SQL.
 *
 * CONCURRENCY
 *	Two profilers may re-profile one customer at once, each from its own
 *	snapshot. Each profile carries the newest ingested_at it saw, and the
 *	upsert only replaces a profile computed from no more data, so the
 *	profile computed from the most data wins whatever the commit order.
 *
 * SPEED
 *	The scan is a binary COPY of plain columns: no per-row expressions in
 *	SQL (time zones and epochs cost more there than the scan itself);
 *	local time is computed here (localtz), and customers whose zone is
 *	not the default are fetched once, before the scan.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "btyd.h"
#include "churn.h"
#include "clock.h"
#include "copybin.h"
#include "localtz.h"
#include "log.h"
#include "mem.h"
#include "money.h"
#include "profiler_db.h"
#include "reasons.h"
#include "rfm.h"
#include "segment.h"

#define NSCAN 8
/* Customers scored per model call. */
#define SCORE_BATCH 1024
/* Churn reasons are given from this risk up. */
#define REASON_MIN_RISK 0.2

/*
 * The profile's columns after the key (customer_id), in COPY order, each
 * named once with how put_profile writes it: a column and its value are
 * one line, so neither can drift from the other (PROFILE_VIEW_LIST in the
 * API names the read side the same way). In scope: b (the COPY buffer),
 * w (the writer), pe (the customer), r (its profile), v (what
 * put_profile works out first: BTYD, RFM, reasons) and risk.
 */
#define PROFILE_COLS(X)                                                       \
	X(as_of, copybin_timestamptz(b, w->as_of_us))                         \
	X(first_txn_at, OR_NULL(r->count > 0, copybin_timestamptz(b,          \
	    r->first_us)))                                                    \
	X(last_txn_at, OR_NULL(r->count > 0, copybin_timestamptz(b,           \
	    r->last_us)))                                                     \
	X(txn_count, copybin_int64(b, r->count))                              \
	X(total_spend_minor, copybin_int64(b, r->spend))                      \
	X(currency, put_text(b, pe->currency))                                \
	X(purchase_days, copybin_int64(b, r->purchase_days))                  \
	X(count_30d, copybin_int64(b, r->win[0].count))                       \
	X(spend_30d, copybin_int64(b, r->win[0].spend_minor))                 \
	X(count_90d, copybin_int64(b, r->win[1].count))                       \
	X(spend_90d, copybin_int64(b, r->win[1].spend_minor))                 \
	X(count_180d, copybin_int64(b, r->win[2].count))                      \
	X(spend_180d, copybin_int64(b, r->win[2].spend_minor))                \
	X(count_365d, copybin_int64(b, r->win[3].count))                      \
	X(spend_365d, copybin_int64(b, r->win[3].spend_minor))                \
	X(avg_ticket_minor, copybin_float8(b, r->avg_ticket_minor))           \
	X(median_gap_days, copybin_float8(b, r->median_gap_days))             \
	X(p90_gap_days, copybin_float8(b, r->p90_gap_days))                   \
	X(overdue_ratio, copybin_float8(b, r->overdue_ratio))                 \
	/* no purchase: no recency */                                         \
	X(days_since_last, OR_NULL(r->count > 0, copybin_int32(b,             \
	    (int32_t)r->days_since_last)))                                    \
	X(top_categories, put_shares(b, w->ref->category, r->top_categories,  \
	    r->ntop_categories))                                              \
	X(top_partners, put_shares(b, w->ref->partner, r->top_partners,       \
	    r->ntop_partners))                                                \
	X(top_category, put_text(b, r->ntop_categories ?                      \
	    w->ref->category[r->top_categories[0].index] : NULL))             \
	X(top_partner, put_text(b, r->ntop_partners ?                         \
	    w->ref->partner[r->top_partners[0].index] : NULL))                \
	X(weekend_spend_share, copybin_float8(b, r->weekend_spend_share))     \
	X(peak_hour, OR_NULL(r->peak_hour >= 0, copybin_int16(b,              \
	    (int16_t)r->peak_hour)))                                          \
	X(promo_spend_share, copybin_float8(b, r->promo_spend_share))         \
	X(spend_trend, copybin_float8(b, r->spend_trend))                     \
	X(state, put_text(b, profile_state_name(r->state)))                   \
	X(state_since, copybin_timestamptz(b, r->state_since_us))             \
	X(btyd_x, copybin_float8(b, r->btyd_x))                               \
	X(btyd_t_x, copybin_float8(b, r->btyd_t_x))                           \
	X(btyd_T, copybin_float8(b, r->btyd_T))                               \
	X(btyd_model, put_text(b, v.btyd_model))                              \
	X(p_alive, put_float_or_null(b, v.p_alive))                           \
	X(expected_30d, put_float_or_null(b, v.expected_30d))                 \
	X(expected_90d, put_float_or_null(b, v.expected_90d))                 \
	X(recency_score, OR_NULL(v.rfm[0] > 0, copybin_int16(b,               \
	    (int16_t)v.rfm[0])))                                              \
	X(frequency_score, OR_NULL(v.rfm[1] > 0, copybin_int16(b,             \
	    (int16_t)v.rfm[1])))                                              \
	X(monetary_score, OR_NULL(v.rfm[2] > 0, copybin_int16(b,              \
	    (int16_t)v.rfm[2])))                                              \
	X(segment, put_text(b, v.segment))                                    \
	X(job_id, copybin_int64(b, w->job_id))                                \
	X(churn_risk, put_float_or_null(b, risk))                             \
	X(churn_reasons, put_reasons(b, &v, REASON_EN))                       \
	X(churn_reasons_vi, put_reasons(b, &v, REASON_VI))                    \
	X(data_watermark, copybin_timestamptz(b, pe->watermark_us))

#define COL_ONE(name, put) + 1
#define COL_SQL(name, put) ", " #name
#define COL_NAME(name, put) #name,
#define COL_SET(name, put) ", " #name " = EXCLUDED." #name
#define NCOLS (1 PROFILE_COLS(COL_ONE))
/* A column's value, or NULL when there is none (b: the COPY buffer). */
#define OR_NULL(have, put) ((have) ? (put) : copybin_null(b))
/* Every column, the key first: the COPY's column list. */
#define PROFILE_COL_LIST "customer_id" PROFILE_COLS(COL_SQL)

/* A customer whose zone is not the default. */
struct zone_of {
	const char *id, *zone;
};

static int
cmp_zone_of(const void *a, const void *b)
{
	return (strcmp(((const struct zone_of *)a)->id,
	    ((const struct zone_of *)b)->id));
}

/* The WHERE condition on customer ids for sel, as literal SQL. */
static const char *
selection_sql(db_conn *db, arena *a, const char *col,
    const struct profile_selection *sel)
{
	const char *lo, *hi;

	if (sel->ids != NULL) {
		const char *arr = db_literal(db, a, db_text_array(a, sel->ids,
		    sel->nids));

		return (arr ? arena_printf(a, "%s = ANY(%s::text[])", col, arr) :
		    NULL);
	}
	if ((lo = db_literal(db, a, sel->lo)) == NULL)
		return (NULL);
	if (sel->hi == NULL)
		return (arena_printf(a, "%s >= %s", col, lo));
	if ((hi = db_literal(db, a, sel->hi)) == NULL)
		return (NULL);
	return (arena_printf(a, "%s >= %s AND %s < %s", col, lo, col, hi));
}

/* The selected customers with another zone than the default, by id. */
static rk_err
load_zones(db_conn *db, arena *a, const char *where, struct zone_of **out,
    size_t *n)
{
	const char *p[1] = {RK_DEFAULT_TIME_ZONE};
	db_res *res;
	rk_err rc;

	rc = db_exec(db, arena_printf(a, "SELECT id, time_zone FROM customers "
	    "WHERE %s AND time_zone <> $1", where), 1, p, &res);
	if (rc != RK_OK)
		return (rc);
	*n = (size_t)db_res_nrows(res);
	*out = arena_alloc(a, sizeof(**out) * (*n + 1));
	for (size_t i = 0; i < *n; i++) {
		(*out)[i].id = arena_strdup(a, db_res_str(res, (int)i, 0));
		(*out)[i].zone = arena_strdup(a, db_res_str(res, (int)i, 1));
	}
	db_res_free(res);
	qsort(*out, *n, sizeof(**out), cmp_zone_of);
	return (RK_OK);
}

/* A text field as a C string in buf (cap bytes), or NULL. */
static const char *
field_str(const struct copybin_field *f, char *buf, size_t cap)
{
	size_t n;

	if (f->len < 0)
		return (NULL);
	n = (size_t)f->len < cap - 1 ? (size_t)f->len : cap - 1;
	memcpy(buf, f->p, n);
	buf[n] = '\0';
	return (buf);
}

/* The scan's currency field: NULL for VND (see the scan). */
static const char *
currency_of(const struct copybin_field *f, char *buf, size_t cap)
{
	if (f->len >= 0)
		return (field_str(f, buf, cap));
	snprintf(buf, cap, "VND");
	return (buf);
}

rk_err
profiler_db_scan(db_conn *db, arena *a, const struct refdata *ref,
    const struct profile_selection *sel, const struct scan_sink *sink)
{
	char id[PROFILER_MAX_ID + 1] = "", currency[8] = "", mid[256], mname[256],
	    cur[8];
	struct copybin_field f[NSCAN];
	struct zone_of *zones = NULL;
	const char *where, *zone = RK_DEFAULT_TIME_ZONE;
	size_t nzones = 0;
	bool open = false;
	rk_err rc;

	if ((where = selection_sql(db, a, "customer_id", sel)) == NULL)
		return (RK_EINVAL);
	if ((rc = load_zones(db, a, selection_sql(db, a, "id", sel), &zones,
	    &nzones)) != RK_OK)
		return (rc);
	/*
	 * No parallel workers for the scan (JIT is off for every session:
	 * db.c): the pool is the parallelism (one scan per profiler process,
	 * one per core), and a chunk whose id range straddles a histogram
	 * bound is estimated big enough for a Gather Merge of 2 workers -
	 * about 100 ms for a scan that takes 33 ms without them (EXPLAIN
	 * ANALYZE, 100,000 rows).
	 */
	if ((rc = db_exec(db, "SET LOCAL max_parallel_workers_per_gather = 0",
	    0, NULL, NULL)) != RK_OK)
		return (rc);
	/* spend in another currency in VND where a rate says how much
	 * (money.h); without one it stays as it was, and only the
	 * customer's own currency counts. The currency column is NULL for
	 * VND: a NULL is a flag in the row, where a text value costs a call
	 * of its output function - sending 'VND' in every row was 13 % of
	 * the scan's COPY time. */
	rc = db_copy_out_begin(db, arena_printf(a, "COPY (SELECT customer_id, "
	    "occurred_at, coalesce(v.vnd, amount_minor), CASE WHEN v.vnd IS "
	    "NULL THEN currency END, mcc, merchant_id, "
	    "merchant_name, ingested_at FROM transactions, LATERAL (SELECT "
	    VND_SQL("amount_minor", "currency", "occurred_at") " AS vnd) v "
	    "WHERE %s ORDER BY customer_id, occurred_at) TO STDOUT "
	    "(FORMAT binary)", where));
	if (rc != RK_OK)
		return (rc);
	for (;;) {
		struct profile_txn t;
		const char *buf, *m, *name;
		rk_err grc;
		int len, nf;

		if (rc != RK_OK) {
			/* Stop the server, then drain what it already sent. */
			(void)db_cancel(db);
			while (db_copy_get(db, &buf, &len) == RK_OK && len > 0)
				;
			break;
		}
		if ((grc = db_copy_get(db, &buf, &len)) != RK_OK) {
			rc = grc;
			break;
		}
		if (len == 0)
			break;
		if ((nf = copybin_parse(buf, (size_t)len, f, NSCAN)) == 0)
			continue;	/* the trailer */
		if (nf != NSCAN || f[0].len <= 0 || f[1].len != 8 ||
		    f[2].len != 8 || f[7].len != 8) {
			rc = RK_EPROTO;
			continue;
		}
		if (!open || (size_t)f[0].len != strlen(id) ||
		    memcmp(f[0].p, id, (size_t)f[0].len) != 0) {
			if (open && (rc = sink->end(sink->ctx)) != RK_OK)
				continue;
			if (f[0].len > PROFILER_MAX_ID) {
				rc = RK_EINVAL;
				continue;
			}
			field_str(&f[0], id, sizeof(id));
			currency_of(&f[3], currency, sizeof(currency));
			zone = RK_DEFAULT_TIME_ZONE;
			if (nzones > 0) {
				struct zone_of key = {id, NULL}, *hit;

				hit = bsearch(&key, zones, nzones, sizeof(*zones),
				    cmp_zone_of);
				if (hit != NULL)
					zone = hit->zone;
			}
			sink->begin(sink->ctx, id, currency);
			open = true;
		}
		t.at_us = copybin_get_timestamptz(&f[1]);
		t.amount_minor = copybin_get_int(&f[2], 0);
		t.in_currency = strcmp(currency_of(&f[3], cur, sizeof(cur)),
		    currency) == 0;
		t.category = refdata_category(ref, (int)copybin_get_int(&f[4], -1));
		m = field_str(&f[5], mid, sizeof(mid));
		name = field_str(&f[6], mname, sizeof(mname));
		t.partner = refdata_partner(ref, m, name);
		localtz_dow_hour(zone, t.at_us, &t.local_dow, &t.local_hour);
		t.ingested_us = copybin_get_timestamptz(&f[7]);
		t.promo = ref->npromos > 0 && refdata_promo(ref, t.at_us, m,
		    t.partner, t.category);
		sink->add(sink->ctx, &t);
	}
	if (rc == RK_OK && open)
		rc = sink->end(sink->ctx);
	return (rc);
}

/* A finished customer waiting for its batch to be scored. */
struct pending {
	char id[PROFILER_MAX_ID + 1];
	char currency[8];
	struct profile_result r;
	int64_t watermark_us;
};

struct writer {
	const struct refdata *ref;
	const struct profile_rules *rules;
	int64_t as_of_us, job_id;
	struct profile p;
	struct pending *batch;		/* SCORE_BATCH */
	int n;
	/* scratch, SCORE_BATCH each */
	struct churn_row *rows, *sub;
	double *risk, *subrisk;
	float *contrib;
	int *idx;
	copybin buf;
	int64_t written;
	int64_t score_us;		/* time spent scoring */
};

static void
put_text(copybin *b, const char *s)
{
	if (s == NULL)
		copybin_null(b);
	else
		copybin_text(b, s, strlen(s));
}

/* A share in [0, 1] as "0.1234" at p (6 bytes; NaN as 0): no printf per
 * value. */
static size_t
put_share(char *p, double v)
{
	long q = v > 0 ? lround((v > 1 ? 1 : v) * 10000) : 0;

	p[0] = q == 10000 ? '1' : '0';
	p[1] = '.';
	q %= 10000;
	for (int i = 5; i >= 2; i--, q /= 10)
		p[i] = (char)('0' + q % 10);
	return (6);
}

/* Appends the n bytes at s to buf at *len. */
static void
append(char *buf, size_t *len, const char *s, size_t n)
{
	memcpy(buf + *len, s, n);
	*len += n;
}

/* Top shares as a json array of {"key", "spend_share", "count_share"}
 * (keys are category names and partner ids: nothing to escape). */
static void
put_shares(copybin *b, char *const *names, const struct profile_share *sh,
    int n)
{
	static const char k1[] = ",{\"key\":\"", k2[] = "\",\"spend_share\":",
	    k3[] = ",\"count_share\":";
	char json[512];
	size_t len = 0;

	json[len++] = '[';
	for (int i = 0; i < n; i++) {
		const char *key = names[sh[i].index];
		size_t kl = strlen(key);

		if (len + kl + sizeof(k1) + sizeof(k2) + sizeof(k3) + 16 >
		    sizeof(json))
			break;
		/* k1 without its comma for the first element */
		append(json, &len, k1 + (i == 0), sizeof(k1) - 1 - (i == 0));
		append(json, &len, key, kl);
		append(json, &len, k2, sizeof(k2) - 1);
		len += put_share(json + len, sh[i].spend_share);
		append(json, &len, k3, sizeof(k3) - 1);
		len += put_share(json + len, sh[i].count_share);
		json[len++] = '}';
	}
	json[len++] = ']';
	copybin_text(b, json, len);
}

/* A value, or NULL where there is none. */
/* NaN is no value: NULL. */
static void
put_float_or_null(copybin *b, double v)
{
	if (isnan(v))
		copybin_null(b);
	else
		copybin_float8(b, v);
}

/* What put_profile works out before it writes the columns. */
struct derived {
	const char *btyd_model;		/* NULL: no BTYD model */
	double p_alive, expected_30d, expected_90d;	/* NaN: none */
	int rfm[3];			/* 0: no score */
	const char *segment;
	/* the churn reasons in each language; -1: unscored (NULL) */
	int nreasons[2];
	char reasons[2][CHURN_MAX_REASONS][REASON_LEN];
};

/* The reasons in lang, as text[] (NULL when the customer is unscored). */
static void
put_reasons(copybin *b, const struct derived *v, enum reason_lang lang)
{
	const char *rp[CHURN_MAX_REASONS];
	int n = v->nreasons[lang];

	if (n < 0) {
		copybin_null(b);
		return;
	}
	for (int i = 0; i < n; i++)
		rp[i] = v->reasons[lang][i];
	copybin_text_array(b, rp, n);
}

/* Appends one scored customer to the stage COPY (risk NaN: unscored). */
static void
put_profile(struct writer *w, const struct pending *pe, double risk,
    const float *contrib, const struct churn_row *row)
{
	const struct refdata *ref = w->ref;
	const struct profile_result *r = &pe->r;
	copybin *b = &w->buf;
	struct derived v;	/* not zeroed: its reasons are 1 KB a customer */

	v.btyd_model = NULL;
	v.p_alive = v.expected_30d = v.expected_90d = NAN;
	v.segment = NULL;
	if (ref->have_btyd && r->count > 0) {
		struct btyd_customer c = {r->btyd_x, r->btyd_t_x, r->btyd_T, 1};

		v.btyd_model = btyd_name(ref->btyd);
		if (ref->p_alive_ok)	/* else it ranks no one: not scored */
			v.p_alive = btyd_p_alive(ref->btyd, &ref->btyd_params, &c);
		v.expected_30d = btyd_expected(ref->btyd, &ref->btyd_params, &c,
		    30);
		v.expected_90d = btyd_expected(ref->btyd, &ref->btyd_params, &c,
		    90);
	}
	refdata_rfm(ref, r, v.rfm);
	if (v.rfm[0] > 0 || r->count == 0)
		v.segment = rfm_segment(v.rfm[0], v.rfm[1], r->state,
		    r->count > 0);
	for (int lang = REASON_EN; lang <= REASON_VI; lang++)
		v.nreasons[lang] = isnan(risk) ? -1 : contrib ? reasons_tell(
		    contrib, row, (enum reason_lang)lang, v.reasons[lang]) : 0;

	copybin_tuple(b, NCOLS);
	put_text(b, pe->id);
#define COL_PUT(name, put) put;
	PROFILE_COLS(COL_PUT)
#undef COL_PUT
	w->written++;
}

/*
 * Scores the batch with one model call (and a second, with per-feature
 * contributions, for the customers whose risk is worth explaining) and
 * appends it to the stage COPY.
 */
static void
score_batch(struct writer *w)
{
	const churn_model *m = w->ref->churn;
	int64_t t0 = clock_mono_us();
	int n = w->n, k = 0;

	for (int i = 0; i < n; i++) {
		const struct profile_result *r = &w->batch[i].r;

		churn_row_from(r, churn_tenure_days(r, w->as_of_us), &w->rows[i]);
		w->risk[i] = NAN;
	}
	if (m != NULL && n > 0 && churn_score(m, w->rows, n, w->risk, NULL) !=
	    RK_OK)
		for (int i = 0; i < n; i++)
			w->risk[i] = NAN;
	/* Explained rows move to the front of a scratch copy. */
	if (m != NULL) {
		for (int i = 0; i < n; i++)
			if (w->risk[i] >= REASON_MIN_RISK) {
				w->idx[k] = i;
				w->sub[k++] = w->rows[i];
			}
		if (k > 0 && churn_score(m, w->sub, k, w->subrisk, w->contrib) !=
		    RK_OK)
			k = 0;
	}
	for (int i = 0, j = 0; i < n; i++) {
		const struct pending *pe = &w->batch[i];
		const float *c = NULL;
		double risk = pe->r.count > 0 ? w->risk[i] : NAN;

		if (j < k && w->idx[j] == i)
			c = w->contrib + (size_t)j++ * CHURN_NFEAT;
		put_profile(w, pe, risk, c, &w->rows[i]);
	}
	w->n = 0;
	w->score_us += clock_mono_us() - t0;
}

static void
writer_begin(void *ctx, const char *id, const char *currency)
{
	struct writer *w = ctx;
	struct pending *pe = &w->batch[w->n];

	snprintf(pe->id, sizeof(pe->id), "%s", id);
	snprintf(pe->currency, sizeof(pe->currency), "%s", currency);
	profile_begin(&w->p, w->as_of_us, w->rules);
}

static void
writer_add(void *ctx, const struct profile_txn *t)
{
	profile_add(&((struct writer *)ctx)->p, t);
}

static rk_err
writer_end(void *ctx)
{
	struct writer *w = ctx;
	struct pending *pe = &w->batch[w->n];

	profile_finish(&w->p, &pe->r);
	pe->watermark_us = w->p.watermark_us;
	if (++w->n == SCORE_BATCH)
		score_batch(w);
	return (RK_OK);
}

/* The table a full run writes into. */
static const char *
run_table(arena *a, int64_t run_id)
{
	return (arena_printf(a, "customer_profiles_run_%lld", (long long)run_id));
}

/* Sends the staged rows to table (NULL: the session's stage table). */
static rk_err
stage(db_conn *db, arena *a, struct writer *w, const char *table)
{
	rk_err rc = RK_OK;

	if (table == NULL) {
		rc = db_exec(db, "CREATE TEMP TABLE IF NOT EXISTS profile_stage "
		    "(LIKE customer_profiles INCLUDING DEFAULTS)", 0, NULL, NULL);
		if (rc == RK_OK)
			rc = db_exec(db, "TRUNCATE profile_stage", 0, NULL, NULL);
		table = "profile_stage";
	}
	if (rc != RK_OK)
		return (rc);
	copybin_trailer(&w->buf);
	if ((rc = db_copy_begin(db, arena_printf(a, "COPY %s (%s) FROM STDIN "
	    "(FORMAT binary)", table, PROFILE_COL_LIST))) != RK_OK)
		return (rc);
	rc = db_copy_put(db, w->buf.buf, w->buf.len);
	if (rc == RK_OK)
		rc = db_copy_end(db, NULL);
	else
		(void)db_copy_end(db, NULL);
	return (rc);
}

/*
 * The columns the queries filter or join on - audiences (audience.c),
 * ListProfiles (profile_rpc.c), the swap's merge: the only ones ANALYZE
 * keeps statistics for. The others (the shares' JSON, the reasons'
 * arrays, the model's inputs) are read, never searched: analysing all
 * 47 columns took 0.8-0.9 s of the run's serial end at a million
 * customers, these 0.35-0.5 s.
 */
static const char *const searched_cols[] = {"customer_id", "txn_count",
    "state", "segment", "days_since_last", "churn_risk", "p_alive",
    "total_spend_minor", "top_category", "top_partner", "profiled_at",
    NULL};

/*
 * The statement INSERT INTO target SELECT .. FROM source ON CONFLICT:
 * each profile replaced only by one computed from no less data
 * (strictly: from more - the row already there keeps a tie). Two jobs re-profiling one customer
 * concurrently: the one that saw less data may commit last; it must not
 * win.
 */
static const char *
upsert_sql(arena *a, const char *target, const char *source, bool strictly)
{
	return (arena_printf(a, "INSERT INTO %s AS cp (" PROFILE_COL_LIST
	    ", profiled_at) SELECT " PROFILE_COL_LIST ", profiled_at FROM %s "
	    "ON CONFLICT (customer_id) DO UPDATE SET profiled_at = "
	    "EXCLUDED.profiled_at" PROFILE_COLS(COL_SET) " WHERE "
	    "cp.data_watermark IS NULL OR EXCLUDED.data_watermark %s "
	    "cp.data_watermark", target, source, strictly ? ">" : ">="));
}

rk_err
profiler_db_run_begin(db_conn *db, arena *a, int64_t run_id)
{
	static const char *const cols[] = {PROFILE_COLS(COL_NAME)};
	const char *t = run_table(a, run_id);
	db_res *r = NULL;
	char *stats;
	rk_err rc;

	rc = db_exec(db, "SELECT t.tablename FROM pg_tables t WHERE "
	    "t.schemaname = 'rekindle' AND t.tablename LIKE "
	    "'customer\\_profiles\\_run\\_%' AND NOT EXISTS (SELECT 1 FROM "
	    "profile_runs pr WHERE 'customer_profiles_run_' || pr.id = "
	    "t.tablename AND pr.state IN ('fitting', 'running', 'finalizing'))",
	    0, NULL, &r);
	for (int i = 0; rc == RK_OK && i < db_res_nrows(r); i++)
		rc = db_exec(db, arena_printf(a, "DROP TABLE IF EXISTS %s",
		    db_res_str(r, i, 0)), 0, NULL, NULL);
	if (r != NULL)
		db_res_free(r);
	/*
	 * Autovacuum leaves the table alone (PostgreSQL, "CREATE TABLE:
	 * Storage Parameters" and "Automatic Vacuuming"):
	 * - while the run fills it (autovacuum_enabled = false, reset at the
	 *   swap): the million inserts called for an automatic ANALYZE of
	 *   every column mid-run, which the swap's own ANALYZE of the
	 *   searched columns then waited on until PostgreSQL cancelled it a
	 *   deadlock_timeout later (bench-profile: "canceling autovacuum
	 *   task ... automatic analyze of table customer_profiles_run_1");
	 * - and for the rows the run inserted, ever
	 *   (autovacuum_vacuum_insert_threshold = -1; PostgreSQL 13+). A
	 *   vacuum triggered by inserts sets visibility bits and freezes rows
	 *   that would otherwise live long; these live until the next full
	 *   run replaces them. Left on, it scanned the table swapped in by
	 *   one run during the next, for nothing (that run drops it), and
	 *   held the swap's lock back the same way: run 2 swapped in 2.9 s
	 *   against run 1's 1.15 s.
	 * Vacuums for the dead rows of incremental updates still run, and
	 * so does the one against transaction-id wraparound.
	 */
	if (rc == RK_OK)
		rc = db_exec(db, arena_printf(a, "CREATE TABLE %s (LIKE "
		    "customer_profiles INCLUDING DEFAULTS INCLUDING CONSTRAINTS) "
		    "WITH (fillfactor = 70, autovacuum_enabled = false, "
		    "autovacuum_vacuum_insert_threshold = -1)", t), 0, NULL, NULL);
	/*
	 * The key from the start, filled by the chunks as they write. A
	 * chunk job run twice at once (its lease ran out while its first
	 * process still worked) cannot commit its profiles, and its count
	 * in chunks_done, a second time: the later writer meets the
	 * earlier's keys. Built at the swap instead, the key found such
	 * duplicates only at the end, failing the run, and took 1.1-1.3 s
	 * of the run's serial end (bench-profile, a million customers);
	 * filled as the chunks write, it costs the same CPU spread over the
	 * pool - the full run's time was unchanged (21.70 / 18.58 s against
	 * 21.55 / 18.68 s), the swap shorter (0.6 / 1.4 s against 1.6 /
	 * 2.3 s).
	 */
	if (rc == RK_OK)
		rc = db_exec(db, arena_printf(a, "ALTER TABLE %1$s ADD "
		    "CONSTRAINT %1$s_pkey PRIMARY KEY (customer_id)", t), 0,
		    NULL, NULL);
	/* statistics for the searched columns only (searched_cols); the
	 * table keeps the setting when it is swapped in */
	stats = arena_printf(a, "ALTER TABLE %s", t);
	for (size_t i = 0, n = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
		bool searched = false;

		for (int j = 0; searched_cols[j] != NULL; j++)
			searched |= strcmp(cols[i], searched_cols[j]) == 0;
		if (!searched)
			stats = arena_printf(a, "%s%s ALTER COLUMN %s SET "
			    "STATISTICS 0", stats, n++ ? "," : "", cols[i]);
	}
	if (rc == RK_OK)
		rc = db_exec(db, stats, 0, NULL, NULL);
	return (rc);
}

rk_err
profiler_db_run_swap(db_conn *db, arena *a, int64_t run_id,
    const char **timing)
{
	const char *t = run_table(a, run_id);
	/* each step's name and statement */
	const char *const steps[][2] = {
		{"statistics", arena_printf(a, "ANALYZE %s", t)},
		{"autovacuum", arena_printf(a, "ALTER TABLE %s RESET "
		    "(autovacuum_enabled)", t)},
		{"lock", "LOCK TABLE customer_profiles IN ACCESS EXCLUSIVE "
		    "MODE"},
		/*
		 * What incremental jobs wrote meanwhile. Nothing else of the
		 * old table is kept: the chunks' id ranges cover every id, so
		 * the run profiled every customer with a transaction at its
		 * chunk's snapshot, and transactions committed later were
		 * profiled by the incremental job their ingest enqueued -
		 * after the run began. (A profile of a customer with no
		 * transaction left describes nothing and is not carried
		 * over; an anti-join of the two tables to find such rows
		 * took 1.2 s at a million customers.)
		 */
		{"merge", upsert_sql(a, t, arena_printf(a, "customer_profiles o "
		    "WHERE o.profiled_at >= (SELECT started_at FROM "
		    "profile_runs WHERE id = %lld)", (long long)run_id), true)},
		{"drop", "DROP TABLE customer_profiles"},
		{"rename", arena_printf(a, "ALTER TABLE %s RENAME TO "
		    "customer_profiles", t)},
		{"rename key", arena_printf(a, "ALTER INDEX %s_pkey RENAME TO "
		    "customer_profiles_pkey", t)},
	};
	rk_err rc;

	*timing = "";
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		int64_t t0 = clock_mono_ms();

		if ((rc = db_exec(db, steps[i][1], 0, NULL, NULL)) != RK_OK)
			return (rc);
		*timing = arena_printf(a, "%s%s%s %lld ms", *timing, i ? ", " :
		    "", steps[i][0], (long long)(clock_mono_ms() - t0));
	}
	return (RK_OK);
}

rk_err
profiler_db_profile(db_conn *db, arena *a, const struct refdata *ref,
    const struct profile_rules *rules, const struct profile_selection *sel,
    int64_t as_of_us, int64_t job_id, int64_t *customers)
{
	struct writer w;
	struct scan_sink sink = {&w, writer_begin, writer_add, writer_end};
	int64_t t[4];
	rk_err rc = RK_OK;

	*customers = 0;
	memset(&w, 0, sizeof(w));
	w.ref = ref;
	w.as_of_us = as_of_us;
	w.job_id = job_id;
	w.rules = rules;
	w.batch = xcalloc(SCORE_BATCH, sizeof(*w.batch));
	w.rows = xcalloc(SCORE_BATCH, sizeof(*w.rows));
	w.sub = xcalloc(SCORE_BATCH, sizeof(*w.sub));
	w.risk = xcalloc(SCORE_BATCH, sizeof(*w.risk));
	w.subrisk = xcalloc(SCORE_BATCH, sizeof(*w.subrisk));
	w.contrib = xcalloc((size_t)SCORE_BATCH * CHURN_NFEAT, sizeof(float));
	w.idx = xcalloc(SCORE_BATCH, sizeof(*w.idx));
	copybin_init(&w.buf);
	copybin_header(&w.buf);
	if (sel->ids != NULL) {
		const char *params[1] = {db_text_array(a, sel->ids, sel->nids)};

		/* Customers seen in transactions before the card system sent
		 * them get a stub row: no contact data, no consent. */
		rc = db_execp(db, "profile_stub_customers",
		    "INSERT INTO customers (id, source) "
		    "SELECT unnest($1::text[]), 'transaction' "
		    "ON CONFLICT DO NOTHING", 1, params, NULL);
	}
	t[0] = clock_mono_us();
	if (rc == RK_OK)
		rc = profiler_db_scan(db, a, ref, sel, &sink);
	if (rc == RK_OK && w.n > 0)
		score_batch(&w);
	t[1] = clock_mono_us();
	if (rc == RK_OK && w.written > 0)
		rc = stage(db, a, &w, sel->run_id ? run_table(a, sel->run_id) :
		    NULL);
	t[2] = clock_mono_us();
	if (rc == RK_OK && w.written > 0 && sel->run_id == 0)
		rc = db_exec(db, upsert_sql(a, "customer_profiles",
		    "profile_stage", false), 0, NULL, NULL);
	t[3] = clock_mono_us();
	log_debug("PROFILE-STEPS", "job %lld: %lld profiles; scan %lld ms, "
	    "scoring %lld ms, stage %lld ms, merge %lld ms", (long long)job_id,
	    (long long)w.written, (long long)(t[1] - t[0] - w.score_us) / 1000,
	    (long long)w.score_us / 1000, (long long)(t[2] - t[1]) / 1000,
	    (long long)(t[3] - t[2]) / 1000);
	profile_fini(&w.p);
	copybin_fini(&w.buf);
	free(w.batch);
	free(w.rows);
	free(w.sub);
	free(w.risk);
	free(w.subrisk);
	free(w.contrib);
	free(w.idx);
	*customers = w.written;
	return (rc);
}

rk_err
profiler_db_progress(db_conn *db, double *ratio, int64_t *running)
{
	db_res *r;
	rk_err rc;

	rc = db_execp(db, "profile_progress", "SELECT coalesce((SELECT CASE "
	    "WHEN state = 'done' OR customers_total = 0 THEN 1 ELSE "
	    "customers_done::float8 / customers_total END FROM profile_runs "
	    "ORDER BY id DESC LIMIT 1), 1)::float8, (SELECT count(*) FROM "
	    "profile_runs WHERE state IN ('running', 'finalizing'))", 0, NULL,
	    &r);
	if (rc != RK_OK)
		return (rc);
	*ratio = db_res_double(r, 0, 0);
	*running = db_res_int64(r, 0, 1);
	db_res_free(r);
	return (RK_OK);
}

/* A run's life in profile_runs and model_fits (fit.c, profiler.c). */

rk_err
profiler_db_run_lock(db_conn *db, int64_t run_id, bool *fitting)
{
	char rid[24];
	const char *p[1] = {rid};
	db_res *r;
	rk_err rc;

	snprintf(rid, sizeof(rid), "%lld", (long long)run_id);
	if ((rc = db_exec(db, "SELECT state = 'fitting' FROM profile_runs "
	    "WHERE id = $1 FOR UPDATE", 1, p, &r)) != RK_OK)
		return (rc);
	*fitting = db_res_nrows(r) == 1 && db_res_bool(r, 0, 0);
	db_res_free(r);
	return (RK_OK);
}

rk_err
profiler_db_fit_store(db_conn *db, int64_t run_id, int64_t as_of_us,
    const char *model, const char *params, double log_likelihood,
    int64_t customers)
{
	char rid[24], as_of[40], ll[32], n[24];
	const char *p[6] = {model, params, isnan(log_likelihood) ? NULL : ll,
	    n, as_of, rid};
	time_t sec = (time_t)(as_of_us / 1000000);
	struct tm tm;

	snprintf(rid, sizeof(rid), "%lld", (long long)run_id);
	gmtime_r(&sec, &tm);
	strftime(as_of, sizeof(as_of), "%Y-%m-%d %H:%M:%S+00", &tm);
	snprintf(ll, sizeof(ll), "%.6f", log_likelihood);
	snprintf(n, sizeof(n), "%lld", (long long)customers);
	return (db_exec(db, "INSERT INTO model_fits (model, params, "
	    "log_likelihood, customers, as_of, run_id) VALUES ($1, $2, $3, $4, "
	    "$5, $6)", 6, p, NULL));
}

/* The ids a query returns (its first column), NULL-terminated in a. */
static rk_err
id_list(db_conn *db, arena *a, const char *sql, int np,
    const char *const *p, const char ***ids, int *n)
{
	db_res *r;
	rk_err rc;

	if ((rc = db_exec(db, sql, np, p, &r)) != RK_OK)
		return (rc);
	*n = db_res_nrows(r);
	*ids = arena_alloc(a, sizeof(**ids) * (size_t)(*n + 1));
	for (int i = 0; i < *n; i++)
		(*ids)[i] = arena_strdup(a, db_res_str(r, i, 0));
	(*ids)[*n] = NULL;
	db_res_free(r);
	return (RK_OK);
}

rk_err
profiler_db_sample_ids(db_conn *db, arena *a, int n, uint64_t start,
    const char ***ids, int *got)
{
	char lim[16], from[24];
	const char *p[2] = {lim, from};

	snprintf(lim, sizeof(lim), "%d", n);
	snprintf(from, sizeof(from), "%llu", (unsigned long long)start);
	return (id_list(db, a, "WITH w AS (SELECT least(4294967296.0 * $1::int "
	    "/ greatest(count(*), 1), 4294967296.0)::int8 AS w FROM customers) "
	    "SELECT id FROM customers, w WHERE (sample_key >= $2::int8 AND "
	    "sample_key < $2::int8 + w.w) OR sample_key < $2::int8 + w.w - "
	    "4294967296", 2, p, ids, got));
}

rk_err
profiler_db_chunk_starts(db_conn *db, arena *a, int chunk,
    const char ***starts, int *n)
{
	char sz[16];
	const char *p[1] = {sz};

	snprintf(sz, sizeof(sz), "%d", chunk);
	return (id_list(db, a, "SELECT id FROM (SELECT id, row_number() OVER "
	    "(ORDER BY id) - 1 AS rn FROM customers) s "
	    "WHERE rn % $1::int = 0 AND rn > 0 ORDER BY id", 1, p, starts, n));
}

rk_err
profiler_db_run_running(db_conn *db, int64_t run_id, int64_t chunks)
{
	char rid[24], n[24];
	const char *p[2] = {rid, n};

	snprintf(rid, sizeof(rid), "%lld", (long long)run_id);
	snprintf(n, sizeof(n), "%lld", (long long)chunks);
	return (db_exec(db, "UPDATE profile_runs SET state = 'running', "
	    "chunks_total = $2, updated_at = now() WHERE id = $1", 2, p, NULL));
}

rk_err
profiler_db_chunk_done(db_conn *db, int64_t run_id, int64_t customers,
    bool *last)
{
	char rid[24], n[24];
	const char *p[2] = {rid, n};
	db_res *r;
	rk_err rc;

	snprintf(rid, sizeof(rid), "%lld", (long long)run_id);
	snprintf(n, sizeof(n), "%lld", (long long)customers);
	rc = db_exec(db, "UPDATE profile_runs SET chunks_done = chunks_done + 1, "
	    "customers_done = customers_done + $2, updated_at = now(), "
	    "state = CASE WHEN chunks_done + 1 = chunks_total THEN 'done' "
	    " ELSE state END "
	    "WHERE id = $1 RETURNING chunks_done = chunks_total", 2, p, &r);
	if (rc != RK_OK)
		return (rc);
	*last = db_res_nrows(r) == 1 && db_res_bool(r, 0, 0);
	db_res_free(r);
	return (RK_OK);
}

rk_err
profiler_db_run_finished(db_conn *db, int64_t run_id, double *seconds)
{
	char rid[24];
	const char *p[1] = {rid};
	db_res *r;
	rk_err rc;

	snprintf(rid, sizeof(rid), "%lld", (long long)run_id);
	if ((rc = db_exec(db, "UPDATE profile_runs SET finished_at = "
	    "clock_timestamp(), updated_at = clock_timestamp() WHERE id = $1 "
	    "RETURNING extract(epoch FROM finished_at - started_at)::float8",
	    1, p, &r)) != RK_OK)
		return (rc);
	*seconds = db_res_nrows(r) == 1 ? db_res_double(r, 0, 0) : 0;
	db_res_free(r);
	return (RK_OK);
}
