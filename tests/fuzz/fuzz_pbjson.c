/*
 * fuzz_pbjson.c - JSON requests (rekindlectl call, offer and campaign
 * files) to protobuf and back: never a crash, and a message that parsed
 * dumps to JSON that parses again to the same bytes.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pbjson.h"
#include "rekindle/v1/campaign.pb-c.h"
#include "rekindle/v1/customer.pb-c.h"
#include "rekindle/v1/offer.pb-c.h"
#include "rekindle/v1/ticket.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *
packed(const ProtobufCMessage *m, size_t *n)
{
	uint8_t *b;

	*n = protobuf_c_message_get_packed_size(m);
	b = malloc(*n + 1);
	protobuf_c_message_pack(m, b);
	return (b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const ProtobufCMessageDescriptor *const types[] = {
		&rekindle__v1__create_campaign_request__descriptor,
		&rekindle__v1__create_offer_request__descriptor,
		&rekindle__v1__upsert_customers_request__descriptor,
		&rekindle__v1__log_call_attempt_request__descriptor,
	};
	const ProtobufCMessageDescriptor *d;
	ProtobufCMessage *m, *m2;
	char err[256];
	json_t *j, *out;

	if (size < 1)
		return (0);
	d = types[data[0] % 4];
	j = json_loadb((const char *)data + 1, size - 1, JSON_DECODE_ANY, NULL);
	if (j == NULL)
		return (0);
	m = pbjson_parse(d, j, err, sizeof(err));
	json_decref(j);
	if (m == NULL)
		return (0);
	out = pbjson_dump(m);
	m2 = out ? pbjson_parse(d, out, err, sizeof(err)) : NULL;
	if (m2 == NULL)
		abort();	/* our own JSON is refused */
	{
		size_t n1, n2;
		uint8_t *b1 = packed(m, &n1), *b2 = packed(m2, &n2);

		if (n1 != n2 || memcmp(b1, b2, n1) != 0)
			abort();	/* a round trip changed the message */
		free(b1);
		free(b2);
	}
	json_decref(out);
	protobuf_c_message_free_unpacked(m, NULL);
	protobuf_c_message_free_unpacked(m2, NULL);
	return (0);
}
