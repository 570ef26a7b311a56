/*
 * copybin.c - PostgreSQL binary COPY encoder and row decoder (see the
 * "Binary Format" section of the COPY reference page).
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

static const unsigned char sig[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n',
	0xff, '\r', '\n', 0};

void
copybin_header(copybin *b)
{
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
copybin_timestamptz(copybin *b, int64_t unix_us)
{
	copybin_int64(b, unix_us - COPYBIN_PG_EPOCH_US);
}

void
copybin_trailer(copybin *b)
{
	put_be(b, UINT16_MAX, 2);
}

static uint64_t
get_be(const unsigned char *p, int bytes)
{
	uint64_t v = 0;

	for (int i = 0; i < bytes; i++)
		v = v << 8 | p[i];
	return (v);
}

int
copybin_parse(const void *buf, size_t len, struct copybin_field *f, int maxf)
{
	const unsigned char *p = buf, *end = p + len;
	int n;

	if (len >= sizeof(sig) && memcmp(p, sig, sizeof(sig)) == 0) {
		uint32_t ext;

		if (len < sizeof(sig) + 8)
			return (-1);
		ext = (uint32_t)get_be(p + sizeof(sig) + 4, 4);
		if (ext > len - sizeof(sig) - 8)
			return (-1);
		p += sizeof(sig) + 8 + ext;
	}
	if (end - p < 2)
		return (-1);
	n = (int16_t)get_be(p, 2);
	p += 2;
	if (n == -1)
		return (0);
	if (n < 0 || n > maxf)
		return (-1);
	for (int i = 0; i < n; i++) {
		int32_t flen;

		if (end - p < 4)
			return (-1);
		flen = (int32_t)get_be(p, 4);
		p += 4;
		if (flen < -1 || (flen > 0 && end - p < flen))
			return (-1);
		f[i].p = p;
		f[i].len = flen;
		if (flen > 0)
			p += flen;
	}
	return (p == end ? n : -1);
}

int64_t
copybin_get_int(const struct copybin_field *f, int64_t dflt)
{
	switch (f->len) {
	case 2:
		return ((int16_t)get_be(f->p, 2));
	case 4:
		return ((int32_t)get_be(f->p, 4));
	case 8:
		return ((int64_t)get_be(f->p, 8));
	default:
		return (dflt);
	}
}

int64_t
copybin_get_timestamptz(const struct copybin_field *f)
{
	return (copybin_get_int(f, 0) + COPYBIN_PG_EPOCH_US);
}
