/* sql.h - the statement layer: the one way spool code talks to its
 * ledger, whichever engine holds it (SQLite embedded, or a PostgreSQL
 * shared by several nodes).  Never included outside spool/.
 *
 * SQL is written once, SQLite-style: parameters are ?N or ?, which the
 * PostgreSQL side rewrites to $N (literals, quoted names and comments are
 * left alone).  What the two engines spell differently stays visible at
 * the caller (sql_backend), never hidden in here.  Statements are
 * prepared once per connection and cached by their text; a statement
 * from sql_prepare belongs to the connection (never freed by the
 * caller) and comes back reset with nothing bound.
 *
 * Values bound are borrowed: they must stay valid until the statement's
 * last sql_step for that binding (or sql_reset).  An unbound parameter is
 * NULL.  Column values are valid until the next sql_step or sql_reset of
 * that statement.  PostgreSQL results arrive whole (no cursor): a
 * statement that may return many rows should say LIMIT.
 *
 * Errors: every call that fails returns -1 (or SQL_STEP_ERROR / NULL)
 * and leaves the backend's own message in the connection (sql_error),
 * classed as retryable (busy, serialisation, deadlock), permanent
 * (constraint, syntax) or connection-lost (PostgreSQL: the server went
 * away; sql_reconnect, then redo the transaction).
 *
 * Not thread-safe: one connection serves one thread at a time (the spool
 * holds db_mu around every use). */
#ifndef FERRY_SPOOL_SQL_H
#define FERRY_SPOOL_SQL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct errs;
struct sqlite3;
struct sql_conn;
struct sql_stmt;

enum sql_backend { SQL_SQLITE = 1, SQL_POSTGRESQL = 2 };

enum sql_class {
    SQL_FINE = 0,           /* no error */
    SQL_RETRYABLE,          /* busy, locked, serialisation, deadlock */
    SQL_PERMANENT,          /* this statement will fail again */
    SQL_CONN_LOST           /* the server is gone: reconnect, redo */
};

enum sql_step { SQL_STEP_ERROR = -1, SQL_STEP_DONE = 0, SQL_STEP_ROW = 1 };

struct sql_error {
    enum sql_class cls;
    char state[6];          /* PostgreSQL SQLSTATE, "" on SQLite */
    char msg[512];          /* the backend's message, one line */
};

/* How to reach a ledger.  conninfo is a secret (it may hold the
 * password): the layer never logs it and never puts it in a message. */
struct sql_desc {
    enum sql_backend backend;
    const char *path;       /* SQLite: the ledger file */
    const char *conninfo;   /* PostgreSQL: libpq connection string */
    int busy_timeout_ms;    /* SQLite busy wait; PostgreSQL lock_timeout
                               (0: 10 s) */
};

/* sql_open - a new connection as d describes; NULL with e filled */
struct sql_conn *sql_open(const struct sql_desc *d, struct errs *e);
/* sql_wrap_sqlite - the layer over an SQLite connection the caller
 * already holds (and keeps: sql_close leaves db open).  NULL when out of
 * memory. */
struct sql_conn *sql_wrap_sqlite(struct sqlite3 *db);
/* sql_close - finalise every cached statement and close (NULL: nothing) */
void sql_close(struct sql_conn *c);

enum sql_backend sql_backend(const struct sql_conn *c);
const struct sql_error *sql_error(const struct sql_conn *c);
/* sql_errmsg - the last error's message ("" when none) */
const char *sql_errmsg(const struct sql_conn *c);

/* sql_prepare - the cached statement for sql (looked up by address, then
 * by text), reset and unbound; NULL on error */
struct sql_stmt *sql_prepare(struct sql_conn *c, const char *sql);
/* sql_prepare_own - a statement of the caller's own, not cached: for
 * SQL made at run time (a filter of the caller's choosing), which would
 * fill the cache with texts used once.  It works as a cached one does
 * and is freed by sql_finalize (NULL: nothing).  PostgreSQL sends it
 * with its parameters each time (no named statement on the server), so
 * a text it cannot run fails at the first sql_step there, at the prepare
 * on SQLite.  NULL on error. */
struct sql_stmt *sql_prepare_own(struct sql_conn *c, const char *sql);
void sql_finalize(struct sql_stmt *st);
/* Parameters count from 1, as ?1 does.  NULL text or blob binds NULL. */
int sql_bind_text(struct sql_stmt *st, int i, const char *v);
int sql_bind_int64(struct sql_stmt *st, int i, int64_t v);
int sql_bind_blob(struct sql_stmt *st, int i, const void *p, size_t n);
int sql_bind_null(struct sql_stmt *st, int i);
/* sql_step - run (first call) and move to the next row */
enum sql_step sql_step(struct sql_stmt *st);
/* Columns count from 0.  int64 of NULL is 0; text and blob of NULL are
 * NULL; PostgreSQL's booleans read as 1 and 0. */
int64_t sql_col_int64(struct sql_stmt *st, int col);
const char *sql_col_text(struct sql_stmt *st, int col);
const void *sql_col_blob(struct sql_stmt *st, int col, size_t *n);
bool sql_col_null(struct sql_stmt *st, int col);
/* sql_col_strdup - a malloc'd copy of a text column; NULL for NULL (and
 * when out of memory) */
char *sql_col_strdup(struct sql_stmt *st, int col);
/* sql_reset - forget the rows, keep the bindings */
void sql_reset(struct sql_stmt *st);
/* sql_changes - rows the statement's last run inserted, updated or
 * deleted */
int64_t sql_changes(struct sql_stmt *st);

/* sql_exec - run SQL without parameters (several statements allowed,
 * except inside a pipeline) */
int sql_exec(struct sql_conn *c, const char *sql);
/* Transactions.  sql_begin takes the write lock at once on SQLite
 * (BEGIN IMMEDIATE).  sql_rollback is a no-op when none is open. */
int sql_begin(struct sql_conn *c);
int sql_commit(struct sql_conn *c);
void sql_rollback(struct sql_conn *c);
bool sql_in_txn(const struct sql_conn *c);

/* sql_lock_xact - serialise writers of name across every connection
 * until the transaction ends (PostgreSQL: pg_advisory_xact_lock on
 * sql_lock_key(name)).  On SQLite a no-op: BEGIN IMMEDIATE already lets
 * one writer in at a time. */
int sql_lock_xact(struct sql_conn *c, const char *name);
/* sql_lock_key - the 64-bit advisory lock key of name: the first 8
 * bytes of SHA-256("ferry:" name), so every node computes the same */
int64_t sql_lock_key(const char *name);

/* Round trips.  Between sql_pipeline_begin and sql_pipeline_end,
 * PostgreSQL sends every sql_begin, sql_step, sql_exec (one statement)
 * and sql_commit without waiting for its answer, and sql_pipeline_end
 * collects them all: a whole group (BEGIN, a thousand INSERTs, COMMIT)
 * costs one round trip.  sql_step returns SQL_STEP_DONE at once and rows
 * are not seen (no RETURNING in a pipeline).  The first error is
 * returned by sql_pipeline_end (-1); the transaction is then rolled back
 * by sql_rollback.  SQLite runs each statement at once (a no-op frame). */
int sql_pipeline_begin(struct sql_conn *c);
int sql_pipeline_end(struct sql_conn *c);

/* sql_insert_rows - nrows rows into one table by multi-row INSERTs, the
 * group-commit way to write many rows (measured against a pipeline of
 * one INSERT a row: docs/spool.md).  head is "INSERT INTO t(a, b)" with
 * nothing after; bind(arg, st, param, row) binds row's ncols (1..32)
 * values to parameters param .. param + ncols - 1.  Rows go
 * SQL_ROWS_MAX at a time and the rest in chunks of 100, 10 and 1, so one
 * head caches at most four statements.  Inside a pipeline each chunk is
 * sent without waiting.  0, or -1 with the error in the connection (a
 * bind that returns -1 leaves its own there). */
#define SQL_ROWS_MAX 1000
typedef int (*sql_row_binder)(void *arg, struct sql_stmt *st, int param,
                              size_t row);
int sql_insert_rows(struct sql_conn *c, const char *head, int ncols,
                    size_t nrows, sql_row_binder bind, void *arg);

/* sql_reconnect - after SQL_CONN_LOST: connect again (statements are
 * prepared again as they are used).  SQLite: nothing to do, 0. */
int sql_reconnect(struct sql_conn *c);

/* sql_pg_placeholders - sql with ?N and ? written as $N (the PostgreSQL
 * side's rewrite, here for its tests).  *nparams: the highest number.
 * malloc'd; NULL when out of memory. */
char *sql_pg_placeholders(const char *sql, int *nparams);

/* The PostgreSQL connection file: a libpq connection string (key=value
 * pairs or a postgresql:// URI) in a file of its own, mode 0600, as the
 * spool's other secrets are.  sql_conninfo_load refuses a file group or
 * others can read, and one libpq cannot parse (without quoting it: it may
 * hold the password).  *out malloc'd; the caller wipes and frees it
 * (sql_conninfo_free). */
int sql_conninfo_load(const char *path, char **out, struct errs *e);
void sql_conninfo_free(char *conninfo);
/* sql_conninfo_describe - conninfo for a log line: host, port, dbname,
 * user and the options ferry sets, never the password ("password=***"
 * when one is given).  out is always terminated. */
void sql_conninfo_describe(const char *conninfo, char *out, size_t outsz);

#endif
