/*
 * template.c - placeholder parsing, worst-case limits, rendering, SMS
 * segment counting (GSM 03.38 basic set and its extension table).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "template.h"

static const char *const var_name[TV_N] = {"name", "offer", "partner",
    "expiry", "code", "link"};
const int tmpl_var_max[TV_N] = {40, 60, 40, 10, 20, 64};

/* The longest value each placeholder can take, in the costliest
 * characters for an SMS (names and titles in Vietnamese force UCS-2). */
static const char *const worst_unit[TV_N] = {"\xe1\xbb\x84", "\xe1\xbb\x84",
    "\xe1\xbb\x84", "9", "X", "x"};

/* Decodes one UTF-8 sequence at s; *cp gets the code point. Returns its
 * length, 0 if malformed (overlong, surrogate, out of range). */
static int
utf8_next(const unsigned char *s, uint32_t *cp)
{
	int n;

	if (s[0] < 0x80) {
		*cp = s[0];
		return (1);
	}
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		*cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		*cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		*cp = s[0] & 0x07;
	} else {
		return (0);
	}
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return (0);
		*cp = *cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 2 && *cp < 0x80) || (n == 3 && *cp < 0x800) ||
	    (n == 4 && *cp < 0x10000) || *cp > 0x10ffff ||
	    (*cp >= 0xd800 && *cp <= 0xdfff))
		return (0);
	return (n);
}

size_t
tmpl_chars(const char *text)
{
	size_t n = 0;

	for (const unsigned char *s = (const unsigned char *)text; *s; s++)
		if ((*s & 0xc0) != 0x80)
			n++;
	return (n);
}

/* Septets of cp in GSM 03.38 (1 basic, 2 extension), 0 if not there. */
static int
gsm_septets(uint32_t cp)
{
	static const char ext[] = "^{}\\[~]|";
	static const uint32_t basic[] = {'@', 0xa3, '$', 0xa5, 0xe8, 0xe9, 0xf9,
	    0xec, 0xf2, 0xc7, '\n', 0xd8, 0xf8, '\r', 0xc5, 0xe5, 0x394, '_',
	    0x3a6, 0x393, 0x39b, 0x3a9, 0x3a0, 0x3a8, 0x3a3, 0x398, 0x39e, 0xc6,
	    0xe6, 0xdf, 0xc9, ' ', '!', '"', '#', 0xa4, '%', '&', '\'', '(', ')',
	    '*', '+', ',', '-', '.', '/', ':', ';', '<', '=', '>', '?', 0xa1,
	    0xc4, 0xd6, 0xd1, 0xdc, 0xa7, 0xbf, 0xe4, 0xf6, 0xf1, 0xfc, 0xe0};

	if ((cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z') ||
	    (cp >= '0' && cp <= '9'))
		return (1);
	for (size_t i = 0; i < sizeof(basic) / sizeof(basic[0]); i++)
		if (basic[i] == cp)
			return (1);
	if (cp == 0x20ac || (cp < 0x80 && cp != 0 && strchr(ext, (int)cp)))
		return (2);
	return (0);
}

int
tmpl_sms_segments(const char *text)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t septets = 0, units = 0;
	bool gsm = true;

	while (*s) {
		uint32_t cp;
		int n = utf8_next(s, &cp), g;

		if (n == 0) {
			n = 1;
			cp = 0xfffd;
		}
		s += n;
		g = gsm_septets(cp);
		if (g == 0)
			gsm = false;
		septets += (size_t)g;
		units += cp > 0xffff ? 2 : 1;
	}
	if (gsm)
		return (septets <= 160 ? 1 : (int)((septets + 152) / 153));
	return (units <= 70 ? 1 : (int)((units + 66) / 67));
}

/*
 * Walks text: literal runs go to lit, placeholders to var. Returns NULL or
 * why the text is not a template.
 */
static const char *
walk(const char *text, void (*lit)(void *, const char *, size_t),
    void (*var)(void *, enum tmpl_var), void *ctx, char *buf, size_t len)
{
	const char *p = text;

	while (*p) {
		size_t run = strcspn(p, "{}");

		if (run > 0)
			lit(ctx, p, run);
		p += run;
		if (*p == '\0')
			break;
		if (p[0] == p[1]) {		/* {{ or }} */
			lit(ctx, p, 1);
			p += 2;
			continue;
		}
		if (*p == '}')
			return ("has a lone \"}\" (write \"}}\" for a brace)");
		{
			const char *end = strchr(p + 1, '}');
			int v;

			if (end == NULL)
				return ("has a \"{\" without \"}\" (write \"{{\" for "
				    "a brace)");
			for (v = 0; v < TV_N; v++)
				if (strlen(var_name[v]) == (size_t)(end - p - 1) &&
				    strncmp(var_name[v], p + 1, (size_t)(end - p - 1)) ==
				    0)
					break;
			if (v == TV_N) {
				snprintf(buf, len, "has an unknown placeholder "
				    "\"%.*s\" (known: {name} {offer} {partner} "
				    "{expiry} {code} {link})", (int)(end - p + 1 > 40 ?
				    40 : end - p + 1), p);
				return (buf);
			}
			var(ctx, (enum tmpl_var)v);
			p = end + 1;
		}
	}
	return (NULL);
}

/* The worst case: its length in bytes and the text itself (for SMS). */
struct worst {
	char *out;
	size_t len, cap;
};

static void
worst_lit(void *ctx, const char *s, size_t n)
{
	struct worst *w = ctx;

	if (w->len + n < w->cap)
		memcpy(w->out + w->len, s, n);
	w->len += n;
}

static void
worst_var(void *ctx, enum tmpl_var v)
{
	for (int i = 0; i < tmpl_var_max[v]; i++)
		worst_lit(ctx, worst_unit[v], strlen(worst_unit[v]));
}

const char *
tmpl_check(enum tmpl_part part, const char *text, char *buf, size_t len)
{
	char scratch[2048];
	struct worst w = {scratch, 0, sizeof(scratch)};
	const unsigned char *s = (const unsigned char *)text;
	bool one_line = part == TP_EMAIL_SUBJECT || part == TP_PUSH_TITLE;
	const char *why;
	size_t chars;

	while (*s) {
		uint32_t cp;
		int n = utf8_next(s, &cp);

		if (n == 0)
			return ("is not valid UTF-8");
		if ((cp < 0x20 && !(!one_line && (cp == '\n' || cp == '\r' ||
		    cp == '\t'))) || cp == 0x7f)
			return (one_line ? "must be one line without control "
			    "characters" : "has control characters");
		s += n;
	}
	if (part == TP_SMS)
		worst_lit(&w, TMPL_QC_PREFIX, strlen(TMPL_QC_PREFIX));
	if ((why = walk(text, worst_lit, worst_var, &w, buf, len)) != NULL)
		return (why);
	if (w.len >= w.cap && part != TP_EMAIL_TEXT && part != TP_EMAIL_HTML)
		return ("is far too long for its channel");
	scratch[w.len < w.cap ? w.len : w.cap - 1] = '\0';
	chars = tmpl_chars(scratch);
	switch (part) {
	case TP_EMAIL_SUBJECT:
		if (chars > 150)
			snprintf(buf, len, "may render to %zu characters; an email "
			    "subject allows 150", chars);
		return (chars > 150 ? buf : NULL);
	case TP_EMAIL_TEXT:
	case TP_EMAIL_HTML:
		return (w.len > 100000 ? "may render to more than 100,000 bytes" :
		    NULL);
	case TP_SMS: {
		int seg = tmpl_sms_segments(scratch);

		if (seg > TMPL_SMS_MAX_SEGMENTS) {
			snprintf(buf, len, "may need %d SMS segments with the "
			    "\"" TMPL_QC_PREFIX "\" prefix and the longest "
			    "placeholder values; at most %d are sent", seg,
			    TMPL_SMS_MAX_SEGMENTS);
			return (buf);
		}
		return (NULL);
	}
	case TP_PUSH_TITLE:
	case TP_PUSH_BODY: {
		size_t max = part == TP_PUSH_TITLE ? 65 : 240;

		if (chars > max) {
			snprintf(buf, len, "may render to %zu characters; a push "
			    "%s shows %zu", chars, part == TP_PUSH_TITLE ? "title" :
			    "body", max);
			return (buf);
		}
		return (NULL);
	}
	}
	return (NULL);
}

struct render {
	const char *const *vals;
	bool html;
	char *out;
	size_t len, cap;
};

static void
put(struct render *r, const char *s, size_t n)
{
	if (r->len < r->cap) {
		size_t room = r->cap - r->len - 1;

		memcpy(r->out + r->len, s, n < room ? n : room);
	}
	r->len += n;
}

static void
render_lit(void *ctx, const char *s, size_t n)
{
	put(ctx, s, n);
}

static void
render_var(void *ctx, enum tmpl_var v)
{
	struct render *r = ctx;
	const char *s = r->vals[v] ? r->vals[v] : "";
	int chars = 0;

	while (*s && chars < tmpl_var_max[v]) {
		size_t n = 1;

		while ((s[n] & 0xc0) == 0x80)
			n++;
		if (r->html && (*s == '&' || *s == '<' || *s == '>' || *s == '"' ||
		    *s == '\'')) {
			static const char *const ent[] = {"&amp;", "&lt;", "&gt;",
			    "&quot;", "&#39;"};
			const char *e = ent[strchr("&<>\"'", *s) - "&<>\"'"];

			put(r, e, strlen(e));
		} else {
			put(r, s, n);
		}
		s += n;
		chars++;
	}
}

size_t
tmpl_render(const char *text, const char *const vals[TV_N], bool html,
    char *out, size_t cap)
{
	struct render r = {vals, html, out, 0, cap};
	char why[8];

	(void)walk(text, render_lit, render_var, &r, why, sizeof(why));
	if (cap > 0)
		out[r.len < cap ? r.len : cap - 1] = '\0';
	return (r.len);
}
