/*
 * operation.c - building and naming Operations.
 */
#include <string.h>

#include "operation.h"
#include "rekindle/v1/profile.pb-c.h"

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

rk_err
operation_get(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp, const char *prefix, operation_load_fn load)
{
	const Rekindle__V1__GetOperationRequest *r = (const void *)req;
	Rekindle__V1__Operation *op;
	const char *id;
	rk_err rc;

	if ((id = operation_id(r->name, prefix)) == NULL)
		return (rpc_bad_field(c, "name", "expected \"%s<number>\"",
		    prefix));
	if ((rc = load(c, id, &op)) == RK_OK)
		*resp = &op->base;
	return (rc);
}
