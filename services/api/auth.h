/*
 * auth.h - bearer tokens: hashing, checking (with a short cache) and the
 * bootstrap admin token.
 *
 * Only the SHA-256 of a token is stored. A check hits PostgreSQL at most
 * once per token per AUTH_CACHE_SECONDS per process, so a revocation takes
 * effect everywhere within that time.
 */
#ifndef RK_AUTH_H
#define RK_AUTH_H

#include <stdint.h>

#include "db.h"
#include "err.h"

#define AUTH_CACHE_SECONDS 5
#define AUTH_SECRET_LEN 46	/* "rk_" + 43 base64url characters */

/* SHA-256 of the secret into out[32]. */
void auth_hash(const char *secret, unsigned char out[32]);

/*
 * Checks an "authorization" metadata value ("Bearer <secret>"). On RK_OK
 * sets *role (ROLE_* bit) and *token_id. RK_EAUTH: missing, malformed,
 * unknown or revoked. RK_EUNAVAIL: the database could not be asked.
 */
rk_err auth_check(db_conn *db, const char *header, unsigned *role,
    int64_t *token_id);

/* Forgets cached checks (after a revocation in this process). */
void auth_cache_clear(void);

/* Makes a new random secret into out (capacity > AUTH_SECRET_LEN). */
rk_err auth_new_secret(char *out, size_t cap);

/*
 * Makes sure the admin token whose secret is given exists (stored hashed,
 * named "bootstrap-admin"). Idempotent; safe with several processes.
 */
rk_err auth_bootstrap_admin(db_conn *db, const char *secret);

/* Maps a stored role name to its ROLE_* bit (0 if unknown). */
unsigned auth_role_bit(const char *role);

#endif
