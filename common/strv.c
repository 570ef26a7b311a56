/*
 * strv.c - arrays of strings (strv.h).
 */
#include <stdlib.h>
#include <string.h>

#include "strv.h"

int
strv_cmp(const void *a, const void *b)
{
	return (strcmp(*(const char *const *)a, *(const char *const *)b));
}

size_t
strv_sort_unique(const char **v, size_t n)
{
	size_t k = 0;

	qsort(v, n, sizeof(*v), strv_cmp);
	for (size_t i = 0; i < n; i++)
		if (k == 0 || strcmp(v[k - 1], v[i]) != 0)
			v[k++] = v[i];
	return (k);
}
