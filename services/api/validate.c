/*
 * validate.c - input checks shared by the handlers.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "validate.h"

const char *
validate_id(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0)
		return ("is required");
	if (n > MAX_ID_LEN)
		return ("is longer than 64 characters");
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '.' || *s == '_' ||
		    *s == ':' || *s == '-'))
			return ("may hold only letters, digits and . _ : -");
	return (NULL);
}

bool
validate_page_id(const char *tok, const char *prefix, long long *id)
{
	size_t n = strlen(prefix);
	char *end;

	*id = 0;
	if (tok == NULL || *tok == '\0')
		return (true);
	if (strncmp(tok, prefix, n) != 0 || tok[n] < '1' || tok[n] > '9' ||
	    strlen(tok) > n + 19)
		return (false);
	*id = strtoll(tok + n, &end, 10);
	return (*end == '\0' && *id > 0);
}

const char *
validate_text(const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;

	if (s == NULL)
		return (NULL);
	if (strlen(s) > max)
		return ("is too long");
	while (*p) {
		int extra;

		if (*p < 0x20 || *p == 0x7f)
			return ("contains control characters");
		if (*p < 0x80) {
			p++;
			continue;
		}
		extra = (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 :
		    (*p & 0xf8) == 0xf0 ? 3 : -1;
		if (extra < 0 || (*p == 0xc0 || *p == 0xc1))
			return ("is not valid UTF-8");
		p++;
		for (int i = 0; i < extra; i++, p++)
			if ((*p & 0xc0) != 0x80)
				return ("is not valid UTF-8");
	}
	return (NULL);
}

const char *
validate_time_zone(const char *s)
{
	char path[160];

	if (strlen(s) > 64 || strstr(s, "..") != NULL || s[0] == '/')
		return ("is not a known IANA time zone");
	for (const char *p = s; *p; p++)
		if (!(isalnum((unsigned char)*p) || *p == '/' || *p == '_' ||
		    *p == '-' || *p == '+'))
			return ("is not a known IANA time zone");
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", s);
	if (access(path, R_OK) != 0)
		return ("is not a known IANA time zone");
	return (NULL);
}

const char *
validate_language(const char *s)
{
	size_t n = 0;

	while (isalpha((unsigned char)s[n]))
		n++;
	if (n < 2 || n > 3)
		return ("is not a BCP 47 language tag");
	for (const char *p = s + n; *p;) {
		size_t k = 0;

		if (*p++ != '-')
			return ("is not a BCP 47 language tag");
		while (isalnum((unsigned char)p[k]))
			k++;
		if (k < 1 || k > 8)
			return ("is not a BCP 47 language tag");
		p += k;
	}
	return (NULL);
}

const char *
validate_currency(const char *s)
{
	if (strlen(s) != 3 || !isupper((unsigned char)s[0]) ||
	    !isupper((unsigned char)s[1]) || !isupper((unsigned char)s[2]))
		return ("is not an ISO 4217 code");
	return (NULL);
}

const char *
validate_partner_id(const char *s)
{
	if (*s == '\0' || strlen(s) > 40)
		return ("must be 1..40 of A-Z, 0-9, _");
	for (; *s; s++)
		if (!(isupper((unsigned char)*s) || isdigit((unsigned char)*s) ||
		    *s == '_'))
			return ("must be 1..40 of A-Z, 0-9, _");
	return (NULL);
}

const char *
validate_past_time(int64_t seconds, int64_t now_s)
{
	if (seconds <= 0)
		return ("is required");
	if (seconds > now_s + 86400)
		return ("is in the future");
	return (NULL);
}
