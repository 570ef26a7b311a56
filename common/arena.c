/*
 * arena.c - bump allocator in chained blocks.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "mem.h"

struct block {
	struct block *next;
	size_t size;
	size_t used;
	_Alignas(16) unsigned char data[];
};

struct arena {
	struct block *head;	/* current block; the first one is last */
	size_t block_size;
	size_t total;
	ProtobufCAllocator pb;
};

static void *
pb_alloc(void *ctx, size_t n)
{
	return (arena_alloc(ctx, n));
}

static void
pb_free(void *ctx, void *p)
{
	(void)ctx;
	(void)p;
}

static struct block *
block_new(size_t size)
{
	struct block *b = xmalloc(sizeof(*b) + size);

	b->next = NULL;
	b->size = size;
	b->used = 0;
	return (b);
}

arena *
arena_create(size_t block_size)
{
	arena *a = xcalloc(1, sizeof(*a));

	a->block_size = block_size < 1024 ? 1024 : block_size;
	a->head = block_new(a->block_size);
	a->pb.alloc = pb_alloc;
	a->pb.free = pb_free;
	a->pb.allocator_data = a;
	return (a);
}

void
arena_destroy(arena *a)
{
	struct block *b, *next;

	if (a == NULL)
		return;
	for (b = a->head; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	free(a);
}

void
arena_reset(arena *a)
{
	struct block *b = a->head;

	while (b->next != NULL) {
		struct block *next = b->next;

		free(b);
		b = next;
	}
	b->used = 0;
	a->head = b;
	a->total = 0;
}

void *
arena_alloc(arena *a, size_t n)
{
	struct block *b = a->head;
	size_t need = (n + 15) & ~(size_t)15;
	void *p;

	if (need == 0)
		need = 16;
	if (b->size - b->used < need) {
		size_t size = need > a->block_size ? need : a->block_size;
		struct block *nb = block_new(size);

		/* Keep the first (reusable) block at the end of the chain. */
		nb->next = a->head;
		a->head = nb;
		b = nb;
	}
	p = b->data + b->used;
	b->used += need;
	a->total += need;
	return (p);
}

void *
arena_zalloc(arena *a, size_t n)
{
	void *p = arena_alloc(a, n);

	memset(p, 0, n);
	return (p);
}

char *
arena_strndup(arena *a, const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = arena_alloc(a, len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return (p);
}

char *
arena_strdup(arena *a, const char *s)
{
	return (arena_strndup(a, s, SIZE_MAX));
}

char *
arena_printf(arena *a, const char *fmt, ...)
{
	va_list ap, ap2;
	int len;
	char *p;

	va_start(ap, fmt);
	va_copy(ap2, ap);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	p = arena_alloc(a, (size_t)(len < 0 ? 0 : len) + 1);
	vsnprintf(p, (size_t)len + 1, fmt, ap2);
	va_end(ap2);
	return (p);
}

size_t
arena_used(const arena *a)
{
	return (a->total);
}

ProtobufCAllocator *
arena_pb_allocator(arena *a)
{
	return (&a->pb);
}
