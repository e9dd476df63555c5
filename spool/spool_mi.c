/* spool_mi.c - the narrow read behind management information: one pass
 * over the records of a period with only the columns the report counts
 * (service, channel, state, received and confirmed times, the last error
 * of a refused record) and whether an operator acted on each record.
 *
 * Why a read of its own: spool_foreach joins the payload table and copies
 * every column of every row; a report over a million records needs six
 * small columns and must take well under a second.  Nothing is copied
 * here: the row's strings are borrowed from the statement layer for the
 * callback.  The same SQL runs on SQLite and PostgreSQL (sql.h), the
 * long reads in keyset pages (spool_page_rows).
 *
 * "An operator acted on it" is a set of references read from the audit
 * log first (it is small next to the records): the distinct references of
 * entries whose action is one of the caller's.
 *
 * Records retention moved to the archive are read from there too: the
 * report counts every record ever accepted. */
#include "spool/spool_int.h"
#include "spool/sql.h"
#include "util/errs.h"
#include "util/strmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MI_ACTIONS_MAX 16

/* touched_refs - references with an audit entry whose action is one of
 * actions (NULL-terminated) */
static int touched_refs(struct spool *s, const char *const *actions,
                        int64_t since, struct strmap *out, struct errs *e)
{
    /* an action on a record comes after it was received: only entries
     * from the period's first moment on can name one of its records
     * (audit_at), so a day's report does not read years of audit.  No
     * DISTINCT (the map keeps each reference once), and the order of
     * audit_at itself (at, id), which is also the keyset of the pages:
     * either keeps the planner off a scan of audit_ref (a NULL ref fails
     * <> '' as well) */
    struct sql_stmt *st = spool_sql(s, "SELECT ref, action, at, id FROM "
                                    "audit WHERE at >= ?1 AND ref <> '' AND "
                                    "(at, id) > (?2, ?3) ORDER BY at, id "
                                    "LIMIT ?4", e);
    if (!st)
        return -1;
    size_t page = spool_page_rows(s), got;
    int64_t at = since, id = -1;
    enum sql_step r;
    sql_bind_int64(st, 1, since);
    sql_bind_int64(st, 4, (int64_t)page);
    do {
        got = 0;
        sql_bind_int64(st, 2, at);
        sql_bind_int64(st, 3, id);
        while ((r = sql_step(st)) == SQL_STEP_ROW) {
            const char *ref = sql_col_text(st, 0);
            const char *act = sql_col_text(st, 1);
            got++;
            at = sql_col_int64(st, 2);
            id = sql_col_int64(st, 3);
            bool want = false;
            for (size_t i = 0; actions[i] && i < MI_ACTIONS_MAX && !want; i++)
                want = act && strcmp(act, actions[i]) == 0;
            if (want && ref && strmap_add(out, ref, 1, 0) < 0) {
                sql_reset(st);
                errs_add(e, s->dir, "out of memory");
                return -1;
            }
        }
        sql_reset(st);
        if (r != SQL_STEP_DONE) {
            spool_sqlerr(s, e, NULL, "reading the audit log");
            return -1;
        }
    } while (got == page);
    return 0;
}

/* state_of - the state column's text to the enum, with one comparison:
 * the letters at 0, 2 and 7 tell the names apart, then the whole name
 * is checked.  A million rows make this worth it.  false when unknown. */
static bool state_of(const char *t, enum spool_state *out)
{
    enum spool_state c;
    if (!t || !t[0] || !t[1])
        return false;
    switch (t[0]) {
    case 'r': c = t[2] == 'c' ? SPOOL_RECEIVED : SPOOL_REJECTED; break;
    case 'q': c = SPOOL_QUEUED; break;
    case 'c': c = SPOOL_CONFIRMED; break;
    case 'b': c = SPOOL_BATCHED; break;
    case 's': c = SPOOL_SENT; break;
    case 'h': c = SPOOL_HELD; break;
    case 'f': c = SPOOL_FAILED; break;
    case 'i': c = SPOOL_INDOUBT; break;
    case 'd':
        if (t[2] == 'f')
            c = SPOOL_DEFERRED;
        else if (t[2] == 's')
            c = SPOOL_DISCARDED;
        else
            c = strlen(t) > 7 && t[7] == 'i' ? SPOOL_DELIVERING
                                              : SPOOL_DELIVERED;
        break;
    default:
        return spool_state_parse(t, out) == 0;
    }
    if (strcmp(t, spool_state_name(c)) != 0)
        return spool_state_parse(t, out) == 0;
    *out = c;
    return true;
}

/* A record being gathered: its deliveries' rows come one after another
 * (they share received_at and were stored together, so the received
 * index holds them side by side), and the record is handed on once, in
 * its overall state, when a row of another record comes. */
struct mi_pending {
    bool have;
    struct spool_mi_row row;
    char service[128], ref[SPOOL_REF_MAX];
    char *last_error;
    enum spool_state st[16];
    char tg[16][128];
    const char *tgp[16];
    size_t nst;
    bool unknown;                  /* a delivery in a state we cannot name */
};

/* copy_col - column col's text into out (n bytes), cut to fit; a
 * million rows make snprintf's format parsing worth avoiding */
static void copy_col(struct sql_stmt *st, int col, char *out, size_t n)
{
    const char *t = sql_col_text(st, col);
    size_t len = t ? strlen(t) : 0;
    if (len >= n)
        len = n - 1;
    if (len)
        memcpy(out, t, len);
    out[len] = '\0';
}

/* pending_flush - hand the gathered record to cb; its return */
static int pending_flush(struct mi_pending *p,
                         int (*cb)(void *ctx, const struct spool_mi_row *row),
                         void *ctx)
{
    if (!p->have)
        return 0;
    p->have = false;
    p->row.state_known = !p->unknown;
    p->row.state = spool_overall_state(p->st, p->nst);
    for (size_t i = 0; i < p->nst; i++)
        p->tgp[i] = p->tg[i];
    p->row.ndeliveries = p->nst;
    p->row.targets = p->tgp;
    p->row.dstates = p->st;
    p->row.service = p->service;
    p->row.last_error = p->row.state == SPOOL_FAILED
                        || p->row.state == SPOOL_REJECTED ? p->last_error
                                                          : NULL;
    int r = cb(ctx, &p->row);
    free(p->last_error);
    p->last_error = NULL;
    return r;
}

/* The period's rows by received_at (records_received, and
 * records_archive_received for the archive retention moved final records
 * to; an archived delivery of a record still at work is counted with
 * it), in keyset pages on (received_at, id), the indexes' own order.
 * last_error is decoded only for failed and rejected rows. */
#define MI_COLS "service, channel, state, received_at, confirmed_at, ref, " \
    "last_error, target, id"
#define MI_PAGE "received_at >= ?1 AND received_at < ?2 AND " \
    "(CAST(?3 AS TEXT) IS NULL OR service = ?3) AND " \
    "(received_at, id) > (?4, ?5)"
static const char *const mi_sql[2] = {
    "SELECT " MI_COLS " FROM records WHERE " MI_PAGE
    " ORDER BY received_at, id LIMIT ?6",
    "SELECT " MI_COLS " FROM records_archive a WHERE " MI_PAGE
    " AND NOT EXISTS (SELECT 1 FROM records w WHERE w.ref = a.ref)"
    " ORDER BY received_at, id LIMIT ?6",
};

/* The walk over the rows: the record being gathered, and the channel of
 * the last row (runs of one channel are usual). */
struct mi_walk {
    struct mi_pending p;
    const struct strmap *touched;
    char last_ch[16];
    enum spool_channel ch;
    int (*cb)(void *ctx, const struct spool_mi_row *row);
    void *ctx;
};

/* mi_row - one row of mi_sql into the walk; cb's return when it stops */
static int mi_row(struct mi_walk *w, struct sql_stmt *st)
{
    struct mi_pending *p = &w->p;
    const char *ref = sql_col_text(st, 5);
    if (!ref)
        ref = "";
    enum spool_state one = SPOOL_RECEIVED;
    bool known = state_of(sql_col_text(st, 2), &one);
    const char *err = known && (one == SPOOL_FAILED || one == SPOOL_REJECTED)
                      ? sql_col_text(st, 6) : NULL;
    int64_t confirmed = sql_col_int64(st, 4);
    if (p->have && strcmp(p->ref, ref) == 0) {
        /* another delivery of the record being gathered */
        if (p->nst < sizeof p->st / sizeof p->st[0] && known) {
            copy_col(st, 7, p->tg[p->nst], sizeof p->tg[0]);
            p->st[p->nst++] = one;
        }
        p->unknown = p->unknown || !known;
        if (confirmed > p->row.confirmed_at)
            p->row.confirmed_at = confirmed;
        if (err && !p->last_error)
            p->last_error = strdup(err);
        return 0;
    }
    int stop = pending_flush(p, w->cb, w->ctx);
    if (stop)
        return stop;
    memset(&p->row, 0, sizeof p->row);
    p->have = true;
    p->nst = 0;
    p->unknown = !known;
    if (known) {
        copy_col(st, 7, p->tg[0], sizeof p->tg[0]);
        p->st[p->nst++] = one;
    }
    copy_col(st, 0, p->service, sizeof p->service);
    copy_col(st, 5, p->ref, sizeof p->ref);
    const char *cht = sql_col_text(st, 1);
    if (!cht)
        cht = "";
    if (strcmp(cht, w->last_ch) != 0) {
        if (spool_channel_parse(cht, &w->ch) != 0)
            w->ch = SPOOL_CH_UNKNOWN;
        size_t n = strlen(cht);
        if (n >= sizeof w->last_ch)
            n = 0;
        memcpy(w->last_ch, cht, n);
        w->last_ch[n] = '\0';
    }
    p->row.channel = w->ch;
    p->row.received_at = sql_col_int64(st, 3);
    p->row.confirmed_at = confirmed;
    p->row.touched = w->touched->n && strmap_get(w->touched, ref);
    p->last_error = err ? strdup(err) : NULL;
    return 0;
}

int spool_mi_foreach(struct spool *s, const struct spool_mi_query *q,
                     int (*cb)(void *ctx, const struct spool_mi_row *row),
                     void *ctx, struct errs *e)
{
    static const char *const none[] = { NULL };
    struct strmap touched = { 0 };
    struct mi_walk w;
    int rc = -1;
    memset(&w, 0, sizeof w);
    w.touched = &touched;
    w.ch = SPOOL_CH_UNKNOWN;
    w.cb = cb;
    w.ctx = ctx;
    spool_lock(s);
    if (touched_refs(s, q->actions ? q->actions : none, q->since, &touched,
                     e) != 0)
        goto done;
    size_t page = spool_page_rows(s);
    rc = 0;
    for (int k = 0; rc == 0 && k < 2; k++) {
        struct sql_stmt *st = spool_sql(s, mi_sql[k], e);
        if (!st) {
            rc = -1;
            break;
        }
        sql_bind_int64(st, 1, q->since);
        sql_bind_int64(st, 2, q->until);
        sql_bind_text(st, 3, q->service);
        sql_bind_int64(st, 6, (int64_t)page);
        int64_t at = q->since, id = -1;
        size_t got;
        do {
            enum sql_step step;
            got = 0;
            sql_bind_int64(st, 4, at);
            sql_bind_int64(st, 5, id);
            while ((step = sql_step(st)) == SQL_STEP_ROW) {
                got++;
                at = sql_col_int64(st, 3);
                id = sql_col_int64(st, 8);
                if ((rc = mi_row(&w, st)) != 0)
                    break;
            }
            if (rc == 0 && step != SQL_STEP_DONE) {
                spool_sqlerr(s, e, NULL, "reading records for the report");
                rc = -1;
            }
            sql_reset(st);
        } while (rc == 0 && got == page);
    }
    if (rc == 0)
        rc = pending_flush(&w.p, cb, ctx);
done:
    spool_unlock(s);
    free(w.p.last_error);
    strmap_free(&touched);
    return rc;
}

enum spool_mi_outcome spool_mi_outcome_of(enum spool_state st)
{
    switch (st) {
    case SPOOL_CONFIRMED: return SPOOL_MI_CONFIRMED;
    case SPOOL_DELIVERED: case SPOOL_SENT: return SPOOL_MI_AWAITING;
    case SPOOL_REJECTED:  return SPOOL_MI_REJECTED;
    case SPOOL_FAILED:    return SPOOL_MI_FAILED;
    case SPOOL_DISCARDED: return SPOOL_MI_DISCARDED;
    case SPOOL_RECEIVED: case SPOOL_QUEUED: case SPOOL_DELIVERING:
    case SPOOL_DEFERRED: case SPOOL_BATCHED: case SPOOL_HELD:
    case SPOOL_INDOUBT: case SPOOL_NSTATES:
        break;
    }
    return SPOOL_MI_IN_PROGRESS;
}

const char *spool_mi_outcome_name(enum spool_mi_outcome o)
{
    static const char *const n[SPOOL_MI_NOUTCOMES] = {
        "confirmed", "awaiting_confirmation", "in_progress", "rejected",
        "failed", "discarded",
    };
    return (unsigned)o < SPOOL_MI_NOUTCOMES ? n[o] : "?";
}

int spool_channel_counts(struct spool *s, struct spool_channel_counts *out,
                         struct errs *e)
{
    int rc = -1;
    enum sql_step step;
    size_t cap = 0;
    out->v = NULL;
    out->n = 0;
    spool_lock(s);
    /* counter_totals: the counters over all days, one row per service
     * and name (schema v13), however long the history */
    struct sql_stmt *st = spool_sql(s, "SELECT service, substr(name, 10), "
                                    "sum(value) FROM counter_totals WHERE "
                                    "name LIKE 'accepted:%' GROUP BY 1, 2 "
                                    "ORDER BY 1, 2", e);
    if (!st)
        goto done;
    while ((step = sql_step(st)) == SQL_STEP_ROW) {
        if (out->n == cap) {
            cap = cap ? cap * 2 : 16;
            struct spool_channel_count *v = realloc(out->v, cap * sizeof *v);
            if (!v) {
                errs_add(e, s->dir, "out of memory");
                goto done;
            }
            out->v = v;
        }
        struct spool_channel_count *c = &out->v[out->n];
        if (spool_channel_parse(sql_col_text(st, 1), &c->channel) != 0)
            c->channel = SPOOL_CH_UNKNOWN;
        c->n = sql_col_int64(st, 2);
        if (!(c->service = sql_col_strdup(st, 0))) {
            errs_add(e, s->dir, "out of memory");
            goto done;
        }
        out->n++;
    }
    if (step != SQL_STEP_DONE) {
        spool_sqlerr(s, e, NULL, "reading channel counters");
        goto done;
    }
    rc = 0;
done:
    if (st)
        sql_reset(st);
    spool_unlock(s);
    if (rc != 0)
        spool_channel_counts_free(out);
    return rc;
}

void spool_channel_counts_free(struct spool_channel_counts *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        free(c->v[i].service);
    free(c->v);
    c->v = NULL;
    c->n = 0;
}
