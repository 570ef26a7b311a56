/*
 * http.h - one libcurl handle per delivery process (connections kept
 * alive to the provider): POST a JSON body, get status, Retry-After and
 * reply; or hand a message to an SMTP relay. One thread only.
 */
#ifndef RK_HTTP_H
#define RK_HTTP_H

#include <stddef.h>

struct http_reply {
	long status;		/* 0: no reply (timeout, refused) */
	char retry_after[16];	/* the header, "" if none */
	char *body;		/* malloc'ed, NUL-terminated, or NULL */
};

/* Sets up libcurl; timeout_ms bounds every request. */
void http_init(int timeout_ms);
void http_fini(void);

/*
 * POSTs body as application/json to url with extra headers (NULL-ended
 * "Name: value" strings). Fills *r; free r->body with free().
 */
void http_post_json(const char *url, const char *const *headers,
    const char *body, struct http_reply *r);

/*
 * Sends the RFC 5322 message msg (len bytes, CRLF lines) over SMTP to url
 * ("smtp://host:port", or "smtps://..."), envelope from and to rcpt.
 * r->status is the relay's last reply code (250 accepted; 0 no reply),
 * r->body its text when it refused, or NULL.
 */
void http_smtp_send(const char *url, const char *from, const char *rcpt,
    const char *msg, size_t len, struct http_reply *r);

#endif
