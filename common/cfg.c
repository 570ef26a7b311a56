/*
 * cfg.c - configuration loading.
 *
 * SECURITY
 *	Config files and the environment are trusted (operator input), but
 *	values are still range-checked so a typo fails at start, not later.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "mem.h"

const struct cfg_entry *
cfg_find(const struct cfg_entry *const *tables, const char *name)
{
	for (; *tables != NULL; tables++)
		for (const struct cfg_entry *e = *tables; e->name != NULL; e++)
			if (strcmp(e->name, name) == 0)
				return (e);
	return (NULL);
}

static rk_err
set_value(const struct cfg_entry *e, const char *val, const char *origin,
    char *err, size_t errlen)
{
	char *end;
	long v;

	switch (e->type) {
	case CFG_STR:
		free(*(char **)e->var);
		*(char **)e->var = xstrdup(val);
		return (RK_OK);
	case CFG_BOOL:
		if (strcmp(val, "yes") == 0 || strcmp(val, "true") == 0 ||
		    strcmp(val, "1") == 0 || strcmp(val, "on") == 0) {
			*(bool *)e->var = true;
		} else if (strcmp(val, "no") == 0 || strcmp(val, "false") == 0 ||
		    strcmp(val, "0") == 0 || strcmp(val, "off") == 0) {
			*(bool *)e->var = false;
		} else {
			snprintf(err, errlen, "%s: invalid boolean value \"%.64s\" "
			    "for \"%s\"", origin, val, e->name);
			return (RK_EINVAL);
		}
		return (RK_OK);
	case CFG_INT:
		errno = 0;
		v = strtol(val, &end, 10);
		if (errno != 0 || end == val || *end != '\0') {
			snprintf(err, errlen, "%s: invalid integer value \"%.64s\" "
			    "for \"%s\"", origin, val, e->name);
			return (RK_EINVAL);
		}
		if (v < e->min || v > e->max) {
			snprintf(err, errlen, "%s: value %ld for \"%s\" is outside "
			    "the valid range %ld..%ld", origin, v, e->name,
			    e->min, e->max);
			return (RK_EINVAL);
		}
		*(int *)e->var = (int)v;
		return (RK_OK);
	}
	return (RK_EINTERNAL);
}

static char *
trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return (s);
}

static rk_err
load_file(const struct cfg_entry *const *tables, const char *file, char *err,
    size_t errlen)
{
	FILE *fp = fopen(file, "r");
	char line[4096], origin[512];
	rk_err rc = RK_OK;
	int lineno = 0;

	if (fp == NULL) {
		snprintf(err, errlen, "could not open configuration file "
		    "\"%.256s\": %s", file, strerror(errno));
		return (RK_EINVAL);
	}
	while (rc == RK_OK && fgets(line, sizeof(line), fp) != NULL) {
		char *p = trim(line), *eq, *key;
		const struct cfg_entry *e;

		lineno++;
		if (*p == '\0' || *p == '#')
			continue;
		snprintf(origin, sizeof(origin), "%.256s:%d", file, lineno);
		if ((eq = strchr(p, '=')) == NULL) {
			snprintf(err, errlen, "%s: expected \"name = value\"",
			    origin);
			rc = RK_EINVAL;
			break;
		}
		*eq = '\0';
		key = trim(p);
		/* The file is shared by every program: a key another program
		 * owns is not an error here (Postfix main.cf). */
		if ((e = cfg_find(tables, key)) == NULL)
			continue;
		rc = set_value(e, trim(eq + 1), origin, err, errlen);
	}
	fclose(fp);
	return (rc);
}

rk_err
cfg_load(const struct cfg_entry *const *tables, const char *file,
    char *const *overrides, int n, char *err, size_t errlen)
{
	const struct cfg_entry *const *t;
	rk_err rc;

	for (t = tables; *t != NULL; t++)
		for (const struct cfg_entry *e = *t; e->name != NULL; e++)
			if ((rc = set_value(e, e->def ? e->def : "", "default",
			    err, errlen)) != RK_OK)
				return (rc);
	if (file != NULL && (rc = load_file(tables, file, err, errlen)) != RK_OK)
		return (rc);
	for (t = tables; *t != NULL; t++) {
		for (const struct cfg_entry *e = *t; e->name != NULL; e++) {
			char env[128];
			const char *v;
			size_t i;

			snprintf(env, sizeof(env), "REKINDLE_%s", e->name);
			for (i = 9; env[i] != '\0'; i++)
				env[i] = (char)toupper((unsigned char)env[i]);
			if ((v = getenv(env)) != NULL &&
			    (rc = set_value(e, v, env, err, errlen)) != RK_OK)
				return (rc);
		}
	}
	for (int i = 0; i < n; i++) {
		char *eq = strchr(overrides[i], '='), key[128];
		const struct cfg_entry *e;

		if (eq == NULL || (size_t)(eq - overrides[i]) >= sizeof(key)) {
			snprintf(err, errlen, "-o: expected name=value, got "
			    "\"%.64s\"", overrides[i]);
			return (RK_EINVAL);
		}
		memcpy(key, overrides[i], (size_t)(eq - overrides[i]));
		key[eq - overrides[i]] = '\0';
		if ((e = cfg_find(tables, key)) == NULL) {
			snprintf(err, errlen, "-o: unknown parameter \"%.64s\"",
			    key);
			return (RK_EINVAL);
		}
		if ((rc = set_value(e, eq + 1, "-o", err, errlen)) != RK_OK)
			return (rc);
	}
	return (RK_OK);
}

void
cfg_print(FILE *out, const struct cfg_entry *const *tables, bool all)
{
	for (; *tables != NULL; tables++) {
		for (const struct cfg_entry *e = *tables; e->name != NULL; e++) {
			char val[64];
			const char *v = val, *def = e->def ? e->def : "";

			switch (e->type) {
			case CFG_STR:
				v = *(char **)e->var;
				break;
			case CFG_INT:
				snprintf(val, sizeof(val), "%d", *(int *)e->var);
				break;
			case CFG_BOOL:
				v = *(bool *)e->var ? "yes" : "no";
				if (strcmp(def, "true") == 0 || strcmp(def, "1") == 0)
					def = "yes";
				else if (strcmp(def, "false") == 0 || *def == '\0' ||
				    strcmp(def, "0") == 0)
					def = "no";
				break;
			}
			if (!all && strcmp(v, def) == 0)
				continue;
			if ((e->flags & CFG_SECRET) && *v != '\0')
				v = "********";
			fprintf(out, "%s = %s\n", e->name, v);
		}
	}
}

void
cfg_free(const struct cfg_entry *const *tables)
{
	for (; *tables != NULL; tables++)
		for (const struct cfg_entry *e = *tables; e->name != NULL; e++)
			if (e->type == CFG_STR) {
				free(*(char **)e->var);
				*(char **)e->var = NULL;
			}
}
