/*
 * customer_rpc.c - UpsertCustomers and GetCustomer.
 *
 * SECURITY
 *	Every field is validated before anything is written; one bad field
 *	rejects the whole request (INVALID_ARGUMENT listing each violation)
 *	and nothing is written. Contact data never reaches a log line.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "customer_rpc.h"
#include "idem.h"
#include "localtz.h"
#include "log.h"
#include "pbtime.h"
#include "phone.h"
#include "profile_view.h"
#include "rekindle/v1/customer.pb-c.h"
#include "validate.h"

#define FIELD(buf, i, name) (snprintf(buf, sizeof(buf), "customers[%d]." name, \
    (int)(i)), buf)

/* Validates customer i, normalising its phone in place (call arena). */
static void
check_customer(rpc_call *c, Rekindle__V1__Customer *cu, size_t i)
{
	char f[96], e164[16];
	const char *why;

	if ((why = validate_id(cu->customer_id)) != NULL)
		rpc_bad_field(c, FIELD(f, i, "customer_id"), "%s", why);
	if ((why = validate_text(cu->full_name, MAX_NAME_LEN)) != NULL)
		rpc_bad_field(c, FIELD(f, i, "full_name"), "%s", why);
	if (cu->phone && *cu->phone) {
		if (phone_normalize_vn(cu->phone, e164, sizeof(e164)) != RK_OK)
			rpc_bad_field(c, FIELD(f, i, "phone"), "is not a "
			    "Vietnamese phone number (0…, 84… or +84…)");
		else
			cu->phone = arena_strdup(rpc_arena(c), e164);
	}
	if (cu->email && *cu->email && !email_valid(cu->email))
		rpc_bad_field(c, FIELD(f, i, "email"), "is not a valid e-mail "
		    "address");
	if ((why = validate_text(cu->push_token, MAX_TOKEN_LEN)) != NULL)
		rpc_bad_field(c, FIELD(f, i, "push_token"), "%s", why);
	if (cu->time_zone && *cu->time_zone &&
	    (why = validate_time_zone(cu->time_zone)) != NULL)
		rpc_bad_field(c, FIELD(f, i, "time_zone"), "%s", why);
	if (cu->language && *cu->language &&
	    (why = validate_language(cu->language)) != NULL)
		rpc_bad_field(c, FIELD(f, i, "language"), "%s", why);
	for (size_t k = 0; k < cu->n_consents; k++) {
		Rekindle__V1__Consent *co = cu->consents[k];

		snprintf(f, sizeof(f), "customers[%d].consents[%d]", (int)i,
		    (int)k);
		if (co->channel <= REKINDLE__V1__CHANNEL__CHANNEL_UNSPECIFIED ||
		    co->channel > REKINDLE__V1__CHANNEL__CHANNEL_CALL)
			rpc_bad_field(c, arena_printf(rpc_arena(c), "%s.channel",
			    f), "must name a channel");
		if (co->purpose <= REKINDLE__V1__PURPOSE__PURPOSE_UNSPECIFIED ||
		    co->purpose > REKINDLE__V1__PURPOSE__PURPOSE_ANALYTICS)
			rpc_bad_field(c, arena_printf(rpc_arena(c), "%s.purpose",
			    f), "must name a purpose");
		if (co->time == NULL)
			rpc_bad_field(c, arena_printf(rpc_arena(c), "%s.time", f),
			    "is required: when consent was given or withdrawn");
		else if ((why = validate_past_time(co->time->seconds,
		    (int64_t)time(NULL))) != NULL)
			rpc_bad_field(c, arena_printf(rpc_arena(c), "%s.time", f),
			    "%s", why);
		if (co->source == NULL || *co->source == '\0')
			rpc_bad_field(c, arena_printf(rpc_arena(c), "%s.source",
			    f), "is required: where consent was captured");
		else if ((why = validate_text(co->source, 100)) != NULL)
			rpc_bad_field(c, arena_printf(rpc_arena(c), "%s.source",
			    f), "%s", why);
	}
}

static const char *
or_null(const char *s)
{
	return (s && *s ? s : NULL);
}

static rk_err
write_customer(rpc_call *c, const Rekindle__V1__Customer *cu, bool *created)
{
	const char *p[8] = {cu->customer_id, or_null(cu->full_name),
	    or_null(cu->phone), or_null(cu->email), or_null(cu->push_token),
	    cu->zalo_available ? "true" : "false",
	    cu->time_zone && *cu->time_zone ? cu->time_zone : RK_DEFAULT_TIME_ZONE,
	    cu->language && *cu->language ? cu->language : "vi"};
	db_res *r;
	rk_err rc;

	rc = db_execp(rpc_db(c), "customer_upsert",
	    "INSERT INTO customers AS c (id, full_name, phone_e164, email, "
	    " push_token, zalo_available, time_zone, language, source) "
	    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'api') "
	    "ON CONFLICT (id) DO UPDATE SET full_name = EXCLUDED.full_name, "
	    " phone_e164 = EXCLUDED.phone_e164, email = EXCLUDED.email, "
	    " push_token = EXCLUDED.push_token, "
	    " zalo_available = EXCLUDED.zalo_available, "
	    " time_zone = EXCLUDED.time_zone, language = EXCLUDED.language, "
	    " source = 'api', updated_at = now() "
	    "RETURNING (xmax = 0)", 8, p, &r);
	if (rc != RK_OK)
		return (rc);
	*created = db_res_bool(r, 0, 0);
	db_res_free(r);
	for (size_t k = 0; k < cu->n_consents; k++) {
		const Rekindle__V1__Consent *co = cu->consents[k];
		char ch[8], pu[8], us[24];
		const char *q[6] = {cu->customer_id, ch, pu,
		    co->granted ? "true" : "false", us, co->source};

		snprintf(ch, sizeof(ch), "%d", (int)co->channel);
		snprintf(pu, sizeof(pu), "%d", (int)co->purpose);
		snprintf(us, sizeof(us), "%lld", (long long)pbtime_us(co->time));
		rc = db_execp(rpc_db(c), "consent_upsert",
		    "INSERT INTO customer_consents (customer_id, channel, "
		    " purpose, granted, granted_at, source) "
		    "VALUES ($1, $2, $3, $4, " PBTIME_SQL(5) ", $6) "
		    "ON CONFLICT (customer_id, channel, purpose) DO UPDATE SET "
		    " granted = EXCLUDED.granted, granted_at = EXCLUDED.granted_at, "
		    " source = EXCLUDED.source, recorded_at = now()", 6, q, NULL);
		if (rc != RK_OK)
			return (rc);
	}
	return (RK_OK);
}

/* The effect of UpsertCustomers, inside its transaction. */
static rk_err
write_customers(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	const Rekindle__V1__UpsertCustomersRequest *r = (const void *)req;
	Rekindle__V1__UpsertCustomersResponse *out;
	rk_err rc = RK_OK;

	out = arena_alloc(rpc_arena(c), sizeof(*out));
	rekindle__v1__upsert_customers_response__init(out);
	for (size_t i = 0; rc == RK_OK && i < r->n_customers; i++) {
		bool created = false;

		rc = write_customer(c, r->customers[i], &created);
		if (created)
			out->created++;
		else
			out->updated++;
	}
	*resp = &out->base;
	return (rc);
}

static rk_err
upsert_customers(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	static const char method[] = "UpsertCustomers";
	const Rekindle__V1__UpsertCustomersRequest *r = (const void *)req;
	Rekindle__V1__UpsertCustomersResponse *out;
	rk_err rc;

	if (r->n_customers == 0)
		return (rpc_bad_field(c, "customers", "at least one customer "
		    "is required"));
	if (r->n_customers > MAX_CUSTOMERS_PER_CALL)
		return (rpc_bad_field(c, "customers", "at most %d customers per "
		    "call", MAX_CUSTOMERS_PER_CALL));
	if (r->request_id && *r->request_id && validate_id(r->request_id))
		rpc_bad_field(c, "request_id", "%s", validate_id(r->request_id));
	for (size_t i = 0; i < r->n_customers; i++) {
		check_customer(c, r->customers[i], i);
		for (size_t j = 0; j < i; j++)
			if (strcmp(r->customers[i]->customer_id,
			    r->customers[j]->customer_id) == 0) {
				char f[64];

				rpc_bad_field(c, FIELD(f, i, "customer_id"),
				    "repeats customers[%d]", (int)j);
				break;
			}
	}
	if ((rc = rpc_fields_ok(c)) != RK_OK)
		return (rc);

	rc = idem_transaction(c, method, r->request_id, req,
	    &rekindle__v1__upsert_customers_response__descriptor,
	    write_customers, (ProtobufCMessage **)&out);
	if (rc != RK_OK)
		return (rc);
	log_info("CUSTOMERS-UPSERT", "%d created, %d updated", out->created,
	    out->updated);
	*resp = &out->base;
	return (RK_OK);
}

/* Columns of the one GetCustomer query (customer, profile, consents). */
enum {
	G_NAME, G_PHONE, G_EMAIL, G_PUSH, G_ZALO, G_TZ, G_LANG, G_CREATED,
	G_UPDATED, G_PROFILE, G_CH = G_PROFILE + PROFILE_VIEW_NCOLS, G_PURPOSE,
	G_GRANTED, G_AT, G_SOURCE
};

static const char get_sql[] =
    "SELECT c.full_name, c.phone_e164, c.email, c.push_token, "
    " c.zalo_available, c.time_zone, c.language, " PBTIME_US("c.created_at")
    ", " PBTIME_US("c.updated_at") ", " PROFILE_VIEW_COLS ", "
    " k.channel, k.purpose, k.granted, " PBTIME_US("k.granted_at") ", "
    " k.source "
    "FROM customers c "
    "LEFT JOIN customer_profiles p ON p.customer_id = c.id "
    "LEFT JOIN customer_consents k ON k.customer_id = c.id "
    "WHERE c.id = $1 ORDER BY k.channel, k.purpose";

static char *
col_str(arena *a, db_res *r, int col)
{
	const char *v = db_res_str(r, 0, col);

	return (arena_strdup(a, v ? v : ""));
}

static rk_err
get_customer(rpc_call *c, const ProtobufCMessage *req, ProtobufCMessage **resp)
{
	const Rekindle__V1__GetCustomerRequest *r = (const void *)req;
	const char *p[1] = {r->customer_id}, *why;
	Rekindle__V1__Customer *cu;
	arena *a = rpc_arena(c);
	db_res *res;
	rk_err rc;
	int n;

	if ((why = validate_id(r->customer_id)) != NULL)
		return (rpc_bad_field(c, "customer_id", "%s", why));
	if ((rc = db_execp(rpc_db(c), "customer_get", get_sql, 1, p, &res)) !=
	    RK_OK)
		return (rc);
	if ((n = db_res_nrows(res)) == 0) {
		db_res_free(res);
		return (rpc_error(c, RK_ENOTFOUND, "customer not found"));
	}
	cu = arena_alloc(a, sizeof(*cu));
	rekindle__v1__customer__init(cu);
	cu->customer_id = arena_strdup(a, r->customer_id);
	cu->full_name = col_str(a, res, G_NAME);
	cu->phone = col_str(a, res, G_PHONE);
	cu->email = col_str(a, res, G_EMAIL);
	cu->push_token = col_str(a, res, G_PUSH);
	cu->zalo_available = db_res_bool(res, 0, G_ZALO);
	cu->time_zone = col_str(a, res, G_TZ);
	cu->language = col_str(a, res, G_LANG);
	cu->create_time = pbtime_new(a, db_res_int64(res, 0, G_CREATED));
	cu->update_time = pbtime_new(a, db_res_int64(res, 0, G_UPDATED));
	cu->profile = profile_view(a, res, 0, G_PROFILE);
	cu->consents = arena_alloc(a, sizeof(void *) * (size_t)n);
	for (int i = 0; i < n && !db_res_isnull(res, i, G_CH); i++) {
		Rekindle__V1__Consent *co = arena_alloc(a, sizeof(*co));

		rekindle__v1__consent__init(co);
		co->channel = (Rekindle__V1__Channel)db_res_int64(res, i, G_CH);
		co->purpose = (Rekindle__V1__Purpose)db_res_int64(res, i,
		    G_PURPOSE);
		co->granted = db_res_bool(res, i, G_GRANTED);
		co->time = pbtime_new(a, db_res_int64(res, i, G_AT));
		co->source = arena_strdup(a, db_res_str(res, i, G_SOURCE));
		cu->consents[cu->n_consents++] = co;
	}
	db_res_free(res);
	*resp = &cu->base;
	return (RK_OK);
}

const struct rpc_handler customer_handlers[] = {
	{.path = "/rekindle.v1.CustomerService/UpsertCustomers",
	    .roles = ROLE_ADMIN | ROLE_SERVICE, .unary = upsert_customers},
	{.path = "/rekindle.v1.CustomerService/IngestTransactions",
	    .roles = ROLE_ADMIN | ROLE_SERVICE, .message = ingest_message,
	    .finish = ingest_finish, .closed = ingest_closed},
	{.path = "/rekindle.v1.CustomerService/GetCustomer",
	    .roles = ROLE_ADMIN | ROLE_SERVICE, .unary = get_customer},
	{.path = NULL},
};
