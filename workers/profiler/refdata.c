/*
 * refdata.c - reference data and model parameters for profiling.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "mem.h"
#include "refdata.h"

#define STALE_MS 60000

void
refdata_free(struct refdata *r)
{
	for (int i = 0; i < r->ncategories; i++)
		free(r->category[i]);
	for (int i = 0; i < r->npartners; i++)
		free(r->partner[i]);
	for (int i = 0; i < r->nmerchants; i++)
		free(r->merchants[i].merchant_id);
	for (int i = 0; i < r->nprefixes; i++)
		free(r->prefixes[i].prefix);
	for (int i = 0; i < r->npromos; i++)
		free(r->promos[i].merchant_id);
	free(r->merchants);
	free(r->prefixes);
	free(r->promos);
	churn_model_free(r->churn);
	memset(r, 0, sizeof(*r));
}

static int
index_of(char *const *names, int n, const char *s)
{
	for (int i = 0; s != NULL && i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (i);
	return (-1);
}

static int
cmp_merchant(const void *a, const void *b)
{
	return (strcmp(((const struct merchant_partner *)a)->merchant_id,
	    ((const struct merchant_partner *)b)->merchant_id));
}

/* Reads the n numbers of the JSON array o[key] into out. */
static bool
json_numbers(json_t *o, const char *key, double *out, size_t n)
{
	json_t *arr = json_object_get(o, key);

	if (!json_is_array(arr) || json_array_size(arr) != n)
		return (false);
	for (size_t i = 0; i < n; i++) {
		if (!json_is_number(json_array_get(arr, i)))
			return (false);
		out[i] = json_number_value(json_array_get(arr, i));
	}
	return (true);
}

/* Reads the number o[key] into *out. */
static bool
json_number_at(json_t *o, const char *key, double *out)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_number(v))
		return (false);
	*out = json_number_value(v);
	return (true);
}

static rk_err
load_models(struct refdata *r, db_conn *db)
{
	db_res *res;
	rk_err rc;

	rc = db_exec(db, "SELECT DISTINCT ON (model) model, params::text "
	    "FROM model_fits WHERE model IN ('btyd', 'rfm') "
	    "ORDER BY model, fitted_at DESC, id DESC", 0, NULL, &res);
	if (rc != RK_OK)
		return (rc);
	r->have_btyd = r->have_rfm = r->p_alive_ok = false;
	for (int i = 0; i < db_res_nrows(res); i++) {
		const char *m = db_res_str(res, i, 0);
		json_t *p = json_loads(db_res_str(res, i, 1), 0, NULL);

		if (strcmp(m, "rfm") == 0) {
			double w = 0;

			/* a fit before the percentile tables (four cut-offs)
			 * is not read: the next full run makes one */
			r->have_rfm = json_numbers(p, "r", r->rfm[0].q,
			    RFM_POINTS) && json_numbers(p, "f", r->rfm[1].q,
			    RFM_POINTS) && json_numbers(p, "m", r->rfm[2].q,
			    RFM_POINTS) && json_number_at(p, "window_days", &w) &&
			    rfm_window_ok((int)w);
			r->rfm_window_days = (int)w;
		} else if (strcmp(m, "btyd") == 0) {
			/* {"model": "mbgnbd", "r": .., "alpha": .., "a": .., "b": ..} */
			struct btyd_params *bp = &r->btyd_params;
			const char *which = json_string_value(json_object_get(p,
			    "model"));

			r->btyd = which && strcmp(which, "mbgnbd") == 0 ?
			    BTYD_MBGNBD : BTYD_BGNBD;
			/* "informative": false - P(alive) ranks no one here
			 * (fits before issue 16 have no such key) */
			r->p_alive_ok = !json_is_false(json_object_get(p,
			    "informative"));
			r->have_btyd = json_number_at(p, "r", &bp->r) &&
			    json_number_at(p, "alpha", &bp->alpha) &&
			    json_number_at(p, "a", &bp->a) &&
			    json_number_at(p, "b", &bp->b);
		}
		json_decref(p);
	}
	db_res_free(res);
	rc = db_exec(db, "SELECT params->>'model' FROM model_fits WHERE "
	    "model = 'churn' ORDER BY fitted_at DESC, id DESC LIMIT 1", 0, NULL,
	    &res);
	if (rc != RK_OK)
		return (rc);
	if (db_res_nrows(res) == 1 && db_res_str(res, 0, 0) != NULL &&
	    churn_model_load(db_res_str(res, 0, 0), &r->churn) != RK_OK)
		r->churn = NULL;
	db_res_free(res);
	return (RK_OK);
}

rk_err
refdata_load(struct refdata *r, db_conn *db, bool force)
{
	int64_t now = clock_mono_ms();
	db_res *res;
	rk_err rc;

	if (!force && r->loaded_ms != 0 && now - r->loaded_ms < STALE_MS)
		return (RK_OK);
	refdata_free(r);
	if ((rc = db_exec(db, "SELECT category FROM categories ORDER BY category",
	    0, NULL, &res)) != RK_OK)
		return (rc);
	for (int i = 0; i < db_res_nrows(res) && i < PROFILE_MAX_CATEGORIES; i++)
		r->category[r->ncategories++] = xstrdup(db_res_str(res, i, 0));
	db_res_free(res);
	r->other = index_of(r->category, r->ncategories, "other");
	memset(r->mcc_category, -1, sizeof(r->mcc_category));
	if ((rc = db_exec(db, "SELECT mcc, category FROM mcc_codes", 0, NULL,
	    &res)) != RK_OK)
		return (rc);
	for (int i = 0; i < db_res_nrows(res); i++) {
		int64_t mcc = db_res_int64(res, i, 0);

		if (mcc >= 0 && mcc < 10000)
			r->mcc_category[mcc] = (int8_t)index_of(r->category,
			    r->ncategories, db_res_str(res, i, 1));
	}
	db_res_free(res);
	if ((rc = db_exec(db, "SELECT partner_id FROM partners ORDER BY "
	    "partner_id", 0, NULL, &res)) != RK_OK)
		return (rc);
	for (int i = 0; i < db_res_nrows(res) && i < PROFILE_MAX_PARTNERS; i++)
		r->partner[r->npartners++] = xstrdup(db_res_str(res, i, 0));
	db_res_free(res);
	if ((rc = db_exec(db, "SELECT merchant_id, partner_id FROM "
	    "partner_merchants ORDER BY merchant_id COLLATE \"C\"", 0, NULL,
	    &res)) != RK_OK)
		return (rc);
	r->nmerchants = db_res_nrows(res);
	r->merchants = xcalloc((size_t)r->nmerchants + 1, sizeof(*r->merchants));
	for (int i = 0; i < r->nmerchants; i++) {
		r->merchants[i].merchant_id = xstrdup(db_res_str(res, i, 0));
		r->merchants[i].partner = index_of(r->partner, r->npartners,
		    db_res_str(res, i, 1));
	}
	db_res_free(res);
	if ((rc = db_exec(db, "SELECT prefix, partner_id FROM "
	    "partner_name_prefixes ORDER BY length(prefix) DESC, prefix", 0,
	    NULL, &res)) != RK_OK)
		return (rc);
	r->nprefixes = db_res_nrows(res);
	r->prefixes = xcalloc((size_t)r->nprefixes + 1, sizeof(*r->prefixes));
	for (int i = 0; i < r->nprefixes; i++) {
		r->prefixes[i].prefix = xstrdup(db_res_str(res, i, 0));
		r->prefixes[i].partner = index_of(r->partner, r->npartners,
		    db_res_str(res, i, 1));
	}
	db_res_free(res);
	if ((rc = db_exec(db, "SELECT (extract(epoch from starts_at) * 1e6)::int8, "
	    "(extract(epoch from ends_at) * 1e6)::int8, merchant_id, partner_id, "
	    "category FROM promotions", 0, NULL, &res)) != RK_OK)
		return (rc);
	r->npromos = db_res_nrows(res);
	r->promos = xcalloc((size_t)r->npromos + 1, sizeof(*r->promos));
	for (int i = 0; i < r->npromos; i++) {
		struct promotion *p = &r->promos[i];

		p->starts_us = db_res_int64(res, i, 0);
		p->ends_us = db_res_int64(res, i, 1);
		p->merchant_id = db_res_str(res, i, 2) ?
		    xstrdup(db_res_str(res, i, 2)) : NULL;
		p->partner = index_of(r->partner, r->npartners,
		    db_res_str(res, i, 3));
		p->category = index_of(r->category, r->ncategories,
		    db_res_str(res, i, 4));
	}
	db_res_free(res);
	if ((rc = load_models(r, db)) != RK_OK)
		return (rc);
	r->loaded_ms = now;
	return (RK_OK);
}

int
refdata_category(const struct refdata *r, int mcc)
{
	int c = mcc >= 0 && mcc < 10000 ? r->mcc_category[mcc] : -1;

	return (c >= 0 ? c : r->other);
}

int
refdata_partner(const struct refdata *r, const char *merchant_id,
    const char *merchant_name)
{
	if (merchant_id != NULL && r->nmerchants > 0) {
		struct merchant_partner key = {(char *)merchant_id, -1};
		const struct merchant_partner *hit = bsearch(&key, r->merchants,
		    (size_t)r->nmerchants, sizeof(*r->merchants), cmp_merchant);

		if (hit != NULL)
			return (hit->partner);
	}
	if (merchant_name == NULL)
		return (-1);
	for (int i = 0; i < r->nprefixes; i++) {
		const char *p = r->prefixes[i].prefix, *n = merchant_name;

		/* ASCII upper case, as toupper in the C locale the daemons run
		 * in, without a call per character */
		while (*p != '\0' && (*n >= 'a' && *n <= 'z' ? *n - 'a' + 'A' :
		    *n) == *p) {
			p++;
			n++;
		}
		if (*p == '\0')
			return (r->prefixes[i].partner);
	}
	return (-1);
}

bool
refdata_promo(const struct refdata *r, int64_t at_us, const char *merchant_id,
    int partner, int category)
{
	for (int i = 0; i < r->npromos; i++) {
		const struct promotion *p = &r->promos[i];

		if (at_us < p->starts_us || at_us >= p->ends_us)
			continue;
		if (p->merchant_id != NULL && (merchant_id == NULL ||
		    strcmp(p->merchant_id, merchant_id) != 0))
			continue;
		if (p->partner >= 0 && p->partner != partner)
			continue;
		if (p->category >= 0 && p->category != category)
			continue;
		return (true);
	}
	return (false);
}

void
refdata_rfm(const struct refdata *r, const struct profile_result *p,
    int scores[3])
{
	double f, m;

	if (!r->have_rfm || p->count == 0) {
		scores[0] = scores[1] = scores[2] = 0;
		return;
	}
	rfm_inputs(p, r->rfm_window_days, &f, &m);
	scores[0] = rfm_score(&r->rfm[0], p->days_since_last, true);
	scores[1] = rfm_score(&r->rfm[1], f, false);
	scores[2] = rfm_score(&r->rfm[2], m, false);
}
