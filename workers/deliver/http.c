/*
 * http.c - the libcurl easy handle, reused so connections stay open
 * (HTTP keep-alive; an SMTP session is kept for the next message).
 */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "mem.h"

static CURL *curl;
static int timeout;

struct buf {
	char *p;
	size_t len;
};

static size_t
on_data(char *data, size_t size, size_t n, void *ctx)
{
	struct buf *b = ctx;
	size_t add = size * n;

	if (b->len + add > (1u << 20))
		return (0);		/* a provider reply is small */
	b->p = xrealloc(b->p, b->len + add + 1);
	memcpy(b->p + b->len, data, add);
	b->len += add;
	b->p[b->len] = '\0';
	return (add);
}

static size_t
on_header(char *line, size_t size, size_t n, void *ctx)
{
	struct http_reply *r = ctx;
	size_t len = size * n;

	if (len > 12 && strncasecmp(line, "Retry-After:", 12) == 0) {
		size_t k = 0;

		for (size_t i = 12; i < len && k + 1 < sizeof(r->retry_after);
		    i++)
			if (line[i] >= '0' && line[i] <= '9')
				r->retry_after[k++] = line[i];
		r->retry_after[k] = '\0';
	}
	return (len);
}

void
http_init(int timeout_ms)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	curl = curl_easy_init();
	timeout = timeout_ms;
}

void
http_fini(void)
{
	curl_easy_cleanup(curl);
	curl_global_cleanup();
}

void
http_post_json(const char *url, const char *const *headers, const char *body,
    struct http_reply *r)
{
	struct curl_slist *h = curl_slist_append(NULL,
	    "Content-Type: application/json");
	struct buf b = {NULL, 0};

	memset(r, 0, sizeof(*r));
	for (int i = 0; headers != NULL && headers[i] != NULL; i++)
		h = curl_slist_append(h, headers[i]);
	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)timeout);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, r);
	if (curl_easy_perform(curl) == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
	else
		r->status = 0;
	r->body = b.p;
	curl_slist_free_all(h);
}

struct upload {
	const char *p;
	size_t left;
};

static size_t
on_read(char *out, size_t size, size_t n, void *ctx)
{
	struct upload *u = ctx;
	size_t k = size * n < u->left ? size * n : u->left;

	memcpy(out, u->p, k);
	u->p += k;
	u->left -= k;
	return (k);
}

void
http_smtp_send(const char *url, const char *from, const char *rcpt,
    const char *msg, size_t len, struct http_reply *r)
{
	struct curl_slist *to = curl_slist_append(NULL, rcpt);
	struct upload u = {msg, len};
	char errbuf[CURL_ERROR_SIZE] = "";
	CURLcode rc;

	memset(r, 0, sizeof(*r));
	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, to);
	curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(curl, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(curl, CURLOPT_READDATA, &u);
	curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)timeout);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	rc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
	if (rc == CURLE_OK && r->status == 0)
		r->status = 250;
	if (rc != CURLE_OK)
		r->body = xstrdup(*errbuf ? errbuf : curl_easy_strerror(rc));
	curl_slist_free_all(to);
}
