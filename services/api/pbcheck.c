/*
 * pbcheck.c - the checks every request gets before its handler runs,
 * whatever the method: each google.protobuf.Timestamp anywhere in it must
 * be one the protobuf definition allows (0001-01-01 .. 9999-12-31, nanos
 * 0..999,999,999), so no handler's arithmetic on a time can overflow
 * (seconds * 1,000,000 fits an int64 with room to spare for those).
 *
 * PAGE TOKENS
 *	Every list method's page token is opaque and bound to its method:
 *	"p1." hex(the handler's own key) "." the first 12 hex digits of
 *	SHA-256(method path, key). A request's page_token is unwrapped here
 *	before the handler sees it (anything else - garbage, another
 *	method's token, a key written by hand - is INVALID_ARGUMENT), and a
 *	reply's next_page_token is wrapped after it. Handlers keep their
 *	keys (an id, "time|id") to themselves.
 */
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "google/protobuf/timestamp.pb-c.h"
#include "pbcheck.h"

/* The range google/protobuf/timestamp.proto defines. */
#define MIN_SECONDS INT64_C(-62135596800)	/* 0001-01-01T00:00:00Z */
#define MAX_SECONDS INT64_C(253402300799)	/* 9999-12-31T23:59:59Z */
#define MAX_DEPTH 32

static void walk(rpc_call *c, const ProtobufCMessage *m, const char *path,
    int depth);

/* True if some Timestamp in m is out of range: a pass that allocates
 * nothing (a stream of 50,000 transactions has 50,000 of them); paths
 * are written only for a request that has a bad one. */
static bool
any_bad(const ProtobufCMessage *m, int depth)
{
	const ProtobufCMessageDescriptor *d;

	if (m == NULL || depth > MAX_DEPTH)
		return (false);
	d = m->descriptor;
	if (d == &google__protobuf__timestamp__descriptor) {
		const Google__Protobuf__Timestamp *t = (const void *)m;

		return (t->seconds < MIN_SECONDS || t->seconds > MAX_SECONDS ||
		    t->nanos < 0 || t->nanos > 999999999);
	}
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)m;

		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(const void *)(base +
			    f->quantifier_offset);
			ProtobufCMessage *const *v = *(ProtobufCMessage *const *
			    const *)(const void *)(base + f->offset);

			for (size_t k = 0; k < n; k++)
				if (any_bad(v[k], depth + 1))
					return (true);
		} else if (!((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)(const void *)(base +
		    f->quantifier_offset) != f->id) &&
		    any_bad(*(ProtobufCMessage *const *)(const void *)(base +
		    f->offset), depth + 1))
			return (true);
	}
	return (false);
}

static void
check_one(rpc_call *c, const ProtobufCMessage *m, const char *path, int depth)
{
	if (m == NULL)
		return;
	if (m->descriptor == &google__protobuf__timestamp__descriptor) {
		const Google__Protobuf__Timestamp *t = (const void *)m;

		if (t->seconds < MIN_SECONDS || t->seconds > MAX_SECONDS)
			rpc_bad_field(c, path, "seconds must be within "
			    "0001-01-01 .. 9999-12-31");
		else if (t->nanos < 0 || t->nanos > 999999999)
			rpc_bad_field(c, path, "nanos must be 0..999999999");
		return;
	}
	walk(c, m, path, depth + 1);
}

static void
walk(rpc_call *c, const ProtobufCMessage *m, const char *path, int depth)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	arena *a = rpc_arena(c);

	if (depth > MAX_DEPTH)
		return;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)m;
		const char *p;

		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		p = *path ? arena_printf(a, "%s.%s", path, f->name) : f->name;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(const void *)(base +
			    f->quantifier_offset);
			ProtobufCMessage *const *v = *(ProtobufCMessage *const *
			    const *)(const void *)(base + f->offset);

			for (size_t k = 0; k < n; k++)
				check_one(c, v[k], arena_printf(a, "%s[%zu]", p, k),
				    depth);
		} else {
			/* a oneof member counts only if it is the set one */
			if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
			    *(const uint32_t *)(const void *)(base +
			    f->quantifier_offset) != f->id)
				continue;
			check_one(c, *(ProtobufCMessage *const *)(const void *)(base +
			    f->offset), p, depth);
		}
	}
}

#define TOKEN_PREFIX "p1."
#define CHECK_HEX 12
#define MAX_KEY 512

/* The check digits of key for method path. */
static void
token_check(arena *a, const char *path, const char *key, size_t klen,
    char out[CHECK_HEX + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	size_t plen = strlen(path) + 1;
	char *buf = arena_alloc(a, plen + klen + 1);
	unsigned int mdlen = 0;

	memcpy(buf, path, plen);
	memcpy(buf + plen, key, klen);
	(void)EVP_Digest(buf, plen + klen, md, &mdlen, EVP_sha256(), NULL);
	for (int i = 0; i < CHECK_HEX / 2; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static int
hexval(int ch)
{
	return (ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ?
	    ch - 'a' + 10 : -1);
}

/* The key inside tok, or NULL if tok is not a token of method path. */
static char *
token_open(arena *a, const char *path, const char *tok)
{
	size_t len = strlen(tok), hexlen, klen;
	const char *dot;
	char check[CHECK_HEX + 1], *key;

	if (len < strlen(TOKEN_PREFIX) + 1 + CHECK_HEX || strncmp(tok,
	    TOKEN_PREFIX, strlen(TOKEN_PREFIX)) != 0 || len > 2 * MAX_KEY + 32)
		return (NULL);
	dot = tok + len - CHECK_HEX - 1;
	if (*dot != '.')
		return (NULL);
	hexlen = (size_t)(dot - tok) - strlen(TOKEN_PREFIX);
	if (hexlen == 0 || hexlen % 2 != 0)
		return (NULL);
	klen = hexlen / 2;
	key = arena_alloc(a, klen + 1);
	for (size_t i = 0; i < klen; i++) {
		int hi = hexval(tok[strlen(TOKEN_PREFIX) + 2 * i]),
		    lo = hexval(tok[strlen(TOKEN_PREFIX) + 2 * i + 1]);

		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
			return (NULL);
		key[i] = (char)(hi << 4 | lo);
	}
	key[klen] = '\0';
	token_check(a, path, key, klen, check);
	return (strcmp(check, dot + 1) == 0 ? key : NULL);
}

/* The string field name of m, or NULL if m has none. */
static char **
string_field(const ProtobufCMessage *m, const char *name)
{
	const ProtobufCFieldDescriptor *f =
	    protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);

	if (f == NULL || f->type != PROTOBUF_C_TYPE_STRING ||
	    f->label == PROTOBUF_C_LABEL_REPEATED)
		return (NULL);
	return ((char **)(void *)((char *)(uintptr_t)m + f->offset));
}

rk_err
pbcheck_request(rpc_call *c, const ProtobufCMessage *m)
{
	char **tok = string_field(m, "page_token");

	if (any_bad(m, 0))
		walk(c, m, "", 0);
	if (tok != NULL && *tok != NULL && **tok != '\0') {
		char *key = token_open(rpc_arena(c), rpc_path(c), *tok);

		if (key == NULL)
			rpc_bad_field(c, "page_token", "is not a token this server "
			    "issued for this method");
		else
			*tok = key;
	}
	return (rpc_fields_ok(c));
}

void
pbcheck_response(rpc_call *c, ProtobufCMessage *m)
{
	char **next = m != NULL ? string_field(m, "next_page_token") : NULL;
	arena *a = rpc_arena(c);
	size_t klen;
	char check[CHECK_HEX + 1], *tok;

	if (next == NULL || *next == NULL || **next == '\0' ||
	    (klen = strlen(*next)) > MAX_KEY)
		return;
	token_check(a, rpc_path(c), *next, klen, check);
	tok = arena_alloc(a, strlen(TOKEN_PREFIX) + 2 * klen + CHECK_HEX + 2);
	strcpy(tok, TOKEN_PREFIX);
	for (size_t i = 0; i < klen; i++)
		snprintf(tok + strlen(TOKEN_PREFIX) + 2 * i, 3, "%02x",
		    (unsigned char)(*next)[i]);
	snprintf(tok + strlen(TOKEN_PREFIX) + 2 * klen, CHECK_HEX + 2, ".%s",
	    check);
	*next = tok;
}
