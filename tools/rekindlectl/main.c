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
 *	offers create FILE | list | get ID | update ID FILE | add-codes ID FILE
 *	campaigns create FILE | list | get ID | launch ID | pause ID |
 *	    resume ID | cancel ID | report ID | messages ID
 *	audit list [--resource TYPE[:ID]] [--token N] [--role R] [--method M]
 *	call SERVICE/METHOD [JSON | @FILE | -]
 *
 * --help after any command prints its usage; --json after any read
 * command prints the reply as JSON. FILE for create and update is YAML or
 * JSON (the proto's field names, enums by name).
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

/* Each command's usage, printed by --help (stdout, exit 0) and after a
 * wrong call (stderr, exit 2). */
static const struct {
	const char *cmd, *text;
} usages[] = {
	{"health", "  health\n"},
	{"customers", "  customers import FILE.csv      (transactions or "
	    "customers, by header)\n  customers get ID [--json]\n"
	    "  customers export ID [-o FILE]   (everything held about ID, as "
	    "JSON)\n  customers erase ID [--reason TEXT]\n"},
	{"tokens", "  tokens create NAME --role admin|service|agent [--agent ID]\n"
	    "  tokens list [--all] [--json]\n  tokens revoke ID\n"},
	{"profiles", "  profiles run [--as-of YYYY-MM-DD] [--request-id ID]\n"
	    "  profiles get ID [--json]\n"
	    "  profiles list [--state S] [--segment S] [--category C] "
	    "[--partner P] [--limit N] [--json]\n  profiles models [--json]\n"},
	{"promotions", "  promotions import FILE.csv | list [--json] | delete ID\n"},
	{"offers", "  offers create FILE.yaml|FILE.json [--request-id ID]\n"
	    "  offers list [--json]\n  offers get ID [--json]\n"
	    "  offers update ID FILE      (the fields the file gives)\n"
	    "  offers add-codes ID FILE   (one code a line)\n"},
	{"campaigns", "  campaigns create FILE.yaml|FILE.json [--request-id ID]\n"
	    "  campaigns list [--state S] [--json]\n  campaigns get ID [--json]\n"
	    "  campaigns launch ID [--no-wait]\n"
	    "  campaigns pause|resume|cancel ID [--reason TEXT]\n"
	    "  campaigns report ID [--svg FILE] [--html FILE] [--json]\n"
	    "  campaigns messages ID [--state S] [--channel C] [--customer ID] "
	    "[--limit N] [--json]\n"},
	{"audit", "  audit list [--resource TYPE[:ID]] [--token N] [--role R] "
	    "[--method M]\n             [--since TIME] [--limit N] [--json]   "
	    "(newest first)\n"},
	{"call", "  call SERVICE/METHOD [JSON | @FILE | -]   (any unary method)\n"},
	{NULL, NULL},
};

static void
print_usage(FILE *fp, const char *only)
{
	fprintf(fp,
	    "usage: rekindlectl [--addr HOST:PORT] [--token TOKEN] [--ca FILE]\n"
	    "                   [--json] [--timeout MS] COMMAND ...\n"
	    "commands:\n");
	for (int i = 0; usages[i].cmd != NULL; i++)
		if (only == NULL || strcmp(only, usages[i].cmd) == 0)
			fputs(usages[i].text, fp);
}

static void
usage(void)
{
	print_usage(stderr, NULL);
	exit(2);
}

void
ctl_usage(FILE *fp, const char *cmd)
{
	print_usage(fp, cmd);
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
		case 'h':
			print_usage(stdout, NULL);
			return (0);
		default:
			usage();
		}
	}
	if (optind >= argc)
		usage();
	/* after the command: --help anywhere prints its usage; --json
	 * anywhere asks for JSON (taken out of the arguments) */
	{
		int k = optind + 1;

		for (int i = optind + 1; i < argc; i++) {
			if (strcmp(argv[i], "--help") == 0 ||
			    strcmp(argv[i], "-h") == 0) {
				print_usage(stdout, argv[optind]);
				return (0);
			}
			if (strcmp(argv[i], "--json") == 0)
				c.json = true;
			else
				argv[k++] = argv[i];
		}
		argc = k;
	}
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
	else if (strcmp(argv[0], "offers") == 0)
		rc = cmd_offers(&c, argc, argv);
	else if (strcmp(argv[0], "audit") == 0)
		rc = cmd_audit(&c, argc, argv);
	else if (strcmp(argv[0], "call") == 0)
		rc = cmd_call(&c, argc, argv);
	else
		usage();
	rkc_close(c.client);
	return (rc);
}
