/*
 * db.h - the one seam to PostgreSQL (only db.c includes libpq).
 *
 * A db_conn is one connection used by one thread at a time (db_cancel
 * excepted). Statements are
 * parameterised (never interpolated); named statements are prepared once
 * per connection and re-prepared after a reconnect. A connection lost
 * between transactions is re-established on the next call; one lost inside
 * a transaction fails that transaction with RK_EUNAVAIL, and the caller
 * retries it as a whole.
 *
 * SQLSTATE is mapped to rk_err once, here: 23505 -> RK_ECONFLICT,
 * 40001/40P01/55P03 -> RK_ERETRY, 57014 -> RK_ETIMEDOUT, 08xxx/57Pxx/53xxx
 * -> RK_EUNAVAIL, 22xxx/23xxx -> RK_EINVAL, anything else RK_EINTERNAL.
 */
#ifndef RK_DB_H
#define RK_DB_H

/* A named number written into SQL text: "... = " DB_NUM(CAMPAIGN_RUNNING)
 * " ...". The name must be a macro for an integer literal (an enum
 * constant would be written as its name). */
#define DB_NUM_(x) #x
#define DB_NUM(x) DB_NUM_(x)

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "err.h"

typedef struct db_conn db_conn;
typedef struct db_res db_res;

/*
 * Connects with a libpq connection string, sets application_name and a
 * safe search_path ("rekindle"). On RK_OK *out owns the connection
 * (db_close). On failure *out is NULL and errmsg (capacity errlen) says why.
 */
rk_err db_open(const char *conninfo, const char *appname, db_conn **out,
    char *errmsg, size_t errlen);
/* Closes; db_close(NULL) is a no-op. */
void db_close(db_conn *db);

/* Shows rekindle_db_connect_errors_total and rekindle_db_reconnects_total
 * (metrics.h) from the start, at 0. */
void db_register_metrics(void);

/*
 * Runs sql with n text parameters (NULL = SQL NULL). If res is not NULL,
 * on RK_OK *res owns the result (db_res_free). Errors: the SQLSTATE map
 * above; details via db_errmsg/db_sqlstate.
 */
rk_err db_exec(db_conn *db, const char *sql, int n, const char *const *params,
    db_res **res);

/*
 * Like db_exec, but through a statement prepared once per connection under
 * name (a string literal that names exactly one sql text).
 */
rk_err db_execp(db_conn *db, const char *name, const char *sql, int n,
    const char *const *params, db_res **res);

/* db_execp of an INSERT/UPDATE/DELETE: *affected gets the rows it
 * changed. */
rk_err db_execp_count(db_conn *db, const char *name, const char *sql, int n,
    const char *const *params, int64_t *affected);

/* Same as db_execp with per-parameter lengths and formats (1 = binary). */
rk_err db_execp_bin(db_conn *db, const char *name, const char *sql, int n,
    const char *const *params, const int *lengths, const int *formats,
    db_res **res);

/*
 * The PostgreSQL text[] literal of n strings, quoted and escaped, in a
 * (pass it as a parameter with a ::text[] cast); a NULL string is a NULL
 * element.
 */
char *db_text_array(arena *a, const char *const *s, size_t n);
/* The PostgreSQL bigint[] literal of n integers, in a ("{1,2,3}"). */
char *db_int64_array(arena *a, const int64_t *v, size_t n);

/*
 * Splits a text[] in PostgreSQL's output form ("{a,\"b c\"}") into a
 * NULL-terminated array in a; *n gets the count.
 */
char **db_array_split(arena *a, const char *text, size_t *n);

/*
 * Parses a one-dimensional numeric array in PostgreSQL's text output
 * ("{1,2.5,-3}") into out (capacity max). Returns how many numbers were
 * read, or -1 if text is not such an array.
 */
int db_parse_float_array(const char *text, double *out, int max);

/* Transactions. db_rollback ignores a broken connection. */
rk_err db_begin(db_conn *db);
rk_err db_commit(db_conn *db);
void db_rollback(db_conn *db);
bool db_in_transaction(const db_conn *db);

/* Inside a transaction: SET LOCAL statement_timeout (ms; 0 = none). */
rk_err db_set_local_timeout(db_conn *db, int64_t ms);

/* COPY FROM STDIN: begin with the COPY statement, put data, end. */
rk_err db_copy_begin(db_conn *db, const char *sql);
rk_err db_copy_put(db_conn *db, const void *buf, size_t len);
/* Ends the COPY; *rows (may be NULL) gets the number of rows copied. */
rk_err db_copy_end(db_conn *db, int64_t *rows);

/*
 * COPY ... TO STDOUT: begin with the COPY statement, then db_copy_get
 * until it gives *len 0 (the end, status checked) or an error. *buf is one
 * row (in binary format, the first row carries the header) and stays valid
 * until the next call. COPY takes no parameters: quote values with
 * db_literal.
 */
rk_err db_copy_out_begin(db_conn *db, const char *sql);
rk_err db_copy_get(db_conn *db, const char **buf, int *len);

/* s as a quoted SQL literal, in a, for the statements that take no
 * parameters (COPY); NULL if s is not valid in the connection's encoding
 * (db_errmsg says why). */
const char *db_literal(db_conn *db, arena *a, const char *s);

/*
 * Asks the server to cancel the statement running on db now, if any. Safe
 * from any thread while another thread uses db (libpq PQcancel); the
 * cancelled statement fails with RK_ETIMEDOUT.
 */
rk_err db_cancel(db_conn *db);

/* Cheap liveness check ("SELECT 1"), reconnecting if needed. */
rk_err db_ping(db_conn *db);

/* Last error text (borrowed, valid until the next call) and SQLSTATE. */
const char *db_errmsg(const db_conn *db);
const char *db_sqlstate(const db_conn *db);
/* Maps a five-character SQLSTATE to rk_err. */
rk_err db_map_sqlstate(const char *sqlstate);

/* Results. Row and column indexes are 0-based and must be in range. */
int db_res_nrows(const db_res *r);
/* Rows affected by INSERT/UPDATE/DELETE. */
int64_t db_res_affected(const db_res *r);
bool db_res_isnull(const db_res *r, int row, int col);
/* Text value (binary for binary results); NULL for SQL NULL. Borrowed. */
const char *db_res_str(const db_res *r, int row, int col);
int db_res_len(const db_res *r, int row, int col);
int64_t db_res_int64(const db_res *r, int row, int col);
double db_res_double(const db_res *r, int row, int col);
bool db_res_bool(const db_res *r, int row, int col);
void db_res_free(db_res *r);
/*
 * Child rows fetched for a page of parents in one query, grouped by the
 * parent's key (column key_col) in the page's order, each row carrying
 * its group's size in count_col ("count(*) OVER (PARTITION BY key)"):
 * how many rows from row at belong to key; 0 if none do.
 */
size_t db_res_group_len(const db_res *r, int at, int key_col, int count_col,
    const char *key);

/*
 * One migration: version, name and SQL text (may hold many statements);
 * len 0 means sql is NUL-terminated.
 */
struct db_migration {
	int version;
	const char *name;
	const char *sql;
	size_t len;
};

/*
 * Applies every migration above the database's version, in order, each in
 * its own transaction, under a cluster-wide advisory lock so that several
 * processes starting at once apply each exactly once. *applied (may be
 * NULL) gets how many this call applied.
 */
rk_err db_migrate(db_conn *db, const struct db_migration *m, int n,
    int *applied);

/* The migrations built into this binary (deploy/sql/NNN_*.sql). */
extern const struct db_migration db_migrations[];
extern const int db_nmigrations;

#endif
