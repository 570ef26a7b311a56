/*
 * provider.c - what every provider's reply shares.
 */
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provider.h"

void
provider_set(struct send_result *r, enum send_outcome o, const char *fmt, ...)
{
	va_list ap;

	r->outcome = o;
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
}

bool
provider_http_verdict(const struct http_reply *h, struct send_result *r)
{
	memset(r, 0, sizeof(*r));
	r->quota_left = -1;
	if (h->status == 0) {
		if (h->written)
			provider_set(r, SEND_AMBIGUOUS, "no reply after the request "
			    "was written (%s)", *h->error ? h->error : "timeout");
		else
			provider_not_sent(h, r, "request");
		return (true);
	}
	if (h->status == 429) {
		r->retry_after_s = atoi(h->retry_after);
		provider_set(r, SEND_RETRY, "rate limited (429)");
		return (true);
	}
	if (h->status >= 500) {
		provider_set(r, SEND_RETRY, "provider error (%ld)", h->status);
		return (true);
	}
	return (false);
}

void
provider_not_sent(const struct http_reply *h, struct send_result *r,
    const char *what)
{
	if (h->tls_refused)
		provider_set(r, SEND_RETRY, "%s not sent: the provider's "
		    "certificate refused (%s)", what, h->error);
	else
		provider_set(r, SEND_RETRY, "%s not sent (%s)", what,
		    *h->error ? h->error : "no connection");
}

void
provider_sha256_hex(const char *text, int nbytes, char *out)
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)text, strlen(text), md);
	for (int i = 0; i < nbytes && i < SHA256_DIGEST_LENGTH; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}
