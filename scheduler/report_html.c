/* report_html.c - the report as one self-contained page (inline CSS and
 * SVG, no script, nothing loaded) in the manner of the GOV.UK Design
 * System: per service a trend over the period (received per day by
 * outcome and by channel), the period's measures with each definition
 * beside its value, the table by day and the failure reasons; then all
 * services together.
 *
 * Charts are drawn in integer tenths of a pixel.  A bar is at most 36 px
 * wide, so one day is one bar, not a block filling the chart.  Every
 * value cell carries data-service and data-measure, so a test (or a
 * scraper) finds a figure without reading the layout.  Every text from
 * the ledger is escaped. */
#include "scheduler/report.h"
#include "scheduler/report_int.h"
#include "util/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void html(struct buf *b, const char *s)
{
    buf_html(b, s);
}

/* px - tenths of a pixel as an SVG number */
static void px(struct buf *b, int64_t t)
{
    buf_printf(b, "%lld.%lld", (long long)(t / 10), (long long)(t % 10));
}

struct series {
    const char *name, *colour;
    enum report_measure_id m;
};

static const struct series by_outcome[] = {
    { "Confirmed", "#00703c", RM_CONFIRMED },
    { "Awaiting confirmation", "#1d70b8", RM_AWAITING },
    { "In progress", "#5694ca", RM_IN_PROGRESS },
    { "Rejected", "#d4351c", RM_REJECTED },
    { "Failed", "#f47738", RM_FAILED },
    { "Discarded", "#505a5f", RM_DISCARDED },
};

static const struct series by_channel[] = {
    { "Digital (HTTP, ferry submit)", "#1d70b8", RM_DIGITAL },
    { "Assisted digital (CSV import, console form)", "#912b88", RM_ASSISTED },
    { "Channel unknown", "#b1b4b6", RM_CH_UNKNOWN },
};

/* nice_max - the axis top: the smallest 1, 2 or 5 x 10^k at or above
 * most (at least 1) */
static int64_t nice_max(int64_t most)
{
    for (int64_t p = 1; p <= INT64_MAX / 10; p *= 10) {
        if (most <= p)
            return p;
        if (most <= 2 * p)
            return 2 * p;
        if (most <= 5 * p)
            return 5 * p;
    }
    return most;
}

/* svg_trend - stacked bars per day of the period: one series per kind */
static void svg_trend(struct buf *b, const struct report_service *s,
                      const char *title, const struct series *sr, size_t ns)
{
    const int64_t W = 5600, H = 2300, left = 600, right = 100, top = 150,
                  base = 1850;
    const int64_t plotw = W - left - right, ploth = base - top;
    int64_t most = 0;
    for (size_t d = 0; d < s->ndays; d++) {
        struct report_value v[RM_N];
        report_values(&s->days[d].f, v);
        int64_t t = 0;
        for (size_t k = 0; k < ns; k++)
            t += v[sr[k].m].v;
        if (t > most)
            most = t;
    }
    int64_t max = nice_max(most);
    int64_t n = s->ndays ? (int64_t)s->ndays : 1;
    int64_t slot = plotw / n, bar = slot * 7 / 10;
    if (bar > 360)
        bar = 360;
    if (bar < 10)
        bar = slot >= 10 ? 10 : slot;
    buf_printf(b, "<figure class=\"chart\"><figcaption>");
    html(b, title);
    buf_printf(b, "</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" "
               "role=\"img\" width=\"%lld\" height=\"%lld\" viewBox=\"0 0 "
               "%lld %lld\"><title>", (long long)(W / 10), (long long)(H / 10),
               (long long)(W / 10), (long long)(H / 10));
    html(b, title);
    buf_puts(b, "</title>");
    /* the axis: 0, the middle when it is a whole number, the top */
    for (int g = 0; g <= 2; g++) {
        if (g == 1 && max % 2)
            continue;
        int64_t val = max * g / 2, y = base - ploth * g / 2;
        char lab[32];
        report_fmt_count(val, lab, sizeof lab);
        buf_puts(b, "<line x1=\"");
        px(b, left);
        buf_puts(b, "\" x2=\"");
        px(b, W - right);
        buf_puts(b, "\" y1=\"");
        px(b, y);
        buf_puts(b, "\" y2=\"");
        px(b, y);
        buf_printf(b, "\" stroke=\"%s\"/><text x=\"", g ? "#b1b4b6"
                   : "#0b0c0c");
        px(b, left - 80);
        buf_puts(b, "\" y=\"");
        px(b, y + 40);
        buf_printf(b, "\" text-anchor=\"end\" font-size=\"12\">%s</text>",
                   lab);
    }
    int64_t every = n <= 8 ? 1 : (n + 7) / 8;
    for (size_t d = 0; d < s->ndays; d++) {
        struct report_value v[RM_N];
        report_values(&s->days[d].f, v);
        int64_t x = left + (int64_t)d * slot + (slot - bar) / 2, y = base;
        for (size_t k = 0; k < ns; k++) {
            int64_t val = v[sr[k].m].v;
            if (val <= 0)
                continue;
            int64_t h = ploth * val / max;
            if (h < 10)
                h = 10;
            y -= h;
            char cnt[32];
            report_fmt_count(val, cnt, sizeof cnt);
            buf_puts(b, "<rect x=\"");
            px(b, x);
            buf_puts(b, "\" y=\"");
            px(b, y);
            buf_puts(b, "\" width=\"");
            px(b, bar);
            buf_puts(b, "\" height=\"");
            px(b, h);
            buf_printf(b, "\" fill=\"%s\"><title>%s %s: %s</title></rect>",
                       sr[k].colour, s->days[d].day, sr[k].name, cnt);
        }
        if ((n - 1 - (int64_t)d) % every == 0) {    /* the last day shown */
            buf_puts(b, "<text x=\"");
            px(b, x + bar / 2);
            buf_puts(b, "\" y=\"");
            px(b, base + 200);
            buf_printf(b, "\" text-anchor=\"middle\" font-size=\"12\">%s"
                       "</text>", s->days[d].day + 5);
        }
    }
    buf_puts(b, "</svg><ul class=\"legend\">");
    for (size_t k = 0; k < ns; k++) {
        buf_printf(b, "<li><span class=\"key\" style=\"background:%s\">"
                   "</span>", sr[k].colour);
        html(b, sr[k].name);
        buf_puts(b, "</li>");
    }
    buf_puts(b, "</ul></figure>\n");
}

/* html_measures - the period's measures, grouped, definition beside each */
static void html_measures(struct buf *b, const char *svc,
                          const struct report_figures *f)
{
    size_t n;
    const struct report_measure *m = report_measures(&n);
    struct report_value v[RM_N];
    report_values(f, v);
    buf_puts(b, "<table class=\"measures\"><thead><tr><th scope=\"col\">"
             "Measure</th><th scope=\"col\" class=\"num\">Value</th>"
             "<th scope=\"col\">What it counts</th></tr></thead><tbody>\n");
    int group = -1;
    for (size_t i = 0; i < n; i++) {
        enum report_group g = report_group_of((enum report_measure_id)i);
        if ((int)g != group) {
            buf_printf(b, "<tr class=\"group\"><th colspan=\"3\" "
                       "scope=\"rowgroup\">%s</th></tr>\n",
                       report_group_titles[g]);
            group = (int)g;
        }
        char val[48];
        report_fmt_human(m[i].unit, v[i], val, sizeof val);
        buf_puts(b, "<tr><th scope=\"row\">");
        html(b, m[i].title);
        buf_puts(b, "</th><td class=\"num\" data-service=\"");
        html(b, svc);
        buf_printf(b, "\" data-measure=\"%s\">", m[i].key);
        html(b, val);
        buf_puts(b, "</td><td class=\"def\">");
        html(b, m[i].definition);
        buf_puts(b, "</td></tr>\n");
    }
    buf_puts(b, "</tbody></table>\n");
}

static void html_days(struct buf *b, const struct report_service *s)
{
    size_t n;
    const struct report_measure *m = report_measures(&n);
    bool any = false;
    for (size_t d = 0; d < s->ndays && !any; d++)
        any = report_day_active(&s->days[d].f);
    buf_puts(b, "<h3>By day</h3>\n");
    if (!any) {
        buf_puts(b, "<p class=\"empty\">No records received in this "
                 "period.</p>\n");
        return;
    }
    buf_puts(b, "<p class=\"hint\">Columns are the measures defined above. "
             "Confirmed, Awaiting, In progress, Rejected, Failed and "
             "Discarded add up to Received.</p>\n<table class=\"days\">"
             "<thead><tr><th scope=\"col\">Day</th>");
    for (size_t c = 0; c < REPORT_NDAYCOLS; c++)
        buf_printf(b, "<th scope=\"col\" class=\"num\" title=\"%s\">%s</th>",
                   m[report_day_columns[c].m].title,
                   report_day_columns[c].head);
    buf_puts(b, "</tr></thead><tbody>\n");
    for (size_t d = 0; d < s->ndays; d++) {
        const struct report_figures *f = &s->days[d].f;
        if (!report_day_active(f))
            continue;
        char cells[REPORT_NDAYCOLS][REPORT_CELL_LEN];
        report_day_cells(f, cells);
        buf_printf(b, "<tr><th scope=\"row\">%s</th>", s->days[d].day);
        for (size_t c = 0; c < REPORT_NDAYCOLS; c++) {
            buf_puts(b, "<td class=\"num\">");
            html(b, cells[c]);
            buf_puts(b, "</td>");
        }
        buf_puts(b, "</tr>\n");
    }
    buf_puts(b, "</tbody></table>\n");
}

static void html_reasons(struct buf *b, const struct report_service *s)
{
    buf_puts(b, "<h3>Failure reasons</h3>\n");
    if (!s->nreasons) {
        buf_puts(b, "<p class=\"empty\">No failed or rejected records in "
                 "this period.</p>\n");
        return;
    }
    buf_puts(b, "<p class=\"hint\">Failed and rejected records by the back "
             "end's (or ferry's) own words, most first.</p>\n<table "
             "class=\"reasons\"><thead><tr><th scope=\"col\" class=\"num\">"
             "Records</th><th scope=\"col\">Reason</th></tr></thead>"
             "<tbody>\n");
    for (size_t k = 0; k < s->nreasons; k++) {
        char n[32];
        report_fmt_count(s->reasons[k].n, n, sizeof n);
        buf_printf(b, "<tr><td class=\"num\">%s</td><td>", n);
        html(b, s->reasons[k].text);
        buf_puts(b, "</td></tr>\n");
    }
    buf_puts(b, "</tbody></table>\n");
}

/* html_targets - the deliveries per target of each service */
static void html_targets(struct buf *b, const struct report *r)
{
    buf_puts(b, "<section><h2>Deliveries by target</h2>\n<p>Each record has "
             "one delivery per target of its service; a service with "
             "several targets delivers each record to each.</p>\n<table "
             "class=\"targets\" id=\"targets\"><thead><tr><th scope=\"col\">"
             "Service</th><th scope=\"col\">Target</th><th scope=\"col\">"
             "Deliveries</th>");
    for (int o = 0; o < RO_N; o++)
        buf_printf(b, "<th scope=\"col\">%s</th>",
                   spool_mi_outcome_name((enum spool_mi_outcome)o));
    buf_puts(b, "</tr></thead><tbody>");
    for (size_t i = 0; i < r->ntargets; i++) {
        const struct report_target *t = &r->targets[i];
        char n[32];
        buf_puts(b, "<tr><td>");
        html(b, t->service);
        buf_puts(b, "</td><td>");
        html(b, t->target);
        report_fmt_count(t->deliveries, n, sizeof n);
        buf_printf(b, "</td><td class=\"num\">%s</td>", n);
        for (int o = 0; o < RO_N; o++) {
            report_fmt_count(t->outcome[o], n, sizeof n);
            buf_printf(b, "<td class=\"num\">%s</td>", n);
        }
        buf_puts(b, "</tr>");
    }
    buf_puts(b, "</tbody></table></section>\n");
}

static const char css[] =
    "body{font-family:Arial,Helvetica,sans-serif;color:#0b0c0c;margin:0;"
    "background:#fff}header{background:#0b0c0c;color:#fff;padding:12px 30px}"
    "header strong{font-size:22px}main{padding:10px 30px 40px;"
    "max-width:1220px}h1{font-size:32px;margin:20px 0 5px}"
    "h2{font-size:26px;margin:40px 0 10px;border-top:2px solid #1d70b8;"
    "padding-top:15px}h3{font-size:19px;margin:25px 0 8px}"
    ".lede{color:#505a5f;margin:0 0 15px}.banner{padding:12px 15px;"
    "border-left:8px solid;font-weight:bold;margin:15px 0}"
    ".banner.ok{border-color:#00703c;background:#e8f3ec}"
    ".banner.bad{border-color:#d4351c;background:#fbe9e7}"
    "table{border-collapse:collapse;margin:8px 0 15px;font-size:15px}"
    "th,td{border-bottom:1px solid #b1b4b6;padding:6px 10px 6px 0;"
    "text-align:left;vertical-align:top}.num{text-align:right;"
    "font-variant-numeric:tabular-nums;white-space:nowrap}"
    "td.def{color:#505a5f;font-size:14px;max-width:640px}"
    "tr.group th{background:#f3f2f1;padding:8px 10px;font-size:16px}"
    "table.days{font-size:13px}table.days th,table.days td{"
    "padding:5px 8px 5px 0;white-space:nowrap}"
    ".empty{color:#505a5f;font-style:italic;border-left:4px solid #b1b4b6;"
    "padding-left:10px}.hint{color:#505a5f;font-size:14px;margin:4px 0}"
    ".charts{display:flex;flex-wrap:wrap;gap:10px 30px}"
    "figure.chart{margin:0;width:560px}figcaption{font-weight:bold;margin-bottom:4px}"
    ".legend{list-style:none;padding:0;margin:4px 0;font-size:14px;"
    "display:flex;flex-wrap:wrap;gap:4px 16px}.key{display:inline-block;"
    "width:12px;height:12px;margin-right:5px;vertical-align:-1px}";

int report_render_html(const struct report *r, struct buf *b)
{
    char t[64], n[32];
    time_t gt = (time_t)(r->generated_at / 1000);
    struct tm tm;
    gmtime_r(&gt, &tm);
    strftime(t, sizeof t, "%Y-%m-%d %H:%M UTC", &tm);
    buf_printf(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
               "charset=\"utf-8\"><title>Management information %s to %s"
               "</title><style>%s</style></head><body>\n<header><strong>"
               "ferry</strong> management information</header><main>\n"
               "<h1>Management information</h1><p class=\"lede\">%s to %s "
               "(UTC days of receipt)", r->from, r->to, css, r->from, r->to);
    if (r->service) {
        buf_puts(b, ", service ");
        html(b, r->service);
    }
    buf_printf(b, ". Generated %s.</p>\n", t);
    report_fmt_count(r->total.received, n, sizeof n);
    if (r->conserved)
        buf_printf(b, "<div class=\"banner ok\" id=\"conservation\">"
                   "Conservation: OK - all %s received records are each in "
                   "exactly one outcome.</div>\n", n);
    else
        buf_printf(b, "<div class=\"banner bad\" id=\"conservation\">"
                   "Conservation check FAILED: outcomes differ from the %s "
                   "received by %lld.</div>\n", n,
                   (long long)r->conservation_diff);
    if (!r->nsvc)
        buf_puts(b, "<p class=\"empty\">No services and no records in this "
                 "period.</p>\n");
    for (size_t i = 0; i < r->nsvc; i++) {
        const struct report_service *s = &r->svc[i];
        buf_puts(b, "<section><h2>");
        html(b, s->name);
        buf_puts(b, "</h2>\n");
        if (!report_day_active(&s->period)) {
            buf_puts(b, "<p class=\"empty\">No records received in this "
                     "period.</p></section>\n");
            continue;
        }
        buf_puts(b, "<div class=\"charts\">");
        svg_trend(b, s, "Received per day, by outcome", by_outcome,
                  sizeof by_outcome / sizeof by_outcome[0]);
        svg_trend(b, s, "Received per day, by channel", by_channel,
                  sizeof by_channel / sizeof by_channel[0]);
        buf_puts(b, "</div>\n<h3>The period</h3>\n");
        html_measures(b, s->name, &s->period);
        html_days(b, s);
        html_reasons(b, s);
        buf_puts(b, "</section>\n");
    }
    if (r->nsvc > 1) {
        buf_puts(b, "<section><h2>All services</h2>\n");
        html_measures(b, "*", &r->total);
        buf_puts(b, "</section>\n");
    }
    if (r->ntargets)
        html_targets(b, r);
    buf_puts(b, "</main></body></html>\n");
    return b->data ? 0 : -1;
}
