/*
 * fx_rpc.c - UpsertFxRates and ListFxRates: exchange rates into VND per
 * currency and day (rekindle.fx_rates), by which the profiles and the
 * reports count spend in another currency (money.h) instead of dropping
 * it.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "customer_rpc.h"
#include "dbrows.h"
#include "log.h"
#include "rekindle/v1/customer.pb-c.h"
#include "validate.h"

#define MAX_RATES 1000

/* "YYYY-MM-DD" of a real calendar day, 1990..2099. */
static bool
is_day(const char *s)
{
	struct tm tm = {0}, back;
	int y, m, d, n = 0;
	time_t t;

	if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 ||
	    n != 10 || y < 1990 || y > 2099 || m < 1 || m > 12 || d < 1 ||
	    d > 31)
		return (false);
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	t = timegm(&tm);
	return (gmtime_r(&t, &back) != NULL && back.tm_mday == d &&
	    back.tm_mon == m - 1);
}

static rk_err
upsert_fx_rates(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	const Rekindle__V1__UpsertFxRatesRequest *r = (const void *)req;
	Rekindle__V1__UpsertFxRatesResponse *out;
	arena *a = rpc_arena(c);
	struct dbrows rows;
	const char *p[4], *why;
	db_res *res;
	rk_err rc;

	if (r->n_rates == 0 || r->n_rates > MAX_RATES)
		return (rpc_bad_field(c, "rates", "1..%d rates per call",
		    MAX_RATES));
	dbrows_init(&rows, a, 4, r->n_rates);
	for (size_t i = 0; i < r->n_rates; i++) {
		const Rekindle__V1__FxRate *x = r->rates[i];
		const char *f = arena_printf(a, "rates[%zu]", i), **row;

		if ((why = validate_currency(x->currency)) != NULL)
			rpc_bad_field(c, arena_printf(a, "%s.currency", f), "%s", why);
		else if (strcmp(x->currency, "VND") == 0)
			rpc_bad_field(c, arena_printf(a, "%s.currency", f), "VND is "
			    "the bank's own currency");
		if (!is_day(x->day))
			rpc_bad_field(c, arena_printf(a, "%s.day", f), "must be a "
			    "day, YYYY-MM-DD");
		if (!isfinite(x->vnd_per_unit) || x->vnd_per_unit <= 0 ||
		    x->vnd_per_unit > 1e9)
			rpc_bad_field(c, arena_printf(a, "%s.vnd_per_unit", f),
			    "must be above 0 and at most 1e9");
		if (x->minor_units < 0 || x->minor_units > 4)
			rpc_bad_field(c, arena_printf(a, "%s.minor_units", f),
			    "must be 0..4");
		row = dbrows_add(&rows);
		row[0] = x->currency;
		row[1] = x->day;
		row[2] = arena_printf(a, "%.17g", x->vnd_per_unit);
		row[3] = arena_printf(a, "%d", x->minor_units);
	}
	if ((rc = rpc_fields_ok(c)) != RK_OK || (rc = rpc_begin(c)) != RK_OK)
		return (rc);
	dbrows_params(&rows, p);
	/* the last of a currency and day given twice in one call wins */
	rc = db_execp(rpc_db(c), "fx_upsert", "INSERT INTO fx_rates (currency, "
	    "day, vnd_per_unit, minor_units) SELECT DISTINCT ON (cur, d) cur, "
	    "d::date, v, mu FROM unnest($1::text[], $2::text[], $3::float8[], "
	    "$4::smallint[]) WITH ORDINALITY u(cur, d, v, mu, ord) "
	    "ORDER BY cur, d, ord DESC ON CONFLICT (currency, day) DO UPDATE SET "
	    "vnd_per_unit = EXCLUDED.vnd_per_unit, minor_units = "
	    "EXCLUDED.minor_units, updated_at = now()", 4, p, &res);
	if (rc != RK_OK) {
		db_rollback(rpc_db(c));
		return (rc);
	}
	out = arena_alloc(a, sizeof(*out));
	rekindle__v1__upsert_fx_rates_response__init(out);
	out->upserted = db_res_affected(res);
	db_res_free(res);
	if ((rc = db_commit(rpc_db(c))) != RK_OK) {
		db_rollback(rpc_db(c));
		return (rc);
	}
	log_info("FX-RATES", "%lld exchange rates stored",
	    (long long)out->upserted);
	*resp = &out->base;
	return (RK_OK);
}

static rk_err
list_fx_rates(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	const Rekindle__V1__ListFxRatesRequest *r = (const void *)req;
	Rekindle__V1__ListFxRatesResponse *out;
	arena *a = rpc_arena(c);
	const char *p[1] = {r->currency && *r->currency ? r->currency : NULL},
	    *why;
	db_res *res;
	rk_err rc;

	if (p[0] && (why = validate_currency(p[0])) != NULL)
		return (rpc_bad_field(c, "currency", "%s", why));
	rc = db_execp(rpc_db(c), "fx_list", "SELECT currency, day::text, "
	    "vnd_per_unit, minor_units FROM fx_rates WHERE $1::text IS NULL OR "
	    "currency = $1 ORDER BY currency, day DESC LIMIT 10000", 1, p, &res);
	if (rc != RK_OK)
		return (rc);
	out = arena_alloc(a, sizeof(*out));
	rekindle__v1__list_fx_rates_response__init(out);
	out->n_rates = (size_t)db_res_nrows(res);
	out->rates = arena_alloc(a, sizeof(*out->rates) * (out->n_rates + 1));
	for (size_t i = 0; i < out->n_rates; i++) {
		Rekindle__V1__FxRate *x = arena_alloc(a, sizeof(*x));

		rekindle__v1__fx_rate__init(x);
		x->currency = arena_strdup(a, db_res_str(res, (int)i, 0));
		x->day = arena_strdup(a, db_res_str(res, (int)i, 1));
		x->vnd_per_unit = db_res_double(res, (int)i, 2);
		x->minor_units = (int32_t)db_res_int64(res, (int)i, 3);
		out->rates[i] = x;
	}
	db_res_free(res);
	*resp = &out->base;
	return (RK_OK);
}

const struct rpc_handler fx_handlers[] = {
	{.path = "/rekindle.v1.CustomerService/UpsertFxRates",
	    .unary = upsert_fx_rates},
	{.path = "/rekindle.v1.CustomerService/ListFxRates",
	    .unary = list_fx_rates},
	{.path = NULL},
};
