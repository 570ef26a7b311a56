/*
 * main.c - rekindle-local: runs rekindle on one machine.
 *
 *	rekindle-local [--state DIR] [--listen ADDR] [--profilers N]
 *	    [--pg-port N] [--metrics-base PORT] [-c FILE] [-o NAME=VALUE]...
 *
 * With no REKINDLE_DATABASE_URL it creates and starts a private
 * PostgreSQL cluster under DIR/pg. It starts rekindle-api and the worker
 * pools (binaries beside its own), restarts any that dies, writes
 * DIR/env (REKINDLE_ADDR, REKINDLE_TOKEN, REKINDLE_DATABASE_URL) for
 * tools, and on Ctrl-C or SIGTERM stops the children, then the cluster.
 * It starts as every program does (daemon.h). With --metrics-base PORT it
 * serves its own metrics on 127.0.0.1:PORT, gives each child the next
 * port, and writes DIR/prometheus-targets.json (a Prometheus file_sd
 * list) naming them all.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "daemon.h"
#include "launcher.h"
#include "log.h"
#include "mem.h"
#include "metrics.h"

#define MAX_CHILDREN 34

static struct metric children_up = METRIC_GAUGE("rekindle_local_children",
    "Child processes running, by program.", "program");
static struct metric restarts = METRIC_COUNTER(
    "rekindle_local_child_restarts_total",
    "Children that exited and were started again, by program.", "program");

rk_err
child_start(struct child *c)
{
	pid_t pid = fork();

	if (pid < 0)
		return (RK_ESYS);
	if (pid == 0) {
		daemon_child_signals();
		/* If the launcher itself is killed, its children stop too. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execv(c->argv[0], c->argv);
		_exit(127);
	}
	c->pid = pid;
	c->started_ms = (long)clock_mono_ms();
	log_info("CHILD-START", "%s started as pid %d", c->name, (int)pid);
	return (RK_OK);
}

/* Reads or makes a secret kept in DIR/NAME (mode 0600): prefix and 48 hex
 * digits. */
static void
local_secret(const char *dir, const char *name, const char *prefix,
    char *out, size_t cap)
{
	char path[PATH_MAX + 32];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "r")) != NULL) {
		if (fgets(out, (int)cap, fp) != NULL)
			out[strcspn(out, "\n")] = '\0';
		fclose(fp);
		if (strlen(out) >= 16)
			return;
	}
	if ((fp = fopen("/dev/urandom", "r")) == NULL ||
	    fread(out, 1, 24, fp) != 24)
		log_fatal("RANDOM-FAIL", "cannot read /dev/urandom");
	fclose(fp);
	{
		unsigned char raw[24];
		static const char hex[] = "0123456789abcdef";

		memcpy(raw, out, 24);
		snprintf(out, cap, "%s", prefix);
		for (int i = 0; i < 24 && strlen(out) + 3 < cap; i++) {
			size_t n = strlen(out);

			out[n] = hex[raw[i] >> 4];
			out[n + 1] = hex[raw[i] & 15];
			out[n + 2] = '\0';
		}
	}
	umask(077);
	if ((fp = fopen(path, "w")) == NULL)
		log_fatal("STATE-WRITE", "cannot write %s: %m", path);
	fprintf(fp, "%s\n", out);
	fclose(fp);
}

/* Writes DIR/prometheus-targets.json: the metrics port of the launcher
 * and of each child, labelled with its program. */
static void
write_targets(const char *dir, int base, const struct child *kids, int n)
{
	char path[PATH_MAX + 32], tmp[PATH_MAX + 40];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/prometheus-targets.json", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((fp = fopen(tmp, "w")) == NULL)
		log_fatal("STATE-WRITE", "cannot write %s: %m", tmp);
	fprintf(fp, "[{\"targets\": [\"127.0.0.1:%d\"], \"labels\": "
	    "{\"program\": \"rekindle-local\"}}", base);
	for (int i = 0; i < n; i++)
		fprintf(fp, ",\n {\"targets\": [\"127.0.0.1:%d\"], \"labels\": "
		    "{\"program\": \"%s\"}}", base + 1 + i, kids[i].name);
	fprintf(fp, "]\n");
	if (ferror(fp) || fclose(fp) != 0 || rename(tmp, path) != 0)
		log_fatal("STATE-WRITE", "cannot write %s: %m", path);
}

static void
count_children(const struct child *kids, int n)
{
	metric_clear(&children_up);
	for (int i = 0; i < n; i++)
		metric_add(&children_up, kids[i].pid > 0, kids[i].name);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"state", required_argument, NULL, 's'},
		{"listen", required_argument, NULL, 'l'},
		{"profilers", required_argument, NULL, 'p'},
		{"pg-port", required_argument, NULL, 'P'},
		{"metrics-base", required_argument, NULL, 'm'},
		{"config", required_argument, NULL, 'c'},
		{"override", required_argument, NULL, 'o'},
		{"verbose", no_argument, NULL, 'v'},
		{NULL, 0, NULL, 0},
	};
	const char *state = getenv("REKINDLE_STATE_DIR"), *listen =
	    getenv("REKINDLE_GRPC_LISTEN");
	char dir[PATH_MAX], self[PATH_MAX], bindir[PATH_MAX], url[1024],
	    token[128], bus[PATH_MAX + 16], envpath[PATH_MAX + 8],
	    envtmp[PATH_MAX + 12], secret[128], mbase[32];
	static char paths[4][PATH_MAX + 32], mlisten[MAX_CHILDREN][48];
	static char *kid_argv[MAX_CHILDREN][4];
	static const char *const progs[4] = {"rekindle-api",
	    "rekindle-profiler", "rekindle-campaigner", "rekindle-timer"};
	char *dargv[2 * MAX_CHILDREN + 4];
	struct child kids[MAX_CHILDREN];
	int nprof = 2, pgport = 0, opt, nkids = 0, metrics_base = 0, dargc = 1;
	bool own_pg = false;
	ssize_t n;
	FILE *fp;

	if (state == NULL)
		state = "./state";
	if (listen == NULL)
		listen = "127.0.0.1:50051";
	dargv[0] = argv[0];
	while ((opt = getopt_long(argc, argv, "c:o:v", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			state = optarg;
			break;
		case 'l':
			listen = optarg;
			break;
		case 'p':
			nprof = atoi(optarg);
			break;
		case 'P':
			pgport = atoi(optarg);
			break;
		case 'm':
			metrics_base = atoi(optarg);
			break;
		case 'c': case 'o':	/* the skeleton's own */
			dargv[dargc++] = opt == 'c' ? "-c" : "-o";
			dargv[dargc++] = optarg;
			break;
		case 'v':
			dargv[dargc++] = "-v";
			break;
		default:
			fprintf(stderr, "usage: rekindle-local [--state DIR] "
			    "[--listen ADDR] [--profilers N] [--pg-port N] "
			    "[--metrics-base PORT] [-c FILE] [-o NAME=VALUE]\n");
			return (2);
		}
	}
	if (nprof < 1 || nprof > MAX_CHILDREN - 3)
		log_fatal("CONFIG-INVALID", "--profilers must be 1..%d",
		    MAX_CHILDREN - 3);
	if (metrics_base < 0 || metrics_base > 65535 - MAX_CHILDREN)
		log_fatal("CONFIG-INVALID", "--metrics-base must be 1..%d",
		    65535 - MAX_CHILDREN);
	if (metrics_base > 0) {
		snprintf(mbase, sizeof(mbase), "metrics_listen=127.0.0.1:%d",
		    metrics_base);
		dargv[dargc++] = "-o";
		dargv[dargc++] = mbase;
	}
	dargv[dargc] = NULL;
	optind = 0;	/* the skeleton parses its own options afresh */
	daemon_start(dargc, dargv, &(struct daemon_spec){
	    .name = "rekindle-local"});
	mkdir(state, 0755);
	if (realpath(state, dir) == NULL)
		log_fatal("STATE-DIR", "cannot use state directory \"%s\": %m",
		    state);
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) < 0)
		log_fatal("SELF", "cannot find own binary: %m");
	self[n] = '\0';
	snprintf(bindir, sizeof(bindir), "%s", self);
	*strrchr(bindir, '/') = '\0';
	for (int i = 0; i < 4; i++)
		snprintf(paths[i], sizeof(paths[i]), "%s/%s", bindir, progs[i]);

	if (getenv("REKINDLE_DATABASE_URL") != NULL &&
	    *getenv("REKINDLE_DATABASE_URL") != '\0') {
		snprintf(url, sizeof(url), "%s", getenv("REKINDLE_DATABASE_URL"));
	} else {
		if (pgport == 0)
			pgport = 54320 + (int)(getpid() % 500);
		if (pgcluster_start(dir, pgport, url, sizeof(url)) != RK_OK)
			log_fatal("PG-FAIL", "could not start the private cluster");
		own_pg = true;
	}
	if (getenv("REKINDLE_ADMIN_TOKEN") != NULL &&
	    strlen(getenv("REKINDLE_ADMIN_TOKEN")) >= 16)
		snprintf(token, sizeof(token), "%s",
		    getenv("REKINDLE_ADMIN_TOKEN"));
	else
		local_secret(dir, "admin.token", "rk_local_", token, sizeof(token));
	if (getenv("REKINDLE_TRACKING_SECRET") != NULL &&
	    strlen(getenv("REKINDLE_TRACKING_SECRET")) >= 16)
		snprintf(secret, sizeof(secret), "%s",
		    getenv("REKINDLE_TRACKING_SECRET"));
	else
		local_secret(dir, "tracking.secret", "", secret, sizeof(secret));
	snprintf(bus, sizeof(bus), "ipc://%s/bus.ipc", dir);
	/* the children read these; set before any child is forked */
	setenv("REKINDLE_DATABASE_URL", url, 1);
	setenv("REKINDLE_ADMIN_TOKEN", token, 1);
	setenv("REKINDLE_TRACKING_SECRET", secret, 1);
	setenv("REKINDLE_GRPC_LISTEN", listen, 1);
	setenv("REKINDLE_BUS_LISTEN", bus, 1);
	setenv("REKINDLE_BUS_CONNECT", bus, 1);
	/* each child gets its own metrics port below, never the launcher's */
	unsetenv("REKINDLE_METRICS_LISTEN");
	unsetenv("REKINDLE_METRICS_PORT_FILE");
	/* Written aside and renamed into place: a tool that finds the file
	 * finds all of it. */
	snprintf(envpath, sizeof(envpath), "%s/env", dir);
	snprintf(envtmp, sizeof(envtmp), "%s/env.tmp", dir);
	umask(077);
	if ((fp = fopen(envtmp, "w")) == NULL)
		log_fatal("STATE-WRITE", "cannot write %s: %m", envtmp);
	fprintf(fp, "REKINDLE_ADDR='%s'\nREKINDLE_TOKEN='%s'\n"
	    "REKINDLE_DATABASE_URL='%s'\nREKINDLE_TRACKING_SECRET='%s'\n", listen,
	    token, url, secret);
	if (ferror(fp) || fclose(fp) != 0 || rename(envtmp, envpath) != 0)
		log_fatal("STATE-WRITE", "cannot write %s: %m", envpath);
	umask(022);

	memset(kids, 0, sizeof(kids));
	for (int p = 0; p < 4; p++)
		for (int i = 0; i < (p == 1 ? nprof : 1); i++) {
			char **av = kid_argv[nkids];

			av[0] = paths[p];
			if (metrics_base > 0) {
				snprintf(mlisten[nkids], sizeof(mlisten[nkids]),
				    "metrics_listen=127.0.0.1:%d",
				    metrics_base + 1 + nkids);
				av[1] = "-o";
				av[2] = mlisten[nkids];
			}
			kids[nkids] = (struct child){.name = progs[p],
			    .argv = av};
			nkids++;
		}
	if (metrics_base > 0)
		write_targets(dir, metrics_base, kids, nkids);
	for (int i = 0; i < nkids; i++)
		if (child_start(&kids[i]) != RK_OK)
			log_fatal("CHILD-FAIL", "cannot start %s: %m",
			    kids[i].name);
	count_children(kids, nkids);
	log_info("LOCAL-READY", "rekindle is running: API on %s, %d profilers, "
	    "1 campaigner, 1 timer; tools read %s", listen, nprof, envpath);

	while (!daemon_stopping()) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid < 0 && errno != EINTR)
			break;
		if (pid <= 0) {
			daemon_sleep_ms(100);
			continue;
		}
		for (int i = 0; i < nkids; i++) {
			long ran;

			if (kids[i].pid != pid)
				continue;
			kids[i].pid = 0;
			if (daemon_stopping())
				break;
			ran = (long)clock_mono_ms() - kids[i].started_ms;
			log_warn("CHILD-EXIT", "%s (pid %d) exited with status "
			    "%d after %ld ms; restarting", kids[i].name,
			    (int)pid, WIFEXITED(status) ? WEXITSTATUS(status) :
			    128 + WTERMSIG(status), ran);
			kids[i].restarts++;
			metric_add(&restarts, 1, kids[i].name);
			if (ran < 1000)
				daemon_sleep_ms(1000);	/* no hot restart loop */
			if (!daemon_stopping())
				(void)child_start(&kids[i]);
		}
		count_children(kids, nkids);
	}
	log_info("LOCAL-STOP", "stopping");
	for (int i = 0; i < nkids; i++)
		if (kids[i].pid > 0)
			kill(kids[i].pid, SIGTERM);
	for (int waited = 0; waited < 150; waited++) {
		int alive = 0;

		for (int i = 0; i < nkids; i++) {
			if (kids[i].pid > 0 && waitpid(kids[i].pid, NULL,
			    WNOHANG) == kids[i].pid)
				kids[i].pid = 0;
			alive += kids[i].pid > 0;
		}
		if (alive == 0)
			break;
		usleep(100000);
	}
	for (int i = 0; i < nkids; i++)
		if (kids[i].pid > 0) {
			log_warn("CHILD-KILL", "%s did not stop; killing",
			    kids[i].name);
			kill(kids[i].pid, SIGKILL);
			waitpid(kids[i].pid, NULL, 0);
		}
	if (own_pg)
		pgcluster_stop(dir);
	daemon_finish();
	log_info("LOCAL-EXIT", "stopped");
	return (0);
}
