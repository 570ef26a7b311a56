/*
 * csv.c - RFC 4180 records; a quoted field may span lines.
 */
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "mem.h"

struct csv {
	FILE *fp;
	char *buf;
	size_t cap;
	long offset;
};

csv *
csv_open(FILE *fp)
{
	csv *r = xcalloc(1, sizeof(*r));

	r->fp = fp;
	r->cap = 4096;
	r->buf = xmalloc(r->cap);
	return (r);
}

void
csv_close(csv *r)
{
	if (r == NULL)
		return;
	free(r->buf);
	free(r);
}

long
csv_offset(const csv *r)
{
	return (r->offset);
}

int
csv_next(csv *r, struct csv_row *row)
{
	size_t len = 0;
	int c, quoted = 0, at_start = 1;
	char *start;

	row->n = 0;
	for (;;) {
		c = getc(r->fp);
		if (c == EOF) {
			if (len == 0 && row->n == 0 && at_start)
				return (0);
			break;
		}
		r->offset++;
		if (len + 2 >= r->cap) {
			r->cap *= 2;
			r->buf = xrealloc(r->buf, r->cap);
		}
		if (quoted) {
			if (c == '"') {
				int d = getc(r->fp);

				if (d == '"') {
					r->offset++;
					r->buf[len++] = '"';
					continue;
				}
				if (d != EOF)
					ungetc(d, r->fp);
				quoted = 0;
				continue;
			}
			r->buf[len++] = (char)c;
			continue;
		}
		if (c == '"' && at_start) {
			quoted = 1;
			at_start = 0;
			continue;
		}
		if (c == ',') {
			r->buf[len++] = '\0';
			at_start = 1;
			continue;
		}
		if (c == '\r')
			continue;
		if (c == '\n')
			break;
		r->buf[len++] = (char)c;
		at_start = 0;
	}
	if (quoted)
		return (-1);
	r->buf[len] = '\0';
	start = r->buf;
	for (size_t i = 0; i <= len; i++) {
		if (r->buf[i] == '\0') {
			if (row->n >= CSV_MAX_FIELDS)
				return (-1);
			row->field[row->n++] = start;
			start = r->buf + i + 1;
		}
	}
	return (1);
}
