/* sql_sqlite.c - the statement layer on SQLite: over the spool's own
 * connection (sql_wrap_sqlite) or one it opens (sql_open).  SQLite's
 * ?N is the layer's own syntax, so statements go in as written.
 * Statements are cached per connection (SQLITE_PREPARE_PERSISTENT). */
#include "spool/sql_impl.h"
#include "util/errs.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

struct sql_stmt {
    struct sql_conn *c;            /* first: sql.c reads it */
    sqlite3_stmt *st;
    const char *key;               /* the caller's text (address) */
    char *sql;                     /* a copy (lookup by text) */
    int64_t changes;
};

struct lite {
    struct sql_conn base;          /* first */
    sqlite3 *db;
    bool owned;                    /* opened here: closed by sql_close */
    struct sql_stmt stmt[SQL_NSTMT];
    size_t nstmt;
};

#define LITE(c) ((struct lite *)(c))

/* lite_error - the connection's error from SQLite's code and message */
static void lite_error(struct sql_conn *c, int rc)
{
    int prim = rc & 0xff;
    enum sql_class cls = prim == SQLITE_BUSY || prim == SQLITE_LOCKED
                         ? SQL_RETRYABLE : SQL_PERMANENT;
    sql_set_error(c, cls, "", "%s", sqlite3_errmsg(LITE(c)->db));
}

static void lite_close(struct sql_conn *c)
{
    struct lite *l = LITE(c);
    for (size_t i = 0; i < l->nstmt; i++) {
        sqlite3_finalize(l->stmt[i].st);
        free(l->stmt[i].sql);
    }
    if (l->owned)
        sqlite3_close(l->db);
    free(l);
}

static struct sql_stmt *lite_prepare(struct sql_conn *c, const char *sql)
{
    struct lite *l = LITE(c);
    struct sql_stmt *s = NULL;
    for (size_t i = 0; i < l->nstmt && !s; i++)
        if (l->stmt[i].key == sql && strcmp(l->stmt[i].sql, sql) == 0)
            s = &l->stmt[i];
    for (size_t i = 0; i < l->nstmt && !s; i++)
        if (strcmp(l->stmt[i].sql, sql) == 0)
            s = &l->stmt[i];
    if (s) {
        sqlite3_reset(s->st);
        sqlite3_clear_bindings(s->st);
        s->changes = 0;
        return s;
    }
    if (l->nstmt == SQL_NSTMT) {
        /* a programming error: more distinct statements than the cache */
        sql_set_error(c, SQL_PERMANENT, "", "ledger statement cache full");
        return NULL;
    }
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v3(l->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
                                &st, NULL);
    if (rc != SQLITE_OK) {
        lite_error(c, rc);
        return NULL;
    }
    char *copy = strdup(sql);
    if (!copy) {
        sqlite3_finalize(st);
        sql_set_error(c, SQL_PERMANENT, "", "out of memory");
        return NULL;
    }
    s = &l->stmt[l->nstmt++];
    *s = (struct sql_stmt){ c, st, sql, copy, 0 };
    return s;
}

static struct sql_stmt *lite_prepare_own(struct sql_conn *c, const char *sql)
{
    struct sql_stmt *s = calloc(1, sizeof *s);
    if (!s) {
        sql_set_error(c, SQL_PERMANENT, "", "out of memory");
        return NULL;
    }
    int rc = sqlite3_prepare_v2(LITE(c)->db, sql, -1, &s->st, NULL);
    if (rc != SQLITE_OK) {
        lite_error(c, rc);
        free(s);
        return NULL;
    }
    s->c = c;
    return s;
}

static void lite_finalize(struct sql_stmt *s)
{
    sqlite3_finalize(s->st);
    free(s);
}

static int bound(struct sql_stmt *s, int rc)
{
    if (rc == SQLITE_OK)
        return 0;
    lite_error(s->c, rc);
    return -1;
}

static int lite_bind_text(struct sql_stmt *s, int i, const char *v)
{
    return bound(s, v ? sqlite3_bind_text(s->st, i, v, -1, SQLITE_STATIC)
                      : sqlite3_bind_null(s->st, i));
}

static int lite_bind_int64(struct sql_stmt *s, int i, int64_t v)
{
    return bound(s, sqlite3_bind_int64(s->st, i, v));
}

static int lite_bind_blob(struct sql_stmt *s, int i, const void *p, size_t n)
{
    if (!p)
        return bound(s, sqlite3_bind_null(s->st, i));
    /* an empty blob is a blob, not NULL: SQLite wants a non-NULL pointer */
    return bound(s, sqlite3_bind_blob64(s->st, i, n ? p : "", n,
                                        SQLITE_STATIC));
}

static int lite_bind_null(struct sql_stmt *s, int i)
{
    return bound(s, sqlite3_bind_null(s->st, i));
}

static enum sql_step lite_step(struct sql_stmt *s)
{
    int rc = sqlite3_step(s->st);
    if (rc == SQLITE_ROW)
        return SQL_STEP_ROW;
    if (rc == SQLITE_DONE) {
        s->changes = sqlite3_changes64(LITE(s->c)->db);
        return SQL_STEP_DONE;
    }
    lite_error(s->c, rc);
    sqlite3_reset(s->st);
    return SQL_STEP_ERROR;
}

static int64_t lite_col_int64(struct sql_stmt *s, int col)
{
    return sqlite3_column_int64(s->st, col);
}

static const char *lite_col_text(struct sql_stmt *s, int col)
{
    return (const char *)sqlite3_column_text(s->st, col);
}

static const void *lite_col_blob(struct sql_stmt *s, int col, size_t *n)
{
    const void *p = sqlite3_column_blob(s->st, col);
    int len = sqlite3_column_bytes(s->st, col);
    if (n)
        *n = len > 0 ? (size_t)len : 0;
    if (!p && sqlite3_column_type(s->st, col) != SQLITE_NULL)
        p = "";                    /* an empty blob */
    return p;
}

static bool lite_col_null(struct sql_stmt *s, int col)
{
    return sqlite3_column_type(s->st, col) == SQLITE_NULL;
}

static void lite_reset(struct sql_stmt *s)
{
    sqlite3_reset(s->st);
}

static int64_t lite_changes(struct sql_stmt *s)
{
    return s->changes;
}

static int lite_exec(struct sql_conn *c, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(LITE(c)->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        int prim = rc & 0xff;
        sql_set_error(c, prim == SQLITE_BUSY || prim == SQLITE_LOCKED
                      ? SQL_RETRYABLE : SQL_PERMANENT, "", "%s",
                      msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int lite_begin(struct sql_conn *c)
{
    /* IMMEDIATE: take the write lock now, so another writer makes us
     * wait (busy timeout) instead of failing at commit */
    return lite_exec(c, "BEGIN IMMEDIATE");
}

static bool lite_in_txn(const struct sql_conn *c)
{
    return !sqlite3_get_autocommit(((const struct lite *)c)->db);
}

static int lite_lock_xact(struct sql_conn *c, const char *name)
{
    (void)c;
    (void)name;
    return 0;
}

static int lite_noop(struct sql_conn *c)
{
    (void)c;
    return 0;
}

static const struct sql_ops lite_ops = {
    .close = lite_close,
    .prepare = lite_prepare,
    .prepare_own = lite_prepare_own,
    .finalize = lite_finalize,
    .bind_text = lite_bind_text,
    .bind_int64 = lite_bind_int64,
    .bind_blob = lite_bind_blob,
    .bind_null = lite_bind_null,
    .step = lite_step,
    .col_int64 = lite_col_int64,
    .col_text = lite_col_text,
    .col_blob = lite_col_blob,
    .col_null = lite_col_null,
    .reset = lite_reset,
    .changes = lite_changes,
    .exec = lite_exec,
    .begin = lite_begin,
    .in_txn = lite_in_txn,
    .lock_xact = lite_lock_xact,
    .pipeline_begin = lite_noop,
    .pipeline_end = lite_noop,
    .reconnect = lite_noop,
};

struct sql_conn *sql_wrap_sqlite(struct sqlite3 *db)
{
    struct lite *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->base.ops = &lite_ops;
    l->base.backend = SQL_SQLITE;
    l->db = db;
    return &l->base;
}

struct sql_conn *sql_sqlite_open(const struct sql_desc *d, struct errs *e)
{
    sqlite3 *db = NULL;
    if (!d->path) {
        errs_add(e, "ledger", "no ledger file given");
        return NULL;
    }
    if (sqlite3_open_v2(d->path, &db, SQLITE_OPEN_READWRITE
                        | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL)
        != SQLITE_OK) {
        errs_add(e, d->path, "cannot open ledger: %s",
                 db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, d->busy_timeout_ms > 0 ? d->busy_timeout_ms
                                                    : 10000);
    struct sql_conn *c = sql_wrap_sqlite(db);
    if (!c) {
        sqlite3_close(db);
        errs_add(e, d->path, "out of memory");
        return NULL;
    }
    LITE(c)->owned = true;
    return c;
}
