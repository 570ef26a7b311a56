/*
 * profiler_db.c - profile SQL.
 *
 * CONCURRENCY
 *	Two profilers may re-profile one customer at once, each from its own
 *	snapshot. Each profile carries the newest ingested_at it saw, and the
 *	upsert only replaces a profile computed from no more data, so the
 *	profile computed from the most data wins whatever the commit order.
 */
#include <stdio.h>
#include <string.h>

#include "btyd.h"
#include "churn.h"
#include "copybin.h"
#include "mem.h"
#include "profiler_db.h"

#define FETCH_ROWS "20000"
#define DAY_US INT64_C(86400000000)
#define NCOLS 46

/*
 * The scan: one customer's transactions after another, in time order,
 * with local weekday and hour in the customer's zone. The caller appends
 * WHERE and ORDER BY.
 */
#define SCAN_SQL                                                          \
	"DECLARE scan NO SCROLL CURSOR FOR "                                  \
	"SELECT t.customer_id, (extract(epoch from t.occurred_at) * 1e6)::int8, " \
	" t.amount_minor, t.currency, coalesce(t.mcc, -1), t.merchant_id, "   \
	" t.merchant_name, "                                                  \
	" extract(isodow from t.occurred_at AT TIME ZONE c.time_zone)::int, " \
	" extract(hour from t.occurred_at AT TIME ZONE c.time_zone)::int, "   \
	" (extract(epoch from t.ingested_at) * 1e6)::int8 "                   \
	"FROM transactions t JOIN customers c ON c.id = t.customer_id "

/* Columns of the stage table, in COPY order. */
static const char profile_cols[] =
    "customer_id, as_of, first_txn_at, last_txn_at, txn_count, "
    "total_spend_minor, currency, purchase_days, count_30d, spend_30d, "
    "count_90d, spend_90d, count_180d, spend_180d, count_365d, spend_365d, "
    "avg_ticket_minor, median_gap_days, p90_gap_days, overdue_ratio, "
    "days_since_last, top_categories, top_partners, top_category, "
    "top_partner, weekend_spend_share, peak_hour, promo_spend_share, "
    "spend_trend, state, state_since, btyd_x, btyd_t_x, btyd_T, btyd_model, "
    "p_alive, expected_30d, expected_90d, recency_score, frequency_score, "
    "monetary_score, segment, job_id, churn_risk, churn_reasons, "
    "data_watermark";

struct writer {
	copybin buf;
	int64_t rows;
	char currency[8];
	/* Full runs: churn samples at two past cut-offs. */
	int64_t run_id;
	copybin samples;
	struct profile cut[2];
	bool bought_after[2];		/* a purchase in the 90 days after */
	int64_t cut_us[2];
};

static void
put_text(copybin *b, const char *s)
{
	if (s == NULL)
		copybin_null(b);
	else
		copybin_text(b, s, strlen(s));
}

static void
put_shares(copybin *b, char *const *names, const struct profile_share *sh,
    int n)
{
	char json[512];
	size_t len = 1;

	json[0] = '[';
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(json + len, sizeof(json) - len,
		    "%s{\"key\":\"%s\",\"spend_share\":%.4f,\"count_share\":%.4f}",
		    i ? "," : "", names[sh[i].index], sh[i].spend_share,
		    sh[i].count_share);
	json[len++] = ']';
	copybin_jsonb(b, json, len);
}

/* Appends one finished customer to the stage COPY. */
static void
write_profile(struct writer *w, const struct refdata *ref, const char *id,
    struct profile *p, int64_t job_id)
{
	struct profile_result r;
	copybin *b = &w->buf;
	int rfm[3];

	profile_finish(p, &r);
	copybin_tuple(b, NCOLS);
	put_text(b, id);
	copybin_timestamptz(b, p->as_of_us);
	if (r.count > 0) {
		copybin_timestamptz(b, r.first_us);
		copybin_timestamptz(b, r.last_us);
	} else {
		copybin_null(b);
		copybin_null(b);
	}
	copybin_int64(b, r.count);
	copybin_int64(b, r.spend);
	put_text(b, w->currency);
	copybin_int64(b, r.purchase_days);
	for (int i = 0; i < 4; i++) {
		copybin_int64(b, r.win[i].count);
		copybin_int64(b, r.win[i].spend_minor);
	}
	copybin_float8(b, r.avg_ticket_minor);
	copybin_float8(b, r.median_gap_days);
	copybin_float8(b, r.p90_gap_days);
	copybin_float8(b, r.overdue_ratio);
	copybin_int32(b, r.days_since_last);
	put_shares(b, ref->category, r.top_categories, r.ntop_categories);
	put_shares(b, ref->partner, r.top_partners, r.ntop_partners);
	put_text(b, r.ntop_categories ? ref->category[r.top_categories[0].index] :
	    NULL);
	put_text(b, r.ntop_partners ? ref->partner[r.top_partners[0].index] :
	    NULL);
	copybin_float8(b, r.weekend_spend_share);
	if (r.peak_hour >= 0)
		copybin_int16(b, (int16_t)r.peak_hour);
	else
		copybin_null(b);
	copybin_float8(b, r.promo_spend_share);
	copybin_float8(b, r.spend_trend);
	put_text(b, profile_state_name(r.state));
	copybin_timestamptz(b, r.state_since_us);
	copybin_float8(b, r.btyd_x);
	copybin_float8(b, r.btyd_t_x);
	copybin_float8(b, r.btyd_T);
	if (ref->have_btyd && r.count > 0) {
		struct btyd_customer c = {r.btyd_x, r.btyd_t_x, r.btyd_T, 1};

		put_text(b, btyd_name(ref->btyd));
		copybin_float8(b, btyd_p_alive(ref->btyd, &ref->btyd_params, &c));
		copybin_float8(b, btyd_expected(ref->btyd, &ref->btyd_params, &c,
		    30));
		copybin_float8(b, btyd_expected(ref->btyd, &ref->btyd_params, &c,
		    90));
	} else {
		for (int i = 0; i < 4; i++)
			copybin_null(b);
	}
	refdata_rfm(ref, r.days_since_last, (double)r.win[3].count,
	    (double)r.win[3].spend_minor, rfm);
	for (int i = 0; i < 3; i++) {
		if (rfm[i] > 0)
			copybin_int16(b, (int16_t)rfm[i]);
		else
			copybin_null(b);
	}
	put_text(b, refdata_segment(rfm[0], rfm[1]));
	copybin_int64(b, job_id);
	/* Full runs are rescored by their finalize step with the new model. */
	if (ref->churn != NULL && r.count > 0 && w->run_id == 0) {
		struct churn_row row;
		float contrib[CHURN_NFEAT];
		char reasons[CHURN_MAX_REASONS][128];
		const char *rp[CHURN_MAX_REASONS];
		double risk = 0;
		int nr = 0;

		churn_row_from(&r, churn_tenure_days(&r, p->as_of_us), &row);
		if (churn_score(ref->churn, &row, 1, &risk, contrib) == RK_OK)
			nr = churn_reasons_from(contrib, &row, reasons);
		for (int i = 0; i < nr; i++)
			rp[i] = reasons[i];
		copybin_float8(b, risk);
		copybin_text_array(b, rp, nr);
	} else {
		copybin_null(b);
		copybin_null(b);
	}
	copybin_timestamptz(b, p->watermark_us);
	w->rows++;
}

static void write_profile(struct writer *w, const struct refdata *ref,
    const char *id, struct profile *p, int64_t job_id);

/* Appends the customer's churn samples (full runs). */
static void
write_samples(struct writer *w, const char *id)
{
	for (int k = 0; k < 2; k++) {
		struct profile_result r;
		struct churn_row row;
		copybin *b = &w->samples;

		if (w->cut[k].count == 0)
			continue;	/* no purchase before the cut-off */
		profile_finish(&w->cut[k], &r);
		churn_row_from(&r, churn_tenure_days(&r, w->cut_us[k]), &row);
		copybin_tuple(b, 11);
		copybin_int64(b, w->run_id);
		copybin_text(b, id, strlen(id));
		copybin_int16(b, (int16_t)(k + 1));
		copybin_bool(b, !w->bought_after[k]);
		copybin_float4_array(b, row.x, CHURN_NFEAT);
		copybin_int32(b, row.days_since);
		copybin_float8(b, row.median_gap);
		copybin_float8(b, row.overdue);
		copybin_float8(b, row.trend);
		copybin_int64(b, row.count90);
		copybin_int64(b, row.count365);
	}
}

static void
finish_customer(struct writer *w, const struct refdata *ref, const char *id,
    struct profile *p, int64_t job_id)
{
	write_profile(w, ref, id, p, job_id);
	if (w->run_id != 0)
		write_samples(w, id);
}

/* Sends the staged rows to the stage table. */
static rk_err
flush(db_conn *db, struct writer *w)
{
	char sql[1200];
	rk_err rc;

	if (w->buf.len == 0)
		return (RK_OK);
	copybin_trailer(&w->buf);
	snprintf(sql, sizeof(sql), "COPY profile_stage (%s) FROM STDIN "
	    "(FORMAT binary)", profile_cols);
	if ((rc = db_copy_begin(db, sql)) == RK_OK) {
		rc = db_copy_put(db, w->buf.buf, w->buf.len);
		if (rc == RK_OK)
			rc = db_copy_end(db, NULL);
		else
			(void)db_copy_end(db, NULL);
	}
	copybin_reset(&w->buf);
	if (rc == RK_OK && w->run_id != 0) {
		copybin_trailer(&w->samples);
		if ((rc = db_copy_begin(db, "COPY churn_samples (run_id, "
		    "customer_id, cutoff, churned, x, days_since, median_gap, "
		    "overdue, trend, count90, count365) FROM STDIN "
		    "(FORMAT binary)")) == RK_OK) {
			rc = db_copy_put(db, w->samples.buf, w->samples.len);
			if (rc == RK_OK)
				rc = db_copy_end(db, NULL);
			else
				(void)db_copy_end(db, NULL);
		}
		copybin_reset(&w->samples);
	}
	return (rc);
}

static rk_err
begin_stage(db_conn *db)
{
	rk_err rc = db_exec(db, "CREATE TEMP TABLE IF NOT EXISTS profile_stage "
	    "(LIKE customer_profiles INCLUDING DEFAULTS)", 0, NULL, NULL);

	if (rc == RK_OK)
		rc = db_exec(db, "TRUNCATE profile_stage", 0, NULL, NULL);
	return (rc);
}

/* Upserts the stage into customer_profiles. */
static rk_err
merge_stage(db_conn *db)
{
	char sql[4096];
	size_t n;
	const char *p;

	n = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO customer_profiles AS "
	    "cp (%s) SELECT %s FROM profile_stage ON CONFLICT (customer_id) DO "
	    "UPDATE SET profiled_at = now()", profile_cols, profile_cols);
	/* SET col = EXCLUDED.col for every column but the key. */
	for (p = strchr(profile_cols, ',') + 2; *p != '\0';) {
		size_t len = strcspn(p, ",");

		n += (size_t)snprintf(sql + n, sizeof(sql) - n,
		    ", %.*s = EXCLUDED.%.*s", (int)len, p, (int)len, p);
		p += len;
		while (*p == ',' || *p == ' ')
			p++;
	}
	/* Two jobs re-profiling one customer concurrently: the one that saw
	 * less data may commit last; it must not win. */
	snprintf(sql + n, sizeof(sql) - n, " WHERE cp.data_watermark IS NULL OR "
	    "EXCLUDED.data_watermark >= cp.data_watermark");
	return (db_exec(db, sql, 0, NULL, NULL));
}

rk_err
profiler_db_profile(db_conn *db, arena *a, const struct refdata *ref,
    const struct profile_rules *rules, const struct profile_selection *sel,
    int64_t as_of_us, int64_t job_id, int64_t *customers)
{
	struct writer w;
	struct profile p;
	char cur_id[80] = "";
	bool open_customer = false;
	const char *params[2];
	rk_err rc;

	*customers = 0;
	memset(&w, 0, sizeof(w));
	memset(&p, 0, sizeof(p));
	copybin_init(&w.buf);
	w.run_id = sel->run_id;
	if (sel->ids != NULL) {
		params[0] = db_text_array(a, sel->ids, sel->nids);
		/* Customers seen in transactions before the card system sent
		 * them get a stub row: no contact data, no consent. */
		rc = db_execp(db, "profile_stub_customers",
		    "INSERT INTO customers (id, source) "
		    "SELECT unnest($1::text[]), 'transaction' "
		    "ON CONFLICT DO NOTHING", 1, params, NULL);
		if (rc == RK_OK)
			rc = db_exec(db, SCAN_SQL
			    "WHERE t.customer_id = ANY($1::text[]) "
			    "ORDER BY t.customer_id, t.occurred_at", 1, params, NULL);
	} else {
		params[0] = sel->lo;
		params[1] = sel->hi;
		rc = db_exec(db, SCAN_SQL
		    "WHERE t.customer_id >= $1 AND ($2::text IS NULL OR "
		    " t.customer_id < $2) "
		    "ORDER BY t.customer_id, t.occurred_at", 2, params, NULL);
	}
	if (rc == RK_OK)
		rc = begin_stage(db);
	copybin_header(&w.buf);
	if (w.run_id != 0) {
		copybin_init(&w.samples);
		copybin_header(&w.samples);
		w.cut_us[0] = as_of_us - 2 * CHURN_HORIZON_DAYS * DAY_US;
		w.cut_us[1] = as_of_us - CHURN_HORIZON_DAYS * DAY_US;
	}
	while (rc == RK_OK) {
		db_res *res;
		int n;

		if ((rc = db_exec(db, "FETCH FORWARD " FETCH_ROWS " FROM scan", 0,
		    NULL, &res)) != RK_OK)
			break;
		n = db_res_nrows(res);
		for (int i = 0; i < n; i++) {
			const char *id = db_res_str(res, i, 0);
			const char *mid = db_res_str(res, i, 5);
			struct profile_txn t;

			if (!open_customer || strcmp(id, cur_id) != 0) {
				if (open_customer)
					finish_customer(&w, ref, cur_id, &p, job_id);
				snprintf(cur_id, sizeof(cur_id), "%s", id);
				snprintf(w.currency, sizeof(w.currency), "%s",
				    db_res_str(res, i, 3));
				profile_begin(&p, as_of_us, rules);
				for (int k = 0; w.run_id && k < 2; k++) {
					profile_begin(&w.cut[k], w.cut_us[k], rules);
					w.bought_after[k] = false;
				}
				open_customer = true;
			}
			t.at_us = db_res_int64(res, i, 1);
			t.amount_minor = db_res_int64(res, i, 2);
			t.in_currency = strcmp(db_res_str(res, i, 3),
			    w.currency) == 0;
			t.category = refdata_category(ref,
			    (int)db_res_int64(res, i, 4));
			t.partner = refdata_partner(ref, mid,
			    db_res_str(res, i, 6));
			t.local_dow = (int)db_res_int64(res, i, 7);
			t.local_hour = (int)db_res_int64(res, i, 8);
			t.ingested_us = db_res_int64(res, i, 9);
			t.promo = ref->npromos > 0 && refdata_promo(ref, t.at_us,
			    mid, t.partner, t.category);
			profile_add(&p, &t);
			for (int k = 0; w.run_id && k < 2; k++) {
				profile_add(&w.cut[k], &t);
				if (t.amount_minor > 0 && t.at_us > w.cut_us[k] &&
				    t.at_us <= w.cut_us[k] + CHURN_HORIZON_DAYS *
				    DAY_US && t.at_us <= as_of_us)
					w.bought_after[k] = true;
			}
		}
		db_res_free(res);
		if (n == 0)
			break;
		/* Keep memory bounded: ship what is finished. */
		if (w.buf.len > (1u << 22)) {
			if ((rc = flush(db, &w)) != RK_OK)
				break;
			copybin_header(&w.buf);
			copybin_header(&w.samples);
		}
	}
	if (rc == RK_OK && open_customer)
		finish_customer(&w, ref, cur_id, &p, job_id);
	if (rc == RK_OK)
		rc = flush(db, &w);
	if (rc == RK_OK)
		rc = db_exec(db, "CLOSE scan", 0, NULL, NULL);
	if (rc == RK_OK && w.rows > 0)
		rc = merge_stage(db);
	profile_fini(&p);
	profile_fini(&w.cut[0]);
	profile_fini(&w.cut[1]);
	copybin_fini(&w.buf);
	copybin_fini(&w.samples);
	*customers = w.rows;
	return (rc);
}
