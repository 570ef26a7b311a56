/*
 * options.h - the command line every rekindle daemon shares:
 *	-c FILE		configuration file (default: $REKINDLE_CONFIG)
 *	-o NAME=VALUE	override one parameter (repeatable)
 *	-v		debug logging
 *	--print-config	print non-default values (secrets masked) and exit
 *	--migrate	apply the database migrations and exit (a deployment's
 *			migration step; daemon.h)
 */
#ifndef RK_OPTIONS_H
#define RK_OPTIONS_H

#include <stdbool.h>

#include "cfg.h"

/*
 * Parses argv and loads tables (NULL-terminated). Exits 2 on a usage
 * error, 1 (log_fatal) on a bad value, 0 after --print-config.
 */
void options_load(int argc, char **argv, const struct cfg_entry *const *tables);

/* --migrate was given. */
extern bool options_migrate_only;

#endif
