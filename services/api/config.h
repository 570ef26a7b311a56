/*
 * config.h - rekindle-api's configuration table.
 */
#ifndef RK_API_CONFIG_H
#define RK_API_CONFIG_H

#include <stdbool.h>

#include "cfg.h"
#include "daemon.h"

extern char *var_grpc_listen;
extern char *var_admin_token;
extern char *var_bus_listen;
extern int var_grpc_threads;
extern int var_handler_threads;
extern int var_max_recv_bytes;
extern int var_max_send_bytes;
extern int var_max_queue;
extern char *var_tls_cert_file;
extern char *var_tls_key_file;
extern char *var_tls_client_ca_file;
extern int var_shutdown_grace_ms;
extern int var_drain_delay_ms;
extern char *var_port_file;
extern int var_profile_chunk;
extern char *var_database_read_url;
extern int var_read_max_staleness_ms;

extern const struct cfg_entry api_cfg[];

#endif
