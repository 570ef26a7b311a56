/*
 * csv.h - an RFC 4180 reader (quoted fields, doubled quotes, CRLF).
 */
#ifndef RK_CSV_H
#define RK_CSV_H

#include <stdint.h>
#include <stdio.h>

#define CSV_MAX_FIELDS 32

struct csv_row {
	int n;
	char *field[CSV_MAX_FIELDS];	/* into the reader's buffer */
};

typedef struct csv csv;

/* Reads from fp (borrowed). */
csv *csv_open(FILE *fp);
void csv_close(csv *r);
/*
 * Reads the next record into row (fields valid until the next call).
 * Returns 1 for a record, 0 at end of file, -1 for a malformed record.
 */
int csv_next(csv *r, struct csv_row *row);
/* Bytes consumed so far (for progress). */
long csv_offset(const csv *r);

/* Index of the header column name, or -1. */
int csv_col(const struct csv_row *header, const char *name);
/* Field i of row, "" if absent (i -1 or past the end). */
const char *csv_get(const struct csv_row *row, int i);
/*
 * Parses "YYYY-MM-DD[ T]HH:MM[:SS[.ffffff]][Z|+HH:MM|-HH:MM]" (UTC when no
 * zone) into microseconds since the epoch. Returns 0 on success.
 */
int csv_time(const char *s, int64_t *us);

#endif
