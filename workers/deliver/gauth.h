/*
 * gauth.h - OAuth 2.0 access tokens of a Google service account, as FCM
 * HTTP v1 takes them (firebase.google.com/docs/cloud-messaging/
 * auth-server: "a short-lived OAuth 2.0 access token derived from a
 * service account"), minted by the JWT bearer grant of "Using OAuth 2.0
 * for Server to Server Applications" (developers.google.com/identity/
 * protocols/oauth2/service-account):
 *
 *	a JWT (RFC 7519) {"alg": "RS256", "typ": "JWT", "kid": private_key_id}
 *	with the claims iss = client_email, scope, aud = token_uri, iat and
 *	exp (at most an hour after iat), signed RSASSA-PKCS1-v1_5 SHA-256
 *	(RFC 7518 3.3) with the account's private key, base64url without
 *	padding (RFC 7515 2); POSTed form-encoded to token_uri as
 *	grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=JWT
 *	(RFC 7523 2.1), which answers {"access_token", "expires_in" (3599),
 *	"token_type": "Bearer"}.
 *
 * The token lives an hour; a token is not spent by use, so each process
 * mints its own, and a second one minted meanwhile does no harm.
 */
#ifndef RK_GAUTH_H
#define RK_GAUTH_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct gauth_account {
	char *email;		/* client_email: the JWT's issuer */
	char *token_uri;	/* where tokens are minted: the JWT's audience */
	char *key_id;		/* private_key_id, or NULL */
	void *key;		/* the private key (EVP_PKEY) */
};

/* Reads a service account's JSON key file (type "service_account");
 * on an error says why in why. */
rk_err gauth_load(const char *path, struct gauth_account *acct, char *why,
    size_t whylen);
void gauth_free(struct gauth_account *acct);

/* The signed assertion (new, caller frees) for scope, issued at now_s
 * and good for an hour; NULL if it cannot be signed. */
char *gauth_assertion(const struct gauth_account *acct, const char *scope,
    int64_t now_s);

/* The token request's form body for assertion (new, caller frees). */
char *gauth_form(const char *assertion);

/* Reads the token endpoint's answer: the access token (new, caller
 * frees) and how many seconds it lives; NULL if it holds none. */
char *gauth_token_of(const char *reply, int *expires_in_s);

#endif
