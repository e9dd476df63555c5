/* report.c - the figures of `ferry report`.  See report.h; their text,
 * CSV, JSON and HTML forms are in report_render.c.
 *
 * One pass over the ledger (spool_foreach without payloads) fills a cell
 * per (service, day); the audit log is read first into a set of
 * references touched by an operator, so "completed without intervention"
 * costs one hash look-up per confirmed record.  Percentages are computed
 * in integer tenths; nothing here uses floating point. */
#include "scheduler/report.h"
#include "util/clock.h"
#include "mappings/record.h"
#include "spool/spool.h"
#include "util/buf.h"
#include "util/errs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY_MS 86400000LL
#define REASON_MAX_LEN 200
#define REASON_MAX_DISTINCT 4096

const char *report_state_name(enum report_state s)
{
    static const char *const n[] = { "in_progress", "delivered", "confirmed",
                                      "rejected", "failed", "discarded" };
    return (unsigned)s < RS_NSTATES ? n[s] : "?";
}

int report_format_parse(const char *s, enum report_format *out)
{
    static const char *const n[] = { "text", "csv", "json", "html" };
    for (int i = 0; i < 4; i++)
        if (strcmp(s, n[i]) == 0) {
            *out = (enum report_format)i;
            return 0;
        }
    return -1;
}

/* ---- small hash sets and maps ------------------------------------------- */

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

struct strmap {                    /* string -> count, open addressing */
    char **k;
    int64_t *v;
    size_t n, cap;
};

static void strmap_free(struct strmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->k ? m->k[i] : NULL);
    free(m->k);
    free(m->v);
    memset(m, 0, sizeof *m);
}

static int strmap_grow(struct strmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 256;
    char **k = calloc(cap, sizeof *k);
    int64_t *v = calloc(cap, sizeof *v);
    if (!k || !v) {
        free(k);
        free(v);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->k[i])
            continue;
        size_t j = hash_str(m->k[i]) & (cap - 1);
        while (k[j])
            j = (j + 1) & (cap - 1);
        k[j] = m->k[i];
        v[j] = m->v[i];
    }
    free(m->k);
    free(m->v);
    m->k = k;
    m->v = v;
    m->cap = cap;
    return 0;
}

/* strmap_find - the slot of key (added with 0 when add); NULL if absent
 * or out of memory */
static int64_t *strmap_find(struct strmap *m, const char *key, bool add)
{
    if (add && (m->n + 1) * 2 > m->cap && strmap_grow(m) != 0)
        return NULL;
    if (!m->cap)
        return NULL;
    size_t j = hash_str(key) & (m->cap - 1);
    while (m->k[j]) {
        if (strcmp(m->k[j], key) == 0)
            return &m->v[j];
        j = (j + 1) & (m->cap - 1);
    }
    if (!add || !(m->k[j] = strdup(key)))
        return NULL;
    m->n++;
    m->v[j] = 0;
    return &m->v[j];
}

/* ---- the pass ------------------------------------------------------------ */

struct svc_acc {
    char *name;
    struct report_day *days;       /* index: day - day0 */
    int64_t *times;                /* confirmation times (ms) */
    size_t ntimes, captimes;
};

struct batch_tally {
    int64_t id, confirmed, rejected, other;
};

struct pass {
    const struct report_opts *o;
    int64_t now, day0;             /* first day (days since epoch) */
    size_t ndays;                  /* span of days */
    struct svc_acc *svc;
    size_t nsvc;
    size_t last;                   /* cache: last service used */
    struct strmap audited;         /* refs with an audit entry */
    struct strmap reasons;
    int64_t reasons_other;
    struct batch_tally *bt;
    size_t nbt, capbt;
    size_t lastbt;
    int64_t *all_times;
    size_t nall, capall;
    bool nomem;
};

static void day_text(int64_t day, char out[11])
{
    int y, m, d;
    record_date_from_days(day, &y, &m, &d);
    unsigned uy = (unsigned)y % 10000, um = (unsigned)m % 13, ud = (unsigned)d % 32;
    snprintf(out, 11, "%04u-%02u-%02u", uy, um, ud);
}

static enum report_state bucket(enum spool_state s, bool *known)
{
    *known = true;
    switch (s) {
    case SPOOL_RECEIVED: case SPOOL_QUEUED: case SPOOL_DELIVERING:
    case SPOOL_DEFERRED: case SPOOL_BATCHED: case SPOOL_HELD:
    case SPOOL_INDOUBT:
        return RS_IN_PROGRESS;
    case SPOOL_DELIVERED: case SPOOL_SENT:
        return RS_DELIVERED;
    case SPOOL_CONFIRMED: return RS_CONFIRMED;
    case SPOOL_REJECTED:  return RS_REJECTED;
    case SPOOL_FAILED:    return RS_FAILED;
    case SPOOL_DISCARDED: return RS_DISCARDED;
    case SPOOL_NSTATES:   break;
    }
    *known = false;
    return RS_IN_PROGRESS;
}

static struct svc_acc *svc_for(struct pass *p, const char *name)
{
    if (p->nsvc && strcmp(p->svc[p->last].name, name) == 0)
        return &p->svc[p->last];
    for (size_t i = 0; i < p->nsvc; i++)
        if (strcmp(p->svc[i].name, name) == 0) {
            p->last = i;
            return &p->svc[i];
        }
    struct svc_acc *nv = realloc(p->svc, (p->nsvc + 1) * sizeof *nv);
    if (!nv)
        return NULL;
    p->svc = nv;
    struct svc_acc *s = &p->svc[p->nsvc];
    memset(s, 0, sizeof *s);
    s->name = strdup(name);
    s->days = calloc(p->ndays, sizeof *s->days);
    if (!s->name || !s->days) {
        free(s->name);
        free(s->days);
        return NULL;
    }
    p->last = p->nsvc++;
    return s;
}

static int push_time(int64_t **v, size_t *n, size_t *cap, int64_t t)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 1024;
        int64_t *nv = realloc(*v, c * sizeof *nv);
        if (!nv)
            return -1;
        *v = nv;
        *cap = c;
    }
    (*v)[(*n)++] = t;
    return 0;
}

static struct batch_tally *tally_for(struct pass *p, int64_t id)
{
    if (p->nbt && p->bt[p->lastbt].id == id)
        return &p->bt[p->lastbt];
    for (size_t i = 0; i < p->nbt; i++)
        if (p->bt[i].id == id) {
            p->lastbt = i;
            return &p->bt[i];
        }
    if (p->nbt == p->capbt) {
        size_t c = p->capbt ? p->capbt * 2 : 64;
        struct batch_tally *nv = realloc(p->bt, c * sizeof *nv);
        if (!nv)
            return NULL;
        p->bt = nv;
        p->capbt = c;
    }
    memset(&p->bt[p->nbt], 0, sizeof p->bt[0]);
    p->bt[p->nbt].id = id;
    p->lastbt = p->nbt;
    return &p->bt[p->nbt++];
}

static int take(void *vctx, const struct spool_record *r)
{
    struct pass *p = vctx;
    int64_t day = r->received_at / DAY_MS;
    if (day < p->day0 || day >= p->day0 + (int64_t)p->ndays)
        return 0;                 /* outside the span (clock skew) */
    struct svc_acc *s = svc_for(p, r->service);
    if (!s)
        goto nomem;
    struct report_day *c = &s->days[day - p->day0];
    struct report_figures *f = &c->f;
    f->received++;
    bool known;
    enum report_state b = bucket(r->state, &known);
    if (!known) {
        f->unknown_state++;
        return 0;
    }
    f->state[b]++;
    if (b != RS_CONFIRMED && b != RS_DISCARDED) {
        int64_t age = p->now - r->received_at;
        f->open++;
        f->open_age[age < DAY_MS ? RA_LT1D : age < 3 * DAY_MS ? RA_1_3D
                    : age < 7 * DAY_MS ? RA_3_7D : RA_GT7D]++;
    }
    if (b == RS_CONFIRMED) {
        int64_t t = r->updated_at - r->received_at;
        if (t < 0)
            t = 0;
        if (push_time(&s->times, &s->ntimes, &s->captimes, t) != 0 ||
            push_time(&p->all_times, &p->nall, &p->capall, t) != 0)
            goto nomem;
        if (!p->audited.cap || !strmap_find(&p->audited, r->ref, false))
            f->untouched++;
    }
    if ((b == RS_FAILED || b == RS_REJECTED)) {
        char why[REASON_MAX_LEN + 1];
        snprintf(why, sizeof why, "%s", r->last_error && *r->last_error
                 ? r->last_error : "(no message)");
        int64_t *n = strmap_find(&p->reasons, why,
                                 p->reasons.n < REASON_MAX_DISTINCT);
        if (n)
            (*n)++;
        else
            p->reasons_other++;
    }
    if (r->batch_id) {
        struct batch_tally *t = tally_for(p, r->batch_id);
        if (!t)
            goto nomem;
        if (b == RS_CONFIRMED)
            t->confirmed++;
        else if (b == RS_REJECTED)
            t->rejected++;
        else
            t->other++;
    }
    return 0;
nomem:
    p->nomem = true;
    return 1;
}

/* ---- figures ------------------------------------------------------------- */

static void fig_add(struct report_figures *a, const struct report_figures *b)
{
    a->received += b->received;
    a->rejected_at_door += b->rejected_at_door;
    a->duplicates += b->duplicates;
    a->intake_accepted += b->intake_accepted;
    for (int i = 0; i < RS_NSTATES; i++)
        a->state[i] += b->state[i];
    a->unknown_state += b->unknown_state;
    a->open += b->open;
    for (int i = 0; i < RA_N; i++)
        a->open_age[i] += b->open_age[i];
    a->untouched += b->untouched;
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return a < b ? -1 : a > b;
}

/* percentiles - nearest rank: the smallest value with at least p% of the
 * values at or below it */
static void percentiles(int64_t *v, size_t n, struct report_figures *f)
{
    f->confirm_n = (int64_t)n;
    f->confirm_median_ms = f->confirm_p95_ms = -1;
    if (!n)
        return;
    qsort(v, n, sizeof *v, cmp_i64);
    size_t m = (50 * n + 99) / 100, q = (95 * n + 99) / 100;
    f->confirm_median_ms = v[(m ? m : 1) - 1];
    f->confirm_p95_ms = v[(q ? q : 1) - 1];
}

static int cmp_reason(const void *x, const void *y)
{
    const struct report_reason *a = x, *b = y;
    if (a->n != b->n)
        return a->n > b->n ? -1 : 1;
    return strcmp(a->text, b->text);
}

static int cmp_day(const void *x, const void *y)
{
    const struct report_day *a = x, *b = y;
    int c = strcmp(a->service, b->service);
    return c ? c : strcmp(a->day, b->day);
}

void report_free(struct report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->ndays; i++)
        free(r->days[i].service);
    free(r->days);
    for (size_t i = 0; i < r->nsvc; i++)
        free(r->svc[i].service);
    free(r->svc);
    for (size_t i = 0; i < r->nreasons; i++)
        free(r->reasons[i].text);
    free(r->reasons);
    for (size_t i = 0; i < r->nbatches; i++) {
        free(r->batches[i].target);
        free(r->batches[i].file_name);
        free(r->batches[i].totals);
        free(r->batches[i].state);
    }
    free(r->batches);
    free(r->service);
    free(r);
}

/* span - the days to cover: the options, else the first day with intake
 * to today (UTC) */
static int span(struct spool *sp, const struct report_opts *o, int64_t now,
                int64_t *day0, size_t *ndays, struct errs *e)
{
    int64_t from = -1, to = now / DAY_MS;
    if (o->from && record_date_parse(o->from, &from) != 0) {
        errs_add(e, "--from", "not a date (YYYY-MM-DD): %s", o->from);
        return -1;
    }
    if (o->to && record_date_parse(o->to, &to) != 0) {
        errs_add(e, "--to", "not a date (YYYY-MM-DD): %s", o->to);
        return -1;
    }
    if (from < 0) {
        /* the first day with intake: accepted records are counted on
         * their received day, so the counters (a small table) know it
         * without scanning the ledger */
        struct spool_day_list dl = { 0 };
        if (spool_day_counts(sp, o->service, NULL, NULL, &dl, e) != 0)
            return -1;
        for (size_t i = 0; i < dl.n; i++) {
            int64_t d;
            if (record_date_parse(dl.v[i].day, &d) == 0 && (from < 0 || d < from))
                from = d;
        }
        spool_day_list_free(&dl);
        if (from < 0)
            from = to;
        if (from > to)
            to = from;
    }
    if (to < from) {
        errs_add(e, "--to", "ends before --from");
        return -1;
    }
    if (to - from > 3660) {
        errs_add(e, "--from", "a report covers at most ten years of days");
        return -1;
    }
    *day0 = from;
    *ndays = (size_t)(to - from + 1);
    return 0;
}

int report_build(struct spool *sp, const struct report_opts *o,
                 struct report **out, struct errs *e)
{
    *out = NULL;
    struct pass p;
    memset(&p, 0, sizeof p);
    p.o = o;
    if (!(p.now = o->now_ms))
        p.now = clock_wall_ms();
    struct report *r = calloc(1, sizeof *r);
    struct spool_day_list dl = { 0 };
    int rc = -1;
    if (!r)
        goto nomem;
    r->generated_at = p.now;
    if (o->service && !(r->service = strdup(o->service)))
        goto nomem;
    if (span(sp, o, p.now, &p.day0, &p.ndays, e) != 0)
        goto out;
    day_text(p.day0, r->from);
    day_text(p.day0 + (int64_t)p.ndays - 1, r->to);

    /* operator-touched references, before the pass */
    struct spool_audit_list al;
    if (spool_audit_list(sp, NULL, &al, e) != 0)
        goto out;
    for (size_t i = 0; i < al.n; i++)
        if (al.v[i].ref && *al.v[i].ref &&
            !strmap_find(&p.audited, al.v[i].ref, true))
            p.nomem = true;
    spool_audit_list_free(&al);
    if (p.nomem)
        goto nomem;

    struct spool_filter fl;
    memset(&fl, 0, sizeof fl);
    fl.service = o->service;
    fl.since = p.day0 * DAY_MS;
    fl.until = (p.day0 + (int64_t)p.ndays) * DAY_MS;
    if (spool_foreach(sp, &fl, 0, take, &p, e) < 0)
        goto out;
    if (p.nomem)
        goto nomem;

    /* intake counters: accepted, refused at the door, duplicates */
    if (spool_day_counts(sp, o->service, r->from, r->to, &dl, e) != 0)
        goto out;
    for (size_t i = 0; i < dl.n; i++) {
        int64_t d;
        if (record_date_parse(dl.v[i].day, &d) != 0 || d < p.day0 ||
            d >= p.day0 + (int64_t)p.ndays)
            continue;
        struct svc_acc *s = svc_for(&p, dl.v[i].service);
        if (!s)
            goto nomem;
        struct report_figures *f = &s->days[d - p.day0].f;
        f->rejected_at_door += dl.v[i].rejected_at_door;
        f->duplicates += dl.v[i].duplicates;
        f->intake_accepted += dl.v[i].accepted;
    }

    /* cells with anything in them, per service and in total */
    r->svc = calloc(p.nsvc ? p.nsvc : 1, sizeof *r->svc);
    if (!r->svc)
        goto nomem;
    for (size_t i = 0; i < p.nsvc; i++) {
        struct svc_acc *s = &p.svc[i];
        struct report_day *sd = &r->svc[r->nsvc++];
        if (!(sd->service = strdup(s->name)))
            goto nomem;
        for (size_t d = 0; d < p.ndays; d++) {
            struct report_figures *f = &s->days[d].f;
            if (!f->received && !f->rejected_at_door && !f->duplicates &&
                !f->intake_accepted)
                continue;
            struct report_day *nv = realloc(r->days, (r->ndays + 1) * sizeof *nv);
            if (!nv)
                goto nomem;
            r->days = nv;
            struct report_day *c = &r->days[r->ndays];
            *c = s->days[d];
            c->f.confirm_median_ms = c->f.confirm_p95_ms = -1;
            day_text(p.day0 + (int64_t)d, c->day);
            if (!(c->service = strdup(s->name)))
                goto nomem;
            r->ndays++;
            fig_add(&sd->f, f);
        }
        if (p.nsvc > 1)
            percentiles(s->times, s->ntimes, &sd->f);
        fig_add(&r->total, &sd->f);
    }
    percentiles(p.all_times, p.nall, &r->total);
    if (p.nsvc == 1) {
        r->svc[0].f.confirm_n = r->total.confirm_n;
        r->svc[0].f.confirm_median_ms = r->total.confirm_median_ms;
        r->svc[0].f.confirm_p95_ms = r->total.confirm_p95_ms;
    }
    if (r->ndays)
        qsort(r->days, r->ndays, sizeof *r->days, cmp_day);

    /* the conservation check */
    int64_t sum = r->total.unknown_state;
    for (int i = 0; i < RS_NSTATES; i++)
        sum += r->total.state[i];
    r->conservation_diff = sum - r->total.received;
    r->conserved = r->conservation_diff == 0 && r->total.unknown_state == 0;
    r->counter_diff = r->total.received - r->total.intake_accepted;

    /* top failure reasons */
    size_t top = o->top_reasons ? o->top_reasons : 10;
    struct report_reason *all = calloc(p.reasons.n + 1, sizeof *all);
    if (!all)
        goto nomem;
    size_t na = 0;
    for (size_t i = 0; i < p.reasons.cap; i++)
        if (p.reasons.k[i]) {
            all[na].text = p.reasons.k[i];
            all[na++].n = p.reasons.v[i];
        }
    if (na)
        qsort(all, na, sizeof *all, cmp_reason);
    r->reasons = calloc(top + 1, sizeof *r->reasons);
    if (!r->reasons) {
        free(all);
        goto nomem;
    }
    for (size_t i = 0; i < na && r->nreasons < top; i++) {
        r->reasons[r->nreasons].n = all[i].n;
        if (!(r->reasons[r->nreasons++].text = strdup(all[i].text))) {
            free(all);
            goto nomem;
        }
    }
    free(all);
    if (p.reasons_other) {
        r->reasons[r->nreasons].n = p.reasons_other;
        if (!(r->reasons[r->nreasons++].text = strdup("(other reasons)")))
            goto nomem;
    }

    /* batches holding records of the period */
    if (p.nbt) {
        struct spool_batch **bv = NULL;
        size_t nb = 0;
        if (spool_batch_list(sp, NULL, 0, &bv, &nb, e) != 0)
            goto out;
        r->batches = calloc(p.nbt, sizeof *r->batches);
        for (size_t i = 0; i < nb; i++) {
            struct batch_tally *t = NULL;
            for (size_t k = 0; k < p.nbt && !t; k++)
                if (p.bt[k].id == bv[i]->id)
                    t = &p.bt[k];
            if (t && r->batches && r->nbatches < p.nbt) {
                struct report_batch *b = &r->batches[r->nbatches++];
                b->id = bv[i]->id;
                b->target = strdup(bv[i]->target ? bv[i]->target : "");
                b->file_name = strdup(bv[i]->file_name ? bv[i]->file_name : "");
                b->totals = strdup(bv[i]->totals ? bv[i]->totals : "");
                b->state = strdup(spool_batch_state_name(bv[i]->state));
                snprintf(b->business_date, sizeof b->business_date, "%s",
                         bv[i]->business_date);
                b->seq = bv[i]->seq;
                b->record_count = bv[i]->record_count;
                b->sent_at = bv[i]->sent_at;
                b->confirmed = t->confirmed;
                b->rejected = t->rejected;
                b->other = t->other;
            }
            spool_batch_free(bv[i]);
        }
        free(bv);
        if (!r->batches)
            goto nomem;
    }
    rc = 0;
    goto out;
nomem:
    errs_add(e, "report", "out of memory");
out:
    spool_day_list_free(&dl);
    for (size_t i = 0; i < p.nsvc; i++) {
        free(p.svc[i].name);
        free(p.svc[i].days);
        free(p.svc[i].times);
    }
    free(p.svc);
    free(p.bt);
    free(p.all_times);
    strmap_free(&p.audited);
    strmap_free(&p.reasons);
    if (rc == 0)
        *out = r;
    else
        report_free(r);
    return rc;
}
