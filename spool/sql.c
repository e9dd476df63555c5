/* sql.c - the statement layer's front (sql.h): it hands each call to the
 * connection's engine (sql_sqlite.c, sql_pg.c) through its table of
 * operations, keeps the last error, and owns the rules both engines
 * share: the ?N -> $N rewrite and the advisory lock key of a name.  It
 * names no engine: sql_open.c chooses one, so nothing here calls back
 * into the files that call it. */
#include "spool/sql_impl.h"
#include "util/buf.h"
#include "util/errs.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* a statement's first member is its connection (both engines) */
struct sql_stmt {
    struct sql_conn *c;
};

void sql_set_error(struct sql_conn *c, enum sql_class cls, const char *state,
                   const char *fmt, ...)
{
    va_list ap;
    c->err.cls = cls;
    snprintf(c->err.state, sizeof c->err.state, "%s", state ? state : "");
    va_start(ap, fmt);
    vsnprintf(c->err.msg, sizeof c->err.msg, fmt, ap);
    va_end(ap);
    /* libpq's messages end in a newline and may run over several lines
     * (DETAIL, HINT): one line for logs and errs */
    size_t n = strlen(c->err.msg);
    while (n && (c->err.msg[n - 1] == '\n' || c->err.msg[n - 1] == ' '))
        c->err.msg[--n] = '\0';
    for (char *p = c->err.msg; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
}

void sql_clear_error(struct sql_conn *c)
{
    c->err.cls = SQL_FINE;
    c->err.state[0] = '\0';
    c->err.msg[0] = '\0';
}

void sql_close(struct sql_conn *c)
{
    if (c)
        c->ops->close(c);
}

enum sql_backend sql_backend(const struct sql_conn *c)
{
    return c->backend;
}

const struct sql_error *sql_error(const struct sql_conn *c)
{
    return &c->err;
}

const char *sql_errmsg(const struct sql_conn *c)
{
    return c->err.msg;
}

struct sql_stmt *sql_prepare(struct sql_conn *c, const char *sql)
{
    return c->ops->prepare(c, sql);
}

struct sql_stmt *sql_prepare_own(struct sql_conn *c, const char *sql)
{
    return c->ops->prepare_own(c, sql);
}

void sql_finalize(struct sql_stmt *st)
{
    if (st)
        st->c->ops->finalize(st);
}

int sql_bind_text(struct sql_stmt *st, int i, const char *v)
{
    return st->c->ops->bind_text(st, i, v);
}

int sql_bind_int64(struct sql_stmt *st, int i, int64_t v)
{
    return st->c->ops->bind_int64(st, i, v);
}

int sql_bind_blob(struct sql_stmt *st, int i, const void *p, size_t n)
{
    return st->c->ops->bind_blob(st, i, p, n);
}

int sql_bind_null(struct sql_stmt *st, int i)
{
    return st->c->ops->bind_null(st, i);
}

enum sql_step sql_step(struct sql_stmt *st)
{
    return st->c->ops->step(st);
}

int64_t sql_col_int64(struct sql_stmt *st, int col)
{
    return st->c->ops->col_int64(st, col);
}

const char *sql_col_text(struct sql_stmt *st, int col)
{
    return st->c->ops->col_text(st, col);
}

const void *sql_col_blob(struct sql_stmt *st, int col, size_t *n)
{
    return st->c->ops->col_blob(st, col, n);
}

bool sql_col_null(struct sql_stmt *st, int col)
{
    return st->c->ops->col_null(st, col);
}

char *sql_col_strdup(struct sql_stmt *st, int col)
{
    const char *t = sql_col_text(st, col);
    return t ? strdup(t) : NULL;
}

void sql_reset(struct sql_stmt *st)
{
    st->c->ops->reset(st);
}

int64_t sql_changes(struct sql_stmt *st)
{
    return st->c->ops->changes(st);
}

int sql_exec(struct sql_conn *c, const char *sql)
{
    return c->ops->exec(c, sql);
}

int sql_begin(struct sql_conn *c)
{
    return c->ops->begin(c);
}

int sql_commit(struct sql_conn *c)
{
    return c->ops->exec(c, "COMMIT");
}

void sql_rollback(struct sql_conn *c)
{
    if (c->ops->in_txn(c)) {
        struct sql_error keep = c->err;  /* the error that led here */
        c->ops->exec(c, "ROLLBACK");
        c->err = keep;
    }
}

bool sql_in_txn(const struct sql_conn *c)
{
    return c->ops->in_txn(c);
}

int sql_lock_xact(struct sql_conn *c, const char *name)
{
    return c->ops->lock_xact(c, name);
}

int64_t sql_lock_key(const char *name)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdn = 0;
    EVP_MD_CTX *h = EVP_MD_CTX_new();
    if (!h || EVP_DigestInit_ex(h, EVP_sha256(), NULL) != 1
        || EVP_DigestUpdate(h, "ferry:", 6) != 1
        || EVP_DigestUpdate(h, name, strlen(name)) != 1
        || EVP_DigestFinal_ex(h, md, &mdn) != 1 || mdn < 8)
        memset(md, 0, 8);        /* out of memory: one shared key, safe */
    EVP_MD_CTX_free(h);
    uint64_t k = 0;
    for (int i = 0; i < 8; i++)
        k = k << 8 | md[i];
    return (int64_t)k;
}

int sql_pipeline_begin(struct sql_conn *c)
{
    return c->ops->pipeline_begin(c);
}

int sql_pipeline_end(struct sql_conn *c)
{
    return c->ops->pipeline_end(c);
}

int sql_reconnect(struct sql_conn *c)
{
    return c->ops->reconnect(c);
}

/* rows_sql - head VALUES(?1,..,?k),(..) for n rows of k values;
 * malloc'd */
static char *rows_sql(const char *head, int k, size_t n)
{
    struct buf b;
    buf_init(&b, 0);
    buf_puts(&b, head);
    buf_puts(&b, " VALUES");
    int p = 1;
    for (size_t r = 0; r < n; r++) {
        buf_puts(&b, r ? ",(" : "(");
        for (int i = 0; i < k; i++)
            buf_printf(&b, i ? ",?%d" : "?%d", p++);
        buf_putc(&b, ')');
    }
    return b.data;                 /* NULL when out of memory */
}

int sql_insert_rows(struct sql_conn *c, const char *head, int ncols,
                    size_t nrows, sql_row_binder bind, void *arg)
{
    static const size_t chunks[] = { SQL_ROWS_MAX, 100, 10, 1 };
    if (ncols < 1 || ncols > 32) {
        sql_set_error(c, SQL_PERMANENT, "", "insert_rows: 1 to 32 columns");
        return -1;
    }
    size_t row = 0;
    for (size_t k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
        if (nrows - row < chunks[k])
            continue;
        char *sql = rows_sql(head, ncols, chunks[k]);
        if (!sql) {
            sql_set_error(c, SQL_PERMANENT, "", "out of memory");
            return -1;
        }
        /* every full chunk of this size, through one cached statement */
        while (nrows - row >= chunks[k]) {
            struct sql_stmt *st = sql_prepare(c, sql);
            int rc = st ? 0 : -1;
            for (size_t r = 0; rc == 0 && r < chunks[k]; r++)
                rc = bind(arg, st, (int)r * ncols + 1, row + r);
            if (rc == 0 && sql_step(st) != SQL_STEP_DONE)
                rc = -1;
            if (st)
                sql_reset(st);
            if (rc != 0) {
                free(sql);
                return -1;
            }
            row += chunks[k];
        }
        free(sql);
    }
    return 0;
}

/* sql_pg_placeholders - a small scanner, not a parser: it knows what
 * PostgreSQL's lexer would not read as a parameter ('text' with ''
 * doubled, E'text' with \' escapes, "names", -- and nested block
 * comments, $tag$ dollar quotes $tag$) and rewrites every other ?N or ?
 * (numbered after the highest so far, as SQLite numbers them). */
char *sql_pg_placeholders(const char *sql, int *nparams)
{
    size_t n = strlen(sql);
    /* "?" becomes at most "$32766" */
    char *out = malloc(n * 6 + 1);
    size_t k = 0;
    int max = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n;) {
        char ch = sql[i];
        if (ch == '\'' ) {
            bool esc = i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e');
            out[k++] = sql[i++];
            while (i < n) {
                if (esc && sql[i] == '\\' && i + 1 < n) {
                    out[k++] = sql[i++];
                    out[k++] = sql[i++];
                    continue;
                }
                if (sql[i] == '\'' && i + 1 < n && sql[i + 1] == '\'') {
                    out[k++] = sql[i++];
                    out[k++] = sql[i++];
                    continue;
                }
                if (sql[i] == '\'') {
                    out[k++] = sql[i++];
                    break;
                }
                out[k++] = sql[i++];
            }
        } else if (ch == '"') {
            out[k++] = sql[i++];
            while (i < n && sql[i] != '"')
                out[k++] = sql[i++];
            if (i < n)
                out[k++] = sql[i++];
        } else if (ch == '-' && i + 1 < n && sql[i + 1] == '-') {
            while (i < n && sql[i] != '\n')
                out[k++] = sql[i++];
        } else if (ch == '/' && i + 1 < n && sql[i + 1] == '*') {
            int depth = 0;
            do {
                if (sql[i] == '/' && i + 1 < n && sql[i + 1] == '*') {
                    depth++;
                    out[k++] = sql[i++];
                } else if (sql[i] == '*' && i + 1 < n && sql[i + 1] == '/') {
                    depth--;
                    out[k++] = sql[i++];
                }
                out[k++] = sql[i++];
            } while (i < n && depth > 0);
        } else if (ch == '$' && (i == 0 || !(sql[i - 1] == '_'
                   || (sql[i - 1] >= 'a' && sql[i - 1] <= 'z')
                   || (sql[i - 1] >= 'A' && sql[i - 1] <= 'Z')
                   || (sql[i - 1] >= '0' && sql[i - 1] <= '9')))) {
            /* $tag$ ... $tag$ (a $1 is a parameter already: kept) */
            size_t j = i + 1;
            while (j < n && (sql[j] == '_' || (sql[j] >= 'a' && sql[j] <= 'z')
                             || (sql[j] >= 'A' && sql[j] <= 'Z')))
                j++;
            if (j < n && sql[j] == '$') {
                size_t tl = j + 1 - i;
                const char *end = NULL;
                for (size_t m = j + 1; m + tl <= n; m++)
                    if (memcmp(sql + m, sql + i, tl) == 0) {
                        end = sql + m + tl;
                        break;
                    }
                size_t stop = end ? (size_t)(end - sql) : n;
                memcpy(out + k, sql + i, stop - i);
                k += stop - i;
                i = stop;
            } else {
                out[k++] = sql[i++];
            }
        } else if (ch == '?') {
            long v = 0;
            size_t j = i + 1;
            while (j < n && sql[j] >= '0' && sql[j] <= '9' && v < 100000)
                v = v * 10 + (sql[j++] - '0');
            if (j == i + 1)
                v = max + 1;
            if (v > 32766)
                v = 32766;           /* SQLite's own limit; PG refuses */
            if (v > max)
                max = (int)v;
            k += (size_t)snprintf(out + k, 8, "$%ld", v);
            i = j;
        } else {
            out[k++] = sql[i++];
        }
    }
    out[k] = '\0';
    if (nparams)
        *nparams = max;
    return out;
}
