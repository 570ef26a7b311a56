/*
 * sanitize.c - masking of contact data and non-printable bytes in text
 * headed for a log.
 */
#include <ctype.h>
#include <string.h>

#include "sanitize.h"

static int
is_email_char(int c)
{
	return (isalnum(c) || c == '.' || c == '_' || c == '-' || c == '+' ||
	    c == '%');
}

/* Phone numbers start with '+', a trunk '0' or the country code 84. */
static int
phone_prefix(const char *s)
{
	return (s[0] == '+' || s[0] == '0' || (s[0] == '8' && s[1] == '4'));
}

/* Appends s to dst at *n within cap (keeping room for the NUL). */
static void
put(char *dst, size_t cap, size_t *n, const char *s, size_t len)
{
	while (len-- > 0 && *n + 1 < cap)
		dst[(*n)++] = *s++;
}

char *
sanitize_mask(char *dst, size_t cap, const char *src)
{
	size_t n = 0, i = 0, len = strlen(src);

	while (i < len && n + 1 < cap) {
		unsigned char c = (unsigned char)src[i];

		if (isdigit(c) || (c == '+' && isdigit((unsigned char)src[i + 1]))) {
			size_t j = i + (c == '+'), digits = 0;

			while (j < len && (isdigit((unsigned char)src[j]) ||
			    src[j] == ' ' || src[j] == '-' || src[j] == '.')) {
				if (isdigit((unsigned char)src[j]))
					digits++;
				else if (!isdigit((unsigned char)src[j + 1]))
					break;
				j++;
			}
			if (digits >= 9 && digits <= 15 && phone_prefix(src + i) &&
			    (i == 0 || !isalnum((unsigned char)src[i - 1]))) {
				put(dst, cap, &n, "<phone>", 7);
			} else {
				put(dst, cap, &n, src + i, j - i);
			}
			i = j;
			continue;
		}
		if (is_email_char(c)) {
			size_t j = i;

			while (j < len && is_email_char((unsigned char)src[j]))
				j++;
			if (j < len && src[j] == '@' && j > i) {
				size_t k = j + 1, dots = 0;

				while (k < len && (isalnum((unsigned char)src[k]) ||
				    src[k] == '-' || src[k] == '.')) {
					dots += src[k] == '.';
					k++;
				}
				if (dots > 0 && k > j + 1) {
					put(dst, cap, &n, "<email>", 7);
					i = k;
					continue;
				}
			}
			put(dst, cap, &n, src + i, j - i);
			i = j;
			continue;
		}
		dst[n++] = (char)c;
		i++;
	}
	dst[n] = '\0';
	return (dst);
}

char *
sanitize_printable(char *dst, size_t cap, const char *src, size_t max)
{
	size_t n = 0;

	for (; *src != '\0' && n < max && n + 1 < cap; src++) {
		unsigned char c = (unsigned char)*src;

		dst[n++] = (c >= 0x20 && c < 0x7f) || c >= 0x80 ? (char)c : '?';
	}
	dst[n] = '\0';
	return (dst);
}
