/*
 * smtp.c - one thread, non-blocking sockets and epoll: each connection
 * is a state machine over its input buffer. Replies to what a client
 * pipelined go back in one write; a delayed reply (an injected stall)
 * holds that connection alone, not the others.
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
	int fault_slot;		/* the fault hook's */
	struct conn *next;	/* the held connections */
};

static const struct smtp_hooks *served;
static int listen_fd, ep;
static struct conn *held;

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
		ssize_t n = send(c->fd, c->out + off, c->olen - off,
		    MSG_NOSIGNAL);

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

static void
command(struct conn *c, char *line)
{
	char reply[512], out[600];
	int code;

	if (strncasecmp(line, "EHLO", 4) == 0) {
		reset(c);
		say(c, "250-rkdouble greets you");
		say(c, "250-PIPELINING");
		say(c, "250-8BITMIME");
		say(c, "250 SIZE 4194304");
	} else if (strncasecmp(line, "HELO", 4) == 0) {
		reset(c);
		say(c, "250 rkdouble");
	} else if (strncasecmp(line, "MAIL FROM:", 10) == 0) {
		c->fault_slot = 0;	/* a new transaction */
		if (faulted(c, SMTP_MAIL))
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

	while (at < c->have && !c->closing && c->hold_until_ms == 0) {
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
			command(c, p);
		}
	}
	memmove(c->in, c->in + at, c->have - at);
	c->have -= at;
}

/* Reads what has come; false if the connection ended. */
static bool
readable(struct conn *c)
{
	for (;;) {
		ssize_t n;

		if (c->have == IN_CAP)
			return (true);	/* held: read more once it is let go */
		n = recv(c->fd, c->in + c->have, IN_CAP - c->have, 0);
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
			if ((evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) &&
			    !readable(c)) {
				drop(c);
				continue;
			}
			if (c->hold_until_ms != 0)
				continue;
			if (!flush(c) || (c->closing && c->olen == 0))
				drop(c);
		}
	}
	return (NULL);
}

int
smtp_serve(int port, const struct smtp_hooks *hooks)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
	    .sin_port = htons((uint16_t)port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	socklen_t sl = sizeof(sa);
	pthread_t t;
	int on = 1;

	served = hooks;
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
