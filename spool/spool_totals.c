/* spool_totals.c - how many records stand in each state, at a cost that
 * follows the work in hand rather than the ledger's history.
 *
 * Records not yet final are counted from the partial index records_work
 * (it holds only them).  Final records (confirmed, discarded) are never
 * counted row by row: state_totals keeps their number per service,
 * target and state, in the working table and the archive together, and
 * is written in the same transaction as every move to a final state.
 * The moves are noted in memory (spool_tally_final) while a transaction
 * runs, a million acknowledgements making a handful of notes, and
 * spool_commit writes the notes just before COMMIT, so a rollback or a
 * crash loses the notes with the moves and the totals never drift.
 * spool_verify checks the totals against the rows.  On the statement
 * layer (sql.h): the same SQL on SQLite and PostgreSQL. */
#include "spool/spool_int.h"
#include "spool/sql.h"
#include "util/errs.h"

#include <stdlib.h>
#include <string.h>

/* counts_locked - spool_counts under db_mu */
static int counts_locked(struct spool *s, struct spool_counts *out,
                         struct errs *e)
{
    struct sql_stmt *st = spool_sql(s,
        "SELECT service, target, state, COUNT(*) FROM records "
        "WHERE " SPOOL_WORK_TERM " GROUP BY state, service, target "
        "UNION ALL SELECT service, target, state, n FROM state_totals "
        "WHERE n <> 0 ORDER BY 1, 2, 3", e);
    size_t cap = 0;
    enum sql_step step;
    if (!st)
        return -1;
    while ((step = sql_step(st)) == SQL_STEP_ROW) {
        if (out->n == cap) {
            cap = cap ? cap * 2 : 16;
            struct spool_count *v = realloc(out->v, cap * sizeof *v);
            if (!v) {
                sql_reset(st);
                errs_add(e, "", "out of memory");
                return -1;
            }
            out->v = v;
        }
        struct spool_count *c = &out->v[out->n++];
        c->service = sql_col_strdup(st, 0);
        c->target = sql_col_strdup(st, 1);
        if (spool_state_parse(sql_col_text(st, 2), &c->state) != 0)
            c->state = SPOOL_RECEIVED;
        c->n = sql_col_int64(st, 3);
    }
    sql_reset(st);
    if (step != SQL_STEP_DONE) {
        spool_sqlerr(s, e, NULL, "counting records");
        return -1;
    }
    return 0;
}

int spool_counts(struct spool *s, struct spool_counts *out, struct errs *e)
{
    out->v = NULL;
    out->n = 0;
    spool_lock(s);
    int rc = counts_locked(s, out, e);
    spool_unlock(s);
    if (rc != 0)
        spool_counts_free(out);
    return rc;
}

void spool_counts_free(struct spool_counts *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].service);
        free(c->v[i].target);
    }
    free(c->v);
    c->v = NULL;
    c->n = 0;
}

/* begin_snapshot - a read-only transaction in which every SELECT sees
 * one snapshot: SQLite's deferred BEGIN does that; PostgreSQL's default
 * (READ COMMITTED) gives each statement its own, so there it is asked
 * for */
static int begin_snapshot(struct spool *s, struct errs *e)
{
    return spool_exec(s, sql_backend(s->sql) == SQL_POSTGRESQL
                      ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
                      : "BEGIN", e);
}

/* sum_one - the single integer a statement gives; -1 on error */
static int sum_one(struct spool *s, const char *sql, int64_t *out,
                   const char *what, struct errs *e)
{
    struct sql_stmt *st = spool_sql(s, sql, e);
    if (!st)
        return -1;
    enum sql_step r = sql_step(st);
    if (r == SQL_STEP_ROW)
        *out = sql_col_int64(st, 0);
    sql_reset(st);
    if (r != SQL_STEP_ROW) {
        spool_sqlerr(s, e, NULL, what);
        return -1;
    }
    return 0;
}

int spool_conservation(struct spool *s, int64_t *accepted,
                       int64_t *in_states, struct errs *e)
{
    int rc = -1;
    int64_t work = 0, final = 0;
    *accepted = *in_states = 0;
    spool_lock(s);
    if (begin_snapshot(s, e) != 0)
        goto unlock;
    if (sum_one(s, "SELECT COUNT(*) FROM records WHERE " SPOOL_WORK_TERM,
                &work, "counting records", e) != 0
        || sum_one(s, "SELECT COALESCE(SUM(n), 0) FROM state_totals",
                   &final, "reading final totals", e) != 0
        || sum_one(s, "SELECT COALESCE(SUM(value), 0) FROM counter_totals "
                   "WHERE name IN ('accepted', '" SPOOL_COUNTER_FANOUT "')", accepted,
                   "reading intake counters", e) != 0)
        goto done;
    *in_states = work + final;
    rc = 0;
done:
    spool_rollback(s);                 /* read only: nothing to keep */
unlock:
    spool_unlock(s);
    return rc;
}

int spool_totals_check(struct spool *s, struct spool_totals_proof *p,
                       struct errs *e)
{
    int rc = -1;
    memset(p, 0, sizeof *p);
    spool_lock(s);
    if (begin_snapshot(s, e) != 0)
        goto unlock;
    if (sum_one(s, "SELECT COUNT(*) FROM records", &p->rows, "counting "
                "records", e) != 0
        || sum_one(s, "SELECT COUNT(*) FROM records_archive", &p->archived,
                   "counting archived records", e) != 0
        || sum_one(s, "SELECT COALESCE(SUM(value), 0) FROM counters "
                   "WHERE name IN ('accepted', '" SPOOL_COUNTER_FANOUT "')", &p->accepted, "reading intake "
                   "counters", e) != 0)
        goto done;
    /* every (service, target, state) whose total differs from its rows */
    if (sum_one(s, "SELECT COUNT(*) FROM (SELECT service, target, state, "
                "SUM(n) AS n FROM (SELECT service, target, state, n FROM "
                "state_totals UNION ALL SELECT service, target, state, "
                "-COUNT(*) FROM records WHERE state IN ('confirmed', "
                "'discarded') GROUP BY 1, 2, 3 UNION ALL SELECT service, "
                "target, state, -COUNT(*) FROM records_archive GROUP BY "
                "1, 2, 3) AS t GROUP BY 1, 2, 3) AS d WHERE n <> 0",
                &p->totals_off, "checking final totals", e) != 0)
        goto done;
    /* and the all-days intake totals against the daily counters */
    int64_t off = 0;
    if (sum_one(s, "SELECT COUNT(*) FROM (SELECT service, name, SUM(v) AS v "
                "FROM (SELECT service, name, value AS v FROM counter_totals "
                "UNION ALL SELECT service, name, -value FROM counters) AS t "
                "GROUP BY 1, 2) AS d WHERE v <> 0", &off, "checking intake "
                "totals", e) != 0)
        goto done;
    p->totals_off += off;
    rc = 0;
done:
    spool_rollback(s);
unlock:
    spool_unlock(s);
    return rc;
}
