/*
 * http.h - a delivery process's provider connections: libcurl's multi
 * interface runs a batch of requests concurrently, at most `parallel` at
 * a time, over connections kept open between batches (HTTP keep-alive;
 * SMTP sessions stay open for the next message). A provider far away
 * costs round trips, not throughput. Each thread (a delivery lane) has
 * handles and connections of its own.
 *
 * NEVER TWICE
 *	libcurl sends a request again by itself on a fresh connection when
 *	a reused one closed before any reply byte came (Curl_retry_request)
 *	- but the server may have read and acted on the first. A call here
 *	is sent at most once: its pre-request callback aborts a second
 *	send, and the call ends as "written, no reply" (ambiguous).
 */
#ifndef RK_HTTP_H
#define RK_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct http_reply {
	long status;		/* HTTP status, or the SMTP relay's final
				 * reply code (250 accepted, 4xx/5xx at any
				 * stage); 0: no (whole) reply */
	bool written;		/* status 0: the request (for SMTP the whole
				 * message) was handed to the connection, so
				 * the provider may have taken it */
	bool tls_refused;	/* status 0: the TLS handshake failed on
				 * the provider's certificate (or on our CA
				 * file), before anything was sent - a
				 * configuration (or interception), not an
				 * outage; libcurl-errors(3): 60, 77, 83, 90 */
	char retry_after[16];	/* the header's seconds, "" if none */
	char error[96];		/* status 0: libcurl's words */
	char *body;		/* malloc'ed, NUL-terminated, or NULL; for
				 * SMTP the relay's words when refused */
	double seconds;		/* from the start of the request to its
				 * end (CURLINFO_TOTAL_TIME); 0 withheld */
};

/* One request: an HTTP POST of a JSON body (or of content_type), or,
 * when mail_rcpt is set, an SMTP submission of an RFC 5322 message. */
struct http_call {
	const char *url;		/* http(s)://... or smtp(s)://... */
	const char *headers[3];		/* "Name: value", NULL-ended */
	const char *content_type;	/* NULL: application/json */
	const char *body;		/* JSON text or the message */
	size_t len;			/* of body */
	const char *mail_from, *mail_rcpt;
	/* SMTP: STARTTLS required before MAIL (an smtps:// URL is TLS from
	 * the start; either way the relay's certificate and name are
	 * verified); AUTH's user and password (user NULL: no AUTH) */
	bool tls_required;
	const char *user, *password;
	bool withheld;			/* set by the caller (in its done
					 * callback) to keep a call not yet
					 * started from starting: it ends at
					 * once, status 0, not written */
	struct http_reply reply;	/* filled by http_run */
	void *priv;			/* http.c's own */
};

/* Sets up libcurl, before any other thread starts; timeout_ms bounds
 * every request, parallel the number in flight at once in each thread;
 * every provider's certificate is checked against the CA bundle ca_file
 * (NULL or "": the system's - a bank whose outbound TLS goes through a
 * proxy of its own gives that proxy's CA). http_fini frees the calling
 * thread's handles (another thread's go when it ends). */
void http_init(int timeout_ms, int parallel, const char *ca_file);
/* The longest a request may take (http_init's timeout_ms). */
int http_timeout_ms(void);
void http_fini(void);

/*
 * Runs every call of calls[0..n) and fills its reply; free each
 * reply.body with free(3). If done is not NULL it is called with each
 * call as it finishes, and with NULL at least every 100 ms while calls
 * are in flight (for group commits of outcomes).
 */
void http_run(struct http_call *calls, size_t n,
    void (*done)(void *ctx, struct http_call *c), void *ctx);

/* s percent-encoded for an application/x-www-form-urlencoded body (all
 * but RFC 3986's unreserved characters), new. */
char *http_form_escape(const char *s);

/* One POST of body as content_type (NULL: JSON), waited for. */
void http_post(const char *url, const char *content_type,
    const char *const *headers, const char *body, struct http_reply *r);

#endif
