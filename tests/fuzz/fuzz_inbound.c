/*
 * fuzz_inbound.c - the tracker's inbound webhooks: an eSMS MO (fields
 * NUL-separated in the input) and a Zalo OA event (the body), each signed
 * here with the configured secret so that the fuzzer reaches what comes
 * after the signature; and the same input unsigned, which must never be
 * accepted.
 */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inbound_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define KEY "17417a0d20114d36a902e49cad0e97f3"

static void
hexdig(const EVP_MD *md, const char *s, char *hex)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	EVP_Digest(s, strlen(s), d, &n, md, NULL);
	for (unsigned int i = 0; i < n; i++)
		sprintf(hex + 2 * i, "%02x", d[i]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *cat, sig[2 * EVP_MAX_MD_SIZE + 8];
	const char *f[ESMS_NFIELDS] = {0};
	struct inbound in;
	size_t at = 0;
	const char *why;

	memcpy(buf, data, size);
	buf[size] = '\0';
	/* the MO: up to 8 NUL-separated fields, the rest NULL */
	for (int i = 0; i < ESMS_NFIELDS && at <= size; i++) {
		f[i] = buf + at;
		at += strlen(buf + at) + 1;
	}
	if (f[ESMS_CPID] != NULL && f[ESMS_SMSID] != NULL &&
	    f[ESMS_CONTENT] != NULL && f[ESMS_TIME] != NULL) {
		size_t n = strlen(f[ESMS_CPID]) + strlen(f[ESMS_SMSID]) +
		    strlen(f[ESMS_CONTENT]) + strlen(f[ESMS_TIME]) + sizeof(KEY);

		cat = malloc(n);
		snprintf(cat, n, "%s%s%s%s%s", f[ESMS_CPID], f[ESMS_SMSID],
		    f[ESMS_CONTENT], f[ESMS_TIME], KEY);
		hexdig(EVP_md5(), cat, sig);
		free(cat);
		f[ESMS_SIGN] = sig;
		why = esms_mo_parse(f, f[ESMS_CPID], KEY, "TC,HUY,TU CHOI,STOP",
		    &in);
		if (why != NULL && *why == '\0' && (!in.authenticated ||
		    strlen(in.text) >= sizeof(in.text)))
			abort();
		f[ESMS_SIGN] = "00";
		if (esms_mo_parse(f, f[ESMS_CPID], KEY, "TC", &in) != NULL &&
		    *f[ESMS_CPID] != '\0')
			abort();	/* accepted unsigned */
	}
	/* the Zalo event: the whole input as the body */
	{
		const char *ts = strstr(buf, "\"timestamp\":\"");
		char stamp[32] = "", mac[2 * EVP_MAX_MD_SIZE + 8];
		size_t n = size + 64;

		if (ts != NULL)
			sscanf(ts + 13, "%31[0-9]", stamp);
		cat = malloc(n);
		snprintf(cat, n, "app1%s%sSECRET", buf, stamp);
		memcpy(mac, "mac=", 4);
		hexdig(EVP_sha256(), cat, mac + 4);
		free(cat);
		(void)zalo_event_parse((const char *)data, size, mac, "app1",
		    "SECRET", "user_reject_zns,unfollow", &in);
		if (zalo_event_parse((const char *)data, size, "mac=00", "app1",
		    "SECRET", "unfollow", &in) != NULL)
			abort();	/* accepted unsigned */
	}
	free(buf);
	return (0);
}
