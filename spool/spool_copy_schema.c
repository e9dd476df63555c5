/* spool_copy_schema.c - for `ferry spool copy` (spool_copy.c): which
 * version each ledger is at, and the one table list.
 *
 * The list comes from the SQLite side's own catalogue (sqlite_master,
 * pragma_table_info, pragma_foreign_key_list), which is what spool_db.c's
 * migrations built.  The PostgreSQL side's tables and columns
 * (information_schema) must match it name for name, column for column,
 * BIGINT for INTEGER, TEXT for TEXT, BYTEA for BLOB; a table or column on
 * one side only fails the copy naming it, so a table added later is
 * copied, or refused, never forgotten.  The tables are then put parents
 * first, as PostgreSQL checks each row's foreign keys when it goes in. */
#include "spool/spool_copy_int.h"

#include <stdio.h>
#include <stdlib.h>

bool spool_copy_ident_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n >= NAME_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')
              || s[i] == '_'))
            return false;
    return true;
}

static const struct table *find_table(const struct copy *cp, const char *n)
{
    for (size_t i = 0; i < cp->nt; i++)
        if (strcmp(cp->t[i].name, n) == 0)
            return &cp->t[i];
    return NULL;
}

/* ---- versions -------------------------------------------------------- */

int spool_copy_version(struct copy *cp, struct sql_conn *c, int *ver)
{
    *ver = 0;
    if (sql_backend(c) == SQL_SQLITE) {
        struct sql_stmt *st = own(cp, c, "PRAGMA user_version");
        if (!st)
            return -1;
        int rc = sql_step(st) == SQL_STEP_ROW ? 0 : -1;
        if (rc == 0)
            *ver = (int)sql_col_int64(st, 0);
        else
            dberr(cp, c, "reading the schema version");
        sql_finalize(st);
        return rc;
    }
    struct sql_stmt *st = own(cp, c, "SELECT to_regclass('meta') IS NOT "
                              "NULL");
    if (!st)
        return -1;
    enum sql_step r = sql_step(st);
    bool have = r == SQL_STEP_ROW && sql_col_int64(st, 0) != 0;
    sql_finalize(st);
    if (r != SQL_STEP_ROW) {
        dberr(cp, c, "reading the schema version");
        return -1;
    }
    if (!have)
        return 0;
    st = own(cp, c, "SELECT value FROM meta WHERE name = '" META_OWN "'");
    if (!st)
        return -1;
    r = sql_step(st);
    const char *v = r == SQL_STEP_ROW ? sql_col_text(st, 0) : NULL;
    char *end = NULL;
    long n = v ? strtol(v, &end, 10) : 0;
    bool good = v && end != v && !*end && n >= 1 && n <= 100000;
    sql_finalize(st);
    if (r == SQL_STEP_ERROR) {
        dberr(cp, c, "reading the schema version");
        return -1;
    }
    if (!good) {
        errs_add(cp->e, side(cp, c), "the database has a meta table but no "
                 "ferry schema version: not a ferry ledger");
        return -1;
    }
    *ver = (int)n;
    return 0;
}

/* ---- the table list --------------------------------------------------- */

static int kind_of(const char *type, enum sql_backend b, enum kind *k)
{
    static const struct { const char *lite, *pg; enum kind k; } map[] = {
        { "INTEGER", "bigint", K_INT },
        { "TEXT", "text", K_TEXT },
        { "BLOB", "bytea", K_BLOB },
    };
    for (size_t i = 0; type && i < sizeof map / sizeof map[0]; i++)
        if (strcmp(type, b == SQL_SQLITE ? map[i].lite : map[i].pg) == 0) {
            *k = map[i].k;
            return 0;
        }
    return -1;
}

/* lite_columns - t's columns, primary key and parents from SQLite */
static int lite_columns(struct copy *cp, struct table *t)
{
    struct sql_conn *c = cp->lite;
    int pkpos[COLS_MAX] = { 0 };
    struct sql_stmt *st = own(cp, c, "SELECT name, type, pk FROM "
                              "pragma_table_info(?1) ORDER BY cid");
    if (!st)
        return -1;
    sql_bind_text(st, 1, t->name);
    enum sql_step r;
    int rc = 0;
    while (rc == 0 && (r = sql_step(st)) == SQL_STEP_ROW) {
        const char *n = sql_col_text(st, 0), *type = sql_col_text(st, 1);
        struct col *col = &t->col[t->ncol];
        if (t->ncol == COLS_MAX) {
            errs_add(cp->e, t->name, "more than %d columns: a copy writes "
                     "at most %d a row", COLS_MAX, COLS_MAX);
            rc = -2;
        } else if (!spool_copy_ident_ok(n)) {
            errs_add(cp->e, t->name, "a column named '%s' cannot be copied",
                     n ? n : "");
            rc = -2;
        } else if (kind_of(type, SQL_SQLITE, &col->kind) != 0) {
            errs_add(cp->e, t->name, "column %s is of type '%s', neither "
                     "INTEGER, TEXT nor BLOB", n, type ? type : "");
            rc = -2;
        } else {
            snprintf(col->name, sizeof col->name, "%s", n);
            pkpos[t->ncol] = (int)sql_col_int64(st, 2);
            t->has_blob |= col->kind == K_BLOB;
            t->ncol++;
        }
    }
    if (rc == 0 && r != SQL_STEP_DONE) {
        dberr(cp, c, "reading the table list");
        rc = -1;
    }
    sql_finalize(st);
    if (rc != 0)
        return rc;
    for (int k = 1; k <= COLS_MAX; k++)
        for (int i = 0; i < t->ncol; i++)
            if (pkpos[i] == k && t->npk < PK_MAX)
                t->pk[t->npk++] = i;
    if (t->npk == 0) {
        errs_add(cp->e, t->name, "has no primary key to copy it by");
        return -2;
    }
    st = own(cp, c, "SELECT DISTINCT \"table\" FROM "
             "pragma_foreign_key_list(?1)");
    if (!st)
        return -1;
    sql_bind_text(st, 1, t->name);
    while (rc == 0 && (r = sql_step(st)) == SQL_STEP_ROW) {
        const char *p = sql_col_text(st, 0);
        if (!p || strcmp(p, t->name) == 0)
            continue;
        if (t->nparent == PARENTS_MAX || !spool_copy_ident_ok(p)) {
            errs_add(cp->e, t->name, "its foreign keys cannot be followed");
            rc = -2;
        } else {
            snprintf(t->parent[t->nparent++], NAME_LEN, "%s", p);
        }
    }
    if (rc == 0 && r != SQL_STEP_DONE) {
        dberr(cp, c, "reading the foreign keys");
        rc = -1;
    }
    sql_finalize(st);
    return rc;
}

/* lite_tables - every table of the SQLite side; -2 when one cannot be
 * copied (drift), -1 error */
static int lite_tables(struct copy *cp)
{
    struct sql_stmt *st = own(cp, cp->lite, "SELECT name FROM sqlite_master "
                              "WHERE type = 'table' AND name NOT LIKE "
                              "'sqlite\\_%' ESCAPE '\\' ORDER BY name");
    if (!st)
        return -1;
    enum sql_step r;
    int rc = 0;
    while (rc == 0 && (r = sql_step(st)) == SQL_STEP_ROW) {
        const char *n = sql_col_text(st, 0);
        if (cp->nt == SPOOL_COPY_TABLES_MAX || !spool_copy_ident_ok(n)) {
            errs_add(cp->e, side(cp, cp->lite), "table '%s' cannot be "
                     "copied (more than %d tables, or its name)",
                     n ? n : "", SPOOL_COPY_TABLES_MAX);
            rc = -2;
            break;
        }
        memset(&cp->t[cp->nt], 0, sizeof cp->t[cp->nt]);
        snprintf(cp->t[cp->nt++].name, NAME_LEN, "%s", n);
    }
    if (rc == 0 && r != SQL_STEP_DONE) {
        dberr(cp, cp->lite, "reading the table list");
        rc = -1;
    }
    sql_finalize(st);
    for (size_t i = 0; rc == 0 && i < cp->nt; i++)
        rc = lite_columns(cp, &cp->t[i]);
    return rc;
}

/* pg_columns - t's columns on PostgreSQL against SQLite's: -2 on any
 * difference (named), and its identity column noted */
static int pg_columns(struct copy *cp, struct table *t)
{
    struct sql_stmt *st = own(cp, cp->pg, "SELECT column_name, data_type, "
                              "is_identity FROM information_schema.columns "
                              "WHERE table_schema = current_schema() AND "
                              "table_name = CAST(?1 AS TEXT) "
                              "ORDER BY ordinal_position");
    if (!st)
        return -1;
    sql_bind_text(st, 1, t->name);
    enum sql_step r;
    int i = 0, rc = 0;
    while (rc == 0 && (r = sql_step(st)) == SQL_STEP_ROW) {
        const char *n = sql_col_text(st, 0), *type = sql_col_text(st, 1);
        const char *ident = sql_col_text(st, 2);
        enum kind k;
        if (i >= t->ncol || !n || strcmp(n, t->col[i].name) != 0) {
            errs_add(cp->e, t->name, "PostgreSQL's column %d is %s, "
                     "SQLite's %s", i + 1, n ? n : "?",
                     i < t->ncol ? t->col[i].name : "(none)");
            rc = -2;
        } else if (kind_of(type, SQL_POSTGRESQL, &k) != 0
                   || k != t->col[i].kind) {
            errs_add(cp->e, t->name, "column %s is %s on PostgreSQL, not "
                     "what SQLite's type says", n, type ? type : "?");
            rc = -2;
        } else {
            if (ident && strcmp(ident, "YES") == 0)
                snprintf(t->identity, sizeof t->identity, "%s", n);
            i++;
        }
    }
    if (rc == 0 && r != SQL_STEP_DONE) {
        dberr(cp, cp->pg, "reading the columns");
        rc = -1;
    }
    sql_finalize(st);
    if (rc == 0 && i != t->ncol) {
        errs_add(cp->e, t->name, "SQLite has %d columns, PostgreSQL %d",
                 t->ncol, i);
        rc = -2;
    }
    return rc;
}

/* pg_tables - PostgreSQL's tables are SQLite's, no more, no fewer */
static int pg_tables(struct copy *cp)
{
    struct sql_stmt *st = own(cp, cp->pg, "SELECT table_name FROM "
                              "information_schema.tables WHERE table_schema "
                              "= current_schema() AND table_type = "
                              "'BASE TABLE'");
    if (!st)
        return -1;
    bool seen[SPOOL_COPY_TABLES_MAX] = { false };
    enum sql_step r;
    int rc = 0;
    while ((r = sql_step(st)) == SQL_STEP_ROW) {
        const char *n = sql_col_text(st, 0);
        const struct table *t = n ? find_table(cp, n) : NULL;
        if (t) {
            seen[t - cp->t] = true;
        } else {
            errs_add(cp->e, n ? n : "?", "a table PostgreSQL's ledger has "
                     "and SQLite's has not");
            rc = -2;
        }
    }
    if (r != SQL_STEP_DONE) {
        dberr(cp, cp->pg, "reading the table list");
        rc = -1;
    }
    sql_finalize(st);
    for (size_t i = 0; rc >= 0 && i < cp->nt; i++)
        if (!seen[i]) {
            errs_add(cp->e, cp->t[i].name, "a table SQLite's ledger has and "
                     "PostgreSQL's has not");
            rc = -2;
        }
    for (size_t i = 0; rc == 0 && i < cp->nt; i++)
        rc = pg_columns(cp, &cp->t[i]);
    return rc;
}

/* order_tables - parents before children (PostgreSQL checks each row's
 * foreign keys as it goes in), by name among equals */
static int order_tables(struct copy *cp)
{
    struct table *out = malloc(cp->nt * sizeof *out + 1);
    bool placed[SPOOL_COPY_TABLES_MAX] = { false };
    if (!out) {
        errs_add(cp->e, cp->src_where, "out of memory");
        return -1;
    }
    for (size_t n = 0; n < cp->nt; n++) {
        size_t pick = cp->nt;
        for (size_t i = 0; i < cp->nt && pick == cp->nt; i++) {
            if (placed[i])
                continue;
            bool ready = true;
            for (int p = 0; p < cp->t[i].nparent && ready; p++) {
                const struct table *pt = find_table(cp, cp->t[i].parent[p]);
                ready = pt && placed[pt - cp->t];
            }
            if (ready)
                pick = i;
        }
        if (pick == cp->nt) {
            free(out);
            errs_add(cp->e, cp->src_where, "the tables' foreign keys go in a "
                     "circle, or name a table that is not there");
            return -2;
        }
        placed[pick] = true;
        out[n] = cp->t[pick];
    }
    memcpy(cp->t, out, cp->nt * sizeof *out);
    free(out);
    return 0;
}

int spool_copy_tables(struct copy *cp)
{
    int r = lite_tables(cp);
    if (r == 0)
        r = pg_tables(cp);
    if (r == 0)
        r = order_tables(cp);
    return r;
}
