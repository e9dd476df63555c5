/* spool_mi.c - the narrow read behind management information: one pass
 * over the records of a period with only the columns the report counts
 * (service, channel, state, received and confirmed times, the last error
 * of a refused record) and whether an operator acted on each record.
 *
 * Why a read of its own: spool_foreach joins the payload table and copies
 * every column of every row; a report over a million records needs six
 * small columns and must take well under a second.  Nothing is copied
 * here: the row's strings are borrowed from SQLite for the callback.
 *
 * "An operator acted on it" is a set of references read from the audit
 * log first (it is small next to the records): the distinct references of
 * entries whose action is one of the caller's.
 *
 * Records retention moved to the archive are read from there too: the
 * report counts every record ever accepted. */
#include "spool/spool_int.h"
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
     * DISTINCT (the map keeps each reference once) and a unary + on ref:
     * either would steer the planner to a scan of audit_ref (a NULL ref
     * fails <> '' as well) */
    sqlite3_stmt *st = spool_stmt(s, "SELECT ref, action FROM audit "
                                  "WHERE at >= ? AND +ref <> ''", e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, since);
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *ref = (const char *)sqlite3_column_text(st, 0);
        const char *act = (const char *)sqlite3_column_text(st, 1);
        bool want = false;
        for (size_t i = 0; actions[i] && i < MI_ACTIONS_MAX && !want; i++)
            want = act && strcmp(act, actions[i]) == 0;
        if (want && ref && strmap_add(out, ref, 1, 0) < 0) {
            sqlite3_reset(st);
            errs_add(e, s->dir, "out of memory");
            return -1;
        }
    }
    sqlite3_reset(st);
    if (r != SQLITE_DONE) {
        spool_dberr(s, e, NULL, "reading the audit log");
        return -1;
    }
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
static void copy_col(sqlite3_stmt *st, int col, char *out, size_t n)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    size_t len = t ? (size_t)sqlite3_column_bytes(st, col) : 0;
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

int spool_mi_foreach(struct spool *s, const struct spool_mi_query *q,
                     int (*cb)(void *ctx, const struct spool_mi_row *row),
                     void *ctx, struct errs *e)
{
    static const char *const none[] = { NULL };
    struct strmap touched = { 0 };
    struct mi_pending p;
    sqlite3_stmt *st = NULL;
    int rc = -1;
    memset(&p, 0, sizeof p);
    spool_lock(s);
    if (touched_refs(s, q->actions ? q->actions : none, q->since, &touched,
                     e) != 0)
        goto done;
    /* last_error is decoded only for failed and rejected rows */
    /* the period by received_at (records_received), in the working
     * table and in the archive retention moved final records to (an
     * archived delivery of a record still at work is counted with it) */
    st = spool_stmt(s, "SELECT service, channel, state, received_at, "
                    "confirmed_at, ref, last_error, target FROM records WHERE "
                    "received_at >= ?1 AND received_at < ?2 AND "
                    "(?3 IS NULL OR service = ?3) UNION ALL "
                    "SELECT service, channel, state, received_at, "
                    "confirmed_at, ref, last_error, target FROM records_archive a "
                    "WHERE received_at >= ?1 AND received_at < ?2 AND "
                    "(?3 IS NULL OR service = ?3) AND NOT EXISTS (SELECT 1 "
                    "FROM records w WHERE w.ref = a.ref)", e);
    if (!st)
        goto done;
    sqlite3_bind_int64(st, 1, q->since);
    sqlite3_bind_int64(st, 2, q->until);
    sqlite3_bind_text(st, 3, q->service, -1, SQLITE_STATIC);
    int step;
    char last_ch[16] = "";
    enum spool_channel ch = SPOOL_CH_UNKNOWN;
    rc = 0;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *ref = (const char *)sqlite3_column_text(st, 5);
        if (!ref)
            ref = "";
        enum spool_state one = SPOOL_RECEIVED;
        bool known = state_of((const char *)sqlite3_column_text(st, 2), &one);
        const char *err = known && (one == SPOOL_FAILED
                                    || one == SPOOL_REJECTED)
                          ? (const char *)sqlite3_column_text(st, 6) : NULL;
        int64_t confirmed = sqlite3_column_int64(st, 4);
        if (p.have && strcmp(p.ref, ref) == 0) {
            /* another delivery of the record being gathered */
            if (p.nst < sizeof p.st / sizeof p.st[0] && known) {
                copy_col(st, 7, p.tg[p.nst], sizeof p.tg[0]);
                p.st[p.nst++] = one;
            }
            p.unknown = p.unknown || !known;
            if (confirmed > p.row.confirmed_at)
                p.row.confirmed_at = confirmed;
            if (err && !p.last_error)
                p.last_error = strdup(err);
            continue;
        }
        int stop = pending_flush(&p, cb, ctx);
        if (stop) {
            rc = stop;
            break;
        }
        memset(&p.row, 0, sizeof p.row);
        p.have = true;
        p.nst = 0;
        p.unknown = !known;
        if (known) {
            copy_col(st, 7, p.tg[0], sizeof p.tg[0]);
            p.st[p.nst++] = one;
        }
        copy_col(st, 0, p.service, sizeof p.service);
        copy_col(st, 5, p.ref, sizeof p.ref);
        const char *cht = (const char *)sqlite3_column_text(st, 1);
        if (!cht)
            cht = "";
        if (strcmp(cht, last_ch) != 0) {  /* runs of one channel are usual */
            if (spool_channel_parse(cht, &ch) != 0)
                ch = SPOOL_CH_UNKNOWN;
            size_t n = strlen(cht);
            if (n >= sizeof last_ch)
                n = 0;
            memcpy(last_ch, cht, n);
            last_ch[n] = '\0';
        }
        p.row.channel = ch;
        p.row.received_at = sqlite3_column_int64(st, 3);
        p.row.confirmed_at = confirmed;
        p.row.touched = touched.n && strmap_get(&touched, ref);
        p.last_error = err ? strdup(err) : NULL;
    }
    if (rc == 0 && step != SQLITE_DONE) {
        spool_dberr(s, e, NULL, "reading records for the report");
        rc = -1;
    }
    if (rc == 0)
        rc = pending_flush(&p, cb, ctx);
done:
    if (st)
        sqlite3_reset(st);
    spool_unlock(s);
    free(p.last_error);
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
    int rc = -1, step;
    size_t cap = 0;
    out->v = NULL;
    out->n = 0;
    spool_lock(s);
    /* counter_totals: the counters over all days, one row per service
     * and name (schema v13), however long the history */
    sqlite3_stmt *st = spool_stmt(s, "SELECT service, substr(name, 10), "
                                  "sum(value) FROM counter_totals WHERE name "
                                  "LIKE 'accepted:%' GROUP BY 1, 2 "
                                  "ORDER BY 1, 2", e);
    if (!st)
        goto done;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
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
        if (spool_channel_parse((const char *)sqlite3_column_text(st, 1),
                                &c->channel) != 0)
            c->channel = SPOOL_CH_UNKNOWN;
        c->n = sqlite3_column_int64(st, 2);
        if (!(c->service = spool_col_strdup(st, 0))) {
            errs_add(e, s->dir, "out of memory");
            goto done;
        }
        out->n++;
    }
    if (step != SQLITE_DONE) {
        spool_dberr(s, e, NULL, "reading channel counters");
        goto done;
    }
    rc = 0;
done:
    if (st)
        sqlite3_reset(st);
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
