/*
 * partner_rpc.c - UpsertPartners and ListPartners: which merchants belong
 * to which partner brand (TIKI, SHOPEE, VIETJET, ...), by merchant id and
 * by merchant-name prefix. Profilers pick edits up within a minute, and
 * every full run starts from the current table.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "customer_rpc.h"
#include "idem.h"
#include "log.h"
#include "rekindle/v1/customer.pb-c.h"
#include "validate.h"

#define MAX_PARTNERS_PER_CALL 100
#define MAX_KEYS_PER_PARTNER 1000

static void
check_partner(rpc_call *c, const Rekindle__V1__Partner *p, size_t i)
{
	char f[64];
	const char *why;

	snprintf(f, sizeof(f), "partners[%zu]", i);
	if ((why = validate_partner_id(p->partner_id)) != NULL)
		rpc_bad_field(c, arena_printf(rpc_arena(c), "%s.partner_id", f),
		    "%s", why);
	if ((why = validate_text(p->display_name, MAX_NAME_LEN)) != NULL ||
	    *p->display_name == '\0')
		rpc_bad_field(c, arena_printf(rpc_arena(c), "%s.display_name", f),
		    "%s", why ? why : "is required");
	if (p->n_merchant_ids > MAX_KEYS_PER_PARTNER ||
	    p->n_merchant_name_prefixes > MAX_KEYS_PER_PARTNER)
		rpc_bad_field(c, f, "at most %d merchant ids and prefixes",
		    MAX_KEYS_PER_PARTNER);
	for (size_t k = 0; k < p->n_merchant_ids; k++)
		if ((why = validate_text(p->merchant_ids[k], MAX_NAME_LEN)) != NULL ||
		    *p->merchant_ids[k] == '\0')
			rpc_bad_field(c, arena_printf(rpc_arena(c),
			    "%s.merchant_ids[%zu]", f, k), "%s", why ? why :
			    "is empty");
	for (size_t k = 0; k < p->n_merchant_name_prefixes; k++)
		if ((why = validate_text(p->merchant_name_prefixes[k], 100)) !=
		    NULL || strlen(p->merchant_name_prefixes[k]) < 2)
			rpc_bad_field(c, arena_printf(rpc_arena(c),
			    "%s.merchant_name_prefixes[%zu]", f, k), "%s", why ? why :
			    "needs at least 2 characters");
}

/* Replaces one partner's merchants and prefixes, in the open transaction. */
static rk_err
write_partner(rpc_call *c, const Rekindle__V1__Partner *p)
{
	db_conn *db = rpc_db(c);
	arena *a = rpc_arena(c);
	const char *q[3];
	char **upper;
	rk_err rc;

	q[0] = p->partner_id;
	q[1] = p->display_name;
	rc = db_execp(db, "partner_upsert", "INSERT INTO partners (partner_id, "
	    "display_name) VALUES ($1, $2) ON CONFLICT (partner_id) DO UPDATE "
	    "SET display_name = EXCLUDED.display_name, updated_at = now()", 2, q,
	    NULL);
	if (rc == RK_OK)
		rc = db_execp(db, "partner_clear_merchants", "DELETE FROM "
		    "partner_merchants WHERE partner_id = $1", 1, q, NULL);
	if (rc == RK_OK)
		rc = db_execp(db, "partner_clear_prefixes", "DELETE FROM "
		    "partner_name_prefixes WHERE partner_id = $1", 1, q, NULL);
	if (rc != RK_OK)
		return (rc);
	upper = arena_alloc(a, sizeof(char *) * (p->n_merchant_name_prefixes + 1));
	for (size_t k = 0; k < p->n_merchant_name_prefixes; k++) {
		upper[k] = arena_strdup(a, p->merchant_name_prefixes[k]);
		for (char *s = upper[k]; *s; s++)
			*s = (char)toupper((unsigned char)*s);
	}
	q[1] = db_text_array(a, (const char *const *)p->merchant_ids,
	    p->n_merchant_ids);
	q[2] = db_text_array(a, (const char *const *)upper,
	    p->n_merchant_name_prefixes);
	/* A merchant or prefix moves to the partner that names it last. */
	rc = db_execp(db, "partner_merchants", "INSERT INTO partner_merchants "
	    "(merchant_id, partner_id) SELECT unnest($2::text[]), $1 "
	    "ON CONFLICT (merchant_id) DO UPDATE SET partner_id = EXCLUDED.partner_id",
	    2, q, NULL);
	if (rc == RK_OK) {
		const char *qp[2] = {q[0], q[2]};

		rc = db_execp(db, "partner_prefixes", "INSERT INTO "
		    "partner_name_prefixes (prefix, partner_id) SELECT "
		    "unnest($2::text[]), $1 ON CONFLICT (prefix) DO UPDATE SET "
		    "partner_id = EXCLUDED.partner_id", 2, qp, NULL);
	}
	return (rc);
}

/* The effect of UpsertPartners, inside its transaction. */
static rk_err
write_partners(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	const Rekindle__V1__UpsertPartnersRequest *r = (const void *)req;
	Rekindle__V1__UpsertPartnersResponse *out;
	rk_err rc = RK_OK;

	out = arena_alloc(rpc_arena(c), sizeof(*out));
	rekindle__v1__upsert_partners_response__init(out);
	for (size_t i = 0; rc == RK_OK && i < r->n_partners; i++)
		rc = write_partner(c, r->partners[i]);
	out->upserted = (int32_t)r->n_partners;
	*resp = &out->base;
	return (rc);
}

static rk_err
upsert_partners(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	static const char method[] = "UpsertPartners";
	const Rekindle__V1__UpsertPartnersRequest *r = (const void *)req;
	Rekindle__V1__UpsertPartnersResponse *out;
	rk_err rc;

	if (r->n_partners == 0 || r->n_partners > MAX_PARTNERS_PER_CALL)
		return (rpc_bad_field(c, "partners", "1..%d partners per call",
		    MAX_PARTNERS_PER_CALL));
	if (r->request_id && *r->request_id && validate_id(r->request_id))
		rpc_bad_field(c, "request_id", "%s", validate_id(r->request_id));
	for (size_t i = 0; i < r->n_partners; i++)
		check_partner(c, r->partners[i], i);
	if ((rc = rpc_fields_ok(c)) != RK_OK)
		return (rc);
	rc = idem_transaction(c, method, r->request_id, req,
	    &rekindle__v1__upsert_partners_response__descriptor, write_partners,
	    (ProtobufCMessage **)&out);
	if (rc != RK_OK)
		return (rc);
	log_info("PARTNERS-UPSERT", "%d partner(s) written", out->upserted);
	*resp = &out->base;
	return (RK_OK);
}

static rk_err
list_partners(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	const Rekindle__V1__ListPartnersRequest *r = (const void *)req;
	Rekindle__V1__ListPartnersResponse *out;
	int size = r->page_size <= 0 ? 100 : r->page_size > 500 ? 500 :
	    r->page_size;
	char lim[16];
	const char *p[2] = {lim, r->page_token && *r->page_token ?
	    r->page_token : ""};
	arena *a = rpc_arena(c);
	db_res *res;
	rk_err rc;
	int n;

	if (*p[1] && validate_partner_id(p[1]) != NULL)
		return (rpc_bad_field(c, "page_token", "is not a token this "
		    "server issued"));
	snprintf(lim, sizeof(lim), "%d", size + 1);
	rc = db_execp(rpc_db(c), "partner_list", "SELECT p.partner_id, "
	    "p.display_name, coalesce((SELECT array_agg(merchant_id ORDER BY "
	    " merchant_id) FROM partner_merchants m WHERE m.partner_id = "
	    " p.partner_id), '{}')::text, coalesce((SELECT array_agg(prefix "
	    " ORDER BY prefix) FROM partner_name_prefixes x WHERE x.partner_id = "
	    " p.partner_id), '{}')::text "
	    "FROM partners p WHERE p.partner_id > $2 ORDER BY p.partner_id "
	    "LIMIT $1", 2, p, &res);
	if (rc != RK_OK)
		return (rc);
	n = db_res_nrows(res);
	out = arena_alloc(a, sizeof(*out));
	rekindle__v1__list_partners_response__init(out);
	out->n_partners = (size_t)(n > size ? size : n);
	out->partners = arena_alloc(a, sizeof(void *) * (out->n_partners + 1));
	for (size_t i = 0; i < out->n_partners; i++) {
		Rekindle__V1__Partner *pa = arena_alloc(a, sizeof(*pa));

		rekindle__v1__partner__init(pa);
		pa->partner_id = arena_strdup(a, db_res_str(res, (int)i, 0));
		pa->display_name = arena_strdup(a, db_res_str(res, (int)i, 1));
		pa->merchant_ids = db_array_split(a, db_res_str(res, (int)i, 2),
		    &pa->n_merchant_ids);
		pa->merchant_name_prefixes = db_array_split(a,
		    db_res_str(res, (int)i, 3), &pa->n_merchant_name_prefixes);
		out->partners[i] = pa;
	}
	out->next_page_token = n > size ?
	    out->partners[out->n_partners - 1]->partner_id : "";
	db_res_free(res);
	*resp = &out->base;
	return (RK_OK);
}

const struct rpc_handler partner_handlers[] = {
	{.path = "/rekindle.v1.CustomerService/UpsertPartners",
	    .unary = upsert_partners},
	{.path = "/rekindle.v1.CustomerService/ListPartners",
	    .unary = list_partners},
	{.path = NULL},
};
