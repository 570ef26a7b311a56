/*
 * keyset.h - a growing set of strings with a count per string: which
 * idempotency keys a provider double accepted, and how often each came.
 * Not thread-safe: the double holds its lock around it.
 */
#ifndef RK_KEYSET_H
#define RK_KEYSET_H

#include <stddef.h>

typedef struct keyset keyset;

keyset *keyset_new(void);
void keyset_free(keyset *s);
/* Counts one arrival of key; returns how many times it has now come. */
unsigned keyset_add(keyset *s, const char *key);
/* How many times key has come (0: never). */
unsigned keyset_count(const keyset *s, const char *key);
/* Distinct keys. */
size_t keyset_size(const keyset *s);
/* Calls f for every key with its count. */
void keyset_each(const keyset *s, void (*f)(void *, const char *, unsigned),
    void *ctx);

#endif
