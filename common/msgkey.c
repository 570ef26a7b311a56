/*
 * msgkey.c - percent-escaping of the key's ids.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "msgkey.h"

/* Appends s escaped at out[*at]; false if it does not fit. */
static bool
put_escaped(const char *s, char *out, size_t cap, size_t *at)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		bool plain = *p > 0x20 && *p < 0x7f && *p != '%' && *p != ':';

		if (*at + (plain ? 1 : 3) >= cap)
			return (false);
		if (plain)
			out[(*at)++] = (char)*p;
		else {
			out[(*at)++] = '%';
			out[(*at)++] = hex[*p >> 4];
			out[(*at)++] = hex[*p & 15];
		}
	}
	out[*at] = '\0';
	return (true);
}

bool
msgkey_make(const struct msgkey *k, char *out, size_t cap)
{
	const char *ch = channel_name(k->channel);
	size_t at = 0;
	int n;

	if (ch == NULL || k->step < 0 || k->step > 32767 || cap == 0 ||
	    *k->campaign == '\0' || *k->customer == '\0' || k->entry < 0 ||
	    k->entry > 32767)
		return (false);
	if (!put_escaped(k->campaign, out, cap, &at) || at + 1 >= cap)
		return (false);
	out[at++] = ':';
	if (!put_escaped(k->customer, out, cap, &at))
		return (false);
	n = k->entry > 1 ? snprintf(out + at, cap - at, ":%d:%s:%d", k->step,
	    ch, k->entry) : snprintf(out + at, cap - at, ":%d:%s", k->step, ch);
	return (n > 0 && (size_t)n < cap - at);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	return (-1);
}

/* Unescapes s[0..len) into out (cap); false if malformed or too long. */
static bool
get_escaped(const char *s, size_t len, char *out, size_t cap)
{
	size_t o = 0;

	if (len == 0)
		return (false);
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= len)
				return (false);
			if ((hi = hexval(s[i + 1])) < 0 ||
			    (lo = hexval(s[i + 2])) < 0)
				return (false);
			c = hi << 4 | lo;
			if (c == 0)
				return (false);
			i += 2;
		} else if (c <= 0x20 || c >= 0x7f)
			return (false);
		if (o + 1 >= cap)
			return (false);
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return (true);
}

/* A decimal lo..hi that is all of s[0..len); -1 if not. */
static long
number(const char *s, size_t len, long lo, long hi)
{
	long v = 0;

	if (len == 0 || len > 5)
		return (-1);
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (-1);
		v = v * 10 + (s[i] - '0');
	}
	return (v >= lo && v <= hi ? v : -1);
}

bool
msgkey_parse(const char *key, struct msgkey *k)
{
	const char *c1, *c2, *c3, *c4;
	char chan[16];
	long step, entry = 1;
	size_t chlen;

	if (key == NULL || (c1 = strchr(key, ':')) == NULL ||
	    (c2 = strchr(c1 + 1, ':')) == NULL ||
	    (c3 = strchr(c2 + 1, ':')) == NULL)
		return (false);
	/* a fifth field: the entry, never 1 (a first entry has none) */
	if ((c4 = strchr(c3 + 1, ':')) != NULL) {
		if (strchr(c4 + 1, ':') != NULL ||
		    (entry = number(c4 + 1, strlen(c4 + 1), 2, 32767)) < 0 ||
		    c4[1] == '0')
			return (false);
	} else
		c4 = c3 + strlen(c3);
	if (!get_escaped(key, (size_t)(c1 - key), k->campaign,
	    sizeof(k->campaign)) || !get_escaped(c1 + 1, (size_t)(c2 - c1 - 1),
	    k->customer, sizeof(k->customer)))
		return (false);
	if ((step = number(c2 + 1, (size_t)(c3 - c2 - 1), 0, 32767)) < 0)
		return (false);
	chlen = (size_t)(c4 - c3 - 1);
	if (chlen == 0 || chlen >= sizeof(chan))
		return (false);
	memcpy(chan, c3 + 1, chlen);
	chan[chlen] = '\0';
	k->step = (int)step;
	k->entry = (int)entry;
	k->channel = channel_of_name(chan);
	return (k->channel != 0);
}
