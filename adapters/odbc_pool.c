/* odbc_pool.c - the ODBC adapter's connections: opening one (login and
 * query timeouts, autocommit off, the target's metadata described once,
 * the marker table made once, statements prepared), the pool that hands
 * them to delivering threads, and ending a transaction.  Driver
 * diagnostics are read here (odbc_get_diag) but classified only in
 * odbc_classify (odbc_util.c).
 *
 * Owns: nothing of its own; the pool slots and handles live in struct
 * odbc (odbc.h), under its mutexes. */
#include "adapters/odbc.h"

#include <pthread.h>
#include <sql.h>
#include <sqlext.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/crash.h"
#include "util/log.h"
#include "util/scrub.h"

/* odbc_get_diag - first diagnostic record of a handle */
void odbc_get_diag(SQLSMALLINT type, SQLHANDLE h, struct diag *d)
{
    SQLCHAR st[6] = "", msg[600] = "";
    SQLINTEGER native = 0;
    SQLSMALLINT len = 0;
    d->state[0] = '\0';
    d->msg[0] = '\0';
    if (!h)
        return;
    if (SQL_SUCCEEDED(SQLGetDiagRec(type, h, 1, st, &native, msg,
                                    (SQLSMALLINT)sizeof msg, &len))) {
        snprintf(d->state, sizeof d->state, "%s", (char *)st);
        /* one line: drivers put DETAIL on the next */
        for (char *p = (char *)msg; *p; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
        snprintf(d->msg, sizeof d->msg, "%s", (char *)msg);
        /* the row's values never leave the adapter (issue 12 §2) */
        scrub_echoed_values(d->msg, sizeof d->msg);
    } else {
        snprintf(d->msg, sizeof d->msg, "no diagnostics from driver");
    }
}

/* ---- metadata --------------------------------------------------------- */

/* describe_table - parameter types from SQLColumns: the table name as
 * written, then lower-cased (unquoted PostgreSQL DDL folds case); column
 * names compared ignoring case */
static int describe_table(struct odbc *o, SQLHDBC dbc, struct diag *dg)
{
    SQLHSTMT st = NULL;
    int ret = -1;
    bool *found = calloc(o->np ? o->np : 1, sizeof *found);
    char schema[129] = "", table[129];
    if (!found)
        return -1;
    const char *dot = strrchr(o->table_raw, '.');
    if (dot) {
        snprintf(schema, sizeof schema, "%.*s", (int)(dot - o->table_raw),
                 o->table_raw);
        snprintf(table, sizeof table, "%s", dot + 1);
    } else {
        snprintf(table, sizeof table, "%s", o->table_raw);
    }
    for (int pass = 0; pass < 2; pass++) {
        if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, dbc, &st)))
            goto fail;
        if (pass == 1)
            for (char *p = table; *p; p++)
                *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
        SQLRETURN rc = SQLColumns(st, NULL, 0,
                                  schema[0] ? (SQLCHAR *)schema : NULL,
                                  schema[0] ? SQL_NTS : 0,
                                  (SQLCHAR *)table, SQL_NTS, NULL, 0);
        if (!SQL_SUCCEEDED(rc)) {
            odbc_get_diag(SQL_HANDLE_STMT, st, dg);
            goto fail;
        }
        int rows = 0;
        while (SQL_SUCCEEDED(SQLFetch(st))) {
            char name[256] = "", tname[128] = "";
            SQLSMALLINT t = 0, dd = 0;
            SQLINTEGER cs = 0;
            SQLLEN ind;
            rows++;
            SQLGetData(st, 4, SQL_C_CHAR, name, sizeof name, &ind);
            SQLGetData(st, 5, SQL_C_SSHORT, &t, 0, &ind);
            SQLGetData(st, 6, SQL_C_CHAR, tname, sizeof tname, &ind);
            if (SQLGetData(st, 7, SQL_C_SLONG, &cs, 0, &ind) != SQL_SUCCESS
                || ind == SQL_NULL_DATA || cs < 0)
                cs = 0;
            if (SQLGetData(st, 9, SQL_C_SSHORT, &dd, 0, &ind) != SQL_SUCCESS
                || ind == SQL_NULL_DATA)
                dd = -1;
            for (size_t j = 0; j < o->np; j++) {
                if (found[j] || strcasecmp(o->p[j].a->to, name) != 0)
                    continue;
                odbc_kind_from_sql(&o->p[j], t, (SQLULEN)cs, dd, tname);
                odbc_assign_overrides(&o->p[j]);
                found[j] = true;
            }
        }
        SQLFreeHandle(SQL_HANDLE_STMT, st);
        st = NULL;
        if (rows > 0)
            break;
        if (pass == 1) {
            snprintf(dg->state, sizeof dg->state, "42S02");
            snprintf(dg->msg, sizeof dg->msg, "table %s not found",
                     o->table_raw);
            goto fail;
        }
    }
    for (size_t j = 0; j < o->np; j++) {
        if (!found[j]) {
            snprintf(dg->state, sizeof dg->state, "42S22");
            snprintf(dg->msg, sizeof dg->msg, "column %s not found in table "
                     "%s", o->p[j].a->to, o->table_raw);
            goto fail;
        }
    }
    ret = 0;
fail:
    if (st)
        SQLFreeHandle(SQL_HANDLE_STMT, st);
    free(found);
    return ret;
}

/* describe_stmt - types of an explicit statement's parameters.  Sizes
 * drivers give here are generic (psqlODBC: 255 for any text), so only the
 * kind is used; size=/scale= on a <map> set them. */
static int describe_stmt(struct odbc *o, SQLHSTMT st, struct diag *dg)
{
    SQLSMALLINT n = 0;
    if (!SQL_SUCCEEDED(SQLNumParams(st, &n))) {
        odbc_get_diag(SQL_HANDLE_STMT, st, dg);
        return -1;
    }
    if ((size_t)n != o->np) {
        snprintf(dg->state, sizeof dg->state, "07002");
        snprintf(dg->msg, sizeof dg->msg, "statement has %d parameters, "
                 "mapping fills %zu", (int)n, o->np);
        return -1;
    }
    for (size_t j = 0; j < o->np; j++) {
        SQLSMALLINT t = 0, dig = 0, nul = 0;
        SQLULEN sz = 0;
        if (!SQL_SUCCEEDED(SQLDescribeParam(st, (SQLUSMALLINT)(j + 1), &t,
                                            &sz, &dig, &nul)) ||
            t == SQL_UNKNOWN_TYPE || t == SQL_VARCHAR) {
            t = SQL_VARCHAR;
        }
        odbc_kind_from_sql(&o->p[j], t, 0, -1, NULL);
        if (o->p[j].kind == ODBC_PK_TEXT)
            o->p[j].fixed = false;
        odbc_assign_overrides(&o->p[j]);
    }
    return 0;
}

/* ---- connections ------------------------------------------------------ */

void odbc_conn_close(struct conn *c)
{
    if (c->ins)
        SQLFreeHandle(SQL_HANDLE_STMT, c->ins);
    if (c->mark)
        SQLFreeHandle(SQL_HANDLE_STMT, c->mark);
    if (c->multi)
        SQLFreeHandle(SQL_HANDLE_STMT, c->multi);
    if (c->mmulti)
        SQLFreeHandle(SQL_HANDLE_STMT, c->mmulti);
    c->multi = c->mmulti = NULL;
    if (c->dbc) {
        SQLEndTran(SQL_HANDLE_DBC, c->dbc, SQL_ROLLBACK);
        SQLDisconnect(c->dbc);
        SQLFreeHandle(SQL_HANDLE_DBC, c->dbc);
    }
    c->ins = c->mark = NULL;
    c->dbc = NULL;
    c->open = false;
}

/* prepare - allocate and prepare a statement with the query timeout */
static int prepare(struct odbc *o, SQLHDBC dbc, const char *sql,
                   SQLHSTMT *out, struct diag *dg)
{
    SQLHSTMT st;
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, dbc, &st))) {
        odbc_get_diag(SQL_HANDLE_DBC, dbc, dg);
        return -1;
    }
    if (o->query_to > 0)
        SQLSetStmtAttr(st, SQL_ATTR_QUERY_TIMEOUT,
                       (SQLPOINTER)(uintptr_t)o->query_to, 0);
    if (!SQL_SUCCEEDED(SQLPrepare(st, (SQLCHAR *)sql, SQL_NTS))) {
        odbc_get_diag(SQL_HANDLE_STMT, st, dg);
        SQLFreeHandle(SQL_HANDLE_STMT, st);
        return -1;
    }
    *out = st;
    return 0;
}

/* exec_direct_commit - run one DDL statement and commit */
static int exec_direct_commit(SQLHDBC dbc, const char *sql, struct diag *dg)
{
    SQLHSTMT st;
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, dbc, &st)))
        return -1;
    SQLRETURN rc = SQLExecDirect(st, (SQLCHAR *)sql, SQL_NTS);
    if (!SQL_SUCCEEDED(rc) && rc != SQL_NO_DATA) {
        odbc_get_diag(SQL_HANDLE_STMT, st, dg);
        SQLFreeHandle(SQL_HANDLE_STMT, st);
        SQLEndTran(SQL_HANDLE_DBC, dbc, SQL_ROLLBACK);
        return -1;
    }
    SQLFreeHandle(SQL_HANDLE_STMT, st);
    if (!SQL_SUCCEEDED(SQLEndTran(SQL_HANDLE_DBC, dbc, SQL_COMMIT))) {
        odbc_get_diag(SQL_HANDLE_DBC, dbc, dg);
        return -1;
    }
    return 0;
}

/* conn_open - connect, autocommit off, describe once, prepare */
static int conn_open(struct odbc *o, struct conn *c, struct diag *dg)
{
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_DBC, o->env, &c->dbc))) {
        snprintf(dg->msg, sizeof dg->msg, "cannot allocate a connection");
        c->dbc = NULL;
        return -1;
    }
    SQLSetConnectAttr(c->dbc, SQL_ATTR_LOGIN_TIMEOUT,
                      (SQLPOINTER)(uintptr_t)o->login_to, 0);
    SQLRETURN rc = SQLDriverConnect(c->dbc, NULL, (SQLCHAR *)o->connstr,
                                    (SQLSMALLINT)o->connlen, NULL, 0, NULL,
                                    SQL_DRIVER_NOPROMPT);
    if (!SQL_SUCCEEDED(rc)) {
        odbc_get_diag(SQL_HANDLE_DBC, c->dbc, dg);
        if (!dg->state[0])
            snprintf(dg->state, sizeof dg->state, "08001");
        SQLFreeHandle(SQL_HANDLE_DBC, c->dbc);
        c->dbc = NULL;
        return -1;
    }
    if (!SQL_SUCCEEDED(SQLSetConnectAttr(c->dbc, SQL_ATTR_AUTOCOMMIT,
                                         (SQLPOINTER)SQL_AUTOCOMMIT_OFF, 0))) {
        odbc_get_diag(SQL_HANDLE_DBC, c->dbc, dg);
        goto fail;
    }
    c->open = true;
    /* metadata and the marker table are settled once, by the first
     * connection; o->p is read-only after described is set */
    pthread_mutex_lock(&o->meta);
    if (o->create_marker && !o->marker_made) {
        char sql[512];
        snprintf(sql, sizeof sql, "CREATE TABLE IF NOT EXISTS %s ("
                 "delivery_id VARCHAR(36) NOT NULL PRIMARY KEY, "
                 "ref VARCHAR(64) NOT NULL, written_at TIMESTAMP NOT NULL)",
                 o->marker_q);
        if (exec_direct_commit(c->dbc, sql, dg) < 0) {
            dg->marker = true;
            goto fail_meta;
        }
        o->marker_made = true;
    }
    if (prepare(o, c->dbc, o->insert_sql, &c->ins, dg) < 0)
        goto fail_meta;
    if (o->marker_sql && prepare(o, c->dbc, o->marker_sql, &c->mark, dg) < 0) {
        dg->marker = true;
        goto fail_meta;
    }
    if (o->marker_probe_sql && !o->marker_seen) {
        /* read it once now: a marker table that is missing, lacks its
         * column or may not be read stops the target here, with one
         * message, before any record is tried */
        char sql[512];
        snprintf(sql, sizeof sql, "SELECT 1 FROM %s WHERE delivery_id = ''",
                 o->marker_q);
        if (exec_direct_commit(c->dbc, sql, dg) < 0) {
            dg->marker = true;
            goto fail_meta;
        }
        o->marker_seen = true;
    }
    if (!o->described) {
        int r = o->table_q ? describe_table(o, c->dbc, dg)
                           : describe_stmt(o, c->ins, dg);
        if (r < 0)
            goto fail_meta;
        SQLEndTran(SQL_HANDLE_DBC, c->dbc, SQL_ROLLBACK);
        o->described = true;
    }
    /* many rows per statement: a driver or database that refuses the
     * statement (too many markers, no multi-row VALUES) just goes
     * without, on this connection */
    if (o->multi_sql) {
        struct diag md;
        memset(&md, 0, sizeof md);
        if (prepare(o, c->dbc, o->multi_sql, &c->multi, &md) < 0)
            c->multi = NULL;
        else if (o->mmulti_sql &&
                 prepare(o, c->dbc, o->mmulti_sql, &c->mmulti, &md) < 0) {
            SQLFreeHandle(SQL_HANDLE_STMT, c->multi);
            c->multi = c->mmulti = NULL;
        }
        if (!c->multi) {
            char n[32];
            snprintf(n, sizeof n, "%zu", o->multi_rows);
            log_event(LOG_INFO, "odbc-rows-per-insert-off", "rows", n,
                      "sqlstate", md.state, "message", md.msg, NULL);
        }
    }
    /* array binding: only if the driver takes a paramset size */
    if (o->array_ok < 0) {
        o->array_ok = SQL_SUCCEEDED(SQLSetStmtAttr(c->ins,
                          SQL_ATTR_PARAMSET_SIZE, (SQLPOINTER)2, 0)) ? 1 : 0;
        SQLSetStmtAttr(c->ins, SQL_ATTR_PARAMSET_SIZE, (SQLPOINTER)1, 0);
    }
    pthread_mutex_unlock(&o->meta);
    return 0;
fail_meta:
    pthread_mutex_unlock(&o->meta);
fail:
    odbc_conn_close(c);
    return -1;
}

/* odbc_pool_get - a free connection slot, opened; NULL with dg when it cannot
 * connect (the slot is released again) */
struct conn *odbc_pool_get(struct odbc *o, struct diag *dg)
{
    struct conn *c = NULL;
    pthread_mutex_lock(&o->mu);
    for (;;) {
        for (size_t i = 0; i < o->nc && !c; i++)
            if (!o->c[i].busy && o->c[i].open)
                c = &o->c[i];
        for (size_t i = 0; i < o->nc && !c; i++)
            if (!o->c[i].busy)
                c = &o->c[i];
        if (c)
            break;
        pthread_cond_wait(&o->cv, &o->mu);
    }
    c->busy = true;
    pthread_mutex_unlock(&o->mu);
    if (!c->open && conn_open(o, c, dg) < 0) {
        pthread_mutex_lock(&o->mu);
        c->busy = false;
        pthread_cond_signal(&o->cv);
        pthread_mutex_unlock(&o->mu);
        return NULL;
    }
    return c;
}

void odbc_pool_put(struct odbc *o, struct conn *c, bool broken)
{
    if (broken) {
        log_event(LOG_WARN, "odbc-connection-dropped", NULL);
        odbc_conn_close(c);
    }
    pthread_mutex_lock(&o->mu);
    c->busy = false;
    pthread_cond_signal(&o->cv);
    pthread_mutex_unlock(&o->mu);
}

/* ---- transactions ----------------------------------------------------- */

/* odbc_commit - 0 committed; -1 with dg (outcome decided by the caller) */
int odbc_commit(struct conn *c, struct diag *dg)
{
    crash_point("odbc-before-commit");
    if (!SQL_SUCCEEDED(SQLEndTran(SQL_HANDLE_DBC, c->dbc, SQL_COMMIT))) {
        odbc_get_diag(SQL_HANDLE_DBC, c->dbc, dg);
        if (!dg->state[0])
            snprintf(dg->state, sizeof dg->state, "08S01");
        return -1;
    }
    crash_point("odbc-after-commit");
    return 0;
}

/* odbc_rollback - false when the connection is gone */
bool odbc_rollback(struct conn *c)
{
    return SQL_SUCCEEDED(SQLEndTran(SQL_HANDLE_DBC, c->dbc, SQL_ROLLBACK));
}
