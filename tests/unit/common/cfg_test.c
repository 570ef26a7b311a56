/* cfg_test.c - configuration precedence, ranges, and the example file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "campaign_rpc.h"
#include "cfg.h"
#include "channel_ops.h"
#include "config.h"
#include "daemon.h"
#include "deliver.h"
#include "engage.h"
#include "msgtoken.h"
#include "profiler.h"
#include "timer_cfg.h"
#include "tracker_cfg.h"
#include "worker.h"

static char *var_s;
static int var_i;
static bool var_b;

static const struct cfg_entry table[] = {
	{"alpha_name", CFG_STR, "dflt", &var_s, 0, 0, CFG_SECRET, "a string"},
	{"beta_count", CFG_INT, "5", &var_i, 1, 10, 0, "an int"},
	{"gamma_on", CFG_BOOL, "no", &var_b, 0, 0, 0, "a bool"},
	CFG_END,
};
static const struct cfg_entry *const tables[] = {table, NULL};

static char *
write_tmp(const char *text)
{
	static char path[64];
	FILE *fp;
	int fd;

	snprintf(path, sizeof(path), "/tmp/cfg_test_XXXXXX");
	fd = mkstemp(path);
	fp = fdopen(fd, "w");
	fputs(text, fp);
	fclose(fp);
	return (path);
}

static void
test_cfg_defaults_then_file_then_env_then_override(void **state)
{
	char err[256], *file = write_tmp("# c\nalpha_name = fromfile\n"
	    "beta_count = 7\nsomeone_elses_key = 1\n");
	char *ov[] = {"gamma_on=yes"};

	(void)state;
	unsetenv("REKINDLE_BETA_COUNT");
	assert_int_equal(cfg_load(tables, NULL, NULL, 0, err, sizeof(err)),
	    RK_OK);
	assert_string_equal(var_s, "dflt");
	assert_int_equal(var_i, 5);
	assert_int_equal(cfg_load(tables, file, NULL, 0, err, sizeof(err)),
	    RK_OK);
	assert_string_equal(var_s, "fromfile");
	assert_int_equal(var_i, 7);
	setenv("REKINDLE_BETA_COUNT", "9", 1);
	assert_int_equal(cfg_load(tables, file, ov, 1, err, sizeof(err)), RK_OK);
	assert_int_equal(var_i, 9);
	assert_true(var_b);
	unsetenv("REKINDLE_BETA_COUNT");
	unlink(file);
	cfg_free(tables);
}

static void
test_cfg_rejects_value_above_max(void **state)
{
	char err[256], *ov[] = {"beta_count=11"};

	(void)state;
	assert_int_equal(cfg_load(tables, NULL, ov, 1, err, sizeof(err)),
	    RK_EINVAL);
	assert_non_null(strstr(err, "outside the valid range"));
	cfg_free(tables);
}

static void
test_cfg_rejects_unknown_override_and_bad_bool(void **state)
{
	char err[256], *ov1[] = {"nope=1"}, *ov2[] = {"gamma_on=maybe"};

	(void)state;
	assert_int_equal(cfg_load(tables, NULL, ov1, 1, err, sizeof(err)),
	    RK_EINVAL);
	assert_int_equal(cfg_load(tables, NULL, ov2, 1, err, sizeof(err)),
	    RK_EINVAL);
	cfg_free(tables);
}

static void
test_cfg_print_masks_secrets(void **state)
{
	char err[256], buf[512] = "", *ov[] = {"alpha_name=hunter2"};
	FILE *fp = fmemopen(buf, sizeof(buf), "w");

	(void)state;
	assert_int_equal(cfg_load(tables, NULL, ov, 1, err, sizeof(err)),
	    RK_OK);
	cfg_print(fp, tables, false);
	fclose(fp);
	assert_null(strstr(buf, "hunter2"));
	assert_non_null(strstr(buf, "alpha_name = ********"));
	assert_null(strstr(buf, "beta_count"));
	cfg_free(tables);
}

/* Every key of every table is in the example file, and nothing else. */
static void
test_example_config_lists_exactly_the_table_keys(void **state)
{
	const struct cfg_entry *all[20] = {daemon_cfg, api_cfg, worker_cfg,
	    profiler_cfg, deliver_cfg, engage_cfg, msgtoken_cfg, timer_cfg,
	    tracker_cfg, report_cfg};
	const struct cfg_entry *const *ch = channel_cfgs();
	size_t na = 10;
	FILE *fp = fopen(RK_EXAMPLE_CONF, "r");
	char line[512];
	int seen = 0, total = 0;

	(void)state;
	/* every delivery channel's own table too */
	for (size_t i = 0; ch[i] != NULL && na + 1 < 20; i++)
		all[na++] = ch[i];
	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp) != NULL) {
		char key[128];

		if (line[0] == '#' || sscanf(line, "%127[a-z_] =", key) != 1)
			continue;
		if (cfg_find(all, key) == NULL)
			fail_msg("example config has unknown key \"%s\"", key);
		seen++;
	}
	fclose(fp);
	/* a key in several tables (database_url) is in the file once */
	for (const struct cfg_entry *const *t = all; *t; t++)
		for (const struct cfg_entry *e = *t; e->name; e++)
			total += cfg_find(all, e->name) == e;
	assert_int_equal(seen, total);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cfg_defaults_then_file_then_env_then_override),
		cmocka_unit_test(test_cfg_rejects_value_above_max),
		cmocka_unit_test(test_cfg_rejects_unknown_override_and_bad_bool),
		cmocka_unit_test(test_cfg_print_masks_secrets),
		cmocka_unit_test(test_example_config_lists_exactly_the_table_keys),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
