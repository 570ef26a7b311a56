/* log_test.c - one JSON object per line; ids in, contact data out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Runs fn with stderr captured into buf. */
static void
capture(char *buf, size_t cap, void (*fn)(void))
{
	int fds[2], saved = dup(2);
	ssize_t n;

	assert_int_equal(pipe(fds), 0);
	dup2(fds[1], 2);
	fn();
	dup2(saved, 2);
	close(fds[1]);
	n = read(fds[0], buf, cap - 1);
	buf[n < 0 ? 0 : n] = '\0';
	close(fds[0]);
	close(saved);
}

static void
emit(void)
{
	log_set_request_id("req-7");
	log_info("TEST-EVENT", "customer \"x\"\nphone 0912345678 mail a.b@example.vn");
	log_set_request_id(NULL);
	log_debug("TEST-DEBUG", "dropped at info level");
}

static void
test_line_is_escaped_json_with_ids_and_no_contacts(void **state)
{
	char buf[4096];

	(void)state;
	log_init("log_test");
	log_set_level(LOG_INFO);
	capture(buf, sizeof(buf), emit);
	assert_non_null(strstr(buf, "\"prog\":\"log_test\""));
	assert_non_null(strstr(buf, "\"event\":\"TEST-EVENT\""));
	assert_non_null(strstr(buf, "\"req\":\"req-7\""));
	assert_non_null(strstr(buf, "customer \\\"x\\\"\\u000aphone <phone>"));
	assert_non_null(strstr(buf, "mail <email>"));
	assert_null(strstr(buf, "0912345678"));
	assert_null(strstr(buf, "TEST-DEBUG"));
	/* exactly one line */
	assert_non_null(strchr(buf, '\n'));
	assert_int_equal(strchr(buf, '\n')[1], '\0');
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_is_escaped_json_with_ids_and_no_contacts),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
