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
static pid_t dbl;
static int seq;

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

static int
setup(void **state)
{
	char pf[256], sf[256];

	(void)state;
	if (mkdtemp(dir) == NULL)
		return (-1);
	snprintf(pf, sizeof(pf), "%s/port", dir);
	snprintf(sf, sizeof(sf), "%s/smtp-port", dir);
	if ((dbl = fork()) == 0) {
		execl(RK_DOUBLE, "rkdouble", "--port-file", pf, "--smtp-port-file",
		    sf, (char *)NULL);
		_exit(127);
	}
	snprintf(http_base, sizeof(http_base), "http://127.0.0.1:%d",
	    read_port("port"));
	snprintf(smtp_url, sizeof(smtp_url), "smtp://127.0.0.1:%d",
	    read_port("smtp-port"));
	/* a short timeout: a reply held 1.5 s is one that never came */
	http_init(500, 4);
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

/* Sends one message to rcpt: its outcome, and whether the relay took
 * it (counted at the double). */
static enum send_outcome
send_one(const char *rcpt, bool *was_taken)
{
	struct http_call c = {.url = smtp_url, .mail_from = "uudai@bank.example",
	    .mail_rcpt = rcpt};
	struct send_result r;
	long before = taken();
	char *body = message(&c.len);

	c.body = body;
	http_run(&c, 1, NULL, NULL);
	provider_smtp_reply(&c.reply, &r);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_smtp_outcomes_at_every_stage),
		cmocka_unit_test(test_smtp_refusals),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
