/*
 * tracker_cfg.h - rekindle-tracker's configuration (tracker_cfg.c); with
 * it the process reads engage_cfg.
 */
#ifndef RK_TRACKER_CFG_H
#define RK_TRACKER_CFG_H

#include "cfg.h"

extern char *var_listen_address, *var_tracker_database_url, *var_tracker_port_file;
extern int var_listen_port, var_threads;
extern const struct cfg_entry tracker_cfg[];

#endif
