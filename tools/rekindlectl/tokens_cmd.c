/*
 * tokens_cmd.c - rekindlectl health, tokens and the audit trail: who may
 * call, and what they did.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "grpc/health/v1/health.pb-c.h"
#include "rekindle/v1/agent.pb-c.h"

static const char *const roles[] = {"unspecified", "admin", "service",
    "agent"};

int
cmd_health(struct ctl *c, int argc, char **argv)
{
	Grpc__Health__V1__HealthCheckRequest req =
	    GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
	Grpc__Health__V1__HealthCheckResponse *resp;
	struct rkc_status st;
	const char *state;
	rk_err rc;

	req.service = argc > 1 ? argv[1] : "";
	rc = rkc_unary(c->client, "/grpc.health.v1.Health/Check", &req.base,
	    &grpc__health__v1__health_check_response__descriptor,
	    c->timeout_ms, (ProtobufCMessage **)&resp, &st);
	if (rc != RK_OK)
		return (ctl_fail("health", rc, &st));
	state = resp->status == 1 ? "SERVING" : resp->status == 2 ?
	    "NOT_SERVING" : "UNKNOWN";
	if (c->json)
		printf("{\"status\":\"%s\"}\n", state);
	else
		printf("%s\n", state);
	rc = resp->status == 1 ? RK_OK : RK_EUNAVAIL;
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return (rc == RK_OK ? 0 : 1);
}

static void
print_token(const Rekindle__V1__Token *t, json_t *arr)
{
	if (arr != NULL) {
		json_array_append_new(arr, json_pack("{s:I,s:s,s:s,s:s,s:b}",
		    "token_id", (json_int_t)t->token_id, "name", t->name,
		    "role", roles[t->role < 4 ? t->role : 0],
		    "agent_id", t->agent_id, "revoked", t->revoke_time != NULL));
		return;
	}
	printf("%-6lld %-24s %-8s %-12s %s\n", (long long)t->token_id, t->name,
	    roles[t->role < 4 ? t->role : 0], *t->agent_id ? t->agent_id : "-",
	    t->revoke_time ? "revoked" : "live");
}

int
cmd_tokens(struct ctl *c, int argc, char **argv)
{
	struct rkc_status st;
	rk_err rc;

	if (argc >= 3 && strcmp(argv[1], "create") == 0) {
		Rekindle__V1__CreateTokenRequest req =
		    REKINDLE__V1__CREATE_TOKEN_REQUEST__INIT;
		Rekindle__V1__CreateTokenResponse *resp;

		req.name = argv[2];
		for (int i = 3; i + 1 < argc; i += 2) {
			if (strcmp(argv[i], "--role") == 0) {
				for (int r = 1; r < 4; r++)
					if (strcmp(argv[i + 1], roles[r]) == 0)
						req.role = (Rekindle__V1__Role)r;
			} else if (strcmp(argv[i], "--agent") == 0) {
				req.agent_id = argv[i + 1];
			}
		}
		rc = rkc_unary(c->client, "/rekindle.v1.AgentService/CreateToken",
		    &req.base, &rekindle__v1__create_token_response__descriptor,
		    c->timeout_ms, (ProtobufCMessage **)&resp, &st);
		if (rc != RK_OK)
			return (ctl_fail("tokens create", rc, &st));
		if (c->json)
			printf("{\"token_id\":%lld,\"secret\":\"%s\"}\n",
			    (long long)resp->token->token_id, resp->secret);
		else
			printf("token %lld created; its secret (shown once):\n%s\n",
			    (long long)resp->token->token_id, resp->secret);
		protobuf_c_message_free_unpacked(&resp->base, NULL);
		return (0);
	}
	if (argc >= 2 && strcmp(argv[1], "list") == 0) {
		Rekindle__V1__ListTokensRequest req =
		    REKINDLE__V1__LIST_TOKENS_REQUEST__INIT;
		Rekindle__V1__ListTokensResponse *resp;
		json_t *arr = c->json ? json_array() : NULL;
		char *token = NULL;

		req.include_revoked = argc > 2 && strcmp(argv[2], "--all") == 0;
		do {
			req.page_token = token ? token : "";
			rc = rkc_unary(c->client,
			    "/rekindle.v1.AgentService/ListTokens", &req.base,
			    &rekindle__v1__list_tokens_response__descriptor,
			    c->timeout_ms, (ProtobufCMessage **)&resp, &st);
			free(token);
			token = NULL;
			if (rc != RK_OK) {
				json_decref(arr);
				return (ctl_fail("tokens list", rc, &st));
			}
			for (size_t i = 0; i < resp->n_tokens; i++)
				print_token(resp->tokens[i], arr);
			if (*resp->next_page_token)
				token = strdup(resp->next_page_token);
			protobuf_c_message_free_unpacked(&resp->base, NULL);
		} while (token != NULL);
		if (arr != NULL) {
			char *s = json_dumps(arr, JSON_COMPACT);

			printf("%s\n", s);
			free(s);
			json_decref(arr);
		}
		return (0);
	}
	if (argc >= 3 && strcmp(argv[1], "revoke") == 0) {
		Rekindle__V1__RevokeTokenRequest req =
		    REKINDLE__V1__REVOKE_TOKEN_REQUEST__INIT;
		Rekindle__V1__Token *resp;

		req.token_id = atoll(argv[2]);
		rc = rkc_unary(c->client, "/rekindle.v1.AgentService/RevokeToken",
		    &req.base, &rekindle__v1__token__descriptor, c->timeout_ms,
		    (ProtobufCMessage **)&resp, &st);
		if (rc != RK_OK)
			return (ctl_fail("tokens revoke", rc, &st));
		print_token(resp, NULL);
		protobuf_c_message_free_unpacked(&resp->base, NULL);
		return (0);
	}
	fprintf(stderr, "usage: rekindlectl tokens create NAME --role R "
	    "[--agent ID] | list [--all] | revoke ID\n");
	return (2);
}

/*
 * audit list [--resource TYPE[:ID]] [--token N] [--role R] [--method M]
 * [--since TIME] [--limit N]: ListAuditEvents, newest first, one page.
 */
static int
audit_list(struct ctl *c, int argc, char **argv)
{
	static const struct {
		const char *flag, *field;
		bool number;
	} flags[] = {
		{"--token", "token_id", true}, {"--role", "role", false},
		{"--method", "method", false}, {"--since", "start_time", false},
		{"--limit", "page_size", true}, {NULL, NULL, false},
	};
	json_t *req = json_object(), *out, *all, *e;
	size_t i;
	int status;

	for (int k = 2; k + 1 < argc; k += 2) {
		int f = 0;

		if (strcmp(argv[k], "--resource") == 0) {
			const char *colon = strchr(argv[k + 1], ':');

			json_object_set_new(req, "resource_type", colon ?
			    json_stringn(argv[k + 1], (size_t)(colon -
			    argv[k + 1])) : json_string(argv[k + 1]));
			if (colon != NULL)
				json_object_set_new(req, "resource_id",
				    json_string(colon + 1));
			continue;
		}
		while (flags[f].flag != NULL && strcmp(argv[k], flags[f].flag))
			f++;
		if (flags[f].flag == NULL) {
			json_decref(req);
			ctl_usage(stderr, "audit");
			return (2);
		}
		json_object_set_new(req, flags[f].field, flags[f].number ?
		    json_integer(atoll(argv[k + 1])) : json_string(argv[k + 1]));
	}
	status = ctl_rpc(c, "AuditService/ListAuditEvents", req, &out);
	json_decref(req);
	if (status != 0)
		return (status);
	if (c->json) {
		ctl_print_json(out);
		json_decref(out);
		return (0);
	}
	all = json_object_get(out, "events");
	printf("%-8s %-30s %-6s %-7s %-12s %-20s %s\n", "event", "time",
	    "token", "role", "action", "resource", "method");
	json_array_foreach(all, i, e) {
		char res[96];

		snprintf(res, sizeof(res), "%s:%s", ctl_jstr(e, "resource_type"),
		    ctl_jstr(e, "resource_id"));
		printf("%-8lld %-30s %-6lld %-7s %-12s %-20s %s\n",
		    (long long)json_integer_value(json_object_get(e,
		    "event_id")), ctl_jstr(e, "time"),
		    (long long)json_integer_value(json_object_get(e,
		    "token_id")), ctl_jstr(e, "role"),
		    ctl_jstr(e, "action"), res, ctl_jstr(e, "method"));
	}
	json_decref(out);
	return (0);
}

int
cmd_audit(struct ctl *c, int argc, char **argv)
{
	if (argc >= 2 && argc % 2 == 0 && strcmp(argv[1], "list") == 0)
		return (audit_list(c, argc, argv));
	ctl_usage(stderr, "audit");
	return (2);
}
