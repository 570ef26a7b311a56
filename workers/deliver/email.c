/*
 * email.c - advertising e-mail: a MIME message (mime.h) submitted over
 * SMTP. A relay takes the same message twice (RFC 5321 has no
 * idempotency; some mailbox providers drop a repeated Message-ID, most
 * do not), so a message whose connection was lost after the final dot
 * is not sent again (unless email_on_uncertain = resend).
 *
 * A bank's submission relay asks for TLS and a login (RFC 6409 section
 * 4.3, RFC 4954): email_tls = required makes STARTTLS (RFC 3207) a
 * condition of sending - a relay that does not offer it, or whose
 * certificate does not verify against provider_ca_file (or the system's
 * CAs) for the URL's host, is sent nothing, so no message and no
 * password crosses the network in clear; email_user and email_password
 * log in (libcurl picks the mechanism the relay offers). A relay that
 * refuses the login (535 5.7.8) or asks for one we do not give (530
 * 5.7.0) will refuse every message alike: the pool claims nothing more
 * until it is restarted with credentials that work (cred.h, as a push
 * token given as it is), so a bad password costs one batch one attempt
 * each, not every message its attempts. 454 (a temporary authentication
 * failure) is retried as any 4xx.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "channel_ops.h"
#include "clock.h"
#include "cred.h"
#include "log.h"
#include "mime.h"

static char *var_email_from, *var_email_from_name, *var_email_on_uncertain;
static char *var_email_tls, *var_email_user;
static char *var_email_password;
static bool tls_required;
/* Whether the relay took the login (cred.h; its token stands for the
 * configured one: a refusal is not renewed, only waited out). */
static struct cred login = CRED_INITIALIZER;
static _Thread_local bool lane_renews;
static _Thread_local unsigned login_seen;

static const struct cfg_entry email_cfg[] = {
	{"email_from", CFG_STR, "uudai@rekindle.invalid", &var_email_from, 0, 0,
	    0, "sender address of advertising e-mail (its domain ends every "
	    "Message-ID)"},
	{"email_from_name", CFG_STR, "Ưu đãi thẻ", &var_email_from_name, 0, 0,
	    0, "sender display name of advertising e-mail (UTF-8)"},
	{"email_on_uncertain", CFG_STR, "hold", &var_email_on_uncertain, 0, 0,
	    0, "an e-mail that may have been taken: hold (a relay takes a "
	    "repeat) or resend"},
	{"email_tls", CFG_STR, "none", &var_email_tls, 0, 0, 0,
	    "required: STARTTLS before anything is sent, the relay's "
	    "certificate verified (provider_ca_file; an smtps:// provider_url "
	    "is TLS anyway); none: no STARTTLS"},
	{"email_user", CFG_STR, "", &var_email_user, 0, 0, 0,
	    "the relay's login (SMTP AUTH); empty: none"},
	{"email_password", CFG_STR, "", &var_email_password, 0, 0, CFG_SECRET,
	    "the relay login's password"},
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
		provider_not_sent(h, r, "message");
	else if (code >= 400 && code < 500)
		provider_set(r, SEND_RETRY, "mail relay busy (%ld)", code);
	else if (code == 530 || code == 534 || code == 535 || code == 538)
		/* RFC 4954 section 6: our login is refused, or one is wanted
		 * (530), or it is too weak (534) or in clear (538) */
		provider_set(r, SEND_REFRESH_TOKEN, "mail relay refused the "
		    "login (%ld)", code);
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
	if (strcmp(var_email_tls, "none") != 0 &&
	    strcmp(var_email_tls, "required") != 0) {
		log_error("CONFIG-INVALID", "email_tls: none or required, not "
		    "'%s'", var_email_tls);
		return (RK_EINVAL);
	}
	tls_required = strcmp(var_email_tls, "required") == 0;
	if (*var_email_password != '\0' && *var_email_user == '\0') {
		log_error("CONFIG-INVALID", "email_password without email_user");
		return (RK_EINVAL);
	}
	if (*var_email_user != '\0' && !tls_required)
		log_warn("EMAIL-CLEARTEXT", "email_user is set and email_tls is "
		    "none: the password crosses the network in clear unless "
		    "provider_url is smtps://");
	cred_init(&login, "configured", NULL, 0, 0, false);
	return (channel_policy("email_on_uncertain", var_email_on_uncertain,
	    policy));
}

static enum credentials
email_credentials(void)
{
	return (cred_state(&login, clock_now_us(), clock_mono_us(),
	    &lane_renews));
}

/* The relay refused the login: nothing renews a password, so the pool
 * waits (and says so) until it is restarted with one that works. */
static const char *
email_refresh(db_conn *db, arena *a)
{
	(void)db;
	(void)a;
	if (!cred_begin(&login, login_seen, &lane_renews))
		return (NULL);
	cred_end(&login, NULL, NULL, 0, 0, clock_mono_us());
	log_warn("EMAIL-LOGIN", "the mail relay refused %s: nothing is sent "
	    "until email_user and email_password are set to a login it takes "
	    "and the pool restarted", *var_email_user ? "the login of "
	    "email_user" : "mail without a login (set email_user)");
	return ("failed");
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
	c->tls_required = tls_required;
	login_seen = cred_gen(&login);
	if (*var_email_user != '\0') {
		c->user = var_email_user;
		c->password = var_email_password;
	}
}

const struct channel_ops email_ops = {
	.channel = CHANNEL_EMAIL,
	.dedups = false,
	.cfg = email_cfg,
	.init = email_init,
	.address = email_address,
	.request = email_request,
	.reply = provider_smtp_reply,
	.refresh = email_refresh,
	.credentials = email_credentials,
};
