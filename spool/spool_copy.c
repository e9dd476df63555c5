/* spool_copy.c - a whole ledger from one engine to the other (spool_copy.h):
 * SQLite to PostgreSQL and back, both sides a statement-layer connection.
 *
 * The table list comes from one place, the SQLite side's own catalogue,
 * checked against PostgreSQL's (spool_copy_schema.c).
 *
 * The source is read in one read-only transaction (one snapshot), the
 * destination written in one transaction: a failure anywhere rolls it
 * back.  Tables go parents first (the foreign keys, which PostgreSQL
 * checks row by row), each in keyset pages by its primary key, a page
 * bounded in rows and bytes, written with sql_insert_rows.  The
 * destination's triggers are off while rows go in (a copied counters row
 * must not add to counter_totals, which is copied as it is): SQLite's are
 * dropped and made again from their own text, PostgreSQL's disabled, both
 * inside the transaction.  Ids are copied; PostgreSQL's identity
 * sequences are then set past the highest id (OVERRIDING SYSTEM VALUE
 * lets the rows keep theirs).
 *
 * meta is the one table the engines keep differently: PostgreSQL's holds
 * the schema version (SQLite's is PRAGMA user_version).  That row stays
 * the destination's own; every other meta row, the spool identity too,
 * is the source's.
 *
 * Before the commit: every table's rows counted on both sides, the audit
 * chain verified on the destination (spool_audit_chain_verify, the code
 * `ferry audit verify` runs) with the source's head, and the identity
 * read back.  The source's chain is verified first: a broken chain is
 * not copied. */
#include "spool/spool_copy_int.h"
#include "spool/pg_spool.h"
#include "spool/spool_int.h"
#include "util/buf.h"
#include "util/crash.h"
#include "util/fsutil.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define PAGE_ROWS 1000             /* a page without blobs */
#define PAGE_ROWS_BLOB 100         /* with payloads */
#define PAGE_BYTES (8u << 20)      /* and never more than this in hand */

/* One value read from the source; text and blobs live in the page's
 * bytes (text with its NUL), so a page owns everything it binds. */
struct cell {
    int64_t i;
    size_t off, n;
    bool null;
};

struct page {
    const struct table *t;
    struct cell *cell;             /* rows x ncol */
    size_t nrows;
    unsigned char *bytes;
    size_t nbytes, capbytes;
};


static const char *engine(struct sql_conn *c)
{
    return sql_backend(c) == SQL_POSTGRESQL ? "PostgreSQL" : "SQLite";
}


/* ---- counting --------------------------------------------------------- */

/* select_from - "FROM t" and, for meta, the rows that are copied */
static void select_from(struct buf *b, const struct table *t, bool empty)
{
    buf_printf(b, " FROM \"%s\"", t->name);
    if (is_meta(t))
        buf_puts(b, empty ? " WHERE name NOT IN ('" META_OWN "', "
                 "'spool_id')" : " WHERE name <> '" META_OWN "'");
}

static int count_rows(struct copy *cp, struct sql_conn *c,
                      const struct table *t, int64_t *n)
{
    struct buf b;
    buf_init(&b, 0);
    buf_puts(&b, "SELECT count(*)");
    select_from(&b, t, false);
    struct sql_stmt *st = own(cp, c, b.data);
    buf_free(&b);
    if (!st)
        return -1;
    int rc = sql_step(st) == SQL_STEP_ROW ? 0 : -1;
    *n = rc == 0 ? sql_col_int64(st, 0) : 0;
    if (rc != 0)
        dberr(cp, c, "counting rows");
    sql_finalize(st);
    return rc;
}

/* dest_empty - 0 when the destination holds no row of a ledger (an
 * empty ledger's meta has its identity and version only), 1 when it
 * does (e names a table), -1 error */
static int dest_empty(struct copy *cp)
{
    for (size_t i = 0; i < cp->nt; i++) {
        struct buf b;
        buf_init(&b, 0);
        buf_puts(&b, "SELECT 1");
        select_from(&b, &cp->t[i], true);
        buf_puts(&b, " LIMIT 1");
        struct sql_stmt *st = own(cp, cp->dst, b.data);
        buf_free(&b);
        if (!st)
            return -1;
        enum sql_step r = sql_step(st);
        sql_finalize(st);
        if (r == SQL_STEP_ERROR) {
            dberr(cp, cp->dst, "looking for rows");
            return -1;
        }
        if (r == SQL_STEP_ROW) {
            errs_add(cp->e, cp->dst_where, "holds a ferry ledger already "
                     "(table %s has rows): a copy goes only into an empty "
                     "one, and changes nothing here", cp->t[i].name);
            return 1;
        }
    }
    return 0;
}

/* ---- the destination's triggers ---------------------------------------- */

static int triggers_off(struct copy *cp)
{
    struct sql_conn *c = cp->dst;
    bool lite = sql_backend(c) == SQL_SQLITE;
    struct sql_stmt *st = own(cp, c, lite
        ? "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
          "ORDER BY name"
        : "SELECT DISTINCT event_object_table, '' FROM "
          "information_schema.triggers WHERE trigger_schema = "
          "current_schema()");
    if (!st)
        return -1;
    enum sql_step r;
    int rc = 0;
    while (rc == 0 && (r = sql_step(st)) == SQL_STEP_ROW) {
        const char *n = sql_col_text(st, 0), *text = sql_col_text(st, 1);
        struct trig *v = realloc(cp->trig, (cp->ntrig + 1) * sizeof *v);
        if (!v || !spool_copy_ident_ok(n)) {
            errs_add(cp->e, cp->dst_where, v ? "a trigger on '%s' cannot be "
                     "turned off" : "out of memory", n ? n : "");
            if (v)
                cp->trig = v;
            rc = -1;
            break;
        }
        cp->trig = v;
        snprintf(v[cp->ntrig].name, NAME_LEN, "%s", n);
        v[cp->ntrig].sql = strdup(text ? text : "");
        if (!v[cp->ntrig].sql) {
            errs_add(cp->e, cp->dst_where, "out of memory");
            rc = -1;
            break;
        }
        cp->ntrig++;
    }
    if (rc == 0 && r != SQL_STEP_DONE) {
        dberr(cp, c, "reading the triggers");
        rc = -1;
    }
    sql_finalize(st);
    for (size_t i = 0; rc == 0 && i < cp->ntrig; i++) {
        char sql[160];
        snprintf(sql, sizeof sql, lite ? "DROP TRIGGER \"%s\""
                 : "ALTER TABLE \"%s\" DISABLE TRIGGER USER",
                 cp->trig[i].name);
        if (sql_exec(c, sql) != 0) {
            dberr(cp, c, "turning the triggers off");
            rc = -1;
        }
    }
    return rc;
}

static int triggers_on(struct copy *cp)
{
    struct sql_conn *c = cp->dst;
    for (size_t i = 0; i < cp->ntrig; i++) {
        char sql[160];
        const char *q = sql;
        if (sql_backend(c) == SQL_SQLITE)
            q = cp->trig[i].sql;
        else
            snprintf(sql, sizeof sql, "ALTER TABLE \"%s\" ENABLE TRIGGER "
                     "USER", cp->trig[i].name);
        if (sql_exec(c, q) != 0) {
            dberr(cp, c, "turning the triggers on again");
            return -1;
        }
    }
    return 0;
}

/* ---- rows ------------------------------------------------------------- */

/* page_put - n bytes (and a NUL) into the page; their offset in *off */
static int page_put(struct page *pg, const void *p, size_t n, size_t *off)
{
    if (pg->capbytes - pg->nbytes < n + 1) {
        size_t cap = pg->capbytes ? pg->capbytes : 64 * 1024;
        while (cap - pg->nbytes < n + 1)
            cap *= 2;
        unsigned char *v = realloc(pg->bytes, cap);
        if (!v)
            return -1;
        pg->bytes = v;
        pg->capbytes = cap;
    }
    if (n)
        memcpy(pg->bytes + pg->nbytes, p, n);
    pg->bytes[pg->nbytes + n] = '\0';
    *off = pg->nbytes;
    pg->nbytes += n + 1;
    return 0;
}

/* read_cell - column i of the source's current row into cell */
static int read_cell(struct copy *cp, struct page *pg, struct sql_stmt *st,
                     int i, struct cell *cell)
{
    const struct col *col = &pg->t->col[i];
    memset(cell, 0, sizeof *cell);
    if (sql_col_null(st, i)) {
        cell->null = true;
        return 0;
    }
    if (col->kind == K_INT) {
        cell->i = sql_col_int64(st, i);
        return 0;
    }
    /* text as its bytes too: a NUL inside would be cut short by the
     * destination, and a copy never changes a value */
    size_t n = 0;
    const void *p = sql_col_blob(st, i, &n);
    if (!p) {
        errs_add(cp->e, cp->src_where, "out of memory");
        return -1;
    }
    if (col->kind == K_TEXT && memchr(p, '\0', n)) {
        errs_add(cp->e, pg->t->name, "column %s holds a text with a NUL "
                 "byte, which cannot be copied as it is", col->name);
        return -1;
    }
    cell->n = n;
    if (page_put(pg, p, n, &cell->off) != 0) {
        errs_add(cp->e, cp->src_where, "out of memory");
        return -1;
    }
    return 0;
}

static int bind_cell(struct sql_stmt *st, int param, const struct col *col,
                     const struct cell *cell, const unsigned char *bytes)
{
    if (cell->null)
        return sql_bind_null(st, param);
    switch (col->kind) {
    case K_INT:
        return sql_bind_int64(st, param, cell->i);
    case K_TEXT:
        return sql_bind_text(st, param, (const char *)bytes + cell->off);
    case K_BLOB:
        return sql_bind_blob(st, param, cell->n ? (const void *)(bytes + cell->off)
                                       : (const void *)"",
                             cell->n);
    }
    return -1;
}

/* bind_row - sql_insert_rows' binder: row of the page */
static int bind_row(void *arg, struct sql_stmt *st, int param, size_t row)
{
    const struct page *pg = arg;
    const struct table *t = pg->t;
    for (int i = 0; i < t->ncol; i++)
        if (bind_cell(st, param + i, &t->col[i],
                      &pg->cell[row * (size_t)t->ncol + i], pg->bytes) != 0)
            return -1;
    return 0;
}

/* The last key of a page, kept apart from the page the next one fills. */
struct key {
    struct cell cell[PK_MAX];
    unsigned char *bytes;
};

static int key_keep(struct key *k, const struct page *pg)
{
    const struct table *t = pg->t;
    const struct cell *row = &pg->cell[(pg->nrows - 1) * (size_t)t->ncol];
    size_t need = 1, at = 0;
    for (int j = 0; j < t->npk; j++)
        need += row[t->pk[j]].n + 1;
    unsigned char *v = realloc(k->bytes, need);
    if (!v)
        return -1;
    k->bytes = v;
    for (int j = 0; j < t->npk; j++) {
        const struct cell *c = &row[t->pk[j]];
        k->cell[j] = *c;
        k->cell[j].off = at;
        if (c->n)
            memcpy(v + at, pg->bytes + c->off, c->n);
        v[at + c->n] = '\0';
        at += c->n + 1;
    }
    return 0;
}

/* page_sql - the page query of t: after the last key when next */
static char *page_sql(const struct table *t, bool next, size_t limit)
{
    struct buf b;
    buf_init(&b, 0);
    buf_puts(&b, "SELECT ");
    for (int i = 0; i < t->ncol; i++)
        buf_printf(&b, "%s\"%s\"", i ? ", " : "", t->col[i].name);
    select_from(&b, t, false);
    if (next) {
        buf_puts(&b, is_meta(t) ? " AND (" : " WHERE (");
        for (int j = 0; j < t->npk; j++)
            buf_printf(&b, "%s\"%s\"", j ? ", " : "", t->col[t->pk[j]].name);
        buf_puts(&b, ") > (");
        for (int j = 0; j < t->npk; j++)
            buf_printf(&b, "%s?%d", j ? ", " : "", j + 1);
        buf_putc(&b, ')');
    }
    buf_puts(&b, " ORDER BY ");
    for (int j = 0; j < t->npk; j++)
        buf_printf(&b, "%s\"%s\"", j ? ", " : "", t->col[t->pk[j]].name);
    buf_printf(&b, " LIMIT %zu", limit);
    return b.data;
}

static char *insert_head(const struct table *t, struct sql_conn *dst)
{
    struct buf b;
    buf_init(&b, 0);
    buf_printf(&b, "INSERT INTO \"%s\"(", t->name);
    for (int i = 0; i < t->ncol; i++)
        buf_printf(&b, "%s\"%s\"", i ? ", " : "", t->col[i].name);
    buf_putc(&b, ')');
    /* the rows keep their ids where PostgreSQL would number them */
    if (sql_backend(dst) == SQL_POSTGRESQL && t->identity[0])
        buf_puts(&b, " OVERRIDING SYSTEM VALUE");
    return b.data;
}

/* copy_table - every row of t, a page at a time */
static int copy_table(struct copy *cp, const struct table *t, int64_t *rows)
{
    size_t limit = t->has_blob ? PAGE_ROWS_BLOB : PAGE_ROWS;
    struct page pg = { .t = t };
    struct key key = { .bytes = NULL };
    char *first = page_sql(t, false, limit), *next = page_sql(t, true, limit);
    char *head = insert_head(t, cp->dst);
    struct sql_stmt *s_first = own(cp, cp->src, first);
    struct sql_stmt *s_next = s_first ? own(cp, cp->src, next) : NULL;
    pg.cell = calloc(limit * (size_t)t->ncol, sizeof *pg.cell);
    int rc = s_next && head ? 0 : -1;
    if (rc == 0 && !pg.cell) {
        errs_add(cp->e, cp->src_where, "out of memory");
        rc = -1;
    }
    *rows = 0;
    for (bool more = true; rc == 0 && more;) {
        struct sql_stmt *st = *rows ? s_next : s_first;
        sql_reset(st);
        for (int j = 0; *rows && rc == 0 && j < t->npk; j++)
            if (bind_cell(st, j + 1, &t->col[t->pk[j]], &key.cell[j],
                          key.bytes) != 0) {
                dberr(cp, cp->src, t->name);
                rc = -1;
            }
        if (rc != 0)
            break;
        pg.nrows = 0;
        pg.nbytes = 0;
        enum sql_step r = SQL_STEP_DONE;
        while (pg.nrows < limit && pg.nbytes < PAGE_BYTES
               && (r = sql_step(st)) == SQL_STEP_ROW) {
            struct cell *row = &pg.cell[pg.nrows * (size_t)t->ncol];
            for (int i = 0; rc == 0 && i < t->ncol; i++)
                rc = read_cell(cp, &pg, st, i, &row[i]);
            if (rc != 0)
                break;
            pg.nrows++;
        }
        if (rc == 0 && r == SQL_STEP_ERROR) {
            dberr(cp, cp->src, t->name);
            rc = -1;
        }
        /* a page cut short by its bytes goes on after its last key */
        more = r == SQL_STEP_ROW;
        sql_reset(st);
        if (rc != 0 || pg.nrows == 0)
            break;
        if (sql_insert_rows(cp->dst, head, t->ncol, pg.nrows, bind_row,
                            &pg) != 0) {
            errs_add(cp->e, cp->dst_where, "writing %s: %s", t->name,
                     sql_errmsg(cp->dst));
            rc = -1;
            break;
        }
        if (key_keep(&key, &pg) != 0) {
            errs_add(cp->e, cp->src_where, "out of memory");
            rc = -1;
            break;
        }
        crash_point("spool-copy-page");
        *rows += (int64_t)pg.nrows;
        cp->done += (int64_t)pg.nrows;
        if (cp->o->progress)
            cp->o->progress(cp->o->progress_arg, "rows", cp->done,
                            cp->total);
    }
    sql_finalize(s_first);
    sql_finalize(s_next);
    free(first);
    free(next);
    free(head);
    free(pg.cell);
    free(pg.bytes);
    free(key.bytes);
    return rc;
}

/* set_identities - PostgreSQL numbers new rows past the copied ones */
static int set_identities(struct copy *cp)
{
    if (sql_backend(cp->dst) != SQL_POSTGRESQL)
        return 0;                  /* SQLite: past the highest rowid */
    for (size_t i = 0; i < cp->nt; i++) {
        const struct table *t = &cp->t[i];
        if (!t->identity[0])
            continue;
        char sql[512];
        snprintf(sql, sizeof sql, "SELECT setval(pg_get_serial_sequence("
                 "'%s', '%s'), COALESCE(MAX(\"%s\"), 0) + 1, false) "
                 "FROM \"%s\"", t->name, t->identity, t->identity, t->name);
        if (sql_exec(cp->dst, sql) != 0) {
            dberr(cp, cp->dst, "setting the id sequences");
            return -1;
        }
    }
    return 0;
}

/* ---- verification ------------------------------------------------------ */

static int read_identity(struct copy *cp, struct sql_conn *c,
                         char out[SPOOL_ID_LEN])
{
    struct sql_stmt *st = own(cp, c, "SELECT value FROM meta WHERE name = "
                              "'spool_id'");
    if (!st)
        return -1;
    enum sql_step r = sql_step(st);
    const char *v = r == SQL_STEP_ROW ? sql_col_text(st, 0) : NULL;
    int rc = v && strlen(v) == SPOOL_ID_LEN - 1 ? 0 : -1;
    if (rc == 0)
        memcpy(out, v, SPOOL_ID_LEN);
    sql_finalize(st);
    if (rc != 0 && r == SQL_STEP_ERROR)
        dberr(cp, c, "reading the spool identity");
    else if (rc != 0)
        errs_add(cp->e, side(cp, c), "the ledger has no spool identity");
    return rc;
}

/* chain_check - verify the chain of c; 0 holds, 1 broken (e says where),
 * -1 error */
static int chain_check(struct copy *cp, struct spool_audit_chain *ac,
                       struct spool_audit_proof *p, char head[96])
{
    int rc = spool_audit_chain_verify(ac, NULL, p, cp->e);
    if (rc == 0 && spool_audit_chain_head(ac, head, 96, cp->e) != 0)
        rc = -1;
    return rc;
}

/* verify - the destination against the source before the commit: 0 the
 * same, 1 not (e says how), -1 error */
static int verify(struct copy *cp, const struct spool_audit_proof *sp,
                  const char *src_head)
{
    int bad = 0;
    for (size_t i = 0; i < cp->nt; i++) {
        const struct table *t = &cp->t[i];
        int64_t n;
        if (count_rows(cp, cp->dst, t, &n) != 0)
            return -1;
        if (n != t->src_rows) {
            errs_add(cp->e, t->name, "%lld rows in the source, %lld in the "
                     "copy", (long long)t->src_rows, (long long)n);
            bad = 1;
        }
        snprintf(cp->info->table[i].name, NAME_LEN, "%s", t->name);
        cp->info->table[i].rows = n;
        cp->info->rows += n;
    }
    cp->info->ntables = cp->nt;
    struct spool_audit_proof dp;
    char head[96];
    int r = chain_check(cp, &cp->dst_chain, &dp, head);
    if (r < 0)
        return -1;
    if (r > 0) {
        errs_add(cp->e, cp->dst_where, "the copy's audit chain does not "
                 "verify");
        return 1;
    }
    if (strcmp(head, src_head) != 0 || dp.checked != sp->checked) {
        errs_add(cp->e, cp->dst_where, "the copy's audit head is %s (%zu "
                 "entries), the source's %s (%zu)", head, dp.checked,
                 src_head, sp->checked);
        bad = 1;
    }
    char sid[SPOOL_ID_LEN], did[SPOOL_ID_LEN];
    if (read_identity(cp, cp->src, sid) != 0
        || read_identity(cp, cp->dst, did) != 0)
        return -1;
    if (strcmp(sid, did) != 0) {
        errs_add(cp->e, cp->dst_where, "the copy's spool identity is %s, "
                 "the source's %s", did, sid);
        bad = 1;
    }
    snprintf(cp->info->spool_id, sizeof cp->info->spool_id, "%s", did);
    snprintf(cp->info->audit_head, sizeof cp->info->audit_head, "%s", head);
    cp->info->audit_entries = dp.checked;
    cp->info->audit_keyed = dp.keyed;
    cp->info->audit_key_given = cp->o->audit_keyed;
    cp->info->audit_head_file_checked = sp->head_file_id > 0
                                        || dp.head_file_id > 0;
    return bad;
}

/* ---- the copy ---------------------------------------------------------- */

/* read_begin - one snapshot of the source for the whole copy, read-only */
static int read_begin(struct copy *cp)
{
    int rc = sql_exec(cp->src, sql_backend(cp->src) == SQL_POSTGRESQL
                      ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
                      : "BEGIN DEFERRED");
    if (rc != 0)
        dberr(cp, cp->src, "starting to read");
    return rc;
}

/* write_rows - into the open destination transaction: triggers off,
 * meta's rows of its own made way for the source's, every table */
static int write_rows(struct copy *cp)
{
    if (triggers_off(cp) != 0)
        return -1;
    if (sql_exec(cp->dst, "DELETE FROM meta WHERE name <> '" META_OWN "'")
        != 0) {
        dberr(cp, cp->dst, "making way for the source's identity");
        return -1;
    }
    for (size_t i = 0; i < cp->nt; i++) {
        int64_t n = 0;
        if (copy_table(cp, &cp->t[i], &n) != 0)
            return -1;
    }
    if (triggers_on(cp) != 0 || set_identities(cp) != 0)
        return -1;
    return 0;
}

static enum spool_copy_outcome copy_ledger(struct copy *cp)
{
    enum spool_copy_outcome out = SPOOL_COPY_FAILED;
    struct spool_audit_proof sp;
    char src_head[96];
    int sv = 0, dv = 0, r;
    cp->t = calloc(SPOOL_COPY_TABLES_MAX, sizeof *cp->t);
    if (!cp->t) {
        errs_add(cp->e, cp->src_where, "out of memory");
        return SPOOL_COPY_FAILED;
    }
    if (read_begin(cp) != 0)
        goto done;
    if (spool_copy_version(cp, cp->src, &sv) != 0
        || spool_copy_version(cp, cp->dst, &dv) != 0)
        goto done;
    if (sv != dv) {
        errs_add(cp->e, cp->dst_where, "the source (%s) is at ledger schema "
                 "version %d, the destination (%s) at %d: both must be at "
                 "one version (open the older with this ferry first)",
                 engine(cp->src), sv, engine(cp->dst), dv);
        out = SPOOL_COPY_REFUSED;
        goto done;
    }
    cp->info->schema_version = sv;
    if ((r = spool_copy_tables(cp)) != 0) {
        if (r == -2)
            out = SPOOL_COPY_SCHEMA_DRIFT;
        goto done;
    }
    r = chain_check(cp, &cp->src_chain, &sp, src_head);
    if (r != 0) {
        if (r > 0) {
            errs_add(cp->e, cp->src_where, "the source's audit chain does "
                     "not verify: nothing was copied");
            out = SPOOL_COPY_UNVERIFIED;
        }
        goto done;
    }
    cp->total = 0;
    for (size_t i = 0; i < cp->nt; i++) {
        if (count_rows(cp, cp->src, &cp->t[i], &cp->t[i].src_rows) != 0)
            goto done;
        cp->total += cp->t[i].src_rows;
    }
    if (sql_begin(cp->dst) != 0) {
        dberr(cp, cp->dst, "starting the copy");
        goto done;
    }
    if ((r = dest_empty(cp)) != 0) {
        if (r > 0)
            out = SPOOL_COPY_REFUSED;
        goto done;
    }
    if (write_rows(cp) != 0)
        goto done;
    if ((r = verify(cp, &sp, src_head)) != 0) {
        if (r > 0) {
            errs_add(cp->e, cp->dst_where, "the copy did not verify: "
                     "nothing was committed");
            out = SPOOL_COPY_UNVERIFIED;
        }
        goto done;
    }
    crash_point("spool-copy-before-commit");
    if (sql_commit(cp->dst) != 0) {
        dberr(cp, cp->dst, "committing the copy");
        goto done;
    }
    out = SPOOL_COPY_OK;
done:
    sql_rollback(cp->dst);
    sql_rollback(cp->src);         /* the read snapshot ends */
    for (size_t i = 0; i < cp->ntrig; i++)
        free(cp->trig[i].sql);
    free(cp->trig);
    free(cp->t);
    return out;
}

/* open_conn - the connection file read (and described for messages,
 * without its password) and its database reached; info cleared first.
 * *ci is the caller's to free (sql_conninfo_free) whatever comes back. */
static enum spool_copy_outcome open_conn(const char *conn_file, char **ci,
                                         struct sql_conn **pg,
                                         struct spool_copy_info *info,
                                         struct errs *e)
{
    memset(info, 0, sizeof *info);
    *pg = NULL;
    if (sql_conninfo_load(conn_file, ci, e) != 0)
        return SPOOL_COPY_CONN_FILE;
    sql_conninfo_describe(*ci, info->connection, sizeof info->connection);
    struct sql_desc d = { .backend = SQL_POSTGRESQL, .conninfo = *ci };
    if (!(*pg = sql_open(&d, e))) {
        errs_add(e, conn_file, "cannot reach the PostgreSQL ledger");
        return SPOOL_COPY_CANNOT_OPEN;
    }
    return SPOOL_COPY_OK;
}

/* chain_on - the audit chain of c as o describes it */
static struct spool_audit_chain chain_on(struct sql_conn *c,
                                         const struct spool_copy_opts *o,
                                         const char *head_path,
                                         char *pending, size_t pendingsz,
                                         const char *where)
{
    return (struct spool_audit_chain){
        .c = c, .keyed = o->audit_keyed, .key = o->audit_key,
        .head_path = head_path, .pending = pending, .pendingsz = pendingsz,
        .where = where };
}

enum spool_copy_outcome spool_copy_to_pg(const char *dir,
                                         const char *conn_file,
                                         const struct spool_copy_opts *o,
                                         struct spool_copy_info *info,
                                         struct errs *e)
{
    char *ci = NULL, pend[2][100], ledger[PATH_MAX];
    struct spool *s = NULL;
    struct sql_conn *pg = NULL;
    enum spool_copy_outcome out = open_conn(conn_file, &ci, &pg, info, e);
    if (out != SPOOL_COPY_OK)
        goto done;
    out = SPOOL_COPY_CANNOT_OPEN;
    if (fs_join(ledger, sizeof ledger, dir, "ledger.db") != 0
        || access(ledger, R_OK) != 0) {
        errs_add(e, dir, "no readable ledger.db here");
        goto done;
    }
    struct spool_opts so = { .read_only = true,
                             .audit_keyed = o->audit_keyed,
                             .audit_head_file = o->audit_head_file };
    memcpy(so.audit_key, o->audit_key, sizeof so.audit_key);
    s = spool_open(dir, &so, e);
    explicit_bzero(so.audit_key, sizeof so.audit_key);
    if (!s)
        goto done;
    /* an empty database gets the schema (its own transaction: an empty
     * ledger is what a failed copy leaves, and what a second accepts) */
    struct copy cp = { .src = s->sql, .dst = pg, .lite = s->sql, .pg = pg,
                       .src_where = dir, .dst_where = conn_file, .o = o,
                       .info = info, .e = e };
    int ver = 0;
    if (spool_copy_version(&cp, pg, &ver) != 0) {
        out = SPOOL_COPY_FAILED;
        goto done;
    }
    if (ver == 0 && spool_pg_schema(pg, e) != 0) {
        out = SPOOL_COPY_FAILED;
        goto done;
    }
    cp.src_chain = chain_on(s->sql, o, s->audit_head_path, pend[0],
                            sizeof pend[0], dir);
    /* the folder keeps its head file when its ledger moves */
    cp.dst_chain = chain_on(pg, o, s->audit_head_path, pend[1],
                            sizeof pend[1], conn_file);
    spool_lock(s);
    out = copy_ledger(&cp);
    spool_unlock(s);
done:
    sql_close(pg);
    spool_close(s);
    sql_conninfo_free(ci);
    return out;
}

/* dest_open - the spool folder dest as spool_open makes it; a ledger
 * already there is looked at read-only first, so one that is not empty
 * (or at another version) is refused before anything migrates it */
static enum spool_copy_outcome dest_open(const char *dest, struct spool **out,
                                         struct errs *e)
{
    char ledger[PATH_MAX];
    *out = NULL;
    if (fs_join(ledger, sizeof ledger, dest, "ledger.db") != 0) {
        errs_add(e, dest, "path too long");
        return SPOOL_COPY_CANNOT_OPEN;
    }
    if (access(ledger, F_OK) == 0) {
        struct spool_opts ro = { .read_only = true };
        struct spool *s = spool_open(dest, &ro, e);
        if (!s)
            return SPOOL_COPY_REFUSED;
        spool_close(s);
    }
    struct spool_opts so = { .read_only = false };
    *out = spool_open(dest, &so, e);
    return *out ? SPOOL_COPY_OK : SPOOL_COPY_CANNOT_OPEN;
}

/* anchor - the new folder's audit.head, as every commit writes it */
static void anchor(struct spool *s, struct copy *cp)
{
    struct sql_stmt *st = own(cp, s->sql, "SELECT id, hash, keyed FROM "
                              "audit ORDER BY id DESC LIMIT 1");
    if (st && sql_step(st) == SQL_STEP_ROW && sql_col_text(st, 1)) {
        snprintf(s->audit_pending, sizeof s->audit_pending, "%lld %s %d",
                 (long long)sql_col_int64(st, 0), sql_col_text(st, 1),
                 sql_col_int64(st, 2) ? 1 : 0);
        spool_audit_anchor(s);
    }
    sql_finalize(st);
}

enum spool_copy_outcome spool_copy_from_pg(const char *conn_file,
                                           const char *dest,
                                           const struct spool_copy_opts *o,
                                           struct spool_copy_info *info,
                                           struct errs *e)
{
    char *ci = NULL, pend[2][100];
    struct spool *s = NULL;
    struct sql_conn *pg = NULL;
    enum spool_copy_outcome out = open_conn(conn_file, &ci, &pg, info, e);
    if (out != SPOOL_COPY_OK)
        goto done;
    out = SPOOL_COPY_CANNOT_OPEN;
    struct copy cp = { .src = pg, .dst = NULL, .pg = pg,
                       .src_where = conn_file, .dst_where = dest, .o = o,
                       .info = info, .e = e };
    int ver = 0;
    if (spool_copy_version(&cp, pg, &ver) != 0)
        goto done;
    if (ver == 0) {
        errs_add(e, conn_file, "the database holds no ferry ledger");
        goto done;
    }
    if ((out = dest_open(dest, &s, e)) != SPOOL_COPY_OK)
        goto done;
    cp.dst = cp.lite = s->sql;
    /* without the source's head file, the new folder's (not there yet)
     * stands in: only the chain and the ledger's own head are checked */
    cp.src_chain = chain_on(pg, o, o->audit_head_file ? o->audit_head_file
                            : s->audit_head_path, pend[0], sizeof pend[0],
                            conn_file);
    cp.dst_chain = chain_on(s->sql, o, s->audit_head_path, pend[1],
                            sizeof pend[1], dest);
    spool_lock(s);
    out = copy_ledger(&cp);
    if (out == SPOOL_COPY_OK)
        anchor(s, &cp);
    spool_unlock(s);
done:
    spool_close(s);
    sql_close(pg);
    sql_conninfo_free(ci);
    return out;
}

