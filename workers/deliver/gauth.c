/*
 * gauth.c - a Google service account's access tokens (gauth.h). Pure
 * but for reading the key file: the HTTP call is the caller's.
 */
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gauth.h"
#include "http.h"
#include "mem.h"

/* The longest Google takes between iat and exp. */
#define ASSERTION_LIFE_S 3600

/* The grant of RFC 7523 2.1, form-encoded. */
static const char grant[] =
    "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer";

void
gauth_free(struct gauth_account *acct)
{
	free(acct->email);
	free(acct->token_uri);
	free(acct->key_id);
	EVP_PKEY_free(acct->key);
	memset(acct, 0, sizeof(*acct));
}

rk_err
gauth_load(const char *path, struct gauth_account *acct, char *why,
    size_t whylen)
{
	json_error_t err;
	json_t *j;
	const char *type, *email, *uri, *pem, *kid;
	BIO *bio;

	memset(acct, 0, sizeof(*acct));
	if ((j = json_load_file(path, 0, &err)) == NULL) {
		snprintf(why, whylen, "%s: %s", path, err.text);
		return (RK_EINVAL);
	}
	type = json_string_value(json_object_get(j, "type"));
	email = json_string_value(json_object_get(j, "client_email"));
	uri = json_string_value(json_object_get(j, "token_uri"));
	pem = json_string_value(json_object_get(j, "private_key"));
	kid = json_string_value(json_object_get(j, "private_key_id"));
	if (type == NULL || strcmp(type, "service_account") != 0 ||
	    email == NULL || uri == NULL || pem == NULL) {
		snprintf(why, whylen, "%s: not a service account key (type "
		    "\"service_account\", client_email, token_uri and "
		    "private_key)", path);
		json_decref(j);
		return (RK_EINVAL);
	}
	if ((bio = BIO_new_mem_buf(pem, -1)) != NULL) {
		acct->key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
		BIO_free(bio);
	}
	if (acct->key == NULL || EVP_PKEY_get_base_id(acct->key) !=
	    EVP_PKEY_RSA) {
		snprintf(why, whylen, "%s: private_key is not an RSA key in "
		    "PEM", path);
		json_decref(j);
		gauth_free(acct);
		return (RK_EINVAL);
	}
	acct->email = xstrdup(email);
	acct->token_uri = xstrdup(uri);
	acct->key_id = kid != NULL ? xstrdup(kid) : NULL;
	json_decref(j);
	return (RK_OK);
}

/* base64url of p[0..n) without padding (RFC 7515 2), new. */
static char *
b64url(const unsigned char *p, size_t n)
{
	char *s = xmalloc(4 * ((n + 2) / 3) + 1);
	int len = EVP_EncodeBlock((unsigned char *)s, p, (int)n);

	while (len > 0 && s[len - 1] == '=')
		len--;
	s[len] = '\0';
	for (char *c = s; *c != '\0'; c++)
		if (*c == '+')
			*c = '-';
		else if (*c == '/')
			*c = '_';
	return (s);
}

/* base64url of j's compact text, new; j is released. */
static char *
b64url_json(json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT), *s;

	json_decref(j);
	if (text == NULL)
		return (NULL);
	s = b64url((const unsigned char *)text, strlen(text));
	free(text);
	return (s);
}

char *
gauth_assertion(const struct gauth_account *acct, const char *scope,
    int64_t now_s)
{
	json_t *head = json_pack("{s:s,s:s}", "alg", "RS256", "typ", "JWT");
	char *h, *c, *input, *sig64, *jwt = NULL;
	unsigned char *sig;
	size_t siglen = 0;
	EVP_MD_CTX *md;

	if (acct->key_id != NULL)
		json_object_set_new(head, "kid", json_string(acct->key_id));
	h = b64url_json(head);
	c = b64url_json(json_pack("{s:s,s:s,s:s,s:I,s:I}", "iss", acct->email,
	    "scope", scope, "aud", acct->token_uri, "iat", (json_int_t)now_s,
	    "exp", (json_int_t)(now_s + ASSERTION_LIFE_S)));
	if (h == NULL || c == NULL) {
		free(h);
		free(c);
		return (NULL);
	}
	input = xmalloc(strlen(h) + strlen(c) + 2);
	sprintf(input, "%s.%s", h, c);
	free(h);
	free(c);
	sig = xmalloc((size_t)EVP_PKEY_get_size(acct->key));
	siglen = (size_t)EVP_PKEY_get_size(acct->key);
	if ((md = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, acct->key) == 1 &&
	    EVP_DigestSign(md, sig, &siglen, (const unsigned char *)input,
	    strlen(input)) == 1) {
		sig64 = b64url(sig, siglen);
		jwt = xmalloc(strlen(input) + strlen(sig64) + 2);
		sprintf(jwt, "%s.%s", input, sig64);
		free(sig64);
	}
	EVP_MD_CTX_free(md);
	free(sig);
	free(input);
	return (jwt);
}

char *
gauth_form(const char *assertion)
{
	char *a = http_form_escape(assertion), *s = xmalloc(sizeof(grant) +
	    strlen("&assertion=") + strlen(a));

	sprintf(s, "%s&assertion=%s", grant, a);
	free(a);
	return (s);
}

char *
gauth_token_of(const char *reply, int *expires_in_s)
{
	json_t *j = reply != NULL ? json_loads(reply, 0, NULL) : NULL;
	const char *tok = json_string_value(json_object_get(j, "access_token"));
	json_int_t life = json_integer_value(json_object_get(j, "expires_in"));
	char *s = NULL;

	if (tok != NULL && *tok != '\0') {
		s = xstrdup(tok);
		/* an hour at most; none said: a minute, to be asked again */
		*expires_in_s = life > 0 && life <= 3600 ? (int)life : 60;
	}
	json_decref(j);
	return (s);
}
