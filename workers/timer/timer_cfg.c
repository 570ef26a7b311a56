/*
 * timer_cfg.c - rekindle-timer's configuration table.
 */
#include "timer_cfg.h"

int var_horizon_ms, var_lease_s, var_claim_max, var_fire_max,
    var_poll_ms;

const struct cfg_entry timer_cfg[] = {
	{"timer_horizon_ms", CFG_INT, "3000", &var_horizon_ms, 100, 600000, 0,
	    "how far ahead a process claims timers"},
	{"timer_lease_seconds", CFG_INT, "30", &var_lease_s, 2, 3600, 0,
	    "how long a claim lasts unless renewed (a dead process's timers "
	    "fire this late at most)"},
	{"timer_claim_max", CFG_INT, "20000", &var_claim_max, 1, 1000000, 0,
	    "timers claimed at once"},
	{"timer_fire_max", CFG_INT, "1000", &var_fire_max, 1, 100000, 0,
	    "timers fired in one transaction"},
	{"timer_poll_ms", CFG_INT, "250", &var_poll_ms, 10, 60000, 0,
	    "how often the near future is claimed again"},
	CFG_END,
};
