/*
 * phone.h - contact-point normalisation and checks.
 */
#ifndef RK_PHONE_H
#define RK_PHONE_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/*
 * Normalises a Vietnamese phone number given as 0…, 84… or +84… (spaces,
 * dots, dashes and parentheses allowed) to E.164 "+84" followed by the
 * 9-digit national significant number, into out (capacity >= 16).
 * Mobile prefixes 3, 5, 7, 8, 9 and landline 2xx are accepted.
 * Returns RK_EINVAL (out untouched) for anything else.
 */
rk_err phone_normalize_vn(const char *in, char *out, size_t cap);

/*
 * A practical e-mail check: one '@', a non-empty local part of allowed
 * characters, a domain of dot-separated labels with a final label of two or
 * more letters, at most 254 bytes. No quoted local parts.
 */
bool email_valid(const char *s);

#endif
