/* report_render.c - the text, CSV, JSON and HTML forms of a built report
 * (report_render, see report.h).  Reads only struct report; percentages
 * are computed in integer tenths; nothing here uses floating point.  The
 * HTML form is one page with its charts as inline SVG. */
#include "scheduler/report.h"
#include "mappings/record.h"
#include "util/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
