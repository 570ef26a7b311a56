/*
 * smtp.c - blocking sockets, a detached thread per connection.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mem.h"
#include "smtp.h"

#define MAX_LINE 1000		/* RFC 5321 4.5.3.1.6, with CRLF */
#define MAX_MESSAGE (4 << 20)
#define MAX_RCPT 16

struct session {
	int fd;
	const struct smtp_hooks *hooks;
	char in[16384];
	size_t have, at;
};

static int listen_fd;
static const struct smtp_hooks *served;

static bool
say(struct session *s, const char *line)
{
	char buf[MAX_LINE + 2];
	size_t len;

	snprintf(buf, sizeof(buf), "%s\r\n", line);
	len = strlen(buf);
	for (size_t off = 0; off < len;) {
		ssize_t n = write(s->fd, buf + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return (false);
		off += (size_t)n;
	}
	return (true);
}

/* The next line without its CRLF, in line (cap bytes); false at the end
 * of the connection. An over-long line is cut and *too_long set. */
static bool
next_line(struct session *s, char *line, size_t cap, size_t *len,
    bool *too_long)
{
	size_t n = 0;
	char c;

	*too_long = false;
	for (;;) {
		if (s->at == s->have) {
			ssize_t r = read(s->fd, s->in, sizeof(s->in));

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return (false);
			s->have = (size_t)r;
			s->at = 0;
		}
		c = s->in[s->at++];
		if (c == '\n') {
			if (n > 0 && line[n - 1] == '\r')
				n--;
			line[n] = '\0';
			*len = n;
			return (true);
		}
		if (n + 1 < cap)
			line[n++] = c;
		else
			*too_long = true;
	}
}

/* Reads DATA up to the lone ".", undoing dot-stuffing; NULL if the
 * connection ended. *big when the message was over MAX_MESSAGE. */
static char *
read_data(struct session *s, size_t *len, bool *big)
{
	char line[MAX_LINE + 1];
	size_t cap = 65536, n = 0, l;
	char *buf = xmalloc(cap);
	bool too_long;

	*big = false;
	while (next_line(s, line, sizeof(line), &l, &too_long)) {
		const char *p = line;

		if (strcmp(line, ".") == 0) {
			buf[n] = '\0';
			*len = n;
			return (buf);
		}
		if (*p == '.') {
			p++;
			l--;
		}
		if (n + l + 3 > MAX_MESSAGE) {
			*big = true;
			continue;
		}
		if (n + l + 3 > cap) {
			while (n + l + 3 > cap)
				cap *= 2;
			buf = xrealloc(buf, cap);
		}
		memcpy(buf + n, p, l);
		n += l;
		buf[n++] = '\r';
		buf[n++] = '\n';
	}
	free(buf);
	return (NULL);
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
reset(char *from, char (*rcpt)[256], int *nrcpt)
{
	*from = '\0';
	for (int i = 0; i < *nrcpt; i++)
		rcpt[i][0] = '\0';
	*nrcpt = 0;
}

static void *
serve(void *arg)
{
	struct session *s = arg;
	char line[MAX_LINE + 1], from[256] = "", rcpt[MAX_RCPT][256], reply[512];
	bool have_from = false, too_long;
	int nrcpt = 0;
	size_t len;

	if (!say(s, "220 rkdouble ESMTP ready"))
		goto out;
	while (next_line(s, line, sizeof(line), &len, &too_long)) {
		if (too_long) {
			say(s, "500 5.5.6 line too long");
			continue;
		}
		if (strncasecmp(line, "EHLO", 4) == 0) {
			reset(from, rcpt, &nrcpt);
			have_from = false;
			say(s, "250-rkdouble greets you");
			say(s, "250-PIPELINING");
			say(s, "250-8BITMIME");
			say(s, "250 SIZE 4194304");
		} else if (strncasecmp(line, "HELO", 4) == 0) {
			reset(from, rcpt, &nrcpt);
			have_from = false;
			say(s, "250 rkdouble");
		} else if (strncasecmp(line, "MAIL FROM:", 10) == 0) {
			if (have_from)
				say(s, "503 5.5.1 sender already given");
			else if (!address(line + 10, from, sizeof(from)))
				say(s, "501 5.1.7 bad sender address syntax");
			else {
				have_from = true;
				say(s, "250 2.1.0 sender ok");
			}
		} else if (strncasecmp(line, "RCPT TO:", 8) == 0) {
			char addr[256];
			int code;

			if (!have_from)
				say(s, "503 5.5.1 need MAIL first");
			else if (!address(line + 8, addr, sizeof(addr)) ||
			    strchr(addr, '@') == NULL)
				say(s, "501 5.1.3 bad recipient address syntax");
			else if (nrcpt == MAX_RCPT)
				say(s, "452 4.5.3 too many recipients");
			else if ((code = s->hooks->rcpt(addr, reply,
			    sizeof(reply))) != 0) {
				char out[600];

				snprintf(out, sizeof(out), "%d %s", code, reply);
				say(s, out);
			} else {
				snprintf(rcpt[nrcpt++], sizeof(rcpt[0]), "%s", addr);
				say(s, "250 2.1.5 recipient ok");
			}
		} else if (strcasecmp(line, "DATA") == 0) {
			char *data;
			bool big, closing = false;

			if (nrcpt == 0) {
				say(s, "503 5.5.1 need RCPT first");
				continue;
			}
			say(s, "354 end data with <CR><LF>.<CR><LF>");
			if ((data = read_data(s, &len, &big)) == NULL)
				break;
			if (big)
				snprintf(reply, sizeof(reply), "552 5.3.4 message too "
				    "big");
			else
				for (int i = 0; i < nrcpt && !closing; i++) {
					s->hooks->message(from, rcpt[i], data, len, reply,
					    sizeof(reply));
					closing = strncmp(reply, "421", 3) == 0;
				}
			free(data);
			say(s, reply);
			reset(from, rcpt, &nrcpt);
			have_from = false;
			if (closing)
				break;
		} else if (strcasecmp(line, "RSET") == 0) {
			reset(from, rcpt, &nrcpt);
			have_from = false;
			say(s, "250 2.0.0 reset");
		} else if (strncasecmp(line, "NOOP", 4) == 0) {
			say(s, "250 2.0.0 ok");
		} else if (strcasecmp(line, "QUIT") == 0) {
			say(s, "221 2.0.0 bye");
			break;
		} else
			say(s, "502 5.5.2 command not recognised");
	}
out:
	close(s->fd);
	free(s);
	return (NULL);
}

static void *
accept_loop(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept(listen_fd, NULL, NULL);
		struct session *s;
		pthread_t t;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED ||
			    errno == EMFILE || errno == ENFILE)
				continue;
			return (NULL);
		}
		s = xcalloc(1, sizeof(*s));
		s->fd = fd;
		s->hooks = served;
		if (pthread_create(&t, NULL, serve, s) != 0) {
			close(fd);
			free(s);
			continue;
		}
		pthread_detach(t);
	}
}

int
smtp_serve(int port, const struct smtp_hooks *hooks)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
	    .sin_port = htons((uint16_t)port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	pthread_t t;
	int on = 1;

	served = hooks;
	if ((listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return (-1);
	setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(listen_fd, 128) != 0 ||
	    getsockname(listen_fd, (struct sockaddr *)&sa, &sl) != 0 ||
	    pthread_create(&t, NULL, accept_loop, NULL) != 0) {
		close(listen_fd);
		return (-1);
	}
	pthread_detach(t);
	return (ntohs(sa.sin_port));
}
