/*
 * customer_rpc.c - UpsertCustomers, GetCustomer, ListCustomers and
 * UpdateConsent.
 *
 * SECURITY
 *	Every field is validated before anything is written; one bad field
 *	rejects the whole request (INVALID_ARGUMENT listing each violation)
 *	and nothing is written. Contact data never reaches a log line.
 *
 * CONSENT
 *	A consent record is an event with its own time: a grant or a
 *	withdrawal replaces the stored one only if it is no older, so a
 *	late-arriving old grant never undoes a withdrawal. Delivery and
 *	calls read consent when they act, so a withdrawal takes effect at
 *	once.
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

/* Validates a consent record; f names it in field violations. */
static void
check_consent(rpc_call *c, const Rekindle__V1__Consent *co, const char *f)
{
	arena *a = rpc_arena(c);
	const char *why;

	if (co == NULL) {
		rpc_bad_field(c, f, "is required");
		return;
	}
	if (co->channel <= REKINDLE__V1__CHANNEL__CHANNEL_UNSPECIFIED ||
	    co->channel > REKINDLE__V1__CHANNEL__CHANNEL_CALL)
		rpc_bad_field(c, arena_printf(a, "%s.channel", f),
		    "must name a channel");
	if (co->purpose <= REKINDLE__V1__PURPOSE__PURPOSE_UNSPECIFIED ||
	    co->purpose > REKINDLE__V1__PURPOSE__PURPOSE_ANALYTICS)
		rpc_bad_field(c, arena_printf(a, "%s.purpose", f),
		    "must name a purpose");
	if (co->time == NULL)
		rpc_bad_field(c, arena_printf(a, "%s.time", f),
		    "is required: when consent was given or withdrawn");
	else if ((why = validate_past_time(co->time->seconds,
	    (int64_t)time(NULL))) != NULL)
		rpc_bad_field(c, arena_printf(a, "%s.time", f), "%s", why);
	if (co->source == NULL || *co->source == '\0')
		rpc_bad_field(c, arena_printf(a, "%s.source", f),
		    "is required: where consent was captured");
	else if ((why = validate_text(co->source, 100)) != NULL)
		rpc_bad_field(c, arena_printf(a, "%s.source", f), "%s", why);
	if (co->evidence && (why = validate_text(co->evidence, 500)) != NULL)
		rpc_bad_field(c, arena_printf(a, "%s.evidence", f), "%s", why);
}

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
	for (size_t k = 0; k < cu->n_consents; k++)
		check_consent(c, cu->consents[k], arena_printf(rpc_arena(c),
		    "customers[%d].consents[%d]", (int)i, (int)k));
}

static const char *
or_null(const char *s)
{
	return (s && *s ? s : NULL);
}

/* Records a consent event of customer id in the ledger (migration 019:
 * the newest event is the state). */
static rk_err
write_consent(rpc_call *c, const char *id, const Rekindle__V1__Consent *co)
{
	char ch[8], pu[8], us[24];
	const char *q[8] = {id, ch, pu, co->granted ? "true" : "false", us,
	    co->source, co->evidence && *co->evidence ? co->evidence : NULL,
	    arena_printf(rpc_arena(c), "token:%lld", (long long)rpc_token_id(c))};

	snprintf(ch, sizeof(ch), "%d", (int)co->channel);
	snprintf(pu, sizeof(pu), "%d", (int)co->purpose);
	snprintf(us, sizeof(us), "%lld", (long long)pbtime_us(co->time));
	return (db_execp(rpc_db(c), "consent_record", "SELECT "
	    "rekindle.record_consent($1, $2::smallint, $3::smallint, $4, "
	    PBTIME_SQL(5) ", $6, $7, $8)", 8, q, NULL));
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
	for (size_t k = 0; rc == RK_OK && k < cu->n_consents; k++)
		rc = write_consent(c, cu->customer_id, cu->consents[k]);
	return (rc);
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

/* A customer's columns (alias c, with its profile p), then its consent's
 * (alias k); the enum numbers them. */
#define CUSTOMER_COLS                                                     \
	"c.id, c.full_name, c.phone_e164, c.email, c.push_token, "          \
	"c.zalo_available, c.time_zone, c.language, "                       \
	PBTIME_US("c.created_at") ", " PBTIME_US("c.updated_at") ", "       \
	PROFILE_VIEW_COLS
#define CONSENT_COLS                                                      \
	"k.channel, k.purpose, k.granted, " PBTIME_US("k.granted_at") ", "  \
	"k.source"
enum {
	G_ID, G_NAME, G_PHONE, G_EMAIL, G_PUSH, G_ZALO, G_TZ, G_LANG,
	G_CREATED, G_UPDATED, G_PROFILE, G_NCOLS = G_PROFILE +
	PROFILE_VIEW_NCOLS
};
enum { K_CH, K_PURPOSE, K_GRANTED, K_AT, K_SOURCE };

static char *
col_str(arena *a, db_res *r, int row, int col)
{
	const char *v = db_res_str(r, row, col);

	return (arena_strdup(a, v ? v : ""));
}

/* The Customer in row of r (CUSTOMER_COLS), room for n consents. */
static Rekindle__V1__Customer *
customer_view(arena *a, db_res *r, int row, size_t n)
{
	Rekindle__V1__Customer *cu = arena_alloc(a, sizeof(*cu));

	rekindle__v1__customer__init(cu);
	cu->customer_id = col_str(a, r, row, G_ID);
	cu->full_name = col_str(a, r, row, G_NAME);
	cu->phone = col_str(a, r, row, G_PHONE);
	cu->email = col_str(a, r, row, G_EMAIL);
	cu->push_token = col_str(a, r, row, G_PUSH);
	cu->zalo_available = db_res_bool(r, row, G_ZALO);
	cu->time_zone = col_str(a, r, row, G_TZ);
	cu->language = col_str(a, r, row, G_LANG);
	cu->create_time = pbtime_new(a, db_res_int64(r, row, G_CREATED));
	cu->update_time = pbtime_new(a, db_res_int64(r, row, G_UPDATED));
	cu->profile = profile_view(a, r, row, G_PROFILE);
	cu->consents = arena_alloc(a, sizeof(void *) * (n + 1));
	return (cu);
}

/* Adds the consent in row of r (CONSENT_COLS from col0) to cu. */
static void
add_consent(arena *a, Rekindle__V1__Customer *cu, db_res *r, int row,
    int col0)
{
	Rekindle__V1__Consent *co = arena_alloc(a, sizeof(*co));

	rekindle__v1__consent__init(co);
	co->channel = (Rekindle__V1__Channel)db_res_int64(r, row, col0 + K_CH);
	co->purpose = (Rekindle__V1__Purpose)db_res_int64(r, row,
	    col0 + K_PURPOSE);
	co->granted = db_res_bool(r, row, col0 + K_GRANTED);
	co->time = pbtime_new(a, db_res_int64(r, row, col0 + K_AT));
	co->source = col_str(a, r, row, col0 + K_SOURCE);
	cu->consents[cu->n_consents++] = co;
}

/* Customer id with its profile and consents (RK_ENOTFOUND: none). */
static rk_err
load_customer(rpc_call *c, const char *id, Rekindle__V1__Customer **out)
{
	const char *p[1] = {id};
	arena *a = rpc_arena(c);
	db_res *res;
	rk_err rc;
	int n;

	rc = db_execp(rpc_db(c), "customer_get", "SELECT " CUSTOMER_COLS ", "
	    CONSENT_COLS " FROM customers c "
	    "LEFT JOIN customer_profiles p ON p.customer_id = c.id "
	    "LEFT JOIN customer_consents k ON k.customer_id = c.id "
	    "WHERE c.id = $1 ORDER BY k.channel, k.purpose", 1, p, &res);
	if (rc != RK_OK)
		return (rc);
	if ((n = db_res_nrows(res)) == 0) {
		db_res_free(res);
		return (rpc_error(c, RK_ENOTFOUND, "customer not found"));
	}
	*out = customer_view(a, res, 0, (size_t)n);
	for (int i = 0; i < n && !db_res_isnull(res, i, G_NCOLS + K_CH); i++)
		add_consent(a, *out, res, i, G_NCOLS);
	db_res_free(res);
	return (RK_OK);
}

static rk_err
get_customer(rpc_call *c, const ProtobufCMessage *req, ProtobufCMessage **resp)
{
	const Rekindle__V1__GetCustomerRequest *r = (const void *)req;
	Rekindle__V1__Customer *cu;
	const char *why;
	rk_err rc;

	if ((why = validate_id(r->customer_id)) != NULL)
		return (rpc_bad_field(c, "customer_id", "%s", why));
	if ((rc = load_customer(c, r->customer_id, &cu)) == RK_OK)
		*resp = &cu->base;
	return (rc);
}

/*
 * A page of customers in id order, each with its profile and consents
 * (two queries, whatever the page size); the token is the last id.
 */
static rk_err
list_customers(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	const Rekindle__V1__ListCustomersRequest *r = (const void *)req;
	Rekindle__V1__ListCustomersResponse *out;
	int size = r->page_size <= 0 ? 100 : r->page_size > 1000 ? 1000 :
	    r->page_size;
	const char *p[3], **ids;
	char lim[16], after[24];
	arena *a = rpc_arena(c);
	db_res *res, *k;
	rk_err rc;
	int n, at = 0;

	if (r->page_size < 0)
		rpc_bad_field(c, "page_size", "must be >= 0");
	if (r->page_token && *r->page_token && validate_id(r->page_token))
		rpc_bad_field(c, "page_token", "is not a token this server "
		    "issued");
	if (r->updated_after != NULL && (r->updated_after->seconds < 0 ||
	    r->updated_after->nanos < 0 || r->updated_after->nanos > 999999999))
		rpc_bad_field(c, "updated_after", "is not a valid time");
	if ((rc = rpc_fields_ok(c)) != RK_OK)
		return (rc);
	snprintf(lim, sizeof(lim), "%d", size + 1);
	snprintf(after, sizeof(after), "%lld", r->updated_after ?
	    (long long)pbtime_us(r->updated_after) : 0LL);
	p[0] = lim;
	p[1] = r->page_token && *r->page_token ? r->page_token : "";
	p[2] = r->updated_after ? after : NULL;
	rc = db_execp(rpc_read_db(c), "customer_list", "SELECT " CUSTOMER_COLS
	    " FROM customers c "
	    "LEFT JOIN customer_profiles p ON p.customer_id = c.id "
	    "WHERE c.id > $2 AND ($3::bigint IS NULL OR c.updated_at >= "
	    PBTIME_SQL(3) ") ORDER BY c.id LIMIT $1", 3, p, &res);
	if (rc != RK_OK)
		return (rc);
	n = db_res_nrows(res);
	out = arena_alloc(a, sizeof(*out));
	rekindle__v1__list_customers_response__init(out);
	out->n_customers = (size_t)(n > size ? size : n);
	out->customers = arena_alloc(a, sizeof(void *) *
	    (out->n_customers + 1));
	ids = arena_alloc(a, sizeof(char *) * (out->n_customers + 1));
	for (size_t i = 0; i < out->n_customers; i++)
		ids[i] = db_res_str(res, (int)i, G_ID);
	p[0] = db_text_array(a, ids, out->n_customers);
	rc = db_execp(rpc_read_db(c), "customer_list_consents", "SELECT "
	    "k.customer_id, " CONSENT_COLS ", count(*) OVER (PARTITION BY "
	    "k.customer_id) FROM customer_consents k "
	    "WHERE k.customer_id = ANY ($1::text[]) "
	    "ORDER BY k.customer_id, k.channel, k.purpose", 1, p, &k);
	if (rc != RK_OK) {
		db_res_free(res);
		return (rc);
	}
	/* both in id order: merge */
	for (size_t i = 0; i < out->n_customers; i++) {
		const char *id = ids[i];
		size_t nk = db_res_group_len(k, at, 0, 6, id);

		out->customers[i] = customer_view(a, res, (int)i, nk);
		for (size_t j = 0; j < nk; j++)
			add_consent(a, out->customers[i], k, at++, 1);
	}
	out->next_page_token = n > size ?
	    out->customers[out->n_customers - 1]->customer_id : "";
	db_res_free(k);
	db_res_free(res);
	*resp = &out->base;
	return (RK_OK);
}

/*
 * The effect of UpdateConsent, inside its transaction. The reply kept for
 * a retry is the customer id alone: no contact data is copied into the
 * idempotency store; the caller answers with the customer read afresh.
 */
static rk_err
write_consent_update(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	const Rekindle__V1__UpdateConsentRequest *r = (const void *)req;
	const char *p[1] = {r->customer_id};
	Rekindle__V1__Customer *cu;
	db_res *res;
	rk_err rc;
	bool found;

	/* locks the customer: concurrent updates of one customer in turn */
	rc = db_execp(rpc_db(c), "consent_customer", "UPDATE customers SET "
	    "updated_at = now() WHERE id = $1 RETURNING 1", 1, p, &res);
	if (rc != RK_OK)
		return (rc);
	found = db_res_nrows(res) == 1;
	db_res_free(res);
	if (!found)
		return (rpc_error(c, RK_ENOTFOUND, "customer not found"));
	if ((rc = write_consent(c, r->customer_id, r->consent)) != RK_OK)
		return (rc);
	cu = arena_alloc(rpc_arena(c), sizeof(*cu));
	rekindle__v1__customer__init(cu);
	cu->customer_id = r->customer_id;
	*resp = &cu->base;
	return (RK_OK);
}

static rk_err
update_consent(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	static const char method[] = "UpdateConsent";
	const Rekindle__V1__UpdateConsentRequest *r = (const void *)req;
	Rekindle__V1__Customer *cu;
	const char *why;
	rk_err rc;

	if ((why = validate_id(r->customer_id)) != NULL)
		rpc_bad_field(c, "customer_id", "%s", why);
	if (r->request_id && *r->request_id && validate_id(r->request_id))
		rpc_bad_field(c, "request_id", "%s", validate_id(r->request_id));
	check_consent(c, r->consent, "consent");
	if ((rc = rpc_fields_ok(c)) != RK_OK)
		return (rc);
	rc = idem_transaction(c, method, r->request_id, req,
	    &rekindle__v1__customer__descriptor, write_consent_update, resp);
	if (rc != RK_OK)
		return (rc);
	log_info("CONSENT-UPDATE", "customer %s: channel %d, purpose %d %s",
	    r->customer_id, (int)r->consent->channel, (int)r->consent->purpose,
	    r->consent->granted ? "granted" : "withdrawn");
	if ((rc = load_customer(c, r->customer_id, &cu)) == RK_OK)
		*resp = &cu->base;
	return (rc);
}

const struct rpc_handler customer_handlers[] = {
	{.path = "/rekindle.v1.CustomerService/UpsertCustomers",
	    .unary = upsert_customers},
	{.path = "/rekindle.v1.CustomerService/IngestTransactions",
	    .message = ingest_message,
	    .finish = ingest_finish, .closed = ingest_closed},
	{.path = "/rekindle.v1.CustomerService/GetCustomer",
	    .unary = get_customer},
	{.path = "/rekindle.v1.CustomerService/ListCustomers",
	    .unary = list_customers},
	{.path = "/rekindle.v1.CustomerService/UpdateConsent",
	    .unary = update_consent},
	{.path = NULL},
};
