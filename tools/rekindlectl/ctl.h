/*
 * ctl.h - what rekindlectl's commands share.
 */
#ifndef RK_CTL_H
#define RK_CTL_H

#include <stdbool.h>

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

#endif
