/* spool_timeline.c - one record's whole story, oldest first (spool.h):
 * received, attempts, the batches it was in, the acknowledgements that
 * moved it, and every audited action and reveal.
 *
 * Nothing is logged twice to make this: the pieces are where the ledger
 * already keeps them (records, attempts, batches, audit), plus
 * record_history, where an operator's requeue keeps what a batched or
 * acknowledged record had before it started afresh.  Read only, on the
 * statement layer (sql.h): the same SQL on SQLite and PostgreSQL, every
 * read bounded (a PostgreSQL result arrives whole). */
#include "spool/spool_int.h"
#include "spool/sql.h"
#include "util/errs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TL_MAX_EVENTS 100000    /* a record's story is short; bound it */

struct tl {
    struct spool_timeline *t;
    size_t cap;
    bool nomem;
};

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* add - a new zeroed event at time at, or NULL (out of memory / bound) */
static struct spool_event *add(struct tl *x, int64_t at,
                               enum spool_event_kind kind, const char *what)
{
    if (x->t->n == x->cap) {
        size_t nc = x->cap ? x->cap * 2 : 16;
        struct spool_event *v = nc > TL_MAX_EVENTS ? NULL
            : realloc(x->t->v, nc * sizeof *v);
        if (!v) {
            x->nomem = true;
            return NULL;
        }
        x->t->v = v;
        x->cap = nc;
    }
    struct spool_event *ev = &x->t->v[x->t->n++];
    memset(ev, 0, sizeof *ev);
    ev->at = at;
    ev->kind = kind;
    ev->what = strdup(what);
    if (!ev->what)
        x->nomem = true;
    return ev;
}

/* add_batch - the three steps of one batch the record was in */
static int add_batch(struct spool *s, struct tl *x, int64_t batch_id,
                     struct errs *e)
{
    for (size_t i = 0; i < x->t->n; i++)        /* once per batch */
        if (x->t->v[i].kind == SPOOL_EV_BATCHED &&
            x->t->v[i].batch_id == batch_id)
            return 0;
    struct sql_stmt *st = spool_sql(s, "SELECT target, file_name, "
                                    "created_at, written_at, sent_at FROM "
                                    "batches WHERE id = ?", e);
    if (!st)
        return -1;
    sql_bind_int64(st, 1, batch_id);
    enum sql_step r = sql_step(st);
    if (r == SQL_STEP_ROW) {
        static const struct { int at; enum spool_event_kind k;
                              const char *what; } steps[] = {
            { 2, SPOOL_EV_BATCHED, "batched" },
            { 3, SPOOL_EV_FILE_WRITTEN, "written" },
            { 4, SPOOL_EV_SENT, "sent" },
        };
        for (size_t i = 0; i < 3; i++) {
            int64_t at = sql_col_int64(st, steps[i].at);  /* NULL: 0 */
            if (at == 0)
                continue;
            struct spool_event *ev = add(x, at, steps[i].k, steps[i].what);
            if (!ev)
                break;
            ev->batch_id = batch_id;
            ev->target = dup_or_null(sql_col_text(st, 0));
            if (steps[i].k != SPOOL_EV_BATCHED)
                ev->file = dup_or_null(sql_col_text(st, 1));
        }
    }
    sql_reset(st);
    if (r == SQL_STEP_ERROR) {
        spool_sqlerr(s, e, NULL, "reading batches");
        return -1;
    }
    return 0;
}

/* add_ack - an acknowledgement: outcome is the state it moved the
 * delivery to target to, message the back end's reason */
static void add_ack(struct tl *x, int64_t at, const char *file, long recno,
                    const char *state, const char *reason,
                    const char *target)
{
    struct spool_event *ev = add(x, at, SPOOL_EV_ACK, "ack");
    if (!ev)
        return;
    ev->file = dup_or_null(file);
    ev->record_no = recno;
    ev->outcome = dup_or_null(state);
    ev->target = dup_or_null(target);
    if (state && strcmp(state, "rejected") == 0)
        ev->message = dup_or_null(reason);
}

/* One delivery row of the record, for the attempts and history. */
struct tl_row {
    int64_t id;                    /* 0: archived (nothing more to read) */
    int64_t batch;
    char target[128];
};
#define TL_MAX_ROWS 16

/* the record itself: received (once, naming every target), and each
 * delivery's current batch and acknowledgement */
static int from_record(struct spool *s, struct tl *x, const char *ref,
                       struct tl_row *rows, size_t *nrows, struct errs *e)
{
    /* The working rows, then archived ones of a target no longer there
     * (the archive keeps no acknowledgement columns) */
    static const char *const sql[2] = {
        "SELECT id, received_at, client, channel, target, batch_id, "
        "ack_file, ack_record, ack_at, state, last_error FROM records "
        "WHERE ref = ?1 ORDER BY id LIMIT ?2",
        "SELECT id, received_at, client, channel, target, batch_id, "
        "CAST(NULL AS TEXT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), "
        "state, last_error FROM records_archive a WHERE ref = ?1 AND NOT "
        "EXISTS (SELECT 1 FROM records w WHERE w.ref = ?1 AND "
        "w.target = a.target) ORDER BY id LIMIT ?2",
    };
    struct spool_event *recv = NULL;
    char targets[512] = "";
    *nrows = 0;
    for (int k = 0; k < 2; k++) {
        struct sql_stmt *st = spool_sql(s, sql[k], e);
        if (!st)
            return -1;
        sql_bind_text(st, 1, ref);
        sql_bind_int64(st, 2, (int64_t)(TL_MAX_ROWS - *nrows));
        enum sql_step r;
        while ((r = sql_step(st)) == SQL_STEP_ROW && *nrows < TL_MAX_ROWS) {
            const char *target = sql_col_text(st, 4);
            if (!recv && (recv = add(x, sql_col_int64(st, 1),
                                     SPOOL_EV_RECEIVED, "received"))) {
                recv->client = dup_or_null(sql_col_text(st, 2));
                recv->channel = dup_or_null(sql_col_text(st, 3));
            }
            size_t l = strlen(targets);
            snprintf(targets + l, sizeof targets - l, "%s%s",
                     l ? ", " : "", target ? target : "");
            int64_t ack_at = sql_col_int64(st, 8);
            if (ack_at)
                add_ack(x, ack_at, sql_col_text(st, 6),
                        (long)sql_col_int64(st, 7), sql_col_text(st, 9),
                        sql_col_text(st, 10), target);
            struct tl_row *w = &rows[(*nrows)++];
            /* an archived row: its attempts and history were deleted
             * with it, and its id may since be another's */
            w->id = k ? 0 : sql_col_int64(st, 0);
            w->batch = sql_col_int64(st, 5);
            snprintf(w->target, sizeof w->target, "%s", target ? target : "");
        }
        sql_reset(st);
        if (r == SQL_STEP_ERROR) {
            spool_sqlerr(s, e, ref, "reading record");
            return -1;
        }
    }
    if (*nrows == 0)
        return 1;
    if (recv)
        recv->target = dup_or_null(targets);
    for (size_t i = 0; i < *nrows; i++)
        if (rows[i].batch && add_batch(s, x, rows[i].batch, e) != 0)
            return -1;
    return 0;
}

/* earlier batches and acknowledgements, kept when the record was requeued */
static int from_history(struct spool *s, struct tl *x, int64_t id,
                        const char *target, struct errs *e)
{
    int64_t batches[64];
    size_t nb = 0;
    struct sql_stmt *st = spool_sql(s, "SELECT batch_id, ack_file, "
                                    "ack_record, ack_at, state, last_error "
                                    "FROM record_history WHERE record_id = "
                                    "?1 ORDER BY id LIMIT ?2", e);
    if (!st)
        return -1;
    sql_bind_int64(st, 1, id);
    sql_bind_int64(st, 2, TL_MAX_EVENTS);
    enum sql_step r;
    while ((r = sql_step(st)) == SQL_STEP_ROW) {
        if (sql_col_int64(st, 3))
            add_ack(x, sql_col_int64(st, 3), sql_col_text(st, 1),
                    (long)sql_col_int64(st, 2), sql_col_text(st, 4),
                    sql_col_text(st, 5), target);
        if (sql_col_int64(st, 0) && nb < 64)
            batches[nb++] = sql_col_int64(st, 0);
    }
    sql_reset(st);
    if (r != SQL_STEP_DONE) {
        spool_sqlerr(s, e, NULL, "reading record history");
        return -1;
    }
    for (size_t i = 0; i < nb; i++)  /* after the reset: one statement each */
        if (add_batch(s, x, batches[i], e) != 0)
            return -1;
    return 0;
}

/* Attempts and audited actions are read by one piece: each source is a
 * query whose every row is one event, its columns in the same order
 * (time, what, target, outcome, message, actor, before, after, detail;
 * a column a source lacks is NULL) and bounded by ?2. */
static const char attempts_sql[] =
    "SELECT started_at, 'attempt', target, outcome, message, "
    "CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT), "
    "CAST(NULL AS TEXT) FROM attempts WHERE record_id = ?1 "
    "ORDER BY id LIMIT ?2";
static const char audit_sql[] =
    "SELECT at, action, CAST(NULL AS TEXT), CAST(NULL AS TEXT), reason, "
    "actor, before_state, after_state, detail FROM audit WHERE ref = ?1 "
    "ORDER BY id LIMIT ?2";

/* from_events - the events of one source: key is ?1 (the record's id
 * for attempts, its reference for the audit: ref non-NULL binds it) */
static int from_events(struct spool *s, struct tl *x, const char *sql,
                       enum spool_event_kind kind, int64_t id,
                       const char *ref, const char *what, struct errs *e)
{
    struct sql_stmt *st = spool_sql(s, sql, e);
    if (!st)
        return -1;
    if (ref)
        sql_bind_text(st, 1, ref);
    else
        sql_bind_int64(st, 1, id);
    sql_bind_int64(st, 2, TL_MAX_EVENTS);
    enum sql_step r;
    while ((r = sql_step(st)) == SQL_STEP_ROW) {
        const char *w = sql_col_text(st, 1);
        struct spool_event *ev = add(x, sql_col_int64(st, 0), kind,
                                     w ? w : "?");
        if (!ev)
            break;
        ev->target = dup_or_null(sql_col_text(st, 2));
        ev->outcome = dup_or_null(sql_col_text(st, 3));
        ev->message = dup_or_null(sql_col_text(st, 4));
        ev->actor = dup_or_null(sql_col_text(st, 5));
        ev->before = dup_or_null(sql_col_text(st, 6));
        ev->after = dup_or_null(sql_col_text(st, 7));
        /* an action on one delivery of several says "target T" first */
        const char *d = sql_col_text(st, 8);
        if (!ev->target && d && strncmp(d, "target ", 7) == 0) {
            size_t n = strcspn(d + 7, ";");
            ev->target = strndup(d + 7, n);
        }
    }
    sql_reset(st);
    if (r == SQL_STEP_ERROR) {
        spool_sqlerr(s, e, ref, what);
        return -1;
    }
    return 0;
}

struct order {
    struct spool_event ev;
    size_t seq;                 /* the order read: ties keep it */
};

static int by_time(const void *a, const void *b)
{
    const struct order *x = a, *y = b;
    if (x->ev.at != y->ev.at)
        return x->ev.at < y->ev.at ? -1 : 1;
    if (x->ev.kind != y->ev.kind)
        return (int)x->ev.kind - (int)y->ev.kind;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* sort - oldest first, stable */
static int sort(struct spool_timeline *t)
{
    struct order *o = calloc(t->n ? t->n : 1, sizeof *o);
    if (!o)
        return -1;
    for (size_t i = 0; i < t->n; i++) {
        o[i].ev = t->v[i];
        o[i].seq = i;
    }
    qsort(o, t->n, sizeof *o, by_time);
    for (size_t i = 0; i < t->n; i++)
        t->v[i] = o[i].ev;
    free(o);
    return 0;
}

int spool_timeline(struct spool *s, const char *ref,
                   struct spool_timeline *out, struct errs *e)
{
    struct tl x = { out, 0, false };
    struct tl_row rows[TL_MAX_ROWS];
    size_t nrows = 0;
    out->v = NULL;
    out->n = 0;
    spool_lock(s);
    int rc = from_record(s, &x, ref, rows, &nrows, e);
    for (size_t i = 0; rc == 0 && i < nrows; i++)
        if (rows[i].id != 0
            && ((rc = from_history(s, &x, rows[i].id, rows[i].target, e)) != 0
                || (rc = from_events(s, &x, attempts_sql, SPOOL_EV_ATTEMPT,
                                     rows[i].id, NULL, "reading attempts",
                                     e)) != 0))
            break;
    if (rc == 0)
        rc = from_events(s, &x, audit_sql, SPOOL_EV_ACTION, 0, ref,
                         "reading audit", e);
    spool_unlock(s);
    if (rc == 0 && (x.nomem || sort(out) != 0)) {
        errs_add(e, ref, "out of memory reading the timeline");
        rc = -1;
    }
    if (rc != 0) {
        spool_timeline_free(out);
        return rc;
    }
    return 0;
}

void spool_timeline_free(struct spool_timeline *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++) {
        struct spool_event *ev = &t->v[i];
        free(ev->what); free(ev->actor); free(ev->client); free(ev->channel);
        free(ev->target); free(ev->outcome); free(ev->message); free(ev->file);
        free(ev->before); free(ev->after);
    }
    free(t->v);
    t->v = NULL;
    t->n = 0;
}
