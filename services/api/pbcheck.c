/*
 * pbcheck.c - the checks every request gets before its handler runs,
 * whatever the method: each google.protobuf.Timestamp anywhere in it must
 * be one the protobuf definition allows (0001-01-01 .. 9999-12-31, nanos
 * 0..999,999,999), so no handler's arithmetic on a time can overflow
 * (seconds * 1,000,000 fits an int64 with room to spare for those).
 */
#include <stdio.h>

#include "google/protobuf/timestamp.pb-c.h"
#include "pbcheck.h"

/* The range google/protobuf/timestamp.proto defines. */
#define MIN_SECONDS INT64_C(-62135596800)	/* 0001-01-01T00:00:00Z */
#define MAX_SECONDS INT64_C(253402300799)	/* 9999-12-31T23:59:59Z */
#define MAX_DEPTH 32

static void walk(rpc_call *c, const ProtobufCMessage *m, const char *path,
    int depth);

static void
check_one(rpc_call *c, const ProtobufCMessage *m, const char *path, int depth)
{
	if (m == NULL)
		return;
	if (m->descriptor == &google__protobuf__timestamp__descriptor) {
		const Google__Protobuf__Timestamp *t = (const void *)m;

		if (t->seconds < MIN_SECONDS || t->seconds > MAX_SECONDS)
			rpc_bad_field(c, path, "seconds must be within "
			    "0001-01-01 .. 9999-12-31");
		else if (t->nanos < 0 || t->nanos > 999999999)
			rpc_bad_field(c, path, "nanos must be 0..999999999");
		return;
	}
	walk(c, m, path, depth + 1);
}

static void
walk(rpc_call *c, const ProtobufCMessage *m, const char *path, int depth)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	arena *a = rpc_arena(c);

	if (depth > MAX_DEPTH)
		return;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)m;
		const char *p;

		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		p = *path ? arena_printf(a, "%s.%s", path, f->name) : f->name;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(const void *)(base +
			    f->quantifier_offset);
			ProtobufCMessage *const *v = *(ProtobufCMessage *const *
			    const *)(const void *)(base + f->offset);

			for (size_t k = 0; k < n; k++)
				check_one(c, v[k], arena_printf(a, "%s[%zu]", p, k),
				    depth);
		} else {
			/* a oneof member counts only if it is the set one */
			if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
			    *(const uint32_t *)(const void *)(base +
			    f->quantifier_offset) != f->id)
				continue;
			check_one(c, *(ProtobufCMessage *const *)(const void *)(base +
			    f->offset), p, depth);
		}
	}
}

rk_err
pbcheck_request(rpc_call *c, const ProtobufCMessage *m)
{
	walk(c, m, "", 0);
	return (rpc_fields_ok(c));
}
