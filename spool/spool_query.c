/* spool_query.c - reading the ledger: one record with its history,
 * filtered listings (array or streamed), counts by state, intake counters.
 * Nothing here changes state.  Results belong to the caller (see spool.h
 * for each *_free).  On the statement layer (sql.h): the same SQL on
 * SQLite and PostgreSQL; a listing reads in keyset pages
 * (spool_page_rows), since a PostgreSQL result arrives whole. */
#include "spool/spool_int.h"
#include "spool/spool_row.h"
#include "spool/sql.h"
#include "util/buf.h"
#include "util/errs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A record's attempts are few (the retry policy's maximum); the bound
 * keeps a PostgreSQL result, which arrives whole, small whatever
 * happened. */
#define HISTORY_MAX_ATTEMPTS 10000

static int load_history(struct spool *s, struct spool_record *r,
                        struct errs *e)
{
    struct sql_stmt *st = spool_sql(s, "SELECT id, target, started_at, "
                                    "ended_at, outcome, message FROM "
                                    "attempts WHERE record_id = ?1 ORDER BY "
                                    "id LIMIT ?2", e);
    if (!st)
        return -1;
    sql_bind_int64(st, 1, r->id);
    sql_bind_int64(st, 2, HISTORY_MAX_ATTEMPTS);
    enum sql_step rc;
    while ((rc = sql_step(st)) == SQL_STEP_ROW) {
        struct spool_attempt *v = realloc(r->att, (r->natt + 1) * sizeof *v);
        if (!v)
            goto nomem;
        r->att = v;
        struct spool_attempt *a = &v[r->natt++];
        a->id = sql_col_int64(st, 0);
        a->target = sql_col_strdup(st, 1);
        a->started_at = sql_col_int64(st, 2);
        a->ended_at = sql_col_int64(st, 3);
        a->outcome = sql_col_strdup(st, 4);
        a->message = sql_col_strdup(st, 5);
    }
    sql_reset(st);
    if (rc != SQL_STEP_DONE) {
        spool_sqlerr(s, e, r->ref, "reading attempts");
        return -1;
    }
    struct spool_audit_list al = { 0 };
    if (spool_audit_list_locked(s, r->ref, &al, e) != 0)
        return -1;
    r->aud = al.v;
    r->naud = al.n;
    return 0;
nomem:
    sql_reset(st);
    errs_add(e, r->ref, "out of memory");
    return -1;
}

/* get_row - read the delivery of ref to target (NULL: its first) from
 * the working table, else from the archive (retention may have moved
 * it: the slim row, with its audit entries; its attempts went with the
 * payload).  SQL_STEP_ROW with *out on the row, SQL_STEP_DONE none,
 * SQL_STEP_ERROR (e filled when *out is NULL).  db_mu held. */
static enum sql_step get_row(struct spool *s, const char *ref,
                             const char *target, struct sql_stmt **out,
                             struct errs *e)
{
    static const char work[] = "SELECT " SPOOL_REC_COLS
        " FROM records_full WHERE ref = ?1 AND (CAST(?2 AS TEXT) IS NULL"
        " OR target = ?2) ORDER BY id LIMIT 1";
    static const char arch[] = "SELECT " SPOOL_REC_COLS
        " FROM records_archive_full WHERE ref = ?1 AND (CAST(?2 AS TEXT)"
        " IS NULL OR target = ?2) ORDER BY id LIMIT 1";
    enum sql_step step = SQL_STEP_ERROR;
    *out = NULL;
    for (int k = 0; k < 2; k++) {
        struct sql_stmt *st = spool_sql(s, k ? arch : work, e);
        if (!st)
            return SQL_STEP_ERROR;
        sql_bind_text(st, 1, ref);
        sql_bind_text(st, 2, target);
        step = sql_step(st);
        *out = st;
        if (step != SQL_STEP_DONE)
            break;
        sql_reset(st);
    }
    return step;
}

int spool_get_delivery(struct spool *s, const char *ref, const char *target,
                       int flags, struct spool_record **out, struct errs *e)
{
    int rc = -1;
    *out = NULL;
    struct spool_record *r = calloc(1, sizeof *r);
    if (!r) {
        errs_add(e, ref, "out of memory");
        return -1;
    }
    spool_lock(s);
    struct sql_stmt *st = NULL;
    enum sql_step step = get_row(s, ref, target, &st, e);
    if (step == SQL_STEP_DONE) {
        st = NULL;
        rc = 1;
        goto done;
    }
    if (step != SQL_STEP_ROW) {
        if (st)
            spool_sqlerr(s, e, ref, "reading record");
        goto done;
    }
    if (spool_row_fill_sql(s, st, flags & SPOOL_WITH_PAYLOAD, r) != 0) {
        errs_add(e, ref, "out of memory");
        goto done;
    }
    sql_reset(st);
    st = NULL;
    if (r->crypt_error) {
        errs_add(e, ref, "%s", r->crypt_error);
        goto done;
    }
    if ((flags & SPOOL_WITH_HISTORY) && load_history(s, r, e) != 0)
        goto done;
    rc = 0;
done:
    if (st)
        sql_reset(st);
    spool_unlock(s);
    if (rc == 0)
        *out = r;
    else
        spool_record_free(r);
    return rc;
}

int spool_get(struct spool *s, const char *ref, int flags,
              struct spool_record **out, struct errs *e)
{
    return spool_get_delivery(s, ref, NULL, flags, out, e);
}

int spool_get_editable(struct spool *s, const char *ref, int flags,
                       struct spool_record **out, struct errs *e)
{
    struct spool_list dl = { 0 };
    int g = spool_deliveries(s, ref, 0, &dl, e);
    const char *target = NULL;
    char buf[128] = "";
    for (size_t i = 0; g == 0 && i < dl.n && !target; i++)
        if (spool_edit_allowed(dl.v[i]->state)) {
            snprintf(buf, sizeof buf, "%s", dl.v[i]->target);
            target = buf;
        }
    spool_list_free(&dl);
    if (g != 0) {
        *out = NULL;
        return g;
    }
    return spool_get_delivery(s, ref, target, flags, out, e);
}

int spool_deliveries(struct spool *s, const char *ref, int flags,
                     struct spool_list *out, struct errs *e)
{
    /* working rows first; an archived row only for a target the working
     * table no longer has (retention moves each delivery on its own).  A
     * record has at most one delivery per target of its service: the
     * LIMIT only bounds what a damaged ledger could give. */
    static const char sql[] = "SELECT " SPOOL_REC_COLS
        " FROM records_full WHERE ref = ?1 UNION ALL SELECT " SPOOL_REC_COLS
        " FROM records_archive_full a WHERE ref = ?1 AND NOT EXISTS"
        " (SELECT 1 FROM records w WHERE w.ref = ?1 AND w.target = a.target)"
        " ORDER BY id LIMIT 4096";
    int rc = -1;
    enum sql_step step;
    out->v = NULL;
    out->n = 0;
    spool_lock(s);
    struct sql_stmt *st = spool_sql(s, sql, e);
    if (!st)
        goto done;
    sql_bind_text(st, 1, ref);
    while ((step = sql_step(st)) == SQL_STEP_ROW) {
        struct spool_record **v = realloc(out->v, (out->n + 1) * sizeof *v);
        struct spool_record *r = v ? calloc(1, sizeof *r) : NULL;
        if (v)
            out->v = v;
        if (!r || spool_row_fill_sql(s, st, flags & SPOOL_WITH_PAYLOAD,
                                     r) != 0) {
            spool_record_free(r);
            errs_add(e, ref, "out of memory");
            goto done;
        }
        out->v[out->n++] = r;
    }
    sql_reset(st);
    st = NULL;
    if (step != SQL_STEP_DONE) {
        spool_sqlerr(s, e, ref, "reading deliveries");
        goto done;
    }
    for (size_t i = 0; (flags & SPOOL_WITH_HISTORY) && i < out->n; i++)
        if (load_history(s, out->v[i], e) != 0)
            goto done;
    rc = out->n ? 0 : 1;
done:
    if (st)
        sql_reset(st);
    spool_unlock(s);
    if (rc < 0)
        spool_list_free(out);
    return rc;
}

/* build_where - the filter as SQL with ? placeholders, bound in order by
 * bind_filter, and then the page: "id > ?" (the caller's after_id, then
 * the last id read) and "LIMIT ?".  Text values are always bound, never
 * pasted. */
static int build_where(struct buf *b, const struct spool_filter *f)
{
    buf_puts(b, " WHERE 1=1");
    if (f->nstates > 0) {
        /* the state names are the transition table's own constants, not
         * input: written into the text so that a listing of states not
         * yet final reads the partial index records_work, which SQLite
         * uses only when the query names its condition */
        bool work = true;
        buf_puts(b, " AND state IN (");
        for (int i = 0; i < f->nstates; i++) {
            buf_printf(b, "%s'%s'", i ? "," : "",
                       spool_state_name(f->states[i]));
            work = work && !spool_state_final(f->states[i]);
        }
        buf_puts(b, ")");
        if (work)
            buf_puts(b, " AND " SPOOL_WORK_TERM);
    }
    if (f->service)
        buf_puts(b, " AND service = ?");
    if (f->target)
        buf_puts(b, " AND target = ?");
    if (f->since)
        buf_puts(b, " AND received_at >= ?");
    if (f->until)
        buf_puts(b, " AND received_at < ?");
    if (f->updated_before)
        buf_puts(b, " AND updated_at < ?");
    if (f->batch_id)
        buf_puts(b, " AND batch_id = ?");
    buf_puts(b, " AND id > ? ORDER BY id LIMIT ?");
    return b->data ? 0 : -1;
}

/* bind_filter - the filter's values; the page's two parameters follow
 * at the number returned */
static int bind_filter(struct sql_stmt *st, const struct spool_filter *f)
{
    int k = 1;
    if (f->service)
        sql_bind_text(st, k++, f->service);
    if (f->target)
        sql_bind_text(st, k++, f->target);
    if (f->since)
        sql_bind_int64(st, k++, f->since);
    if (f->until)
        sql_bind_int64(st, k++, f->until);
    if (f->updated_before)
        sql_bind_int64(st, k++, f->updated_before);
    if (f->batch_id)
        sql_bind_int64(st, k++, f->batch_id);
    return k;
}

int spool_foreach(struct spool *s, const struct spool_filter *f, int flags,
                  int (*cb)(void *ctx, const struct spool_record *r),
                  void *ctx, struct errs *e)
{
    static const struct spool_filter none;
    struct buf sql;
    struct sql_stmt *st = NULL;
    int rc = -1;
    if (!f)
        f = &none;
    if (f->nstates > SPOOL_NSTATES) {
        errs_add(e, "", "too many states in filter");
        return -1;
    }
    buf_init(&sql, 0);
    buf_puts(&sql, "SELECT " SPOOL_REC_COLS " FROM records_full");
    if (build_where(&sql, f) != 0) {
        errs_add(e, "", "out of memory");
        buf_free(&sql);
        return -1;
    }
    spool_lock(s);
    /* the filter is the caller's: a statement of its own, not cached */
    st = sql_prepare_own(s->sql, sql.data);
    if (!st) {
        spool_sqlerr(s, e, NULL, "listing records");
        goto done;
    }
    int k = bind_filter(st, f);
    int64_t after = f->after_id;
    size_t left = f->limit;            /* 0: every row */
    size_t page = spool_page_rows(s);
    rc = 0;
    for (;;) {
        size_t want = left && left < page ? left : page;
        size_t got = 0;
        enum sql_step step;
        sql_bind_int64(st, k, after);
        sql_bind_int64(st, k + 1, (int64_t)want);
        while ((step = sql_step(st)) == SQL_STEP_ROW) {
            struct spool_record r;
            got++;
            if (spool_row_fill_sql(s, st, flags & SPOOL_WITH_PAYLOAD,
                                   &r) != 0) {
                spool_record_clear(&r);
                errs_add(e, "", "out of memory");
                rc = -1;
                break;
            }
            after = r.id;
            if (r.crypt_error)
                errs_add(e, r.ref, "%s", r.crypt_error);
            int stop = cb(ctx, &r);
            spool_record_clear(&r);
            if (stop) {
                rc = stop;
                break;
            }
        }
        if (rc == 0 && step != SQL_STEP_DONE) {
            spool_sqlerr(s, e, NULL, "listing records");
            rc = -1;
        }
        sql_reset(st);
        if (rc != 0 || got < want || (left && (left -= got) == 0))
            break;
    }
done:
    sql_finalize(st);
    spool_unlock(s);
    buf_free(&sql);
    return rc;
}

struct list_ctx {
    struct spool_list *l;
    size_t cap;
    int nomem;
};

/* take_copy - spool_foreach hands a borrowed record; move it instead */
static int list_add(void *ctx, const struct spool_record *r)
{
    struct list_ctx *c = ctx;
    if (c->l->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        struct spool_record **v = realloc(c->l->v, cap * sizeof *v);
        if (!v)
            goto nomem;
        c->l->v = v;
        c->cap = cap;
    }
    struct spool_record *copy = malloc(sizeof *copy);
    if (!copy)
        goto nomem;
    /* The record's strings are owned by the caller's stack copy, which is
     * cleared after we return: steal them and leave it empty. */
    *copy = *r;
    memset((struct spool_record *)r, 0, sizeof *r);
    c->l->v[c->l->n++] = copy;
    return 0;
nomem:
    c->nomem = 1;
    return 1;
}

int spool_list(struct spool *s, const struct spool_filter *f, int flags,
               struct spool_list *out, struct errs *e)
{
    struct list_ctx c = { .l = out };
    out->v = NULL;
    out->n = 0;
    int rc = spool_foreach(s, f, flags, list_add, &c, e);
    if (rc != 0 || c.nomem) {
        if (c.nomem)
            errs_add(e, "", "out of memory");
        spool_list_free(out);
        return -1;
    }
    if (flags & SPOOL_WITH_HISTORY) {
        spool_lock(s);
        for (size_t i = 0; i < out->n; i++) {
            if (load_history(s, out->v[i], e) != 0) {
                spool_unlock(s);
                spool_list_free(out);
                return -1;
            }
        }
        spool_unlock(s);
    }
    return 0;
}

void spool_list_free(struct spool_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        spool_record_free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

int spool_oldest(struct spool *s, enum spool_state stt, const char *service,
                 int64_t *at, struct errs *e)
{
    int rc = -1;
    *at = 0;
    spool_lock(s);
    /* a state not yet final reads records_work (its condition named) */
    bool work = !spool_state_final(stt);
    struct sql_stmt *st = spool_sql(s, service
        ? (work ? "SELECT MIN(received_at) FROM records WHERE state = ? AND "
                  "service = ? AND " SPOOL_WORK_TERM
                : "SELECT MIN(received_at) FROM records WHERE state = ? AND "
                  "service = ?")
        : (work ? "SELECT MIN(received_at) FROM records WHERE state = ? AND "
                  SPOOL_WORK_TERM
                : "SELECT MIN(received_at) FROM records WHERE state = ?"), e);
    if (!st)
        goto done;
    sql_bind_text(st, 1, spool_state_name(stt));
    if (service)
        sql_bind_text(st, 2, service);
    if (sql_step(st) != SQL_STEP_ROW) {
        spool_sqlerr(s, e, NULL, "finding oldest record");
        goto done;
    }
    *at = sql_col_int64(st, 0);
    rc = 0;
done:
    if (st)
        sql_reset(st);
    spool_unlock(s);
    return rc;
}

int spool_day_counts(struct spool *s, const char *service, const char *from,
                     const char *to, struct spool_day_list *out,
                     struct errs *e)
{
    /* the days as a range (counters_day): a day's report reads its own
     * counters, not every day's.  Unpaged: a row per service, day and
     * counter name, so even ten years of two services are some 30,000
     * small rows, not one per record. */
    static const char sql[] =
        "SELECT service, day, name, value FROM counters WHERE "
        "day >= COALESCE(CAST(?2 AS TEXT), '') AND "
        "day <= COALESCE(CAST(?3 AS TEXT), '~') AND "
        "(CAST(?1 AS TEXT) IS NULL OR service = ?1) ORDER BY service, day";
    int rc = -1;
    enum sql_step step;
    size_t cap = 0;
    out->v = NULL;
    out->n = 0;
    spool_lock(s);
    struct sql_stmt *st = spool_sql(s, sql, e);
    if (!st)
        goto done;
    sql_bind_text(st, 1, service);
    sql_bind_text(st, 2, from);
    sql_bind_text(st, 3, to);
    while ((step = sql_step(st)) == SQL_STEP_ROW) {
        const char *svc = sql_col_text(st, 0);
        const char *day = sql_col_text(st, 1);
        const char *name = sql_col_text(st, 2);
        struct spool_day_counts *d = out->n ? &out->v[out->n - 1] : NULL;
        if (!d || strcmp(d->service, svc) != 0 || strcmp(d->day, day) != 0) {
            if (out->n == cap) {
                cap = cap ? cap * 2 : 16;
                struct spool_day_counts *v = realloc(out->v, cap * sizeof *v);
                if (!v) {
                    errs_add(e, "", "out of memory");
                    goto done;
                }
                out->v = v;
            }
            d = &out->v[out->n];
            memset(d, 0, sizeof *d);
            d->service = strdup(svc);
            if (!d->service) {
                errs_add(e, "", "out of memory");
                goto done;
            }
            out->n++;
            snprintf(d->day, sizeof d->day, "%s", day);
        }
        int64_t v = sql_col_int64(st, 3);
        if (strcmp(name, "accepted") == 0)
            d->accepted = v;
        else if (strcmp(name, "duplicates") == 0)
            d->duplicates = v;
        else if (strcmp(name, "rejected_at_door") == 0)
            d->rejected_at_door = v;
        else if (strcmp(name, SPOOL_COUNTER_FANOUT) == 0)
            d->fanout = v;
    }
    if (step != SQL_STEP_DONE) {
        spool_sqlerr(s, e, NULL, "reading counters");
        goto done;
    }
    rc = 0;
done:
    if (st)
        sql_reset(st);
    spool_unlock(s);
    if (rc != 0)
        spool_day_list_free(out);
    return rc;
}

void spool_day_list_free(struct spool_day_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].service);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}
