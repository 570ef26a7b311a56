/*
 * copybin.h - PostgreSQL's binary COPY format, both ways.
 *
 * Builds the byte stream of COPY ... FROM STDIN (FORMAT binary): header,
 * tuples of length-prefixed big-endian fields, trailer; and splits the
 * rows of COPY ... TO STDOUT (FORMAT binary) into fields. Pure: no I/O.
 */
#ifndef RK_COPYBIN_H
#define RK_COPYBIN_H

#include <stddef.h>
#include <stdint.h>

typedef struct copybin {
	unsigned char *buf;
	size_t len;
	size_t cap;
} copybin;

/* Microseconds between 1970-01-01 and 2000-01-01 (PostgreSQL's epoch). */
#define COPYBIN_PG_EPOCH_US INT64_C(946684800000000)

void copybin_init(copybin *b);
void copybin_fini(copybin *b);
/* Forgets the content, keeps the buffer. */
void copybin_reset(copybin *b);

/* The 19-byte signature, flags and header extension. */
void copybin_header(copybin *b);
/* Starts a tuple of nfields fields. */
void copybin_tuple(copybin *b, int16_t nfields);
void copybin_null(copybin *b);
void copybin_text(copybin *b, const char *s, size_t len);
void copybin_int16(copybin *b, int16_t v);
void copybin_int64(copybin *b, int64_t v);
void copybin_bool(copybin *b, int v);
void copybin_int32(copybin *b, int32_t v);
void copybin_float8(copybin *b, double v);
/* A real[] (float4 array, one dimension, no NULLs) of n values. */
void copybin_float4_array(copybin *b, const float *v, int n);
/* A text[] of n strings (one dimension, no NULLs). */
void copybin_text_array(copybin *b, const char *const *v, int n);
/* A timestamptz given as microseconds since the Unix epoch. */
void copybin_timestamptz(copybin *b, int64_t unix_us);
/* The -1 field count that ends the stream. */
void copybin_trailer(copybin *b);

/* One field of a received row: len bytes at p, or len -1 for NULL. */
struct copybin_field {
	const unsigned char *p;
	int32_t len;
};

/*
 * Splits one received row (a CopyData message; the first also carries the
 * header, which is checked and skipped) into at most maxf fields. Returns
 * the number of fields, 0 for the trailer, -1 if the bytes are not a row
 * of the binary format or have more than maxf fields.
 */
int copybin_parse(const void *buf, size_t len, struct copybin_field *f,
    int maxf);
/* A field's value: an int2, int4 or int8 by its length (NULL: dflt). */
int64_t copybin_get_int(const struct copybin_field *f, int64_t dflt);
/* A timestamptz field as microseconds since the Unix epoch. */
int64_t copybin_get_timestamptz(const struct copybin_field *f);

#endif
