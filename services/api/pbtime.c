/*
 * pbtime.c - protobuf timestamps.
 */
#include "pbtime.h"

Google__Protobuf__Timestamp *
pbtime_new(arena *a, int64_t us)
{
	Google__Protobuf__Timestamp *t;

	if (us == 0)
		return (NULL);
	t = arena_alloc(a, sizeof(*t));
	google__protobuf__timestamp__init(t);
	t->seconds = us / 1000000;
	t->nanos = (int32_t)(us % 1000000) * 1000;
	if (t->nanos < 0) {
		t->seconds--;
		t->nanos += 1000000000;
	}
	return (t);
}

int64_t
pbtime_us(const Google__Protobuf__Timestamp *t)
{
	if (t == NULL)
		return (0);
	return (t->seconds * 1000000 + t->nanos / 1000);
}
