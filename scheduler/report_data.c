/* report_data.c - the report for machines: CSV and JSON, in the stable
 * schema docs/mi.md documents ("ferry-mi/1").  Both carry every measure
 * of report_render.c's table with its definition, for each service's
 * period, each day something came in, and all services together, and
 * the same numbers the page shows (counts plain, per cent to one place,
 * times in milliseconds, money in pence). */
#include "scheduler/report.h"
#include "scheduler/report_int.h"
#include "util/buf.h"
#include "util/clock.h"

#include <stdio.h>
#include <string.h>

#define SCHEMA "ferry-mi/1"
#define ALL_SERVICES "*"

/* ---- CSV (RFC 4180, CRLF) ------------------------------------------------ */

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

/* csv_cell - one row per measure of f: service,day,measure,value,unit,
 * definition */
static void csv_cell(struct buf *b, const char *service, const char *day,
                     const struct report_figures *f)
{
    size_t n;
    const struct report_measure *m = report_measures(&n);
    struct report_value v[RM_N];
    report_values(f, v);
    for (size_t i = 0; i < n; i++) {
        char val[48];
        report_fmt_machine(m[i].unit, v[i], val, sizeof val);
        csv_field(b, service);
        buf_printf(b, ",%s,%s,%s,%s,", day, m[i].key, val,
                   report_unit_name(m[i].unit));
        csv_field(b, m[i].definition);
        buf_puts(b, "\r\n");
    }
}

int report_render_csv(const struct report *r, struct buf *b)
{
    buf_puts(b, "service,day,measure,value,unit,definition\r\n");
    for (size_t i = 0; i < r->nsvc; i++) {
        const struct report_service *s = &r->svc[i];
        csv_cell(b, s->name, "period", &s->period);
        for (size_t d = 0; d < s->ndays; d++)
            if (report_day_active(&s->days[d].f))
                csv_cell(b, s->name, s->days[d].day, &s->days[d].f);
    }
    csv_cell(b, ALL_SERVICES, "period", &r->total);
    /* deliveries per (service, target), as JSON's deliveries_by_target:
     * measure "deliveries[TARGET]" and "deliveries[TARGET].OUTCOME" */
    for (size_t i = 0; i < r->ntargets; i++) {
        const struct report_target *t = &r->targets[i];
        for (int o = -1; o < RO_N; o++) {
            const char *on = o < 0 ? NULL
                : spool_mi_outcome_name((enum spool_mi_outcome)o);
            csv_field(b, t->service);
            buf_puts(b, ",period,");
            struct buf m;
            buf_init(&m, 64);
            buf_printf(&m, "deliveries[%s]%s%s", t->target, on ? "." : "",
                       on ? on : "");
            csv_field(b, m.data ? m.data : "");
            buf_free(&m);
            buf_printf(b, ",%lld,count,", (long long)(o < 0 ? t->deliveries
                                                      : t->outcome[o]));
            csv_field(b, o < 0 ? "deliveries of the service's records to "
                                 "this target"
                               : "deliveries to this target in this state");
            buf_puts(b, "\r\n");
        }
    }
    return b->data ? 0 : -1;
}

/* ---- JSON ---------------------------------------------------------------- */

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

/* json_values - "key":value for every measure of f (null: none) */
static void json_values(struct buf *b, const struct report_figures *f)
{
    size_t n;
    const struct report_measure *m = report_measures(&n);
    struct report_value v[RM_N];
    report_values(f, v);
    for (size_t i = 0; i < n; i++) {
        char val[48];
        report_fmt_machine(m[i].unit, v[i], val, sizeof val);
        buf_printf(b, "%s\"%s\":%s", i ? "," : "", m[i].key,
                   v[i].has ? val : "null");
    }
}

static void json_service(struct buf *b, const struct report_service *s)
{
    buf_puts(b, "{\"service\":");
    json_str(b, s->name);
    buf_puts(b, ",\"period\":{");
    json_values(b, &s->period);
    buf_puts(b, "},\"days\":[");
    bool first = true;
    for (size_t d = 0; d < s->ndays; d++) {
        if (!report_day_active(&s->days[d].f))
            continue;
        buf_printf(b, "%s{\"day\":\"%s\",", first ? "" : ",",
                   s->days[d].day);
        json_values(b, &s->days[d].f);
        buf_putc(b, '}');
        first = false;
    }
    buf_puts(b, "],\"failure_reasons\":[");
    for (size_t k = 0; k < s->nreasons; k++) {
        buf_puts(b, k ? ",{\"reason\":" : "{\"reason\":");
        json_str(b, s->reasons[k].text);
        buf_printf(b, ",\"records\":%lld}", (long long)s->reasons[k].n);
    }
    buf_puts(b, "]}");
}

int report_render_json(const struct report *r, struct buf *b)
{
    size_t n;
    const struct report_measure *m = report_measures(&n);
    buf_printf(b, "{\"schema\":\"" SCHEMA "\",\"from\":\"%s\",\"to\":\"%s\","
               "\"service\":", r->from, r->to);
    if (r->service)
        json_str(b, r->service);
    else
        buf_puts(b, "null");
    /* generated_at is the JSON time of every output (RFC 3339 UTC, ms);
     * generated_at_ms stays within ferry-mi/1, whose members are only
     * added, and is deprecated (docs/mi.md) */
    char at[40];
    clock_fmt_rfc3339(r->generated_at, at, sizeof at);
    buf_printf(b, ",\"generated_at\":\"%s\",\"generated_at_ms\":%lld,"
               "\"measures\":[", at, (long long)r->generated_at);
    for (size_t i = 0; i < n; i++) {
        buf_printf(b, "%s{\"key\":\"%s\",\"title\":", i ? "," : "",
                   m[i].key);
        json_str(b, m[i].title);
        buf_printf(b, ",\"unit\":\"%s\",\"definition\":",
                   report_unit_name(m[i].unit));
        json_str(b, m[i].definition);
        buf_putc(b, '}');
    }
    buf_puts(b, "],\"services\":[");
    for (size_t i = 0; i < r->nsvc; i++) {
        if (i)
            buf_putc(b, ',');
        json_service(b, &r->svc[i]);
    }
    /* deliveries per (service, target): a record of a service with several
     * targets has one per target (ferry-mi/1: an added member) */
    buf_puts(b, "],\"deliveries_by_target\":[");
    for (size_t i = 0; i < r->ntargets; i++) {
        const struct report_target *t = &r->targets[i];
        buf_puts(b, i ? ",{\"service\":" : "{\"service\":");
        json_str(b, t->service);
        buf_puts(b, ",\"target\":");
        json_str(b, t->target);
        buf_printf(b, ",\"deliveries\":%lld", (long long)t->deliveries);
        for (int o = 0; o < RO_N; o++)
            buf_printf(b, ",\"%s\":%lld",
                       spool_mi_outcome_name((enum spool_mi_outcome)o),
                       (long long)t->outcome[o]);
        buf_putc(b, '}');
    }
    buf_puts(b, "],\"total\":{");
    json_values(b, &r->total);
    buf_printf(b, "},\"conservation\":{\"ok\":%s,\"received\":%lld,"
               "\"difference\":%lld,\"unknown_state\":%lld,"
               "\"intake_counter_difference\":%lld}}\n",
               r->conserved ? "true" : "false", (long long)r->total.received,
               (long long)r->conservation_diff,
               (long long)r->total.unknown_state, (long long)r->counter_diff);
    return b->data ? 0 : -1;
}
