/*
 * dbrows.c - rows gathered for one set-wise statement, sent as one text[]
 * literal a column.
 */
#include <assert.h>

#include "db.h"
#include "dbrows.h"

void
dbrows_init(struct dbrows *r, arena *a, int ncols, size_t cap)
{
	r->a = a;
	r->ncols = ncols;
	r->cap = cap;
	r->n = 0;
	r->cell = arena_zalloc(a, sizeof(char *) * ((size_t)ncols * cap + 1));
}

const char **
dbrows_add(struct dbrows *r)
{
	assert(r->n < r->cap);
	return (r->cell + (size_t)r->ncols * r->n++);
}

void
dbrows_params(const struct dbrows *r, const char **p)
{
	const char **col = arena_alloc(r->a, sizeof(char *) * (r->n + 1));

	for (int j = 0; j < r->ncols; j++) {
		for (size_t i = 0; i < r->n; i++)
			col[i] = r->cell[(size_t)r->ncols * i + (size_t)j];
		p[j] = db_text_array(r->a, col, r->n);
	}
}

void
dbrows_clear(struct dbrows *r)
{
	r->n = 0;
}
