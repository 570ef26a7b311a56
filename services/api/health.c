/*
 * health.c - the standard health service (grpc doc/health-checking.md).
 *
 * CONCURRENCY
 *	Watchers are a list under one mutex; each holds a reference on its
 *	call until the call closes or the server shuts down.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "descset.h"
#include "grpc/health/v1/health.pb-c.h"
#include "health.h"
#include "mem.h"

struct watcher {
	rpc_call *c;
	bool known;
	struct watcher *next;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static bool serving;
static struct watcher *watchers;

/* True for "" and for every service this server describes. */
static bool
known_service(const char *name)
{
	if (name == NULL || *name == '\0')
		return (true);
	for (int i = 0; i < descset_nservices(); i++)
		if (strcmp(descset_service(i), name) == 0)
			return (true);
	return (false);
}

static Grpc__Health__V1__HealthCheckResponse__ServingStatus
status_of(bool known)
{
	if (!known)
		return (GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN);
	return (serving ?
	    GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING :
	    GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING);
}

static rk_err
check(rpc_call *c, const ProtobufCMessage *req, ProtobufCMessage **resp)
{
	const Grpc__Health__V1__HealthCheckRequest *r = (const void *)req;
	Grpc__Health__V1__HealthCheckResponse *out;

	if (!known_service(r->service))
		return (rpc_error(c, RK_ENOTFOUND, "unknown service"));
	out = arena_alloc(rpc_arena(c), sizeof(*out));
	grpc__health__v1__health_check_response__init(out);
	pthread_mutex_lock(&mu);
	out->status = status_of(true);
	pthread_mutex_unlock(&mu);
	*resp = &out->base;
	return (RK_OK);
}

static void
send_status(rpc_call *c, bool known)
{
	Grpc__Health__V1__HealthCheckResponse out =
	    GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;

	out.status = status_of(known);
	rpc_stream_send(c, &out.base);
}

static rk_err
watch(rpc_call *c, const ProtobufCMessage *req, ProtobufCMessage **resp)
{
	const Grpc__Health__V1__HealthCheckRequest *r = (const void *)req;
	struct watcher *w = xcalloc(1, sizeof(*w));

	(void)resp;
	w->c = c;
	w->known = known_service(r->service);
	rpc_call_ref(c);
	pthread_mutex_lock(&mu);
	w->next = watchers;
	watchers = w;
	send_status(c, w->known);
	pthread_mutex_unlock(&mu);
	return (RK_OK);
}

static void
watch_closed(rpc_call *c)
{
	struct watcher **pp, *w = NULL;

	pthread_mutex_lock(&mu);
	for (pp = &watchers; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->c == c) {
			w = *pp;
			*pp = w->next;
			break;
		}
	pthread_mutex_unlock(&mu);
	if (w != NULL) {
		rpc_call_unref(w->c);
		free(w);
	}
}

void
health_set_serving(bool s)
{
	pthread_mutex_lock(&mu);
	if (s != serving) {
		serving = s;
		for (struct watcher *w = watchers; w != NULL; w = w->next)
			if (w->known)
				send_status(w->c, true);
	}
	pthread_mutex_unlock(&mu);
}

bool
health_serving(void)
{
	bool s;

	pthread_mutex_lock(&mu);
	s = serving;
	pthread_mutex_unlock(&mu);
	return (s);
}

void
health_shutdown(void)
{
	struct watcher *list;

	health_set_serving(false);
	pthread_mutex_lock(&mu);
	list = watchers;
	watchers = NULL;
	pthread_mutex_unlock(&mu);
	while (list != NULL) {
		struct watcher *next = list->next;

		rpc_stream_finish(list->c, RK_EUNAVAIL, "server shutting down");
		rpc_call_unref(list->c);
		free(list);
		list = next;
	}
}

const struct rpc_handler health_handlers[] = {
	{.path = "/grpc.health.v1.Health/Check", .inline_ = true,
	    .unary = check},
	{.path = "/grpc.health.v1.Health/Watch", .inline_ = true,
	    .unary = watch, .closed = watch_closed},
	{.path = NULL},
};
