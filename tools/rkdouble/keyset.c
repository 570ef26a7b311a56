/*
 * keyset.c - open addressing with linear probing, FNV-1a, doubling at
 * half full.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keyset.h"
#include "mem.h"

struct slot {
	char *key;
	unsigned count;
};

struct keyset {
	struct slot *slot;
	size_t cap, n;
};

static uint64_t
hash(const char *s)
{
	uint64_t h = UINT64_C(1469598103934665603);

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
	return (h);
}

keyset *
keyset_new(void)
{
	keyset *s = xcalloc(1, sizeof(*s));

	s->cap = 1024;
	s->slot = xcalloc(s->cap, sizeof(*s->slot));
	return (s);
}

void
keyset_free(keyset *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->cap; i++)
		free(s->slot[i].key);
	free(s->slot);
	free(s);
}

static struct slot *
find(struct slot *slot, size_t cap, const char *key)
{
	size_t i = (size_t)hash(key) & (cap - 1);

	while (slot[i].key != NULL && strcmp(slot[i].key, key) != 0)
		i = (i + 1) & (cap - 1);
	return (&slot[i]);
}

unsigned
keyset_add(keyset *s, const char *key)
{
	struct slot *sl;

	if (2 * (s->n + 1) > s->cap) {
		size_t cap = s->cap * 2;
		struct slot *ns = xcalloc(cap, sizeof(*ns));

		for (size_t i = 0; i < s->cap; i++)
			if (s->slot[i].key != NULL)
				*find(ns, cap, s->slot[i].key) = s->slot[i];
		free(s->slot);
		s->slot = ns;
		s->cap = cap;
	}
	sl = find(s->slot, s->cap, key);
	if (sl->key == NULL) {
		sl->key = xstrdup(key);
		s->n++;
	}
	return (++sl->count);
}

unsigned
keyset_count(const keyset *s, const char *key)
{
	return (find(s->slot, s->cap, key)->count);
}

size_t
keyset_size(const keyset *s)
{
	return (s->n);
}

void
keyset_each(const keyset *s, void (*f)(void *, const char *, unsigned),
    void *ctx)
{
	for (size_t i = 0; i < s->cap; i++)
		if (s->slot[i].key != NULL)
			f(ctx, s->slot[i].key, s->slot[i].count);
}
