/*
 * msgtoken.c - HMAC with OpenSSL; CRYPTO_memcmp for the comparison.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "msgtoken.h"

char *var_tracking_secret, *var_tracking_url;

const struct cfg_entry msgtoken_cfg[] = {
	{"tracking_secret", CFG_STR, "", &var_tracking_secret, 0, 0, CFG_SECRET,
	    "HMAC key of the message tokens: the same for the delivery pools, "
	    "the API and the tracker"},
	{"tracking_url", CFG_STR, "https://rk.invalid/t/", &var_tracking_url,
	    0, 0, 0, "base of the personal links (the tracker's public "
	    "address): the delivery pools write it, the API's export shows it"},
	CFG_END,
};

static void
mac_hex(const char *secret, const char *digits, char hex[17])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	HMAC(EVP_sha256(), secret, (int)strlen(secret),
	    (const unsigned char *)digits, strlen(digits), mac, &len);
	for (int i = 0; i < 8; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
}

void
msgtoken_make(const char *secret, int64_t id, char out[MSGTOKEN_MAX])
{
	char digits[24], hex[17];

	snprintf(digits, sizeof(digits), "%lld", (long long)id);
	mac_hex(secret, digits, hex);
	snprintf(out, MSGTOKEN_MAX, "%lld.%.16s", (long long)id, hex);
}

bool
msgtoken_verify(const char *secret, const char *token, size_t len,
    int64_t *id)
{
	char digits[24], hex[17];
	size_t n = 0;
	long long v = 0;

	while (n < len && n < 19 && token[n] >= '0' && token[n] <= '9') {
		/* an id past int64's range is no message of ours */
		if (v > (LLONG_MAX - (token[n] - '0')) / 10)
			return (false);
		v = v * 10 + (token[n] - '0');
		n++;
	}
	/* digits, no leading zero, then "." and 16 lower-case hex digits */
	if (n == 0 || (token[0] == '0' && n > 1) || len != n + 17 ||
	    token[n] != '.')
		return (false);
	memcpy(digits, token, n);
	digits[n] = '\0';
	mac_hex(secret, digits, hex);
	if (CRYPTO_memcmp(hex, token + n + 1, 16) != 0)
		return (false);
	*id = (int64_t)v;
	return (true);
}
