/*
 * dbrows.h - rows gathered for one set-wise statement. Each column goes to
 * the statement as one text[] literal parameter, and the statement reads
 * the rows back with unnest($1::T[], $2::U[], ...): one round trip for a
 * whole batch instead of a statement a row.
 */
#ifndef RK_DBROWS_H
#define RK_DBROWS_H

#include <stddef.h>

#include "arena.h"

struct dbrows {
	arena *a;
	const char **cell;	/* row-major, ncols a row */
	int ncols;
	size_t n, cap;
};

/* Room in a for cap rows of ncols cells; r starts empty. */
void dbrows_init(struct dbrows *r, arena *a, int ncols, size_t cap);

/*
 * Appends a row and returns its ncols cells for the caller to fill: each a
 * value's text, or NULL for SQL NULL (the strings are borrowed and must
 * live until dbrows_params). REQUIRES: fewer than cap rows in r.
 */
const char **dbrows_add(struct dbrows *r);

/* Sets p[0..ncols) to r's columns as text[] literals, in r's arena. */
void dbrows_params(const struct dbrows *r, const char **p);

/* Empties r; its room stays. */
void dbrows_clear(struct dbrows *r);

#endif
