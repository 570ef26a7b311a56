/*
 * timer_cfg.h - rekindle-timer's configuration (timer_cfg.c); with it the
 * process reads engage_cfg (policy_hour_seconds).
 */
#ifndef RK_TIMER_CFG_H
#define RK_TIMER_CFG_H

#include "cfg.h"

extern int var_horizon_ms, var_lease_s, var_claim_max, var_fire_max,
    var_poll_ms;
extern const struct cfg_entry timer_cfg[];

#endif
