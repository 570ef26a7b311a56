/*
 * campaign_variants.c - a campaign's experiment arms (rekindle.v1.Variant):
 * checked, stored with the campaign's definition, and read back onto the
 * Campaign messages the API returns.
 */
#include <stdio.h>
#include <string.h>

#include "campaign_rpc.h"
#include "dbrows.h"
#include "offer_rpc.h"
#include "validate.h"

#define MAX_VARIANTS 5

void
variants_check(rpc_call *c, const Rekindle__V1__Campaign *cp)
{
	arena *a = rpc_arena(c);
	const char *why;

	if (cp->n_variants == 0) {
		if (cp->adaptive_split)
			rpc_bad_field(c, "campaign.adaptive_split", "needs variants");
		return;
	}
	if (cp->n_variants < 2 || cp->n_variants > MAX_VARIANTS)
		rpc_bad_field(c, "campaign.variants", "2..%d variants, or none",
		    MAX_VARIANTS);
	if (cp->adaptive_split &&
	    cp->kind != REKINDLE__V1__CAMPAIGN_KIND__CAMPAIGN_KIND_ALWAYS_ON)
		rpc_bad_field(c, "campaign.adaptive_split", "applies to ALWAYS_ON "
		    "campaigns only (a one-shot split happens once)");
	for (size_t i = 0; i < cp->n_variants && i < MAX_VARIANTS; i++) {
		const Rekindle__V1__Variant *v = cp->variants[i];
		const char *f = arena_printf(a, "campaign.variants[%zu]", i);
		bool seen[5] = {false};

		if ((why = validate_id(v->variant_id)) != NULL ||
		    strlen(v->variant_id) > 32)
			rpc_bad_field(c, arena_printf(a, "%s.variant_id", f), "%s",
			    why ? why : "at most 32 characters");
		for (size_t j = 0; j < i; j++)
			if (strcmp(cp->variants[j]->variant_id, v->variant_id) == 0)
				rpc_bad_field(c, arena_printf(a, "%s.variant_id", f),
				    "is variants[%zu]'s too", j);
		if (*v->offer_id && (why = validate_id(v->offer_id)) != NULL)
			rpc_bad_field(c, arena_printf(a, "%s.offer_id", f), "%s", why);
		if (v->weight < 0 || v->weight > 100)
			rpc_bad_field(c, arena_printf(a, "%s.weight", f), "must be "
			    "0..100 (0 reads as 1)");
		if (*v->offer_id == '\0' && v->n_templates == 0)
			rpc_bad_field(c, f, "a variant differs by its offer, its "
			    "templates, or both");
		for (size_t t = 0; t < v->n_templates; t++)
			offer_check_template(c, arena_printf(a, "%s.templates[%zu]",
			    f, t), v->templates[t], seen);
	}
}

/* The variants' offers, as a text[] (empty strings for none). */
const char *
variants_offers(arena *a, const Rekindle__V1__Campaign *cp)
{
	const char **ids = arena_alloc(a, sizeof(char *) * (cp->n_variants + 1));

	for (size_t i = 0; i < cp->n_variants; i++)
		ids[i] = cp->variants[i]->offer_id;
	return (db_text_array(a, ids, cp->n_variants));
}

rk_err
variants_store(rpc_call *c, const Rekindle__V1__Campaign *cp)
{
	arena *a = rpc_arena(c);
	const char *p[7];
	struct dbrows v, t;
	rk_err rc;

	p[0] = cp->campaign_id;
	rc = db_execp(rpc_db(c), "variants_clear", "DELETE FROM campaign_variants "
	    "WHERE campaign_id = $1", 1, p, NULL);
	if (rc != RK_OK || cp->n_variants == 0)
		return (rc);
	dbrows_init(&v, a, 3, cp->n_variants);
	dbrows_init(&t, a, 6, cp->n_variants * 4);
	for (size_t i = 0; i < cp->n_variants; i++) {
		const Rekindle__V1__Variant *vr = cp->variants[i];
		const char **r = dbrows_add(&v);

		r[0] = vr->variant_id;
		r[1] = *vr->offer_id ? vr->offer_id : NULL;
		r[2] = arena_printf(a, "%d", vr->weight > 0 ? vr->weight : 1);
		for (size_t k = 0; k < vr->n_templates; k++) {
			const Rekindle__V1__MessageTemplate *m = vr->templates[k];
			const char **q = dbrows_add(&t);

			q[0] = vr->variant_id;
			q[1] = arena_printf(a, "%d", (int)m->channel);
			q[2] = m->subject;
			q[3] = m->body;
			q[4] = m->html_body;
			q[5] = m->provider_template_id;
		}
	}
	dbrows_params(&v, p + 1);
	rc = db_execp(rpc_db(c), "variants_insert", "INSERT INTO campaign_variants "
	    "(campaign_id, variant_id, ord, offer_id, weight) SELECT $1, id, "
	    "ord - 1, nullif(offer, ''), w FROM unnest($2::text[], $3::text[], "
	    "$4::int[]) WITH ORDINALITY u(id, offer, w, ord)", 4, p, NULL);
	if (rc != RK_OK || t.n == 0)
		return (rc);
	dbrows_params(&t, p + 1);
	return (db_execp(rpc_db(c), "variants_templates", "INSERT INTO "
	    "variant_templates (campaign_id, variant_id, channel, subject, body, "
	    "html_body, provider_template_id) SELECT $1, v, ch, s, b, h, pt "
	    "FROM unnest($2::text[], $3::smallint[], $4::text[], $5::text[], "
	    "$6::text[], $7::text[]) u(v, ch, s, b, h, pt)", 7, p, NULL));
}

/* The Campaign of cps[0..n) whose id is id, or NULL. */
static Rekindle__V1__Campaign *
find(Rekindle__V1__Campaign **cps, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(cps[i]->campaign_id, id) == 0)
			return (cps[i]);
	return (NULL);
}

rk_err
variants_attach(rpc_call *c, Rekindle__V1__Campaign **cps, size_t n)
{
	arena *a = rpc_arena(c);
	const char **ids = arena_alloc(a, sizeof(char *) * (n + 1));
	const char *p[1];
	db_res *r;
	rk_err rc;

	if (n == 0)
		return (RK_OK);
	for (size_t i = 0; i < n; i++)
		ids[i] = cps[i]->campaign_id;
	p[0] = db_text_array(a, ids, n);
	/* one row a template (or a variant without any), in order */
	rc = db_execp(rpc_db(c), "variants_get", "SELECT v.campaign_id, "
	    "v.variant_id, coalesce(v.offer_id, ''), v.weight, "
	    "coalesce(t.channel, 0), coalesce(t.subject, ''), "
	    "coalesce(t.body, ''), coalesce(t.html_body, ''), "
	    "coalesce(t.provider_template_id, '') FROM campaign_variants v "
	    "LEFT JOIN variant_templates t ON t.campaign_id = v.campaign_id AND "
	    "t.variant_id = v.variant_id WHERE v.campaign_id = ANY ($1::text[]) "
	    "ORDER BY v.campaign_id, v.ord, t.channel", 1, p, &r);
	if (rc != RK_OK)
		return (rc);
	for (int i = 0; i < db_res_nrows(r); i++) {
		Rekindle__V1__Campaign *cp = find(cps, n, db_res_str(r, i, 0));
		Rekindle__V1__Variant *v;

		if (cp == NULL)
			continue;
		v = cp->n_variants > 0 ? cp->variants[cp->n_variants - 1] : NULL;
		if (v == NULL || strcmp(v->variant_id, db_res_str(r, i, 1)) != 0) {
			Rekindle__V1__Variant **grown = arena_alloc(a,
			    sizeof(*grown) * (cp->n_variants + 1));

			if (cp->n_variants > 0)
				memcpy(grown, cp->variants, sizeof(*grown) *
				    cp->n_variants);
			v = arena_alloc(a, sizeof(*v));
			rekindle__v1__variant__init(v);
			v->variant_id = arena_strdup(a, db_res_str(r, i, 1));
			v->offer_id = arena_strdup(a, db_res_str(r, i, 2));
			v->weight = (int32_t)db_res_int64(r, i, 3);
			grown[cp->n_variants++] = v;
			cp->variants = grown;
		}
		if (db_res_int64(r, i, 4) > 0) {
			Rekindle__V1__MessageTemplate **grown = arena_alloc(a,
			    sizeof(*grown) * (v->n_templates + 1));
			Rekindle__V1__MessageTemplate *t = arena_alloc(a,
			    sizeof(*t));

			if (v->n_templates > 0)
				memcpy(grown, v->templates, sizeof(*grown) *
				    v->n_templates);
			rekindle__v1__message_template__init(t);
			t->channel = (Rekindle__V1__Channel)db_res_int64(r, i, 4);
			t->subject = arena_strdup(a, db_res_str(r, i, 5));
			t->body = arena_strdup(a, db_res_str(r, i, 6));
			t->html_body = arena_strdup(a, db_res_str(r, i, 7));
			t->provider_template_id = arena_strdup(a,
			    db_res_str(r, i, 8));
			grown[v->n_templates++] = t;
			v->templates = grown;
		}
	}
	db_res_free(r);
	return (RK_OK);
}
