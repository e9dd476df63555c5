/* report.c - the figures of `ferry report` and their text, CSV, JSON and
 * HTML forms.  See report.h.
 *
 * One pass over the ledger (spool_foreach without payloads) fills a cell
 * per (service, day); the audit log is read first into a set of
 * references touched by an operator, so "completed without intervention"
 * costs one hash look-up per confirmed record.  Percentages are computed
 * in integer tenths; nothing here uses floating point. */
#include "scheduler/report.h"
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
    date_from_days(day, &y, &m, &d);
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
    if (o->from && date_parse(o->from, &from) != 0) {
        errs_add(e, "--from", "not a date (YYYY-MM-DD): %s", o->from);
        return -1;
    }
    if (o->to && date_parse(o->to, &to) != 0) {
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
            if (date_parse(dl.v[i].day, &d) == 0 && (from < 0 || d < from))
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
    if (!(p.now = o->now_ms)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        p.now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    }
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
        if (date_parse(dl.v[i].day, &d) != 0 || d < p.day0 ||
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

/* ---- rendering ------------------------------------------------------------ */

/* pct - a/b as "12.3%" in integer tenths; "-" when b is 0 */
static void pct(int64_t a, int64_t b, char *out, size_t outsz)
{
    if (b <= 0) {
        snprintf(out, outsz, "-");
        return;
    }
    int64_t t = (a * 1000 + b / 2) / b;
    snprintf(out, outsz, "%lld.%lld%%", (long long)(t / 10), (long long)(t % 10));
}

/* dur - milliseconds as "2d 03:04:05" / "03:04:05"; "-" when < 0 */
static void dur(int64_t ms, char *out, size_t outsz)
{
    if (ms < 0) {
        snprintf(out, outsz, "-");
        return;
    }
    int64_t s = ms / 1000, d = s / 86400;
    s %= 86400;
    if (d)
        snprintf(out, outsz, "%lldd %02lld:%02lld:%02lld", (long long)d,
                 (long long)(s / 3600), (long long)(s / 60 % 60),
                 (long long)(s % 60));
    else
        snprintf(out, outsz, "%02lld:%02lld:%02lld", (long long)(s / 3600),
                 (long long)(s / 60 % 60), (long long)(s % 60));
}

static const char *const age_names[RA_N] = { "<1 day", "1-3 days",
                                             "3-7 days", ">7 days" };
static const char *const state_titles[RS_NSTATES] = {
    "in progress", "delivered", "confirmed", "rejected", "failed", "discarded"
};

static int render_text(const struct report *r, struct buf *b)
{
    char t[64], m[32], p95[32], sh[32];
    time_t gt = (time_t)(r->generated_at / 1000);
    struct tm tm;
    gmtime_r(&gt, &tm);
    strftime(t, sizeof t, "%Y-%m-%d %H:%M:%S UTC", &tm);
    buf_printf(b, "ferry report %s to %s%s%s (generated %s)\n\n", r->from,
               r->to, r->service ? ", service " : "",
               r->service ? r->service : "", t);
    buf_printf(b, "%-20s %-10s %8s %7s %6s %8s %9s %9s %8s %7s %9s %7s\n",
               "SERVICE", "DAY", "RECEIVED", "AT-DOOR", "DUPS", "PROGRESS",
               "DELIVERED", "CONFIRMED", "REJECTED", "FAILED", "DISCARDED",
               "OPEN");
    for (size_t i = 0; i < r->ndays; i++) {
        const struct report_figures *f = &r->days[i].f;
        buf_printf(b, "%-20s %-10s %8lld %7lld %6lld %8lld %9lld %9lld %8lld "
                   "%7lld %9lld %7lld\n", r->days[i].service, r->days[i].day,
                   (long long)f->received, (long long)f->rejected_at_door,
                   (long long)f->duplicates,
                   (long long)f->state[RS_IN_PROGRESS],
                   (long long)f->state[RS_DELIVERED],
                   (long long)f->state[RS_CONFIRMED],
                   (long long)f->state[RS_REJECTED],
                   (long long)f->state[RS_FAILED],
                   (long long)f->state[RS_DISCARDED], (long long)f->open);
    }
    buf_printf(b, "\nPer service (whole period):\n");
    for (size_t i = 0; i <= r->nsvc; i++) {
        const struct report_figures *f = i < r->nsvc ? &r->svc[i].f : &r->total;
        const char *name = i < r->nsvc ? r->svc[i].service : "ALL SERVICES";
        dur(f->confirm_median_ms, m, sizeof m);
        dur(f->confirm_p95_ms, p95, sizeof p95);
        pct(f->untouched, f->state[RS_CONFIRMED], sh, sizeof sh);
        buf_printf(b, "  %s: received %lld, confirmed %lld, rejected %lld, "
                   "failed %lld, discarded %lld, open %lld (%s %lld, %s %lld, "
                   "%s %lld, %s %lld)\n"
                   "    received to confirmed: median %s, 95th percentile %s "
                   "(%lld timed)\n    completed without intervention: %s "
                   "(%lld of %lld confirmed)\n",
                   name, (long long)f->received,
                   (long long)f->state[RS_CONFIRMED],
                   (long long)f->state[RS_REJECTED],
                   (long long)f->state[RS_FAILED],
                   (long long)f->state[RS_DISCARDED], (long long)f->open,
                   age_names[0], (long long)f->open_age[0], age_names[1],
                   (long long)f->open_age[1], age_names[2],
                   (long long)f->open_age[2], age_names[3],
                   (long long)f->open_age[3], m, p95, (long long)f->confirm_n,
                   sh, (long long)f->untouched,
                   (long long)f->state[RS_CONFIRMED]);
    }
    buf_printf(b, "  (confirmation time is taken from the record's last "
               "change: the ledger keeps no separate confirmed-at time)\n");
    if (r->nreasons) {
        buf_printf(b, "\nTop failure reasons:\n");
        for (size_t i = 0; i < r->nreasons; i++)
            buf_printf(b, "  %7lld  %s\n", (long long)r->reasons[i].n,
                       r->reasons[i].text);
    }
    if (r->nbatches) {
        buf_printf(b, "\nBatches:\n");
        for (size_t i = 0; i < r->nbatches; i++) {
            const struct report_batch *x = &r->batches[i];
            buf_printf(b, "  %s %s #%d %s: %lld records [%s] %s; now "
                       "confirmed %lld, rejected %lld, other %lld\n",
                       x->target, x->business_date, x->seq,
                       *x->file_name ? x->file_name : "(no file yet)",
                       (long long)x->record_count, x->totals, x->state,
                       (long long)x->confirmed, (long long)x->rejected,
                       (long long)x->other);
        }
    }
    buf_printf(b, "\nManagement information:\n  transactions received: %lld"
               "\n  completed without intervention: ", (long long)r->total.received);
    pct(r->total.untouched, r->total.state[RS_CONFIRMED], sh, sizeof sh);
    dur(r->total.confirm_median_ms, m, sizeof m);
    dur(r->total.confirm_p95_ms, p95, sizeof p95);
    buf_printf(b, "%s\n  time to completion: median %s, 95th percentile %s\n",
               sh, m, p95);
    if (r->conserved)
        buf_printf(b, "\nConservation: OK - all %lld received records are in "
                   "exactly one state\n", (long long)r->total.received);
    else
        buf_printf(b, "\n*** CONSERVATION CHECK FAILED: states add up to %lld "
                   "more than received (%lld in an unknown state) ***\n",
                   (long long)r->conservation_diff,
                   (long long)r->total.unknown_state);
    if (r->counter_diff)
        buf_printf(b, "*** intake counter says %lld accepted; the ledger holds "
                   "%lld received (difference %lld) ***\n",
                   (long long)r->total.intake_accepted,
                   (long long)r->total.received, (long long)r->counter_diff);
    return b->data ? 0 : -1;
}

static void csv_field(struct buf *b, const char *s)
{
    buf_putc(b, '"');
    for (; *s; s++) {
        if (*s == '"')
            buf_putc(b, '"');
        buf_putc(b, *s);
    }
    buf_putc(b, '"');
}

static int render_csv(const struct report *r, struct buf *b)
{
    buf_puts(b, "service,day,received,rejected_at_door,duplicates,in_progress,"
             "delivered,confirmed,rejected,failed,discarded,open,open_lt_1d,"
             "open_1_3d,open_3_7d,open_gt_7d,completed_without_intervention\r\n");
    for (size_t i = 0; i < r->ndays; i++) {
        const struct report_figures *f = &r->days[i].f;
        csv_field(b, r->days[i].service);
        buf_printf(b, ",%s,%lld,%lld,%lld", r->days[i].day,
                   (long long)f->received, (long long)f->rejected_at_door,
                   (long long)f->duplicates);
        for (int k = 0; k < RS_NSTATES; k++)
            buf_printf(b, ",%lld", (long long)f->state[k]);
        buf_printf(b, ",%lld", (long long)f->open);
        for (int k = 0; k < RA_N; k++)
            buf_printf(b, ",%lld", (long long)f->open_age[k]);
        buf_printf(b, ",%lld\r\n", (long long)f->untouched);
    }
    return b->data ? 0 : -1;
}

/* json_str - a JSON string literal */
static void json_str(struct buf *b, const char *s)
{
    buf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            buf_printf(b, "\\%c", *p);
        else if (*p < 0x20)
            buf_printf(b, "\\u%04x", *p);
        else
            buf_putc(b, (char)*p);
    }
    buf_putc(b, '"');
}

static void json_fig(struct buf *b, const struct report_figures *f)
{
    buf_printf(b, "\"received\":%lld,\"rejected_at_door\":%lld,"
               "\"duplicates\":%lld,\"intake_accepted\":%lld",
               (long long)f->received, (long long)f->rejected_at_door,
               (long long)f->duplicates, (long long)f->intake_accepted);
    for (int k = 0; k < RS_NSTATES; k++)
        buf_printf(b, ",\"%s\":%lld", report_state_name((enum report_state)k),
                   (long long)f->state[k]);
    buf_printf(b, ",\"unknown_state\":%lld,\"open\":%lld,\"open_by_age\":"
               "{\"lt_1d\":%lld,\"1_3d\":%lld,\"3_7d\":%lld,\"gt_7d\":%lld},"
               "\"completed_without_intervention\":%lld",
               (long long)f->unknown_state, (long long)f->open,
               (long long)f->open_age[0], (long long)f->open_age[1],
               (long long)f->open_age[2], (long long)f->open_age[3],
               (long long)f->untouched);
    if (f->confirm_median_ms >= 0)
        buf_printf(b, ",\"confirmations_timed\":%lld,\"confirm_median_ms\":%lld,"
                   "\"confirm_p95_ms\":%lld", (long long)f->confirm_n,
                   (long long)f->confirm_median_ms,
                   (long long)f->confirm_p95_ms);
}

static int render_json(const struct report *r, struct buf *b)
{
    buf_printf(b, "{\"from\":\"%s\",\"to\":\"%s\",\"service\":", r->from, r->to);
    if (r->service)
        json_str(b, r->service);
    else
        buf_puts(b, "null");
    buf_printf(b, ",\"generated_at_ms\":%lld,\"confirm_time_source\":"
               "\"updated_at\",\"days\":[", (long long)r->generated_at);
    for (size_t i = 0; i < r->ndays; i++) {
        buf_puts(b, i ? ",{\"service\":" : "{\"service\":");
        json_str(b, r->days[i].service);
        buf_printf(b, ",\"day\":\"%s\",", r->days[i].day);
        json_fig(b, &r->days[i].f);
        buf_putc(b, '}');
    }
    buf_puts(b, "],\"services\":[");
    for (size_t i = 0; i < r->nsvc; i++) {
        buf_puts(b, i ? ",{\"service\":" : "{\"service\":");
        json_str(b, r->svc[i].service);
        buf_putc(b, ',');
        json_fig(b, &r->svc[i].f);
        buf_putc(b, '}');
    }
    buf_puts(b, "],\"total\":{");
    json_fig(b, &r->total);
    buf_puts(b, "},\"top_failure_reasons\":[");
    for (size_t i = 0; i < r->nreasons; i++) {
        buf_puts(b, i ? ",{\"reason\":" : "{\"reason\":");
        json_str(b, r->reasons[i].text);
        buf_printf(b, ",\"records\":%lld}", (long long)r->reasons[i].n);
    }
    buf_puts(b, "],\"batches\":[");
    for (size_t i = 0; i < r->nbatches; i++) {
        const struct report_batch *x = &r->batches[i];
        buf_printf(b, "%s{\"id\":%lld,\"target\":", i ? "," : "", (long long)x->id);
        json_str(b, x->target);
        buf_printf(b, ",\"business_date\":\"%s\",\"seq\":%d,\"file\":",
                   x->business_date, x->seq);
        json_str(b, x->file_name);
        buf_printf(b, ",\"records\":%lld,\"totals\":", (long long)x->record_count);
        json_str(b, x->totals);
        buf_printf(b, ",\"state\":\"%s\",\"sent_at_ms\":%lld,\"confirmed\":%lld,"
                   "\"rejected\":%lld,\"other\":%lld}", x->state,
                   (long long)x->sent_at, (long long)x->confirmed,
                   (long long)x->rejected, (long long)x->other);
    }
    buf_printf(b, "],\"conservation\":{\"ok\":%s,\"difference\":%lld,"
               "\"intake_counter_difference\":%lld}}\n",
               r->conserved ? "true" : "false",
               (long long)r->conservation_diff, (long long)r->counter_diff);
    return b->data ? 0 : -1;
}

/* ---- HTML ------------------------------------------------------------------ */

static void html(struct buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<':  buf_puts(b, "&lt;"); break;
        case '>':  buf_puts(b, "&gt;"); break;
        case '&':  buf_puts(b, "&amp;"); break;
        case '"':  buf_puts(b, "&quot;"); break;
        case '\'': buf_puts(b, "&#39;"); break;
        default:   buf_putc(b, *s);
        }
    }
}

static const char *const colours[RS_NSTATES] = {
    "#1d70b8", "#5694ca", "#00703c", "#d4351c", "#f47738", "#505a5f"
};

/* svg_bars - a labelled vertical bar chart; values and labels n long */
static void svg_bars(struct buf *b, const char *title, const int64_t *v,
                     const char *const *labels, size_t n, const char *colour)
{
    const int W = 760, H = 220, top = 20, base = 180, left = 50;
    int64_t max = 1;
    for (size_t i = 0; i < n; i++)
        if (v[i] > max)
            max = v[i];
    buf_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
               "height=\"%d\" role=\"img\" aria-label=\"", W, H);
    html(b, title);
    buf_printf(b, "\"><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
               "stroke=\"#0b0c0c\"/>", left, base, W - 10, base);
    buf_printf(b, "<text x=\"4\" y=\"%d\" font-size=\"11\">%lld</text>",
               top + 4, (long long)max);
    if (!n) {
        buf_puts(b, "<text x=\"60\" y=\"100\">no records</text></svg>");
        return;
    }
    int slot = (W - left - 20) / (int)(n > 0 ? n : 1);
    if (slot < 1)
        slot = 1;
    int bw = slot > 4 ? slot * 7 / 10 : slot;
    for (size_t i = 0; i < n; i++) {
        int h = (int)(v[i] * (base - top) / max);
        int x = left + (int)i * slot + (slot - bw) / 2;
        buf_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
                   "fill=\"%s\"><title>", x, base - h, bw, h, colour);
        html(b, labels[i]);
        buf_printf(b, ": %lld</title></rect>", (long long)v[i]);
        if (n <= 16 || i % ((n + 15) / 16) == 0) {
            buf_printf(b, "<text x=\"%d\" y=\"%d\" font-size=\"10\" "
                       "text-anchor=\"middle\">", x + bw / 2, base + 14);
            html(b, labels[i]);
            buf_puts(b, "</text>");
        }
        if (n <= 16)
            buf_printf(b, "<text x=\"%d\" y=\"%d\" font-size=\"10\" "
                       "text-anchor=\"middle\">%lld</text>", x + bw / 2,
                       base - h - 3, (long long)v[i]);
    }
    buf_puts(b, "</svg>\n");
}

/* svg_mix - one stacked horizontal bar of the outcome mix, with a legend */
static void svg_mix(struct buf *b, const struct report_figures *f)
{
    const int W = 760, bar = 700;
    int64_t tot = 0;
    for (int k = 0; k < RS_NSTATES; k++)
        tot += f->state[k];
    buf_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
               "height=\"110\" role=\"img\" aria-label=\"outcome mix\">", W);
    int x = 20;
    for (int k = 0; k < RS_NSTATES && tot; k++) {
        int w = (int)(f->state[k] * bar / tot);
        if (!w && f->state[k])
            w = 1;
        buf_printf(b, "<rect x=\"%d\" y=\"10\" width=\"%d\" height=\"40\" "
                   "fill=\"%s\"><title>%s: %lld</title></rect>", x, w,
                   colours[k], state_titles[k], (long long)f->state[k]);
        x += w;
    }
    for (int k = 0; k < RS_NSTATES; k++) {
        int lx = 20 + (k % 3) * 240, ly = 62 + (k / 3) * 20;
        char p[32];
        pct(f->state[k], tot, p, sizeof p);
        buf_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" "
                   "fill=\"%s\"/><text x=\"%d\" y=\"%d\" font-size=\"11\">"
                   "%s %lld (%s)</text>", lx, ly, colours[k], lx + 16, ly + 11,
                   state_titles[k], (long long)f->state[k], p);
    }
    buf_puts(b, "</svg>\n");
}

static void html_fig_row(struct buf *b, const char *a, const char *c,
                         const struct report_figures *f)
{
    buf_puts(b, "<tr><td>");
    html(b, a);
    buf_puts(b, "</td><td>");
    html(b, c);
    buf_printf(b, "</td><td>%lld</td><td>%lld</td><td>%lld</td>",
               (long long)f->received, (long long)f->rejected_at_door,
               (long long)f->duplicates);
    for (int k = 0; k < RS_NSTATES; k++)
        buf_printf(b, "<td>%lld</td>", (long long)f->state[k]);
    buf_printf(b, "<td>%lld</td>", (long long)f->open);
    for (int k = 0; k < RA_N; k++)
        buf_printf(b, "<td>%lld</td>", (long long)f->open_age[k]);
    buf_puts(b, "</tr>\n");
}

static int render_html(const struct report *r, struct buf *b)
{
    char m[32], p95[32], sh[32], gen[64];
    time_t gt = (time_t)(r->generated_at / 1000);
    struct tm tm;
    gmtime_r(&gt, &tm);
    strftime(gen, sizeof gen, "%Y-%m-%d %H:%M:%S UTC", &tm);
    buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
             "<title>ferry report ");
    buf_printf(b, "%s to %s</title>\n<style>\n"
        "body{font-family:Arial,Helvetica,sans-serif;color:#0b0c0c;margin:24px;max-width:1200px}\n"
        "h1{font-size:28px}h2{font-size:20px;margin-top:32px;border-bottom:2px solid #1d70b8}\n"
        "table{border-collapse:collapse;font-size:13px;margin:8px 0}\n"
        "th,td{border:1px solid #b1b4b6;padding:3px 6px;text-align:right}\n"
        "th{background:#f3f2f1}td:first-child,td:nth-child(2){text-align:left}\n"
        ".ok{background:#cce2d8;padding:8px;font-weight:bold}\n"
        ".bad{background:#f6d7d2;padding:8px;font-weight:bold;color:#942514}\n"
        ".mi{display:flex;gap:24px}.mi div{border-left:6px solid #1d70b8;padding:4px 12px}\n"
        ".mi b{display:block;font-size:26px}\n"
        "</style></head><body>\n", r->from, r->to);
    buf_printf(b, "<h1>ferry report: %s to %s</h1>\n<p>", r->from, r->to);
    if (r->service) {
        buf_puts(b, "Service <b>");
        html(b, r->service);
        buf_puts(b, "</b>. ");
    }
    buf_printf(b, "Generated %s.</p>\n", gen);
    if (r->conserved)
        buf_printf(b, "<p class=\"ok\" id=\"conservation\">Conservation: OK - "
                   "all %lld received records are in exactly one state.</p>\n",
                   (long long)r->total.received);
    else
        buf_printf(b, "<p class=\"bad\" id=\"conservation\">CONSERVATION CHECK "
                   "FAILED: states differ from received by %lld.</p>\n",
                   (long long)r->conservation_diff);
    pct(r->total.untouched, r->total.state[RS_CONFIRMED], sh, sizeof sh);
    dur(r->total.confirm_median_ms, m, sizeof m);
    dur(r->total.confirm_p95_ms, p95, sizeof p95);
    buf_printf(b, "<h2>Management information</h2>\n<div class=\"mi\">"
               "<div>Transactions received<b id=\"mi-received\">%lld</b></div>"
               "<div>Completed without intervention<b id=\"mi-untouched\">%s</b></div>"
               "<div>Time to completion (median)<b>%s</b></div>"
               "<div>95th percentile<b>%s</b></div></div>\n",
               (long long)r->total.received, sh, m, p95);

    /* volume per day: all services together */
    size_t nd = 0;
    int64_t *vol = calloc(r->ndays + 1, sizeof *vol);
    const char **lab = calloc(r->ndays + 1, sizeof *lab);
    if (vol && lab) {
        for (size_t i = 0; i < r->ndays; i++) {
            size_t k = 0;
            while (k < nd && strcmp(lab[k], r->days[i].day) != 0)
                k++;
            if (k == nd)
                lab[nd++] = r->days[i].day;
            vol[k] += r->days[i].f.received;
        }
        /* days in order (cells are sorted by service first) */
        for (size_t i = 1; i < nd; i++)
            for (size_t j = i; j > 0 && strcmp(lab[j - 1], lab[j]) > 0; j--) {
                const char *tl = lab[j];
                lab[j] = lab[j - 1];
                lab[j - 1] = tl;
                int64_t tv = vol[j];
                vol[j] = vol[j - 1];
                vol[j - 1] = tv;
            }
        buf_puts(b, "<h2>Volume per day</h2>\n");
        svg_bars(b, "records received per day", vol, lab, nd, "#1d70b8");
    }
    free(vol);
    free(lab);
    buf_puts(b, "<h2>Outcome mix</h2>\n");
    svg_mix(b, &r->total);
    buf_puts(b, "<h2>Age of open records</h2>\n");
    svg_bars(b, "open records by age", r->total.open_age, age_names, RA_N,
             "#f47738");

    static const char thead[] = "<tr><th>Service</th><th>Day</th><th>Received"
        "</th><th>Rejected at door</th><th>Duplicates</th><th>In progress</th>"
        "<th>Delivered</th><th>Confirmed</th><th>Rejected</th><th>Failed</th>"
        "<th>Discarded</th><th>Open</th><th>&lt;1 day</th><th>1-3 days</th>"
        "<th>3-7 days</th><th>&gt;7 days</th></tr>\n";
    buf_printf(b, "<h2>Per service and day</h2>\n<table id=\"days\">%s", thead);
    for (size_t i = 0; i < r->ndays; i++)
        html_fig_row(b, r->days[i].service, r->days[i].day, &r->days[i].f);
    buf_printf(b, "</table>\n<h2>Per service</h2>\n<table id=\"services\">%s",
               thead);
    for (size_t i = 0; i < r->nsvc; i++)
        html_fig_row(b, r->svc[i].service, "all days", &r->svc[i].f);
    html_fig_row(b, "All services", "all days", &r->total);
    buf_puts(b, "</table>\n<h2>Time from received to confirmed</h2>\n<table>"
             "<tr><th>Service</th><th>Confirmed</th><th>Median</th>"
             "<th>95th percentile</th><th>Without intervention</th></tr>\n");
    for (size_t i = 0; i <= r->nsvc; i++) {
        const struct report_figures *f = i < r->nsvc ? &r->svc[i].f : &r->total;
        dur(f->confirm_median_ms, m, sizeof m);
        dur(f->confirm_p95_ms, p95, sizeof p95);
        pct(f->untouched, f->state[RS_CONFIRMED], sh, sizeof sh);
        buf_puts(b, "<tr><td>");
        html(b, i < r->nsvc ? r->svc[i].service : "All services");
        buf_printf(b, "</td><td>%lld</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
                   (long long)f->state[RS_CONFIRMED], m, p95, sh);
    }
    buf_puts(b, "</table>\n<p>Confirmation time is measured to the record's "
             "last change (the ledger keeps no separate confirmed-at time).</p>\n");
    buf_puts(b, "<h2>Top failure reasons</h2>\n<table><tr><th>Records</th>"
             "<th>Reason</th></tr>\n");
    for (size_t i = 0; i < r->nreasons; i++) {
        buf_printf(b, "<tr><td>%lld</td><td style=\"text-align:left\">",
                   (long long)r->reasons[i].n);
        html(b, r->reasons[i].text);
        buf_puts(b, "</td></tr>\n");
    }
    buf_puts(b, "</table>\n<h2>Batches</h2>\n<table><tr><th>Target</th>"
             "<th>Business date</th><th>Seq</th><th>File</th><th>Records</th>"
             "<th>Totals</th><th>State</th><th>Confirmed</th><th>Rejected</th>"
             "<th>Other</th></tr>\n");
    for (size_t i = 0; i < r->nbatches; i++) {
        const struct report_batch *x = &r->batches[i];
        buf_puts(b, "<tr><td>");
        html(b, x->target);
        buf_printf(b, "</td><td>%s</td><td>%d</td><td>", x->business_date, x->seq);
        html(b, x->file_name);
        buf_printf(b, "</td><td>%lld</td><td>", (long long)x->record_count);
        html(b, x->totals);
        buf_printf(b, "</td><td>%s</td><td>%lld</td><td>%lld</td><td>%lld</td>"
                   "</tr>\n", x->state, (long long)x->confirmed,
                   (long long)x->rejected, (long long)x->other);
    }
    buf_puts(b, "</table>\n</body></html>\n");
    return b->data ? 0 : -1;
}

int report_render(const struct report *r, enum report_format f,
                  struct buf *out)
{
    switch (f) {
    case REPORT_TEXT: return render_text(r, out);
    case REPORT_CSV:  return render_csv(r, out);
    case REPORT_JSON: return render_json(r, out);
    case REPORT_HTML: return render_html(r, out);
    }
    return -1;
}
