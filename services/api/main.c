/*
 * main.c - rekindle-api: options, configuration, database, bus, server,
 * and an orderly stop on SIGTERM/SIGINT.
 *
 * Signals are blocked in every thread and taken synchronously here with
 * sigwait, so no handler runs at an arbitrary point.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "bus.h"
#include "campaign_rpc.h"
#include "config.h"
#include "engage.h"
#include "msgtoken.h"
#include "db.h"
#include "descset.h"
#include "health.h"
#include "log.h"
#include "mem.h"
#include "methods.h"
#include "options.h"
#include "server.h"
#include "wakeup.h"

extern const char rk_protoset_start[], rk_protoset_end[];

static volatile int stopping;

static void *
health_main(void *arg)
{
	db_conn *db = NULL;
	char err[512];

	(void)arg;
	while (!stopping) {
		bool ok;

		if (db == NULL)
			(void)db_open(var_database_url, "rekindle-api/health",
			    &db, err, sizeof(err));
		ok = db != NULL && db_ping(db) == RK_OK;
		if (!ok && health_serving())
			log_warn("HEALTH-NOT-SERVING", "database unreachable: %s",
			    db ? db_errmsg(db) : err);
		if (!stopping)
			health_set_serving(ok);
		for (int t = 0; t < var_health_interval_ms && !stopping; t += 50)
			usleep(50000);
	}
	db_close(db);
	return (NULL);
}

/* True if SIGTERM or SIGINT is pending (they are blocked until sigwait). */
static bool
stop_requested(void)
{
	sigset_t pending;

	sigpending(&pending);
	return (sigismember(&pending, SIGTERM) || sigismember(&pending, SIGINT));
}

static void
startup_db(void)
{
	char err[512];
	db_conn *db = NULL;
	int applied;

	for (int i = 0; i < 600; i++) {
		if (db_open(var_database_url, "rekindle-api", &db, err,
		    sizeof(err)) == RK_OK)
			break;
		if (i == 0)
			log_warn("DB-UNAVAILABLE", "could not connect to the "
			    "database, retrying: %s", err);
		if (stop_requested())
			exit(0);
		usleep(100000);
	}
	if (db == NULL)
		log_fatal("DB-CONNECT-FAIL", "could not connect to the database: "
		    "%s", err);
	if (db_migrate(db, db_migrations, db_nmigrations, &applied) != RK_OK)
		log_fatal("DB-MIGRATE-FAIL", "could not apply migrations: %s",
		    db_errmsg(db));
	if (applied > 0)
		log_info("DB-MIGRATED", "applied %d migration(s)", applied);
	if (*var_admin_token != '\0') {
		if (strlen(var_admin_token) < 16)
			log_fatal("CONFIG-INVALID", "admin_token must be at least "
			    "16 characters");
		if (auth_bootstrap_admin(db, var_admin_token) != RK_OK)
			log_fatal("DB-ERROR", "could not store the admin token: %s",
			    db_errmsg(db));
	}
	db_close(db);
}

int
main(int argc, char **argv)
{
	const struct cfg_entry *tables[5] = {api_cfg, engage_cfg, msgtoken_cfg,
	    report_cfg, NULL};
	struct server_config sc;
	struct server_method *methods;
	int nmethods, port, sig;
	char err[512];
	pthread_t health;
	sigset_t set;
	server *srv;
	bus *pub = NULL;

	log_init("rekindle-api");
	options_load(argc, argv, tables);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (descset_load(rk_protoset_start,
	    (size_t)(rk_protoset_end - rk_protoset_start)) != RK_OK)
		log_panic("DESCSET-BAD", "embedded descriptor set is corrupt");
	startup_db();
	/* The database answered a moment ago: serve at once, not only after the
	 * health thread's first ping (a client that waits for API-LISTEN would
	 * otherwise be told NOT_SERVING). */
	health_set_serving(true);
	if (*var_bus_listen != '\0') {
		if (bus_open_pub(var_bus_listen, &pub, err, sizeof(err)) != RK_OK)
			log_fatal("BUS-OPEN-FAIL", "%s", err);
		wakeup_set_bus(pub);
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
	if (pthread_create(&health, NULL, health_main, NULL) != 0)
		log_fatal("THREAD-FAIL", "could not start health thread");
	log_info("API-LISTEN", "serving %d methods on port %d (%s)", nmethods,
	    port, *var_tls_cert_file ? "TLS" : "plaintext");
	if (*var_port_file != '\0') {
		FILE *fp = fopen(var_port_file, "w");

		if (fp == NULL)
			log_fatal("PORT-FILE", "could not write \"%s\": %m",
			    var_port_file);
		fprintf(fp, "%d\n", port);
		fclose(fp);
	}

	while (sigwait(&set, &sig) != 0)
		;
	log_info("API-STOP", "signal %d: shutting down", sig);
	stopping = 1;
	pthread_join(health, NULL);
	health_shutdown();
	server_stop(srv, var_shutdown_grace_ms);
	wakeup_set_bus(NULL);
	bus_close(pub);
	methods_free(methods, nmethods);
	descset_unload();
	cfg_free(tables);
	log_info("API-EXIT", "stopped");
	return (0);
}
