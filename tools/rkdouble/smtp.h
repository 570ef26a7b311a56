/*
 * smtp.h - a small SMTP server (RFC 5321: EHLO/HELO, MAIL, RCPT, DATA,
 * RSET, NOOP, QUIT; PIPELINING, 8BITMIME, SIZE) for the provider double:
 * one thread serves every connection (epoll); the message is handed whole
 * to the caller, which answers it.
 *
 * As a bank's submission relay can be told to (smtp_secure): STARTTLS
 * (RFC 3207) offered and required before MAIL (530 5.7.0 otherwise), the
 * input pipelined after the command thrown away and the session started
 * over once TLS is up (section 4.2); AUTH PLAIN (RFC 4616) and LOGIN
 * offered - only over TLS when TLS is offered (538 5.7.11 otherwise,
 * RFC 4954 section 6) - and required before MAIL (530 5.7.0), wrong
 * credentials answered 535 5.7.8.
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

/* What a session did, for the double's counters. */
enum smtp_event {
	SMTPE_STARTTLS,		/* a TLS session began */
	SMTPE_AUTH_OK,		/* AUTH took the credentials */
	SMTPE_AUTH_FAILED,	/* AUTH refused them (535) */
	SMTPE_REFUSED,		/* MAIL refused for want of TLS or AUTH (530) */
};

/* What the relay asks of a client before MAIL; NULL fields: nothing. */
struct smtp_secure {
	const char *cert_file, *key_file;	/* PEM: STARTTLS offered and
						 * required */
	const char *user, *password;		/* AUTH offered and required */
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
	/* Counts a session's event; may be NULL. Must not block. */
	void (*event)(enum smtp_event e);
};

/*
 * Listens on 127.0.0.1:port (0: any free port) and serves in a thread,
 * asking what sec asks (may be NULL: nothing). Returns the port, or -1
 * (errno set; EINVAL: the certificate or key would not load).
 */
int smtp_serve(int port, const struct smtp_hooks *hooks,
    const struct smtp_secure *sec);

#endif
