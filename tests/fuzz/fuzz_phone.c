/*
 * fuzz_phone.c - phone numbers and e-mail addresses as customers and
 * gateways send them: never a crash; a normalized number is E.164 and
 * normalizes to itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "phone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), out[32], again[32];

	memcpy(s, data, size);
	s[size] = '\0';
	if (phone_normalize_vn(s, out, sizeof(out)) == RK_OK) {
		if (out[0] != '+' || phone_normalize_vn(out, again,
		    sizeof(again)) != RK_OK || strcmp(out, again) != 0)
			abort();
	}
	(void)email_valid(s);
	free(s);
	return (0);
}
