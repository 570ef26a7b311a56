/*
 * profiler_db.c - profile SQL.
 */
#include <stdio.h>

#include "profiler_db.h"

rk_err
profiler_db_basic(db_conn *db, arena *a, const char *const *ids, size_t n,
    int64_t job_id, int64_t *rows)
{
	char jid[24];
	const char *p[2];
	db_res *r;
	rk_err rc;

	snprintf(jid, sizeof(jid), "%lld", (long long)job_id);
	p[0] = db_text_array(a, ids, n);
	p[1] = jid;
	/* Customers seen in transactions before the card system sent them. */
	rc = db_execp(db, "profile_stub_customers",
	    "INSERT INTO customers (id, source) "
	    "SELECT unnest($1::text[]), 'transaction' ON CONFLICT DO NOTHING",
	    1, p, NULL);
	if (rc != RK_OK)
		return (rc);
	/* Main currency = the one with the most spend; totals in it. */
	rc = db_execp(db, "profile_basic",
	    "INSERT INTO customer_profiles AS cp (customer_id, first_txn_at, "
	    " last_txn_at, txn_count, total_spend_minor, currency, profiled_at, "
	    " job_id) "
	    "SELECT t.customer_id, min(t.occurred_at), max(t.occurred_at), "
	    " count(*), coalesce(sum(t.amount_minor) FILTER (WHERE t.currency = "
	    "  m.currency), 0), m.currency, now(), $2::bigint "
	    "FROM transactions t "
	    "JOIN LATERAL (SELECT currency FROM transactions x "
	    " WHERE x.customer_id = t.customer_id GROUP BY currency "
	    " ORDER BY sum(abs(amount_minor)) DESC, currency LIMIT 1) m ON true "
	    "WHERE t.customer_id = ANY($1::text[]) "
	    "GROUP BY t.customer_id, m.currency "
	    "ON CONFLICT (customer_id) DO UPDATE SET "
	    " first_txn_at = EXCLUDED.first_txn_at, "
	    " last_txn_at = EXCLUDED.last_txn_at, txn_count = EXCLUDED.txn_count, "
	    " total_spend_minor = EXCLUDED.total_spend_minor, "
	    " currency = EXCLUDED.currency, profiled_at = now(), "
	    " job_id = EXCLUDED.job_id", 2, p, &r);
	if (rc != RK_OK)
		return (rc);
	*rows = db_res_affected(r);
	db_res_free(r);
	return (RK_OK);
}
