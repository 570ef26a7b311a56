/*
 * tracker_cfg.h - rekindle-tracker's configuration (tracker_cfg.c); with
 * it the process reads engage_cfg.
 */
#ifndef RK_TRACKER_CFG_H
#define RK_TRACKER_CFG_H

#include "cfg.h"

extern char *var_listen_address, *var_tracker_port_file;
extern char *var_mo_cpid, *var_mo_private_key, *var_optout_keywords,
    *var_optout_confirmation, *var_zalo_app_id, *var_zalo_oa_secret_key,
    *var_zalo_optout_events;
extern int var_listen_port, var_threads;
extern const struct cfg_entry tracker_cfg[];

#endif
