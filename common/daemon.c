/*
 * daemon.c - the process skeleton: options, logging, signals, database,
 * the metrics and health endpoint.
 *
 * CONCURRENCY
 *	SIGTERM and SIGINT are blocked before any thread starts, so every
 *	thread inherits the mask and only the signal thread takes them
 *	(sigwait): no handler ever runs at an arbitrary point. The stop flag
 *	and the readiness table are guarded by mu; sleepers wait on stop_cv
 *	(CLOCK_MONOTONIC). The health thread owns its connection.
 *
 * DIAGNOSTICS
 *	DAEMON-START, DAEMON-STOP (signal), DB-UNAVAILABLE, DB-CONNECT-FAIL,
 *	DB-MIGRATED, DB-MIGRATE-FAIL, METRICS-LISTEN, HEALTH-DB-DOWN,
 *	HEALTH-DB-UP.
 */
#include <dirent.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "daemon.h"
#include "log.h"
#include "mem.h"
#include "metrics.h"
#include "options.h"

char *var_database_url;
static char *var_metrics_listen;
static char *var_metrics_port_file;
static int var_health_interval_ms;

const struct cfg_entry daemon_cfg[] = {
	{"database_url", CFG_STR, "", &var_database_url, 0, 0, CFG_SECRET,
	    "libpq connection string of the rekindle database"},
	{"metrics_listen", CFG_STR, "", &var_metrics_listen, 0, 0, 0,
	    "host:port of the /metrics, /healthz and /readyz endpoint (port 0 "
	    "picks one); empty: none"},
	{"metrics_port_file", CFG_STR, "", &var_metrics_port_file, 0, 0, 0,
	    "if set, the endpoint's bound port is written here"},
	{"health_interval_ms", CFG_INT, "2000", &var_health_interval_ms, 100,
	    60000, 0, "how often the database is pinged for health"},
	CFG_END,
};

static const struct daemon_spec *spec;
static const struct cfg_entry *tables[18];
static char id[160];

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t stop_cv;
static _Atomic bool stopping;
static int stop_signal;
static struct {
	char name[16];
	bool up;
} parts[8];
static int nparts;
static _Atomic int db_ok = -1;		/* -1: not checked yet */
static void (*health_fn)(bool);

static pthread_t sig_thread, health_thread;
static bool health_started;
static struct MHD_Daemon *endpoint;
static time_t started_at;

static struct metric db_up = METRIC_GAUGE("rekindle_db_up",
    "1 if the database answered the last health ping.", NULL);
static struct metric rss = METRIC_GAUGE(
    "rekindle_process_resident_memory_bytes",
    "Resident memory of the process.", NULL);
static struct metric cpu = METRIC_COUNTER("rekindle_process_cpu_seconds_total",
    "User and system CPU time the process used.", NULL);
static struct metric start_time = METRIC_GAUGE(
    "rekindle_process_start_time_seconds",
    "When the process started, seconds since the epoch.", NULL);
static struct metric open_fds = METRIC_GAUGE("rekindle_process_open_fds",
    "Open file descriptors.", NULL);
static struct metric ready = METRIC_GAUGE("rekindle_ready",
    "1 if the process is ready (what /readyz answers).", NULL);

/* ---- signals and stopping ---- */

static void *
signal_main(void *arg)
{
	sigset_t *set = arg;
	int sig = 0;

	while (sigwait(set, &sig) != 0)
		;
	pthread_mutex_lock(&mu);
	stopping = true;
	stop_signal = sig;
	pthread_cond_broadcast(&stop_cv);
	pthread_mutex_unlock(&mu);
	return (NULL);
}

bool
daemon_stopping(void)
{
	return (stopping);
}

void
daemon_request_stop(void)
{
	pthread_mutex_lock(&mu);
	stopping = true;
	pthread_cond_broadcast(&stop_cv);
	pthread_mutex_unlock(&mu);
}

bool
daemon_sleep_ms(int ms)
{
	struct timespec ts;
	bool s;

	clock_deadline(CLOCK_MONOTONIC, ms, &ts);
	pthread_mutex_lock(&mu);
	while (!stopping && pthread_cond_timedwait(&stop_cv, &mu, &ts) == 0)
		;
	s = stopping;
	pthread_mutex_unlock(&mu);
	return (!s);
}

int
daemon_wait(void)
{
	int sig;

	pthread_mutex_lock(&mu);
	while (!stopping)
		pthread_cond_wait(&stop_cv, &mu);
	sig = stop_signal;
	pthread_mutex_unlock(&mu);
	return (sig);
}

/* ---- readiness ---- */

void
daemon_set_ready(const char *part, bool up)
{
	int i;

	pthread_mutex_lock(&mu);
	for (i = 0; i < nparts && strcmp(parts[i].name, part) != 0; i++)
		;
	if (i == nparts && nparts < (int)(sizeof(parts) / sizeof(parts[0]))) {
		snprintf(parts[i].name, sizeof(parts[i].name), "%s", part);
		nparts++;
	}
	if (i < nparts)
		parts[i].up = up;
	pthread_mutex_unlock(&mu);
}

void
daemon_on_health(void (*fn)(bool db_ok))
{
	health_fn = fn;
}

/* What keeps the process from being ready, written to why; true if
 * nothing does. */
static bool
is_ready(char *why, size_t cap)
{
	bool ok = true;
	size_t n = 0;

	why[0] = '\0';
	pthread_mutex_lock(&mu);
	if (stopping) {
		n += (size_t)snprintf(why + n, cap - n, "stopping\n");
		ok = false;
	}
	for (int i = 0; i < nparts && n < cap; i++)
		if (!parts[i].up) {
			n += (size_t)snprintf(why + n, cap - n, "%s down\n",
			    parts[i].name);
			ok = false;
		}
	pthread_mutex_unlock(&mu);
	if ((spec->flags & DAEMON_DATABASE) && db_ok != 1 && n < cap) {
		snprintf(why + n, cap - n, "database unreachable\n");
		ok = false;
	}
	return (ok);
}

/* ---- the database ---- */

db_conn *
daemon_db_open(const char *app)
{
	char err[512] = "";
	db_conn *db;

	for (int i = 0; i < 600 && !daemon_stopping(); i++) {
		if (db_open(var_database_url, app, &db, err, sizeof(err)) ==
		    RK_OK)
			return (db);
		if (i == 0)
			log_warn("DB-UNAVAILABLE", "could not connect to the "
			    "database, retrying: %s", err);
		daemon_sleep_ms(100);
	}
	if (daemon_stopping())
		return (NULL);
	log_fatal("DB-CONNECT-FAIL", "could not connect to the database: %s",
	    err);
}

db_conn *
daemon_metrics_db(void)
{
	static db_conn *db;
	char app[96], err[256];

	if (db != NULL || !(spec->flags & DAEMON_DATABASE))
		return (db);
	snprintf(app, sizeof(app), "%s/metrics", spec->name);
	if (db_open(var_database_url, app, &db, err, sizeof(err)) != RK_OK)
		db = NULL;
	return (db);
}

static void *
health_main(void *arg)
{
	char app[96], err[512];
	db_conn *db = NULL;

	(void)arg;
	snprintf(app, sizeof(app), "%s/health", spec->name);
	do {
		int ok;

		if (db == NULL && db_open(var_database_url, app, &db, err,
		    sizeof(err)) != RK_OK)
			db = NULL;
		ok = db != NULL && db_ping(db) == RK_OK;
		if (ok != db_ok)
			log_msg(ok ? LOG_INFO : LOG_WARN, ok ? "HEALTH-DB-UP" :
			    "HEALTH-DB-DOWN", ok ? "the database answers" :
			    "the database does not answer: %s", db ?
			    db_errmsg(db) : err);
		db_ok = ok;
		metric_set(&db_up, ok);
		if (health_fn != NULL && !daemon_stopping())
			health_fn(ok);
	} while (daemon_sleep_ms(var_health_interval_ms));
	db_close(db);
	return (NULL);
}

/* The migrations, under their advisory lock (db_migrate). A database
 * that goes away meanwhile (a restart while a pool starts) is waited for
 * and the migrations tried again; anything else is fatal. */
static void
migrate(void)
{
	for (int tries = 0;; tries++) {
		db_conn *db = daemon_db_open(spec->name);
		int applied = 0;
		rk_err rc;

		if (db == NULL)
			exit(0);	/* stopped while waiting */
		rc = db_migrate(db, db_migrations, db_nmigrations, &applied);
		if (rc == RK_OK) {
			if (applied > 0)
				log_info("DB-MIGRATED", "applied %d migration(s)",
				    applied);
			db_close(db);
			break;
		}
		if (rc != RK_EUNAVAIL || tries >= 600)
			log_fatal("DB-MIGRATE-FAIL", "could not apply migrations: "
			    "%s", db_errmsg(db));
		if (tries == 0)
			log_warn("DB-UNAVAILABLE", "the database went away during "
			    "the migrations, retrying: %s", db_errmsg(db));
		db_close(db);
		daemon_sleep_ms(100);
	}
	db_ok = 1;
	metric_set(&db_up, 1);
}

/* ---- the endpoint ---- */

static void
scrape_process(void *arg)
{
	struct rusage ru;
	long pages = 0, resident = 0;
	FILE *fp;
	DIR *d;

	(void)arg;
	if ((fp = fopen("/proc/self/statm", "r")) != NULL) {
		if (fscanf(fp, "%ld %ld", &pages, &resident) == 2)
			metric_set(&rss, (double)resident *
			    (double)sysconf(_SC_PAGESIZE));
		fclose(fp);
	}
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		double s = (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
		    ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) /
		    1e6;

		metric_clear(&cpu);
		metric_add(&cpu, s);
	}
	if ((d = opendir("/proc/self/fd")) != NULL) {
		int n = 0;

		while (readdir(d) != NULL)
			n++;
		closedir(d);
		metric_set(&open_fds, n - 3);	/* ., .., the DIR's own */
	}
	{
		char why[256];

		metric_set(&ready, is_ready(why, sizeof(why)));
	}
}

static enum MHD_Result
reply(struct MHD_Connection *c, unsigned code, const char *type, char *body,
    size_t len, bool owned)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body,
	    owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_MUST_COPY);
	enum MHD_Result rc;

	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	rc = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return (rc);
}

static enum MHD_Result
serve(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_len, void **con_cls)
{
	(void)cls, (void)version, (void)upload, (void)con_cls;
	if (*upload_len != 0) {
		*upload_len = 0;	/* no body is read */
		return (MHD_YES);
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return (reply(c, 405, "text/plain", "method not allowed\n", 19,
		    false));
	if (strcmp(url, "/metrics") == 0) {
		size_t len;
		char *text = metrics_render(&len);

		return (reply(c, 200, "text/plain; version=0.0.4; charset=utf-8",
		    text, len, true));
	}
	if (strcmp(url, "/healthz") == 0)
		return (reply(c, 200, "text/plain", "ok\n", 3, false));
	if (strcmp(url, "/readyz") == 0) {
		char why[256];

		if (is_ready(why, sizeof(why)))
			return (reply(c, 200, "text/plain", "ready\n", 6, false));
		return (reply(c, 503, "text/plain", why, strlen(why), false));
	}
	return (reply(c, 404, "text/plain", "not found\n", 10, false));
}

static void
start_endpoint(void)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
	    .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	const union MHD_DaemonInfo *info;
	char host[256], *colon;

	snprintf(host, sizeof(host), "%s", var_metrics_listen);
	if ((colon = strrchr(host, ':')) == NULL)
		log_fatal("CONFIG-INVALID", "metrics_listen must be host:port");
	*colon = '\0';
	if (host[0] == '[' && colon > host + 1 && colon[-1] == ']') {
		colon[-1] = '\0';	/* [::1]:9464 */
		memmove(host, host + 1, strlen(host));
	}
	if (getaddrinfo(*host ? host : NULL, colon + 1, &hints, &ai) != 0 ||
	    ai == NULL)
		log_fatal("CONFIG-INVALID", "metrics_listen \"%s\" is not an "
		    "address", var_metrics_listen);
	endpoint = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_ERROR_LOG | (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0),
	    0, NULL, NULL, serve, NULL, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
	    MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
	    MHD_OPTION_END);
	freeaddrinfo(ai);
	if (endpoint == NULL)
		log_fatal("LISTEN-FAIL", "cannot serve metrics on %s",
		    var_metrics_listen);
	info = MHD_get_daemon_info(endpoint, MHD_DAEMON_INFO_BIND_PORT);
	if (*var_metrics_port_file != '\0')
		daemon_write_port_file(var_metrics_port_file, (int)info->port);
	log_info("METRICS-LISTEN", "metrics and health on port %u",
	    (unsigned)info->port);
}

/* ---- start and finish ---- */

void
daemon_write_port_file(const char *path, int port)
{
	char tmp[4096];
	FILE *fp;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((fp = fopen(tmp, "w")) == NULL || fprintf(fp, "%d\n", port) < 0 ||
	    fclose(fp) != 0 || rename(tmp, path) != 0)
		log_fatal("PORT-FILE", "cannot write %s: %m", path);
}

void
daemon_child_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	signal(SIGPIPE, SIG_DFL);
}

const char *
daemon_id(void)
{
	return (id);
}

const char *
daemon_name(void)
{
	return (spec != NULL ? spec->name : "rekindle");
}

void
daemon_start(int argc, char **argv, const struct daemon_spec *s)
{
	static sigset_t set;
	pthread_condattr_t ca;
	char host[64];
	size_t nt = 0;

	spec = s;
	log_init(s->name);
	tables[nt++] = daemon_cfg;
	for (size_t i = 0; s->cfg != NULL && s->cfg[i] != NULL &&
	    nt + 1 < sizeof(tables) / sizeof(tables[0]); i++)
		tables[nt++] = s->cfg[i];
	tables[nt] = NULL;
	options_load(argc, argv, tables);
	if ((s->flags & DAEMON_DATABASE) && *var_database_url == '\0')
		log_fatal("CONFIG-INVALID", "database_url is required");
	gethostname(host, sizeof(host));
	host[sizeof(host) - 1] = '\0';
	snprintf(id, sizeof(id), "%s@%s:%d", s->name, host, (int)getpid());
	started_at = time(NULL);
	srand48((long)getpid() ^ (long)clock_now_us());

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&stop_cv, &ca);
	pthread_condattr_destroy(&ca);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (pthread_create(&sig_thread, NULL, signal_main, &set) != 0)
		log_fatal("THREAD-FAIL", "could not start the signal thread");
	pthread_detach(sig_thread);

	metric_set(&start_time, (double)started_at);
	db_register_metrics();
	metrics_on_scrape(scrape_process, NULL);
	if (options_migrate_only) {
		if (!(s->flags & DAEMON_DATABASE))
			log_fatal("CONFIG-INVALID", "%s has no database to migrate",
			    s->name);
		migrate();
		log_info("DB-MIGRATE-ONLY", "migrations applied; exiting");
		exit(0);
	}
	if (s->flags & DAEMON_DATABASE) {
		migrate();
		if (pthread_create(&health_thread, NULL, health_main, NULL) != 0)
			log_fatal("THREAD-FAIL", "could not start the health "
			    "thread");
		health_started = true;
	}
	if (*var_metrics_listen != '\0')
		start_endpoint();
	log_info("DAEMON-START", "%s started", id);
}

void
daemon_finish(void)
{
	daemon_request_stop();
	if (health_started)
		pthread_join(health_thread, NULL);
	health_started = false;
	if (endpoint != NULL)
		MHD_stop_daemon(endpoint);
	endpoint = NULL;
	cfg_free(tables);
}
