/*
 * ctl.h - what rekindlectl's commands share.
 */
#ifndef RK_CTL_H
#define RK_CTL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "rkclient.h"

struct ctl {
	rkc *client;
	bool json;
	int timeout_ms;
};

/* An amount in minor units as major units (VND, JPY, KRW have none). */
double ctl_major(long long minor, const char *currency);

/* Prints a failed call's status (and violations) to stderr; returns 1. */
int ctl_fail(const char *what, rk_err rc, const struct rkc_status *st);

int cmd_health(struct ctl *c, int argc, char **argv);
int cmd_customers(struct ctl *c, int argc, char **argv);
int cmd_tokens(struct ctl *c, int argc, char **argv);
int cmd_profiles(struct ctl *c, int argc, char **argv);
int cmd_promotions(struct ctl *c, int argc, char **argv);
int cmd_campaigns(struct ctl *c, int argc, char **argv);
int cmd_call(struct ctl *c, int argc, char **argv);
int cmd_offers(struct ctl *c, int argc, char **argv);
int cmd_audit(struct ctl *c, int argc, char **argv);

/* The usage of command cmd (NULL: every command) to fp. */
void ctl_usage(FILE *fp, const char *cmd);

/*
 * Calls SERVICE/METHOD ("OfferService/GetOffer") with a JSON request;
 * on 0 *out (if not NULL) is the reply as JSON (a new reference). Errors
 * are printed; the return is the exit status.
 */
int ctl_rpc(struct ctl *c, const char *method, json_t *req, json_t **out);

/* Prints j for people: one "field.path  value" line a field. */
void ctl_print_fields(const json_t *j);

/* Prints a reply (JSON, a reference it takes) for people, or as JSON
 * with --json; returns 0. */
int ctl_show(struct ctl *c, json_t *out);

/* o's string member k, "" if none. */
const char *ctl_jstr(const json_t *o, const char *k);

/* Prints a reply as indented JSON to stdout (--json). */
void ctl_print_message(const ProtobufCMessage *m);

/* Prints j as indented JSON to stdout. */
void ctl_print_json(const json_t *j);

/*
 * Shared by the resource commands (offers_cmd.c): create from a YAML or
 * JSON file of the resource's fields (what: "offer"), update the fields a
 * file gives (the update mask), get by id; each prints the result for
 * people, or as JSON with --json. Return the exit status.
 */
int ctl_create(struct ctl *c, const char *what, const char *method,
    const char *path, const char *request_id);
int ctl_update(struct ctl *c, const char *what, const char *idfield,
    const char *method, const char *id, const char *path);
int ctl_get(struct ctl *c, const char *method, const char *idfield,
    const char *id);

/* A YAML or JSON file as JSON (a new reference), or NULL (printed). */
json_t *ctl_load_doc(const char *path);

#endif
