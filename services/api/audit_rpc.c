/*
 * audit_rpc.c - AuditService.ListAuditEvents: the audit trail the
 * database writes in the transaction of every change made through the API
 * (migration 020; rpc_begin names the caller), newest first, filtered by
 * resource, actor, method and time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "customer_rpc.h"
#include "pbtime.h"
#include "rekindle/v1/audit.pb-c.h"
#include "validate.h"

static rk_err
list_audit_events(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	const Rekindle__V1__ListAuditEventsRequest *r = (const void *)req;
	Rekindle__V1__ListAuditEventsResponse *out;
	arena *a = rpc_arena(c);
	int size = r->page_size > 0 ? r->page_size : 100, n;
	long long before;
	const char *p[9], *method = r->method, *why;
	db_res *res;
	rk_err rc;

	if (*r->resource_type && (why = validate_id(r->resource_type)) != NULL)
		rpc_bad_field(c, "resource_type", "%s", why);
	if ((why = validate_text(r->resource_id, 256)) != NULL)
		rpc_bad_field(c, "resource_id", "%s", why);
	if (r->token_id < 0)
		rpc_bad_field(c, "token_id", "must not be negative");
	if (*r->role && strcmp(r->role, "admin") != 0 && strcmp(r->role,
	    "service") != 0 && strcmp(r->role, "agent") != 0)
		rpc_bad_field(c, "role", "must be admin, service or agent");
	if ((why = validate_text(r->method, 128)) != NULL)
		rpc_bad_field(c, "method", "%s", why);
	if (r->page_size < 0 || r->page_size > 1000)
		rpc_bad_field(c, "page_size", "must be 1..1000");
	if (r->start_time && r->end_time && pbtime_us(r->end_time) <=
	    pbtime_us(r->start_time))
		rpc_bad_field(c, "end_time", "must be after start_time");
	if (!validate_page_id(r->page_token, "au.", &before))
		rpc_bad_field(c, "page_token", "is not a token this server issued");
	if ((rc = rpc_fields_ok(c)) != RK_OK)
		return (rc);
	/* "UpdateConsent" matches "/rekindle.v1.CustomerService/UpdateConsent" */
	if (*method && *method != '/')
		method = arena_printf(a, "%%/%s", method);
	p[0] = r->resource_type;
	p[1] = r->resource_id;
	p[2] = arena_printf(a, "%lld", (long long)r->token_id);
	p[3] = r->role;
	p[4] = method;
	p[5] = r->start_time ? arena_printf(a, "%lld", (long long)
	    pbtime_us(r->start_time)) : NULL;
	p[6] = r->end_time ? arena_printf(a, "%lld", (long long)
	    pbtime_us(r->end_time)) : NULL;
	p[7] = arena_printf(a, "%lld", before);
	p[8] = arena_printf(a, "%d", size + 1);
	rc = db_execp(rpc_read_db(c), "audit_list", "SELECT id, " PBTIME_US("at")
	    ", coalesce(token_id, 0), role, method, coalesce(request_id, ''), "
	    "resource_type, coalesce(resource_id, ''), action, "
	    "coalesce(before::text, ''), coalesce(after::text, '') "
	    "FROM audit_events WHERE ($1 = '' OR resource_type = $1) AND "
	    "($2 = '' OR resource_id = $2) AND ($3::bigint = 0 OR token_id = "
	    "$3::bigint) AND ($4 = '' OR role = $4) AND ($5 = '' OR method "
	    "LIKE $5) AND ($6::bigint IS NULL OR at >= " PBTIME_SQL(6) ") AND "
	    "($7::bigint IS NULL OR at < " PBTIME_SQL(7) ") AND ($8::bigint = 0 "
	    "OR id < $8::bigint) ORDER BY id DESC LIMIT $9::int", 9, p, &res);
	if (rc != RK_OK)
		return (rc);
	out = arena_alloc(a, sizeof(*out));
	rekindle__v1__list_audit_events_response__init(out);
	n = db_res_nrows(res);
	out->n_events = (size_t)(n > size ? size : n);
	out->events = arena_alloc(a, sizeof(*out->events) * (out->n_events + 1));
	for (size_t i = 0; i < out->n_events; i++) {
		Rekindle__V1__AuditEvent *e = arena_alloc(a, sizeof(*e));
		int row = (int)i, k = 0;

		rekindle__v1__audit_event__init(e);
		e->event_id = db_res_int64(res, row, k++);
		e->time = pbtime_new(a, db_res_int64(res, row, k++));
		e->token_id = db_res_int64(res, row, k++);
		e->role = arena_strdup(a, db_res_str(res, row, k++));
		e->method = arena_strdup(a, db_res_str(res, row, k++));
		e->request_id = arena_strdup(a, db_res_str(res, row, k++));
		e->resource_type = arena_strdup(a, db_res_str(res, row, k++));
		e->resource_id = arena_strdup(a, db_res_str(res, row, k++));
		e->action = arena_strdup(a, db_res_str(res, row, k++));
		e->before_json = arena_strdup(a, db_res_str(res, row, k++));
		e->after_json = arena_strdup(a, db_res_str(res, row, k++));
		out->events[i] = e;
	}
	out->next_page_token = n > size ? arena_printf(a, "au.%lld", (long long)
	    out->events[out->n_events - 1]->event_id) : "";
	db_res_free(res);
	*resp = &out->base;
	return (RK_OK);
}

const struct rpc_handler audit_handlers[] = {
	{.path = "/rekindle.v1.AuditService/ListAuditEvents",
	    .unary = list_audit_events},
	{.path = NULL},
};
