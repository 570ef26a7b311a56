/*
 * offer_rpc.c - OfferService: the offer catalogue (voucher, cashback %,
 * fixed amount; tied to a partner or a category, or a fallback), budgets
 * and quantity caps, per-channel message templates checked when saved
 * (common/template.c), and voucher code pools.
 *
 * Budgets and caps are spent by campaign launches with conditional
 * UPDATEs under CHECK constraints (007_offers.sql); here they are only set,
 * and never below what is already spent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "campaign.h"
#include "idem.h"
#include "log.h"
#include "offer_rpc.h"
#include "pbtime.h"
#include "rekindle/v1/offer.pb-c.h"
#include "template.h"
#include "validate.h"

#define MAX_CODES_PER_CALL 10000
#define MAX_URL_LEN 500

#define OFFER_COLS                                                        \
	"offer_id, title, kind, coalesce(partner_id, ''), "               \
	"coalesce(category, ''), coalesce(cashback_percent, 0), "         \
	"amount_minor, currency, " PBTIME_US("valid_from") ", "           \
	PBTIME_US("valid_until") ", coalesce(budget_minor, 0), "          \
	"budget_used_minor, coalesce(quantity_cap, 0), quantity_used, "   \
	"landing_url, fallback, (SELECT count(*) FROM voucher_codes v "   \
	" WHERE v.offer_id = o.offer_id AND v.customer_id IS NULL)"

enum { O_ID, O_TITLE, O_KIND, O_PARTNER, O_CATEGORY, O_CASHBACK, O_AMOUNT,
	O_CURRENCY, O_FROM, O_UNTIL, O_BUDGET, O_BUDGET_USED, O_CAP, O_USED,
	O_URL, O_FALLBACK, O_CODES };

void
offer_check_template(rpc_call *c, const char *f, const Rekindle__V1__MessageTemplate *t,
    bool seen[5])
{
	static const struct {
		bool subject, body, html, provider;
		enum tmpl_part subject_part, body_part;
	} need[5] = {
		[REKINDLE__V1__CHANNEL__CHANNEL_EMAIL] = {true, true, false, false,
		    TP_EMAIL_SUBJECT, TP_EMAIL_TEXT},
		[REKINDLE__V1__CHANNEL__CHANNEL_SMS] = {false, true, false, false,
		    0, TP_SMS},
		[REKINDLE__V1__CHANNEL__CHANNEL_ZNS] = {false, false, false, true,
		    0, TP_SMS},
		[REKINDLE__V1__CHANNEL__CHANNEL_PUSH] = {true, true, false, false,
		    TP_PUSH_TITLE, TP_PUSH_BODY},
	};
	char buf[256];
	const char *why;
	int ch = (int)t->channel;

	if (ch < 1 || ch > 4) {
		rpc_bad_field(c, arena_printf(rpc_arena(c), "%s.channel", f), "must be EMAIL, SMS, "
		    "ZNS or PUSH");
		return;
	}
	if (seen[ch])
		rpc_bad_field(c, arena_printf(rpc_arena(c), "%s.channel", f), "has a template "
		    "already");
	seen[ch] = true;
	if (*t->subject && !need[ch].subject)
		rpc_bad_field(c, arena_printf(rpc_arena(c), "%s.subject", f), "this channel has no "
		    "subject");
	else if (need[ch].subject && *t->subject == '\0')
		rpc_bad_field(c, arena_printf(rpc_arena(c), "%s.subject", f), "is required");
	else if (*t->subject && (why = tmpl_check(need[ch].subject_part,
	    t->subject, buf, sizeof(buf))) != NULL)
		rpc_bad_field(c, arena_printf(rpc_arena(c), "%s.subject", f), "%s", why);
	if (need[ch].body && *t->body == '\0')
		rpc_bad_field(c, arena_printf(rpc_arena(c), "%s.body", f), "is required");
	else if (*t->body && (why = tmpl_check(need[ch].body_part, t->body, buf,
	    sizeof(buf))) != NULL)
		rpc_bad_field(c, arena_printf(rpc_arena(c), "%s.body", f), "%s", why);
	if (*t->html_body && ch != REKINDLE__V1__CHANNEL__CHANNEL_EMAIL)
		rpc_bad_field(c, arena_printf(rpc_arena(c), "%s.html_body", f), "only email has an "
		    "HTML part");
	else if (*t->html_body && (why = tmpl_check(TP_EMAIL_HTML, t->html_body,
	    buf, sizeof(buf))) != NULL)
		rpc_bad_field(c, arena_printf(rpc_arena(c), "%s.html_body", f), "%s", why);
	if (need[ch].provider && (why = validate_id(t->provider_template_id)) !=
	    NULL)
		rpc_bad_field(c, arena_printf(rpc_arena(c), "%s.provider_template_id", f), "%s",
		    why);
	else if (!need[ch].provider && *t->provider_template_id)
		rpc_bad_field(c, arena_printf(rpc_arena(c), "%s.provider_template_id", f), "only ZNS "
		    "templates live at the provider");
}

static void
check_templates(rpc_call *c, const Rekindle__V1__Offer *o)
{
	bool seen[5] = {false};

	if (o->n_templates == 0)
		rpc_bad_field(c, "offer.templates", "at least one channel's "
		    "template is required");
	for (size_t i = 0; i < o->n_templates; i++)
		offer_check_template(c, arena_printf(rpc_arena(c), "offer.templates[%zu]", i),
		    o->templates[i], seen);
}

static void
check_landing_url(rpc_call *c, const char *url)
{
	if (validate_text(url, MAX_URL_LEN) != NULL || (strncmp(url, "https://",
	    8) != 0 && strncmp(url, "http://", 7) != 0) || strchr(url, ' '))
		rpc_bad_field(c, "offer.landing_url", "must be an http(s) URL of "
		    "at most %d bytes", MAX_URL_LEN);
}

static void
check_validity(rpc_call *c, int64_t from, int64_t until)
{
	if (from <= 0)
		rpc_bad_field(c, "offer.valid_from", "is required");
	if (until <= 0)
		rpc_bad_field(c, "offer.valid_until", "is required");
	else if (until <= from)
		rpc_bad_field(c, "offer.valid_until", "must be after valid_from");
	else if (until / 1000000 <= (int64_t)time(NULL))
		rpc_bad_field(c, "offer.valid_until", "is in the past");
}

/* Every check of CreateOffer that needs no database. */
static void
check_offer(rpc_call *c, const Rekindle__V1__Offer *o)
{
	const char *why;

	if ((why = validate_id(o->offer_id)) != NULL)
		rpc_bad_field(c, "offer.offer_id", "%s", why);
	if ((why = validate_text(o->title, MAX_NAME_LEN)) != NULL ||
	    *o->title == '\0')
		rpc_bad_field(c, "offer.title", "%s", why ? why : "is required");
	if (o->kind < 1 || o->kind > 3)
		rpc_bad_field(c, "offer.kind", "must be VOUCHER, CASHBACK_PERCENT "
		    "or FIXED_AMOUNT");
	if (*o->partner_id && (why = validate_partner_id(o->partner_id)) != NULL)
		rpc_bad_field(c, "offer.partner_id", "%s", why);
	if (*o->category && (why = validate_id(o->category)) != NULL)
		rpc_bad_field(c, "offer.category", "%s", why);
	if (!o->fallback && (*o->partner_id == '\0') == (*o->category == '\0'))
		rpc_bad_field(c, "offer.partner_id", "an offer is tied to a "
		    "partner or a category (exactly one), unless it is the "
		    "fallback");
	if (o->kind == REKINDLE__V1__OFFER_KIND__OFFER_KIND_CASHBACK_PERCENT &&
	    !(o->cashback_percent > 0 && o->cashback_percent <= 100))
		rpc_bad_field(c, "offer.cashback_percent", "must be in (0, 100]");
	else if (o->kind != REKINDLE__V1__OFFER_KIND__OFFER_KIND_CASHBACK_PERCENT &&
	    o->cashback_percent != 0)
		rpc_bad_field(c, "offer.cashback_percent", "only for cashback "
		    "offers");
	if (o->amount == NULL || o->amount->amount_minor <= 0)
		rpc_bad_field(c, "offer.amount", "a positive amount is required "
		    "(for cashback: the most one customer gets back)");
	else if ((why = validate_currency(o->amount->currency)) != NULL)
		rpc_bad_field(c, "offer.amount.currency", "%s", why);
	if (o->budget && o->budget->amount_minor < 0)
		rpc_bad_field(c, "offer.budget", "must not be negative");
	else if (o->budget && o->budget->amount_minor > 0 && o->amount &&
	    strcmp(o->budget->currency, o->amount->currency) != 0)
		rpc_bad_field(c, "offer.budget.currency", "must be the amount's "
		    "currency");
	if (o->quantity_cap < 0)
		rpc_bad_field(c, "offer.quantity_cap", "must not be negative");
	check_validity(c, pbtime_us(o->valid_from), pbtime_us(o->valid_until));
	check_landing_url(c, o->landing_url);
	check_templates(c, o);
}

/* The partner and category an offer names must exist. */
static rk_err
check_refs(rpc_call *c, const char *partner, const char *category)
{
	const char *q[2] = {*partner ? partner : NULL, *category ? category :
	    NULL};
	db_res *res;
	rk_err rc;

	rc = db_execp(rpc_db(c), "offer_refs", "SELECT $1::text IS NULL OR "
	    "EXISTS (SELECT 1 FROM partners WHERE partner_id = $1), "
	    "$2::text IS NULL OR EXISTS (SELECT 1 FROM categories WHERE "
	    "category = $2)", 2, q, &res);
	if (rc != RK_OK)
		return (rc);
	if (!db_res_bool(res, 0, 0))
		rpc_bad_field(c, "offer.partner_id", "no such partner");
	if (!db_res_bool(res, 0, 1))
		rpc_bad_field(c, "offer.category", "no such category");
	db_res_free(res);
	return (rpc_fields_ok(c));
}

/* Replaces the offer's templates, in the open transaction. */
static rk_err
write_templates(rpc_call *c, const Rekindle__V1__Offer *o)
{
	const char *q[1] = {o->offer_id};
	rk_err rc;

	rc = db_execp(rpc_db(c), "offer_templates_clear", "DELETE FROM "
	    "offer_templates WHERE offer_id = $1", 1, q, NULL);
	for (size_t i = 0; rc == RK_OK && i < o->n_templates; i++) {
		const Rekindle__V1__MessageTemplate *t = o->templates[i];
		char ch[8];
		const char *p[6] = {o->offer_id, ch, t->subject, t->body,
		    t->html_body, t->provider_template_id};

		snprintf(ch, sizeof(ch), "%d", (int)t->channel);
		rc = db_execp(rpc_db(c), "offer_template_put", "INSERT INTO "
		    "offer_templates (offer_id, channel, subject, body, "
		    "html_body, provider_template_id) VALUES ($1, $2, $3, $4, $5, "
		    "$6)", 6, p, NULL);
	}
	return (rc);
}

/* The Offer in row of r (OFFER_COLS), without its templates. */
static Rekindle__V1__Offer *
offer_view(arena *a, db_res *r, int row)
{
	Rekindle__V1__Offer *o = arena_alloc(a, sizeof(*o));
	const char *cur = arena_strdup(a, db_res_str(r, row, O_CURRENCY));
	Rekindle__V1__Money *m[3];
	int64_t v[3] = {db_res_int64(r, row, O_AMOUNT),
	    db_res_int64(r, row, O_BUDGET), db_res_int64(r, row, O_BUDGET_USED)};

	rekindle__v1__offer__init(o);
	o->offer_id = arena_strdup(a, db_res_str(r, row, O_ID));
	o->title = arena_strdup(a, db_res_str(r, row, O_TITLE));
	o->kind = (Rekindle__V1__OfferKind)db_res_int64(r, row, O_KIND);
	o->partner_id = arena_strdup(a, db_res_str(r, row, O_PARTNER));
	o->category = arena_strdup(a, db_res_str(r, row, O_CATEGORY));
	o->cashback_percent = db_res_double(r, row, O_CASHBACK);
	for (int i = 0; i < 3; i++) {
		m[i] = arena_alloc(a, sizeof(*m[i]));
		rekindle__v1__money__init(m[i]);
		m[i]->amount_minor = v[i];
		m[i]->currency = (char *)cur;
	}
	o->amount = m[0];
	o->budget = v[1] > 0 ? m[1] : NULL;
	o->budget_used = m[2];
	o->valid_from = pbtime_new(a, db_res_int64(r, row, O_FROM));
	o->valid_until = pbtime_new(a, db_res_int64(r, row, O_UNTIL));
	o->quantity_cap = db_res_int64(r, row, O_CAP);
	o->quantity_used = db_res_int64(r, row, O_USED);
	o->landing_url = arena_strdup(a, db_res_str(r, row, O_URL));
	o->fallback = db_res_bool(r, row, O_FALLBACK);
	o->codes_available = db_res_int64(r, row, O_CODES);
	return (o);
}

/* Fills in the templates of offers o[0..n), in offer id order, with one
 * query. */
static rk_err
add_templates(rpc_call *c, Rekindle__V1__Offer **o, size_t n)
{
	arena *a = rpc_arena(c);
	const char **ids = arena_alloc(a, sizeof(char *) * (n + 1)), *p[1];
	db_res *r;
	rk_err rc;
	int at = 0;

	for (size_t i = 0; i < n; i++)
		ids[i] = o[i]->offer_id;
	p[0] = db_text_array(a, ids, n);
	rc = db_execp(rpc_db(c), "offer_templates_get", "SELECT offer_id, "
	    "channel, subject, body, html_body, provider_template_id, "
	    "count(*) OVER (PARTITION BY offer_id) FROM offer_templates "
	    "WHERE offer_id = ANY ($1::text[]) ORDER BY offer_id, channel", 1,
	    p, &r);
	if (rc != RK_OK)
		return (rc);
	for (size_t i = 0; i < n; i++) {
		Rekindle__V1__Offer *of = o[i];

		of->n_templates = db_res_group_len(r, at, 0, 6, of->offer_id);
		of->templates = arena_alloc(a, sizeof(void *) *
		    (of->n_templates + 1));
		for (size_t k = 0; k < of->n_templates; k++, at++) {
			Rekindle__V1__MessageTemplate *t = arena_alloc(a,
			    sizeof(*t));

			rekindle__v1__message_template__init(t);
			t->channel = (Rekindle__V1__Channel)db_res_int64(r, at, 1);
			t->subject = arena_strdup(a, db_res_str(r, at, 2));
			t->body = arena_strdup(a, db_res_str(r, at, 3));
			t->html_body = arena_strdup(a, db_res_str(r, at, 4));
			t->provider_template_id = arena_strdup(a, db_res_str(r, at,
			    5));
			of->templates[k] = t;
		}
	}
	db_res_free(r);
	return (RK_OK);
}

/* The offer's row and templates as an Offer (NOT_FOUND if none). */
static rk_err
load_offer(rpc_call *c, const char *id, bool lock, Rekindle__V1__Offer **out)
{
	const char *p[1] = {id};
	db_res *r;
	rk_err rc;

	rc = lock ? db_execp(rpc_db(c), "offer_get_locked", "SELECT "
	    OFFER_COLS " FROM offers o WHERE offer_id = $1 FOR UPDATE", 1, p,
	    &r) : db_execp(rpc_db(c), "offer_get", "SELECT " OFFER_COLS
	    " FROM offers o WHERE offer_id = $1", 1, p, &r);
	if (rc != RK_OK)
		return (rc);
	if (db_res_nrows(r) == 0) {
		db_res_free(r);
		return (rpc_error(c, RK_ENOTFOUND, "offer not found"));
	}
	*out = offer_view(rpc_arena(c), r, 0);
	db_res_free(r);
	return (add_templates(c, out, 1));
}

/* The effect of CreateOffer, inside its transaction. */
static rk_err
write_offer(rpc_call *c, const ProtobufCMessage *req, ProtobufCMessage **resp)
{
	const Rekindle__V1__Offer *o = ((const Rekindle__V1__CreateOfferRequest *)
	    req)->offer;
	char kind[8], pct[32], amount[24], from[24], until[24], budget[24],
	    cap[24];
	const char *p[14] = {o->offer_id, o->title, kind,
	    *o->partner_id ? o->partner_id : NULL,
	    *o->category ? o->category : NULL,
	    o->kind == REKINDLE__V1__OFFER_KIND__OFFER_KIND_CASHBACK_PERCENT ?
	    pct : NULL, amount, o->amount->currency, from, until,
	    o->budget && o->budget->amount_minor > 0 ? budget : NULL,
	    o->quantity_cap > 0 ? cap : NULL, o->landing_url,
	    o->fallback ? "true" : "false"};
	Rekindle__V1__Offer *out;
	db_res *r;
	rk_err rc;
	int n;

	if ((rc = check_refs(c, o->partner_id, o->category)) != RK_OK)
		return (rc);
	snprintf(kind, sizeof(kind), "%d", (int)o->kind);
	snprintf(pct, sizeof(pct), "%.6f", o->cashback_percent);
	snprintf(amount, sizeof(amount), "%lld", (long long)o->amount->amount_minor);
	snprintf(from, sizeof(from), "%lld", (long long)pbtime_us(o->valid_from));
	snprintf(until, sizeof(until), "%lld",
	    (long long)pbtime_us(o->valid_until));
	snprintf(budget, sizeof(budget), "%lld",
	    (long long)(o->budget ? o->budget->amount_minor : 0));
	snprintf(cap, sizeof(cap), "%lld", (long long)o->quantity_cap);
	rc = db_execp(rpc_db(c), "offer_insert", "INSERT INTO offers (offer_id, "
	    "title, kind, partner_id, category, cashback_percent, amount_minor, "
	    "currency, valid_from, valid_until, budget_minor, quantity_cap, "
	    "landing_url, fallback) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
	    PBTIME_SQL(9) ", " PBTIME_SQL(10) ", $11, $12, $13, $14) "
	    "ON CONFLICT (offer_id) DO NOTHING RETURNING 1", 14, p, &r);
	if (rc != RK_OK)
		return (rc);
	n = db_res_nrows(r);
	db_res_free(r);
	if (n == 0)
		return (rpc_error(c, RK_ECONFLICT, "offer %s already exists; "
		    "UpdateOffer changes it", o->offer_id));
	if ((rc = write_templates(c, o)) != RK_OK ||
	    (rc = load_offer(c, o->offer_id, false, &out)) != RK_OK)
		return (rc);
	*resp = &out->base;
	return (RK_OK);
}

static rk_err
create_offer(rpc_call *c, const ProtobufCMessage *req, ProtobufCMessage **resp)
{
	const Rekindle__V1__CreateOfferRequest *r = (const void *)req;
	Rekindle__V1__Offer *out;
	const char *why;
	rk_err rc;

	if (r->offer == NULL)
		return (rpc_bad_field(c, "offer", "is required"));
	if (r->request_id && *r->request_id &&
	    (why = validate_id(r->request_id)) != NULL)
		rpc_bad_field(c, "request_id", "%s", why);
	check_offer(c, r->offer);
	if ((rc = rpc_fields_ok(c)) != RK_OK)
		return (rc);
	rc = idem_transaction(c, "CreateOffer", r->request_id, req,
	    &rekindle__v1__offer__descriptor, write_offer,
	    (ProtobufCMessage **)&out);
	if (rc != RK_OK)
		return (rc);
	log_info("OFFER-CREATE", "offer %s created", out->offer_id);
	*resp = &out->base;
	return (RK_OK);
}

static rk_err
get_offer(rpc_call *c, const ProtobufCMessage *req, ProtobufCMessage **resp)
{
	const Rekindle__V1__GetOfferRequest *r = (const void *)req;
	Rekindle__V1__Offer *o;
	const char *why;
	rk_err rc;

	if ((why = validate_id(r->offer_id)) != NULL)
		return (rpc_bad_field(c, "offer_id", "%s", why));
	if ((rc = load_offer(c, r->offer_id, false, &o)) == RK_OK)
		*resp = &o->base;
	return (rc);
}

static rk_err
list_offers(rpc_call *c, const ProtobufCMessage *req, ProtobufCMessage **resp)
{
	const Rekindle__V1__ListOffersRequest *r = (const void *)req;
	Rekindle__V1__ListOffersResponse *out;
	int size = r->page_size <= 0 ? 50 : r->page_size > 100 ? 100 :
	    r->page_size;
	char lim[16];
	const char *p[4] = {lim, r->page_token && *r->page_token ?
	    r->page_token : "", r->partner_id && *r->partner_id ?
	    r->partner_id : NULL, r->category && *r->category ? r->category :
	    NULL};
	arena *a = rpc_arena(c);
	db_res *res;
	rk_err rc = RK_OK;
	int n;

	if (*p[1] && validate_id(p[1]) != NULL)
		return (rpc_bad_field(c, "page_token", "is not a token this "
		    "server issued"));
	snprintf(lim, sizeof(lim), "%d", size + 1);
	/* the page and then its templates: two queries, whatever its size */
	if ((rc = db_execp(rpc_db(c), "offer_list", "SELECT " OFFER_COLS
	    " FROM offers o WHERE o.offer_id > $2 AND ($3::text IS NULL OR "
	    "o.partner_id = $3) AND ($4::text IS NULL OR o.category = $4) "
	    "ORDER BY o.offer_id LIMIT $1", 4, p, &res)) != RK_OK)
		return (rc);
	n = db_res_nrows(res);
	out = arena_alloc(a, sizeof(*out));
	rekindle__v1__list_offers_response__init(out);
	out->n_offers = (size_t)(n > size ? size : n);
	out->offers = arena_alloc(a, sizeof(void *) * (out->n_offers + 1));
	for (size_t i = 0; i < out->n_offers; i++)
		out->offers[i] = offer_view(a, res, (int)i);
	db_res_free(res);
	if ((rc = add_templates(c, out->offers, out->n_offers)) != RK_OK)
		return (rc);
	out->next_page_token = n > size ?
	    out->offers[out->n_offers - 1]->offer_id : "";
	*resp = &out->base;
	return (RK_OK);
}

/* The update_mask paths UpdateOffer accepts. */
enum { U_TITLE = 1, U_FROM = 2, U_UNTIL = 4, U_BUDGET = 8, U_CAP = 16,
	U_TEMPLATES = 32, U_URL = 64 };

static int
mask_of(rpc_call *c, const Google__Protobuf__FieldMask *m)
{
	static const struct { const char *path; int bit; } paths[] = {
		{"title", U_TITLE}, {"valid_from", U_FROM},
		{"valid_until", U_UNTIL}, {"budget", U_BUDGET},
		{"quantity_cap", U_CAP}, {"templates", U_TEMPLATES},
		{"landing_url", U_URL},
	};
	int mask = 0;

	if (m == NULL || m->n_paths == 0) {
		rpc_bad_field(c, "update_mask", "is required: the fields to "
		    "change");
		return (0);
	}
	for (size_t i = 0; i < m->n_paths; i++) {
		size_t k;

		for (k = 0; k < sizeof(paths) / sizeof(paths[0]); k++)
			if (strcmp(m->paths[i], paths[k].path) == 0)
				break;
		if (k == sizeof(paths) / sizeof(paths[0]))
			rpc_bad_field(c, arena_printf(rpc_arena(c), "update_mask.paths[%zu]", i),
			    "cannot be changed (title, valid_from, valid_until, "
			    "budget, quantity_cap, templates, landing_url can)");
		else
			mask |= paths[k].bit;
	}
	return (mask);
}

static rk_err
update_offer(rpc_call *c, const ProtobufCMessage *req, ProtobufCMessage **resp)
{
	const Rekindle__V1__UpdateOfferRequest *r = (const void *)req;
	const Rekindle__V1__Offer *o = r->offer;
	Rekindle__V1__Offer *cur, *out;
	int mask = mask_of(c, r->update_mask);
	int64_t from, until;
	const char *why;
	rk_err rc;

	if (o == NULL || (why = validate_id(o->offer_id)) != NULL)
		return (rpc_bad_field(c, "offer.offer_id", "%s", o ? why :
		    "is required"));
	if ((mask & U_TITLE) && ((why = validate_text(o->title,
	    MAX_NAME_LEN)) != NULL || *o->title == '\0'))
		rpc_bad_field(c, "offer.title", "%s", why ? why : "is required");
	if (mask & U_URL)
		check_landing_url(c, o->landing_url);
	if (mask & U_TEMPLATES)
		check_templates(c, o);
	if ((mask & U_CAP) && o->quantity_cap < 0)
		rpc_bad_field(c, "offer.quantity_cap", "must not be negative");
	if ((mask & U_BUDGET) && o->budget && o->budget->amount_minor < 0)
		rpc_bad_field(c, "offer.budget", "must not be negative");
	if ((rc = rpc_fields_ok(c)) != RK_OK)
		return (rc);
	if ((rc = rpc_begin(c)) != RK_OK)
		return (rc);
	if ((rc = load_offer(c, o->offer_id, true, &cur)) != RK_OK)
		goto fail;
	from = mask & U_FROM ? pbtime_us(o->valid_from) : pbtime_us(cur->valid_from);
	until = mask & U_UNTIL ? pbtime_us(o->valid_until) :
	    pbtime_us(cur->valid_until);
	if (mask & (U_FROM | U_UNTIL))
		check_validity(c, from, until);
	if ((mask & U_BUDGET) && o->budget && o->budget->amount_minor > 0 &&
	    strcmp(o->budget->currency, cur->amount->currency) != 0)
		rpc_bad_field(c, "offer.budget.currency", "must be the amount's "
		    "currency (%s)", cur->amount->currency);
	if ((rc = rpc_fields_ok(c)) != RK_OK)
		goto fail;
	if ((mask & U_BUDGET) && o->budget && o->budget->amount_minor > 0 &&
	    o->budget->amount_minor < cur->budget_used->amount_minor) {
		rc = rpc_error(c, RK_EPRECOND, "budget below the %lld already "
		    "reserved", (long long)cur->budget_used->amount_minor);
		goto fail;
	}
	if ((mask & U_CAP) && o->quantity_cap > 0 &&
	    o->quantity_cap < cur->quantity_used) {
		rc = rpc_error(c, RK_EPRECOND, "quantity_cap below the %lld "
		    "already given", (long long)cur->quantity_used);
		goto fail;
	}
	{
		char sfrom[24], suntil[24], budget[24], cap[24], m[8];
		const char *p[8] = {o->offer_id, m, o->title, sfrom, suntil,
		    o->budget && o->budget->amount_minor > 0 ? budget : NULL,
		    o->quantity_cap > 0 ? cap : NULL, o->landing_url};

		snprintf(m, sizeof(m), "%d", mask);
		snprintf(sfrom, sizeof(sfrom), "%lld", (long long)from);
		snprintf(suntil, sizeof(suntil), "%lld", (long long)until);
		snprintf(budget, sizeof(budget), "%lld",
		    (long long)(o->budget ? o->budget->amount_minor : 0));
		snprintf(cap, sizeof(cap), "%lld", (long long)o->quantity_cap);
		rc = db_execp(rpc_db(c), "offer_update", "UPDATE offers SET "
		    "title = CASE WHEN $2::int & 1 > 0 THEN $3 ELSE title END, "
		    "valid_from = " PBTIME_SQL(4) ", valid_until = " PBTIME_SQL(5)
		    ", budget_minor = CASE WHEN $2::int & 8 > 0 THEN $6::bigint "
		    " ELSE budget_minor END, "
		    "quantity_cap = CASE WHEN $2::int & 16 > 0 THEN $7::bigint "
		    " ELSE quantity_cap END, "
		    "landing_url = CASE WHEN $2::int & 64 > 0 THEN $8 ELSE "
		    " landing_url END, updated_at = now() WHERE offer_id = $1", 8,
		    p, NULL);
	}
	if (rc == RK_OK && (mask & U_TEMPLATES))
		rc = write_templates(c, o);
	/* a campaign under way that gives it must keep its words */
	if (rc == RK_OK && (mask & U_TEMPLATES)) {
		const char *k, *gaps;

		if ((rc = campaign_offer_gaps(rpc_db(c), rpc_arena(c),
		    o->offer_id, &k, &gaps)) == RK_OK && k != NULL) {
			rc = rpc_error(c, RK_EPRECOND, "campaign %s, under way, "
			    "would have no message template: %s - keep the "
			    "offer's template for it", k, gaps);
			goto fail;
		}
	}
	if (rc == RK_OK)
		rc = load_offer(c, o->offer_id, false, &out);
	if (rc == RK_OK)
		rc = db_commit(rpc_db(c));
	if (rc != RK_OK)
		goto fail;
	log_info("OFFER-UPDATE", "offer %s updated (mask %d)", out->offer_id,
	    mask);
	*resp = &out->base;
	return (RK_OK);
fail:
	db_rollback(rpc_db(c));
	return (rc);
}

/* A voucher code: 1..64 of A-Z a-z 0-9 - _. */
static bool
good_code(const char *s)
{
	size_t n = strlen(s);

	return (n > 0 && n <= 64 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_") == n);
}

/* The effect of AddVoucherCodes, inside its transaction. */
static rk_err
write_codes(rpc_call *c, const ProtobufCMessage *req, ProtobufCMessage **resp)
{
	const Rekindle__V1__AddVoucherCodesRequest *r = (const void *)req;
	Rekindle__V1__AddVoucherCodesResponse *out;
	const char *p[2] = {r->offer_id, NULL};
	db_res *res;
	rk_err rc;
	int kind;

	rc = db_execp(rpc_db(c), "offer_kind", "SELECT kind FROM offers WHERE "
	    "offer_id = $1 FOR SHARE", 1, p, &res);
	if (rc != RK_OK)
		return (rc);
	kind = db_res_nrows(res) == 1 ? (int)db_res_int64(res, 0, 0) : 0;
	db_res_free(res);
	if (kind == 0)
		return (rpc_error(c, RK_ENOTFOUND, "offer not found"));
	if (kind != REKINDLE__V1__OFFER_KIND__OFFER_KIND_VOUCHER)
		return (rpc_error(c, RK_EPRECOND, "only voucher offers have codes"));
	p[1] = db_text_array(rpc_arena(c), (const char *const *)r->codes,
	    r->n_codes);
	rc = db_execp(rpc_db(c), "voucher_codes_add", "WITH ins AS (INSERT INTO "
	    "voucher_codes (offer_id, code) SELECT $1, unnest($2::text[]) "
	    "ON CONFLICT DO NOTHING RETURNING 1) SELECT count(*) FROM ins", 2, p,
	    &res);
	if (rc != RK_OK)
		return (rc);
	out = arena_alloc(rpc_arena(c), sizeof(*out));
	rekindle__v1__add_voucher_codes_response__init(out);
	out->added = db_res_int64(res, 0, 0);
	out->duplicate = (int64_t)r->n_codes - out->added;
	db_res_free(res);
	*resp = &out->base;
	return (RK_OK);
}

static rk_err
add_voucher_codes(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	const Rekindle__V1__AddVoucherCodesRequest *r = (const void *)req;
	Rekindle__V1__AddVoucherCodesResponse *out;
	const char *why;
	rk_err rc;

	if ((why = validate_id(r->offer_id)) != NULL)
		rpc_bad_field(c, "offer_id", "%s", why);
	if (r->request_id && *r->request_id &&
	    (why = validate_id(r->request_id)) != NULL)
		rpc_bad_field(c, "request_id", "%s", why);
	if (r->n_codes == 0 || r->n_codes > MAX_CODES_PER_CALL)
		rpc_bad_field(c, "codes", "1..%d codes per call",
		    MAX_CODES_PER_CALL);
	for (size_t i = 0; i < r->n_codes && rpc_nviolations(c) < 20; i++)
		if (!good_code(r->codes[i]))
			rpc_bad_field(c, arena_printf(rpc_arena(c), "codes[%zu]", i), "must be 1..64 "
			    "of A-Z a-z 0-9 - _");
	if ((rc = rpc_fields_ok(c)) != RK_OK)
		return (rc);
	rc = idem_transaction(c, "AddVoucherCodes", r->request_id, req,
	    &rekindle__v1__add_voucher_codes_response__descriptor, write_codes,
	    (ProtobufCMessage **)&out);
	if (rc != RK_OK)
		return (rc);
	log_info("VOUCHER-CODES", "offer %s: %lld added, %lld duplicate",
	    r->offer_id, (long long)out->added, (long long)out->duplicate);
	*resp = &out->base;
	return (RK_OK);
}

const struct rpc_handler offer_handlers[] = {
	{.path = "/rekindle.v1.OfferService/CreateOffer", .unary = create_offer},
	{.path = "/rekindle.v1.OfferService/GetOffer",
	    .unary = get_offer},
	{.path = "/rekindle.v1.OfferService/ListOffers",
	    .unary = list_offers},
	{.path = "/rekindle.v1.OfferService/UpdateOffer", .unary = update_offer},
	{.path = "/rekindle.v1.OfferService/AddVoucherCodes",
	    .unary = add_voucher_codes},
	{.path = NULL},
};
