/*
 * http.c - one CURLM and a fixed set of easy handles per thread (a
 * delivery lane); a call takes a free handle, and the multi handle's
 * connection cache keeps the connections for the thread's next call to
 * the same provider. libcurl's handles may not be shared between threads
 * (libcurl's "Thread safety" page): each lane has its own, made at its
 * first call and freed when the lane's thread ends.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "log.h"
#include "mem.h"

#define REPLY_MAX (1u << 20)	/* a provider's reply is small */

/*
 * One lane's handles. curl_multi_perform and curl_multi_poll drive them:
 * measured against curl_multi_socket_action with an epoll set, which
 * cost the e-mail pool 10 % more CPU a message (an epoll_ctl at each
 * SMTP step's change of direction) and 7 % of its throughput.
 */
struct lane {
	CURLM *multi;
	CURL **easy;
};

static int nparallel, timeout;
static char *ca_bundle;		/* NULL: the system's */
static pthread_key_t lane_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

/* What a running call needs besides the call. */
struct running {
	struct http_call *call;
	struct curl_slist *list;	/* headers or recipients */
	const char *up;			/* SMTP: what is left to send */
	size_t up_left;
	size_t body_len;
	int sends;			/* times the request was about to go */
};

static size_t
on_data(char *data, size_t size, size_t n, void *ctx)
{
	struct running *r = ctx;
	struct http_reply *h = &r->call->reply;
	size_t add = size * n;

	if (r->body_len + add > REPLY_MAX)
		return (0);
	h->body = xrealloc(h->body, r->body_len + add + 1);
	memcpy(h->body + r->body_len, data, add);
	r->body_len += add;
	h->body[r->body_len] = '\0';
	return (add);
}

static size_t
on_header(char *line, size_t size, size_t n, void *ctx)
{
	struct http_reply *h = &((struct running *)ctx)->call->reply;
	size_t len = size * n;

	if (len > 12 && strncasecmp(line, "Retry-After:", 12) == 0) {
		size_t k = 0;

		for (size_t i = 12; i < len && k + 1 < sizeof(h->retry_after);
		    i++)
			if (line[i] >= '0' && line[i] <= '9')
				h->retry_after[k++] = line[i];
		h->retry_after[k] = '\0';
	}
	return (len);
}

static size_t
on_read(char *out, size_t size, size_t n, void *ctx)
{
	struct running *r = ctx;
	size_t k = size * n < r->up_left ? size * n : r->up_left;

	memcpy(out, r->up, k);
	r->up += k;
	r->up_left -= k;
	return (k);
}

/*
 * Called by libcurl before it sends the request on a connection; a
 * second time only when it would send the same request again by itself.
 */
static int
on_prereq(void *ctx, char *conn_primary_ip, char *conn_local_ip,
    int conn_primary_port, int conn_local_port)
{
	struct running *r = ctx;

	(void)conn_primary_ip;
	(void)conn_local_ip;
	(void)conn_primary_port;
	(void)conn_local_port;
	return (++r->sends > 1 ? CURL_PREREQFUNC_ABORT : CURL_PREREQFUNC_OK);
}

static void
lane_free(void *p)
{
	struct lane *l = p;

	for (int i = 0; i < nparallel; i++)
		curl_easy_cleanup(l->easy[i]);
	free(l->easy);
	curl_multi_cleanup(l->multi);
	free(l);
}

static void
make_key(void)
{
	if (pthread_key_create(&lane_key, lane_free) != 0)
		log_fatal("THREAD-FAIL", "pthread_key_create failed");
}

/* This thread's handles, made at its first call. */
static struct lane *
lane(void)
{
	struct lane *l = pthread_getspecific(lane_key);

	if (l != NULL)
		return (l);
	l = xcalloc(1, sizeof(*l));
	if ((l->multi = curl_multi_init()) == NULL)
		log_fatal("MEM-EXHAUSTED", "curl_multi_init failed");
	curl_multi_setopt(l->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
	    (long)nparallel);
	curl_multi_setopt(l->multi, CURLMOPT_MAXCONNECTS, (long)nparallel);
	l->easy = xcalloc((size_t)nparallel, sizeof(CURL *));
	for (int i = 0; i < nparallel; i++)
		if ((l->easy[i] = curl_easy_init()) == NULL)
			log_fatal("MEM-EXHAUSTED", "curl_easy_init failed");
	pthread_setspecific(lane_key, l);
	return (l);
}

void
http_init(int timeout_ms, int parallel, const char *ca_file)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	free(ca_bundle);
	ca_bundle = ca_file != NULL && *ca_file != '\0' ? xstrdup(ca_file) :
	    NULL;
	pthread_once(&key_once, make_key);
	nparallel = parallel > 0 ? parallel : 1;
	timeout = timeout_ms;
}

int
http_timeout_ms(void)
{
	return (timeout);
}

void
http_fini(void)
{
	struct lane *l = pthread_getspecific(lane_key);

	if (l != NULL) {
		pthread_setspecific(lane_key, NULL);
		lane_free(l);
	}
	curl_global_cleanup();
}

/* Sets handle e up for call c, tracked by r. */
static void
start(CURLM *multi, CURL *e, struct http_call *c, struct running *r)
{
	memset(r, 0, sizeof(*r));
	memset(&c->reply, 0, sizeof(c->reply));
	r->call = c;
	curl_easy_reset(e);
	curl_easy_setopt(e, CURLOPT_URL, c->url);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_prereq);
	curl_easy_setopt(e, CURLOPT_PREREQDATA, r);
	if (ca_bundle != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, ca_bundle);
	if (c->mail_rcpt != NULL) {
		r->list = curl_slist_append(NULL, c->mail_rcpt);
		r->up = c->body;
		r->up_left = c->len;
		curl_easy_setopt(e, CURLOPT_MAIL_FROM, c->mail_from);
		curl_easy_setopt(e, CURLOPT_MAIL_RCPT, r->list);
		curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(e, CURLOPT_READDATA, r);
		curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)c->len);
		if (c->tls_required)
			curl_easy_setopt(e, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
		if (c->user != NULL) {
			curl_easy_setopt(e, CURLOPT_USERNAME, c->user);
			curl_easy_setopt(e, CURLOPT_PASSWORD, c->password ?
			    c->password : "");
		}
	} else {
		char ct[96];

		snprintf(ct, sizeof(ct), "Content-Type: %s", c->content_type ?
		    c->content_type : "application/json");
		r->list = curl_slist_append(NULL, ct);
		for (int i = 0; c->headers[i] != NULL; i++)
			r->list = curl_slist_append(r->list, c->headers[i]);
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->list);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->len);
		curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
		curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
		curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	}
	curl_multi_add_handle(multi, e);
}

/*
 * A finished transfer: its reply, and the handle free again. What a
 * failed transfer means is decided here once: a final reply (an HTTP
 * status; an SMTP 4xx/5xx at any stage) is the provider's answer; with
 * none, the request counts as written when the whole of it was handed
 * over (or libcurl tried to send it twice), so the provider may have
 * taken it.
 */
static struct http_call *
finish(CURLM *multi, CURL *e, CURLcode rc)
{
	struct running *r;
	struct http_reply *h;
	char *priv = NULL;
	long code = 0;

	curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
	r = (struct running *)(void *)priv;
	h = &r->call->reply;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(e, CURLINFO_TOTAL_TIME, &h->seconds);
	if (r->call->mail_rcpt != NULL) {
		if (rc == CURLE_OK)
			h->status = code >= 200 && code < 300 ? code : 250;
		else if (code >= 400) {
			h->status = code;
			h->body = xstrdup(curl_easy_strerror(rc));
		} else {
			/* no final reply: 220, 250 or 354 was the last */
			h->written = r->up_left == 0 || r->sends > 1;
		}
	} else if (rc == CURLE_OK)
		h->status = code;
	else {
		curl_off_t up = 0;

		curl_easy_getinfo(e, CURLINFO_SIZE_UPLOAD_T, &up);
		h->written = (r->call->len > 0 && (size_t)up >= r->call->len) ||
		    r->sends > 1;
	}
	if (h->status == 0 && !h->written)
		h->tls_refused = rc == CURLE_PEER_FAILED_VERIFICATION ||
		    rc == CURLE_SSL_CACERT_BADFILE || rc ==
		    CURLE_SSL_ISSUER_ERROR || rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH;
	if (h->status == 0)
		snprintf(h->error, sizeof(h->error), "%s%s",
		    r->sends > 1 ? "connection lost, not sent again: " : "",
		    curl_easy_strerror(rc));
	curl_multi_remove_handle(multi, e);
	curl_slist_free_all(r->list);
	r->list = NULL;
	return (r->call);
}

/* The next call of calls[*next..n) to start: a withheld one ends at
 * once (reported to done_cb, counted in *done) and is passed over. */
static struct http_call *
next_call(struct http_call *calls, size_t n, size_t *next, size_t *done,
    void (*done_cb)(void *ctx, struct http_call *c), void *ctx)
{
	while (*next < n) {
		struct http_call *c = &calls[(*next)++];

		if (!c->withheld)
			return (c);
		snprintf(c->reply.error, sizeof(c->reply.error), "withheld");
		if (done_cb != NULL)
			done_cb(ctx, c);
		(*done)++;
	}
	return (NULL);
}

void
http_run(struct http_call *calls, size_t n,
    void (*done_cb)(void *ctx, struct http_call *c), void *ctx)
{
	struct lane *l = lane();
	CURLM *multi = l->multi;
	CURL **easy = l->easy;
	struct running *run = xcalloc((size_t)nparallel, sizeof(*run));
	struct http_call *c;
	size_t next = 0, done = 0;
	int active = 0;

	/* start as many as there are handles */
	for (int i = 0; i < nparallel && (c = next_call(calls, n, &next, &done,
	    done_cb, ctx)) != NULL; i++)
		start(multi, easy[i], c, &run[i]);
	while (done < n) {
		CURLMsg *msg;
		int left;

		curl_multi_perform(multi, &active);
		while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
			CURL *e = msg->easy_handle;

			if (msg->msg != CURLMSG_DONE)
				continue;
			c = finish(multi, e, msg->data.result);
			if (done_cb != NULL)
				done_cb(ctx, c);
			done++;
			if ((c = next_call(calls, n, &next, &done, done_cb,
			    ctx)) != NULL) {
				int slot = 0;

				while (easy[slot] != e)
					slot++;
				start(multi, e, c, &run[slot]);
			}
		}
		if (done < n) {
			curl_multi_poll(multi, NULL, 0, 100, NULL);
			if (done_cb != NULL)
				done_cb(ctx, NULL);
		}
	}
	free(run);
}

char *
http_form_escape(const char *s)
{
	/* libcurl encodes all but RFC 3986's unreserved characters */
	char *e = curl_easy_escape(NULL, s, 0), *out;

	if (e == NULL)
		log_fatal("MEM-EXHAUSTED", "out of memory escaping %zu bytes",
		    strlen(s));
	out = xstrdup(e);
	curl_free(e);
	return (out);
}

void
http_post(const char *url, const char *content_type,
    const char *const *headers, const char *body, struct http_reply *r)
{
	struct http_call c = {.url = url, .content_type = content_type,
	    .body = body, .len = strlen(body)};

	for (int i = 0; headers != NULL && headers[i] != NULL && i < 2; i++)
		c.headers[i] = headers[i];
	http_run(&c, 1, NULL, NULL);
	*r = c.reply;
}
