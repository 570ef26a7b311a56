/*
 * csv.c - RFC 4180 records; a quoted field may span lines.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

int
csv_col(const struct csv_row *h, const char *name)
{
	for (int i = 0; i < h->n; i++)
		if (strcmp(h->field[i], name) == 0)
			return (i);
	return (-1);
}

const char *
csv_get(const struct csv_row *r, int i)
{
	return (i >= 0 && i < r->n ? r->field[i] : "");
}

int
csv_time(const char *s, int64_t *us)
{
	struct tm tm;
	const char *p;
	long frac = 0, scale = 1000000;
	int off = 0;

	memset(&tm, 0, sizeof(tm));
	if ((p = strptime(s, "%Y-%m-%d", &tm)) == NULL)
		return (-1);
	if (*p == 'T' || *p == ' ') {
		const char *q = strptime(p + 1, "%H:%M:%S", &tm);

		if (q == NULL && (q = strptime(p + 1, "%H:%M", &tm)) == NULL)
			return (-1);
		p = q;
	}
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++)
			if (scale > 1) {
				scale /= 10;
				frac += (*p - '0') * scale;
			}
	}
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		/* exactly +HH:MM: nothing read past the string (fuzz_csv) */
		if (!isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]) ||
		    p[3] != ':' || !isdigit((unsigned char)p[4]) ||
		    !isdigit((unsigned char)p[5]))
			return (-1);
		off = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600 + ((p[4] - '0') *
		    10 + (p[5] - '0')) * 60;
		if (off > 18 * 3600)
			return (-1);
		if (*p == '-')
			off = -off;
		p += 6;
	}
	/* years 1..9999, the protobuf Timestamp's range: no overflow below */
	if (*p != '\0' || tm.tm_year < 1 - 1900 || tm.tm_year > 9999 - 1900)
		return (-1);
	*us = ((int64_t)timegm(&tm) - off) * 1000000 + frac;
	/* the zone can move it out of that range: 0001-01-01 00:00 +00:15
	 * is in year 0, which no Timestamp holds (fuzz_pbjson) */
	if (*us < INT64_C(-62135596800) * 1000000 ||
	    *us >= INT64_C(253402300800) * 1000000)
		return (-1);
	return (0);
}
