/*
 * strv.h - arrays of strings (const char *v[n]): the comparator qsort(3)
 * and bsearch(3) take for them, and sorting with repeats dropped.
 */
#ifndef RK_STRV_H
#define RK_STRV_H

#include <stddef.h>

/* Orders two elements of a string array by strcmp(3). */
int strv_cmp(const void *a, const void *b);

/* Sorts v[0..n) and drops repeats; returns how many are left. */
size_t strv_sort_unique(const char **v, size_t n);

#endif
