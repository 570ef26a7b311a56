/* gauth_test.c - the service account's JWT, checked as Google checks it:
 * a key file read, the assertion's RS256 signature verified with the
 * account's public key, its header and claims decoded; the token
 * request's form (and http_form_escape, which Zalo's refresh form uses
 * too) and the token answer's reading. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gauth.h"
#include "http.h"

#define SCOPE "https://www.googleapis.com/auth/firebase.messaging"

/* A key file for key (NULL: a made-up PEM) in a temporary file. */
static char *
key_file(EVP_PKEY *key, const char *type)
{
	static char path[] = "/tmp/gauth_test_XXXXXX";
	char *pem = NULL;
	BIO *b = BIO_new(BIO_s_mem());
	long len = 0;
	json_t *j;
	int fd;

	if (key != NULL) {
		assert_int_equal(PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0,
		    NULL, NULL), 1);
		len = BIO_get_mem_data(b, &pem);
	}
	j = json_pack("{s:s,s:s,s:s,s:s%,s:s,s:s}", "type", type, "project_id",
	    "bank-vn", "private_key_id", "k1", "private_key", pem ? pem :
	    "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n",
	    (size_t)(pem ? len : 60), "client_email", "push@bank-vn.iam."
	    "gserviceaccount.com", "token_uri", "https://oauth2.googleapis.com/"
	    "token");
	snprintf(path, sizeof(path), "/tmp/gauth_test_XXXXXX");
	assert_true((fd = mkstemp(path)) >= 0);
	close(fd);
	assert_int_equal(json_dump_file(j, path, 0), 0);
	json_decref(j);
	BIO_free(b);
	return (path);
}

/* base64url (no padding) decoded: new, NUL-terminated; *n its length. */
static unsigned char *
unb64url(const char *s, size_t len, size_t *n)
{
	char *t = calloc(1, len + 4);
	unsigned char *out = calloc(1, len + 4);
	size_t padded = (len + 3) / 4 * 4;
	int got;

	for (size_t i = 0; i < len; i++) {
		assert_true(s[i] != '+' && s[i] != '/' && s[i] != '=');
		t[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	}
	for (size_t i = len; i < padded; i++)
		t[i] = '=';
	got = EVP_DecodeBlock(out, (unsigned char *)t, (int)padded);
	assert_true(got >= 0);
	*n = (size_t)got - (padded - len);
	out[*n] = '\0';
	free(t);
	return (out);
}

static void
test_assertion_verifies_with_the_accounts_key(void **state)
{
	EVP_PKEY *key = EVP_RSA_gen(2048), *other = EVP_RSA_gen(2048);
	struct gauth_account acct;
	char why[256], *jwt, *d1, *d2;
	unsigned char *head, *claims, *sig;
	size_t nh, nc, ns;
	json_t *h, *c;
	EVP_MD_CTX *md;
	const char *path = key_file(key, "service_account");

	(void)state;
	assert_int_equal(gauth_load(path, &acct, why, sizeof(why)), RK_OK);
	unlink(path);
	assert_string_equal(acct.token_uri, "https://oauth2.googleapis.com/token");
	jwt = gauth_assertion(&acct, SCOPE, 1764979200);
	assert_non_null(jwt);
	assert_non_null(d1 = strchr(jwt, '.'));
	assert_non_null(d2 = strchr(d1 + 1, '.'));
	assert_null(strchr(d2 + 1, '.'));
	head = unb64url(jwt, (size_t)(d1 - jwt), &nh);
	claims = unb64url(d1 + 1, (size_t)(d2 - d1 - 1), &nc);
	sig = unb64url(d2 + 1, strlen(d2 + 1), &ns);
	h = json_loads((char *)head, 0, NULL);
	c = json_loads((char *)claims, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(h, "alg")),
	    "RS256");
	assert_string_equal(json_string_value(json_object_get(h, "typ")), "JWT");
	assert_string_equal(json_string_value(json_object_get(h, "kid")), "k1");
	assert_string_equal(json_string_value(json_object_get(c, "iss")),
	    "push@bank-vn.iam.gserviceaccount.com");
	assert_string_equal(json_string_value(json_object_get(c, "aud")),
	    "https://oauth2.googleapis.com/token");
	assert_string_equal(json_string_value(json_object_get(c, "scope")),
	    SCOPE);
	assert_int_equal(json_integer_value(json_object_get(c, "iat")),
	    1764979200);
	/* Google takes an hour at most */
	assert_int_equal(json_integer_value(json_object_get(c, "exp")),
	    1764979200 + 3600);
	/* RSASSA-PKCS1-v1_5 SHA-256 over "header.claims", by this key only */
	for (int k = 0; k < 2; k++) {
		md = EVP_MD_CTX_new();
		assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL,
		    k == 0 ? key : other), 1);
		assert_int_equal(EVP_DigestVerify(md, sig, ns,
		    (unsigned char *)jwt, (size_t)(d2 - jwt)), k == 0 ? 1 : 0);
		EVP_MD_CTX_free(md);
	}
	json_decref(h);
	json_decref(c);
	free(head);
	free(claims);
	free(sig);
	free(jwt);
	gauth_free(&acct);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
}

static void
test_key_files_refused(void **state)
{
	EVP_PKEY *key = EVP_RSA_gen(2048), *ec = EVP_EC_gen("P-256");
	struct gauth_account acct;
	char why[256];
	const char *path;

	(void)state;
	assert_int_equal(gauth_load("/nonexistent/sa.json", &acct, why,
	    sizeof(why)), RK_EINVAL);
	path = key_file(key, "authorized_user");
	assert_int_equal(gauth_load(path, &acct, why, sizeof(why)), RK_EINVAL);
	assert_non_null(strstr(why, "not a service account"));
	unlink(path);
	path = key_file(NULL, "service_account");
	assert_int_equal(gauth_load(path, &acct, why, sizeof(why)), RK_EINVAL);
	assert_non_null(strstr(why, "not an RSA key"));
	unlink(path);
	/* RS256 needs RSA */
	path = key_file(ec, "service_account");
	assert_int_equal(gauth_load(path, &acct, why, sizeof(why)), RK_EINVAL);
	unlink(path);
	EVP_PKEY_free(key);
	EVP_PKEY_free(ec);
}

static void
test_form_and_token(void **state)
{
	char *s;
	int life = 0;

	(void)state;
	s = gauth_form("aaa.bbb.c-_");
	assert_string_equal(s, "grant_type=urn%3Aietf%3Aparams%3Aoauth%3A"
	    "grant-type%3Ajwt-bearer&assertion=aaa.bbb.c-_");
	free(s);
	/* form values: all but RFC 3986's unreserved characters escaped */
	s = http_form_escape("a+b/c=d&e f~Đ");
	assert_string_equal(s, "a%2Bb%2Fc%3Dd%26e%20f~%C4%90");
	free(s);
	s = gauth_token_of("{\"access_token\":\"ya29.x\",\"expires_in\":3599,"
	    "\"token_type\":\"Bearer\"}", &life);
	assert_string_equal(s, "ya29.x");
	assert_int_equal(life, 3599);
	free(s);
	/* a life out of range is not believed: a minute, then ask again */
	s = gauth_token_of("{\"access_token\":\"t\",\"expires_in\":86400}",
	    &life);
	assert_int_equal(life, 60);
	free(s);
	assert_null(gauth_token_of("{\"error\":\"invalid_grant\"}", &life));
	assert_null(gauth_token_of("not json", &life));
	assert_null(gauth_token_of(NULL, &life));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_assertion_verifies_with_the_accounts_key),
		cmocka_unit_test(test_key_files_refused),
		cmocka_unit_test(test_form_and_token),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
