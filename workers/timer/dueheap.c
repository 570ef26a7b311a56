/*
 * dueheap.c - sift up on push, sift down on pop; the array doubles.
 */
#include <stdlib.h>

#include "dueheap.h"
#include "mem.h"

void
dueheap_init(struct dueheap *h)
{
	h->v = NULL;
	h->n = h->cap = 0;
}

void
dueheap_free(struct dueheap *h)
{
	free(h->v);
	dueheap_init(h);
}

static int
before(const struct due *a, const struct due *b)
{
	return (a->due_us < b->due_us || (a->due_us == b->due_us &&
	    a->id < b->id));
}

void
dueheap_push(struct dueheap *h, int64_t due_us, int64_t id)
{
	size_t i;

	if (h->n == h->cap) {
		h->cap = h->cap ? 2 * h->cap : 1024;
		h->v = xrealloc(h->v, h->cap * sizeof(*h->v));
	}
	i = h->n++;
	h->v[i] = (struct due){due_us, id};
	while (i > 0 && before(&h->v[i], &h->v[(i - 1) / 2])) {
		struct due t = h->v[i];

		h->v[i] = h->v[(i - 1) / 2];
		h->v[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
}

const struct due *
dueheap_peek(const struct dueheap *h)
{
	return (h->n > 0 ? &h->v[0] : NULL);
}

void
dueheap_pop(struct dueheap *h)
{
	size_t i = 0;

	h->v[0] = h->v[--h->n];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		struct due t;

		if (l < h->n && before(&h->v[l], &h->v[m]))
			m = l;
		if (r < h->n && before(&h->v[r], &h->v[m]))
			m = r;
		if (m == i)
			break;
		t = h->v[i];
		h->v[i] = h->v[m];
		h->v[m] = t;
		i = m;
	}
}
