/*
 * tracker_cfg.c - rekindle-tracker's configuration table.
 */
#include "tracker_cfg.h"

char *var_listen_address, *var_tracker_database_url, *var_tracker_port_file;
int var_listen_port, var_threads;

const struct cfg_entry tracker_cfg[] = {
	{"tracker_listen_address", CFG_STR, "127.0.0.1", &var_listen_address, 0,
	    0, 0, "address the link endpoint listens on"},
	{"tracker_port", CFG_INT, "8080", &var_listen_port, 0, 65535, 0,
	    "port of the link endpoint (0: any free port)"},
	{"tracker_threads", CFG_INT, "4", &var_threads, 1, 64, 0,
	    "threads serving links, each with its database connection"},
	{"database_url", CFG_STR, "", &var_tracker_database_url, 0, 0, CFG_SECRET,
	    "PostgreSQL connection string"},
	{"tracker_port_file", CFG_STR, "", &var_tracker_port_file, 0, 0, 0,
	    "if set, the bound port is written here once serving"},
	CFG_END,
};
