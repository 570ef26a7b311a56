/* pbjson_test.c - JSON requests into protobuf-c messages and back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <string.h>

#include "pbjson.h"
#include "rekindle/v1/campaign.pb-c.h"
#include "rekindle/v1/common.pb-c.h"
#include "rekindle/v1/offer.pb-c.h"
#include "rekindle/v1/profile.pb-c.h"

static ProtobufCMessage *
parse(const ProtobufCMessageDescriptor *d, const char *text, char *err)
{
	json_t *j = json_loads(text, 0, NULL);
	ProtobufCMessage *m;

	assert_non_null(j);
	m = pbjson_parse(d, j, err, 256);
	json_decref(j);
	return (m);
}

static void
test_offer_round_trip(void **state)
{
	char err[256];
	Rekindle__V1__CreateOfferRequest *r;
	json_t *back;
	char *text;

	(void)state;
	r = (void *)parse(&rekindle__v1__create_offer_request__descriptor,
	    "{\"request_id\": \"r1\", \"offer\": {\"offerId\": \"TIKI-1\", "
	    "\"kind\": \"OFFER_KIND_VOUCHER\", \"quantity_cap\": \"50\", "
	    "\"amount\": {\"amount_minor\": 100000, \"currency\": \"VND\"}, "
	    "\"valid_until\": \"2026-01-31T17:00:00+07:00\", "
	    "\"templates\": [{\"channel\": 2, \"body\": \"Chào {name}\"}]}}",
	    err);
	assert_non_null(r);
	assert_string_equal(r->offer->offer_id, "TIKI-1");
	assert_int_equal(r->offer->kind, REKINDLE__V1__OFFER_KIND__OFFER_KIND_VOUCHER);
	assert_int_equal(r->offer->quantity_cap, 50);
	assert_int_equal(r->offer->valid_until->seconds, 1769853600);
	assert_int_equal(r->offer->n_templates, 1);
	assert_int_equal(r->offer->templates[0]->channel, 2);
	back = pbjson_dump(&r->base);
	text = json_dumps(back, JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(strstr(text, "\"channel\":\"CHANNEL_SMS\""));
	assert_non_null(strstr(text, "\"valid_until\":\"2026-01-31T10:00:00Z\""));
	assert_non_null(strstr(text, "\"offer_id\":\"TIKI-1\""));
	free(text);
	json_decref(back);
	protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void
test_errors_name_the_field(void **state)
{
	char err[256];

	(void)state;
	assert_null(parse(&rekindle__v1__create_offer_request__descriptor,
	    "{\"offer\": {\"kind\": \"NO_SUCH_KIND\"}}", err));
	assert_string_equal(err, "offer.kind: expected a name or number");
	assert_null(parse(&rekindle__v1__create_offer_request__descriptor,
	    "{\"offer\": {\"templates\": [{}, {\"colour\": 1}]}}", err));
	assert_non_null(strstr(err, "offer.templates[1].colour: no such field"));
	assert_null(parse(&rekindle__v1__update_campaign_request__descriptor,
	    "{\"campaign\": {\"holdout_percent\": \"ten\"}}", err));
	assert_string_equal(err, "campaign.holdout_percent: expected a number");
	/* a zone that moves the first Timestamp second into year 0 */
	assert_null(parse(&rekindle__v1__create_offer_request__descriptor,
	    "{\"offer\": {\"valid_from\": \"1-1-1+00:15\"}}", err));
	assert_non_null(strstr(err, "offer.valid_from"));
	{
		ProtobufCMessage *m = parse(
		    &rekindle__v1__create_offer_request__descriptor,
		    "{\"offer\": {\"valid_from\": \"0001-01-01T00:00:00Z\"}}",
		    err);

		assert_non_null(m);
		protobuf_c_message_free_unpacked(m, NULL);
	}
}

static void
test_masks_and_maps(void **state)
{
	char err[256];
	Rekindle__V1__UpdateCampaignRequest *u;
	Rekindle__V1__Operation *op;
	json_t *back;

	(void)state;
	u = (void *)parse(&rekindle__v1__update_campaign_request__descriptor,
	    "{\"update_mask\": \"name,holdout_percent\"}", err);
	assert_non_null(u);
	assert_int_equal(u->update_mask->n_paths, 2);
	assert_string_equal(u->update_mask->paths[1], "holdout_percent");
	protobuf_c_message_free_unpacked(&u->base, NULL);
	op = (void *)parse(&rekindle__v1__operation__descriptor,
	    "{\"name\": \"operations/launch-1\", \"counters\": {\"treatment\": 5, "
	    "\"control\": 0}}", err);
	assert_non_null(op);
	assert_int_equal(op->n_counters, 2);
	back = pbjson_dump(&op->base);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(back,
	    "counters"), "treatment")), 5);
	assert_non_null(json_object_get(json_object_get(back, "counters"),
	    "control"));
	json_decref(back);
	protobuf_c_message_free_unpacked(&op->base, NULL);
}

/* Wrappers: a plain value in JSON, absent when absent - a 0 is a 0. */
static void
test_wrappers(void **state)
{
	char err[256];
	Rekindle__V1__Profile *p;
	json_t *back;

	(void)state;
	p = (void *)parse(&rekindle__v1__profile__descriptor,
	    "{\"customer_id\": \"C1\", \"churn_risk\": 0, "
	    "\"recency_score\": 4, \"p_alive\": null, "
	    "\"not_scored\": {\"p_alive\": \"no purchase\"}}", err);
	assert_non_null(p);
	assert_non_null(p->churn_risk);
	assert_true(p->churn_risk->value == 0);
	assert_int_equal(p->recency_score->value, 4);
	assert_null(p->p_alive);
	assert_null(p->monetary_score);
	back = pbjson_dump(&p->base);
	assert_true(json_is_real(json_object_get(back, "churn_risk")));
	assert_int_equal(json_integer_value(json_object_get(back,
	    "recency_score")), 4);
	assert_null(json_object_get(back, "p_alive"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    back, "not_scored"), "p_alive")), "no purchase");
	json_decref(back);
	protobuf_c_message_free_unpacked(&p->base, NULL);
	assert_null(parse(&rekindle__v1__profile__descriptor,
	    "{\"churn_risk\": \"high\"}", err));
	assert_string_equal(err, "churn_risk: expected a number");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offer_round_trip),
		cmocka_unit_test(test_errors_name_the_field),
		cmocka_unit_test(test_masks_and_maps),
		cmocka_unit_test(test_wrappers),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
