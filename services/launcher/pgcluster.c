/*
 * pgcluster.c - a private PostgreSQL cluster for the local run.
 *
 * SECURITY
 *	The cluster listens on a Unix socket inside the state directory only
 *	(listen_addresses = ''), with trust authentication for that socket:
 *	only users who can reach the directory can connect.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "launcher.h"
#include "log.h"
#include "mem.h"

/* The newest /usr/lib/postgresql/N/bin, into out. */
static rk_err
pg_bindir(char *out, size_t cap)
{
	DIR *d = opendir("/usr/lib/postgresql");
	struct dirent *e;
	int best = 0;

	if (d == NULL)
		return (RK_ENOTFOUND);
	while ((e = readdir(d)) != NULL) {
		int v = atoi(e->d_name);

		if (v > best)
			best = v;
	}
	closedir(d);
	if (best == 0)
		return (RK_ENOTFOUND);
	snprintf(out, cap, "/usr/lib/postgresql/%d/bin", best);
	return (RK_OK);
}

int
run_wait(char *const argv[], bool as_postgres, const char *log_path)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return (-1);
	if (pid == 0) {
		daemon_child_signals();
		if (as_postgres && getuid() == 0) {
			struct passwd *pw = getpwnam("postgres");

			if (pw == NULL || setgroups(0, NULL) != 0 ||
			    setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
				_exit(126);
		}
		if (log_path != NULL) {
			int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);

			if (fd >= 0) {
				dup2(fd, 1);
				dup2(fd, 2);
				close(fd);
			}
		}
		execv(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return (-1);
	return (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

rk_err
pgcluster_start(const char *dir, int port, char *url, size_t cap)
{
	char bindir[128], pgdir[512], data[600], conf[700], ver[700], log[700];
	char prog[256], sport[16];
	struct stat sb;
	bool root = getuid() == 0;
	struct passwd *pw = root ? getpwnam("postgres") : NULL;

	if (pg_bindir(bindir, sizeof(bindir)) != RK_OK) {
		log_error("PG-MISSING", "PostgreSQL server binaries not found "
		    "under /usr/lib/postgresql (apt-get install postgresql)");
		return (RK_ENOTFOUND);
	}
	if (root && pw == NULL) {
		log_error("PG-USER", "running as root needs a \"postgres\" user");
		return (RK_ENOTFOUND);
	}
	snprintf(pgdir, sizeof(pgdir), "%s/pg", dir);
	snprintf(data, sizeof(data), "%s/data", pgdir);
	snprintf(ver, sizeof(ver), "%s/PG_VERSION", data);
	snprintf(log, sizeof(log), "%s/server.log", pgdir);
	snprintf(sport, sizeof(sport), "%d", port);
	mkdir(dir, 0755);
	mkdir(pgdir, 0700);
	if (root && chown(pgdir, pw->pw_uid, pw->pw_gid) != 0)
		return (RK_ESYS);
	if (stat(ver, &sb) != 0) {
		char *initdb[] = {prog, "-D", data, "-U", "postgres", "-A",
		    "trust", "-E", "UTF8", "--locale=C.UTF-8", NULL};
		FILE *fp;

		snprintf(prog, sizeof(prog), "%s/initdb", bindir);
		log_info("PG-INITDB", "creating a private cluster in %s", data);
		if (run_wait(initdb, true, log) != 0) {
			log_error("PG-INITDB-FAIL", "initdb failed; see %s", log);
			return (RK_ESYS);
		}
		snprintf(conf, sizeof(conf), "%s/postgresql.conf", data);
		if ((fp = fopen(conf, "a")) == NULL)
			return (RK_ESYS);
		fprintf(fp, "listen_addresses = ''\nunix_socket_directories = "
		    "'%s'\nport = %d\nmax_connections = 200\n"
		    "shared_buffers = 256MB\nmax_wal_size = 4GB\n", pgdir, port);
		fclose(fp);
	}
	{
		char opts[700];
		char *pgctl[] = {prog, "-D", data, "-l", log, "-o", opts, "-w",
		    "-t", "60", "start", NULL};

		/* Port and socket given at every start: the state dir may move
		 * and the port is chosen per run. */
		snprintf(opts, sizeof(opts), "-p %d -k '%s'", port, pgdir);

		snprintf(prog, sizeof(prog), "%s/pg_ctl", bindir);
		if (run_wait(pgctl, true, NULL) != 0) {
			log_error("PG-START-FAIL", "could not start PostgreSQL; see "
			    "%s", log);
			return (RK_ESYS);
		}
	}
	{
		char *createdb[] = {prog, "-h", pgdir, "-p", sport, "-U",
		    "postgres", "rekindle", NULL};

		snprintf(prog, sizeof(prog), "%s/createdb", bindir);
		/* Fails harmlessly when the database exists already. */
		(void)run_wait(createdb, true, "/dev/null");
	}
	snprintf(url, cap, "host=%s port=%d user=postgres dbname=rekindle",
	    pgdir, port);
	return (RK_OK);
}

void
pgcluster_stop(const char *dir)
{
	char bindir[128], prog[256], data[600];
	char *pgctl[] = {prog, "-D", data, "-m", "fast", "-w", "stop", NULL};

	if (pg_bindir(bindir, sizeof(bindir)) != RK_OK)
		return;
	snprintf(prog, sizeof(prog), "%s/pg_ctl", bindir);
	snprintf(data, sizeof(data), "%s/pg/data", dir);
	(void)run_wait(pgctl, true, "/dev/null");
}
