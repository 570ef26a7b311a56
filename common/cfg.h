/*
 * cfg.h - typed configuration tables (Postfix var_/DEF_, PostgreSQL GUC).
 *
 * Each program declares tables of {name, type, default, &var, min, max}.
 * Precedence: default < config file ("name = value" lines) < environment
 * REKINDLE_<NAME> < "-o name=value". The file is shared by all programs,
 * so keys of other programs are skipped there; an unknown -o is an error. A value out of range or of the wrong
 * type is fatal before the program serves anything. Changes apply on
 * restart.
 */
#ifndef RK_CFG_H
#define RK_CFG_H

#include <stdbool.h>
#include <stdio.h>

#include "err.h"

enum cfg_type { CFG_STR, CFG_INT, CFG_BOOL };

#define CFG_SECRET 0x1	/* masked by cfg_print */

struct cfg_entry {
	const char *name;	/* key and, upper-cased, REKINDLE_<NAME> */
	enum cfg_type type;
	const char *def;	/* default as text; NULL = "" */
	void *var;		/* char ** / int * / bool * */
	long min, max;		/* CFG_INT range (inclusive) */
	int flags;
	const char *help;	/* one line for the example config */
};

/* The end of a table. */
#define CFG_END {NULL, CFG_STR, NULL, NULL, 0, 0, 0, NULL}

/*
 * Loads the NULL-terminated list of tables: defaults, then file (may be
 * NULL), then the environment, then overrides ("name=value", n of them).
 * On error writes a message to err (capacity errlen) and returns RK_EINVAL;
 * variables then hold partial values.
 */
rk_err cfg_load(const struct cfg_entry *const *tables, const char *file,
    char *const *overrides, int n, char *err, size_t errlen);

/* Writes "name = value" for every non-default value, secrets masked. */
void cfg_print(FILE *out, const struct cfg_entry *const *tables, bool all);

/* Frees the strings cfg_load stored. */
void cfg_free(const struct cfg_entry *const *tables);

/* The entry named name, or NULL. */
const struct cfg_entry *cfg_find(const struct cfg_entry *const *tables,
    const char *name);

#endif
