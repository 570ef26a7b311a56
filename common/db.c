/*
 * db.c - PostgreSQL access through libpq.
 *
 * SECURITY
 *	SQL is only ever sent with out-of-line parameters. db_open sets
 *	search_path so that no object of another schema shadows ours.
 *
 * CONCURRENCY
 *	A db_conn belongs to one thread at a time. Only db_cancel may be
 *	called from another thread: it uses the PGcancel object under
 *	cancel_mu, which the owner renews after every (re)connect.
 *
 * DIAGNOSTICS
 *	Nothing is logged here: errors come back as rk_err with the server's
 *	message and SQLSTATE kept for db_errmsg/db_sqlstate; the caller logs.
 */
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "mem.h"
#include "metrics.h"

#define MAX_PREPARED 128

static struct metric connect_errors = METRIC_COUNTER(
    "rekindle_db_connect_errors_total",
    "Connections to PostgreSQL that could not be made (first or again).",
    NULL);
static struct metric reconnects = METRIC_COUNTER(
    "rekindle_db_reconnects_total",
    "Connections to PostgreSQL re-established after they were lost.", NULL);

void
db_register_metrics(void)
{
	metric_register(&connect_errors);
	metric_register(&reconnects);
}

struct db_conn {
	PGconn *conn;
	char *conninfo;
	char *appname;
	bool in_tx;
	bool in_copy;
	char *copy_row;			/* the row db_copy_get gave last */
	int nprepared;
	const char *prepared[MAX_PREPARED];	/* names, string literals */
	char errmsg[512];
	char sqlstate[6];
	pthread_mutex_t cancel_mu;	/* guards cancel against reconnects */
	PGcancel *cancel;
};

struct db_res {
	PGresult *res;
};

rk_err
db_map_sqlstate(const char *s)
{
	if (s == NULL || strlen(s) != 5)
		return (RK_EINTERNAL);
	if (strcmp(s, "23505") == 0)
		return (RK_ECONFLICT);
	if (strcmp(s, "40001") == 0 || strcmp(s, "40P01") == 0 ||
	    strcmp(s, "55P03") == 0)
		return (RK_ERETRY);
	if (strcmp(s, "57014") == 0)
		return (RK_ETIMEDOUT);
	if (strncmp(s, "08", 2) == 0 || strncmp(s, "57P", 3) == 0 ||
	    strncmp(s, "53", 2) == 0)
		return (RK_EUNAVAIL);
	if (strncmp(s, "22", 2) == 0 || strncmp(s, "23", 2) == 0)
		return (RK_EINVAL);
	return (RK_EINTERNAL);
}

static void
set_err(db_conn *db, const char *msg, const char *state)
{
	size_t n;

	snprintf(db->errmsg, sizeof(db->errmsg), "%s", msg ? msg : "");
	n = strlen(db->errmsg);
	while (n > 0 && (db->errmsg[n - 1] == '\n' || db->errmsg[n - 1] == ' '))
		db->errmsg[--n] = '\0';
	snprintf(db->sqlstate, sizeof(db->sqlstate), "%s", state ? state : "");
}

/* Maps a failed result (or a NULL one) and records the error. */
static rk_err
res_err(db_conn *db, PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	set_err(db, res ? PQresultErrorMessage(res) : PQerrorMessage(db->conn),
	    state);
	if (PQstatus(db->conn) != CONNECTION_OK) {
		db->in_tx = false;
		return (RK_EUNAVAIL);
	}
	return (state ? db_map_sqlstate(state) : RK_EUNAVAIL);
}

/* Server notices ("already exists, skipping") are not errors: drop them. */
static void
quiet_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static rk_err
session_setup(db_conn *db)
{
	PGresult *r;
	rk_err rc = RK_OK;

	PQsetNoticeProcessor(db->conn, quiet_notice, NULL);
	pthread_mutex_lock(&db->cancel_mu);
	if (db->cancel != NULL)
		PQfreeCancel(db->cancel);
	db->cancel = PQgetCancel(db->conn);
	pthread_mutex_unlock(&db->cancel_mu);
	/* rekindle's statements are short or streaming: compiling them
	 * (JIT) costs more than it saves. A commit is durable when it
	 * returns whatever the server's default: the send ledger's states
	 * (and every job's) must survive a server crash, or a message
	 * recorded 'sending' could come back 'queued' and go twice. */
	r = PQexec(db->conn, "SET search_path = rekindle; SET jit = off; "
	    "SET synchronous_commit = on");

	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		rc = res_err(db, r);
	PQclear(r);
	db->nprepared = 0;
	return (rc);
}

rk_err
db_open(const char *conninfo, const char *appname, db_conn **out,
    char *errmsg, size_t errlen)
{
	const char *keys[] = {"dbname", "application_name", "connect_timeout",
	    NULL};
	const char *vals[] = {conninfo, appname, "10", NULL};
	db_conn *db;

	*out = NULL;
	db = xcalloc(1, sizeof(*db));
	pthread_mutex_init(&db->cancel_mu, NULL);
	db->conninfo = xstrdup(conninfo);
	db->appname = xstrdup(appname);
	db->conn = PQconnectdbParams(keys, vals, 1);
	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
		metric_add(&connect_errors, 1);
		snprintf(errmsg, errlen, "%s",
		    db->conn ? PQerrorMessage(db->conn) : "out of memory");
		errmsg[strcspn(errmsg, "\n")] = '\0';
		db_close(db);
		return (RK_EUNAVAIL);
	}
	if (session_setup(db) != RK_OK) {
		snprintf(errmsg, errlen, "%s", db->errmsg);
		db_close(db);
		return (RK_EUNAVAIL);
	}
	*out = db;
	return (RK_OK);
}

void
db_close(db_conn *db)
{
	if (db == NULL)
		return;
	if (db->conn != NULL)
		PQfinish(db->conn);
	if (db->cancel != NULL)
		PQfreeCancel(db->cancel);
	if (db->copy_row != NULL)
		PQfreemem(db->copy_row);
	pthread_mutex_destroy(&db->cancel_mu);
	free(db->conninfo);
	free(db->appname);
	free(db);
}

/* Did the last error say the server is gone (shut down, crashed, the
 * connection broke)? 57P01..57P03, 08xxx, or libpq's own error with no
 * SQLSTATE ("server closed the connection unexpectedly", which libpq
 * reports before it marks the connection bad). */
static bool
lost(const db_conn *db)
{
	const char *st = db_sqlstate(db);

	return (st == NULL || *st == '\0' || strncmp(st, "57P0", 4) == 0 ||
	    strncmp(st, "08", 2) == 0);
}

/* Outside a transaction, re-establishes a lost connection. */
static rk_err
ensure_conn(db_conn *db, bool suspect)
{
	/* suspect: a statement just failed as if the server went away; a
	 * connection whose server crashed still reads OK until libpq has
	 * seen the end of the socket, so it is reset all the same */
	if (PQstatus(db->conn) == CONNECTION_OK && !suspect)
		return (RK_OK);
	if (db->in_tx) {
		set_err(db, "connection lost inside a transaction", "08006");
		return (RK_EUNAVAIL);
	}
	PQreset(db->conn);
	if (PQstatus(db->conn) != CONNECTION_OK) {
		metric_add(&connect_errors, 1);
		set_err(db, PQerrorMessage(db->conn), "08006");
		return (RK_EUNAVAIL);
	}
	metric_add(&reconnects, 1);
	return (session_setup(db));
}

static rk_err
finish(db_conn *db, PGresult *r, db_res **res)
{
	ExecStatusType st = PQresultStatus(r);
	rk_err rc;

	if (res != NULL)
		*res = NULL;
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		if (res != NULL) {
			*res = xmalloc(sizeof(**res));
			(*res)->res = r;
		} else {
			PQclear(r);
		}
		return (RK_OK);
	}
	rc = res_err(db, r);
	PQclear(r);
	return (rc);
}

/*
 * Runs one statement; if the connection was lost between transactions,
 * reconnects and tries once more (the statement cannot have committed).
 */
static rk_err
run(db_conn *db, const char *name, const char *sql, int n,
    const char *const *params, const int *lengths, const int *formats,
    db_res **res)
{
	for (int attempt = 0;; attempt++) {
		PGresult *r;
		rk_err rc;
		int i;

		if ((rc = ensure_conn(db, attempt > 0)) != RK_OK)
			return (rc);
		if (name != NULL) {
			for (i = 0; i < db->nprepared; i++)
				if (db->prepared[i] == name)
					break;
			if (i == db->nprepared) {
				r = PQprepare(db->conn, name, sql, n, NULL);
				if (PQresultStatus(r) != PGRES_COMMAND_OK) {
					rc = res_err(db, r);
					PQclear(r);
					if (rc == RK_EUNAVAIL && attempt == 0 &&
					    !db->in_tx)
						continue;
					return (rc);
				}
				PQclear(r);
				if (db->nprepared < MAX_PREPARED)
					db->prepared[db->nprepared++] = name;
			}
			r = PQexecPrepared(db->conn, name, n, params, lengths,
			    formats, 0);
		} else {
			r = PQexecParams(db->conn, sql, n, NULL, params, lengths,
			    formats, 0);
		}
		rc = finish(db, r, res);
		if (rc == RK_EUNAVAIL && attempt == 0 && !db->in_tx &&
		    (PQstatus(db->conn) != CONNECTION_OK || lost(db)))
			continue;
		return (rc);
	}
}

rk_err
db_exec(db_conn *db, const char *sql, int n, const char *const *params,
    db_res **res)
{
	return (run(db, NULL, sql, n, params, NULL, NULL, res));
}

rk_err
db_execp(db_conn *db, const char *name, const char *sql, int n,
    const char *const *params, db_res **res)
{
	return (run(db, name, sql, n, params, NULL, NULL, res));
}

rk_err
db_execp_count(db_conn *db, const char *name, const char *sql, int n,
    const char *const *params, int64_t *affected)
{
	db_res *r;
	rk_err rc;

	if ((rc = run(db, name, sql, n, params, NULL, NULL, &r)) != RK_OK)
		return (rc);
	*affected = db_res_affected(r);
	db_res_free(r);
	return (RK_OK);
}

rk_err
db_execp_bin(db_conn *db, const char *name, const char *sql, int n,
    const char *const *params, const int *lengths, const int *formats,
    db_res **res)
{
	return (run(db, name, sql, n, params, lengths, formats, res));
}

char *
db_int64_array(arena *a, const int64_t *v, size_t n)
{
	char *out = arena_alloc(a, 3 + n * 21);
	size_t len = 1;

	out[0] = '{';
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(out + len, "%s%lld", i ? "," : "",
		    (long long)v[i]);
	strcpy(out + len, "}");
	return (out);
}

char *
db_text_array(arena *a, const char *const *s, size_t n)
{
	size_t len = 3;
	char *out, *p;

	for (size_t i = 0; i < n; i++)
		len += s[i] ? strlen(s[i]) * 2 + 3 : 5;
	p = out = arena_alloc(a, len);
	*p++ = '{';
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			*p++ = ',';
		if (s[i] == NULL) {
			memcpy(p, "NULL", 4);
			p += 4;
			continue;
		}
		*p++ = '"';
		for (const char *q = s[i]; *q; q++) {
			if (*q == '"' || *q == '\\')
				*p++ = '\\';
			*p++ = *q;
		}
		*p++ = '"';
	}
	*p++ = '}';
	*p = '\0';
	return (out);
}

int
db_parse_float_array(const char *text, double *out, int max)
{
	const char *p = text;
	int n = 0;

	if (p == NULL || *p != '{')
		return (-1);
	p++;
	while (*p != '}' && n < max) {
		char *end;

		out[n++] = strtod(p, &end);
		if (end == p)
			return (-1);
		p = end;
		if (*p == ',')
			p++;
	}
	return (n);
}

char **
db_array_split(arena *a, const char *text, size_t *n)
{
	size_t cap = 8, len = text ? strlen(text) : 0;
	char **out = arena_alloc(a, sizeof(char *) * cap);
	const char *p = text;

	*n = 0;
	if (len < 2 || p[0] != '{' || strcmp(p, "{}") == 0) {
		out[0] = NULL;
		return (out);
	}
	p++;
	while (*p != '\0' && *p != '}') {
		size_t span = 0;
		char *item, *q;

		/* This item's bytes in the text bound its length. */
		if (*p == '"') {
			for (const char *e = p + 1; *e != '\0' && *e != '"'; e++) {
				if (*e == '\\' && e[1] != '\0')
					e++;
				span++;
			}
		} else
			span = strcspn(p, ",}");
		item = q = arena_alloc(a, span + 1);
		if (*p == '"') {
			for (p++; *p != '\0' && *p != '"'; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				*q++ = *p;
			}
			if (*p == '"')
				p++;
		} else {
			while (*p != '\0' && *p != ',' && *p != '}')
				*q++ = *p++;
		}
		*q = '\0';
		if (*n + 1 >= cap) {
			char **grown = arena_alloc(a, sizeof(char *) * cap * 2);

			memcpy(grown, out, sizeof(char *) * cap);
			out = grown;
			cap *= 2;
		}
		out[(*n)++] = item;
		if (*p == ',')
			p++;
	}
	out[*n] = NULL;
	return (out);
}

rk_err
db_begin(db_conn *db)
{
	rk_err rc = db_exec(db, "BEGIN", 0, NULL, NULL);

	if (rc == RK_OK)
		db->in_tx = true;
	return (rc);
}

rk_err
db_commit(db_conn *db)
{
	rk_err rc = db_exec(db, "COMMIT", 0, NULL, NULL);

	db->in_tx = false;
	return (rc);
}

void
db_rollback(db_conn *db)
{
	if (PQstatus(db->conn) == CONNECTION_OK &&
	    PQtransactionStatus(db->conn) != PQTRANS_IDLE) {
		PGresult *r = PQexec(db->conn, "ROLLBACK");

		PQclear(r);
	}
	db->in_tx = false;
}

bool
db_in_transaction(const db_conn *db)
{
	return (db->in_tx);
}

rk_err
db_set_local_timeout(db_conn *db, int64_t ms)
{
	char buf[32];
	const char *p[1] = {buf};

	snprintf(buf, sizeof(buf), "%lld", (long long)(ms < 0 ? 1 : ms));
	return (db_execp(db, "db_set_timeout",
	    "SELECT set_config('statement_timeout', $1, true)", 1, p, NULL));
}

/* Sends a COPY statement and checks that the server entered want. */
static rk_err
copy_start(db_conn *db, const char *sql, ExecStatusType want)
{
	PGresult *r;
	rk_err rc;

	if ((rc = ensure_conn(db, false)) != RK_OK)
		return (rc);
	r = PQexec(db->conn, sql);
	if (PQresultStatus(r) != want) {
		rc = res_err(db, r);
		PQclear(r);
		return (rc);
	}
	PQclear(r);
	db->in_copy = true;
	return (RK_OK);
}

rk_err
db_copy_begin(db_conn *db, const char *sql)
{
	return (copy_start(db, sql, PGRES_COPY_IN));
}

rk_err
db_copy_put(db_conn *db, const void *buf, size_t len)
{
	if (PQputCopyData(db->conn, buf, (int)len) != 1) {
		set_err(db, PQerrorMessage(db->conn), "08006");
		return (RK_EUNAVAIL);
	}
	return (RK_OK);
}

rk_err
db_copy_end(db_conn *db, int64_t *rows)
{
	PGresult *r;
	rk_err rc = RK_OK;

	db->in_copy = false;
	if (PQputCopyEnd(db->conn, NULL) != 1) {
		set_err(db, PQerrorMessage(db->conn), "08006");
		return (RK_EUNAVAIL);
	}
	while ((r = PQgetResult(db->conn)) != NULL) {
		if (PQresultStatus(r) == PGRES_COMMAND_OK) {
			if (rows != NULL)
				*rows = strtoll(PQcmdTuples(r), NULL, 10);
		} else if (rc == RK_OK) {
			rc = res_err(db, r);
		}
		PQclear(r);
	}
	return (rc);
}

rk_err
db_copy_out_begin(db_conn *db, const char *sql)
{
	return (copy_start(db, sql, PGRES_COPY_OUT));
}

rk_err
db_copy_get(db_conn *db, const char **buf, int *len)
{
	PGresult *r;
	rk_err rc = RK_OK;
	int n;

	if (db->copy_row != NULL) {
		PQfreemem(db->copy_row);
		db->copy_row = NULL;
	}
	*buf = NULL;
	*len = 0;
	n = PQgetCopyData(db->conn, &db->copy_row, 0);
	if (n > 0) {
		*buf = db->copy_row;
		*len = n;
		return (RK_OK);
	}
	db->in_copy = false;
	if (n == -2) {
		set_err(db, PQerrorMessage(db->conn), "08006");
		return (RK_EUNAVAIL);
	}
	/* n == -1: the COPY is over; its status follows. */
	while ((r = PQgetResult(db->conn)) != NULL) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK && rc == RK_OK)
			rc = res_err(db, r);
		PQclear(r);
	}
	return (rc);
}

const char *
db_literal(db_conn *db, arena *a, const char *s)
{
	char *q = PQescapeLiteral(db->conn, s, strlen(s));
	const char *out;

	if (q == NULL) {
		set_err(db, PQerrorMessage(db->conn), "22021");
		return (NULL);
	}
	out = arena_strdup(a, q);
	PQfreemem(q);
	return (out);
}

rk_err
db_cancel(db_conn *db)
{
	char err[256];
	int ok = 0;

	pthread_mutex_lock(&db->cancel_mu);
	if (db->cancel != NULL)
		ok = PQcancel(db->cancel, err, sizeof(err));
	pthread_mutex_unlock(&db->cancel_mu);
	return (ok ? RK_OK : RK_EUNAVAIL);
}

rk_err
db_ping(db_conn *db)
{
	return (db_execp(db, "db_ping", "SELECT 1", 0, NULL, NULL));
}

const char *
db_errmsg(const db_conn *db)
{
	return (db->errmsg);
}

const char *
db_sqlstate(const db_conn *db)
{
	return (db->sqlstate);
}

int
db_res_nrows(const db_res *r)
{
	return (PQntuples(r->res));
}

int64_t
db_res_affected(const db_res *r)
{
	return (strtoll(PQcmdTuples(r->res), NULL, 10));
}

bool
db_res_isnull(const db_res *r, int row, int col)
{
	return (PQgetisnull(r->res, row, col) != 0);
}

size_t
db_res_group_len(const db_res *r, int at, int key_col, int count_col,
    const char *key)
{
	const char *k;

	if (at >= PQntuples(r->res) || (k = db_res_str(r, at, key_col)) == NULL ||
	    strcmp(k, key) != 0)
		return (0);
	return ((size_t)db_res_int64(r, at, count_col));
}

const char *
db_res_str(const db_res *r, int row, int col)
{
	if (PQgetisnull(r->res, row, col))
		return (NULL);
	return (PQgetvalue(r->res, row, col));
}

int
db_res_len(const db_res *r, int row, int col)
{
	return (PQgetlength(r->res, row, col));
}

int64_t
db_res_int64(const db_res *r, int row, int col)
{
	if (PQgetisnull(r->res, row, col))
		return (0);
	return (strtoll(PQgetvalue(r->res, row, col), NULL, 10));
}

double
db_res_double(const db_res *r, int row, int col)
{
	if (PQgetisnull(r->res, row, col))
		return (0);
	return (strtod(PQgetvalue(r->res, row, col), NULL));
}

bool
db_res_bool(const db_res *r, int row, int col)
{
	return (!PQgetisnull(r->res, row, col) &&
	    PQgetvalue(r->res, row, col)[0] == 't');
}

void
db_res_free(db_res *r)
{
	if (r == NULL)
		return;
	PQclear(r->res);
	free(r);
}

/* Runs a multi-statement script (migrations) with the simple protocol. */
static rk_err
exec_script(db_conn *db, const char *sql)
{
	PGresult *r = PQexec(db->conn, sql);
	rk_err rc = RK_OK;

	if (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK)
		rc = res_err(db, r);
	PQclear(r);
	return (rc);
}

/* Any fixed 64-bit number: the lock that serialises migrations. */
#define MIGRATION_LOCK "7163295034417052817"

rk_err
db_migrate(db_conn *db, const struct db_migration *m, int n, int *applied)
{
	db_res *res = NULL;
	int current = 0, done = 0;
	rk_err rc;

	if (applied != NULL)
		*applied = 0;
	if ((rc = ensure_conn(db, false)) != RK_OK)
		return (rc);
	if ((rc = db_exec(db, "SELECT pg_advisory_lock(" MIGRATION_LOCK ")", 0,
	    NULL, NULL)) != RK_OK)
		return (rc);
	rc = exec_script(db, "CREATE SCHEMA IF NOT EXISTS rekindle;"
	    "CREATE TABLE IF NOT EXISTS rekindle.schema_migrations ("
	    " version int PRIMARY KEY, name text NOT NULL,"
	    " applied_at timestamptz NOT NULL DEFAULT now())");
	if (rc == RK_OK)
		rc = db_exec(db, "SELECT coalesce(max(version), 0) FROM "
		    "rekindle.schema_migrations", 0, NULL, &res);
	if (rc == RK_OK) {
		current = (int)db_res_int64(res, 0, 0);
		db_res_free(res);
	}
	for (int i = 0; rc == RK_OK && i < n; i++) {
		char ver[16], *sql;
		const char *p[2] = {ver, m[i].name};

		if (m[i].version <= current)
			continue;
		snprintf(ver, sizeof(ver), "%d", m[i].version);
		sql = m[i].len ? xstrndup(m[i].sql, m[i].len) : xstrdup(m[i].sql);
		if ((rc = db_begin(db)) == RK_OK &&
		    (rc = exec_script(db, sql)) == RK_OK &&
		    (rc = db_exec(db, "INSERT INTO rekindle.schema_migrations "
		    "(version, name) VALUES ($1, $2)", 2, p, NULL)) == RK_OK)
			rc = db_commit(db);
		if (rc != RK_OK)
			db_rollback(db);
		else
			done++;
		free(sql);
	}
	db_exec(db, "SELECT pg_advisory_unlock(" MIGRATION_LOCK ")", 0, NULL,
	    NULL);
	if (applied != NULL)
		*applied = done;
	return (rc);
}
