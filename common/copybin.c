/*
 * copybin.c - PostgreSQL binary COPY encoder (see the "Binary Format"
 * section of the COPY reference page).
 */
#include <stdlib.h>
#include <string.h>

#include "copybin.h"
#include "mem.h"

static void
reserve(copybin *b, size_t n)
{
	if (b->len + n <= b->cap)
		return;
	while (b->len + n > b->cap)
		b->cap = b->cap ? b->cap * 2 : 65536;
	b->buf = xrealloc(b->buf, b->cap);
}

static void
put_be(copybin *b, uint64_t v, int bytes)
{
	reserve(b, (size_t)bytes);
	for (int i = bytes - 1; i >= 0; i--)
		b->buf[b->len++] = (unsigned char)(v >> (i * 8));
}

void
copybin_init(copybin *b)
{
	memset(b, 0, sizeof(*b));
}

void
copybin_fini(copybin *b)
{
	free(b->buf);
	memset(b, 0, sizeof(*b));
}

void
copybin_reset(copybin *b)
{
	b->len = 0;
}

void
copybin_header(copybin *b)
{
	static const unsigned char sig[11] = {'P', 'G', 'C', 'O', 'P', 'Y',
	    '\n', 0xff, '\r', '\n', 0};

	reserve(b, sizeof(sig));
	memcpy(b->buf + b->len, sig, sizeof(sig));
	b->len += sizeof(sig);
	put_be(b, 0, 4);	/* flags */
	put_be(b, 0, 4);	/* header extension length */
}

void
copybin_tuple(copybin *b, int16_t nfields)
{
	put_be(b, (uint16_t)nfields, 2);
}

void
copybin_null(copybin *b)
{
	put_be(b, UINT32_MAX, 4);
}

void
copybin_text(copybin *b, const char *s, size_t len)
{
	put_be(b, (uint32_t)len, 4);
	reserve(b, len);
	memcpy(b->buf + b->len, s, len);
	b->len += len;
}

void
copybin_int16(copybin *b, int16_t v)
{
	put_be(b, 2, 4);
	put_be(b, (uint16_t)v, 2);
}

void
copybin_int64(copybin *b, int64_t v)
{
	put_be(b, 8, 4);
	put_be(b, (uint64_t)v, 8);
}

void
copybin_bool(copybin *b, int v)
{
	put_be(b, 1, 4);
	put_be(b, v ? 1 : 0, 1);
}

void
copybin_int32(copybin *b, int32_t v)
{
	put_be(b, 4, 4);
	put_be(b, (uint32_t)v, 4);
}

void
copybin_float8(copybin *b, double v)
{
	uint64_t bits;

	memcpy(&bits, &v, sizeof(bits));
	put_be(b, 8, 4);
	put_be(b, bits, 8);
}

void
copybin_float4_array(copybin *b, const float *v, int n)
{
	/* ndim, has-null flag, element type (float4 = 700), dim, lower bound,
	 * then length-prefixed elements. */
	put_be(b, (uint32_t)(20 + 8 * n), 4);
	put_be(b, 1, 4);
	put_be(b, 0, 4);
	put_be(b, 700, 4);
	put_be(b, (uint32_t)n, 4);
	put_be(b, 1, 4);
	for (int i = 0; i < n; i++) {
		uint32_t bits;

		memcpy(&bits, &v[i], sizeof(bits));
		put_be(b, 4, 4);
		put_be(b, bits, 4);
	}
}

void
copybin_text_array(copybin *b, const char *const *v, int n)
{
	uint32_t len = 20;

	for (int i = 0; i < n; i++)
		len += 4 + (uint32_t)strlen(v[i]);
	put_be(b, len, 4);
	put_be(b, 1, 4);
	put_be(b, 0, 4);
	put_be(b, 25, 4);	/* text */
	put_be(b, (uint32_t)n, 4);
	put_be(b, 1, 4);
	for (int i = 0; i < n; i++) {
		size_t l = strlen(v[i]);

		put_be(b, (uint32_t)l, 4);
		reserve(b, l);
		memcpy(b->buf + b->len, v[i], l);
		b->len += l;
	}
}

void
copybin_jsonb(copybin *b, const char *json, size_t len)
{
	put_be(b, (uint32_t)len + 1, 4);
	put_be(b, 1, 1);
	reserve(b, len);
	memcpy(b->buf + b->len, json, len);
	b->len += len;
}

void
copybin_timestamptz(copybin *b, int64_t unix_us)
{
	copybin_int64(b, unix_us - COPYBIN_PG_EPOCH_US);
}

void
copybin_trailer(copybin *b)
{
	put_be(b, UINT16_MAX, 2);
}
