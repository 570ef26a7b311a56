/*
 * auth.c - bearer-token authentication.
 *
 * SECURITY
 *	Secrets are compared by their SHA-256 only; the cache is keyed by
 *	the hash. Tokens have 256 bits of entropy, so an unsalted fast hash
 *	is the right tool (as for API keys generally): there is nothing to
 *	brute-force.
 *
 * CONCURRENCY
 *	The cache is a small direct-mapped table under one mutex.
 */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "auth.h"
#include "rpc.h"

#define CACHE_SLOTS 256

struct slot {
	unsigned char hash[32];
	time_t expires;
	unsigned role;		/* 0 = known bad */
	int64_t token_id;
};

static struct slot cache[CACHE_SLOTS];
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;

void
auth_hash(const char *secret, unsigned char out[32])
{
	SHA256((const unsigned char *)secret, strlen(secret), out);
}

unsigned
auth_role_bit(const char *role)
{
	if (strcmp(role, "admin") == 0)
		return (ROLE_ADMIN);
	if (strcmp(role, "service") == 0)
		return (ROLE_SERVICE);
	if (strcmp(role, "agent") == 0)
		return (ROLE_AGENT);
	return (0);
}

void
auth_cache_clear(void)
{
	pthread_mutex_lock(&cache_mu);
	memset(cache, 0, sizeof(cache));
	pthread_mutex_unlock(&cache_mu);
}

rk_err
auth_check(db_conn *db, const char *header, unsigned *role, int64_t *token_id)
{
	unsigned char h[32];
	const char *secret;
	struct slot *sl;
	time_t now = time(NULL);
	const char *p[1];
	int lens[1] = {32}, fmts[1] = {1};
	db_res *r;
	rk_err rc;

	*role = 0;
	*token_id = 0;
	if (strncasecmp(header, "Bearer ", 7) != 0)
		return (RK_EAUTH);
	secret = header + 7;
	while (*secret == ' ')
		secret++;
	if (*secret == '\0' || strlen(secret) > 256)
		return (RK_EAUTH);
	auth_hash(secret, h);
	sl = &cache[(h[0] << 8 | h[1]) % CACHE_SLOTS];
	pthread_mutex_lock(&cache_mu);
	if (sl->expires > now && memcmp(sl->hash, h, 32) == 0) {
		*role = sl->role;
		*token_id = sl->token_id;
		pthread_mutex_unlock(&cache_mu);
		return (*role ? RK_OK : RK_EAUTH);
	}
	pthread_mutex_unlock(&cache_mu);
	p[0] = (const char *)h;
	rc = db_execp_bin(db, "auth_check",
	    "SELECT id, role FROM api_tokens WHERE token_hash = $1 "
	    "AND revoked_at IS NULL", 1, p, lens, fmts, &r);
	if (rc != RK_OK)
		return (RK_EUNAVAIL);
	if (db_res_nrows(r) == 1) {
		*token_id = db_res_int64(r, 0, 0);
		*role = auth_role_bit(db_res_str(r, 0, 1));
	}
	db_res_free(r);
	pthread_mutex_lock(&cache_mu);
	memcpy(sl->hash, h, 32);
	sl->expires = now + AUTH_CACHE_SECONDS;
	sl->role = *role;
	sl->token_id = *token_id;
	pthread_mutex_unlock(&cache_mu);
	return (*role ? RK_OK : RK_EAUTH);
}

rk_err
auth_new_secret(char *out, size_t cap)
{
	unsigned char raw[32], b64[64];
	int n;

	if (cap <= AUTH_SECRET_LEN || RAND_bytes(raw, sizeof(raw)) != 1)
		return (RK_ESYS);
	n = EVP_EncodeBlock(b64, raw, sizeof(raw));
	while (n > 0 && b64[n - 1] == '=')
		n--;
	for (int i = 0; i < n; i++)
		if (b64[i] == '+')
			b64[i] = '-';
		else if (b64[i] == '/')
			b64[i] = '_';
	snprintf(out, cap, "rk_%.*s", n, (char *)b64);
	return (RK_OK);
}

rk_err
auth_bootstrap_admin(db_conn *db, const char *secret)
{
	unsigned char h[32];
	const char *p[1] = {(const char *)h};
	int lens[1] = {32}, fmts[1] = {1};

	auth_hash(secret, h);
	return (db_execp_bin(db, "auth_bootstrap",
	    "INSERT INTO api_tokens (name, role, token_hash) "
	    "SELECT 'bootstrap-admin-' || substr(encode($1, 'hex'), 1, 8), "
	    " 'admin', $1 "
	    "WHERE NOT EXISTS (SELECT 1 FROM api_tokens WHERE token_hash = $1) "
	    "ON CONFLICT DO NOTHING", 1, p, lens, fmts, NULL));
}
