/*
 * config.c - rekindle-api's configuration table.
 */
#include "config.h"

char *var_grpc_listen;
char *var_admin_token;
char *var_bus_listen;
int var_grpc_threads;
int var_handler_threads;
int var_max_recv_bytes;
int var_max_send_bytes;
int var_max_queue;
char *var_tls_cert_file;
char *var_tls_key_file;
char *var_tls_client_ca_file;
int var_shutdown_grace_ms;
int var_drain_delay_ms;
char *var_port_file;
int var_profile_chunk;
char *var_database_read_url;
int var_read_max_staleness_ms;

const struct cfg_entry api_cfg[] = {
	{"grpc_listen", CFG_STR, "127.0.0.1:50051", &var_grpc_listen, 0, 0, 0,
	    "address:port the gRPC server listens on (port 0 picks one)"},
	{"admin_token", CFG_STR, "", &var_admin_token, 0, 0, CFG_SECRET,
	    "bootstrap admin bearer token, stored hashed at start"},
	{"bus_listen", CFG_STR, "ipc:///tmp/rekindle-bus.ipc", &var_bus_listen,
	    0, 0, 0, "nng URL where the API publishes worker wake-ups"},
	{"grpc_threads", CFG_INT, "2", &var_grpc_threads, 1, 64, 0,
	    "completion-queue threads"},
	{"handler_threads", CFG_INT, "8", &var_handler_threads, 1, 256, 0,
	    "handler threads, each with its own database connection"},
	{"max_recv_bytes", CFG_INT, "16777216", &var_max_recv_bytes, 1024,
	    268435456, 0, "largest request message accepted"},
	{"max_send_bytes", CFG_INT, "16777216", &var_max_send_bytes, 1024,
	    268435456, 0, "largest response message sent"},
	{"max_queue", CFG_INT, "10000", &var_max_queue, 1, 1000000, 0,
	    "calls waiting for a handler before RESOURCE_EXHAUSTED"},
	{"tls_cert_file", CFG_STR, "", &var_tls_cert_file, 0, 0, 0,
	    "PEM certificate chain; empty = plaintext"},
	{"tls_key_file", CFG_STR, "", &var_tls_key_file, 0, 0, 0,
	    "PEM private key of tls_cert_file"},
	{"tls_client_ca_file", CFG_STR, "", &var_tls_client_ca_file, 0, 0, 0,
	    "PEM CA bundle; set = clients must present a certificate (mTLS)"},
	{"shutdown_grace_ms", CFG_INT, "10000", &var_shutdown_grace_ms, 0,
	    600000, 0, "time calls in flight get to finish on SIGTERM"},
	{"drain_delay_ms", CFG_INT, "0", &var_drain_delay_ms, 0, 600000, 0,
	    "on SIGTERM, how long the API answers NOT_SERVING and still takes "
	    "calls, so load balancers move away before it stops listening"},
	{"port_file", CFG_STR, "", &var_port_file, 0, 0, 0,
	    "if set, the bound port is written here once serving"},
	{"database_read_url", CFG_STR, "", &var_database_read_url, 0, 0,
	    CFG_SECRET, "libpq connection string of a streaming replica for "
	    "reports, List calls and exports; empty: the primary serves them"},
	{"read_max_staleness_ms", CFG_INT, "5000", &var_read_max_staleness_ms,
	    500, 3600000, 0, "the replica serves reads only while it is at most "
	    "this far behind the primary"},
	{"profile_chunk", CFG_INT, "5000", &var_profile_chunk, 10, 100000, 0,
	    "customers per job of a full profiling run"},
	CFG_END,
};
