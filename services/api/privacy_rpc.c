/*
 * privacy_rpc.c - the data subject's rights (Law 91/2025/QH15 on personal
 * data protection, in force 1 January 2026; Decree 356/2025):
 *
 *	ExportCustomerData	everything held about one customer, one JSON
 *				document (rekindle.export_customer, migration
 *				020) streamed in 1 MiB chunks, each message
 *				with what it said rendered as the delivery
 *				pool rendered it
 *	EraseCustomer		rekindle.erase_customer in one transaction:
 *				pending work cancelled, links dead, personal
 *				data gone, the rest renamed to a pseudonym
 *
 * Both are admin only (roles.c) and both leave an audit event.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "customer_rpc.h"
#include "log.h"
#include "msgtoken.h"
#include "pbtime.h"
#include "rekindle/v1/customer.pb-c.h"
#include "template.h"
#include "validate.h"

#define CHUNK (1024 * 1024)

static const char *
jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return (s ? s : "");
}

static json_t *
rendered(const char *text, const char *const vals[TV_N], const char *prefix)
{
	char out[8192];
	size_t n = (size_t)snprintf(out, sizeof(out), "%s", prefix);

	tmpl_render(text, vals, false, out + n, sizeof(out) - n);
	return (json_string(out));
}

/*
 * Replaces message m's "render" (its template and values) with "said":
 * what the delivery pool sent, rendered again with the same link.
 */
static void
render_message(arena *a, json_t *m)
{
	static const char *const names[TV_N] = {"name", "offer", "partner",
	    "expiry", "code", "link"};
	json_t *r = json_object_get(m, "render"), *said = json_object();
	const char *vals[TV_N];
	char token[MSGTOKEN_MAX] = "";
	int channel = (int)json_integer_value(json_object_get(m, "channel"));

	if (*var_tracking_secret)
		msgtoken_make(var_tracking_secret, (int64_t)json_integer_value(
		    json_object_get(m, "id")), token);
	for (int v = 0; v < TV_LINK; v++)
		vals[v] = jstr(r, names[v]);
	vals[TV_LINK] = *token ? arena_printf(a, "%s%s", var_tracking_url,
	    token) : "";
	switch (channel) {
	case CHANNEL_EMAIL:
	case CHANNEL_PUSH:
		json_object_set_new(said, channel == CHANNEL_EMAIL ? "subject" :
		    "title", rendered(jstr(r, "subject"), vals, ""));
		json_object_set_new(said, "text", rendered(jstr(r, "body"), vals,
		    ""));
		break;
	case CHANNEL_SMS:
		/* Decree 91: an advertising SMS starts with [QC] */
		json_object_set_new(said, "text", rendered(jstr(r, "body"), vals,
		    TMPL_QC_PREFIX));
		break;
	case CHANNEL_ZNS: {
		json_t *params = json_object();

		for (int v = 0; v < TV_N; v++)
			json_object_set_new(params, names[v], json_string(vals[v]));
		json_object_set_new(said, "template_id", json_string(jstr(r,
		    "provider_template_id")));
		json_object_set_new(said, "template_data", params);
		break;
	}
	default:
		break;
	}
	json_object_set_new(m, "said", said);
	json_object_del(m, "render");
}

static rk_err
export_customer_data(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	const Rekindle__V1__ExportCustomerDataRequest *r = (const void *)req;
	arena *a = rpc_arena(c);
	const char *why, *p[2];
	json_t *doc = NULL, *msgs;
	json_error_t jerr;
	char *text = NULL;
	db_res *res = NULL;
	size_t len, off = 0;
	rk_err rc;

	(void)resp;
	if ((why = validate_id(r->customer_id)) != NULL)
		return (rpc_bad_field(c, "customer_id", "%s", why));
	p[0] = r->customer_id;
	p[1] = "{}";
	/* one statement: one snapshot of everything, off the primary when a
	 * fresh replica can serve it; then the export is audited on the
	 * primary (a customer not found is not) */
	rc = db_execp(rpc_read_db(c), "export_customer", "SELECT "
	    "rekindle.export_customer($1)::text", 1, p, &res);
	if (rc == RK_OK && db_res_isnull(res, 0, 0))
		rc = rpc_error(c, RK_ENOTFOUND, "customer not found");
	if (rc == RK_OK && (rc = rpc_begin(c)) == RK_OK)
		rc = rpc_end(c, db_execp(rpc_db(c), "export_audit", "SELECT "
		    "rekindle.audit_note('customers', $1, 'export', $2::jsonb)", 2,
		    p, NULL));
	if (rc != RK_OK) {
		db_res_free(res);
		return (rc);
	}
	doc = json_loads(db_res_str(res, 0, 0), 0, &jerr);
	db_res_free(res);
	if (doc == NULL)
		return (rpc_error(c, RK_EINTERNAL, "export: %s", jerr.text));
	msgs = json_object_get(doc, "messages");
	for (size_t i = 0; i < json_array_size(msgs); i++)
		render_message(a, json_array_get(msgs, i));
	text = json_dumps(doc, JSON_INDENT(1));
	json_decref(doc);
	if (text == NULL)
		return (rpc_error(c, RK_EINTERNAL, "export: out of memory"));
	len = strlen(text);
	do {
		Rekindle__V1__CustomerDataChunk ch;
		size_t n = len - off > CHUNK ? CHUNK : len - off;

		rekindle__v1__customer_data_chunk__init(&ch);
		ch.content_type = off == 0 ? "application/json" : "";
		ch.data.data = (uint8_t *)text + off;
		ch.data.len = n;
		ch.offset = (int64_t)off;
		ch.total_size = (int64_t)len;
		if ((rc = rpc_stream_send_all(c, &ch.base)) != RK_OK)
			break;
		off += n;
	} while (off < len);
	free(text);
	if (rc != RK_OK)
		return (rc);
	log_info("CUSTOMER-EXPORT", "customer data exported (%zu bytes) by "
	    "token %lld", len, (long long)rpc_token_id(c));
	rpc_stream_finish(c, RK_OK, NULL);
	return (RK_OK);
}

static rk_err
erase_customer(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	const Rekindle__V1__EraseCustomerRequest *r = (const void *)req;
	Rekindle__V1__EraseCustomerResponse *out;
	arena *a = rpc_arena(c);
	const char *why, *p[2] = {r->customer_id, r->reason};
	db_res *res = NULL;
	rk_err rc;

	if ((why = validate_id(r->customer_id)) != NULL)
		rpc_bad_field(c, "customer_id", "%s", why);
	if ((why = validate_text(r->reason, 256)) != NULL)
		rpc_bad_field(c, "reason", "%s", why);
	if ((rc = rpc_fields_ok(c)) != RK_OK || (rc = rpc_begin(c)) != RK_OK)
		return (rc);
	rc = db_execp(rpc_db(c), "erase_customer", "SELECT pseudonym, erased, "
	    PBTIME_US("now()") " FROM rekindle.erase_customer($1, $2)", 2, p,
	    &res);
	if (rc == RK_OK && db_res_isnull(res, 0, 0))
		rc = rpc_error(c, RK_ENOTFOUND, "customer not found");
	if ((rc = rpc_end(c, rc)) != RK_OK) {
		db_res_free(res);
		return (rc);
	}
	out = arena_alloc(a, sizeof(*out));
	rekindle__v1__erase_customer_response__init(out);
	out->pseudonym = arena_strdup(a, db_res_str(res, 0, 0));
	out->already_erased = !db_res_bool(res, 0, 1);
	out->erase_time = pbtime_new(a, db_res_int64(res, 0, 2));
	db_res_free(res);
	/* the pseudonym only: the log must not link it to the old id */
	log_info("CUSTOMER-ERASE", "customer %s %s by token %lld",
	    out->pseudonym, out->already_erased ? "was erased before, asked "
	    "again" : "erased", (long long)rpc_token_id(c));
	*resp = &out->base;
	return (RK_OK);
}

const struct rpc_handler privacy_handlers[] = {
	{.path = "/rekindle.v1.CustomerService/ExportCustomerData",
	    .unary = export_customer_data},
	{.path = "/rekindle.v1.CustomerService/EraseCustomer",
	    .unary = erase_customer},
	{.path = NULL},
};
