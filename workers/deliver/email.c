/*
 * email.c - advertising e-mail: a MIME message (mime.h) submitted over
 * SMTP. A relay takes the same message twice (RFC 5321 has no
 * idempotency; some mailbox providers drop a repeated Message-ID, most
 * do not), so a message whose connection was lost after the final dot
 * is not sent again (unless email_on_uncertain = resend).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "channel_ops.h"
#include "clock.h"
#include "log.h"
#include "mime.h"

static char *var_email_from, *var_email_from_name, *var_email_on_uncertain;

static const struct cfg_entry email_cfg[] = {
	{"email_from", CFG_STR, "uudai@rekindle.invalid", &var_email_from, 0, 0,
	    0, "sender address of advertising e-mail (its domain ends every "
	    "Message-ID)"},
	{"email_from_name", CFG_STR, "Ưu đãi thẻ", &var_email_from_name, 0, 0,
	    0, "sender display name of advertising e-mail (UTF-8)"},
	{"email_on_uncertain", CFG_STR, "hold", &var_email_on_uncertain, 0, 0,
	    0, "an e-mail that may have been taken: hold (a relay takes a "
	    "repeat) or resend"},
	CFG_END,
};

void
provider_smtp_reply(const struct http_reply *h, struct send_result *r)
{
	long code = h->status;

	memset(r, 0, sizeof(*r));
	r->quota_left = -1;
	if (code >= 200 && code < 300)
		provider_set(r, SEND_OK, "accepted");
	else if (code == 0 && h->written)
		provider_set(r, SEND_AMBIGUOUS, "no reply after the message was "
		    "sent (%s)", *h->error ? h->error : "timeout");
	else if (code == 0)
		provider_set(r, SEND_RETRY, "message not sent (%s)",
		    *h->error ? h->error : "no connection");
	else if (code >= 400 && code < 500)
		provider_set(r, SEND_RETRY, "mail relay busy (%ld)", code);
	else if (code == 550 || code == 551 || code == 553)
		provider_set(r, SEND_NEXT_CHANNEL, "mailbox unavailable (%ld)",
		    code);
	else
		provider_set(r, SEND_FAILED, "mail relay refused the message "
		    "(%ld%s%.80s)", code, h->body ? ": " : "",
		    h->body ? h->body : "");
}

static rk_err
email_init(db_conn *db, enum on_uncertain *policy)
{
	(void)db;
	return (channel_policy("email_on_uncertain", var_email_on_uncertain,
	    policy));
}

static const char *
email_address(const struct dmsg *m)
{
	return (*m->email != '\0' ? m->email : NULL);
}

/*
 * Subject, text and HTML rendered, the open pixel and the unsubscribe
 * link under the personal link; one Message-ID for every attempt.
 */
static void
email_request(arena *a, const struct dmsg *m, const struct render *r,
    struct http_call *c)
{
	/* a lane's own: the lanes of a process render at once */
	static _Thread_local char subject[1024], text[8192], html[32768];
	const char *domain = strchr(var_email_from, '@');
	struct mail mail = {var_email_from_name, var_email_from, m->email,
	    subject, text, NULL, arena_printf(a, "%s/unsubscribe",
	    r->vals[TV_LINK]), arena_printf(a, "rk.%lld.%d@%s", (long long)m->id,
	    m->step, domain ? domain + 1 : "rekindle.invalid"), r->key,
	    clock_now_us()};
	char *part;

	tmpl_render(m->subject, r->vals, false, subject, sizeof(subject));
	tmpl_render(m->body, r->vals, false, text, sizeof(text));
	if (*m->html_body)
		tmpl_render(m->html_body, r->vals, true, html, sizeof(html));
	else
		html[0] = '\0';
	part = mime_html(html, text, arena_printf(a, "%s/open.gif",
	    r->vals[TV_LINK]));
	mail.html = part;
	c->body = mime_compose(&mail, &c->len);
	free(part);
	c->mail_from = var_email_from;
	c->mail_rcpt = m->email;
}

const struct channel_ops email_ops = {
	.channel = CHANNEL_EMAIL,
	.dedups = false,
	.cfg = email_cfg,
	.init = email_init,
	.address = email_address,
	.request = email_request,
	.reply = provider_smtp_reply,
};
