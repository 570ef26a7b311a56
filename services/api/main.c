/*
 * main.c - rekindle-api: options, configuration, database, bus, server,
 * and an orderly stop on SIGTERM/SIGINT.
 *
 * The start-up is the one every program shares (daemon.h); on SIGTERM
 * the API reports NOT_SERVING, drains the calls in flight for up to
 * shutdown_grace_ms and exits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "bus.h"
#include "campaign_rpc.h"
#include "config.h"
#include "engage.h"
#include "msgtoken.h"
#include "db.h"
#include "daemon.h"
#include "descset.h"
#include "health.h"
#include "log.h"
#include "mem.h"
#include "methods.h"
#include "replica.h"
#include "server.h"
#include "wakeup.h"

extern const char rk_protoset_start[], rk_protoset_end[];

/* The health thread's verdict on the database, unless draining. */
static void
on_health(bool db_ok)
{
	if (!db_ok && health_serving())
		log_warn("HEALTH-NOT-SERVING", "database unreachable");
	health_set_serving(db_ok);
}

/* The bootstrap admin token, stored hashed. */
static void
bootstrap_admin(void)
{
	db_conn *db;

	if (*var_admin_token == '\0')
		return;
	if (strlen(var_admin_token) < 16)
		log_fatal("CONFIG-INVALID", "admin_token must be at least 16 "
		    "characters");
	if ((db = daemon_db_open("rekindle-api")) == NULL)
		exit(0);
	if (auth_bootstrap_admin(db, var_admin_token) != RK_OK)
		log_fatal("DB-ERROR", "could not store the admin token: %s",
		    db_errmsg(db));
	db_close(db);
}

int
main(int argc, char **argv)
{
	static const struct cfg_entry *const tables[] = {api_cfg, engage_cfg,
	    msgtoken_cfg, report_cfg, NULL};
	struct server_config sc;
	struct server_method *methods;
	int nmethods, port, sig;
	char err[512];
	server *srv;
	bus *pub = NULL;

	daemon_start(argc, argv, &(struct daemon_spec){.name = "rekindle-api",
	    .cfg = tables, .flags = DAEMON_DATABASE});
	if (descset_load(rk_protoset_start,
	    (size_t)(rk_protoset_end - rk_protoset_start)) != RK_OK)
		log_panic("DESCSET-BAD", "embedded descriptor set is corrupt");
	bootstrap_admin();
	/* The database answered a moment ago: serve at once, not only after the
	 * health thread's next ping (a client that waits for API-LISTEN would
	 * otherwise be told NOT_SERVING). */
	health_set_serving(true);
	daemon_on_health(on_health);
	if (*var_bus_listen != '\0') {
		if (bus_open_pub(var_bus_listen, &pub, err, sizeof(err)) != RK_OK)
			log_fatal("BUS-OPEN-FAIL", "%s", err);
		wakeup_set_bus(pub);
		daemon_set_ready("bus", true);
	}
	if (methods_build(&methods, &nmethods, err, sizeof(err)) != RK_OK)
		log_panic("METHODS-BAD", "%s", err);
	sc = (struct server_config){
		.listen = var_grpc_listen,
		.database_url = var_database_url,
		.cq_threads = var_grpc_threads,
		.handler_threads = var_handler_threads,
		.max_recv_bytes = var_max_recv_bytes,
		.max_send_bytes = var_max_send_bytes,
		.max_queue = var_max_queue,
		.tls_cert_file = var_tls_cert_file,
		.tls_key_file = var_tls_key_file,
		.tls_client_ca_file = var_tls_client_ca_file,
	};
	if (server_start(&sc, methods, nmethods, &srv, &port, err,
	    sizeof(err)) != RK_OK)
		log_fatal("LISTEN-FAIL", "%s", err);
	daemon_set_ready("grpc", true);
	replica_start(var_database_url, var_database_read_url,
	    var_read_max_staleness_ms);
	log_info("API-LISTEN", "serving %d methods on port %d (%s)", nmethods,
	    port, *var_tls_cert_file ? "TLS" : "plaintext");
	if (*var_port_file != '\0')
		daemon_write_port_file(var_port_file, port);

	sig = daemon_wait();
	log_info("API-STOP", "signal %d: draining", sig);
	/* NOT_SERVING while calls in flight finish, so balancers move on */
	health_set_serving(false);
	daemon_set_ready("grpc", false);
	if (var_drain_delay_ms > 0) {
		struct timespec ts = {var_drain_delay_ms / 1000,
		    (long)(var_drain_delay_ms % 1000) * 1000000L};

		nanosleep(&ts, NULL);
	}
	health_shutdown();
	server_stop(srv, var_shutdown_grace_ms);
	replica_stop();
	wakeup_set_bus(NULL);
	bus_close(pub);
	methods_free(methods, nmethods);
	descset_unload();
	daemon_finish();
	log_info("API-EXIT", "stopped");
	return (0);
}
