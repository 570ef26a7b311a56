/*
 * promotion_rpc.c - UpsertPromotions, ListPromotions, DeletePromotion:
 * the periods (of one merchant, partner or category, or of everything)
 * whose spend a profile counts as promotion-driven. Profilers pick edits
 * up within a minute, and every full run starts from the current table.
 */
#include <stdio.h>
#include <string.h>

#include "customer_rpc.h"
#include "idem.h"
#include "log.h"
#include "pbtime.h"
#include "rekindle/v1/customer.pb-c.h"
#include "validate.h"

#define MAX_PROMOTIONS_PER_CALL 500

/* Field checks that need no database. */
static void
check_promotion(rpc_call *c, const Rekindle__V1__Promotion *p, size_t i,
    const Rekindle__V1__UpsertPromotionsRequest *r)
{
	arena *a = rpc_arena(c);
	const char *why;
	int64_t from = pbtime_us(p->start_time), to = pbtime_us(p->end_time);

	if ((why = validate_id(p->promotion_id)) != NULL)
		rpc_bad_field(c, arena_printf(a, "promotions[%zu].promotion_id", i),
		    "%s", why);
	for (size_t k = 0; k < i && why == NULL; k++)
		if (strcmp(r->promotions[k]->promotion_id, p->promotion_id) == 0) {
			rpc_bad_field(c, arena_printf(a,
			    "promotions[%zu].promotion_id", i), "repeats "
			    "promotions[%zu]", k);
			break;
		}
	if ((why = validate_text(p->name, MAX_NAME_LEN)) != NULL ||
	    *p->name == '\0')
		rpc_bad_field(c, arena_printf(a, "promotions[%zu].name", i), "%s",
		    why ? why : "is required");
	if (from <= 0)
		rpc_bad_field(c, arena_printf(a, "promotions[%zu].start_time", i),
		    "is required");
	if (to <= 0)
		rpc_bad_field(c, arena_printf(a, "promotions[%zu].end_time", i),
		    "is required");
	else if (from > 0 && to <= from)
		rpc_bad_field(c, arena_printf(a, "promotions[%zu].end_time", i),
		    "must be after start_time");
	if (*p->merchant_id && ((why = validate_text(p->merchant_id,
	    MAX_NAME_LEN)) != NULL))
		rpc_bad_field(c, arena_printf(a, "promotions[%zu].merchant_id", i),
		    "%s", why);
	if (*p->partner_id && (why = validate_partner_id(p->partner_id)) != NULL)
		rpc_bad_field(c, arena_printf(a, "promotions[%zu].partner_id", i),
		    "%s", why);
	if (*p->category && (why = validate_id(p->category)) != NULL)
		rpc_bad_field(c, arena_printf(a, "promotions[%zu].category", i),
		    "%s", why);
}

/* The effect of UpsertPromotions, inside its transaction: the partner and
 * category each promotion names must exist. */
static rk_err
write_promotions(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	const Rekindle__V1__UpsertPromotionsRequest *r = (const void *)req;
	Rekindle__V1__UpsertPromotionsResponse *out;
	arena *a = rpc_arena(c);
	db_conn *db = rpc_db(c);
	rk_err rc = RK_OK;

	for (size_t i = 0; rc == RK_OK && i < r->n_promotions; i++) {
		const Rekindle__V1__Promotion *p = r->promotions[i];
		const char *q[2] = {*p->partner_id ? p->partner_id : NULL,
		    *p->category ? p->category : NULL};
		db_res *res;

		rc = db_execp(db, "promotion_refs", "SELECT $1::text IS NULL OR "
		    "EXISTS (SELECT 1 FROM partners WHERE partner_id = $1), "
		    "$2::text IS NULL OR EXISTS (SELECT 1 FROM categories WHERE "
		    "category = $2)", 2, q, &res);
		if (rc != RK_OK)
			return (rc);
		if (!db_res_bool(res, 0, 0))
			rpc_bad_field(c, arena_printf(a, "promotions[%zu].partner_id",
			    i), "no such partner (UpsertPartners first)");
		if (!db_res_bool(res, 0, 1))
			rpc_bad_field(c, arena_printf(a, "promotions[%zu].category",
			    i), "no such category");
		db_res_free(res);
	}
	if ((rc = rpc_fields_ok(c)) != RK_OK)
		return (rc);
	for (size_t i = 0; rc == RK_OK && i < r->n_promotions; i++) {
		const Rekindle__V1__Promotion *p = r->promotions[i];
		char from[24], to[24];
		const char *q[7] = {p->promotion_id, p->name, from, to,
		    *p->merchant_id ? p->merchant_id : NULL,
		    *p->partner_id ? p->partner_id : NULL,
		    *p->category ? p->category : NULL};

		snprintf(from, sizeof(from), "%lld",
		    (long long)pbtime_us(p->start_time));
		snprintf(to, sizeof(to), "%lld", (long long)pbtime_us(p->end_time));
		rc = db_execp(db, "promotion_upsert", "INSERT INTO promotions "
		    "(promotion_id, name, starts_at, ends_at, merchant_id, "
		    "partner_id, category) VALUES ($1, $2, " PBTIME_SQL(3) ", "
		    PBTIME_SQL(4) ", $5, $6, $7) ON CONFLICT (promotion_id) DO "
		    "UPDATE SET name = EXCLUDED.name, starts_at = EXCLUDED.starts_at, "
		    "ends_at = EXCLUDED.ends_at, merchant_id = EXCLUDED.merchant_id, "
		    "partner_id = EXCLUDED.partner_id, category = EXCLUDED.category, "
		    "updated_at = now()", 7, q, NULL);
	}
	out = arena_alloc(a, sizeof(*out));
	rekindle__v1__upsert_promotions_response__init(out);
	out->upserted = (int32_t)r->n_promotions;
	*resp = &out->base;
	return (rc);
}

static rk_err
upsert_promotions(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	static const char method[] = "UpsertPromotions";
	const Rekindle__V1__UpsertPromotionsRequest *r = (const void *)req;
	Rekindle__V1__UpsertPromotionsResponse *out;
	const char *why;
	rk_err rc;

	if (r->n_promotions == 0 || r->n_promotions > MAX_PROMOTIONS_PER_CALL)
		return (rpc_bad_field(c, "promotions", "1..%d promotions per call",
		    MAX_PROMOTIONS_PER_CALL));
	if (r->request_id && *r->request_id &&
	    (why = validate_id(r->request_id)) != NULL)
		rpc_bad_field(c, "request_id", "%s", why);
	for (size_t i = 0; i < r->n_promotions; i++)
		check_promotion(c, r->promotions[i], i, r);
	if ((rc = rpc_fields_ok(c)) != RK_OK)
		return (rc);
	rc = idem_transaction(c, method, r->request_id, req,
	    &rekindle__v1__upsert_promotions_response__descriptor,
	    write_promotions, (ProtobufCMessage **)&out);
	if (rc != RK_OK)
		return (rc);
	log_info("PROMOTIONS-UPSERT", "%d promotion(s) written", out->upserted);
	*resp = &out->base;
	return (RK_OK);
}

static rk_err
list_promotions(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	const Rekindle__V1__ListPromotionsRequest *r = (const void *)req;
	Rekindle__V1__ListPromotionsResponse *out;
	int size = r->page_size <= 0 ? 100 : r->page_size > 500 ? 500 :
	    r->page_size;
	char lim[16];
	const char *p[2] = {lim, r->page_token && *r->page_token ?
	    r->page_token : ""};
	arena *a = rpc_arena(c);
	db_res *res;
	rk_err rc;
	int n;

	if (*p[1] && validate_id(p[1]) != NULL)
		return (rpc_bad_field(c, "page_token", "is not a token this "
		    "server issued"));
	snprintf(lim, sizeof(lim), "%d", size + 1);
	rc = db_execp(rpc_db(c), "promotion_list", "SELECT promotion_id, name, "
	    PBTIME_US("starts_at") ", " PBTIME_US("ends_at") ", "
	    "coalesce(merchant_id, ''), coalesce(partner_id, ''), "
	    "coalesce(category, '') FROM promotions WHERE promotion_id > $2 "
	    "ORDER BY promotion_id LIMIT $1", 2, p, &res);
	if (rc != RK_OK)
		return (rc);
	n = db_res_nrows(res);
	out = arena_alloc(a, sizeof(*out));
	rekindle__v1__list_promotions_response__init(out);
	out->n_promotions = (size_t)(n > size ? size : n);
	out->promotions = arena_alloc(a, sizeof(void *) *
	    (out->n_promotions + 1));
	for (size_t i = 0; i < out->n_promotions; i++) {
		Rekindle__V1__Promotion *pr = arena_alloc(a, sizeof(*pr));
		int row = (int)i;

		rekindle__v1__promotion__init(pr);
		pr->promotion_id = arena_strdup(a, db_res_str(res, row, 0));
		pr->name = arena_strdup(a, db_res_str(res, row, 1));
		pr->start_time = pbtime_new(a, db_res_int64(res, row, 2));
		pr->end_time = pbtime_new(a, db_res_int64(res, row, 3));
		pr->merchant_id = arena_strdup(a, db_res_str(res, row, 4));
		pr->partner_id = arena_strdup(a, db_res_str(res, row, 5));
		pr->category = arena_strdup(a, db_res_str(res, row, 6));
		out->promotions[i] = pr;
	}
	out->next_page_token = n > size ?
	    out->promotions[out->n_promotions - 1]->promotion_id : "";
	db_res_free(res);
	*resp = &out->base;
	return (RK_OK);
}

static rk_err
delete_promotion(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	const Rekindle__V1__DeletePromotionRequest *r = (const void *)req;
	Rekindle__V1__DeletePromotionResponse *out;
	const char *p[1] = {r->promotion_id}, *why;
	db_res *res;
	rk_err rc;
	int n;

	if ((why = validate_id(r->promotion_id)) != NULL)
		return (rpc_bad_field(c, "promotion_id", "%s", why));
	rc = db_execp(rpc_db(c), "promotion_delete", "DELETE FROM promotions "
	    "WHERE promotion_id = $1 RETURNING id", 1, p, &res);
	if (rc != RK_OK)
		return (rc);
	n = db_res_nrows(res);
	db_res_free(res);
	if (n == 0)
		return (rpc_error(c, RK_ENOTFOUND, "promotion not found"));
	log_info("PROMOTION-DELETE", "promotion deleted");
	out = arena_alloc(rpc_arena(c), sizeof(*out));
	rekindle__v1__delete_promotion_response__init(out);
	*resp = &out->base;
	return (RK_OK);
}

const struct rpc_handler promotion_handlers[] = {
	{.path = "/rekindle.v1.CustomerService/UpsertPromotions",
	    .unary = upsert_promotions},
	{.path = "/rekindle.v1.CustomerService/ListPromotions",
	    .unary = list_promotions},
	{.path = "/rekindle.v1.CustomerService/DeletePromotion",
	    .unary = delete_promotion},
	{.path = NULL},
};
