/*
 * smtp_outcome_test.c - every SMTP outcome branch, through the real
 * libcurl path (http.c) and provider_smtp_reply, against the SMTP relay
 * of the provider double (rkdouble) with faults at each stage. What the
 * relay took is read from the double, not from our side.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "provider.h"

static char dir[] = "/tmp/rk-smtp-XXXXXX";
static char http_base[64], smtp_url[64];
static pid_t dbl, secure;	/* the plain double, the one that asks */
static int seq;
/* what send_one sends besides the message (test_smtp_tls_and_login) */
static struct http_call how;

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static int
read_port(const char *name)
{
	char path[256];
	int port = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	for (int i = 0; i < 200 && port == 0; i++) {
		FILE *fp = fopen(path, "r");

		if (fp != NULL) {
			if (fscanf(fp, "%d", &port) != 1)
				port = 0;
			fclose(fp);
		}
		if (port == 0)
			sleep_ms(50);
	}
	return (port);
}

/* Starts a double whose port files are named after tag, with the extra
 * arguments (NULL-ended, at most 6); points http_base and smtp_url at
 * it. */
static pid_t
start_double(const char *tag, const char *const *extra)
{
	char pf[256], sf[256], pn[64], sn[64];
	const char *argv[16] = {"rkdouble", "--port-file", pf,
	    "--smtp-port-file", sf};
	int n = 5;
	pid_t pid;

	snprintf(pn, sizeof(pn), "%s.port", tag);
	snprintf(sn, sizeof(sn), "%s.smtp-port", tag);
	snprintf(pf, sizeof(pf), "%s/%s", dir, pn);
	snprintf(sf, sizeof(sf), "%s/%s", dir, sn);
	for (int i = 0; extra != NULL && extra[i] != NULL && n < 15; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	if ((pid = fork()) == 0) {
		execv(RK_DOUBLE, (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	snprintf(http_base, sizeof(http_base), "http://127.0.0.1:%d",
	    read_port(pn));
	snprintf(smtp_url, sizeof(smtp_url), "smtp://127.0.0.1:%d",
	    read_port(sn));
	return (pid);
}

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return (-1);
	dbl = start_double("plain", NULL);
	/* a short timeout: a reply held 1.5 s is one that never came */
	http_init(500, 4, NULL);
	return (0);
}

static int
teardown(void **state)
{
	char cmd[300];

	(void)state;
	http_fini();
	kill(dbl, SIGTERM);
	waitpid(dbl, NULL, 0);
	if (secure > 0) {	/* a failed test left it */
		kill(secure, SIGTERM);
		waitpid(secure, NULL, 0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return (system(cmd) == 0 ? 0 : -1);
}

/* A control call to the double; its JSON reply. */
static json_t *
control(const char *path, const char *body)
{
	char url[256];
	struct http_reply r;
	json_t *j;

	snprintf(url, sizeof(url), "%s%s", http_base, path);
	/* the double's read endpoints answer a POST as well */
	http_post(url, NULL, NULL, body != NULL ? body : "{}", &r);
	if (r.status != 200)
		fail_msg("%s: HTTP %ld (%s)", url, r.status, r.error);
	j = json_loads(r.body, 0, NULL);
	free(r.body);
	assert_non_null(j);
	return (j);
}

/* How many messages the relay took so far (first times and repeats). */
static long
taken(void)
{
	json_t *s = control("/_stats", NULL);
	json_t *e = json_object_get(s, "email");
	long n = (long)(json_integer_value(json_object_get(e, "accepted")) +
	    json_integer_value(json_object_get(e, "duplicates")));

	json_decref(s);
	return (n);
}

/* A well-formed advertising message with a fresh key. */
static char *
message(size_t *len)
{
	char *m;

	seq++;
	if (asprintf(&m, "From: uudai@bank.example\r\nTo: kh@example.com\r\n"
	    "Subject: =?UTF-8?B?UXXDoA==?=\r\nMessage-ID: <rk.%d@bank.example>"
	    "\r\nMIME-Version: 1.0\r\nList-Unsubscribe: <https://bank.example/u>"
	    "\r\nX-Rekindle-Key: T:C%d:0:email\r\nContent-Type: text/plain; "
	    "charset=utf-8\r\n\r\nChào bạn\r\n", seq, seq) < 0)
		fail();
	*len = strlen(m);
	return (m);
}

/* Whether send_one's last call failed on the relay's certificate. */
static bool last_tls_refused;

/* Sends one message to rcpt: its outcome, and whether the relay took
 * it (counted at the double). */
static enum send_outcome
send_one(const char *rcpt, bool *was_taken)
{
	struct http_call c = how;
	struct send_result r;
	long before = taken();
	char *body = message(&c.len);

	c.url = smtp_url;
	c.mail_from = "uudai@bank.example";
	c.mail_rcpt = rcpt;
	c.body = body;
	http_run(&c, 1, NULL, NULL);
	provider_smtp_reply(&c.reply, &r);
	last_tls_refused = c.reply.tls_refused;
	if (getenv("RK_DEBUG") != NULL)
		fprintf(stderr, "status %ld written %d error %s: %s\n",
		    c.reply.status, c.reply.written, c.reply.error, r.reason);
	free(c.reply.body);
	free(body);
	sleep_ms(1700);		/* a held reply's message counts by now */
	*was_taken = taken() > before;
	return (r.outcome);
}

static void
fault(const char *kind, const char *stage)
{
	char body[200];

	snprintf(body, sizeof(body), "{\"channel\": \"email\", \"%s\": 1, "
	    "\"stage\": \"%s\", \"late_ms\": 1500}", kind, stage);
	json_decref(control("/_faults", body));
}

static void
test_smtp_outcomes_at_every_stage(void **state)
{
	static const struct {
		const char *kind, *stage;
		enum send_outcome want;
		bool taken;
	} c[] = {
		{NULL, NULL, SEND_OK, true},
		/* a 4xx at any stage: not taken, try again */
		{"http_500", "mail", SEND_RETRY, false},
		{"http_500", "rcpt", SEND_RETRY, false},
		{"http_500", "data", SEND_RETRY, false},
		{"http_500", "dot", SEND_RETRY, false},
		{"http_429", "mail", SEND_RETRY, false},	/* 421, closed */
		{"http_429", "connect", SEND_RETRY, false},
		{"http_429", "rcpt", SEND_RETRY, false},
		{"http_429", "data", SEND_RETRY, false},
		{"http_429", "dot", SEND_RETRY, false},
		/* lost before the message went: not taken, try again */
		{"drop", "connect", SEND_RETRY, false},
		{"drop", "mail", SEND_RETRY, false},
		{"drop", "rcpt", SEND_RETRY, false},
		{"drop", "data", SEND_RETRY, false},
		/* lost after the final dot: no one knows - uncertain */
		{"drop", "dot", SEND_AMBIGUOUS, false},
		{"drop_after", "dot", SEND_AMBIGUOUS, true},
		{"late", "dot", SEND_AMBIGUOUS, true},
		{NULL, NULL, SEND_OK, true},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		bool was;
		enum send_outcome got;

		if (c[i].kind != NULL)
			fault(c[i].kind, c[i].stage);
		got = send_one("kh@example.com", &was);
		/* a pooled connection the relay closed meanwhile fails before
		 * anything is written: not taken, and fine to try again */
		if (c[i].kind == NULL && got == SEND_RETRY && !was)
			got = send_one("kh@example.com", &was);
		if (got != c[i].want || was != c[i].taken)
			fail_msg("%s at %s: outcome %d (want %d), taken %d (want %d)",
			    c[i].kind ? c[i].kind : "none", c[i].stage ?
			    c[i].stage : "-", got, c[i].want, was, c[i].taken);
	}
}

static void
test_smtp_refusals(void **state)
{
	struct http_call c = {.url = smtp_url, .mail_from = "uudai@bank.example",
	    .mail_rcpt = "kh@example.com", .body = "Subject: x\r\n\r\nx\r\n"};
	struct send_result r;
	bool was;

	(void)state;
	/* 550 at RCPT: the mailbox is not there - the next channel */
	json_decref(control("/_email/bounce",
	    "{\"addresses\": [\"gone@example.com\"]}"));
	assert_int_equal(send_one("gone@example.com", &was), SEND_NEXT_CHANNEL);
	assert_false(was);
	/* 554 after the dot (headers missing): refused for good */
	c.len = strlen(c.body);
	http_run(&c, 1, NULL, NULL);
	provider_smtp_reply(&c.reply, &r);
	free(c.reply.body);
	assert_int_equal(c.reply.status, 554);
	assert_int_equal(r.outcome, SEND_FAILED);
}

/* One of the double's e-mail counters (rkdouble: starttls, auth_ok,
 * auth_failed, refused). */
static long
counter(const char *name)
{
	json_t *s = control("/_stats", NULL);
	long n = (long)json_integer_value(json_object_get(json_object_get(s,
	    "email"), name));

	json_decref(s);
	return (n);
}

/* A fresh connection for the next call: libcurl (7.88) reuses an
 * upgraded (STARTTLS) connection without comparing TLS settings, and a
 * pool's settings never change, but these cases do. */
static void
new_connections(const char *ca_file)
{
	http_fini();
	http_init(500, 4, ca_file);
}

/*
 * A relay that asks for STARTTLS and a login, as a bank's does: sent
 * only over TLS with a certificate that verifies and a login it takes;
 * a refused login (535) or none (530) is SEND_REFRESH_TOKEN - the pool
 * stops claiming (email.c) - and nothing is taken; with TLS required,
 * a certificate that does not verify, or a relay that offers no
 * STARTTLS, gets nothing at all (no downgrade to clear text).
 */
static void
test_smtp_tls_and_login(void **state)
{
	char cert[300], key[300], cmd[1024], plain_base[64], plain_url[64];
	const char *extra[7] = {"--smtp-cert", cert, "--smtp-key", key,
	    "--smtp-auth", "relay-user:relay-pass-1", NULL};
	bool was;

	(void)state;
	snprintf(cert, sizeof(cert), "%s/relay.pem", dir);
	snprintf(key, sizeof(key), "%s/relay.key", dir);
	snprintf(cmd, sizeof(cmd), "%s %s", RK_RELAY_CERT, dir);
	assert_int_equal(system(cmd), 0);
	snprintf(plain_base, sizeof(plain_base), "%s", http_base);
	snprintf(plain_url, sizeof(plain_url), "%s", smtp_url);
	secure = start_double("secure", extra);

	/* TLS, a verified certificate, the right login: taken */
	how = (struct http_call){.tls_required = true, .user = "relay-user",
	    .password = "relay-pass-1"};
	new_connections(cert);
	assert_int_equal(send_one("kh@example.com", &was), SEND_OK);
	assert_true(was);
	assert_true(counter("starttls") >= 1);
	assert_int_equal(counter("auth_ok"), 1);
	/* the wrong password: 535, nothing taken */
	how.password = "relay-pass-0";
	new_connections(cert);
	assert_int_equal(send_one("kh@example.com", &was), SEND_REFRESH_TOKEN);
	assert_false(was);
	assert_int_equal(counter("auth_failed"), 1);
	/* no login at all: 530 at MAIL, nothing taken */
	how.user = how.password = NULL;
	new_connections(cert);
	assert_int_equal(send_one("kh@example.com", &was), SEND_REFRESH_TOKEN);
	assert_false(was);
	assert_int_equal(counter("refused"), 1);
	/* a certificate the CAs given do not vouch for: not even a login is
	 * tried (the password never leaves), nothing taken, retried later */
	how.user = "relay-user";
	how.password = "relay-pass-1";
	new_connections(NULL);
	assert_int_equal(send_one("kh@example.com", &was), SEND_RETRY);
	assert_false(was);
	assert_true(last_tls_refused);	/* said apart from an outage */
	assert_int_equal(counter("auth_ok") + counter("auth_failed"), 2);
	/* TLS not asked for: no STARTTLS, so no AUTH offered, MAIL refused */
	how.tls_required = false;
	new_connections(cert);
	assert_int_equal(send_one("kh@example.com", &was), SEND_REFRESH_TOKEN);
	assert_false(was);
	assert_int_equal(counter("refused"), 2);
	assert_int_equal(counter("auth_ok") + counter("auth_failed"), 2);
	kill(secure, SIGTERM);
	waitpid(secure, NULL, 0);
	secure = 0;

	/* TLS required of a relay that offers no STARTTLS: nothing sent */
	snprintf(http_base, sizeof(http_base), "%s", plain_base);
	snprintf(smtp_url, sizeof(smtp_url), "%s", plain_url);
	how.tls_required = true;
	new_connections(cert);
	assert_int_equal(send_one("kh@example.com", &was), SEND_RETRY);
	assert_false(was);
	assert_false(last_tls_refused);	/* no certificate was shown */
	how = (struct http_call){0};
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_smtp_outcomes_at_every_stage),
		cmocka_unit_test(test_smtp_refusals),
		cmocka_unit_test(test_smtp_tls_and_login),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
