/*
 * token_rpc.c - CreateToken, ListTokens, RevokeToken (admin only).
 *
 * SECURITY
 *	The secret is made here, returned once and stored only as its
 *	SHA-256. A revocation clears this process's auth cache at once; other
 *	processes follow within AUTH_CACHE_SECONDS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "log.h"
#include "pbtime.h"
#include "rekindle/v1/agent.pb-c.h"
#include "token_rpc.h"
#include "validate.h"

static const char *const role_names[] = {NULL, "admin", "service", "agent"};

static Rekindle__V1__Token *
token_from_row(arena *a, db_res *r, int i)
{
	Rekindle__V1__Token *t = arena_alloc(a, sizeof(*t));
	const char *role = db_res_str(r, i, 2);

	rekindle__v1__token__init(t);
	t->token_id = db_res_int64(r, i, 0);
	t->name = arena_strdup(a, db_res_str(r, i, 1));
	for (int k = 1; k <= 3; k++)
		if (strcmp(role, role_names[k]) == 0)
			t->role = (Rekindle__V1__Role)k;
	t->agent_id = arena_strdup(a, db_res_str(r, i, 3) ? db_res_str(r, i, 3) :
	    "");
	t->create_time = pbtime_new(a, db_res_int64(r, i, 4));
	t->revoke_time = pbtime_new(a, db_res_int64(r, i, 5));
	return (t);
}

#define TOKEN_COLS "id, name, role, agent_id, " PBTIME_US("created_at") ", " \
    "CASE WHEN revoked_at IS NULL THEN 0 ELSE " PBTIME_US("revoked_at") " END"

static rk_err
create_token(rpc_call *c, const ProtobufCMessage *req, ProtobufCMessage **resp)
{
	const Rekindle__V1__CreateTokenRequest *r = (const void *)req;
	Rekindle__V1__CreateTokenResponse *out;
	char secret[AUTH_SECRET_LEN + 8];
	unsigned char h[32];
	const char *p[4], *why;
	int lens[4] = {0, 0, 0, 32}, fmts[4] = {0, 0, 0, 1};
	arena *a = rpc_arena(c);
	db_res *res = NULL;
	rk_err rc;

	if ((why = validate_id(r->name)) != NULL)
		rpc_bad_field(c, "name", "%s", why);
	if (r->role < REKINDLE__V1__ROLE__ROLE_ADMIN ||
	    r->role > REKINDLE__V1__ROLE__ROLE_AGENT)
		rpc_bad_field(c, "role", "must be ROLE_ADMIN, ROLE_SERVICE or "
		    "ROLE_AGENT");
	if (r->role == REKINDLE__V1__ROLE__ROLE_AGENT &&
	    (why = validate_id(r->agent_id)) != NULL)
		rpc_bad_field(c, "agent_id", "%s for an agent token", why);
	if (rpc_nviolations(c) > 0)
		return (RK_EINVAL);
	if ((rc = auth_new_secret(secret, sizeof(secret))) != RK_OK)
		return (rc);
	auth_hash(secret, h);
	p[0] = r->name;
	p[1] = role_names[r->role];
	p[2] = r->agent_id && *r->agent_id ? r->agent_id : NULL;
	p[3] = (const char *)h;
	if ((rc = rpc_begin(c)) != RK_OK)
		return (rc);
	rc = rpc_end(c, db_execp_bin(rpc_db(c), "token_create",
	    "INSERT INTO api_tokens (name, role, agent_id, token_hash) "
	    "VALUES ($1, $2, $3, $4) RETURNING " TOKEN_COLS, 4, p, lens, fmts,
	    &res));
	if (rc != RK_OK)
		db_res_free(res);
	if (rc == RK_ECONFLICT)
		return (rpc_error(c, rc, "a live token with that name exists"));
	if (rc != RK_OK)
		return (rc);
	out = arena_alloc(a, sizeof(*out));
	rekindle__v1__create_token_response__init(out);
	out->token = token_from_row(a, res, 0);
	out->secret = arena_strdup(a, secret);
	db_res_free(res);
	log_info("TOKEN-CREATE", "token %lld (%s) created by token %lld",
	    (long long)out->token->token_id, role_names[r->role],
	    (long long)rpc_token_id(c));
	*resp = &out->base;
	return (RK_OK);
}

static rk_err
list_tokens(rpc_call *c, const ProtobufCMessage *req, ProtobufCMessage **resp)
{
	const Rekindle__V1__ListTokensRequest *r = (const void *)req;
	Rekindle__V1__ListTokensResponse *out;
	int size = r->page_size <= 0 ? 100 : r->page_size > 1000 ? 1000 :
	    r->page_size;
	char lim[16], after[24];
	const char *p[3] = {lim, after, r->include_revoked ? "true" : "false"};
	arena *a = rpc_arena(c);
	db_res *res;
	rk_err rc;
	int n;

	if (r->page_token && *r->page_token) {
		char *end;
		long long v = strtoll(r->page_token, &end, 10);

		if (*end != '\0' || v < 0)
			return (rpc_bad_field(c, "page_token", "is not a token "
			    "this server issued"));
		snprintf(after, sizeof(after), "%lld", v);
	} else {
		snprintf(after, sizeof(after), "0");
	}
	snprintf(lim, sizeof(lim), "%d", size + 1);
	rc = db_execp(rpc_db(c), "token_list", "SELECT " TOKEN_COLS
	    " FROM api_tokens WHERE id > $2 AND ($3 OR revoked_at IS NULL) "
	    "ORDER BY id LIMIT $1", 3, p, &res);
	if (rc != RK_OK)
		return (rc);
	n = db_res_nrows(res);
	out = arena_alloc(a, sizeof(*out));
	rekindle__v1__list_tokens_response__init(out);
	out->n_tokens = (size_t)(n > size ? size : n);
	out->tokens = arena_alloc(a, sizeof(void *) * (out->n_tokens + 1));
	for (size_t i = 0; i < out->n_tokens; i++)
		out->tokens[i] = token_from_row(a, res, (int)i);
	out->next_page_token = n > size ? arena_printf(a, "%lld",
	    (long long)out->tokens[size - 1]->token_id) : "";
	db_res_free(res);
	*resp = &out->base;
	return (RK_OK);
}

static rk_err
revoke_token(rpc_call *c, const ProtobufCMessage *req, ProtobufCMessage **resp)
{
	const Rekindle__V1__RevokeTokenRequest *r = (const void *)req;
	char id[24];
	const char *p[1] = {id};
	db_res *res = NULL;
	rk_err rc;

	if (r->token_id <= 0)
		return (rpc_bad_field(c, "token_id", "is required"));
	snprintf(id, sizeof(id), "%lld", (long long)r->token_id);
	if ((rc = rpc_begin(c)) != RK_OK)
		return (rc);
	rc = rpc_end(c, db_execp(rpc_db(c), "token_revoke",
	    "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) "
	    "WHERE id = $1 RETURNING " TOKEN_COLS, 1, p, &res));
	if (rc != RK_OK) {
		db_res_free(res);
		return (rc);
	}
	if (db_res_nrows(res) == 0) {
		db_res_free(res);
		return (rpc_error(c, RK_ENOTFOUND, "token not found"));
	}
	*resp = &token_from_row(rpc_arena(c), res, 0)->base;
	db_res_free(res);
	auth_cache_clear();
	log_info("TOKEN-REVOKE", "token %lld revoked by token %lld",
	    (long long)r->token_id, (long long)rpc_token_id(c));
	return (RK_OK);
}

const struct rpc_handler token_handlers[] = {
	{.path = "/rekindle.v1.AgentService/CreateToken", .unary = create_token},
	{.path = "/rekindle.v1.AgentService/ListTokens", .unary = list_tokens},
	{.path = "/rekindle.v1.AgentService/RevokeToken", .unary = revoke_token},
	{.path = NULL},
};
