/*
 * validate.h - field checks for API input. Each returns NULL when the value
 * is acceptable, else a static description for a BadRequest violation.
 *
 * SECURITY
 *	These bound every string that reaches the database or a log.
 */
#ifndef RK_VALIDATE_H
#define RK_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_ID_LEN 64
#define MAX_NAME_LEN 200
#define MAX_TOKEN_LEN 4096
#define MAX_CUSTOMERS_PER_CALL 1000
#define MAX_TXNS_PER_MESSAGE 50000

/* An id: 1..64 bytes of [A-Za-z0-9._:-]. */
const char *validate_id(const char *s);
/*
 * A list's page token of the form PREFIX and a positive row id ("ce.42"):
 * true with *id set (0 for an empty token: the first page), false for
 * anything else.
 */
bool validate_page_id(const char *tok, const char *prefix, long long *id);
/* Valid UTF-8 of at most max bytes without control characters. */
const char *validate_text(const char *s, size_t max);
/* An IANA zone name present in the system's zoneinfo. */
const char *validate_time_zone(const char *s);
/* A BCP 47 language tag ("vi", "en-US"). */
const char *validate_language(const char *s);
/* An ISO 4217 code: three capital letters. */
const char *validate_currency(const char *s);
/* A partner brand code: 1..40 of A-Z, 0-9, _ ("TIKI"). */
const char *validate_partner_id(const char *s);
/* Seconds since the epoch within 1970 .. now + 1 day. */
const char *validate_past_time(int64_t seconds, int64_t now_s);

#endif
