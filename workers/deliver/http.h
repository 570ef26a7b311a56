/*
 * http.h - one libcurl handle per delivery process (connections kept
 * alive to the provider): POST a JSON body, get status, Retry-After and
 * reply. One thread only.
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

#endif
