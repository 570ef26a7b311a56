/*
 * inbound_parse.c - what the tracker's inbound webhooks accept, checked
 * before anything is recorded (no database, no HTTP: fuzzed as is).
 *
 * The SMS gateway's MO webhook is eSMS's short-code connection
 * (developers.esms.vn, "Kết nối đầu số ngắn"): an HTTP GET with sender
 * (84...), content, serviceNumber, keyword, cpid, smsid, receiverTime
 * (yyyyMMddhhmmss, Vietnam time) and sign = MD5 of cpid, smsid, content,
 * receiverTime and the CP's private key, concatenated, in hex; the reply
 * is a <ClientResponse> XML document.
 *
 * Zalo's OA webhook (developers.zalo.me, OA webhook; as integrators
 * describe it): a JSON POST whose X-ZEvent-Signature header is
 * "mac=" + hex SHA-256 of app_id + the body + its timestamp + the OA
 * secret key.
 */
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fold.h"
#include "inbound_parse.h"
#include "phone.h"

static void
hex_digest(const EVP_MD *md, const char *const *parts, size_t n,
    char *hex, size_t cap)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	EVP_DigestInit_ex(ctx, md, NULL);
	for (size_t i = 0; i < n; i++)
		EVP_DigestUpdate(ctx, parts[i], strlen(parts[i]));
	EVP_DigestFinal_ex(ctx, d, &len);
	EVP_MD_CTX_free(ctx);
	for (unsigned int i = 0; i < len && 2 * i + 2 < cap; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

/* Constant-time, case-insensitive comparison of two hex strings. */
static bool
hex_equal(const char *got, const char *want)
{
	size_t n = strlen(want);
	char low[160];

	if (got == NULL || strlen(got) != n || n >= sizeof(low))
		return (false);
	for (size_t i = 0; i <= n; i++)
		low[i] = (char)(got[i] >= 'A' && got[i] <= 'F' ? got[i] - 'A' +
		    'a' : got[i]);
	return (CRYPTO_memcmp(low, want, n) == 0);
}

static bool
all_digits(const char *s, size_t min, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	if (n < min || n > max)
		return (false);
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return (false);
	return (true);
}

/* An id we store and echo: 1..64 of [A-Za-z0-9._:-]. */
static bool
plain_id(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 64)
		return (false);
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    strchr("._:-", s[i]) != NULL))
			return (false);
	return (true);
}

/* yyyyMMddhhmmss, each part in range, to "yyyy-MM-dd hh:mm:ss". */
static bool
esms_time(const char *s, char out[20])
{
	int y, mo, d, h, mi, se;

	if (!all_digits(s, 14, 14) || sscanf(s, "%4d%2d%2d%2d%2d%2d", &y, &mo,
	    &d, &h, &mi, &se) != 6)
		return (false);
	if (y < 2000 || y > 2100 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
	    h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 59)
		return (false);
	snprintf(out, 20, "%04d-%02d-%02d %02d:%02d:%02d", y, mo, d, h, mi, se);
	return (true);
}

const char *
esms_mo_parse(const char *const f[ESMS_NFIELDS], const char *cpid,
    const char *private_key, const char *keywords, struct inbound *out)
{
	char want[2 * EVP_MAX_MD_SIZE + 1] = "";
	const char *parts[5];

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < ESMS_NFIELDS; i++)
		if (f[i] == NULL && i != ESMS_KEYWORD && i != ESMS_SERVICE)
			return ("a required parameter is missing");
	/* authenticated first: nothing else is looked at otherwise (a
	 * malformed request unsigned is 403, not 400) */
	parts[0] = f[ESMS_CPID];
	parts[1] = f[ESMS_SMSID];
	parts[2] = f[ESMS_CONTENT];
	parts[3] = f[ESMS_TIME];
	parts[4] = private_key;
	hex_digest(EVP_md5(), parts, 5, want, sizeof(want));
	if (*cpid == '\0' || *private_key == '\0' ||
	    strcmp(f[ESMS_CPID], cpid) != 0 || !hex_equal(f[ESMS_SIGN], want))
		return (NULL);	/* not authenticated */
	out->authenticated = true;
	if (strlen(f[ESMS_CONTENT]) > 1024)
		return ("content is too long");
	if (!plain_id(f[ESMS_SMSID]))
		return ("smsid is not an id");
	if (!esms_time(f[ESMS_TIME], out->at))
		return ("receiverTime is not yyyyMMddhhmmss");
	if (!all_digits(f[ESMS_SENDER], 9, 15))
		return ("sender is not a phone number");
	snprintf(out->msgid, sizeof(out->msgid), "%s", f[ESMS_SMSID]);
	/* 84912345678: a number outside Vietnam is kept as unknown */
	if (phone_normalize_vn(f[ESMS_SENDER], out->phone,
	    sizeof(out->phone)) != RK_OK)
		out->phone[0] = '\0';
	fold_utf8_clean(f[ESMS_CONTENT], strlen(f[ESMS_CONTENT]), out->text,
	    sizeof(out->text));
	out->opt_out = fold_keyword(f[ESMS_CONTENT], strlen(f[ESMS_CONTENT]),
	    keywords, out->keyword, sizeof(out->keyword));
	return ("");
}

/* A phone number in the event: "phone", or one level down in
 * "recipient", "user", "follower" or "znsInfo". */
static const char *
event_phone(json_t *ev)
{
	static const char *const holders[] = {"recipient", "user", "follower",
	    "znsInfo"};
	const char *p = json_string_value(json_object_get(ev, "phone"));

	for (size_t i = 0; p == NULL && i < sizeof(holders) /
	    sizeof(holders[0]); i++)
		p = json_string_value(json_object_get(json_object_get(ev,
		    holders[i]), "phone"));
	return (p);
}

/* name is one of the comma-separated list. */
static bool
listed(const char *name, const char *list)
{
	size_t n = strlen(name);

	for (const char *p = list; *p != '\0';) {
		const char *end = strchr(p, ',');
		size_t k = end ? (size_t)(end - p) : strlen(p);

		if (k == n && strncmp(p, name, n) == 0)
			return (true);
		p = end ? end + 1 : p + k;
	}
	return (false);
}

const char *
zalo_event_parse(const char *body, size_t len, const char *signature,
    const char *app_id, const char *oa_secret, const char *events,
    struct inbound *out)
{
	char want[2 * EVP_MAX_MD_SIZE + 1] = "", ts[32], *text;
	const char *parts[4], *name, *phone;
	json_error_t jerr;
	json_t *ev, *t;

	memset(out, 0, sizeof(*out));
	if (*app_id == '\0' || *oa_secret == '\0' || signature == NULL ||
	    strncmp(signature, "mac=", 4) != 0)
		return (NULL);
	ev = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (ev == NULL || !json_is_object(ev)) {
		json_decref(ev);
		return (NULL);	/* nothing to check a signature against */
	}
	t = json_object_get(ev, "timestamp");
	if (json_is_string(t) && strlen(json_string_value(t)) < sizeof(ts))
		snprintf(ts, sizeof(ts), "%s", json_string_value(t));
	else if (json_is_integer(t))
		snprintf(ts, sizeof(ts), "%lld", (long long)json_integer_value(t));
	else
		ts[0] = '\0';
	/* the body exactly as it came, NUL-terminated for the digest */
	text = malloc(len + 1);
	memcpy(text, body, len);
	text[len] = '\0';
	parts[0] = app_id;
	parts[1] = text;
	parts[2] = ts;
	parts[3] = oa_secret;
	hex_digest(EVP_sha256(), parts, 4, want, sizeof(want));
	out->authenticated = strlen(text) == len && *ts != '\0' &&
	    hex_equal(signature + 4, want);
	/* the event's own id: a redelivered event has the same body */
	parts[0] = text;
	hex_digest(EVP_sha256(), parts, 1, out->msgid, sizeof(out->msgid));
	free(text);
	if (!out->authenticated) {
		json_decref(ev);
		return (NULL);
	}
	name = json_string_value(json_object_get(ev, "event_name"));
	if (name == NULL || !plain_id(name)) {
		json_decref(ev);
		return ("event_name is missing");
	}
	if (!all_digits(ts, 10, 13)) {
		json_decref(ev);
		return ("timestamp is not epoch milliseconds");
	}
	/* epoch milliseconds to "epoch:SECONDS" (the time of the event) */
	snprintf(out->at, sizeof(out->at), "%.*s", (int)(strlen(ts) - 3), ts);
	out->epoch = true;
	out->opt_out = listed(name, events);
	snprintf(out->keyword, sizeof(out->keyword), "%s", name);
	phone = event_phone(ev);
	if (phone == NULL || phone_normalize_vn(phone, out->phone,
	    sizeof(out->phone)) != RK_OK)
		out->phone[0] = '\0';
	json_decref(ev);
	return ("");
}
