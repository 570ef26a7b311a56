/*
 * smtp.c - one thread, non-blocking sockets and epoll: each connection
 * is a state machine over its input buffer. Replies to what a client
 * pipelined go back in one write; a delayed reply (an injected stall)
 * holds that connection alone, not the others. After STARTTLS the bytes
 * go through OpenSSL on the same non-blocking socket (conn_recv,
 * conn_send); its handshake is driven by the same loop.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "mem.h"
#include "smtp.h"

#define MAX_LINE 1000		/* RFC 5321 4.5.3.1.6, with CRLF */
#define MAX_MESSAGE (4 << 20)
#define MAX_RCPT 16
#define IN_CAP 16384
#define MAX_EVENTS 64

struct conn {
	int fd;
	char in[IN_CAP];
	size_t have;		/* bytes in in */
	bool data_mode;		/* between DATA's 354 and the lone "." */
	bool line_start;	/* DATA: the next byte begins a line */
	bool skipping;		/* a command line too long: to its end */
	char *data;		/* the message so far */
	size_t dlen, dcap;
	bool big;
	bool have_from;
	char from[256];
	char rcpt[MAX_RCPT][256];
	int nrcpt;
	char *out;		/* replies not yet written */
	size_t olen, ocap;
	int64_t hold_until_ms;	/* a stalled reply: nothing read till then */
	uint32_t interest;	/* the epoll events asked for */
	bool closing;		/* close once out is written */
	bool dead;		/* dropped: nothing more is written */
	bool start_tls;		/* STARTTLS said 220: TLS once that is out */
	bool handshaking;	/* SSL_accept not done yet */
	SSL *ssl;		/* the TLS session, NULL before STARTTLS */
	bool authed;		/* AUTH took the credentials */
	int auth_step;		/* the line expected: AUTH_* */
	char login_user[256];	/* AUTH LOGIN: the user name given */
	int fault_slot;		/* the fault hook's */
	struct conn *next;	/* the held connections */
};

/* An AUTH exchange's next line (RFC 4954: a base64 response). */
enum { AUTH_NONE, AUTH_PLAIN, AUTH_LOGIN_USER, AUTH_LOGIN_PASS };

static const struct smtp_hooks *served;
static int listen_fd, ep;
static struct conn *held;
static SSL_CTX *tls;			/* NULL: no STARTTLS */
static const char *auth_user, *auth_pass;	/* NULL: no AUTH */

static void
event(enum smtp_event e)
{
	if (served->event != NULL)
		served->event(e);
}

/* What an SSL_read or SSL_write that returned n means, as recv(2) and
 * send(2) say it: > 0 bytes, 0 the peer closed, -1 with errno (EAGAIN:
 * not now - the handshake or the peer has yet to move). */
static ssize_t
ssl_result(struct conn *c, int n)
{
	if (n > 0)
		return (n);
	switch (SSL_get_error(c->ssl, n)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		errno = EAGAIN;
		return (-1);
	case SSL_ERROR_ZERO_RETURN:
		return (0);
	default:
		errno = EIO;
		return (-1);
	}
}

/* recv(2) through the TLS session once there is one. */
static ssize_t
conn_recv(struct conn *c, void *buf, size_t cap)
{
	if (c->ssl == NULL)
		return (recv(c->fd, buf, cap, 0));
	ERR_clear_error();
	return (ssl_result(c, SSL_read(c->ssl, buf, (int)cap)));
}

/* send(2) the same way (partial writes allowed: SSL_MODE_*). */
static ssize_t
conn_send(struct conn *c, const void *buf, size_t len)
{
	if (c->ssl == NULL)
		return (send(c->fd, buf, len, MSG_NOSIGNAL));
	ERR_clear_error();
	return (ssl_result(c, SSL_write(c->ssl, buf, (int)len)));
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Asks epoll for events on c's socket, if that is a change. */
static void
interest(struct conn *c, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = c};

	if (events != c->interest && epoll_ctl(ep, EPOLL_CTL_MOD, c->fd,
	    &ev) == 0)
		c->interest = events;
}

/* Queues a reply line (CRLF added). */
static void
say(struct conn *c, const char *line)
{
	size_t len = strlen(line);

	if (c->dead)
		return;
	if (c->olen + len + 2 > c->ocap) {
		c->ocap = (c->olen + len + 2) * 2;
		c->out = xrealloc(c->out, c->ocap);
	}
	memcpy(c->out + c->olen, line, len);
	c->olen += len;
	c->out[c->olen++] = '\r';
	c->out[c->olen++] = '\n';
}

/* Writes what is queued; false if the connection is gone. */
static bool
flush(struct conn *c)
{
	size_t off = 0;

	while (off < c->olen) {
		ssize_t n = conn_send(c, c->out + off, c->olen - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0)
			return (false);
		off += (size_t)n;
	}
	if (off > 0) {
		memmove(c->out, c->out + off, c->olen - off);
		c->olen -= off;
	}
	/* wait for room only while something is left to write */
	interest(c, EPOLLIN | (c->olen > 0 ? EPOLLOUT : 0));
	return (true);
}

static void
drop(struct conn *c)
{
	for (struct conn **p = &held; *p != NULL; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	SSL_free(c->ssl);
	close(c->fd);
	free(c->data);
	free(c->out);
	free(c);
}

/* The address of "MAIL FROM:<a>" / "RCPT TO:<a>" after the colon. */
static bool
address(const char *arg, char *out, size_t cap)
{
	const char *lt = strchr(arg, '<'), *gt = lt ? strchr(lt, '>') : NULL;

	if (lt == NULL || gt == NULL || (size_t)(gt - lt) >= cap)
		return (false);
	snprintf(out, cap, "%.*s", (int)(gt - lt - 1), lt + 1);
	return (true);
}

static void
reset(struct conn *c)
{
	c->have_from = false;
	c->from[0] = '\0';
	c->nrcpt = 0;
}

/* Whether user and password are the relay's. */
static bool
credentials_ok(const char *user, size_t ulen, const char *pass, size_t plen)
{
	return (auth_user != NULL && ulen == strlen(auth_user) &&
	    memcmp(user, auth_user, ulen) == 0 && plen == strlen(auth_pass) &&
	    memcmp(pass, auth_pass, plen) == 0);
}

/* base64 text into out (at most cap - 1 bytes, NUL added); its length,
 * or -1 if it is not base64. */
static int
unbase64(const char *text, unsigned char *out, size_t cap)
{
	size_t len = strlen(text);
	int n;

	if (len == 0 || len % 4 != 0 || len / 4 * 3 >= cap)
		return (len == 0 ? 0 : -1);
	if ((n = EVP_DecodeBlock(out, (const unsigned char *)text,
	    (int)len)) < 0)
		return (-1);
	n -= (text[len - 1] == '=') + (text[len - 2] == '=');
	out[n] = '\0';
	return (n);
}

static void
auth_result(struct conn *c, bool ok)
{
	c->auth_step = AUTH_NONE;
	c->authed = ok;
	event(ok ? SMTPE_AUTH_OK : SMTPE_AUTH_FAILED);
	say(c, ok ? "235 2.7.0 Authentication successful" :
	    "535 5.7.8 Authentication credentials invalid");
}

/*
 * One base64 line of an AUTH exchange: PLAIN's "authzid NUL user NUL
 * password" (RFC 4616), or LOGIN's user name, then password; "*" gives
 * up (RFC 4954 section 4).
 */
static void
auth_line(struct conn *c, const char *line)
{
	unsigned char buf[768];
	int n;

	if (strcmp(line, "*") == 0) {
		c->auth_step = AUTH_NONE;
		say(c, "501 5.7.0 authentication cancelled");
		return;
	}
	if ((n = unbase64(line, buf, sizeof(buf))) < 0) {
		c->auth_step = AUTH_NONE;
		say(c, "501 5.5.2 cannot decode the response");
		return;
	}
	switch (c->auth_step) {
	case AUTH_PLAIN: {
		const unsigned char *u = memchr(buf, '\0', (size_t)n), *p;

		p = u ? memchr(u + 1, '\0', (size_t)(buf + n - u - 1)) : NULL;
		auth_result(c, p != NULL && credentials_ok((const char *)u + 1,
		    (size_t)(p - u - 1), (const char *)p + 1,
		    (size_t)(buf + n - p - 1)));
		break;
	}
	case AUTH_LOGIN_USER:
		snprintf(c->login_user, sizeof(c->login_user), "%.*s",
		    (int)sizeof(c->login_user) - 1, (const char *)buf);
		c->auth_step = AUTH_LOGIN_PASS;
		say(c, "334 UGFzc3dvcmQ6");	/* "Password:" */
		break;
	default:
		auth_result(c, credentials_ok(c->login_user,
		    strlen(c->login_user), (const char *)buf, (size_t)n));
		memset(c->login_user, 0, sizeof(c->login_user));
		break;
	}
}

/* AUTH mechanism [initial-response] */
static void
auth(struct conn *c, const char *arg)
{
	const char *sp = strchr(arg, ' ');
	size_t mlen = sp ? (size_t)(sp - arg) : strlen(arg);

	if (auth_user == NULL)
		say(c, "502 5.5.1 AUTH not offered");
	else if (tls != NULL && c->ssl == NULL)
		say(c, "538 5.7.11 encryption required for requested "
		    "authentication mechanism");
	else if (c->authed)
		say(c, "503 5.5.1 already authenticated");
	else if (mlen == 5 && strncasecmp(arg, "PLAIN", 5) == 0) {
		c->auth_step = AUTH_PLAIN;
		if (sp != NULL)		/* "=": an empty one (RFC 4954 4) */
			auth_line(c, strcmp(sp + 1, "=") == 0 ? "" : sp + 1);
		else
			say(c, "334 ");
	} else if (mlen == 5 && strncasecmp(arg, "LOGIN", 5) == 0) {
		if (sp != NULL) {
			c->auth_step = AUTH_LOGIN_USER;
			auth_line(c, sp + 1);
		} else {
			c->auth_step = AUTH_LOGIN_USER;
			say(c, "334 VXNlcm5hbWU6");	/* "Username:" */
		}
	} else
		say(c, "504 5.5.4 mechanism not supported");
}

/* An injected drop: the connection closes with nothing more said. */
static void
cut(struct conn *c)
{
	c->dead = true;
	c->closing = true;
	c->olen = 0;
}

/*
 * The injected fault at stage, done: true if it replaced the normal
 * reply (or the connection is gone).
 */
static bool
faulted(struct conn *c, enum smtp_stage stage)
{
	int delay = 0;

	switch (served->fault(stage, &c->fault_slot, &delay)) {
	case SMTPF_451:
		say(c, "451 4.3.0 injected fault, try again later");
		return (true);
	case SMTPF_421:
		say(c, "421 4.7.0 too many messages, closing");
		c->closing = true;
		return (true);
	case SMTPF_DROP:
		cut(c);
		return (true);
	default:
		return (false);
	}
}

/* The message is whole: hand it over and answer. */
static void
end_data(struct conn *c)
{
	char reply[512] = "";
	int delay = 0;
	enum smtp_fault f = c->big ? SMTPF_NONE : served->fault(SMTP_DOT,
	    &c->fault_slot, &delay);

	c->data_mode = false;
	if (c->big)
		snprintf(reply, sizeof(reply), "552 5.3.4 message too big");
	else if (f == SMTPF_451)
		snprintf(reply, sizeof(reply), "451 4.3.0 injected fault, try "
		    "again later");
	else if (f == SMTPF_421) {
		snprintf(reply, sizeof(reply), "421 4.7.0 too many messages, "
		    "closing");
		c->closing = true;
	} else if (f != SMTPF_DROP) {
		c->data = xrealloc(c->data, c->dlen + 1);
		c->data[c->dlen] = '\0';
		for (int i = 0; i < c->nrcpt; i++)
			served->message(c->from, c->rcpt[i], c->data, c->dlen, reply,
			    sizeof(reply));
	}
	if (f == SMTPF_DROP || f == SMTPF_DROP_AFTER)
		cut(c);
	say(c, reply);
	if (f != SMTPF_LATE)
		delay = 0;
	free(c->data);
	c->data = NULL;
	c->dlen = c->dcap = 0;
	reset(c);
	if (delay > 0) {
		c->hold_until_ms = now_ms() + delay;
		c->next = held;
		held = c;
		interest(c, 0);		/* hang-ups and errors only */
	}
}

/* One line of the message, CRLF stripped, dot-stuffing not yet undone. */
static void
data_line(struct conn *c, const char *p, size_t l, bool whole)
{
	if (c->line_start && whole && l == 1 && p[0] == '.') {
		end_data(c);
		return;
	}
	if (c->line_start && l > 0 && p[0] == '.') {
		p++;
		l--;
	}
	c->line_start = whole;
	if (c->big || c->dlen + l + 2 > MAX_MESSAGE) {
		c->big = true;
		return;
	}
	if (c->dlen + l + 2 > c->dcap) {
		c->dcap = c->dcap ? c->dcap : 65536;
		while (c->dlen + l + 2 > c->dcap)
			c->dcap *= 2;
		c->data = xrealloc(c->data, c->dcap);
	}
	memcpy(c->data + c->dlen, p, l);
	c->dlen += l;
	if (whole) {
		c->data[c->dlen++] = '\r';
		c->data[c->dlen++] = '\n';
	}
}

static bool readable(struct conn *c);

static void
command(struct conn *c, char *line)
{
	char reply[512], out[600];
	int code;

	if (strncasecmp(line, "EHLO", 4) == 0) {
		reset(c);
		say(c, "250-rkdouble greets you");
		if (tls != NULL && c->ssl == NULL)
			say(c, "250-STARTTLS");
		if (auth_user != NULL && (tls == NULL || c->ssl != NULL))
			say(c, "250-AUTH PLAIN LOGIN");
		say(c, "250-PIPELINING");
		say(c, "250-8BITMIME");
		say(c, "250 SIZE 4194304");
	} else if (strncasecmp(line, "HELO", 4) == 0) {
		reset(c);
		say(c, "250 rkdouble");
	} else if (strncasecmp(line, "MAIL FROM:", 10) == 0) {
		c->fault_slot = 0;	/* a new transaction */
		if (tls != NULL && c->ssl == NULL) {
			event(SMTPE_REFUSED);
			say(c, "530 5.7.0 must issue a STARTTLS command first");
		} else if (auth_user != NULL && !c->authed) {
			event(SMTPE_REFUSED);
			say(c, "530 5.7.0 authentication required");
		} else if (faulted(c, SMTP_MAIL))
			;
		else if (c->have_from)
			say(c, "503 5.5.1 sender already given");
		else if (!address(line + 10, c->from, sizeof(c->from)))
			say(c, "501 5.1.7 bad sender address syntax");
		else {
			c->have_from = true;
			say(c, "250 2.1.0 sender ok");
		}
	} else if (strncasecmp(line, "RCPT TO:", 8) == 0) {
		char addr[256];

		if (!c->have_from)
			say(c, "503 5.5.1 need MAIL first");
		else if (faulted(c, SMTP_RCPT))
			;
		else if (!address(line + 8, addr, sizeof(addr)) ||
		    strchr(addr, '@') == NULL)
			say(c, "501 5.1.3 bad recipient address syntax");
		else if (c->nrcpt == MAX_RCPT)
			say(c, "452 4.5.3 too many recipients");
		else if ((code = served->rcpt(addr, reply, sizeof(reply))) != 0) {
			snprintf(out, sizeof(out), "%d %s", code, reply);
			say(c, out);
		} else {
			snprintf(c->rcpt[c->nrcpt++], sizeof(c->rcpt[0]), "%s",
			    addr);
			say(c, "250 2.1.5 recipient ok");
		}
	} else if (strcasecmp(line, "DATA") == 0) {
		if (c->nrcpt == 0)
			say(c, "503 5.5.1 need RCPT first");
		else if (faulted(c, SMTP_DATA))
			;
		else {
			say(c, "354 end data with <CR><LF>.<CR><LF>");
			c->data_mode = true;
			c->line_start = true;
			c->big = false;
		}
	} else if (strcasecmp(line, "STARTTLS") == 0) {
		if (tls == NULL)
			say(c, "502 5.5.1 STARTTLS not offered");
		else if (c->ssl != NULL)
			say(c, "503 5.5.1 TLS already active");
		else {
			say(c, "220 2.0.0 ready to start TLS");
			c->start_tls = true;
		}
	} else if (strncasecmp(line, "AUTH ", 5) == 0) {
		auth(c, line + 5);
	} else if (strcasecmp(line, "RSET") == 0) {
		reset(c);
		say(c, "250 2.0.0 reset");
	} else if (strncasecmp(line, "NOOP", 4) == 0)
		say(c, "250 2.0.0 ok");
	else if (strcasecmp(line, "QUIT") == 0) {
		say(c, "221 2.0.0 bye");
		c->closing = true;
	} else
		say(c, "502 5.5.2 command not recognised");
}

/*
 * Works through the buffered input, line by line, until it runs out, the
 * connection is to close, or a reply is held back.
 */
static void
work(struct conn *c)
{
	size_t at = 0;

	while (at < c->have && !c->closing && c->hold_until_ms == 0 &&
	    !c->start_tls) {
		char *p = c->in + at, *nl = memchr(p, '\n', c->have - at);
		size_t l;

		if (nl == NULL) {
			/* a partial line: wait for the rest, unless it fills
			 * the buffer */
			if (at > 0 || c->have < IN_CAP)
				break;
			if (c->data_mode)
				data_line(c, p, c->have, false);
			else if (!c->skipping) {
				say(c, "500 5.5.6 line too long");
				c->skipping = true;
			}
			at = c->have;
			break;
		}
		l = (size_t)(nl - p);
		at += l + 1;
		if (l > 0 && p[l - 1] == '\r')
			l--;
		if (c->data_mode)
			data_line(c, p, l, true);
		else if (c->skipping)
			c->skipping = false;
		else if (l > MAX_LINE - 2)
			say(c, "500 5.5.6 line too long");
		else {
			p[l] = '\0';
			if (c->auth_step != AUTH_NONE)
				auth_line(c, p);
			else
				command(c, p);
		}
	}
	/* what came after STARTTLS in the clear is thrown away (RFC 3207
	 * section 6: a man in the middle may have put it there) */
	if (c->start_tls)
		at = c->have;
	memmove(c->in, c->in + at, c->have - at);
	c->have -= at;
}

/*
 * Drives the TLS handshake; false if it failed. Once done the session
 * starts over (RFC 3207 section 4.2: the client says EHLO again, and
 * nothing said before counts), and what the client already sent is read.
 */
static bool
handshake(struct conn *c)
{
	int r;

	ERR_clear_error();
	if ((r = SSL_accept(c->ssl)) == 1) {
		c->handshaking = false;
		c->authed = false;
		c->auth_step = AUTH_NONE;
		reset(c);
		event(SMTPE_STARTTLS);
		interest(c, EPOLLIN);
		return (readable(c) && flush(c));
	}
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		interest(c, EPOLLIN);
		return (true);
	case SSL_ERROR_WANT_WRITE:
		interest(c, EPOLLIN | EPOLLOUT);
		return (true);
	default:
		return (false);
	}
}

/* STARTTLS's 220 is out: the handshake begins. */
static bool
begin_tls(struct conn *c)
{
	c->start_tls = false;
	if ((c->ssl = SSL_new(tls)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
		return (false);
	SSL_set_accept_state(c->ssl);
	c->handshaking = true;
	return (handshake(c));
}

/* Reads what has come; false if the connection ended. */
static bool
readable(struct conn *c)
{
	for (;;) {
		ssize_t n;

		if (c->have == IN_CAP || c->start_tls)
			return (true);	/* held: read more once it is let go;
					 * or the rest is TLS's */
		n = conn_recv(c, c->in + c->have, IN_CAP - c->have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return (true);
		if (n <= 0)
			return (false);
		c->have += (size_t)n;
		work(c);
	}
}

static void
accept_all(void)
{
	for (;;) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK |
		    SOCK_CLOEXEC);
		struct epoll_event ev = {.events = EPOLLIN};
		struct conn *c;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;		/* EAGAIN, or out of descriptors */
		}
		c = xcalloc(1, sizeof(*c));
		c->fd = fd;
		c->interest = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
			close(fd);
			free(c);
			continue;
		}
		if (!faulted(c, SMTP_CONNECT))
			say(c, "220 rkdouble ESMTP ready");
		if (!flush(c) || (c->closing && c->olen == 0))
			drop(c);
	}
}

/* Lets go of the held connections whose time has come; the wait until
 * the next one, in ms (-1: none). */
static int
release_held(void)
{
	int64_t now = now_ms(), wait = -1;
	struct conn **p = &held;

	while (*p != NULL) {
		struct conn *c = *p;

		if (c->hold_until_ms > now) {
			if (wait < 0 || c->hold_until_ms - now < wait)
				wait = c->hold_until_ms - now;
			p = &c->next;
			continue;
		}
		*p = c->next;
		c->hold_until_ms = 0;
		/* the held reply, then what came meanwhile */
		if (!flush(c) || (c->closing && c->olen == 0)) {
			drop(c);
			continue;
		}
		work(c);
		if (!readable(c) || (c->hold_until_ms == 0 && (!flush(c) ||
		    (c->closing && c->olen == 0))))
			drop(c);
		p = &held;	/* the list may have changed: start over */
	}
	return ((int)wait);
}

static void *
loop(void *arg)
{
	struct epoll_event evs[MAX_EVENTS];

	(void)arg;
	for (;;) {
		int n = epoll_wait(ep, evs, MAX_EVENTS, release_held());

		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (c == NULL) {
				accept_all();
				continue;
			}
			if (c->hold_until_ms != 0) {
				/* its reply is held back; unless it hung up */
				if (evs[i].events & (EPOLLHUP | EPOLLERR))
					drop(c);
				continue;
			}
			if (c->handshaking) {
				if (!handshake(c))
					drop(c);
				continue;
			}
			if ((evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) &&
			    !readable(c)) {
				drop(c);
				continue;
			}
			if (c->hold_until_ms != 0)
				continue;
			if (!flush(c) || (c->closing && c->olen == 0) ||
			    (c->start_tls && c->olen == 0 && !begin_tls(c)))
				drop(c);
		}
	}
	return (NULL);
}

/* The TLS context of sec's certificate and key; false if they would not
 * load. */
static bool
tls_setup(const struct smtp_secure *sec)
{
	if ((tls = SSL_CTX_new(TLS_server_method())) == NULL ||
	    SSL_CTX_use_certificate_chain_file(tls, sec->cert_file) != 1 ||
	    SSL_CTX_use_PrivateKey_file(tls, sec->key_file,
	    SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(tls) != 1) {
		SSL_CTX_free(tls);
		tls = NULL;
		return (false);
	}
	SSL_CTX_set_min_proto_version(tls, TLS1_2_VERSION);
	/* flush() moves its buffer and writes what it can */
	SSL_CTX_set_mode(tls, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return (true);
}

int
smtp_serve(int port, const struct smtp_hooks *hooks,
    const struct smtp_secure *sec)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
	    .sin_port = htons((uint16_t)port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	socklen_t sl = sizeof(sa);
	pthread_t t;
	int on = 1;

	served = hooks;
	if (sec != NULL && sec->cert_file != NULL && !tls_setup(sec)) {
		errno = EINVAL;
		return (-1);
	}
	if (sec != NULL && sec->user != NULL) {
		auth_user = sec->user;
		auth_pass = sec->password ? sec->password : "";
	}
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return (-1);
	if ((listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) < 0)
		return (-1);
	setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(listen_fd, 128) != 0 ||
	    getsockname(listen_fd, (struct sockaddr *)&sa, &sl) != 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev) != 0 ||
	    pthread_create(&t, NULL, loop, NULL) != 0) {
		close(listen_fd);
		close(ep);
		return (-1);
	}
	pthread_detach(t);
	return (ntohs(sa.sin_port));
}
