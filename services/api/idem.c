/*
 * idem.c - stored replies for retried requests.
 */
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "idem.h"

static void
hash_request(arena *a, const ProtobufCMessage *req, unsigned char h[32])
{
	size_t len = protobuf_c_message_get_packed_size(req);
	unsigned char *buf = arena_alloc(a, len + 1);

	protobuf_c_message_pack(req, buf);
	SHA256(buf, len, h);
}

rk_err
idem_lookup(rpc_call *c, const char *method, const char *request_id,
    const ProtobufCMessage *req, const ProtobufCMessageDescriptor *out,
    ProtobufCMessage **resp)
{
	unsigned char h[32];
	const char *p[2] = {method, request_id};
	int lens[2] = {0, 0}, fmts[2] = {0, 0};
	db_res *r;
	rk_err rc;

	*resp = NULL;
	if (request_id == NULL || *request_id == '\0')
		return (RK_ENOTFOUND);
	rc = db_execp_bin(rpc_db(c), "idem_lookup",
	    "SELECT request_hash, response FROM idempotency_keys "
	    "WHERE method = $1 AND request_id = $2 FOR UPDATE", 2, p, lens,
	    fmts, &r);
	if (rc != RK_OK)
		return (rc);
	if (db_res_nrows(r) == 0) {
		db_res_free(r);
		return (RK_ENOTFOUND);
	}
	hash_request(rpc_arena(c), req, h);
	{
		const char *hx = db_res_str(r, 0, 0), *rx = db_res_str(r, 0, 1);
		char want[67];
		size_t n;
		unsigned char *bytes;

		want[0] = '\\';
		want[1] = 'x';
		for (int i = 0; i < 32; i++)
			snprintf(want + 2 + 2 * i, 3, "%02x", h[i]);
		if (strcmp(hx, want) != 0) {
			db_res_free(r);
			return (rpc_error(c, RK_ECONFLICT, "request_id was "
			    "already used for a different request"));
		}
		n = (strlen(rx) - 2) / 2;
		bytes = arena_alloc(rpc_arena(c), n + 1);
		for (size_t i = 0; i < n; i++) {
			unsigned v;

			sscanf(rx + 2 + 2 * i, "%2x", &v);
			bytes[i] = (unsigned char)v;
		}
		*resp = protobuf_c_message_unpack(out,
		    arena_pb_allocator(rpc_arena(c)), n, bytes);
	}
	db_res_free(r);
	return (*resp ? RK_OK : RK_EINTERNAL);
}

rk_err
idem_transaction(rpc_call *c, const char *method, const char *request_id,
    const ProtobufCMessage *req, const ProtobufCMessageDescriptor *out,
    idem_write_fn write, ProtobufCMessage **resp)
{
	rk_err rc = RK_OK;

	for (int attempt = 0; attempt < 3; attempt++) {
		if ((rc = rpc_begin(c)) != RK_OK)
			return (rc);
		rc = idem_lookup(c, method, request_id, req, out, resp);
		if (rc == RK_OK) {
			db_rollback(rpc_db(c));
			return (RK_OK);
		}
		if (rc == RK_ENOTFOUND)
			rc = write(c, req, resp);
		if (rc == RK_OK)
			rc = idem_store(c, method, request_id, req, *resp);
		if (rc == RK_OK)
			rc = db_commit(rpc_db(c));
		else
			db_rollback(rpc_db(c));
		/* ECONFLICT with a request_id: another call stored it first. */
		if (rc != RK_ERETRY && !(rc == RK_ECONFLICT && request_id &&
		    *request_id))
			break;
	}
	return (rc);
}

rk_err
idem_store(rpc_call *c, const char *method, const char *request_id,
    const ProtobufCMessage *req, const ProtobufCMessage *resp)
{
	unsigned char h[32], *body;
	size_t len;
	const char *p[4];
	int lens[4], fmts[4] = {0, 0, 1, 1};

	if (request_id == NULL || *request_id == '\0')
		return (RK_OK);
	hash_request(rpc_arena(c), req, h);
	len = protobuf_c_message_get_packed_size(resp);
	body = arena_alloc(rpc_arena(c), len + 1);
	protobuf_c_message_pack(resp, body);
	p[0] = method;
	p[1] = request_id;
	p[2] = (const char *)h;
	p[3] = (const char *)body;
	lens[0] = lens[1] = 0;
	lens[2] = 32;
	lens[3] = (int)len;
	return (db_execp_bin(rpc_db(c), "idem_store",
	    "INSERT INTO idempotency_keys (method, request_id, request_hash, "
	    "response) VALUES ($1, $2, $3, $4)", 4, p, lens, fmts, NULL));
}
