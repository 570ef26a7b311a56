/*
 * mime.c - e-mail text with open_memstream(3); base64 with OpenSSL's
 * EVP_EncodeBlock.
 */
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mem.h"
#include "mime.h"

#define B64_LINE 57		/* raw bytes per 76-character base64 line */
#define WORD_RAW 42		/* raw bytes per encoded word (<= 75 chars) */

static bool
is_ascii_printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return (false);
	return (true);
}

/* Writes s as RFC 2047 "B" encoded words, split on character boundaries,
 * one per folded line after the first. */
static void
put_words(FILE *f, const char *s)
{
	size_t len = strlen(s), at = 0;
	unsigned char out[4 * WORD_RAW / 3 + 4];
	bool first = true;

	if (is_ascii_printable(s)) {
		fputs(s, f);
		return;
	}
	while (at < len) {
		size_t n = len - at < WORD_RAW ? len - at : WORD_RAW;

		/* never split a UTF-8 sequence: back off continuation bytes */
		while (n > 1 && at + n < len &&
		    ((unsigned char)s[at + n] & 0xc0) == 0x80)
			n--;
		EVP_EncodeBlock(out, (const unsigned char *)s + at, (int)n);
		fprintf(f, "%s=?UTF-8?B?%s?=", first ? "" : "\r\n ", out);
		first = false;
		at += n;
	}
}

/* Writes s base64-encoded in 76-character lines. */
static void
put_base64(FILE *f, const char *s)
{
	size_t len = strlen(s);
	unsigned char out[4 * B64_LINE / 3 + 4];

	for (size_t at = 0; at < len; at += B64_LINE) {
		size_t n = len - at < B64_LINE ? len - at : B64_LINE;

		EVP_EncodeBlock(out, (const unsigned char *)s + at, (int)n);
		fprintf(f, "%s\r\n", out);
	}
}

char *
mime_compose(const struct mail *m, size_t *len)
{
	char *buf = NULL, date[64], boundary[48];
	size_t size = 0;
	time_t t = (time_t)(m->date_us / 1000000);
	struct tm tm;
	static const char *const wd[] = {"Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat"}, *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	FILE *f = xmemstream(&buf, &size);

	gmtime_r(&t, &tm);
	/* RFC 5322 names, whatever the locale */
	snprintf(date, sizeof(date), "%s, %02d %s %04d %02d:%02d:%02d +0000",
	    wd[tm.tm_wday], tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
	/* a boundary that base64 text can never contain ('=' then '_') */
	snprintf(boundary, sizeof(boundary), "=_rk_%08x",
	    (unsigned)(m->date_us ^ (int64_t)strlen(m->key) * 2654435761u));
	fputs("From: ", f);
	put_words(f, m->from_name);
	fprintf(f, " <%s>\r\nTo: <%s>\r\nSubject: ", m->from_addr, m->to_addr);
	put_words(f, m->subject);
	fprintf(f, "\r\nDate: %s\r\nMessage-ID: <%s>\r\nMIME-Version: 1.0\r\n"
	    "List-Unsubscribe: <%s>\r\n"
	    "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
	    "X-Rekindle-Key: %s\r\n"
	    "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n"
	    "--%s\r\nContent-Type: text/plain; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n", date, m->message_id,
	    m->unsubscribe_url, m->key, boundary, boundary);
	put_base64(f, m->text);
	fprintf(f, "--%s\r\nContent-Type: text/html; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n", boundary);
	put_base64(f, m->html);
	fprintf(f, "--%s--\r\n", boundary);
	xmemstream_close(f);
	*len = size;
	return (buf);
}

/* Writes text HTML-escaped, "\n" as <br>, http(s) links as anchors. */
static void
put_text_as_html(FILE *f, const char *s)
{
	while (*s) {
		if (strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0) {
			size_t n = strcspn(s, " \t\r\n<>\"'");

			fprintf(f, "<a href=\"%.*s\">%.*s</a>", (int)n, s, (int)n, s);
			s += n;
			continue;
		}
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\n':
			fputs("<br>\n", f);
			break;
		default:
			fputc(*s, f);
		}
		s++;
	}
}

char *
mime_html(const char *html, const char *text, const char *pixel_url)
{
	char *buf = NULL, *tail = NULL;
	size_t size = 0;
	FILE *f = xmemstream(&buf, &size);

	if (html != NULL && *html != '\0') {
		tail = strstr(html, "</body>");
		fprintf(f, "%.*s", (int)(tail ? (size_t)(tail - html) :
		    strlen(html)), html);
	} else {
		fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head>"
		    "<body>\n<p>", f);
		put_text_as_html(f, text);
		fputs("</p>\n", f);
		tail = "</body></html>\n";
	}
	if (pixel_url != NULL)
		fprintf(f, "<img src=\"%s\" width=\"1\" height=\"1\" alt=\"\" "
		    "style=\"display:block;border:0\">\n", pixel_url);
	if (tail != NULL)
		fputs(tail, f);
	xmemstream_close(f);
	return (buf);
}
