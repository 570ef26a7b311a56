/*
 * phone.c - Vietnamese phone numbers to E.164, and an e-mail address check.
 *
 * Viet Nam's numbering plan since 2018: mobile numbers are 0 + 9 digits
 * starting 3, 5, 7, 8 or 9; geographic numbers are 0 + 2xx + 7 or 8 digits
 * (10 or 11 digits in all). Internationally they are +84 without the 0.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "phone.h"

rk_err
phone_normalize_vn(const char *in, char *out, size_t cap)
{
	char digits[32];
	size_t n = 0;
	const char *p = in, *nsn;
	size_t nlen;
	bool plus = false;

	while (isspace((unsigned char)*p))
		p++;
	if (*p == '+') {
		plus = true;
		p++;
	}
	for (; *p != '\0'; p++) {
		if (isdigit((unsigned char)*p)) {
			if (n + 1 >= sizeof(digits))
				return (RK_EINVAL);
			digits[n++] = *p;
		} else if (!(*p == ' ' || *p == '.' || *p == '-' || *p == '(' ||
		    *p == ')')) {
			return (RK_EINVAL);
		}
	}
	digits[n] = '\0';
	if (plus || (n >= 11 && strncmp(digits, "84", 2) == 0)) {
		if (strncmp(digits, "84", 2) != 0)
			return (RK_EINVAL);
		nsn = digits + 2;
	} else if (digits[0] == '0') {
		nsn = digits + 1;
	} else {
		return (RK_EINVAL);
	}
	nlen = strlen(nsn);
	if (nsn[0] == '2') {
		if (nlen != 10 && nlen != 9)
			return (RK_EINVAL);
	} else if (strchr("35789", nsn[0]) != NULL && nsn[0] != '\0') {
		if (nlen != 9)
			return (RK_EINVAL);
	} else {
		return (RK_EINVAL);
	}
	if (cap < nlen + 4)
		return (RK_EINVAL);
	snprintf(out, cap, "+84%s", nsn);
	return (RK_OK);
}

bool
email_valid(const char *s)
{
	const char *at = strchr(s, '@'), *p, *label;
	size_t len = strlen(s);

	if (at == NULL || at == s || len > 254 || strchr(at + 1, '@') != NULL ||
	    at - s > 64)
		return (false);
	for (p = s; p < at; p++)
		if (!(isalnum((unsigned char)*p) ||
		    strchr("!#$%&'*+-/=?^_`{|}~.", *p) != NULL))
			return (false);
	if (s[0] == '.' || at[-1] == '.' || strstr(s, "..") != NULL)
		return (false);
	label = at + 1;
	for (p = label;; p++) {
		if (*p == '.' || *p == '\0') {
			if (p == label || label[0] == '-' || p[-1] == '-')
				return (false);
			if (*p == '\0')
				break;
			label = p + 1;
		} else if (!(isalnum((unsigned char)*p) || *p == '-')) {
			return (false);
		}
	}
	if (label == at + 1 || p - label < 2)
		return (false);
	for (p = label; *p != '\0'; p++)
		if (!isalpha((unsigned char)*p))
			return (false);
	return (true);
}
