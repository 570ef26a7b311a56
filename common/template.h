/*
 * template.h - message templates: placeholders, per-channel limits,
 * rendering.
 *
 * A template is UTF-8 text with placeholders {name} {offer} {partner}
 * {expiry} {code} {link}; "{{" and "}}" stand for literal braces. A
 * template is checked once, when it is saved: every placeholder known,
 * and the longest rendering its placeholders allow within its channel's
 * limits (an SMS in at most TMPL_SMS_MAX_SEGMENTS segments after the
 * "[QC] " advertising prefix, a push title and body, an email subject).
 * Rendering then cannot fail. Pure: no I/O.
 */
#ifndef RK_TEMPLATE_H
#define RK_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

enum tmpl_var {
	TV_NAME,		/* the customer's name */
	TV_OFFER,		/* the offer's title */
	TV_PARTNER,		/* the partner brand's display name */
	TV_EXPIRY,		/* valid until, dd/mm/yyyy */
	TV_CODE,		/* the customer's voucher code */
	TV_LINK,		/* the personal tracking link */
	TV_N
};

/* The longest value of each placeholder, in characters; longer values are
 * cut to this at rendering. */
extern const int tmpl_var_max[TV_N];

/* What a template text is for; each has its own limits. */
enum tmpl_part {
	TP_EMAIL_SUBJECT,
	TP_EMAIL_TEXT,
	TP_EMAIL_HTML,
	TP_SMS,
	TP_PUSH_TITLE,
	TP_PUSH_BODY,
};

#define TMPL_SMS_MAX_SEGMENTS 4
#define TMPL_QC_PREFIX "[QC] "

/*
 * NULL if text is a valid template for part, else why, in words (in buf
 * of len bytes, or static).
 */
const char *tmpl_check(enum tmpl_part part, const char *text, char *buf,
    size_t len);

/*
 * Renders text with vals (NULL or "" for an absent value, each cut to its
 * tmpl_var_max characters; HTML-escaped when html) into out (cap bytes,
 * always terminated). Returns the length the full rendering needs; if it
 * is >= cap the output was cut. text must have passed tmpl_check.
 */
size_t tmpl_render(const char *text, const char *const vals[TV_N], bool html,
    char *out, size_t cap);

/* Segments an SMS of this UTF-8 text takes: GSM 7-bit (160, 153 per part)
 * when every character is in the GSM basic set, else UCS-2 (70, 67). */
int tmpl_sms_segments(const char *text);

/* Characters (code points) of UTF-8 text. */
size_t tmpl_chars(const char *text);

#endif
