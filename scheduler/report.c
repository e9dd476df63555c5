/* report.c - building the management information of report.h: one pass
 * over the period's records (spool_mi_foreach), then the figures that
 * need the whole cell (percentiles, costs) and the intake counters.
 *
 * Each record lands in one (service, day) cell and in exactly one
 * outcome; the conservation check proves it.  Times to complete are kept
 * per service as one packed key per confirmed record, (day << 40) | ms,
 * so one radix sort orders them by day and time at once: per-day
 * percentiles are slices of it; the period's and the total's come from
 * a linear selection over the plain times.  Percentages are integer tenths and money
 * is pence; nothing here uses floating point.  Rendering is elsewhere
 * (report_render.c and the format files beside it). */
#include "scheduler/report.h"
#include "config/config.h"
#include "mappings/record.h"
#include "util/clock.h"
#include "util/errs.h"
#include "util/strmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS 86400000LL
#define T_BITS 40                       /* ms: 34 years */
#define T_MASK ((1ULL << T_BITS) - 1)
#define REASON_MAX_LEN 200
#define REASON_MAX_DISTINCT 4096
#define MAX_DAYS 3661                   /* ten years */

/* What counts as "needed a person": an operator action on the record
 * (docs/mi.md).  ack-apply, purge and resend are about files, not a
 * person handling a submission. */
static const char *const person_actions[] = {
    "retry", "edit", "settle", "discard", "hold", "release", NULL
};

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

/* the report's outcomes are the spool's (one bucketing for the report
 * and /metrics) */
_Static_assert((int)RO_CONFIRMED == (int)SPOOL_MI_CONFIRMED
               && (int)RO_AWAITING == (int)SPOOL_MI_AWAITING
               && (int)RO_IN_PROGRESS == (int)SPOOL_MI_IN_PROGRESS
               && (int)RO_REJECTED == (int)SPOOL_MI_REJECTED
               && (int)RO_FAILED == (int)SPOOL_MI_FAILED
               && (int)RO_DISCARDED == (int)SPOOL_MI_DISCARDED
               && (int)RO_N == (int)SPOOL_MI_NOUTCOMES, "outcomes match");

static enum report_outcome outcome_of(enum spool_state s)
{
    return (enum report_outcome)spool_mi_outcome_of(s);
}

/* ---- times: packed keys, radix sorted ------------------------------------ */

struct u64v {
    uint64_t *v;
    size_t n, cap;
};

static int u64v_push(struct u64v *a, uint64_t x)
{
    if (a->n == a->cap) {
        size_t c = a->cap ? a->cap * 2 : 1024;
        uint64_t *nv = realloc(a->v, c * sizeof *nv);
        if (!nv)
            return -1;
        a->v = nv;
        a->cap = c;
    }
    a->v[a->n++] = x;
    return 0;
}

/* radix_sort - LSD, a byte at a time, skipping bytes every key shares;
 * linear, so a million times sort in milliseconds.  0, or -1 when out of
 * memory (v untouched). */
static int radix_sort(uint64_t *v, size_t n)
{
    if (n < 2)
        return 0;
    uint64_t *tmp = malloc(n * sizeof *tmp);
    if (!tmp)
        return -1;
    uint64_t *src = v, *dst = tmp;
    for (int shift = 0; shift < 64; shift += 8) {
        size_t cnt[256] = { 0 };
        for (size_t i = 0; i < n; i++)
            cnt[(src[i] >> shift) & 0xff]++;
        if (cnt[(src[0] >> shift) & 0xff] == n)
            continue;
        size_t pos = 0;
        for (int b = 0; b < 256; b++) {
            size_t c = cnt[b];
            cnt[b] = pos;
            pos += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[cnt[(src[i] >> shift) & 0xff]++] = src[i];
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != v)
        memcpy(v, src, n * sizeof *v);
    free(tmp);
    return 0;
}

/* select_kth - put the k-th smallest (0-based) of v[0..n) at v[k], the
 * smaller ones before it and the larger after (Hoare's quickselect, a
 * middle pivot): linear on average, where the period's percentiles need
 * no full sort.  v holds plain times. */
static void select_kth(uint64_t *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        uint64_t pivot = v[lo + (hi - lo) / 2];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                uint64_t t = v[i];
                v[i] = v[j];
                v[j] = t;
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return;
    }
}

/* rank_select - nearest_rank's figures for unsorted plain times */
static void rank_select(uint64_t *v, size_t n, struct report_figures *f)
{
    f->timed = (int64_t)n;
    f->median_ms = f->p95_ms = -1;
    if (!n)
        return;
    size_t m = (50 * n + 99) / 100, q = (95 * n + 99) / 100;
    m = (m ? m : 1) - 1;
    q = (q ? q : 1) - 1;
    select_kth(v, n, m);
    f->median_ms = (int64_t)v[m];
    /* everything after m is at least v[m]: q >= m is found among them */
    select_kth(v + m, n - m, q - m);
    f->p95_ms = (int64_t)v[q];
}

/* nearest_rank - of n sorted values (masked to their time), the smallest
 * with at least p% at or below it */
static void nearest_rank(const uint64_t *v, size_t n,
                         struct report_figures *f)
{
    f->timed = (int64_t)n;
    f->median_ms = f->p95_ms = -1;
    if (!n)
        return;
    size_t m = (50 * n + 99) / 100, q = (95 * n + 99) / 100;
    f->median_ms = (int64_t)(v[(m ? m : 1) - 1] & T_MASK);
    f->p95_ms = (int64_t)(v[(q ? q : 1) - 1] & T_MASK);
}

/* ---- the pass ------------------------------------------------------------ */

struct svc_acc {
    char *name;
    int64_t cost[SPOOL_NCHANNELS];
    unsigned cost_set;
    struct report_figures *days;   /* index: day - day0 */
    struct u64v times;             /* (day index << 40) | ms */
    struct strmap reasons;
    int64_t reasons_other;
};

struct pass {
    struct report_target *tg;      /* deliveries per (service, target) */
    size_t ntg, last_tg;
    int64_t now, day0;
    size_t ndays;
    const struct ferry_config *cfg;
    struct svc_acc *svc;
    size_t nsvc;
    size_t last;
    bool nomem;
};

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
    for (size_t i = 0; p->cfg && i < p->cfg->nservices; i++) {
        const struct service_config *c = &p->cfg->services[i];
        if (c->name && strcmp(c->name, name) == 0) {
            for (int ch = 0; ch < SPOOL_NCHANNELS && ch < CONFIG_NCHANNELS;
                 ch++)
                s->cost[ch] = c->cost_pence[ch];
            s->cost_set = c->cost_set;
        }
    }
    p->last = p->nsvc++;
    return s;
}

/* take_deliveries - each delivery of r counted for its target */
static int take_deliveries(struct pass *p, const struct spool_mi_row *r)
{
    for (size_t k = 0; k < r->ndeliveries; k++) {
        struct report_target *t = NULL;
        /* runs of one service and target are usual */
        if (p->ntg && strcmp(p->tg[p->last_tg].target, r->targets[k]) == 0
            && strcmp(p->tg[p->last_tg].service, r->service) == 0)
            t = &p->tg[p->last_tg];
        for (size_t i = 0; i < p->ntg && !t; i++)
            if (strcmp(p->tg[i].target, r->targets[k]) == 0
                && strcmp(p->tg[i].service, r->service) == 0)
                t = &p->tg[i];
        if (!t) {
            struct report_target *nv = realloc(p->tg, (p->ntg + 1)
                                               * sizeof *nv);
            if (!nv)
                return -1;
            p->tg = nv;
            t = &p->tg[p->ntg];
            memset(t, 0, sizeof *t);
            t->service = strdup(r->service);
            t->target = strdup(r->targets[k]);
            if (!t->service || !t->target) {
                free(t->service);
                free(t->target);
                return -1;
            }
            p->ntg++;
        }
        p->last_tg = (size_t)(t - p->tg);
        t->deliveries++;
        t->outcome[outcome_of(r->dstates[k])]++;
    }
    return 0;
}

static int take(void *vctx, const struct spool_mi_row *r)
{
    struct pass *p = vctx;
    int64_t day = r->received_at / DAY_MS;
    if (day < p->day0 || day >= p->day0 + (int64_t)p->ndays)
        return 0;
    struct svc_acc *s = svc_for(p, r->service);
    if (!s)
        goto nomem;
    size_t di = (size_t)(day - p->day0);
    struct report_figures *f = &s->days[di];
    if (take_deliveries(p, r) != 0)
        goto nomem;
    f->received++;
    f->channel[(unsigned)r->channel < SPOOL_NCHANNELS ? r->channel
               : SPOOL_CH_UNKNOWN]++;
    if (r->touched)
        f->person++;
    if (!r->state_known) {
        f->unknown_state++;
        return 0;
    }
    enum report_outcome o = outcome_of(r->state);
    f->outcome[o]++;
    if (o != RO_CONFIRMED && o != RO_DISCARDED) {
        int64_t age = p->now - r->received_at;
        f->open_age[age < DAY_MS ? RA_LT1D : age < 3 * DAY_MS ? RA_1_3D
                    : age < 7 * DAY_MS ? RA_3_7D : RA_GT7D]++;
    }
    if (o == RO_CONFIRMED) {
        if (!r->touched)
            f->confirmed_no_person++;
        if (r->confirmed_at > 0) {
            int64_t t = r->confirmed_at - r->received_at;
            uint64_t ut = t < 0 ? 0 : (uint64_t)t > T_MASK ? T_MASK
                        : (uint64_t)t;
            if (u64v_push(&s->times, (uint64_t)di << T_BITS | ut) != 0)
                goto nomem;
        }
    }
    if (o == RO_FAILED || o == RO_REJECTED) {
        char why[REASON_MAX_LEN + 1];
        snprintf(why, sizeof why, "%s", r->last_error && *r->last_error
                 ? r->last_error : "(no message)");
        int b = strmap_add(&s->reasons, why, 1, REASON_MAX_DISTINCT);
        if (b < 0)
            goto nomem;
        if (b > 0)
            s->reasons_other++;
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
    for (int i = 0; i < SPOOL_NCHANNELS; i++)
        a->channel[i] += b->channel[i];
    for (int i = 0; i < RO_N; i++)
        a->outcome[i] += b->outcome[i];
    a->unknown_state += b->unknown_state;
    a->person += b->person;
    a->confirmed_no_person += b->confirmed_no_person;
    for (int i = 0; i < RA_N; i++)
        a->open_age[i] += b->open_age[i];
    a->cost_pence += b->cost_pence;
    a->costed += b->costed;
    a->rejected_at_door += b->rejected_at_door;
    a->duplicates += b->duplicates;
    a->intake_accepted += b->intake_accepted;
}

static void cell_cost(struct report_figures *f, const struct svc_acc *s)
{
    f->cost_pence = f->costed = 0;
    for (int ch = 0; ch < SPOOL_NCHANNELS; ch++)
        if (s->cost_set & (1u << ch)) {
            f->cost_pence += f->channel[ch] * s->cost[ch];
            f->costed += f->channel[ch];
        }
}

static void day_text(int64_t day, char out[11])
{
    int y, m, d;
    record_date_from_days(day, &y, &m, &d);
    unsigned uy = (unsigned)y % 10000, um = (unsigned)m % 13,
             ud = (unsigned)d % 32;
    snprintf(out, 11, "%04u-%02u-%02u", uy, um, ud);
}

static int cmp_reason(const void *x, const void *y)
{
    const struct report_reason *a = x, *b = y;
    if (a->n != b->n)
        return a->n > b->n ? -1 : 1;
    return strcmp(a->text, b->text);
}

static int cmp_target(const void *x, const void *y)
{
    const struct report_target *a = x, *b = y;
    int c = strcmp(a->service, b->service);
    return c ? c : strcmp(a->target, b->target);
}

static int cmp_svc(const void *x, const void *y)
{
    const struct report_service *a = x, *b = y;
    return strcmp(a->name, b->name);
}

void report_free(struct report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nsvc; i++) {
        struct report_service *s = &r->svc[i];
        free(s->name);
        free(s->days);
        for (size_t k = 0; k < s->nreasons; k++)
            free(s->reasons[k].text);
        free(s->reasons);
    }
    free(r->svc);
    for (size_t i = 0; i < r->ntargets; i++) {
        free(r->targets[i].service);
        free(r->targets[i].target);
    }
    free(r->targets);
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
    if (to - from >= MAX_DAYS) {
        errs_add(e, "--from", "a report covers at most ten years of days");
        return -1;
    }
    *day0 = from;
    *ndays = (size_t)(to - from + 1);
    return 0;
}

/* add_counters - the intake counters (accepted, refused at the door,
 * duplicates) into the cells */
static int add_counters(struct spool *sp, struct pass *p,
                        const struct report *r, const char *service,
                        struct errs *e)
{
    struct spool_day_list dl = { 0 };
    if (spool_day_counts(sp, service, r->from, r->to, &dl, e) != 0)
        return -1;
    for (size_t i = 0; i < dl.n; i++) {
        int64_t d;
        if (record_date_parse(dl.v[i].day, &d) != 0 || d < p->day0 ||
            d >= p->day0 + (int64_t)p->ndays)
            continue;
        struct svc_acc *s = svc_for(p, dl.v[i].service);
        if (!s) {
            spool_day_list_free(&dl);
            errs_add(e, "report", "out of memory");
            return -1;
        }
        struct report_figures *f = &s->days[d - p->day0];
        f->rejected_at_door += dl.v[i].rejected_at_door;
        f->duplicates += dl.v[i].duplicates;
        f->intake_accepted += dl.v[i].accepted;
    }
    spool_day_list_free(&dl);
    return 0;
}

/* top_reasons - s's reasons, most first, at most top, then the rest as
 * "(other reasons)" */
static int top_reasons(struct svc_acc *a, struct report_service *s,
                       size_t top)
{
    size_t n = a->reasons.n;
    struct report_reason *all = calloc(n + 1, sizeof *all);
    if (!all)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < a->reasons.cap; i++)
        if (a->reasons.k[i]) {
            all[k].text = a->reasons.k[i];
            all[k++].n = a->reasons.v[i];
        }
    if (k)
        qsort(all, k, sizeof *all, cmp_reason);
    s->reasons = calloc(top + 1, sizeof *s->reasons);
    if (!s->reasons) {
        free(all);
        return -1;
    }
    int64_t other = a->reasons_other;
    for (size_t i = 0; i < k; i++) {
        if (s->nreasons >= top) {
            other += all[i].n;
            continue;
        }
        s->reasons[s->nreasons].n = all[i].n;
        if (!(s->reasons[s->nreasons++].text = strdup(all[i].text))) {
            free(all);
            return -1;
        }
    }
    free(all);
    if (other) {
        s->reasons[s->nreasons].n = other;
        if (!(s->reasons[s->nreasons++].text = strdup("(other reasons)")))
            return -1;
    }
    return 0;
}

/* finish_service - cells, costs, percentiles and reasons of one service;
 * its times go on into all (for the total's percentiles) */
static int finish_service(struct pass *p, struct svc_acc *a,
                          struct report_service *s, size_t top,
                          struct u64v *all)
{
    if (!(s->name = strdup(a->name)))
        return -1;
    s->cost_set = a->cost_set;
    s->ndays = p->ndays;
    if (!(s->days = calloc(p->ndays, sizeof *s->days)))
        return -1;
    if (radix_sort(a->times.v, a->times.n) != 0)
        return -1;
    size_t at = 0;
    for (size_t d = 0; d < p->ndays; d++) {
        struct report_day *c = &s->days[d];
        c->f = a->days[d];
        day_text(p->day0 + (int64_t)d, c->day);
        cell_cost(&c->f, a);
        size_t from = at;
        while (at < a->times.n && (a->times.v[at] >> T_BITS) == d)
            at++;
        nearest_rank(a->times.v + from, at - from, &c->f);
        fig_add(&s->period, &c->f);
    }
    /* the period: the same times by time alone */
    size_t base = all->n;
    for (size_t i = 0; i < a->times.n; i++)
        if (u64v_push(all, a->times.v[i] & T_MASK) != 0)
            return -1;
    rank_select(all->v + base, all->n - base, &s->period);
    return top_reasons(a, s, top);
}

int report_build(struct spool *sp, const struct report_opts *o,
                 struct report **out, struct errs *e)
{
    *out = NULL;
    struct pass p;
    memset(&p, 0, sizeof p);
    p.cfg = o->cfg;
    if (!(p.now = o->now_ms))
        p.now = clock_wall_ms();
    struct report *r = calloc(1, sizeof *r);
    struct u64v all = { 0 };
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
    /* configured services appear even on a day with nothing */
    for (size_t i = 0; o->cfg && i < o->cfg->nservices; i++) {
        const char *n = o->cfg->services[i].name;
        if (n && (!o->service || strcmp(n, o->service) == 0)
            && !svc_for(&p, n))
            goto nomem;
    }

    struct spool_mi_query q = {
        .since = p.day0 * DAY_MS,
        .until = (p.day0 + (int64_t)p.ndays) * DAY_MS,
        .service = o->service,
        .actions = person_actions,
    };
    if (spool_mi_foreach(sp, &q, take, &p, e) < 0)
        goto out;
    if (p.nomem)
        goto nomem;
    if (add_counters(sp, &p, r, o->service, e) != 0)
        goto out;

    r->svc = calloc(p.nsvc ? p.nsvc : 1, sizeof *r->svc);
    if (!r->svc)
        goto nomem;
    size_t top = o->top_reasons ? o->top_reasons : 10;
    for (size_t i = 0; i < p.nsvc; i++) {
        struct report_service *s = &r->svc[r->nsvc++];
        if (finish_service(&p, &p.svc[i], s, top, &all) != 0)
            goto nomem;
        fig_add(&r->total, &s->period);
    }
    rank_select(all.v, all.n, &r->total);
    if (r->nsvc > 1)
        qsort(r->svc, r->nsvc, sizeof *r->svc, cmp_svc);

    /* the conservation check: every record in exactly one outcome */
    int64_t sum = r->total.unknown_state;
    for (int i = 0; i < RO_N; i++)
        sum += r->total.outcome[i];
    r->conservation_diff = sum - r->total.received;
    r->conserved = r->conservation_diff == 0 && r->total.unknown_state == 0;
    r->counter_diff = r->total.received - r->total.intake_accepted;
    r->targets = p.tg;
    r->ntargets = p.ntg;
    p.tg = NULL;
    p.ntg = 0;
    if (r->ntargets > 1)
        qsort(r->targets, r->ntargets, sizeof *r->targets, cmp_target);
    rc = 0;
    goto out;
nomem:
    errs_add(e, "report", "out of memory");
out:
    for (size_t i = 0; i < p.nsvc; i++) {
        free(p.svc[i].name);
        free(p.svc[i].days);
        free(p.svc[i].times.v);
        strmap_free(&p.svc[i].reasons);
    }
    free(p.svc);
    for (size_t i = 0; i < p.ntg; i++) {
        free(p.tg[i].service);
        free(p.tg[i].target);
    }
    free(p.tg);
    free(all.v);
    if (rc == 0)
        *out = r;
    else
        report_free(r);
    return rc;
}
