/*
 * fuzz_provider_reply.c - what the SMS gateway, Zalo ZNS, FCM and the
 * SMTP relay answer, read as the delivery pool reads it: never a crash,
 * and every reply comes to one known outcome.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "provider.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static void (*const reply[])(const struct http_reply *,
	    struct send_result *) = {provider_sms_reply, provider_zns_reply,
	    provider_fcm_reply, provider_smtp_reply};
	static const long statuses[] = {0, 200, 250, 354, 400, 421, 429, 450,
	    500, 503, 550, 552, 221};
	struct http_reply h;
	struct send_result r;

	if (size < 3)
		return (0);
	memset(&h, 0, sizeof(h));
	h.status = statuses[data[1] % (sizeof(statuses) / sizeof(statuses[0]))];
	h.written = (data[2] & 1) != 0;
	if (data[2] & 2)
		memcpy(h.retry_after, data + 3, size - 3 < 15 ? size - 3 : 15);
	h.body = malloc(size - 2);
	memcpy(h.body, data + 3, size - 3);
	h.body[size - 3] = '\0';
	reply[data[0] % 4](&h, &r);
	free(h.body);
	if (r.outcome > SEND_AMBIGUOUS || strlen(r.reason) >= sizeof(r.reason))
		abort();
	return (0);
}
