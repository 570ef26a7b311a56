/*
 * bus.c - nng PUB/SUB wake-ups carrying rekindle.bus.v1.Wakeup.
 *
 * Wire: the queue name, a NUL (the subscription prefix), then the packed
 * Wakeup message. Receivers re-validate and drop anything else.
 *
 * SECURITY
 *	Receive size is capped (BUS_MAX_MSG) before dialing. A wake-up only
 *	causes a claim attempt in PostgreSQL, so a forged one costs a query.
 */
#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/pubsub0/sub.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "mem.h"
#include "rekindle/bus/v1/bus.pb-c.h"

struct bus {
	nng_socket sock;
	char *queue;
};

static rk_err
nng_fail(const char *what, int rv, char *errmsg, size_t errlen)
{
	snprintf(errmsg, errlen, "%s: %s", what, nng_strerror(rv));
	return (rv == NNG_EADDRINVAL || rv == NNG_ENOTSUP ? RK_EINVAL : RK_ESYS);
}

rk_err
bus_open_pub(const char *url, bus **out, char *errmsg, size_t errlen)
{
	bus *b;
	int rv;

	*out = NULL;
	b = xcalloc(1, sizeof(*b));
	if ((rv = nng_pub0_open(&b->sock)) != 0) {
		free(b);
		return (nng_fail("could not open publisher", rv, errmsg, errlen));
	}
	nng_socket_set_size(b->sock, NNG_OPT_RECVMAXSZ, BUS_MAX_MSG);
	nng_socket_set_int(b->sock, NNG_OPT_SENDBUF, 1024);
	if ((rv = nng_listen(b->sock, url, NULL, 0)) != 0) {
		nng_close(b->sock);
		free(b);
		return (nng_fail("could not listen on bus address", rv, errmsg,
		    errlen));
	}
	*out = b;
	return (RK_OK);
}

rk_err
bus_open_sub(const char *urls, const char *queue, bus **out, char *errmsg,
    size_t errlen)
{
	char *list, *save = NULL, *url;
	rk_err rc = RK_OK;
	bus *b;
	int rv;

	*out = NULL;
	b = xcalloc(1, sizeof(*b));
	b->queue = xstrdup(queue);
	if ((rv = nng_sub0_open(&b->sock)) != 0) {
		free(b->queue);
		free(b);
		return (nng_fail("could not open subscriber", rv, errmsg,
		    errlen));
	}
	nng_socket_set_size(b->sock, NNG_OPT_RECVMAXSZ, BUS_MAX_MSG);
	nng_socket_set_ms(b->sock, NNG_OPT_RECONNMINT, 50);
	nng_socket_set_ms(b->sock, NNG_OPT_RECONNMAXT, 1000);
	if ((rv = nng_socket_set(b->sock, NNG_OPT_SUB_SUBSCRIBE, queue,
	    strlen(queue) + 1)) != 0)
		rc = nng_fail("could not subscribe", rv, errmsg, errlen);
	list = xstrdup(urls);
	for (url = strtok_r(list, ",", &save); rc == RK_OK && url != NULL;
	    url = strtok_r(NULL, ",", &save)) {
		while (*url == ' ')
			url++;
		if (*url == '\0')
			continue;
		if ((rv = nng_dial(b->sock, url, NULL, NNG_FLAG_NONBLOCK)) != 0)
			rc = nng_fail("could not dial bus address", rv, errmsg,
			    errlen);
	}
	free(list);
	if (rc != RK_OK) {
		bus_close(b);
		return (rc);
	}
	*out = b;
	return (RK_OK);
}

rk_err
bus_publish(bus *b, const char *queue, int64_t jobs, const char *request_id)
{
	Rekindle__Bus__V1__Wakeup w = REKINDLE__BUS__V1__WAKEUP__INIT;
	unsigned char buf[BUS_MAX_MSG];
	size_t qlen = strlen(queue) + 1, n;

	w.queue = (char *)queue;
	w.jobs = jobs;
	w.request_id = (char *)(request_id ? request_id : "");
	if (qlen + rekindle__bus__v1__wakeup__get_packed_size(&w) > sizeof(buf))
		return (RK_ETOOBIG);
	memcpy(buf, queue, qlen);
	n = qlen + rekindle__bus__v1__wakeup__pack(&w, buf + qlen);
	if (nng_send(b->sock, buf, n, NNG_FLAG_NONBLOCK) != 0)
		return (RK_ESYS);
	return (RK_OK);
}

rk_err
bus_recv(bus *b, int timeout_ms, int64_t *jobs, char *rid, size_t ridcap)
{
	Rekindle__Bus__V1__Wakeup *w;
	size_t qlen = strlen(b->queue) + 1;
	nng_msg *msg;
	rk_err rc = RK_OK;
	int rv;

	if (rid != NULL && ridcap > 0)
		*rid = '\0';
	nng_socket_set_ms(b->sock, NNG_OPT_RECVTIMEO, timeout_ms);
	if ((rv = nng_recvmsg(b->sock, &msg, 0)) != 0)
		return (rv == NNG_ETIMEDOUT ? RK_ETIMEDOUT :
		    rv == NNG_ECLOSED ? RK_ECANCELED : RK_ESYS);
	if (nng_msg_len(msg) < qlen ||
	    memcmp(nng_msg_body(msg), b->queue, qlen) != 0) {
		nng_msg_free(msg);
		return (RK_EPROTO);
	}
	w = rekindle__bus__v1__wakeup__unpack(NULL, nng_msg_len(msg) - qlen,
	    (const uint8_t *)nng_msg_body(msg) + qlen);
	if (w == NULL || strcmp(w->queue, b->queue) != 0)
		rc = RK_EPROTO;
	else {
		if (jobs != NULL)
			*jobs = w->jobs;
		if (rid != NULL && ridcap > 0)
			snprintf(rid, ridcap, "%s", w->request_id);
	}
	if (w != NULL)
		rekindle__bus__v1__wakeup__free_unpacked(w, NULL);
	nng_msg_free(msg);
	return (rc);
}

void
bus_close(bus *b)
{
	if (b == NULL)
		return;
	nng_close(b->sock);
	free(b->queue);
	free(b);
}
