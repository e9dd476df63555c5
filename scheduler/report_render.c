/* report_render.c - the one table of measures every format prints (key,
 * title, unit, definition: docs/mi.md says the same), each measure's
 * value from a cell's figures, and the number formats people read
 * (thousands separators, per cent, durations, pounds).  A leaf: the
 * formats (report_text.c, report_data.c for CSV and JSON, report_html.c)
 * use it, and report_out.c hands a built report to its format.
 *
 * Percentages are integer tenths and money is pence: nothing here uses
 * floating point. */
#include "scheduler/report.h"
#include "scheduler/report_int.h"
#include "util/buf.h"

#include <stdio.h>
#include <string.h>

static const struct report_measure measures[RM_N] = {
    [RM_RECEIVED] = { "received", "Received", RU_COUNT,
        "Records accepted into the ledger on the day (UTC day of receipt). "
        "Each is counted once, in exactly one outcome below." },
    [RM_CH_HTTP] = { "channel_http", "By HTTP", RU_COUNT,
        "Received by the HTTP intake (a web form or API): digital." },
    [RM_CH_CLI] = { "channel_cli", "By ferry submit", RU_COUNT,
        "Received by ferry submit (JSON or NDJSON files from a front end): "
        "digital." },
    [RM_CH_CSV] = { "channel_csv", "By CSV import", RU_COUNT,
        "Received by ferry import (CSV keyed by staff from paper forms): "
        "assisted digital." },
    [RM_CH_ASSISTED] = { "channel_assisted", "By console form", RU_COUNT,
        "Received through the support console's form, keyed by staff for a "
        "caller: assisted digital." },
    [RM_CH_UNKNOWN] = { "channel_unknown", "Channel unknown", RU_COUNT,
        "Received before the ledger kept the channel (schema v6 or older) "
        "with nothing to tell it by; in neither digital nor assisted." },
    [RM_DIGITAL] = { "digital", "Digital", RU_COUNT,
        "HTTP + ferry submit." },
    [RM_ASSISTED] = { "assisted_digital", "Assisted digital", RU_COUNT,
        "CSV import + console form." },
    [RM_TAKE_UP] = { "digital_take_up", "Digital take-up", RU_PCT,
        "Digital / (digital + assisted digital); channel unknown left "
        "out." },
    [RM_CONFIRMED] = { "confirmed", "Confirmed", RU_COUNT,
        "Outcome: the back end confirmed it (acknowledgement file or target "
        "query). Complete." },
    [RM_AWAITING] = { "awaiting_confirmation", "Awaiting confirmation",
        RU_COUNT, "Outcome: delivered or sent to the back end; its "
        "confirmation is not in yet." },
    [RM_IN_PROGRESS] = { "in_progress", "In progress", RU_COUNT,
        "Outcome: still with ferry: queued, delivering, waiting to retry, "
        "in a batch not yet sent, held, or in doubt." },
    [RM_REJECTED] = { "rejected", "Rejected", RU_COUNT,
        "Outcome: the back end refused it (its own reason below); open until "
        "staff fix and requeue or discard it." },
    [RM_FAILED] = { "failed", "Failed", RU_COUNT,
        "Outcome: dead letter: a permanent error or retries spent; waits for "
        "staff." },
    [RM_DISCARDED] = { "discarded", "Discarded", RU_COUNT,
        "Outcome: closed by staff with a reason; will not be delivered." },
    [RM_COMPLETION] = { "completion_rate", "Completion rate", RU_PCT,
        "Confirmed / received: completed end to end." },
    [RM_PERSON] = { "needed_person", "Needed a person", RU_COUNT,
        "Records with at least one operator action in the audit log (retry, "
        "edit, settle, discard, hold, release), whatever their outcome." },
    [RM_PERSON_RATE] = { "needed_person_rate", "Share that needed a person",
        RU_PCT, "Needed a person / received." },
    [RM_NO_PERSON] = { "completed_without_person",
        "Completed without a person", RU_COUNT,
        "Confirmed with no operator action on them." },
    [RM_TIMED] = { "time_to_complete_count", "Completions timed", RU_COUNT,
        "Confirmed records with a confirmed-at time (kept for every "
        "confirmation since ledger schema v7)." },
    [RM_MEDIAN] = { "time_to_complete_median", "Time to complete, median",
        RU_MS, "Median of confirmed-at minus received-at over the "
        "completions timed (nearest rank)." },
    [RM_P95] = { "time_to_complete_p95", "Time to complete, 95th percentile",
        RU_MS, "95th percentile of the same (nearest rank): 95 in 100 "
        "completed at least this fast." },
    [RM_COST] = { "cost_total", "Cost", RU_PENCE,
        "Sum over channels of records received x that channel's configured "
        "<cost per-transaction>." },
    [RM_COST_PER] = { "cost_per_transaction", "Cost per transaction",
        RU_PENCE, "Cost / records costed (received by channels that have a "
        "cost), to the penny, halves up." },
    [RM_NOT_COSTED] = { "not_costed", "Not costed", RU_COUNT,
        "Received by channels with no configured cost: left out of the cost, "
        "never priced at zero." },
    [RM_OPEN] = { "open", "Open", RU_COUNT,
        "Not an outcome of its own: awaiting confirmation + in progress + "
        "rejected + failed (everything not confirmed or discarded)." },
    [RM_OPEN_LT1D] = { "open_lt_1d", "Open, under 1 day old", RU_COUNT,
        "Open records received less than 24 hours before the report was "
        "made." },
    [RM_OPEN_1_3D] = { "open_1_3d", "Open, 1 to 3 days old", RU_COUNT,
        "Open records received 1 to 3 days before the report was made." },
    [RM_OPEN_3_7D] = { "open_3_7d", "Open, 3 to 7 days old", RU_COUNT,
        "Open records received 3 to 7 days before the report was made." },
    [RM_OPEN_GT7D] = { "open_gt_7d", "Open, over 7 days old", RU_COUNT,
        "Open records received more than 7 days before the report was "
        "made." },
    [RM_AT_DOOR] = { "rejected_at_door", "Refused at the door", RU_COUNT,
        "Submissions refused before the ledger (invalid, too large, not "
        "authenticated): not in received." },
    [RM_DUPLICATES] = { "duplicates", "Duplicates", RU_COUNT,
        "Submissions recognised as already received (same service and "
        "front-end reference): answered with the first reference, not "
        "counted again." },
};

const struct report_measure *report_measures(size_t *n)
{
    *n = RM_N;
    return measures;
}

const char *const report_group_titles[RG_N] = {
    [RG_VOLUME] = "Volumes by channel (digital take-up)",
    [RG_OUTCOME] = "Outcomes: each record in exactly one",
    [RG_COMPLETION] = "Completion and the share that needed a person",
    [RG_TIME] = "Time to complete",
    [RG_COST] = "Cost per transaction",
    [RG_OPEN] = "Open records by age",
    [RG_INTAKE] = "At the door",
};

const struct report_column report_day_columns[REPORT_NDAYCOLS] = {
    { RM_RECEIVED, "Received" },      { RM_DIGITAL, "Digital" },
    { RM_ASSISTED, "Assisted" },      { RM_TAKE_UP, "Take-up" },
    { RM_CONFIRMED, "Confirmed" },    { RM_AWAITING, "Awaiting" },
    { RM_IN_PROGRESS, "In progress" }, { RM_REJECTED, "Rejected" },
    { RM_FAILED, "Failed" },          { RM_DISCARDED, "Discarded" },
    { RM_COMPLETION, "Completion" },  { RM_PERSON, "Person" },
    { RM_MEDIAN, "Median" },          { RM_P95, "95th pct" },
    { RM_COST_PER, "Cost/txn" },
};

enum report_group report_group_of(enum report_measure_id m)
{
    if (m <= RM_TAKE_UP)
        return RG_VOLUME;
    if (m <= RM_DISCARDED)
        return RG_OUTCOME;
    if (m <= RM_NO_PERSON)
        return RG_COMPLETION;
    if (m <= RM_P95)
        return RG_TIME;
    if (m <= RM_NOT_COSTED)
        return RG_COST;
    if (m <= RM_OPEN_GT7D)
        return RG_OPEN;
    return RG_INTAKE;
}

/* ratio - a / b in tenths of a per cent, halves up; none when b is 0 */
static struct report_value ratio(int64_t a, int64_t b)
{
    struct report_value v = { false, 0 };
    if (b > 0) {
        v.has = true;
        v.v = (a * 1000 + b / 2) / b;
    }
    return v;
}

static struct report_value count(int64_t n)
{
    struct report_value v = { true, n };
    return v;
}

void report_values(const struct report_figures *f, struct report_value *out)
{
    int64_t digital = f->channel[SPOOL_CH_HTTP] + f->channel[SPOOL_CH_CLI];
    int64_t assisted = f->channel[SPOOL_CH_CSV]
                     + f->channel[SPOOL_CH_ASSISTED];
    int64_t open = f->outcome[RO_AWAITING] + f->outcome[RO_IN_PROGRESS]
                 + f->outcome[RO_REJECTED] + f->outcome[RO_FAILED];
    out[RM_RECEIVED] = count(f->received);
    out[RM_CH_HTTP] = count(f->channel[SPOOL_CH_HTTP]);
    out[RM_CH_CLI] = count(f->channel[SPOOL_CH_CLI]);
    out[RM_CH_CSV] = count(f->channel[SPOOL_CH_CSV]);
    out[RM_CH_ASSISTED] = count(f->channel[SPOOL_CH_ASSISTED]);
    out[RM_CH_UNKNOWN] = count(f->channel[SPOOL_CH_UNKNOWN]);
    out[RM_DIGITAL] = count(digital);
    out[RM_ASSISTED] = count(assisted);
    out[RM_TAKE_UP] = ratio(digital, digital + assisted);
    out[RM_CONFIRMED] = count(f->outcome[RO_CONFIRMED]);
    out[RM_AWAITING] = count(f->outcome[RO_AWAITING]);
    out[RM_IN_PROGRESS] = count(f->outcome[RO_IN_PROGRESS]);
    out[RM_REJECTED] = count(f->outcome[RO_REJECTED]);
    out[RM_FAILED] = count(f->outcome[RO_FAILED]);
    out[RM_DISCARDED] = count(f->outcome[RO_DISCARDED]);
    out[RM_COMPLETION] = ratio(f->outcome[RO_CONFIRMED], f->received);
    out[RM_PERSON] = count(f->person);
    out[RM_PERSON_RATE] = ratio(f->person, f->received);
    out[RM_NO_PERSON] = count(f->confirmed_no_person);
    out[RM_TIMED] = count(f->timed);
    out[RM_MEDIAN] = (struct report_value){ f->median_ms >= 0, f->median_ms };
    out[RM_P95] = (struct report_value){ f->p95_ms >= 0, f->p95_ms };
    out[RM_COST] = (struct report_value){ f->costed > 0, f->cost_pence };
    out[RM_COST_PER] = (struct report_value){ f->costed > 0, f->costed > 0
        ? (f->cost_pence + f->costed / 2) / f->costed : 0 };
    out[RM_NOT_COSTED] = count(f->received - f->costed);
    out[RM_OPEN] = count(open);
    out[RM_OPEN_LT1D] = count(f->open_age[RA_LT1D]);
    out[RM_OPEN_1_3D] = count(f->open_age[RA_1_3D]);
    out[RM_OPEN_3_7D] = count(f->open_age[RA_3_7D]);
    out[RM_OPEN_GT7D] = count(f->open_age[RA_GT7D]);
    out[RM_AT_DOOR] = count(f->rejected_at_door);
    out[RM_DUPLICATES] = count(f->duplicates);
}

/* ---- number formats ------------------------------------------------------ */

void report_fmt_count(int64_t n, char *out, size_t outsz)
{
    char digits[32];
    bool neg = n < 0;
    uint64_t u = neg ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;
    int nd = snprintf(digits, sizeof digits, "%llu", (unsigned long long)u);
    size_t k = 0;
    if (neg && k + 1 < outsz)
        out[k++] = '-';
    for (int i = 0; i < nd && k + 2 < outsz; i++) {
        if (i && (nd - i) % 3 == 0)
            out[k++] = ',';
        out[k++] = digits[i];
    }
    out[k < outsz ? k : outsz - 1] = '\0';
}

static void fmt_ms(int64_t ms, char *out, size_t outsz)
{
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

void report_fmt_human(enum report_unit u, struct report_value v, char *out,
                      size_t outsz)
{
    char n[40];
    if (!v.has) {
        snprintf(out, outsz, "-");
        return;
    }
    switch (u) {
    case RU_COUNT:
        report_fmt_count(v.v, out, outsz);
        return;
    case RU_PCT:
        snprintf(out, outsz, "%lld.%lld%%", (long long)(v.v / 10),
                 (long long)(v.v % 10));
        return;
    case RU_MS:
        fmt_ms(v.v, out, outsz);
        return;
    case RU_PENCE:
        report_fmt_count(v.v / 100, n, sizeof n);
        snprintf(out, outsz, "\xc2\xa3%s.%02lld", n, (long long)(v.v % 100));
        return;
    }
    snprintf(out, outsz, "?");
}

void report_fmt_machine(enum report_unit u, struct report_value v,
                        char *out, size_t outsz)
{
    if (!v.has) {
        snprintf(out, outsz, "%s", "");
        return;
    }
    if (u == RU_PCT)
        snprintf(out, outsz, "%lld.%lld", (long long)(v.v / 10),
                 (long long)(v.v % 10));
    else
        snprintf(out, outsz, "%lld", (long long)v.v);
}

const char *report_unit_name(enum report_unit u)
{
    switch (u) {
    case RU_COUNT: return "records";
    case RU_PCT:   return "percent";
    case RU_MS:    return "milliseconds";
    case RU_PENCE: return "pence";
    }
    return "?";
}

void report_day_cells(const struct report_figures *f,
                      char out[REPORT_NDAYCOLS][REPORT_CELL_LEN])
{
    struct report_value v[RM_N];
    report_values(f, v);
    for (size_t c = 0; c < REPORT_NDAYCOLS; c++) {
        enum report_measure_id id = report_day_columns[c].m;
        report_fmt_human(measures[id].unit, v[id], out[c], REPORT_CELL_LEN);
    }
}

bool report_day_active(const struct report_figures *f)
{
    return f->received || f->rejected_at_door || f->duplicates
        || f->intake_accepted;
}
