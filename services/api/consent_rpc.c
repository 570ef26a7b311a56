/*
 * consent_rpc.c - ListConsentEvents: one customer's consent ledger
 * (migration 019), oldest first, as the law asks it be reproducible:
 * every grant and withdrawal with its time, source, evidence and who
 * recorded it. The events are written by rekindle.record_consent, from
 * UpsertCustomers, UpdateConsent and the unsubscribe link.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "customer_rpc.h"
#include "pbtime.h"
#include "rekindle/v1/customer.pb-c.h"
#include "validate.h"

static rk_err
list_consent_events(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	const Rekindle__V1__ListConsentEventsRequest *r = (const void *)req;
	Rekindle__V1__ListConsentEventsResponse *out;
	arena *a = rpc_arena(c);
	int size = r->page_size > 0 ? r->page_size : 100, n;
	long long after;
	const char *p[5], *why;
	db_res *res;
	rk_err rc;

	if ((why = validate_id(r->customer_id)) != NULL)
		rpc_bad_field(c, "customer_id", "%s", why);
	if (r->page_size < 0 || r->page_size > 1000)
		rpc_bad_field(c, "page_size", "must be 1..1000");
	if ((int)r->channel < 0 || (int)r->channel > 5)
		rpc_bad_field(c, "channel", "is not a channel");
	if ((int)r->purpose < 0 || (int)r->purpose > 3)
		rpc_bad_field(c, "purpose", "is not a purpose");
	if (!validate_page_id(r->page_token, "ce.", &after))
		rpc_bad_field(c, "page_token", "is not a token this server issued");
	if ((rc = rpc_fields_ok(c)) != RK_OK)
		return (rc);
	p[0] = r->customer_id;
	p[1] = arena_printf(a, "%d", (int)r->channel);
	p[2] = arena_printf(a, "%d", (int)r->purpose);
	p[3] = arena_printf(a, "%lld", after);
	p[4] = arena_printf(a, "%d", size + 1);
	rc = db_execp(rpc_read_db(c), "consent_events", "SELECT id, channel, purpose, "
	    "granted, " PBTIME_US("occurred_at") ", source, coalesce(evidence, "
	    "''), recorded_by, " PBTIME_US("recorded_at") " FROM consent_events "
	    "WHERE customer_id = $1 AND ($2::int = 0 OR channel = $2::int) AND "
	    "($3::int = 0 OR purpose = $3::int) AND id > $4::bigint "
	    "ORDER BY id LIMIT $5::int", 5, p, &res);
	if (rc != RK_OK)
		return (rc);
	if (db_res_nrows(res) == 0 && after == 0) {
		db_res_free(res);
		rc = db_execp(rpc_read_db(c), "consent_customer", "SELECT 1 FROM "
		    "customers WHERE id = $1", 1, p, &res);
		if (rc != RK_OK)
			return (rc);
		n = db_res_nrows(res);
		db_res_free(res);
		if (n == 0)
			return (rpc_error(c, RK_ENOTFOUND, "customer not found"));
		res = NULL;
	}
	out = arena_alloc(a, sizeof(*out));
	rekindle__v1__list_consent_events_response__init(out);
	n = res ? db_res_nrows(res) : 0;
	out->n_events = (size_t)(n > size ? size : n);
	out->events = arena_alloc(a, sizeof(*out->events) * (out->n_events + 1));
	for (size_t i = 0; i < out->n_events; i++) {
		Rekindle__V1__ConsentEvent *e = arena_alloc(a, sizeof(*e));
		int row = (int)i;

		rekindle__v1__consent_event__init(e);
		e->event_id = db_res_int64(res, row, 0);
		e->customer_id = arena_strdup(a, r->customer_id);
		e->channel = (Rekindle__V1__Channel)db_res_int64(res, row, 1);
		e->purpose = (Rekindle__V1__Purpose)db_res_int64(res, row, 2);
		e->granted = db_res_bool(res, row, 3);
		e->time = pbtime_new(a, db_res_int64(res, row, 4));
		e->source = arena_strdup(a, db_res_str(res, row, 5));
		e->evidence = arena_strdup(a, db_res_str(res, row, 6));
		e->recorded_by = arena_strdup(a, db_res_str(res, row, 7));
		e->record_time = pbtime_new(a, db_res_int64(res, row, 8));
		out->events[i] = e;
	}
	out->next_page_token = n > size ? arena_printf(a, "ce.%lld", (long long)
	    out->events[out->n_events - 1]->event_id) : "";
	if (res != NULL)
		db_res_free(res);
	*resp = &out->base;
	return (RK_OK);
}

const struct rpc_handler consent_handlers[] = {
	{.path = "/rekindle.v1.CustomerService/ListConsentEvents",
	    .unary = list_consent_events},
	{.path = NULL},
};
