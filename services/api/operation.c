/*
 * operation.c - building and naming Operations.
 */
#include <string.h>

#include "operation.h"

Rekindle__V1__Operation *
operation_new(arena *a, const char *prefix, const char *id,
    const char *const *keys, const int64_t *values, int n)
{
	Rekindle__V1__Operation *op = arena_alloc(a, sizeof(*op));

	rekindle__v1__operation__init(op);
	op->name = arena_printf(a, "%s%s", prefix, id);
	op->n_counters = (size_t)n;
	op->counters = arena_alloc(a, sizeof(void *) * (size_t)(n + 1));
	for (int i = 0; i < n; i++) {
		Rekindle__V1__Operation__CountersEntry *e = arena_alloc(a,
		    sizeof(*e));

		rekindle__v1__operation__counters_entry__init(e);
		e->key = (char *)keys[i];
		e->value = values[i];
		op->counters[i] = e;
	}
	return (op);
}

const char *
operation_id(const char *name, const char *prefix)
{
	size_t n = strlen(prefix), digits;

	if (name == NULL || strncmp(name, prefix, n) != 0)
		return (NULL);
	digits = strspn(name + n, "0123456789");
	if (digits == 0 || digits > 20 || name[n + digits] != '\0')
		return (NULL);
	return (name + n);
}
