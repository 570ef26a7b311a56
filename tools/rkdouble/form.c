/*
 * form.c - reading an application/x-www-form-urlencoded body (form.h).
 */
#include <stdio.h>
#include <string.h>

#include "form.h"
#include "mem.h"

char *
form_value(const char *form, const char *name)
{
	size_t nl = strlen(name);

	for (const char *p = form; p != NULL && *p != '\0';) {
		const char *end = strchr(p, '&');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
			char *v = xmalloc(len - nl), *o = v;

			for (const char *q = p + nl + 1; q < p + len; q++) {
				unsigned hex;

				if (*q == '%' && q + 2 < p + len &&
				    sscanf(q + 1, "%2x", &hex) == 1) {
					*o++ = (char)hex;
					q += 2;
				} else
					*o++ = *q == '+' ? ' ' : *q;
			}
			*o = '\0';
			return (v);
		}
		p = end ? end + 1 : NULL;
	}
	return (NULL);
}
