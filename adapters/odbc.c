/* odbc.c - the ODBC stream adapter (unixODBC): records into a table of a
 * legacy database, one transaction per batch.
 *
 * Contract: statements are parameterised only (identifiers are validated
 * and quoted, values only ever travel as parameters).  Parameters are typed
 * from the target's own metadata (SQLColumns in table mode, SQLDescribeParam
 * for an explicit statement): CHAR padded, NUMERIC sent as exact text,
 * integers as SQLBIGINT, DATE/TIMESTAMP as ODBC structs, absent values as
 * NULL.  A batch runs in one transaction: in table mode as many-row
 * INSERTs (rows-per-insert rows of VALUES (?,..) each, the marker rows
 * likewise: one statement execution per hundred rows instead of per row,
 * which is what PostgreSQL charges for), the rest with array binding when
 * the driver takes SQL_ATTR_PARAMSET_SIZE, else row by row; if any row
 * fails the batch is rolled back and every row retried in its own
 * transaction so only the bad row fails.  Driver errors become outcomes in
 * odbc_classify (odbc_util.c) only.  Optional exactly-once: a marker row
 * (the record's delivery identity, unique across spools, and its ref)
 * written in the same transaction as the record.  What no record can fix
 * (login refused, the marker table or the target's table missing or not
 * ours) is STOP, for every record of the call: the engine stops the target
 * and the records wait.
 *
 * Connections, the pool, the target's metadata and commit/rollback:
 * odbc_pool.c; options, SQL and connection string at init: odbc_setup.c;
 * the state they share: odbc.h.
 *
 * Owns: the ODBC environment, a pool of connections (each with its
 * prepared statements) and the connection string (a secret: never logged,
 * wiped on close).  env->map must outlive the instance (it is the loaded
 * config's). */
#include "adapters/odbc.h"

#include <pthread.h>
#include <signal.h>
#include <sql.h>
#include <sqlext.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "util/tz.h"
#include "util/buf.h"
#include "util/errs.h"
#include "util/log.h"


static const struct adapter_key odbc_keys[] = {
    ADAPTER_KEY("connection-file", ADAPTER_OPT_SECRET, false,
                "file (mode 0600) or env:NAME holding the ODBC " "connection string"),
    ADAPTER_KEY("dsn", ADAPTER_OPT_STR, false,
                "data source name from odbc.ini (with user, password-file)"),
    ADAPTER_KEY("user", ADAPTER_OPT_STR, false,
                "user name for dsn"),
    ADAPTER_KEY("password-file", ADAPTER_OPT_SECRET, false,
                "file or env:NAME holding the password for dsn"),
    ADAPTER_KEY("batch-size", ADAPTER_OPT_STR, false,
                "records per transaction (default 100)"),
    ADAPTER_KEY("rows-per-insert", ADAPTER_OPT_STR, false,
                "rows per INSERT statement in table mode, as VALUES "
                "(?,..),(?,..)... (default 100; 1 = one row per statement)"),
    ADAPTER_KEY("pool-size", ADAPTER_OPT_STR, false,
                "connections kept open (default 1)"),
    ADAPTER_KEY("login-timeout", ADAPTER_OPT_STR, false,
                "seconds to wait for a connection (default 10)"),
    ADAPTER_KEY("query-timeout", ADAPTER_OPT_STR, false,
                "seconds per statement (default 0: driver's)"),
    ADAPTER_KEY("marker-table", ADAPTER_OPT_STR, false,
                "exactly-once marker table (delivery_id PRIMARY KEY, ref, "
                "written_at): ferry needs SELECT and INSERT on it (DELETE "
                "to write again a record reconcile found missing)"),
    ADAPTER_KEY("create-marker", ADAPTER_OPT_STR, false,
                "create the marker table if missing (true/false); needs "
                "CREATE on the schema"),
    ADAPTER_KEY_END,
};

static const struct adapter_key odbc_map_keys[] = {
    ADAPTER_KEY("table", ADAPTER_OPT_STR, false,
                "table to insert into; columns from <map to=COLUMN>"),
    ADAPTER_KEY("statement", ADAPTER_OPT_STR, false,
                "explicit INSERT with ? parameters; <map to=\"1\">..."),
    ADAPTER_KEY("key-columns", ADAPTER_OPT_STR, false,
                "comma-separated key columns: a duplicate key on a " "retried record whose row matches counts as delivered"),
    ADAPTER_KEY("reconcile-query", ADAPTER_OPT_STR, false,
                "SELECT answering whether a record arrived"),
    ADAPTER_KEY("reconcile-params", ADAPTER_OPT_STR, false,
                "comma-separated sources for the reconcile-query " "parameters (default $reference)"),
    ADAPTER_KEY("quote-identifiers", ADAPTER_OPT_STR, false,
                "quote table/column names (default true)"),
    ADAPTER_KEY_END,
};

/* set_result - outcome from a diagnostic through odbc_classify */
static enum adapter_outcome set_result(struct adapter_result *res,
                                       const struct diag *d, bool in_commit,
                                       bool *lost, const char *what)
{
    enum adapter_outcome o = odbc_classify(d->state, d->msg, in_commit, lost);
    adapter_result_set(res, o, "%s: SQLSTATE %s: %s", what,
                       d->state[0] ? d->state : "-----", d->msg);
    return o;
}


/* stop_result - STOP: the target is unusable whatever the record */
static void stop_result(const struct odbc *o, struct adapter_result *res,
                        const struct diag *d, bool marker, const char *what)
{
    if (marker)
        adapter_result_set(res, ADAPTER_STOP, "marker table %s unusable "
                           "(%s): SQLSTATE %s: %s; it needs columns "
                           "delivery_id, ref, written_at and ferry needs "
                           "SELECT and INSERT on it (DELETE to write again "
                           "a record reconcile found missing; CREATE on the "
                           "schema with create-marker)", o->marker_raw ?
                           o->marker_raw : "?", what,
                           d->state[0] ? d->state : "-----", d->msg);
    else
        adapter_result_set(res, ADAPTER_STOP, "target unusable (%s): "
                           "SQLSTATE %s: %s", what,
                           d->state[0] ? d->state : "-----", d->msg);
}

/* stop_all - items[from..n) get the STOP of res (the rest of a call) */
static void stop_all(struct delivery_item *items, size_t from, size_t n,
                     const struct adapter_result *res)
{
    for (size_t i = from; i < n; i++)
        if (&items[i].res != res)
            items[i].res = *res;
}

/* ---- reads: marker, row match, reconcile ------------------------------ */

/* query_exists - run sql with bound text params; 1 a row, 0 none, -1 err */
static int query_exists(struct conn *c, const char *sql, const char **vals,
                        size_t nvals, struct diag *dg)
{
    SQLHSTMT st;
    int r = -1;
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, c->dbc, &st))) {
        odbc_get_diag(SQL_HANDLE_DBC, c->dbc, dg);
        return -1;
    }
    SQLLEN nts[16];
    for (size_t i = 0; i < nvals && i < 16; i++) {
        nts[i] = vals[i] ? SQL_NTS : SQL_NULL_DATA;
        SQLBindParameter(st, (SQLUSMALLINT)(i + 1), SQL_PARAM_INPUT,
                         SQL_C_CHAR, SQL_VARCHAR,
                         vals[i] ? strlen(vals[i]) + 1 : 1, 0,
                         (SQLPOINTER)(vals[i] ? vals[i] : ""), 0, &nts[i]);
    }
    SQLRETURN rc = SQLExecDirect(st, (SQLCHAR *)sql, SQL_NTS);
    if (!SQL_SUCCEEDED(rc)) {
        odbc_get_diag(SQL_HANDLE_STMT, st, dg);
        goto done;
    }
    rc = SQLFetch(st);
    if (rc == SQL_NO_DATA)
        r = 0;
    else if (SQL_SUCCEEDED(rc))
        r = 1;
    else
        odbc_get_diag(SQL_HANDLE_STMT, st, dg);
done:
    SQLFreeHandle(SQL_HANDLE_STMT, st);
    SQLEndTran(SQL_HANDLE_DBC, c->dbc, SQL_ROLLBACK);
    return r;
}

/* row_matches - after a duplicate key on a retry: is the row there, with
 * the same values?  1 yes, 0 no, -1 error.  Uses the row's own bound
 * values (pb at row), so types match the insert exactly. */
static int row_matches(struct odbc *o, struct conn *c, struct odbc_cell *cells,
                       struct odbc_pbuf *pb, size_t row, struct diag *dg)
{
    struct buf sql;
    SQLHSTMT st = NULL;
    int r = -1;
    buf_init(&sql, 64 * 1024);
    buf_printf(&sql, "SELECT 1 FROM %s WHERE ", o->table_q);
    /* keys first, then every other column; NULL compared with IS NULL */
    size_t *order = calloc(o->np ? o->np : 1, sizeof *order), no = 0;
    if (!order)
        goto done;
    for (int pass = 0; pass < 2; pass++)
        for (size_t j = 0; j < o->np; j++)
            if (o->is_key[j] == (pass == 0))
                order[no++] = j;
    struct odbc_param *saved = calloc(o->np ? o->np : 1, sizeof *saved);
    struct odbc_pbuf *spb = calloc(o->np ? o->np : 1, sizeof *spb);
    if (!saved || !spb) {
        free(saved);
        free(spb);
        goto done;
    }
    size_t nb = 0;
    for (size_t k = 0; k < no; k++) {
        size_t j = order[k];
        bool isnull = cells[j].null;
        buf_printf(&sql, "%s%s %s", k ? " AND " : "", o->colq[j],
                   isnull ? "IS NULL" : "= ?");
        if (!isnull) {
            saved[nb] = o->p[j];
            spb[nb] = pb[j];
            spb[nb].data = (char *)pb[j].data + row * (size_t)pb[j].elem;
            spb[nb].ind = pb[j].ind + row;
            nb++;
        }
    }
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, c->dbc, &st))) {
        odbc_get_diag(SQL_HANDLE_DBC, c->dbc, dg);
        free(saved);
        free(spb);
        goto done;
    }
    /* bind over the non-null subset */
    SQLRETURN rc = odbc_bind_params(saved, nb, st, spb, 0, 1);
    free(saved);
    free(spb);
    if (SQL_SUCCEEDED(rc))
        rc = SQLExecDirect(st, (SQLCHAR *)buf_str(&sql), SQL_NTS);
    if (!SQL_SUCCEEDED(rc)) {
        odbc_get_diag(SQL_HANDLE_STMT, st, dg);
        goto done;
    }
    rc = SQLFetch(st);
    r = rc == SQL_NO_DATA ? 0 : SQL_SUCCEEDED(rc) ? 1 : -1;
    if (r < 0)
        odbc_get_diag(SQL_HANDLE_STMT, st, dg);
done:
    if (st)
        SQLFreeHandle(SQL_HANDLE_STMT, st);
    SQLEndTran(SQL_HANDLE_DBC, c->dbc, SQL_ROLLBACK);
    free(order);
    buf_free(&sql);
    return r;
}

/* ---- execution -------------------------------------------------------- */

/* void_markers - rows [row, row+m) that are written anew (voids[r]):
 * delete the marker an earlier send left (its ref is not this send's),
 * inside the open transaction, before the row and its new marker go in.
 * 0, -1 with dg (the marker's statement). */
static int void_markers(struct odbc *o, struct conn *c,
                        const struct odbc_pbuf *mpb, const bool *voids,
                        size_t row, size_t m, struct diag *dg)
{
    for (size_t r = row; voids && r < row + m; r++) {
        if (!voids[r])
            continue;
        SQLHSTMT st;
        if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, c->dbc, &st))) {
            odbc_get_diag(SQL_HANDLE_DBC, c->dbc, dg);
            return -1;
        }
        const char *v[2] = {
            (const char *)mpb[0].data + r * (size_t)mpb[0].elem,
            (const char *)mpb[1].data + r * (size_t)mpb[1].elem,
        };
        SQLLEN nts[2] = { SQL_NTS, SQL_NTS };
        for (int k = 0; k < 2; k++)
            SQLBindParameter(st, (SQLUSMALLINT)(k + 1), SQL_PARAM_INPUT,
                             SQL_C_CHAR, SQL_VARCHAR, strlen(v[k]) + 1, 0,
                             (SQLPOINTER)v[k], 0, &nts[k]);
        SQLRETURN rc = SQLExecDirect(st, (SQLCHAR *)o->marker_void_sql,
                                     SQL_NTS);
        if (!SQL_SUCCEEDED(rc) && rc != SQL_NO_DATA) {
            odbc_get_diag(SQL_HANDLE_STMT, st, dg);
            SQLFreeHandle(SQL_HANDLE_STMT, st);
            return -1;
        }
        SQLFreeHandle(SQL_HANDLE_STMT, st);
    }
    return 0;
}

/* exec_multi - rows [row, row+m) as one many-row statement st (m is the
 * statement's row count); 0 ok, -1 with dg */
static int exec_multi(SQLHSTMT st, const struct odbc_param *p, size_t np,
                      struct odbc_pbuf *pb, size_t row, size_t m,
                      struct diag *dg)
{
    SQLRETURN rc = odbc_bind_rows(p, np, st, pb, row, m);
    if (SQL_SUCCEEDED(rc))
        rc = SQLExecute(st);
    int ret = SQL_SUCCEEDED(rc) || rc == SQL_NO_DATA ? 0 : -1;
    if (ret)
        odbc_get_diag(SQL_HANDLE_STMT, st, dg);
    SQLFreeStmt(st, SQL_CLOSE);
    return ret;
}

/* exec_rows_many - rows [row, row+m): whole statements of multi_rows
 * rows while they fill, the rest through exec_rows (array binding or one
 * by one).  Same contract as exec_rows. */
static int exec_rows(struct odbc *o, struct conn *c, struct odbc_pbuf *pb,
                     struct odbc_pbuf *mpb, const bool *voids, size_t row,
                     size_t m, struct diag *dg, bool *from_marker);
static int exec_rows_many(struct odbc *o, struct conn *c,
                          struct odbc_pbuf *pb, struct odbc_pbuf *mpb,
                          const bool *voids, size_t row, size_t m,
                          struct diag *dg, bool *from_marker)
{
    size_t k = o->multi_rows;
    *from_marker = false;
    while (c->multi && k > 1 && m >= k) {
        if (c->mark && void_markers(o, c, mpb, voids, row, k, dg) != 0) {
            *from_marker = true;
            return -1;
        }
        if (exec_multi(c->multi, o->p, o->np, pb, row, k, dg) != 0)
            return -1;
        if (c->mark) {
            struct odbc_param mp[2] = {{0}, {0}};   /* delivery_id, ref */
            mp[0].kind = mp[1].kind = ODBC_PK_TEXT;
            mp[0].sqltype = mp[1].sqltype = SQL_VARCHAR;
            if (exec_multi(c->mmulti, mp, 2, mpb, row, k, dg) != 0) {
                *from_marker = true;
                return -1;
            }
        }
        row += k;
        m -= k;
    }
    if (m > 1 && o->array_ok != 1) {
        for (size_t r = 0; r < m; r++)
            if (exec_rows(o, c, pb, mpb, voids, row + r, 1, dg, from_marker) != 0)
                return -1;
        return 0;
    }
    return m ? exec_rows(o, c, pb, mpb, voids, row, m, dg, from_marker) : 0;
}

/* exec_rows - run the insert (and marker) for rows [row, row+m); 0 ok,
 * -1 with dg.  *from_marker says the failing statement was the marker's.
 * voids (may be NULL): rows whose earlier marker is void (void_markers). */
static int exec_rows(struct odbc *o, struct conn *c, struct odbc_pbuf *pb,
                     struct odbc_pbuf *mpb, const bool *voids, size_t row,
                     size_t m, struct diag *dg, bool *from_marker)
{
    SQLUSMALLINT *status = calloc(m, sizeof *status);
    SQLULEN done = 0;
    int ret = -1;
    *from_marker = false;
    if (!status) {
        snprintf(dg->msg, sizeof dg->msg, "out of memory");
        return -1;
    }
    if (c->mark && void_markers(o, c, mpb, voids, row, m, dg) != 0) {
        *from_marker = true;
        free(status);
        return -1;
    }
    SQLSetStmtAttr(c->ins, SQL_ATTR_PARAM_STATUS_PTR, status, 0);
    SQLSetStmtAttr(c->ins, SQL_ATTR_PARAMS_PROCESSED_PTR, &done, 0);
    SQLRETURN rc = odbc_bind_params(o->p, o->np, c->ins, pb, row, m);
    if (SQL_SUCCEEDED(rc))
        rc = SQLExecute(c->ins);
    bool ok = SQL_SUCCEEDED(rc) || rc == SQL_NO_DATA;
    if (!ok)
        odbc_get_diag(SQL_HANDLE_STMT, c->ins, dg);
    /* some drivers go on past a bad row and say so only per row */
    for (size_t r = 0; ok && m > 1 && r < m && r < done; r++)
        if (status[r] == SQL_PARAM_ERROR) {
            ok = false;
            odbc_get_diag(SQL_HANDLE_STMT, c->ins, dg);
        }
    SQLFreeStmt(c->ins, SQL_CLOSE);
    SQLSetStmtAttr(c->ins, SQL_ATTR_PARAM_STATUS_PTR, NULL, 0);
    SQLSetStmtAttr(c->ins, SQL_ATTR_PARAMS_PROCESSED_PTR, NULL, 0);
    if (!ok)
        goto done;
    if (c->mark) {
        struct odbc_param mp[2] = {{0}, {0}};   /* delivery_id, ref */
        mp[0].kind = mp[1].kind = ODBC_PK_TEXT;
        mp[0].sqltype = mp[1].sqltype = SQL_VARCHAR;
        rc = odbc_bind_params(mp, 2, c->mark, mpb, row, m);
        if (SQL_SUCCEEDED(rc))
            rc = SQLExecute(c->mark);
        if (!SQL_SUCCEEDED(rc) && rc != SQL_NO_DATA) {
            odbc_get_diag(SQL_HANDLE_STMT, c->mark, dg);
            *from_marker = true;
            SQLFreeStmt(c->mark, SQL_CLOSE);
            goto done;
        }
        SQLFreeStmt(c->mark, SQL_CLOSE);
    }
    ret = 0;
done:
    free(status);
    return ret;
}

/* one_row - a row in its own transaction; returns false when the
 * connection was lost (caller stops using it) */
static bool one_row(struct odbc *o, struct conn *c, struct odbc_cell *cells,
                    struct odbc_pbuf *pb, struct odbc_pbuf *mpb,
                    const bool *voids, size_t row, struct delivery_item *it)
{
    struct diag dg;
    bool lost = false, from_marker;
    if (exec_rows(o, c, pb, mpb, voids, row, 1, &dg, &from_marker) == 0) {
        if (odbc_commit(c, &dg) == 0) {
            adapter_result_set(&it->res, ADAPTER_OK, "inserted");
            return true;
        }
        set_result(&it->res, &dg, true, &lost, "commit");
        if (!lost)
            odbc_rollback(c);
        return !lost;
    }
    set_result(&it->res, &dg, false, &lost, from_marker ? "marker insert"
                                                        : "insert");
    if (!lost && odbc_object_unusable(dg.state, dg.msg))
        stop_result(o, &it->res, &dg, from_marker, "insert");
    bool rb = odbc_rollback(c);
    if (lost || !rb) {
        if (it->res.outcome != ADAPTER_RETRY && !lost)
            adapter_result_set(&it->res, ADAPTER_RETRY, "connection lost");
        return false;
    }
    bool retried = it->attempt > 1 || it->was_in_doubt;
    if (it->res.outcome == ADAPTER_STOP) {
        /* the caller stops the rest of the call */
    } else if (from_marker && odbc_is_duplicate(dg.state, dg.msg)) {
        /* with marker_gen > 0 only this send's own marker is left to
         * collide with (the void one was deleted): written before */
        adapter_result_set(&it->res, ADAPTER_OK, "already delivered "
                           "(marker present)");
        log_event(LOG_INFO, "odbc-already-delivered", "ref", it->ref, NULL);
    } else if (retried && o->nkeys > 0 && odbc_is_duplicate(dg.state,
                                                            dg.msg)) {
        struct diag d2;
        int m = row_matches(o, c, cells + row * o->np, pb, row, &d2);
        if (m == 1) {
            adapter_result_set(&it->res, ADAPTER_OK, "already present "
                               "(duplicate key on retry)");
            log_event(LOG_INFO, "odbc-duplicate-on-retry", "ref", it->ref,
                      NULL);
        } else if (m < 0) {
            set_result(&it->res, &d2, false, &lost, "row check");
            if (lost)
                return false;
        }
    }
    return true;
}

/* run_batch - rows idx[0..m) (already converted into pb) in one
 * transaction; on any failure roll back and go row by row.  Returns false
 * when the connection was lost. */
static bool run_batch(struct odbc *o, struct conn *c, struct odbc_cell *cells,
                      struct odbc_pbuf *pb, struct odbc_pbuf *mpb,
                      const bool *voids, struct delivery_item **its, size_t m)
{
    struct diag dg;
    bool lost = false, fm;
    int rc = 0;
    if (m > 1 && c->multi && m >= o->multi_rows) {
        rc = exec_rows_many(o, c, pb, mpb, voids, 0, m, &dg, &fm);
    } else if (m > 1 && o->array_ok == 1) {
        rc = exec_rows(o, c, pb, mpb, voids, 0, m, &dg, &fm);
    } else if (m > 1) {
        for (size_t r = 0; r < m && rc == 0; r++)
            rc = exec_rows(o, c, pb, mpb, voids, r, 1, &dg, &fm);
    } else {
        rc = -1;                    /* a lone row: its own path */
        dg.state[0] = '\0';
    }
    if (rc == 0) {
        if (odbc_commit(c, &dg) == 0) {
            for (size_t r = 0; r < m; r++)
                adapter_result_set(&its[r]->res, ADAPTER_OK, "inserted "
                                   "(batch of %zu)", m);
            return true;
        }
        odbc_classify(dg.state, dg.msg, true, &lost);
        if (lost) {
            for (size_t r = 0; r < m; r++)
                set_result(&its[r]->res, &dg, true, &lost, "commit");
            return false;
        }
        /* commit refused (deferred constraint): find the row */
    } else if (dg.state[0]) {
        odbc_classify(dg.state, dg.msg, false, &lost);
    }
    if (!odbc_rollback(c) || lost) {
        for (size_t r = 0; r < m; r++)
            set_result(&its[r]->res, &dg, false, &lost, "insert");
        for (size_t r = 0; r < m; r++)
            if (its[r]->res.outcome != ADAPTER_RETRY)
                adapter_result_set(&its[r]->res, ADAPTER_RETRY, "connection "
                                   "lost: SQLSTATE %s: %s", dg.state, dg.msg);
        return false;
    }
    for (size_t r = 0; r < m; r++) {
        if (!one_row(o, c, cells, pb, mpb, voids, r, its[r])) {
            for (size_t k = r + 1; k < m; k++)
                adapter_result_set(&its[k]->res, ADAPTER_RETRY,
                                   "connection lost before this record");
            return false;
        }
        if (its[r]->res.outcome == ADAPTER_STOP) {
            for (size_t k = r + 1; k < m; k++)
                its[k]->res = its[r]->res;
            return true;
        }
    }
    return true;
}

/* marker_ref - what the marker's ref column holds for it: the reference,
 * or "REF/N" when it is written anew after reconcile found it missing
 * (marker_gen N > 0), so this send's marker differs from the void one */
static const char *marker_ref(const struct delivery_item *it, char *buf,
                              size_t bufsz)
{
    if (it->marker_gen <= 0)
        return it->ref;
    snprintf(buf, bufsz, "%.64s/%d", it->ref, it->marker_gen);
    return buf;
}

/* marker_check - is the item's marker there (by delivery identity)?  1
 * present, 0 not, -1 error.  An item without an identity has no marker. */
static int marker_check(struct odbc *o, struct conn *c,
                        const struct delivery_item *it, struct diag *dg)
{
    if (!it->delivery_id || !*it->delivery_id)
        return 0;
    const char *v = it->delivery_id;
    return query_exists(c, o->marker_probe_sql, &v, 1, dg);
}

/* deliver_chunk - up to batch-size items on one connection */
static bool deliver_chunk(struct odbc *o, struct conn *c,
                          struct delivery_item *items, size_t n)
{
    struct odbc_cell *cells = calloc(n * (o->np ? o->np : 1), sizeof *cells);
    struct delivery_item **its = calloc(n, sizeof *its);
    size_t *idx = calloc(n, sizeof *idx);
    struct odbc_pbuf *pb = calloc(o->np ? o->np : 1, sizeof *pb);
    struct odbc_pbuf mpb[2] = {{0}, {0}};
    bool *voids = NULL;            /* rows written anew (marker_gen > 0) */
    bool alive = true;
    size_t m = 0;
    if (!cells || !its || !idx || !pb) {
        for (size_t i = 0; i < n; i++)
            adapter_result_set(&items[i].res, ADAPTER_RETRY, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n && alive; i++) {
        struct delivery_item *it = &items[i];
        char err[256] = "";
        size_t j;
        for (j = 0; j < o->np; j++) {
            if (odbc_convert(o->london, &o->p[j], it, &cells[i * o->np + j], err,
                        sizeof err) < 0)
                break;
        }
        if (j < o->np) {
            const struct map_assign *a = o->p[j].a;
            adapter_result_set(&it->res, ADAPTER_FAIL, "%s (from %s): %s",
                               a->to, a->from ? a->from : "value", err);
            continue;
        }
        /* a record written anew (marker_gen > 0) skips the look-up: the
         * marker there may be the void one of an earlier send; the new
         * marker's insert, in the row's transaction, tells instead */
        if (o->marker_probe_sql && it->marker_gen <= 0 &&
            (it->attempt > 1 || it->was_in_doubt)) {
            struct diag dg;
            int r = marker_check(o, c, it, &dg);
            if (r == 1) {
                adapter_result_set(&it->res, ADAPTER_OK, "already delivered "
                                   "(marker present)");
                log_event(LOG_INFO, "odbc-already-delivered", "ref", it->ref,
                          NULL);
                continue;
            }
            if (r < 0) {
                bool lost = false;
                set_result(&it->res, &dg, false, &lost, "marker check");
                if (!lost && odbc_object_unusable(dg.state, dg.msg)) {
                    /* the same rule as on insert: the target stops */
                    stop_result(o, &it->res, &dg, true, "lookup");
                    stop_all(items, i + 1, n, &it->res);
                    for (size_t r2 = 0; r2 < m; r2++)
                        its[r2]->res = it->res;
                    m = 0;
                    goto done;
                }
                if (it->res.outcome != ADAPTER_RETRY)
                    it->res.outcome = ADAPTER_RETRY;
                if (lost)
                    alive = false;
                continue;
            }
        }
        idx[m] = i;
        its[m++] = it;
    }
    if (!alive) {
        for (size_t r = 0; r < m; r++)
            adapter_result_set(&its[r]->res, ADAPTER_RETRY, "connection lost "
                               "before this record");
        goto done;
    }
    if (m == 0)
        goto done;
    /* the marker's two parameters: delivery identities and refs */
    if (o->marker_sql) {
        for (size_t r = 0; r < m; r++)
            if (!its[r]->delivery_id || !*its[r]->delivery_id) {
                adapter_result_set(&its[r]->res, ADAPTER_STOP, "record "
                                   "has no delivery identity: the marker "
                                   "cannot be written");
                for (size_t k = 0; k < m; k++)
                    its[k]->res = its[r]->res;
                goto done;
            }
        if (!(voids = calloc(m, sizeof *voids)))
            goto nomem;
        for (int col = 0; col < 2; col++) {
            size_t mx = 1;
            char mref[96];
            for (size_t r = 0; r < m; r++) {
                const char *v = col ? marker_ref(its[r], mref, sizeof mref)
                                    : its[r]->delivery_id;
                if (strlen(v) + 1 > mx)
                    mx = strlen(v) + 1;
            }
            mpb[col].elem = (SQLLEN)mx;
            mpb[col].data = calloc(m, mx);
            mpb[col].ind = calloc(m, sizeof(SQLLEN));
            if (!mpb[col].data || !mpb[col].ind)
                goto nomem;
            for (size_t r = 0; r < m; r++) {
                const char *v = col ? marker_ref(its[r], mref, sizeof mref)
                                    : its[r]->delivery_id;
                memcpy((char *)mpb[col].data + r * mx, v, strlen(v) + 1);
                mpb[col].ind[r] = SQL_NTS;
                voids[r] = its[r]->marker_gen > 0;
            }
        }
    }
    if (odbc_bufs_build(o->p, o->np, cells, idx, m, pb) < 0)
        goto nomem;
    /* one_row reads cells by row position: compact them to match */
    for (size_t r = 0; r < m; r++)
        if (idx[r] != r)
            for (size_t j = 0; j < o->np; j++) {
                struct odbc_cell t = cells[r * o->np + j];
                cells[r * o->np + j] = cells[idx[r] * o->np + j];
                cells[idx[r] * o->np + j] = t;
            }
    alive = run_batch(o, c, cells, pb, mpb, voids, its, m);
    goto done;
nomem:
    for (size_t r = 0; r < m; r++)
        adapter_result_set(&its[r]->res, ADAPTER_RETRY, "out of memory");
done:
    if (cells)
        for (size_t i = 0; i < n * o->np; i++)
            free(cells[i].text);
    odbc_bufs_free(pb, o->np);
    for (int col = 0; col < 2; col++) {
        free(mpb[col].data);
        free(mpb[col].ind);
    }
    free(pb);
    free(voids);
    free(idx);
    free(its);
    free(cells);
    return alive;
}

/* odbc_deliver - every item gets an outcome; batches of batch-size */
static void odbc_deliver(void *ctx, struct delivery_item *items, size_t n)
{
    struct odbc *o = ctx;
    size_t i = 0;
    while (i < n) {
        struct diag dg;
        memset(&dg, 0, sizeof dg);
        struct conn *c = odbc_pool_get(o, &dg);
        if (!c) {
            bool lost;
            /* no record is to blame for a connection that cannot be made:
             * a refused login, or a table (marker or target) that is not
             * there or not ours, stops the target; anything else is the
             * breaker's business (RETRY) */
            bool stop = dg.marker || odbc_login_refused(dg.state, dg.msg) ||
                        odbc_object_unusable(dg.state, dg.msg);
            for (; i < n; i++) {
                if (stop) {
                    stop_result(o, &items[i].res, &dg, dg.marker, "connect");
                    continue;
                }
                set_result(&items[i].res, &dg, false, &lost, "connect");
                items[i].res.outcome = ADAPTER_RETRY;
            }
            return;
        }
        bool alive = true;
        while (i < n && alive) {
            size_t k = n - i < (size_t)o->batch ? n - i : (size_t)o->batch;
            alive = deliver_chunk(o, c, items + i, k);
            i += k;
            for (size_t j = i - k; j < i && alive; j++)
                if (items[j].res.outcome == ADAPTER_STOP) {
                    stop_all(items, i, n, &items[j].res);
                    i = n;
                    break;
                }
        }
        odbc_pool_put(o, c, !alive);
        /* a lost connection ends this call: the rest are interrupted */
        for (; i < n; i++)
            adapter_result_set(&items[i].res, ADAPTER_RETRY, "connection "
                               "lost before this record");
    }
}

/* odbc_probe - did the record arrive?  The target's own rows answer
 * first (reconcile-query, then the key-columns row match); the marker
 * only when neither is configured, because a marker says "sent before",
 * never "the target holds it": a row deleted at the target is missing
 * even though its marker is there.  With none of the three the target
 * cannot be checked at all: STOP, a fact of the configuration.  A marker
 * table that cannot be read is STOP too, as on delivery. */
static void odbc_probe(void *ctx, struct delivery_item *it)
{
    struct odbc *o = ctx;
    struct diag dg;
    memset(&dg, 0, sizeof dg);
    bool lost = false;
    if (!o->marker_probe_sql && !o->reconcile_sql && o->nkeys == 0) {
        adapter_result_set(&it->res, ADAPTER_STOP, "cannot be checked: "
                           "no reconcile-query, key-columns or "
                           "marker-table configured");
        return;
    }
    struct conn *c = odbc_pool_get(o, &dg);
    if (!c) {
        if (dg.marker || odbc_login_refused(dg.state, dg.msg) ||
            odbc_object_unusable(dg.state, dg.msg)) {
            stop_result(o, &it->res, &dg, dg.marker, "connect");
            return;
        }
        set_result(&it->res, &dg, false, &lost, "connect");
        it->res.outcome = ADAPTER_RETRY;
        return;
    }
    int r;
    const char *how;
    if (o->reconcile_sql) {
        how = "reconcile-query";
        const char *vals[16];
        struct fvalue tmp;
        for (size_t k = 0; k < o->nrec_src && k < 16; k++) {
            const struct fvalue *v = odbc_source(o->rec_src[k], NULL, it, &tmp);
            vals[k] = v->present ? v->text : NULL;
        }
        r = query_exists(c, o->reconcile_sql, vals, o->nrec_src, &dg);
    } else if (o->nkeys > 0) {
        how = "key columns";
        struct odbc_cell *cells = calloc(o->np ? o->np : 1, sizeof *cells);
        struct odbc_pbuf *pb = calloc(o->np ? o->np : 1, sizeof *pb);
        size_t zero = 0;
        char err[256] = "";
        r = -1;
        snprintf(dg.msg, sizeof dg.msg, "out of memory");
        if (cells && pb) {
            size_t j;
            for (j = 0; j < o->np; j++)
                if (odbc_convert(o->london, &o->p[j], it, &cells[j], err, sizeof err) < 0)
                    break;
            if (j < o->np)
                snprintf(dg.msg, sizeof dg.msg, "%s", err);
            else if (odbc_bufs_build(o->p, o->np, cells, &zero, 1, pb) == 0)
                r = row_matches(o, c, cells, pb, 0, &dg);
            for (j = 0; j < o->np; j++)
                free(cells[j].text);
            odbc_bufs_free(pb, o->np);
        }
        free(cells);
        free(pb);
    } else {
        how = "marker";
        r = marker_check(o, c, it, &dg);
        if (r < 0 && odbc_object_unusable(dg.state, dg.msg)) {
            stop_result(o, &it->res, &dg, true, "lookup");
            odbc_pool_put(o, c, false);
            return;
        }
    }
    if (r == 1)
        adapter_result_set(&it->res, ADAPTER_OK, "already delivered (%s "
                           "present)", how);
    else if (r == 0)
        adapter_result_set(&it->res, ADAPTER_FAIL, "not delivered (no %s "
                           "row): safe to send again", how);
    else {
        set_result(&it->res, &dg, false, &lost, "probe");
        it->res.outcome = ADAPTER_RETRY;    /* cannot tell now */
    }
    odbc_pool_put(o, c, lost);
}

/* ---- init / close ----------------------------------------------------- */

static void odbc_close(void *ctx)
{
    struct odbc *o = ctx;
    if (!o)
        return;
    for (size_t i = 0; i < o->nc; i++)
        odbc_conn_close(&o->c[i]);
    free(o->c);
    if (o->env)
        SQLFreeHandle(SQL_HANDLE_ENV, o->env);
    if (o->connstr) {
        explicit_bzero(o->connstr, o->connlen);
        free(o->connstr);
    }
    for (size_t j = 0; o->colq && j < o->np; j++)
        free(o->colq[j]);
    for (size_t k = 0; k < o->nrec_src; k++)
        free(o->rec_src[k]);
    free(o->rec_src);
    free(o->colq);
    free(o->is_key);
    free(o->p);
    free(o->table_raw);
    free(o->table_q);
    free(o->marker_q);
    free(o->marker_raw);
    free(o->insert_sql);
    free(o->multi_sql);
    free(o->mmulti_sql);
    free(o->marker_sql);
    free(o->marker_probe_sql);
    free(o->marker_void_sql);
    free(o->reconcile_sql);
    tz_free(o->london);
    pthread_mutex_destroy(&o->mu);
    pthread_mutex_destroy(&o->meta);
    pthread_cond_destroy(&o->cv);
    free(o);
}

/* odbc_init - odbc_setup (odbc_setup.c); a half-built instance is closed */
static int odbc_init(void **ctx, const struct adapter_env *env,
                     struct errs *e)
{
    struct odbc *o = NULL;
    if (odbc_setup(&o, env, e) < 0) {
        odbc_close(o);
        *ctx = NULL;
        return -1;
    }
    *ctx = o;
    return 0;
}

const struct adapter adapter_odbc = {
    .name = "odbc",
    .description = "rows into a database table through ODBC (unixODBC), "
                   "batched in transactions, optional exactly-once marker",
    .kind = ADAPTER_STREAM,
    .keys = odbc_keys,
    .map_keys = odbc_map_keys,
    .init = odbc_init,
    .close = odbc_close,
    .deliver = odbc_deliver,
    .probe = odbc_probe,
};
