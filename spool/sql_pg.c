/* sql_pg.c - the statement layer on PostgreSQL (libpq): the shared
 * ledger of several nodes.
 *
 * Statements are rewritten from ?N to $N once, prepared on first use as
 * "f<n>" on this session and cached; after a reconnect they are prepared
 * again as they are used.  Parameters go as text (blobs as binary);
 * results come back as text and are read whole (PQexecPrepared), so a
 * statement keeps no cursor open between steps.
 *
 * Group commit: in a pipeline (libpq 14+), every statement is sent
 * without waiting and the whole group is read back after one sync, with
 * the connection non-blocking so a long group can never stall both ends
 * on full socket buffers.
 *
 * Errors are classed by SQLSTATE: 08xxx, 57P0x and a connection libpq
 * reports bad are a lost connection; 40001, 40P01, 55P03, 53xxx and
 * 57014 (lock_timeout / statement_timeout) are retryable; the rest is
 * permanent.
 *
 * The connection string is a secret: it is never logged or put in a
 * message (sql_conninfo_describe drops the password).  Unless it says
 * otherwise, a connection gives up after 10 s, and TCP keepalives find a
 * server that vanished within about a minute. */
#include "spool/sql_impl.h"
#include "util/errs.h"
#include "util/fsutil.h"

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#define PG_MAXPARAMS 65535         /* the protocol's limit */
#define PG_PIPE_WAIT_MS 60000      /* a pipeline that hears nothing this
                                      long is given up (lost) */

struct sql_stmt {
    struct sql_conn *c;            /* first: sql.c reads it */
    const char *key;               /* the caller's text (address) */
    char *sql;                     /* the caller's text, copied */
    char *pgsql;                   /* with $N */
    char name[16];
    bool prepared;                 /* on the current session */
    bool owned;                    /* sql_prepare_own: sent with its text
                                      each time, never prepared */
    int nparams;
    const char **val;              /* bound values (borrowed) */
    int *len, *fmt;
    char (*num)[24];               /* int64 values as text */
    PGresult *res;                 /* the last run's rows */
    int row;                       /* next row to give; -1: not run */
    int64_t changes;
    unsigned char **unesc;         /* bytea columns unescaped, per col */
    size_t *unesc_n;
    int ncols;
};

struct pg {
    struct sql_conn base;          /* first */
    PGconn *conn;
    struct sql_stmt stmt[SQL_NSTMT];
    size_t nstmt;
    bool pipeline;
    /* what each item sent in the pipeline was: a statement's Parse (its
     * index) or a query (-1), to learn which Parses the server kept */
    long *pend;
    size_t npend, cappend;
    int lock_timeout_ms;
    /* the caller's transaction is open (a BEGIN succeeded, no COMMIT or
     * ROLLBACK since): nothing may be redone on a fresh session then */
    bool txn_open;
};

#define PG(c) ((struct pg *)(c))

/* class_of - the class of an SQLSTATE (NULL: none was given) */
static enum sql_class class_of(const char *state, PGconn *conn)
{
    if (PQstatus(conn) == CONNECTION_BAD)
        return SQL_CONN_LOST;
    if (!state || !*state)
        return SQL_PERMANENT;
    if (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0
        || strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0)
        return SQL_CONN_LOST;
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0
        || strcmp(state, "55P03") == 0 || strncmp(state, "53", 2) == 0
        || strcmp(state, "57014") == 0)
        return SQL_RETRYABLE;
    return SQL_PERMANENT;
}

/* res_error - the connection's error from a failed result (or from the
 * connection when res is NULL) */
static void res_error(struct sql_conn *c, const PGresult *res)
{
    PGconn *conn = PG(c)->conn;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE)
                            : NULL;
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
                          : NULL;
    if (!msg || !*msg)
        msg = res ? PQresultErrorMessage(res) : "";
    if (!msg || !*msg)
        msg = PQerrorMessage(conn);
    if (!msg || !*msg)
        msg = "PostgreSQL gave no reason";
    sql_set_error(c, class_of(state, conn), state, "%s", msg);
}

static void stmt_clear_rows(struct sql_stmt *s)
{
    PQclear(s->res);
    s->res = NULL;
    s->row = -1;
    for (int i = 0; i < s->ncols; i++) {
        PQfreemem(s->unesc[i]);
        s->unesc[i] = NULL;
    }
    free(s->unesc);
    free(s->unesc_n);
    s->unesc = NULL;
    s->unesc_n = NULL;
    s->ncols = 0;
}

static void stmt_free(struct sql_stmt *s)
{
    stmt_clear_rows(s);
    free(s->sql);
    free(s->pgsql);
    free(s->val);
    free(s->len);
    free(s->fmt);
    free(s->num);
}

static void pg_close(struct sql_conn *c)
{
    struct pg *p = PG(c);
    free(p->pend);
    for (size_t i = 0; i < p->nstmt; i++)
        stmt_free(&p->stmt[i]);
    PQfinish(p->conn);
    free(p);
}

static void unbind_all(struct sql_stmt *s)
{
    for (int i = 0; i < s->nparams; i++) {
        s->val[i] = NULL;
        s->len[i] = 0;
        s->fmt[i] = 0;
    }
}

static int ensure_prepared(struct sql_stmt *s);
static bool lost_again(struct pg *p, bool may, bool *tried);
static int session_renew(struct pg *p);

/* stmt_init - s made ready for sql (its text rewritten, room for its
 * parameters); -1 with the error set and nothing kept */
static int stmt_init(struct sql_conn *c, struct sql_stmt *s, const char *sql)
{
    memset(s, 0, sizeof *s);
    s->c = c;
    s->key = sql;
    s->row = -1;
    s->sql = strdup(sql);
    s->pgsql = sql_pg_placeholders(sql, &s->nparams);
    size_t np = s->nparams > 0 ? (size_t)s->nparams : 1;
    s->val = calloc(np, sizeof *s->val);
    s->len = calloc(np, sizeof *s->len);
    s->fmt = calloc(np, sizeof *s->fmt);
    s->num = calloc(np, sizeof *s->num);
    if (!s->sql || !s->pgsql || !s->val || !s->len || !s->fmt
        || !s->num || s->nparams > PG_MAXPARAMS) {
        bool many = s->nparams > PG_MAXPARAMS;
        stmt_free(s);
        sql_set_error(c, SQL_PERMANENT, "", many ? "too many parameters"
                      : "out of memory");
        return -1;
    }
    return 0;
}

static struct sql_stmt *pg_prepare_own(struct sql_conn *c, const char *sql)
{
    struct sql_stmt *s = malloc(sizeof *s);
    if (!s) {
        sql_set_error(c, SQL_PERMANENT, "", "out of memory");
        return NULL;
    }
    if (stmt_init(c, s, sql) != 0) {
        free(s);
        return NULL;
    }
    s->owned = true;
    s->key = NULL;
    return s;
}

static void pg_finalize(struct sql_stmt *s)
{
    stmt_free(s);
    free(s);
}

static struct sql_stmt *pg_prepare(struct sql_conn *c, const char *sql)
{
    struct pg *p = PG(c);
    struct sql_stmt *s = NULL;
    for (size_t i = 0; i < p->nstmt && !s; i++)
        if (p->stmt[i].key == sql && strcmp(p->stmt[i].sql, sql) == 0)
            s = &p->stmt[i];
    for (size_t i = 0; i < p->nstmt && !s; i++)
        if (strcmp(p->stmt[i].sql, sql) == 0)
            s = &p->stmt[i];
    if (!s) {
        if (p->nstmt == SQL_NSTMT) {
            sql_set_error(c, SQL_PERMANENT, "", "ledger statement cache "
                          "full");
            return NULL;
        }
        s = &p->stmt[p->nstmt];
        if (stmt_init(c, s, sql) != 0)
            return NULL;
        snprintf(s->name, sizeof s->name, "f%zu", p->nstmt);
        p->nstmt++;
    }
    stmt_clear_rows(s);
    unbind_all(s);
    s->changes = 0;
    /* outside a pipeline, at once: a statement that cannot be prepared
     * fails here, as on SQLite (it stays cached, tried again next time).
     * Outside the caller's transaction a lost session is made again
     * (once): preparing runs nothing, so it is always safe to redo */
    if (p->pipeline)
        return s;
    bool may = !p->txn_open, tried = false;
    if (may && PQstatus(p->conn) == CONNECTION_BAD) {
        tried = true;
        if (session_renew(p) != 0)
            return NULL;
    }
    while (ensure_prepared(s) != 0)
        if (!lost_again(p, may, &tried))
            return NULL;
    return s;
}

static int param(struct sql_stmt *s, int i)
{
    if (i < 1 || i > s->nparams) {
        sql_set_error(s->c, SQL_PERMANENT, "", "parameter %d out of range "
                      "(the statement has %d)", i, s->nparams);
        return -1;
    }
    stmt_clear_rows(s);            /* a new binding: the next step runs */
    return i - 1;
}

static int pg_bind_text(struct sql_stmt *s, int i, const char *v)
{
    int k = param(s, i);
    if (k < 0)
        return -1;
    s->val[k] = v;
    s->len[k] = 0;
    s->fmt[k] = 0;
    return 0;
}

static int pg_bind_int64(struct sql_stmt *s, int i, int64_t v)
{
    int k = param(s, i);
    if (k < 0)
        return -1;
    snprintf(s->num[k], sizeof s->num[k], "%lld", (long long)v);
    s->val[k] = s->num[k];
    s->len[k] = 0;
    s->fmt[k] = 0;
    return 0;
}

static int pg_bind_blob(struct sql_stmt *s, int i, const void *v, size_t n)
{
    int k = param(s, i);
    if (k < 0)
        return -1;
    if (n > 0x3fffffff) {
        sql_set_error(s->c, SQL_PERMANENT, "", "value too large");
        return -1;
    }
    s->val[k] = v ? (v && n ? (const char *)v : "") : NULL;
    s->len[k] = (int)n;
    s->fmt[k] = v ? 1 : 0;         /* binary: bytes as they are */
    return 0;
}

static int pg_bind_null(struct sql_stmt *s, int i)
{
    return pg_bind_text(s, i, NULL);
}

/* pend_push - note one item sent in the pipeline */
static int pend_push(struct pg *p, long what)
{
    if (p->npend == p->cappend) {
        size_t cap = p->cappend ? p->cappend * 2 : 256;
        long *v = realloc(p->pend, cap * sizeof *v);
        if (!v) {
            sql_set_error(&p->base, SQL_PERMANENT, "", "out of memory");
            return -1;
        }
        p->pend = v;
        p->cappend = cap;
    }
    p->pend[p->npend++] = what;
    return 0;
}

/* redoable - may sql be sent again on a fresh session after the first
 * session was lost under it?  Only outside the caller's transaction, and
 * only what changes nothing if it ran twice: a SELECT (a reader: a
 * listing, /metrics, ferry queue) or a BEGIN.  A write in autocommit is
 * never redone: whether it committed is unknown. */
static bool redoable(const struct pg *p, const char *sql)
{
    if (p->txn_open || p->pipeline)
        return false;
    while (*sql == ' ' || *sql == '\n' || *sql == '\t' || *sql == '(')
        sql++;
    return strncasecmp(sql, "SELECT", 6) == 0
           || strncasecmp(sql, "BEGIN", 5) == 0;
}

/* lost_again - after a failed call that may be redone: the session was
 * lost (or was already lost before it) and a fresh one is up: go again */
static bool lost_again(struct pg *p, bool may, bool *tried)
{
    if (!may || *tried || p->base.err.cls != SQL_CONN_LOST)
        return false;
    *tried = true;
    return session_renew(p) == 0;
}

/* ensure_prepared - the statement exists on this session */
static int ensure_prepared(struct sql_stmt *s)
{
    struct pg *p = PG(s->c);
    if (s->prepared || s->owned)
        return 0;
    if (p->pipeline) {
        if (pend_push(p, s - p->stmt) != 0)
            return -1;
        if (!PQsendPrepare(p->conn, s->name, s->pgsql, 0, NULL)) {
            p->npend--;
            res_error(s->c, NULL);
            return -1;
        }
        s->prepared = true;        /* unless its answer says otherwise */
        return 0;
    }
    PGresult *r = PQprepare(p->conn, s->name, s->pgsql, 0, NULL);
    const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    /* 42P05: already there (sent in a pipeline that failed after it);
     * the name stands for this text alone */
    if (PQresultStatus(r) != PGRES_COMMAND_OK
        && !(st && strcmp(st, "42P05") == 0)) {
        res_error(s->c, r);
        PQclear(r);
        return -1;
    }
    PQclear(r);
    s->prepared = true;
    return 0;
}

static enum sql_step pg_step(struct sql_stmt *s)
{
    struct pg *p = PG(s->c);
    bool may = redoable(p, s->sql), tried = false;
    if (s->row < 0) {
        /* outside a transaction, a session already known lost is made
         * again before anything is sent: nothing of the caller's is in
         * it, whatever the statement */
        if (!p->txn_open && !p->pipeline
            && PQstatus(p->conn) == CONNECTION_BAD) {
            tried = true;
            if (session_renew(p) != 0)
                return SQL_STEP_ERROR;
        }
again:
        stmt_clear_rows(s);
        if (ensure_prepared(s) != 0) {
            if (lost_again(p, may, &tried))
                goto again;
            return SQL_STEP_ERROR;
        }
        if (p->pipeline) {
            if (pend_push(p, -1) != 0)
                return SQL_STEP_ERROR;
            int sent = s->owned
                ? PQsendQueryParams(p->conn, s->pgsql, s->nparams, NULL,
                                    s->val, s->len, s->fmt, 0)
                : PQsendQueryPrepared(p->conn, s->name, s->nparams, s->val,
                                      s->len, s->fmt, 0);
            if (!sent) {
                p->npend--;
                res_error(s->c, NULL);
                return SQL_STEP_ERROR;
            }
            s->row = 0;            /* sent: its answer comes at the end */
            return SQL_STEP_DONE;
        }
        PGresult *r = s->owned
            ? PQexecParams(p->conn, s->pgsql, s->nparams, NULL, s->val,
                           s->len, s->fmt, 0)
            : PQexecPrepared(p->conn, s->name, s->nparams, s->val, s->len,
                             s->fmt, 0);
        ExecStatusType t = PQresultStatus(r);
        if (t != PGRES_TUPLES_OK && t != PGRES_COMMAND_OK) {
            res_error(s->c, r);
            /* a statement the server forgot (a reconnect in between, a
             * DEALLOCATE) is prepared again by the next try */
            const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
            if (!r || (st && strcmp(st, "26000") == 0)
                || PQstatus(p->conn) == CONNECTION_BAD)
                s->prepared = false;
            PQclear(r);
            if (lost_again(p, may, &tried))
                goto again;
            return SQL_STEP_ERROR;
        }
        s->res = r;
        s->row = 0;
        const char *ct = PQcmdTuples(r);
        s->changes = ct && *ct ? strtoll(ct, NULL, 10) : 0;
        s->ncols = PQnfields(r);
        if (s->ncols > 0) {
            s->unesc = calloc((size_t)s->ncols, sizeof *s->unesc);
            s->unesc_n = calloc((size_t)s->ncols, sizeof *s->unesc_n);
            if (!s->unesc || !s->unesc_n) {
                stmt_clear_rows(s);
                sql_set_error(s->c, SQL_PERMANENT, "", "out of memory");
                return SQL_STEP_ERROR;
            }
        }
        if (PQntuples(r) > 0)
            return SQL_STEP_ROW;
        return SQL_STEP_DONE;
    }
    if (!s->res)
        return SQL_STEP_DONE;
    /* the bytea columns of the row just left */
    for (int i = 0; i < s->ncols; i++) {
        PQfreemem(s->unesc[i]);
        s->unesc[i] = NULL;
    }
    s->row++;
    return s->row < PQntuples(s->res) ? SQL_STEP_ROW : SQL_STEP_DONE;
}

static bool have(struct sql_stmt *s, int col)
{
    return s->res && s->row >= 0 && s->row < PQntuples(s->res) && col >= 0
           && col < s->ncols;
}

static int64_t pg_col_int64(struct sql_stmt *s, int col)
{
    if (!have(s, col) || PQgetisnull(s->res, s->row, col))
        return 0;
    const char *v = PQgetvalue(s->res, s->row, col);
    if (PQftype(s->res, col) == 16)          /* bool */
        return v[0] == 't';
    return strtoll(v, NULL, 10);
}

static const char *pg_col_text(struct sql_stmt *s, int col)
{
    if (!have(s, col) || PQgetisnull(s->res, s->row, col))
        return NULL;
    return PQgetvalue(s->res, s->row, col);
}

static const void *pg_col_blob(struct sql_stmt *s, int col, size_t *n)
{
    if (n)
        *n = 0;
    if (!have(s, col) || PQgetisnull(s->res, s->row, col))
        return NULL;
    const char *v = PQgetvalue(s->res, s->row, col);
    if (PQftype(s->res, col) != 17) {        /* not bytea: its text */
        if (n)
            *n = (size_t)PQgetlength(s->res, s->row, col);
        return v;
    }
    if (!s->unesc[col]) {
        s->unesc[col] = PQunescapeBytea((const unsigned char *)v,
                                        &s->unesc_n[col]);
        if (!s->unesc[col])
            return NULL;
    }
    if (n)
        *n = s->unesc_n[col];
    return s->unesc[col];
}

static bool pg_col_null(struct sql_stmt *s, int col)
{
    return !have(s, col) || PQgetisnull(s->res, s->row, col);
}

static void pg_reset(struct sql_stmt *s)
{
    stmt_clear_rows(s);
}

static int64_t pg_changes(struct sql_stmt *s)
{
    return s->changes;
}

/* notice_quiet - the server's NOTICEs and WARNINGs (IF NOT EXISTS,
 * unlocking a lock not held) are not errors and not for the log */
static void notice_quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

static int pg_exec(struct sql_conn *c, const char *sql)
{
    struct pg *p = PG(c);
    /* the caller's transaction: open after a BEGIN, over once COMMIT or
     * ROLLBACK was sent, whatever their answer */
    bool begin = strncasecmp(sql, "BEGIN", 5) == 0;
    if (strncasecmp(sql, "COMMIT", 6) == 0
        || strncasecmp(sql, "ROLLBACK", 8) == 0)
        p->txn_open = false;
    if (p->pipeline) {
        if (pend_push(p, -1) != 0)
            return -1;
        if (!PQsendQueryParams(p->conn, sql, 0, NULL, NULL, NULL, NULL, 0)) {
            p->npend--;
            res_error(c, NULL);
            return -1;
        }
        if (begin)
            p->txn_open = true;    /* its answer comes with the group's */
        return 0;
    }
    bool may = redoable(p, sql), tried = false;
    if (!p->txn_open && PQstatus(p->conn) == CONNECTION_BAD) {
        tried = true;              /* lost before: nothing sent yet */
        if (session_renew(p) != 0)
            return -1;
    }
    for (;;) {
        PGresult *r = PQexec(p->conn, sql);
        ExecStatusType t = PQresultStatus(r);
        if (t == PGRES_COMMAND_OK || t == PGRES_TUPLES_OK) {
            PQclear(r);
            if (begin)
                p->txn_open = true;
            return 0;
        }
        res_error(c, r);
        PQclear(r);
        if (!lost_again(p, may, &tried))
            return -1;
    }
}

static int pg_begin(struct sql_conn *c)
{
    return pg_exec(c, "BEGIN");
}

static bool pg_in_txn(const struct sql_conn *c)
{
    const struct pg *p = (const struct pg *)c;
    PGTransactionStatusType t = PQtransactionStatus(p->conn);
    /* a transaction whose session was lost is still the caller's to end
     * (sql_rollback), so that readers after it may reconnect */
    return p->txn_open || t == PQTRANS_INTRANS || t == PQTRANS_INERROR
           || t == PQTRANS_ACTIVE;
}

static int pg_lock_xact(struct sql_conn *c, const char *name)
{
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT pg_advisory_xact_lock(%lld)",
             (long long)sql_lock_key(name));
    return pg_exec(c, sql);
}

/* session_setup - what every session of the ledger runs first (after a
 * connect and after each reconnect): the ledger's times are UTC; a lock
 * wait is bounded like SQLite's busy wait; a transaction left open by a
 * dead client ends */
static int session_setup(struct pg *p)
{
    char set[160];
    PQsetNoticeProcessor(p->conn, notice_quiet, NULL);
    snprintf(set, sizeof set, "SET TIME ZONE 'UTC'; SET lock_timeout = %d; "
             "SET idle_in_transaction_session_timeout = 600000",
             p->lock_timeout_ms);
    return pg_exec(&p->base, set);
}

static int pg_pipeline_begin(struct sql_conn *c)
{
    struct pg *p = PG(c);
    /* a group outside a transaction on a session known lost: a fresh
     * one first (nothing was sent on it) */
    if (!p->pipeline && !p->txn_open && PQstatus(p->conn) == CONNECTION_BAD
        && session_renew(p) != 0)
        return -1;
    if (p->pipeline || PQsetnonblocking(p->conn, 1) != 0
        || !PQenterPipelineMode(p->conn)) {
        res_error(c, NULL);
        PQsetnonblocking(p->conn, 0);
        return -1;
    }
    p->pipeline = true;
    p->npend = 0;
    sql_clear_error(c);
    return 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* pg_pipeline_end - sync, then read every answer (flushing what is still
 * to send as the socket takes it), keeping the first error */
static int pg_pipeline_end(struct sql_conn *c)
{
    struct pg *p = PG(c);
    int rc = 0;
    bool synced = false, failed = false;
    size_t cur = 0;                /* the item whose answers are read */
    if (!p->pipeline)
        return 0;
    if (!PQpipelineSync(p->conn)) {
        res_error(c, NULL);
        rc = -1;
    }
    int64_t heard = now_ms();
    while (rc == 0 && !synced) {
        int more = PQflush(p->conn);
        if (more < 0) {
            res_error(c, NULL);
            rc = -1;
            break;
        }
        if (PQconsumeInput(p->conn) == 0) {
            res_error(c, NULL);
            rc = -1;
            break;
        }
        bool got = false;
        while (!PQisBusy(p->conn) && !synced) {
            PGresult *r = PQgetResult(p->conn);
            got = true;
            if (!r) {
                cur++;             /* the end of one item's answers */
                continue;
            }
            ExecStatusType t = PQresultStatus(r);
            if (t != PGRES_PIPELINE_SYNC && t != PGRES_COMMAND_OK
                && cur < p->npend && p->pend[cur] >= 0)
                p->stmt[p->pend[cur]].prepared = false;  /* Parse lost */
            if (t == PGRES_PIPELINE_SYNC) {
                synced = true;
            } else if (t == PGRES_FATAL_ERROR && !failed) {
                res_error(c, r);   /* the first error; the rest were
                                      aborted by it */
                failed = true;
            }
            PQclear(r);
        }
        if (synced)
            break;
        if (got) {
            heard = now_ms();
            continue;
        }
        if (now_ms() - heard > PG_PIPE_WAIT_MS) {
            sql_set_error(c, SQL_CONN_LOST, "", "no answer from PostgreSQL "
                          "for %d s in a pipeline", PG_PIPE_WAIT_MS / 1000);
            rc = -1;
            break;
        }
        struct pollfd pfd = { PQsocket(p->conn), POLLIN
                              | (more ? POLLOUT : 0), 0 };
        if (pfd.fd < 0) {
            res_error(c, NULL);
            rc = -1;
            break;
        }
        poll(&pfd, 1, 1000);
    }
    if (rc == 0 && failed)
        rc = -1;                   /* a statement in the group failed */
    if (!PQexitPipelineMode(p->conn)) {
        /* answers still due (an error cut the loop): the session is in
         * an unknown state; drop it, the caller reconnects */
        if (rc == 0)
            res_error(c, NULL);
        PQreset(p->conn);
        for (size_t i = 0; i < p->nstmt; i++)
            p->stmt[i].prepared = false;
        p->pipeline = false;
        PQsetnonblocking(p->conn, 0);
        if (PQstatus(p->conn) == CONNECTION_OK)
            session_setup(p);
        rc = -1;
    }
    PQsetnonblocking(p->conn, 0);
    p->pipeline = false;
    for (size_t i = 0; i < p->nstmt; i++)
        if (p->stmt[i].row >= 0 && !p->stmt[i].res)
            p->stmt[i].row = -1;   /* sent in the pipeline: run again */
    p->npend = 0;
    return rc;
}

/* session_renew - a fresh session for a lost one: every statement is
 * prepared again as it is used (rows already read stay readable: they
 * are the client's), and the session set up as at connect */
static int session_renew(struct pg *p)
{
    PQreset(p->conn);
    p->txn_open = false;
    for (size_t i = 0; i < p->nstmt; i++)
        p->stmt[i].prepared = false;
    if (PQstatus(p->conn) != CONNECTION_OK) {
        res_error(&p->base, NULL);
        return -1;
    }
    if (session_setup(p) != 0)
        return -1;
    sql_clear_error(&p->base);
    return 0;
}

static int pg_reconnect(struct sql_conn *c)
{
    struct pg *p = PG(c);
    for (size_t i = 0; i < p->nstmt; i++)
        stmt_clear_rows(&p->stmt[i]);
    return session_renew(p);
}

static const struct sql_ops pg_ops = {
    .close = pg_close,
    .prepare = pg_prepare,
    .prepare_own = pg_prepare_own,
    .finalize = pg_finalize,
    .bind_text = pg_bind_text,
    .bind_int64 = pg_bind_int64,
    .bind_blob = pg_bind_blob,
    .bind_null = pg_bind_null,
    .step = pg_step,
    .col_int64 = pg_col_int64,
    .col_text = pg_col_text,
    .col_blob = pg_col_blob,
    .col_null = pg_col_null,
    .reset = pg_reset,
    .changes = pg_changes,
    .exec = pg_exec,
    .begin = pg_begin,
    .in_txn = pg_in_txn,
    .lock_xact = pg_lock_xact,
    .pipeline_begin = pg_pipeline_begin,
    .pipeline_end = pg_pipeline_end,
    .reconnect = pg_reconnect,
};

struct sql_conn *sql_pg_open(const struct sql_desc *d, struct errs *e)
{
    char desc[512];
    if (!d->conninfo) {
        errs_add(e, "ledger", "no PostgreSQL connection string given");
        return NULL;
    }
    sql_conninfo_describe(d->conninfo, desc, sizeof desc);
    struct pg *p = calloc(1, sizeof *p);
    if (!p) {
        errs_add(e, desc, "out of memory");
        return NULL;
    }
    p->base.ops = &pg_ops;
    p->base.backend = SQL_POSTGRESQL;
    p->lock_timeout_ms = d->busy_timeout_ms > 0 ? d->busy_timeout_ms : 10000;
    /* ferry's defaults first; the connection string's own values (it is
     * expanded in dbname's place) override them */
    static const char *const keys[] = { "connect_timeout", "keepalives",
        "keepalives_idle", "keepalives_interval", "keepalives_count",
        "application_name", "dbname", NULL };
    const char *vals[] = { "10", "1", "30", "10", "3", "ferry",
                           d->conninfo, NULL };
    p->conn = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(p->conn) != CONNECTION_OK) {
        /* libpq's words name the host, port, user and reason, never the
         * password */
        sql_set_error(&p->base, SQL_CONN_LOST, "", "%s",
                      PQerrorMessage(p->conn));
        errs_add(e, desc, "cannot connect to the PostgreSQL ledger: %s",
                 p->base.err.msg);
        pg_close(&p->base);
        return NULL;
    }
    if (session_setup(p) != 0) {
        errs_add(e, desc, "PostgreSQL ledger session: %s", p->base.err.msg);
        pg_close(&p->base);
        return NULL;
    }
    return &p->base;
}

/* ---- the connection file ------------------------------------------- */

#define CONNINFO_MAX 4096

void sql_conninfo_free(char *conninfo)
{
    if (!conninfo)
        return;
    explicit_bzero(conninfo, strlen(conninfo));
    free(conninfo);
}

int sql_conninfo_load(const char *path, char **out, struct errs *e)
{
    struct stat sb;
    char *data = NULL;
    size_t n = 0;
    *out = NULL;
    if (stat(path, &sb) != 0) {
        errs_add(e, path, "connection file: %s", strerror(errno));
        return -1;
    }
    if (!S_ISREG(sb.st_mode)) {
        errs_add(e, path, "connection file is not a regular file");
        return -1;
    }
    if (!fs_secret_mode_ok(path)) {
        errs_add(e, path, "connection file is readable by group or others "
                 "(mode %04o; chmod 600 it): it may hold the password",
                 (unsigned)(sb.st_mode & 07777));
        return -1;
    }
    if (fs_read_file(path, CONNINFO_MAX, &data, &n, e) != 0)
        return -1;
    while (n && (data[n - 1] == '\n' || data[n - 1] == '\r'
                 || data[n - 1] == ' '))
        data[--n] = '\0';
    if (n == 0 || memchr(data, '\0', n)) {
        errs_add(e, path, n ? "connection file holds a NUL byte"
                 : "connection file is empty");
        goto fail;
    }
    /* line breaks inside (a file written as one pair a line) are spaces
     * to libpq's key=value syntax */
    for (size_t i = 0; i < n; i++)
        if (data[i] == '\n' || data[i] == '\r')
            data[i] = ' ';
    char *why = NULL;
    PQconninfoOption *opts = PQconninfoParse(data, &why);
    if (!opts) {
        /* libpq's reason quotes the text it could not read, which may be
         * the password: say where, not what */
        PQfreemem(why);
        errs_add(e, path, "connection file is not a libpq connection "
                 "string (key=value pairs or a postgresql:// URI)");
        goto fail;
    }
    PQconninfoFree(opts);
    *out = data;
    return 0;
fail:
    sql_conninfo_free(data);
    return -1;
}

void sql_conninfo_describe(const char *conninfo, char *out, size_t outsz)
{
    static const char *const shown[] = { "host", "hostaddr", "port",
                                         "dbname", "user", "sslmode",
                                         "application_name", NULL };
    size_t k = 0;
    out[0] = '\0';
    PQconninfoOption *opts = PQconninfoParse(conninfo ? conninfo : "", NULL);
    if (!opts) {
        snprintf(out, outsz, "postgresql (connection string not readable)");
        return;
    }
    bool pw = false;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val || !*o->val)
            continue;
        if (strcmp(o->keyword, "password") == 0) {
            pw = true;
            continue;
        }
        for (const char *const *s = shown; *s; s++)
            if (strcmp(o->keyword, *s) == 0 && k + 1 < outsz) {
                int w = snprintf(out + k, outsz - k, "%s%s=%s", k ? " " : "",
                                 o->keyword, o->val);
                k = w < 0 ? k : k + (size_t)w;
                if (k >= outsz)
                    k = outsz - 1;
            }
    }
    if (pw && k + 1 < outsz)
        snprintf(out + k, outsz - k, "%spassword=***", k ? " " : "");
    if (!out[0])
        snprintf(out, outsz, "postgresql (libpq defaults)");
    PQconninfoFree(opts);
}
