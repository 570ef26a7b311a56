/* mime_test.c - the e-mail text: headers, encoded words, parts, lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "mime.h"

/* Decodes every "=?UTF-8?B?...?=" word of a header value, in order. */
static void
decode_words(const char *v, char *out, size_t cap)
{
	size_t n = 0;

	while ((v = strstr(v, "=?UTF-8?B?")) != NULL) {
		const char *end = strstr(v + 10, "?=");
		unsigned char raw[128];
		int len, pad = 0;

		assert_non_null(end);
		assert_true(end - v <= 75);	/* RFC 2047 2: a word fits */
		len = EVP_DecodeBlock(raw, (const unsigned char *)v + 10,
		    (int)(end - v - 10));
		assert_true(len > 0);
		for (const char *p = end - 1; *p == '='; p--)
			pad++;
		len -= pad;
		/* each word holds whole characters: it starts on one */
		assert_true((raw[0] & 0xc0) != 0x80);
		assert_true(n + (size_t)len < cap);
		memcpy(out + n, raw, (size_t)len);
		n += (size_t)len;
		v = end + 2;
	}
	out[n] = '\0';
}

static void
test_message(void **state)
{
	static const char subject[] = "Chị Nguyễn Thị Lan ơi, ưu đãi hoàn tiền "
	    "10% tại Tiki đang chờ chị đến hết tháng này";
	struct mail m = {"Ngân hàng Ví dụ", "uudai@bank.example",
	    "lan@example.com", subject, "Chào chị Lan,\nXem: https://x/t/1.ab",
	    NULL, "https://x/t/1.ab/unsubscribe", "rk.1.0@bank.example",
	    "C1:S1:0:email", INT64_C(1763769600000000)};
	char *html = mime_html("", m.text, "https://x/t/1.ab/open.gif"), *msg,
	    *hdr, words[512];
	const char *line, *subj;
	size_t len;

	(void)state;
	assert_non_null(strstr(html, "<a href=\"https://x/t/1.ab\">"));
	assert_non_null(strstr(html, "<br>"));
	assert_non_null(strstr(html, "<img src=\"https://x/t/1.ab/open.gif\""));
	m.html = html;
	msg = mime_compose(&m, &len);
	assert_int_equal(len, strlen(msg));
	/* every line ends in CRLF and fits in 78 characters */
	for (line = msg; *line; ) {
		const char *eol = strstr(line, "\r\n");

		assert_non_null(eol);
		assert_true(eol - line <= 78);
		assert_null(memchr(line, '\n', (size_t)(eol - line)));
		line = eol + 2;
	}
	assert_non_null(strstr(msg, "\r\nDate: Sat, 22 Nov 2025 00:00:00 +0000\r\n"));
	assert_non_null(strstr(msg, "\r\nMessage-ID: <rk.1.0@bank.example>\r\n"));
	assert_non_null(strstr(msg, "\r\nList-Unsubscribe: "
	    "<https://x/t/1.ab/unsubscribe>\r\nList-Unsubscribe-Post: "
	    "List-Unsubscribe=One-Click\r\n"));
	assert_non_null(strstr(msg, "\r\nX-Rekindle-Key: C1:S1:0:email\r\n"));
	assert_non_null(strstr(msg, "Content-Type: text/plain; charset=UTF-8"));
	assert_non_null(strstr(msg, "Content-Type: text/html; charset=UTF-8"));
	/* the subject: folded encoded words that decode to the whole text */
	subj = strstr(msg, "\r\nSubject: ");
	assert_non_null(subj);
	hdr = strndup(subj + 11, (size_t)(strstr(subj, "\r\nDate:") - subj - 11));
	decode_words(hdr, words, sizeof(words));
	assert_string_equal(words, subject);
	assert_non_null(strstr(hdr, "\r\n =?UTF-8?B?"));
	free(hdr);
	/* the sender's name too, the address as it is */
	assert_non_null(strstr(msg, "From: =?UTF-8?B?"));
	assert_non_null(strstr(msg, "<uudai@bank.example>\r\nTo: "
	    "<lan@example.com>\r\n"));
	/* the text part, base64, decodes to the text */
	{
		const char *b = strstr(msg, "text/plain; charset=UTF-8\r\n"
		    "Content-Transfer-Encoding: base64\r\n\r\n");
		unsigned char raw[256];
		int n;

		assert_non_null(b);
		b = strstr(b, "\r\n\r\n") + 4;
		n = EVP_DecodeBlock(raw, (const unsigned char *)b,
		    (int)(strstr(b, "\r\n") - b));
		assert_true(n >= (int)strlen(m.text));
		assert_memory_equal(raw, m.text, strlen(m.text));
	}
	free(msg);
	free(html);
}

static void
test_html_template_keeps_its_body(void **state)
{
	char *h = mime_html("<html><body><p>Xin chào</p></body></html>",
	    "unused", "https://x/o.gif");

	(void)state;
	assert_string_equal(h, "<html><body><p>Xin chào</p><img src=\"https://"
	    "x/o.gif\" width=\"1\" height=\"1\" alt=\"\" style=\"display:block;"
	    "border:0\">\n</body></html>");
	free(h);
	h = mime_html(NULL, "a < b & \"c\"", NULL);
	assert_non_null(strstr(h, "a &lt; b &amp; &quot;c&quot;"));
	assert_null(strstr(h, "<img"));
	free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_message),
		cmocka_unit_test(test_html_template_keeps_its_body),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
