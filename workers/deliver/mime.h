/*
 * mime.h - an advertising e-mail as RFC 5322 / MIME text: UTF-8 subject
 * as RFC 2047 encoded words, a multipart/alternative body of a plain text
 * and an HTML part (both UTF-8, base64), List-Unsubscribe with one-click
 * POST (RFC 8058), a Message-ID that is the same for every attempt at the
 * same message, and the idempotency key in X-Rekindle-Key. Lines end in
 * CRLF and none is longer than 78 characters. Pure: no I/O.
 */
#ifndef RK_MIME_H
#define RK_MIME_H

#include <stddef.h>
#include <stdint.h>

struct mail {
	const char *from_name;		/* UTF-8 display name */
	const char *from_addr;		/* bank@example.vn */
	const char *to_addr;
	const char *subject;		/* UTF-8 */
	const char *text;		/* UTF-8 plain text part */
	const char *html;		/* UTF-8 HTML part (a full document or
					 * a fragment) */
	const char *unsubscribe_url;	/* List-Unsubscribe target */
	const char *message_id;		/* without <>: "rk.42@example.vn" */
	const char *key;		/* the idempotency key */
	int64_t date_us;		/* the Date header, Unix microseconds */
};

/*
 * The whole message (new, NUL-terminated; caller frees), its length in
 * *len.
 */
char *mime_compose(const struct mail *m, size_t *len);

/*
 * The HTML part: html when it is not empty, else one made from the plain
 * text (escaped, line breaks kept, web links made clickable); with the
 * open pixel (an <img> of pixel_url, before </body> if there is one) when
 * pixel_url is not NULL. New string, caller frees.
 */
char *mime_html(const char *html, const char *text, const char *pixel_url);

#endif
