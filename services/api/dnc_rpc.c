/*
 * dnc_rpc.c - UpdateDoNotCall: the national Do-Not-Call registry, kept as
 * E.164 numbers. Launches leave out customers reachable only through a
 * listed number, and the contact governor refuses advertising SMS and calls
 * to them. Numbers never reach a log line; counts do.
 */
#include <stdio.h>
#include <string.h>

#include "customer_rpc.h"
#include "idem.h"
#include "log.h"
#include "phone.h"
#include "rekindle/v1/customer.pb-c.h"
#include "validate.h"

#define MAX_PHONES_PER_CALL 100000

/* The numbers of one list in E.164, each checked. */
static char **
normalise(rpc_call *c, const char *what, char **in, size_t n)
{
	char **out = arena_alloc(rpc_arena(c), sizeof(char *) * (n + 1));

	for (size_t i = 0; i < n; i++) {
		char e164[32];

		if (phone_normalize_vn(in[i], e164, sizeof(e164)) != RK_OK) {
			rpc_bad_field(c, arena_printf(rpc_arena(c), "%s[%zu]", what,
			    i), "is not a Vietnamese phone number");
			out[i] = NULL;
		} else
			out[i] = arena_strdup(rpc_arena(c), e164);
	}
	return (out);
}

/* The effect of UpdateDoNotCall, inside its transaction. */
static rk_err
write_dnc(rpc_call *c, const ProtobufCMessage *req, ProtobufCMessage **resp)
{
	const Rekindle__V1__UpdateDoNotCallRequest *r = (const void *)req;
	Rekindle__V1__UpdateDoNotCallResponse *out;
	arena *a = rpc_arena(c);
	char **add = normalise(c, "add_phones", r->add_phones, r->n_add_phones),
	    **del = normalise(c, "remove_phones", r->remove_phones,
	    r->n_remove_phones);
	const char *p[2] = {db_text_array(a, (const char *const *)add,
	    r->n_add_phones), db_text_array(a, (const char *const *)del,
	    r->n_remove_phones)};
	db_res *res;
	rk_err rc;

	rc = db_execp(rpc_db(c), "dnc_update", "WITH gone AS (DELETE FROM "
	    "do_not_call WHERE phone_e164 = ANY ($2::text[]) AND NOT "
	    "phone_e164 = ANY ($1::text[]) RETURNING 1), "
	    "ins AS (INSERT INTO do_not_call (phone_e164) SELECT DISTINCT "
	    "unnest($1::text[]) ON CONFLICT DO NOTHING RETURNING 1) "
	    "SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM gone), "
	    "(SELECT count(*) FROM do_not_call)", 2, p, &res);
	if (rc != RK_OK)
		return (rc);
	out = arena_alloc(a, sizeof(*out));
	rekindle__v1__update_do_not_call_response__init(out);
	out->added = db_res_int64(res, 0, 0);
	out->removed = db_res_int64(res, 0, 1);
	/* The count saw the table before this statement's own changes. */
	out->listed = db_res_int64(res, 0, 2) + out->added - out->removed;
	db_res_free(res);
	*resp = &out->base;
	return (RK_OK);
}

static rk_err
update_do_not_call(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	const Rekindle__V1__UpdateDoNotCallRequest *r = (const void *)req;
	Rekindle__V1__UpdateDoNotCallResponse *out;
	const char *why;
	rk_err rc;

	if (r->request_id && *r->request_id &&
	    (why = validate_id(r->request_id)) != NULL)
		rpc_bad_field(c, "request_id", "%s", why);
	if (r->n_add_phones + r->n_remove_phones == 0 ||
	    r->n_add_phones + r->n_remove_phones > MAX_PHONES_PER_CALL)
		rpc_bad_field(c, "add_phones", "1..%d numbers per call",
		    MAX_PHONES_PER_CALL);
	(void)normalise(c, "add_phones", r->add_phones, r->n_add_phones);
	(void)normalise(c, "remove_phones", r->remove_phones,
	    r->n_remove_phones);
	if ((rc = rpc_fields_ok(c)) != RK_OK)
		return (rc);
	rc = idem_transaction(c, "UpdateDoNotCall", r->request_id, req,
	    &rekindle__v1__update_do_not_call_response__descriptor, write_dnc,
	    (ProtobufCMessage **)&out);
	if (rc != RK_OK)
		return (rc);
	log_info("DNC-UPDATE", "do-not-call: %lld added, %lld removed, %lld "
	    "listed", (long long)out->added, (long long)out->removed,
	    (long long)out->listed);
	*resp = &out->base;
	return (RK_OK);
}

const struct rpc_handler dnc_handlers[] = {
	{.path = "/rekindle.v1.CustomerService/UpdateDoNotCall",
	    .unary = update_do_not_call},
	{.path = NULL},
};
