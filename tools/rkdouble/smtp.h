/*
 * smtp.h - a small SMTP server (RFC 5321: EHLO/HELO, MAIL, RCPT, DATA,
 * RSET, NOOP, QUIT; PIPELINING, 8BITMIME, SIZE) for the provider double:
 * one thread serves every connection (epoll); the message is handed whole
 * to the caller, which answers it.
 */
#ifndef RK_SMTP_H
#define RK_SMTP_H

#include <stddef.h>

/* Where a transaction can fail. */
enum smtp_stage { SMTP_CONNECT, SMTP_MAIL, SMTP_RCPT, SMTP_DATA, SMTP_DOT };

/* What an injected fault does at its stage. */
enum smtp_fault {
	SMTPF_NONE,
	SMTPF_451,		/* "451 try again later", nothing taken */
	SMTPF_421,		/* "421 closing", the connection closed */
	SMTPF_DROP,		/* the connection closed, no reply, nothing
				 * taken (at DOT: the client cannot tell) */
	SMTPF_DROP_AFTER,	/* DOT only: taken, then closed, no reply */
	SMTPF_LATE,		/* DOT only: taken, the reply held back */
};

struct smtp_hooks {
	/*
	 * A recipient: 0 to accept, else the reply code (550: no such
	 * mailbox). reply gets the reply's text.
	 */
	int (*rcpt)(const char *addr, char *reply, size_t cap);
	/*
	 * A whole message (dot-stuffing undone, CRLF lines) for its one
	 * recipient: fills reply with the full reply line without CRLF
	 * ("250 2.0.0 queued"). Must not block.
	 */
	void (*message)(const char *from, const char *rcpt, const char *data,
	    size_t len, char *reply, size_t cap);
	/*
	 * The fault, if any, at stage of the connection's current
	 * transaction; *slot is the connection's own (0 when new) for the
	 * hook to remember a fault picked earlier in the transaction.
	 * SMTPF_LATE sets *delay_ms: the reply is held back that long
	 * without holding up other connections.
	 */
	enum smtp_fault (*fault)(enum smtp_stage stage, int *slot,
	    int *delay_ms);
};

/*
 * Listens on 127.0.0.1:port (0: any free port) and serves in a thread.
 * Returns the port, or -1 with errno set.
 */
int smtp_serve(int port, const struct smtp_hooks *hooks);

#endif
