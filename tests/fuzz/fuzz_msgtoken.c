/*
 * fuzz_msgtoken.c - the tracker's link tokens ("ID.MAC" from a URL):
 * never a crash, and a token that verifies names the id it was made for.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msgtoken.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char secret[] = "fuzz-secret";
	char tok[MSGTOKEN_MAX];
	int64_t id;

	if (msgtoken_verify(secret, (const char *)data, size, &id)) {
		msgtoken_make(secret, id, tok);
		if (strlen(tok) != size || memcmp(tok, data, size) != 0)
			abort();	/* two tokens for one id */
	}
	return (0);
}
