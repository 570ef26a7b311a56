/*
 * mem.h - allocators that never return NULL.
 *
 * Out of memory is fatal: the process logs MEM-EXHAUSTED and exits, and its
 * supervisor restarts it. Callers never check for NULL.
 */
#ifndef RK_MEM_H
#define RK_MEM_H

#include <stddef.h>
#include <stdio.h>

/* Like malloc(3), calloc(3), realloc(3), strdup(3); never NULL. */
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* Copies at most n bytes of s and a NUL. */
char *xstrndup(const char *s, size_t n);
/* Formats into a new string; the caller frees it with free(3). */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * open_memstream(3) that never fails, and its fclose(3): the text written
 * is in *buf (NUL-terminated, free(3) it) and *size after the close.
 */
FILE *xmemstream(char **buf, size_t *size);
void xmemstream_close(FILE *f);

#endif
