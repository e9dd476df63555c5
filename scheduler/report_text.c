/* report_text.c - the report for a terminal: per service the period's
 * measures in their groups, each value with its definition beside it,
 * then a table by day, the failure reasons, and all services together.
 * Numbers carry thousands separators; empty tables say so. */
#include "scheduler/report.h"
#include "scheduler/report_int.h"
#include "util/buf.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* pad - right-align s in w columns: UTF-8 continuation bytes take none */
static void pad(struct buf *b, const char *s, int w)
{
    int cols = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xc0) != 0x80)
            cols++;
    for (; cols < w; cols++)
        buf_putc(b, ' ');
    buf_puts(b, s);
}

/* text_measures - the period's measures of f, grouped, with definitions */
static void text_measures(struct buf *b, const struct report_figures *f)
{
    size_t n;
    const struct report_measure *m = report_measures(&n);
    struct report_value v[RM_N];
    report_values(f, v);
    int group = -1;
    for (size_t i = 0; i < n; i++) {
        enum report_group g = report_group_of((enum report_measure_id)i);
        if ((int)g != group) {
            buf_printf(b, "  %s\n", report_group_titles[g]);
            group = (int)g;
        }
        char val[48];
        report_fmt_human(m[i].unit, v[i], val, sizeof val);
        buf_printf(b, "    %-34s ", m[i].title);
        pad(b, val, 14);
        buf_printf(b, "  %s\n", m[i].definition);
    }
}

static void text_days(struct buf *b, const struct report_service *s)
{
    bool any = false;
    for (size_t d = 0; d < s->ndays && !any; d++)
        any = report_day_active(&s->days[d].f);
    buf_puts(b, "  By day (columns as defined above; Confirmed to Discarded "
             "add up to Received)\n");
    if (!any) {
        buf_puts(b, "    No records received in this period.\n");
        return;
    }
    buf_printf(b, "    %-10s", "Day");
    for (size_t c = 0; c < REPORT_NDAYCOLS; c++)
        buf_printf(b, " %11s", report_day_columns[c].head);
    buf_putc(b, '\n');
    for (size_t d = 0; d < s->ndays; d++) {
        const struct report_figures *f = &s->days[d].f;
        if (!report_day_active(f))
            continue;
        char cells[REPORT_NDAYCOLS][REPORT_CELL_LEN];
        report_day_cells(f, cells);
        buf_printf(b, "    %-10s", s->days[d].day);
        for (size_t c = 0; c < REPORT_NDAYCOLS; c++) {
            buf_putc(b, ' ');
            pad(b, cells[c], 11);
        }
        buf_putc(b, '\n');
    }
}

static void text_reasons(struct buf *b, const struct report_service *s)
{
    buf_puts(b, "  Failure reasons (failed and rejected records, the back "
             "end's or ferry's own words, most first)\n");
    if (!s->nreasons) {
        buf_puts(b, "    No failed or rejected records in this period.\n");
        return;
    }
    for (size_t k = 0; k < s->nreasons; k++) {
        char n[32];
        report_fmt_count(s->reasons[k].n, n, sizeof n);
        buf_printf(b, "    %10s  %s\n", n, s->reasons[k].text);
    }
}

/* text_targets - the deliveries per target of each service */
static void text_targets(struct buf *b, const struct report *r)
{
    buf_puts(b, "\nDeliveries by target (one per target of each record: a "
             "service with several\ntargets delivers each record to each)\n");
    buf_printf(b, "  %-20s %-20s %10s", "SERVICE", "TARGET", "DELIVERIES");
    for (int o = 0; o < RO_N; o++)
        buf_printf(b, " %11.11s",
                   spool_mi_outcome_name((enum spool_mi_outcome)o));
    buf_putc(b, '\n');
    for (size_t i = 0; i < r->ntargets; i++) {
        const struct report_target *t = &r->targets[i];
        char n[32];
        report_fmt_count(t->deliveries, n, sizeof n);
        buf_printf(b, "  %-20s %-20s %10s", t->service, t->target, n);
        for (int o = 0; o < RO_N; o++) {
            report_fmt_count(t->outcome[o], n, sizeof n);
            buf_printf(b, " %11s", n);
        }
        buf_putc(b, '\n');
    }
}

int report_render_text(const struct report *r, struct buf *b)
{
    char t[64], n[32];
    time_t gt = (time_t)(r->generated_at / 1000);
    struct tm tm;
    gmtime_r(&gt, &tm);
    strftime(t, sizeof t, "%Y-%m-%d %H:%M:%S UTC", &tm);
    buf_printf(b, "ferry management information, %s to %s (UTC days of "
               "receipt)%s%s\ngenerated %s\n", r->from, r->to,
               r->service ? ", service " : "", r->service ? r->service : "",
               t);
    report_fmt_count(r->total.received, n, sizeof n);
    if (r->conserved)
        buf_printf(b, "Conservation: OK - all %s received records are each "
                   "in exactly one outcome.\n", n);
    else
        buf_printf(b, "*** CONSERVATION CHECK FAILED: outcomes differ from "
                   "the %s received by %lld (%lld in a state this ferry "
                   "cannot name) ***\n", n, (long long)r->conservation_diff,
                   (long long)r->total.unknown_state);
    if (r->counter_diff)
        buf_printf(b, "Note: the intake counters say %lld accepted; the "
                   "ledger holds %lld (records purged or moved change "
                   "this).\n", (long long)r->total.intake_accepted,
                   (long long)r->total.received);
    if (!r->nsvc)
        buf_puts(b, "\nNo services and no records in this period.\n");
    for (size_t i = 0; i < r->nsvc; i++) {
        const struct report_service *s = &r->svc[i];
        buf_printf(b, "\n%s, %s to %s\n", s->name, r->from, r->to);
        text_measures(b, &s->period);
        text_days(b, s);
        text_reasons(b, s);
    }
    if (r->nsvc > 1) {
        buf_printf(b, "\nAll services, %s to %s\n", r->from, r->to);
        text_measures(b, &r->total);
    }
    if (r->ntargets)
        text_targets(b, r);
    return b->data ? 0 : -1;
}
