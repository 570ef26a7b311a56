/*
 * arena.h - one arena per RPC or job holds everything transient.
 *
 * Allocation is a pointer bump in chained blocks; nothing is freed one by
 * one. arena_reset() ends the unit of work and keeps the first block for
 * the next one (PostgreSQL per-message memory contexts).
 */
#ifndef RK_ARENA_H
#define RK_ARENA_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

typedef struct arena arena;

/* Creates an arena whose blocks are at least block_size bytes. Never NULL. */
arena *arena_create(size_t block_size);
/* Frees every block; arena_destroy(NULL) is a no-op. */
void arena_destroy(arena *a);
/* Forgets every allocation; keeps the first block. */
void arena_reset(arena *a);

/* 16-byte aligned memory valid until the next reset; never NULL. */
void *arena_alloc(arena *a, size_t n);
void *arena_zalloc(arena *a, size_t n);
char *arena_strdup(arena *a, const char *s);
char *arena_strndup(arena *a, const char *s, size_t n);
char *arena_printf(arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Bytes handed out since the last reset (for caps and metrics). */
size_t arena_used(const arena *a);

/*
 * A protobuf-c allocator that allocates from a (free is a no-op), so a
 * message unpacked with it needs no protobuf_c_message_free_unpacked.
 * The returned struct is owned by the arena.
 */
ProtobufCAllocator *arena_pb_allocator(arena *a);

#endif
