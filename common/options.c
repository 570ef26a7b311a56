/*
 * options.c - shared daemon options and configuration loading.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "mem.h"
#include "options.h"

bool options_migrate_only;

void
options_load(int argc, char **argv, const struct cfg_entry *const *tables)
{
	static const struct option longopts[] = {
	    {"print-config", no_argument, NULL, 'P'},
	    {"migrate", no_argument, NULL, 'M'}, {NULL, 0, NULL, 0}};
	char **overrides = xcalloc((size_t)argc + 1, sizeof(char *));
	const char *config = getenv("REKINDLE_CONFIG");
	int noverrides = 0, opt, print = 0;
	char err[512];

	while ((opt = getopt_long(argc, argv, "c:o:v", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config = optarg;
			break;
		case 'o':
			overrides[noverrides++] = optarg;
			break;
		case 'v':
			log_set_level(LOG_DEBUG);
			break;
		case 'P':
			print = 1;
			break;
		case 'M':
			options_migrate_only = true;
			break;
		default:
			fprintf(stderr, "usage: %s [-c config] [-o name=value]... "
			    "[-v] [--print-config] [--migrate]\n", argv[0]);
			exit(2);
		}
	}
	if (cfg_load(tables, config, overrides, noverrides, err, sizeof(err)) !=
	    RK_OK)
		log_fatal("CONFIG-INVALID", "%s", err);
	free(overrides);
	if (print) {
		cfg_print(stdout, tables, false);
		cfg_free(tables);
		exit(0);
	}
}
