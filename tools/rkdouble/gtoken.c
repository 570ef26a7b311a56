/*
 * gtoken.c - the double's OAuth 2.0 token endpoint (gtoken.h).
 */
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "form.h"
#include "gtoken.h"
#include "mem.h"

#define GRANT "urn:ietf:params:oauth:grant-type:jwt-bearer"
#define SCOPE "https://www.googleapis.com/auth/firebase.messaging"
#define EMAIL "rekindle-push@bank-vn.iam.gserviceaccount.com"
#define KEY_ID "rkdouble-key-1"
#define NLIVE 256		/* tokens remembered */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static EVP_PKEY *key;
static int life_s = 3599;
static long minted, revoked_below;	/* token numbers below it are void */
static struct {
	char token[48];
	long n;
	time_t expires;
} live[NLIVE];

/* The key, made once (mu held). */
static EVP_PKEY *
the_key(void)
{
	if (key == NULL)
		key = EVP_RSA_gen(2048);
	return (key);
}

json_t *
gtoken_service_account(const char *host)
{
	char uri[300], *pem = NULL;
	BIO *b = BIO_new(BIO_s_mem());
	long len;
	json_t *j;

	pthread_mutex_lock(&mu);
	if (b != NULL && the_key() != NULL)
		(void)PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL);
	pthread_mutex_unlock(&mu);
	len = b != NULL ? BIO_get_mem_data(b, &pem) : 0;
	snprintf(uri, sizeof(uri), "http://%s/oauth2/token", host);
	j = json_pack("{s:s,s:s,s:s,s:s%,s:s,s:s,s:s}", "type",
	    "service_account", "project_id", "bank-vn", "private_key_id",
	    KEY_ID, "private_key", pem ? pem : "", (size_t)(len > 0 ? len : 0),
	    "client_email", EMAIL, "client_id", "100000000000000000001",
	    "token_uri", uri);
	BIO_free(b);
	return (j);
}

/* base64url (no padding) of s[0..n), decoded into *out (new); its
 * length, -1 if it is not base64url. */
static long
unb64url(const char *s, size_t n, unsigned char **out)
{
	size_t padded = (n + 3) / 4 * 4;
	char *t = xmalloc(padded + 1);
	int len;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '+' || c == '/' || c == '=') {
			free(t);
			return (-1);
		}
		t[i] = c == '-' ? '+' : c == '_' ? '/' : c;
	}
	for (size_t i = n; i < padded; i++)
		t[i] = '=';
	t[padded] = '\0';
	*out = xmalloc(padded / 4 * 3 + 1);
	len = EVP_DecodeBlock(*out, (unsigned char *)t, (int)padded);
	free(t);
	if (len < 0) {
		free(*out);
		return (-1);
	}
	/* EVP_DecodeBlock counts the padding's zero bytes */
	len -= (int)(padded - n);
	(*out)[len] = '\0';
	return (len);
}

static unsigned
refuse(json_t **out, const char *error, const char *why)
{
	*out = json_pack("{s:s,s:s}", "error", error, "error_description", why);
	return (400);
}

/* Checks the assertion's signature and claims; NULL if good, else why. */
static const char *
check(const char *host, const char *jwt)
{
	const char *d1 = strchr(jwt, '.'), *d2 = d1 ? strchr(d1 + 1, '.') :
	    NULL, *why = NULL, *alg, *iss, *aud, *scope;
	unsigned char *head = NULL, *claims = NULL, *sig = NULL;
	long nsig;
	json_t *h = NULL, *c = NULL;
	EVP_MD_CTX *md;
	char uri[300];
	time_t now = time(NULL);
	json_int_t iat, exp;
	int ok;

	if (d2 == NULL || strchr(d2 + 1, '.') != NULL)
		return ("not a JWS compact serialization");
	if (unb64url(jwt, (size_t)(d1 - jwt), &head) < 0 ||
	    unb64url(d1 + 1, (size_t)(d2 - d1 - 1), &claims) < 0 ||
	    (nsig = unb64url(d2 + 1, strlen(d2 + 1), &sig)) < 0) {
		why = "not base64url";
		goto out;
	}
	h = json_loads((char *)head, 0, NULL);
	c = json_loads((char *)claims, 0, NULL);
	alg = json_string_value(json_object_get(h, "alg"));
	if (alg == NULL || strcmp(alg, "RS256") != 0) {
		why = "alg is not RS256";
		goto out;
	}
	pthread_mutex_lock(&mu);
	ok = (md = EVP_MD_CTX_new()) != NULL && the_key() != NULL &&
	    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
	    EVP_DigestVerify(md, sig, (size_t)nsig, (const unsigned char *)jwt,
	    (size_t)(d2 - jwt)) == 1;
	pthread_mutex_unlock(&mu);
	EVP_MD_CTX_free(md);
	if (!ok) {
		why = "Invalid JWT Signature.";
		goto out;
	}
	snprintf(uri, sizeof(uri), "http://%s/oauth2/token", host);
	iss = json_string_value(json_object_get(c, "iss"));
	aud = json_string_value(json_object_get(c, "aud"));
	scope = json_string_value(json_object_get(c, "scope"));
	iat = json_integer_value(json_object_get(c, "iat"));
	exp = json_integer_value(json_object_get(c, "exp"));
	if (iss == NULL || strcmp(iss, EMAIL) != 0)
		why = "iss is not the service account";
	else if (aud == NULL || strcmp(aud, uri) != 0)
		why = "aud is not the token_uri";
	else if (scope == NULL || strstr(scope, SCOPE) == NULL)
		why = "the scope does not include firebase.messaging";
	else if (iat > (json_int_t)now + 60 || exp <= (json_int_t)now ||
	    exp - iat > 3600 || exp <= iat)
		why = "Invalid JWT: Token must be a short-lived token (60 "
		    "minutes) and in a reasonable timeframe.";
out:
	json_decref(h);
	json_decref(c);
	free(head);
	free(claims);
	free(sig);
	return (why);
}

unsigned
gtoken_mint(const char *host, const char *form, json_t **out)
{
	char *grant = form_value(form, "grant_type"),
	    *jwt = form_value(form, "assertion");
	const char *why;
	unsigned code;
	int i;

	if (grant == NULL || strcmp(grant, GRANT) != 0)
		code = refuse(out, "unsupported_grant_type", "Invalid grant_type");
	else if (jwt == NULL)
		code = refuse(out, "invalid_request", "assertion is missing");
	else if ((why = check(host, jwt)) != NULL)
		code = refuse(out, "invalid_grant", why);
	else {
		pthread_mutex_lock(&mu);
		i = (int)(minted % NLIVE);
		live[i].n = minted++;
		live[i].expires = time(NULL) + life_s;
		snprintf(live[i].token, sizeof(live[i].token),
		    "ya29.rkdouble-%ld", live[i].n);
		*out = json_pack("{s:s,s:i,s:s}", "access_token", live[i].token,
		    "expires_in", life_s, "token_type", "Bearer");
		pthread_mutex_unlock(&mu);
		code = 200;
	}
	free(grant);
	free(jwt);
	return (code);
}

bool
gtoken_valid(const char *authorization)
{
	bool ok = false;

	if (authorization == NULL || strncmp(authorization, "Bearer ", 7) != 0)
		return (false);
	pthread_mutex_lock(&mu);
	for (int i = 0; i < NLIVE && i < minted; i++)
		if (strcmp(live[i].token, authorization + 7) == 0) {
			ok = live[i].n >= revoked_below &&
			    time(NULL) < live[i].expires;
			break;
		}
	pthread_mutex_unlock(&mu);
	return (ok);
}

void
gtoken_set_life(int seconds)
{
	pthread_mutex_lock(&mu);
	life_s = seconds > 0 ? seconds : 3599;
	pthread_mutex_unlock(&mu);
}

void
gtoken_revoke_all(void)
{
	pthread_mutex_lock(&mu);
	revoked_below = minted;
	pthread_mutex_unlock(&mu);
}

long
gtoken_minted(void)
{
	long n;

	pthread_mutex_lock(&mu);
	n = minted;
	pthread_mutex_unlock(&mu);
	return (n);
}
