/*
 * methods.c - the dispatcher's method table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_rpc.h"
#include "campaign_rpc.h"
#include "customer_rpc.h"
#include "descset.h"
#include "engagement_rpc.h"
#include "grpc/health/v1/health.pb-c.h"
#include "grpc/reflection/v1/reflection.pb-c.h"
#include "grpc/reflection/v1alpha/reflection.pb-c.h"
#include "health.h"
#include "mem.h"
#include "methods.h"
#include "offer_rpc.h"
#include "profile_rpc.h"
#include "reflection.h"
#include "rekindle_services.h"
#include "token_rpc.h"

/* The standard services beside rekindle_services. */
static const ProtobufCServiceDescriptor *const standard[] = {
	&grpc__health__v1__health__descriptor,
	&grpc__reflection__v1__server_reflection__descriptor,
	&grpc__reflection__v1alpha__server_reflection__descriptor,
};

static const struct rpc_handler *const tables[] = {
	health_handlers,
	reflection_handlers,
	customer_handlers,
	partner_handlers,
	promotion_handlers,
	dnc_handlers,
	fx_handlers,
	consent_handlers,
	privacy_handlers,
	audit_handlers,
	transaction_handlers,
	offer_handlers,
	campaign_handlers,
	report_handlers,
	message_handlers,
	engagement_handlers,
	agent_handlers,
	ticket_handlers,
	profile_handlers,
	token_handlers,
};

static bool
fits(const struct rpc_handler *h, enum rpc_kind k)
{
	switch (k) {
	case RPC_UNARY:
	case RPC_SERVER_STREAM:
		return (h->unary != NULL);
	case RPC_CLIENT_STREAM:
	case RPC_BIDI:
		return (h->message != NULL && h->finish != NULL);
	}
	return (false);
}

rk_err
methods_build(struct server_method **out, int *n, char *errmsg, size_t errlen)
{
	size_t nt = sizeof(tables) / sizeof(tables[0]);
	struct server_method *m = NULL;
	int count = 0;

	for (size_t t = 0; t < nt; t++) {
		for (const struct rpc_handler *h = tables[t]; h->path; h++) {
			const ProtobufCMethodDescriptor *md = NULL;
			bool cs, ss;

			for (size_t s = 0; md == NULL && s < REKINDLE_NSERVICES +
			    sizeof(standard) / sizeof(standard[0]); s++) {
				const ProtobufCServiceDescriptor *sd =
				    s < REKINDLE_NSERVICES ? rekindle_services[s] :
				    standard[s - REKINDLE_NSERVICES];
				size_t plen = strlen(sd->name);

				if (strncmp(h->path + 1, sd->name, plen) != 0 ||
				    h->path[plen + 1] != '/')
					continue;
				md = protobuf_c_service_descriptor_get_method_by_name(
				    sd, h->path + plen + 2);
			}
			if (md == NULL || descset_method(h->path, &cs, &ss) !=
			    RK_OK) {
				snprintf(errmsg, errlen, "handler for unknown "
				    "method \"%s\"", h->path);
				methods_free(m, count);
				return (RK_EINTERNAL);
			}
			m = xrealloc(m, sizeof(*m) * (size_t)(count + 1));
			m[count].path = xstrdup(h->path);
			m[count].in = h->in ? h->in : md->input;
			m[count].out = h->out ? h->out : md->output;
			m[count].kind = cs && ss ? RPC_BIDI : cs ?
			    RPC_CLIENT_STREAM : ss ? RPC_SERVER_STREAM :
			    RPC_UNARY;
			m[count].h = h;
			m[count].registration = NULL;
			if (!roles_of(h->path, &m[count].roles)) {
				snprintf(errmsg, errlen, "no row for \"%s\" in the "
				    "role table (roles.c)", h->path);
				count++;
				methods_free(m, count);
				return (RK_EINTERNAL);
			}
			if (!fits(h, m[count].kind)) {
				snprintf(errmsg, errlen, "handler for \"%s\" does "
				    "not fit its streaming kind", h->path);
				count++;
				methods_free(m, count);
				return (RK_EINTERNAL);
			}
			count++;
		}
	}
	*out = m;
	*n = count;
	return (RK_OK);
}

void
methods_free(struct server_method *m, int n)
{
	for (int i = 0; i < n; i++)
		free(m[i].path);
	free(m);
}
