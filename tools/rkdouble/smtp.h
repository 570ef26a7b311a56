/*
 * smtp.h - a small SMTP server (RFC 5321: EHLO/HELO, MAIL, RCPT, DATA,
 * RSET, NOOP, QUIT; PIPELINING, 8BITMIME, SIZE) for the provider double:
 * one thread serves every connection (epoll); the message is handed whole
 * to the caller, which answers it.
 */
#ifndef RK_SMTP_H
#define RK_SMTP_H

#include <stddef.h>

struct smtp_hooks {
	/*
	 * A recipient: 0 to accept, else the reply code (550: no such
	 * mailbox). reply gets the reply's text.
	 */
	int (*rcpt)(const char *addr, char *reply, size_t cap);
	/*
	 * A whole message (dot-stuffing undone, CRLF lines) for its one
	 * recipient: fills reply with the full reply line without CRLF
	 * ("250 2.0.0 queued"); a "421" reply closes the connection. A
	 * *delay_ms set above 0 holds the reply back that long (a stall),
	 * without holding up the other connections. Must not block.
	 */
	void (*message)(const char *from, const char *rcpt, const char *data,
	    size_t len, char *reply, size_t cap, int *delay_ms);
};

/*
 * Listens on 127.0.0.1:port (0: any free port) and serves in a thread.
 * Returns the port, or -1 with errno set.
 */
int smtp_serve(int port, const struct smtp_hooks *hooks);

#endif
