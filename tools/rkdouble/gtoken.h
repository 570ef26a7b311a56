/*
 * gtoken.h - the double's Google OAuth 2.0 token endpoint, for FCM HTTP
 * v1: a service account of its own (GET /_fcm/service_account gives its
 * JSON key file, token_uri pointing here) and the JWT bearer grant at
 * POST /oauth2/token, checked as Google checks it (developers.google.com/
 * identity/protocols/oauth2/service-account): the assertion's RS256
 * signature by the account's key, iss the account, aud the token_uri,
 * the scope, iat not in the future, exp after now and at most an hour
 * after iat. FCM then takes only a bearer token minted here and not
 * expired or revoked - never a made-up one.
 */
#ifndef RK_GTOKEN_H
#define RK_GTOKEN_H

#include <jansson.h>
#include <stdbool.h>

/* The service account's key file; token_uri on host (the request's Host
 * header). The key is made on the first call. */
json_t *gtoken_service_account(const char *host);

/* Answers a token request (form, the POST body; host as above): the
 * HTTP status and its JSON (*out, new). */
unsigned gtoken_mint(const char *host, const char *form, json_t **out);

/* Whether "Bearer T" (the Authorization header) names a live token. */
bool gtoken_valid(const char *authorization);

/* Tokens minted from now live seconds (default 3599, as Google's). */
void gtoken_set_life(int seconds);
/* Every token minted so far stops working (a revoked key). */
void gtoken_revoke_all(void);
/* Tokens minted so far. */
long gtoken_minted(void);

#endif
