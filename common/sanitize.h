/*
 * sanitize.h - making untrusted or personal text safe to log.
 */
#ifndef RK_SANITIZE_H
#define RK_SANITIZE_H

#include <stddef.h>

/*
 * Copies src to dst (capacity cap > 0, always NUL-terminated), replacing
 * e-mail addresses with "<email>" and phone-number-like digit runs (9 to 15
 * digits starting with '+', '0' or '84', spaces and dashes allowed) with "<phone>". Returns dst.
 */
char *sanitize_mask(char *dst, size_t cap, const char *src);

/*
 * Copies at most max bytes of src to dst (capacity cap), replacing control
 * and non-printable bytes with '?' (Postfix printable()). Returns dst.
 */
char *sanitize_printable(char *dst, size_t cap, const char *src, size_t max);

#endif
