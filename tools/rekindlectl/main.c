/*
 * main.c - rekindlectl: the admin and tooling command line.
 *
 *	rekindlectl [--addr HOST:PORT] [--token T] [--ca FILE] [--json]
 *	            [--timeout MS] COMMAND ...
 *	health
 *	customers import FILE.csv      (transactions or customers, by header)
 *	customers get ID
 *	tokens create NAME --role admin|service|agent [--agent ID]
 *	tokens list [--all]
 *	tokens revoke ID
 *	profiles run [--as-of YYYY-MM-DD] [--request-id ID]
 *	profiles get ID
 *	profiles list [--state S] [--segment S] [--category C] [--partner P]
 *	profiles models
 *	promotions import FILE.csv | list | delete ID
 *	campaigns report ID [--svg FILE]
 *	call SERVICE/METHOD [JSON | @FILE | -]
 *
 * Defaults come from REKINDLE_ADDR and REKINDLE_TOKEN.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "log.h"

double
ctl_major(long long minor, const char *currency)
{
	static const char *const zero[] = {"VND", "JPY", "KRW", "CLP", "ISK",
	    "XOF", "XAF", "UGX", "PYG", NULL};

	for (int i = 0; currency != NULL && zero[i] != NULL; i++)
		if (strcmp(currency, zero[i]) == 0)
			return ((double)minor);
	return ((double)minor / 100.0);
}

int
ctl_fail(const char *what, rk_err rc, const struct rkc_status *st)
{
	if (st != NULL && st->code != 0) {
		fprintf(stderr, "rekindlectl: %s: %s: %s\n", what,
		    rkc_code_name(st->code), st->message);
		for (int i = 0; i < st->nviolations; i++)
			fprintf(stderr, "  %s: %s\n", st->field[i],
			    st->description[i]);
	} else {
		fprintf(stderr, "rekindlectl: %s: %s\n", what, rk_strerror(rc));
	}
	return (1);
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: rekindlectl [--addr HOST:PORT] [--token TOKEN] [--ca FILE]\n"
	    "                   [--json] [--timeout MS] COMMAND ...\n"
	    "commands:\n"
	    "  health\n"
	    "  customers import FILE.csv\n"
	    "  customers get ID\n"
	    "  tokens create NAME --role admin|service|agent [--agent ID]\n"
	    "  tokens list [--all]\n"
	    "  tokens revoke ID\n"
	    "  profiles run [--as-of YYYY-MM-DD] [--request-id ID]\n"
	    "  profiles get ID\n"
	    "  profiles list [--state S] [--segment S] [--category C] "
	    "[--partner P] [--limit N]\n"
	    "  profiles models\n"
	    "  promotions import FILE.csv | list | delete ID\n"
	    "  campaigns report ID [--svg FILE]\n"
	    "  call SERVICE/METHOD [JSON | @FILE | -]   (any unary method)\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"addr", required_argument, NULL, 'a'},
		{"token", required_argument, NULL, 't'},
		{"ca", required_argument, NULL, 'c'},
		{"json", no_argument, NULL, 'j'},
		{"timeout", required_argument, NULL, 'T'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *addr = getenv("REKINDLE_ADDR"), *token =
	    getenv("REKINDLE_TOKEN"), *ca = NULL;
	struct ctl c = {.timeout_ms = 30000};
	int opt, rc;

	log_init("rekindlectl");
	if (addr == NULL)
		addr = "127.0.0.1:50051";
	while ((opt = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (opt) {
		case 'a':
			addr = optarg;
			break;
		case 't':
			token = optarg;
			break;
		case 'c':
			ca = optarg;
			break;
		case 'j':
			c.json = true;
			break;
		case 'T':
			c.timeout_ms = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (optind >= argc)
		usage();
	if (rkc_open(addr, token, ca, &c.client) != RK_OK) {
		fprintf(stderr, "rekindlectl: cannot read CA file \"%s\"\n", ca);
		return (1);
	}
	argc -= optind;
	argv += optind;
	if (strcmp(argv[0], "health") == 0)
		rc = cmd_health(&c, argc, argv);
	else if (strcmp(argv[0], "customers") == 0)
		rc = cmd_customers(&c, argc, argv);
	else if (strcmp(argv[0], "tokens") == 0)
		rc = cmd_tokens(&c, argc, argv);
	else if (strcmp(argv[0], "profiles") == 0)
		rc = cmd_profiles(&c, argc, argv);
	else if (strcmp(argv[0], "promotions") == 0)
		rc = cmd_promotions(&c, argc, argv);
	else if (strcmp(argv[0], "campaigns") == 0)
		rc = cmd_campaigns(&c, argc, argv);
	else if (strcmp(argv[0], "call") == 0)
		rc = cmd_call(&c, argc, argv);
	else
		usage();
	rkc_close(c.client);
	return (rc);
}
