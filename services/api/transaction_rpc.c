/*
 * transaction_rpc.c - ListTransactions: one customer's card transactions,
 * newest first, optionally within [occurred_after, occurred_before).
 *
 * PAGING
 *	Keyset over (occurred_at, txn_id) descending, read along the
 *	(customer_id, occurred_at) index; the token is "<microseconds since
 *	the epoch>.<last transaction id>", so a page never repeats or skips a
 *	row however many arrive meanwhile.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "customer_rpc.h"
#include "pbtime.h"
#include "rekindle/v1/customer.pb-c.h"
#include "validate.h"

/* Splits a page token into its time and id; false if malformed. */
static bool
parse_token(arena *a, const char *tok, const char **us, const char **id)
{
	const char *dot = strchr(tok, '.');
	size_t nd = dot ? (size_t)(dot - tok) : 0;

	if (dot == NULL || nd == 0 || nd > 19 || validate_id(dot + 1) != NULL)
		return (false);
	for (size_t i = 0; i < nd; i++)
		if ((tok[i] < '0' || tok[i] > '9') && !(i == 0 && tok[i] == '-'))
			return (false);
	*us = arena_printf(a, "%.*s", (int)nd, tok);
	*id = dot + 1;
	return (true);
}

static bool
bad_time(const Google__Protobuf__Timestamp *t)
{
	return (t != NULL && (t->nanos < 0 || t->nanos > 999999999));
}

static rk_err
list_transactions(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	const Rekindle__V1__ListTransactionsRequest *r = (const void *)req;
	Rekindle__V1__ListTransactionsResponse *out;
	int size = r->page_size <= 0 ? 100 : r->page_size > 1000 ? 1000 :
	    r->page_size;
	const char *p[6] = {NULL}, *why, *tus = NULL, *tid = NULL;
	char lim[16], lo[24], hi[24];
	arena *a = rpc_arena(c);
	db_res *res;
	rk_err rc;
	int n;

	if ((why = validate_id(r->customer_id)) != NULL)
		rpc_bad_field(c, "customer_id", "%s", why);
	if (r->page_size < 0)
		rpc_bad_field(c, "page_size", "must be >= 0");
	if (r->page_token && *r->page_token && !parse_token(a, r->page_token,
	    &tus, &tid))
		rpc_bad_field(c, "page_token", "is not a token this server "
		    "issued");
	if (bad_time(r->occurred_after))
		rpc_bad_field(c, "occurred_after", "is not a valid time");
	if (bad_time(r->occurred_before))
		rpc_bad_field(c, "occurred_before", "is not a valid time");
	if (r->occurred_after && r->occurred_before &&
	    pbtime_us(r->occurred_after) >= pbtime_us(r->occurred_before))
		rpc_bad_field(c, "occurred_before", "must be after "
		    "occurred_after");
	if ((rc = rpc_fields_ok(c)) != RK_OK)
		return (rc);
	snprintf(lim, sizeof(lim), "%d", size + 1);
	p[0] = r->customer_id;
	p[1] = lim;
	if (r->occurred_after) {
		snprintf(lo, sizeof(lo), "%lld",
		    (long long)pbtime_us(r->occurred_after));
		p[2] = lo;
	}
	if (r->occurred_before) {
		snprintf(hi, sizeof(hi), "%lld",
		    (long long)pbtime_us(r->occurred_before));
		p[3] = hi;
	}
	p[4] = tus;
	p[5] = tid;
	/* The customer row says NOT_FOUND apart from "no transactions". */
	rc = db_execp(rpc_read_db(c), "txn_list", "SELECT t.txn_id, "
	    PBTIME_US("t.occurred_at") ", t.amount_minor, t.currency, t.mcc, "
	    " t.merchant_id, t.merchant_name, t.channel "
	    "FROM customers cu LEFT JOIN LATERAL (SELECT * FROM transactions x "
	    " WHERE x.customer_id = cu.id "
	    " AND ($3::bigint IS NULL OR x.occurred_at >= " PBTIME_SQL(3) ") "
	    " AND ($4::bigint IS NULL OR x.occurred_at < " PBTIME_SQL(4) ") "
	    " AND ($5::bigint IS NULL OR (x.occurred_at, x.txn_id) < ("
	    PBTIME_SQL(5) ", $6::text)) "
	    " ORDER BY x.occurred_at DESC, x.txn_id DESC LIMIT $2) t ON true "
	    "WHERE cu.id = $1", 6, p, &res);
	if (rc != RK_OK)
		return (rc);
	if ((n = db_res_nrows(res)) == 0) {
		db_res_free(res);
		return (rpc_error(c, RK_ENOTFOUND, "customer not found"));
	}
	if (db_res_isnull(res, 0, 0))
		n = 0;			/* the customer, no transactions */
	out = arena_alloc(a, sizeof(*out));
	rekindle__v1__list_transactions_response__init(out);
	out->n_transactions = (size_t)(n > size ? size : n);
	out->transactions = arena_alloc(a, sizeof(void *) *
	    (out->n_transactions + 1));
	for (size_t i = 0; i < out->n_transactions; i++) {
		Rekindle__V1__Transaction *t = arena_alloc(a, sizeof(*t));
		int row = (int)i;

		rekindle__v1__transaction__init(t);
		t->transaction_id = arena_strdup(a, db_res_str(res, row, 0));
		t->customer_id = arena_strdup(a, r->customer_id);
		t->occurred_at = pbtime_new(a, db_res_int64(res, row, 1));
		t->amount_minor = db_res_int64(res, row, 2);
		t->currency = arena_strdup(a, db_res_str(res, row, 3));
		t->mcc = db_res_isnull(res, row, 4) ? 0 :
		    (int32_t)db_res_int64(res, row, 4);
		t->merchant_id = arena_strdup(a, db_res_isnull(res, row, 5) ? "" :
		    db_res_str(res, row, 5));
		t->merchant_name = arena_strdup(a, db_res_isnull(res, row, 6) ?
		    "" : db_res_str(res, row, 6));
		t->channel = arena_strdup(a, db_res_isnull(res, row, 7) ? "" :
		    db_res_str(res, row, 7));
		out->transactions[i] = t;
	}
	out->next_page_token = n > size ? arena_printf(a, "%lld.%s",
	    (long long)db_res_int64(res, size - 1, 1),
	    out->transactions[size - 1]->transaction_id) : "";
	db_res_free(res);
	*resp = &out->base;
	return (RK_OK);
}

const struct rpc_handler transaction_handlers[] = {
	{.path = "/rekindle.v1.CustomerService/ListTransactions",
	    .unary = list_transactions},
	{.path = NULL},
};
