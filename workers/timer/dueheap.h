/*
 * dueheap.h - the timers a process holds, earliest first: a binary
 * min-heap of (due, id). Pure; one thread.
 */
#ifndef RK_DUEHEAP_H
#define RK_DUEHEAP_H

#include <stddef.h>
#include <stdint.h>

struct due {
	int64_t due_us;		/* Unix microseconds */
	int64_t id;		/* the timer's row */
};

struct dueheap {
	struct due *v;
	size_t n, cap;
};

/* An empty heap; free with dueheap_free. */
void dueheap_init(struct dueheap *h);
void dueheap_free(struct dueheap *h);
void dueheap_push(struct dueheap *h, int64_t due_us, int64_t id);
/* The earliest entry, or NULL if empty. */
const struct due *dueheap_peek(const struct dueheap *h);
/* Removes the earliest entry (the heap must not be empty). */
void dueheap_pop(struct dueheap *h);

#endif
