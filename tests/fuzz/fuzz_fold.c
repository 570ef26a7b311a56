/*
 * fuzz_fold.c - SMS replies folded to keywords, and outside text made safe
 * to store: never a crash, and the outputs keep their promises.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fold.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char words[256], clean[512], m[32];
	size_t n;

	n = fold_words((const char *)data, size, words, sizeof(words));
	if (n != strlen(words))
		abort();
	for (size_t i = 0; i < n; i++)
		if (!((words[i] >= 'A' && words[i] <= 'Z') || (words[i] >= '0' &&
		    words[i] <= '9') || (words[i] == ' ' && i > 0 && i + 1 < n &&
		    words[i - 1] != ' ')))
			abort();
	(void)fold_keyword((const char *)data, size, "TC,HUY,TU CHOI,STOP", m,
	    sizeof(m));
	n = fold_utf8_clean((const char *)data, size, clean, sizeof(clean));
	if (n != strlen(clean))
		abort();
	/* clean is itself clean: folding it again changes nothing */
	{
		char again[512];

		fold_utf8_clean(clean, n, again, sizeof(again));
		if (strcmp(again, clean) != 0)
			abort();
	}
	return (0);
}
