/* check_report.c - management information adds up to the ledger.  A spool
 * is built through the spool API with known counts per channel, outcome,
 * operator intervention and time to complete (the confirmed-at times are
 * then set to known values in the ledger), and every figure is checked
 * against what was done: channels and take-up, each record in exactly one
 * outcome (the outcomes add up to received, per day and per period),
 * completion and the share that needed a person, median and 95th
 * percentile, cost per transaction from configured costs, open records
 * by age, failure reasons.  Then the same numbers are read back out of
 * the CSV, the JSON and the HTML. */
#include <check.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "scheduler/report.h"
#include "scheduler/report_int.h"
#include "spool/spool.h"
#include "tests/unit/spool_test.h"
#include "util/buf.h"
#include "util/errs.h"

#define DAY 86400000LL
#define MIN 60000LL
#define H 3600000LL

static char tmpdir[512], spdir[600];
static struct spool *sp;
static int64_t day1;          /* 00:00 UTC of 2024-10-04, ms */

static int rm_one(const char *p, const struct stat *sb, int flag,
                  struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(p);
}

static void enqueue(const char *svc, const char *tag, int i,
                    enum spool_channel ch, int64_t at, char *ref)
{
    struct errs e;
    errs_init(&e);
    char key[64];
    snprintf(key, sizeof key, "%s-%d", tag, i);
    struct spool_item it = { .service = svc, .target = "mf",
        .idem_key = key, .payload = "{}", .payload_len = 2,
        .record_json = "{}", .received_at = at, .channel = ch };
    struct spool_result res;
    ck_assert_int_eq(spool_enqueue(sp, &it, 1, &res, &e), 0);
    if (ref)
        memcpy(ref, res.ref, SPOOL_REF_MAX);
    errs_free(&e);
}

/* ledger_exec - change the ledger from outside the spool, on whichever
 * engine the test runs (spool_test.h) */
static void ledger_exec(const char *sql)
{
    test_ledger_exec(spdir, sql);
}

/* The ledger ("claims", received 01:00 UTC on 2024-10-04 unless said):
 *
 *   index  outcome                   channel
 *   0-9    confirmed (10)            http 0-4, cli 5-6, csv 7-9
 *   10-11  rejected "E01: bad NINO"  csv 10, assisted 11
 *   12-15  sent: awaiting (4)        http 12, cli 13, csv 14, assisted 15
 *   16     failed "timeout"          http
 *   17-18  discarded (2)             csv 17, assisted 18
 *   19     held: in progress         csv
 *   20     queued: in progress       http
 *   => day 1: 21 received; http 8, cli 3, csv 7, assisted 3.
 *   Needed a person: 0 (edited before delivery, then confirmed), 17, 18
 *   (discarded), 19 (held) = 4; a "note" on 1 is not an intervention.
 *   Time to complete of confirmed i: (i + 1) minutes.
 *   Day 2 (2024-10-05 02:00): 5 more, http, queued.
 *   "grants": 4 by csv on day 2, queued; no costs configured.
 *   Costs for claims: http 0.35, csv 4.50; cli and assisted have none. */
static const enum spool_channel ch1[21] = {
    SPOOL_CH_HTTP, SPOOL_CH_HTTP, SPOOL_CH_HTTP, SPOOL_CH_HTTP, SPOOL_CH_HTTP,
    SPOOL_CH_CLI, SPOOL_CH_CLI, SPOOL_CH_CSV, SPOOL_CH_CSV, SPOOL_CH_CSV,
    SPOOL_CH_CSV, SPOOL_CH_ASSISTED, SPOOL_CH_HTTP, SPOOL_CH_CLI,
    SPOOL_CH_CSV, SPOOL_CH_ASSISTED, SPOOL_CH_HTTP, SPOOL_CH_CSV,
    SPOOL_CH_ASSISTED, SPOOL_CH_CSV, SPOOL_CH_HTTP,
};
static char c1[21][SPOOL_REF_MAX];
static struct ferry_config cfg;
static struct service_config svcs[2];

static void setup(void)
{
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/check_report.XXXXXX", t ? t : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(spdir, sizeof spdir, "%s/spool", tmpdir);
    struct errs e;
    errs_init(&e);
    sp = test_spool_open(spdir, NULL, &e);
    ck_assert_ptr_nonnull(sp);
    day1 = 20000LL * DAY;                         /* 2024-10-04 */
    for (int i = 0; i < 21; i++)
        enqueue("claims", "a", i, ch1[i], day1 + H, c1[i]);
    ck_assert_int_eq(spool_edit(sp, c1[0], "{\"x\":1}", 7, "{}", "erin",
                                "typo", NULL, &e), 0);
    struct spool_batch *b = NULL;
    ck_assert_int_eq(spool_batch_bind(sp, "mf", "2024-10-04", 16, &b, &e), 0);
    ck_assert_int_eq(b->record_count, 16);
    ck_assert_int_eq(spool_batch_written(sp, b->id, "CLM.D241004.S001", 16,
                                         "AMT=1.00", "00", &e), 0);
    ck_assert_int_eq(spool_batch_sent(sp, b->id, &e), 0);
    spool_batch_free(b);
    struct spool_ack acks[12];
    for (int i = 0; i < 12; i++)
        acks[i] = (struct spool_ack){ .key = c1[i], .accepted = i < 10,
                                      .reason = i < 10 ? NULL
                                      : "E01: bad NINO" };
    ck_assert_int_eq(spool_ack_apply(sp, NULL, NULL, acks, 12, NULL, NULL,
                                     NULL, NULL, &e), 0);
    ck_assert_int_eq(spool_audit_add(sp, "bob", "note", c1[1], "looked",
                                     NULL, &e), 0);
    ck_assert_int_eq(spool_record_fail(sp, c1[16], NULL, "timeout", &e), 0);
    ck_assert_int_eq(spool_discard(sp, c1[17], NULL, "bob", "duplicate", &e), 0);
    ck_assert_int_eq(spool_discard(sp, c1[18], NULL, "bob", "withdrawn", &e), 0);
    ck_assert_int_eq(spool_hold(sp, c1[19], NULL, "bob", "wait", &e), 0);
    for (int i = 0; i < 5; i++)
        enqueue("claims", "b", i, SPOOL_CH_HTTP, day1 + DAY + 2 * H, NULL);
    for (int i = 0; i < 4; i++)
        enqueue("grants", "g", i, SPOOL_CH_CSV, day1 + DAY + 2 * H, NULL);
    /* known times to complete: confirmed i took (i + 1) minutes */
    for (int i = 0; i < 10; i++) {
        char sql[256];
        snprintf(sql, sizeof sql, "UPDATE records SET confirmed_at = "
                 "received_at + %lld WHERE ref = '%s'",
                 (long long)((i + 1) * MIN), c1[i]);
        ledger_exec(sql);
    }
    errs_free(&e);
    memset(&cfg, 0, sizeof cfg);
    memset(svcs, 0, sizeof svcs);
    svcs[0].name = (char *)"claims";
    svcs[0].cost_pence[SPOOL_CH_HTTP] = 35;
    svcs[0].cost_pence[SPOOL_CH_CSV] = 450;
    svcs[0].cost_set = 1u << SPOOL_CH_HTTP | 1u << SPOOL_CH_CSV;
    svcs[1].name = (char *)"grants";
    cfg.services = svcs;
    cfg.nservices = 2;
}

static void teardown(void)
{
    spool_close(sp);
    sp = NULL;
    nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static struct report *build(const char *from, const char *to,
                            const char *svc)
{
    struct report_opts o = { .from = from, .to = to, .service = svc,
                             .now_ms = day1 + DAY + 12 * H, .cfg = &cfg };
    struct report *r = NULL;
    struct errs e;
    errs_init(&e);
    ck_assert_msg(report_build(sp, &o, &r, &e) == 0, "%s", errs_first_msg(&e));
    errs_free(&e);
    return r;
}

static const struct report_service *svc(const struct report *r,
                                        const char *name)
{
    for (size_t i = 0; i < r->nsvc; i++)
        if (strcmp(r->svc[i].name, name) == 0)
            return &r->svc[i];
    ck_abort_msg("no service %s", name);
    return NULL;
}

/* value - measure key of f */
static struct report_value value(const struct report_figures *f,
                                 const char *key)
{
    size_t n;
    const struct report_measure *m = report_measures(&n);
    struct report_value v[RM_N];
    report_values(f, v);
    for (size_t i = 0; i < n; i++)
        if (strcmp(m[i].key, key) == 0)
            return v[i];
    ck_abort_msg("no measure %s", key);
    return v[0];
}

static void outcomes_add_up(const struct report_figures *f)
{
    int64_t sum = 0;
    for (int i = 0; i < RO_N; i++)
        sum += f->outcome[i];
    ck_assert_int_eq(sum, f->received);
    int64_t ch = 0;
    for (int i = 0; i < SPOOL_NCHANNELS; i++)
        ch += f->channel[i];
    ck_assert_int_eq(ch, f->received);
}

START_TEST(test_figures_add_up_to_the_ledger)
{
    struct report *r = build("2024-10-04", "2024-10-05", NULL);
    ck_assert(r->conserved);
    ck_assert_uint_eq(r->nsvc, 2);
    const struct report_service *c = svc(r, "claims");
    ck_assert_uint_eq(c->ndays, 2);
    const struct report_figures *d1 = &c->days[0].f, *d2 = &c->days[1].f;
    ck_assert_str_eq(c->days[0].day, "2024-10-04");
    ck_assert_int_eq(d1->received, 21);
    ck_assert_int_eq(d1->channel[SPOOL_CH_HTTP], 8);
    ck_assert_int_eq(d1->channel[SPOOL_CH_CLI], 3);
    ck_assert_int_eq(d1->channel[SPOOL_CH_CSV], 7);
    ck_assert_int_eq(d1->channel[SPOOL_CH_ASSISTED], 3);
    ck_assert_int_eq(d1->outcome[RO_CONFIRMED], 10);
    ck_assert_int_eq(d1->outcome[RO_REJECTED], 2);
    ck_assert_int_eq(d1->outcome[RO_AWAITING], 4);
    ck_assert_int_eq(d1->outcome[RO_FAILED], 1);
    ck_assert_int_eq(d1->outcome[RO_DISCARDED], 2);
    ck_assert_int_eq(d1->outcome[RO_IN_PROGRESS], 2);
    outcomes_add_up(d1);
    ck_assert_int_eq(d1->person, 4);
    ck_assert_int_eq(d1->confirmed_no_person, 9);
    ck_assert_int_eq(d1->timed, 10);
    ck_assert_int_eq(d1->median_ms, 5 * MIN);
    ck_assert_int_eq(d1->p95_ms, 10 * MIN);
    /* open: 21 - 10 confirmed - 2 discarded, 35 hours old at report time */
    ck_assert_int_eq(d1->open_age[RA_1_3D], 9);
    ck_assert_int_eq(d1->open_age[RA_LT1D], 0);
    /* cost: 8 http x 35p + 7 csv x 450p; cli and assisted not costed */
    ck_assert_int_eq(d1->cost_pence, 8 * 35 + 7 * 450);
    ck_assert_int_eq(d1->costed, 15);
    ck_assert_int_eq(value(d1, "cost_per_transaction").v, 229); /* 228.67 */
    ck_assert_int_eq(value(d1, "not_costed").v, 6);
    ck_assert_int_eq(value(d1, "digital_take_up").v, 524);   /* 11/21 */
    ck_assert_int_eq(value(d1, "completion_rate").v, 476);   /* 10/21 */
    ck_assert_int_eq(value(d1, "needed_person_rate").v, 190); /* 4/21 */
    ck_assert_int_eq(value(d1, "open").v, 9);
    /* day 2: five queued by HTTP, 10 hours old */
    ck_assert_int_eq(d2->received, 5);
    ck_assert_int_eq(d2->outcome[RO_IN_PROGRESS], 5);
    ck_assert_int_eq(d2->open_age[RA_LT1D], 5);
    ck_assert(!value(d2, "time_to_complete_median").has);
    outcomes_add_up(d2);
    /* the period adds the days up; its percentiles are its own */
    const struct report_figures *p = &c->period;
    ck_assert_int_eq(p->received, 26);
    outcomes_add_up(p);
    ck_assert_int_eq(p->outcome[RO_IN_PROGRESS], 7);
    ck_assert_int_eq(p->median_ms, 5 * MIN);
    ck_assert_int_eq(value(p, "digital_take_up").v, 615);    /* 16/26 */
    ck_assert_int_eq(value(p, "completion_rate").v, 385);    /* 10/26 */
    ck_assert_uint_eq(c->nreasons, 2);
    ck_assert_str_eq(c->reasons[0].text, "E01: bad NINO");
    ck_assert_int_eq(c->reasons[0].n, 2);
    ck_assert_str_eq(c->reasons[1].text, "timeout");
    /* grants: no costs configured, so no cost figures, all not costed */
    const struct report_service *g = svc(r, "grants");
    ck_assert_int_eq(g->period.received, 4);
    ck_assert_int_eq(g->period.channel[SPOOL_CH_CSV], 4);
    ck_assert(!value(&g->period, "cost_per_transaction").has);
    ck_assert_int_eq(value(&g->period, "not_costed").v, 4);
    ck_assert_int_eq(value(&g->period, "digital_take_up").v, 0);
    ck_assert_uint_eq(g->nreasons, 0);
    /* all services */
    ck_assert_int_eq(r->total.received, 30);
    outcomes_add_up(&r->total);
    ck_assert_int_eq(r->total.outcome[RO_IN_PROGRESS], 11);
    ck_assert_int_eq(r->total.p95_ms, 10 * MIN);
    report_free(r);
}
END_TEST

START_TEST(test_period_and_service_filters)
{
    struct report *r = build("2024-10-05", "2024-10-05", "claims");
    ck_assert_uint_eq(r->nsvc, 1);
    ck_assert_int_eq(r->total.received, 5);
    ck_assert(!value(&r->total, "time_to_complete_median").has);
    report_free(r);
    struct report_opts o = { .from = "2024-10-06", .to = "2024-10-05" };
    struct errs e;
    errs_init(&e);
    ck_assert_int_eq(report_build(sp, &o, &r, &e), -1);
    ck_assert_str_eq(e.v[0].where, "--to");
    errs_free(&e);
}
END_TEST

START_TEST(test_numbers_for_people)
{
    char s[64];
    report_fmt_count(1234567, s, sizeof s);
    ck_assert_str_eq(s, "1,234,567");
    report_fmt_count(999, s, sizeof s);
    ck_assert_str_eq(s, "999");
    report_fmt_count(1000, s, sizeof s);
    ck_assert_str_eq(s, "1,000");
    report_fmt_human(RU_PENCE, (struct report_value){ true, 123456789 }, s,
                     sizeof s);
    ck_assert_str_eq(s, "\xc2\xa3" "1,234,567.89");
    report_fmt_human(RU_MS, (struct report_value){ true, 2 * DAY + 3723000 },
                     s, sizeof s);
    ck_assert_str_eq(s, "2d 01:02:03");
    report_fmt_human(RU_PCT, (struct report_value){ false, 0 }, s, sizeof s);
    ck_assert_str_eq(s, "-");
}
END_TEST

/* csv_value - the value column of the row (service, day, measure) */
static const char *csv_value(const char *csv, const char *service,
                             const char *day, const char *measure,
                             char *out, size_t outsz)
{
    char head[200];
    snprintf(head, sizeof head, "\"%s\",%s,%s,", service, day, measure);
    const char *p = strstr(csv, head);
    ck_assert_msg(p != NULL, "no CSV row %s", head);
    p += strlen(head);
    size_t n = strcspn(p, ",");
    ck_assert_uint_lt(n, outsz);
    memcpy(out, p, n);
    out[n] = '\0';
    return out;
}

START_TEST(test_csv_has_the_same_numbers)
{
    struct report *r = build("2024-10-04", "2024-10-05", NULL);
    struct buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(report_render(r, REPORT_CSV, &b), 0);
    ck_assert(strncmp(b.data, "service,day,measure,value,unit,definition\r\n",
                      43) == 0);
    char v[64];
    ck_assert_str_eq(csv_value(b.data, "claims", "2024-10-04", "received", v,
                               sizeof v), "21");
    ck_assert_str_eq(csv_value(b.data, "claims", "2024-10-04",
                               "channel_csv", v, sizeof v), "7");
    ck_assert_str_eq(csv_value(b.data, "claims", "2024-10-04",
                               "completion_rate", v, sizeof v), "47.6");
    ck_assert_str_eq(csv_value(b.data, "claims", "2024-10-04",
                               "time_to_complete_p95", v, sizeof v),
                     "600000");
    /* (8 + 5) x 35p + 7 x 450p over 20 costed: 180.25p */
    ck_assert_str_eq(csv_value(b.data, "claims", "period",
                               "cost_per_transaction", v, sizeof v), "180");
    ck_assert_str_eq(csv_value(b.data, "grants", "period",
                               "cost_per_transaction", v, sizeof v), "");
    ck_assert_str_eq(csv_value(b.data, "grants", "period", "not_costed", v,
                               sizeof v), "4");
    ck_assert_str_eq(csv_value(b.data, "*", "period", "received", v,
                               sizeof v), "30");
    /* the outcome rows add up to received, as on the page */
    static const char *const oc[] = { "confirmed", "awaiting_confirmation",
        "in_progress", "rejected", "failed", "discarded" };
    long sum = 0;
    for (size_t i = 0; i < 6; i++)
        sum += strtol(csv_value(b.data, "claims", "2024-10-04", oc[i], v,
                                sizeof v), NULL, 10);
    ck_assert_int_eq(sum, 21);
    /* every row carries its definition */
    ck_assert_ptr_nonnull(strstr(b.data, ",percent,\"Confirmed / received: "
                                 "completed end to end.\"\r\n"));
    buf_free(&b);
    report_free(r);
}
END_TEST

static json_t *jget(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    ck_assert_msg(v != NULL, "no member %s", k);
    return v;
}

START_TEST(test_json_schema_and_numbers)
{
    struct report *r = build("2024-10-04", "2024-10-05", NULL);
    struct buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(report_render(r, REPORT_JSON, &b), 0);
    json_error_t err;
    json_t *j = json_loads(b.data, 0, &err);
    ck_assert_msg(j != NULL, "JSON: %s", err.text);
    ck_assert_str_eq(json_string_value(jget(j, "schema")), "ferry-mi/1");
    ck_assert(json_is_true(jget(jget(j, "conservation"), "ok")));
    json_t *m = jget(j, "measures");
    size_t nm;
    report_measures(&nm);
    ck_assert_uint_eq(json_array_size(m), nm);
    for (size_t i = 0; i < nm; i++)
        ck_assert(strlen(json_string_value(jget(json_array_get(m, i),
                                                "definition"))) > 10);
    json_t *s0 = json_array_get(jget(j, "services"), 0);
    ck_assert_str_eq(json_string_value(jget(s0, "service")), "claims");
    json_t *p = jget(s0, "period");
    ck_assert_int_eq(json_integer_value(jget(p, "received")), 26);
    ck_assert(json_real_value(jget(p, "digital_take_up")) > 61.49 &&
              json_real_value(jget(p, "digital_take_up")) < 61.51);
    ck_assert_int_eq(json_integer_value(jget(p, "time_to_complete_median")),
                     5 * MIN);
    json_t *days = jget(s0, "days");
    ck_assert_uint_eq(json_array_size(days), 2);
    json_t *d1 = json_array_get(days, 0);
    ck_assert_int_eq(json_integer_value(jget(d1, "cost_per_transaction")),
                     229);
    ck_assert_int_eq(json_integer_value(jget(d1, "needed_person")), 4);
    json_int_t sum = 0;
    static const char *const oc[] = { "confirmed", "awaiting_confirmation",
        "in_progress", "rejected", "failed", "discarded" };
    for (size_t i = 0; i < 6; i++)
        sum += json_integer_value(jget(d1, oc[i]));
    ck_assert_int_eq(sum, 21);
    json_t *rs = jget(s0, "failure_reasons");
    ck_assert_str_eq(json_string_value(jget(json_array_get(rs, 0), "reason")),
                     "E01: bad NINO");
    json_t *g = json_array_get(jget(j, "services"), 1);
    ck_assert(json_is_null(jget(jget(g, "period"), "cost_per_transaction")));
    ck_assert_int_eq(json_integer_value(jget(jget(j, "total"), "received")),
                     30);
    json_decref(j);
    buf_free(&b);
    report_free(r);
}
END_TEST

/* cell_text - the HTML value cell of (service, measure) */
static void html_cell(const char *page, const char *service,
                      const char *measure, const char *want)
{
    char head[200];
    snprintf(head, sizeof head, "data-service=\"%s\" data-measure=\"%s\">%s<",
             service, measure, want);
    ck_assert_msg(strstr(page, head) != NULL, "no HTML cell %s", head);
}

START_TEST(test_html_page)
{
    struct report *r = build("2024-10-04", "2024-10-05", NULL);
    struct buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(report_render(r, REPORT_HTML, &b), 0);
    ck_assert_ptr_null(strstr(b.data, "<script"));
    ck_assert_ptr_null(strstr(b.data, "src="));
    ck_assert_ptr_null(strstr(b.data, "href="));
    html_cell(b.data, "claims", "received", "26");
    html_cell(b.data, "claims", "cost_per_transaction", "\xc2\xa3" "1.80");
    html_cell(b.data, "claims", "time_to_complete_p95", "00:10:00");
    html_cell(b.data, "claims", "digital_take_up", "61.5%");
    html_cell(b.data, "grants", "cost_per_transaction", "-");
    html_cell(b.data, "*", "received", "30");
    ck_assert_ptr_nonnull(strstr(b.data, "Conservation: OK - all 30 "));
    ck_assert_ptr_nonnull(strstr(b.data, "No failed or rejected records in "
                                 "this period."));       /* grants */
    ck_assert_ptr_nonnull(strstr(b.data, "Confirmed / received: completed "
                                 "end to end."));
    buf_free(&b);
    report_free(r);
}
END_TEST

/* one day is one bar at most 36 px wide, not a block across the chart;
 * a period with nothing says so instead of drawing empty tables */
START_TEST(test_html_one_day_and_empty)
{
    struct report *r = build("2024-10-05", "2024-10-05", "grants");
    struct buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(report_render(r, REPORT_HTML, &b), 0);
    int bars = 0;
    for (const char *p = b.data; (p = strstr(p, "<rect ")); p++) {
        const char *w = strstr(p, "width=\"");
        ck_assert_ptr_nonnull(w);
        long px = strtol(w + 7, NULL, 10);
        ck_assert_int_le(px, 36);
        ck_assert_int_ge(px, 1);
        bars++;
    }
    ck_assert_int_eq(bars, 2);        /* by outcome, by channel */
    buf_free(&b);
    report_free(r);
    r = build("2024-09-01", "2024-09-02", "grants");
    buf_init(&b, 0);
    ck_assert_int_eq(report_render(r, REPORT_HTML, &b), 0);
    ck_assert_ptr_nonnull(strstr(b.data, "No records received in this "
                                 "period."));
    buf_reset(&b);
    ck_assert_int_eq(report_render(r, REPORT_TEXT, &b), 0);
    ck_assert_ptr_nonnull(strstr(b.data, "No records received in this "
                                 "period."));
    ck_assert_ptr_nonnull(strstr(b.data, "No failed or rejected records"));
    buf_free(&b);
    report_free(r);
}
END_TEST

START_TEST(test_html_escapes_text)
{
    struct errs e;
    errs_init(&e);
    char ref[SPOOL_REF_MAX];
    enqueue("claims", "x", 0, SPOOL_CH_HTTP, day1 + 2 * H, ref);
    ck_assert_int_eq(spool_record_fail(sp, ref, NULL, "<b>bad</b> & \"x\"", &e), 0);
    errs_free(&e);
    struct report *r = build("2024-10-04", "2024-10-04", "claims");
    struct buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(report_render(r, REPORT_HTML, &b), 0);
    ck_assert_ptr_null(strstr(b.data, "<b>bad"));
    ck_assert_ptr_nonnull(strstr(b.data, "&lt;b&gt;bad&lt;/b&gt; &amp; "
                                 "&quot;x&quot;"));
    buf_free(&b);
    report_free(r);
}
END_TEST

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* percentiles are exact nearest ranks, duplicates and all, per day (a
 * slice of the sorted times) and over the period (a selection) */
START_TEST(test_percentiles_are_exact)
{
    enum { N = 301 };
    static int64_t t[N];
    static char refs[N][SPOOL_REF_MAX];
    struct errs e;
    errs_init(&e);
    struct spool_ack *acks = calloc(N, sizeof *acks);
    ck_assert_ptr_nonnull(acks);
    uint64_t x = 12345;
    for (int i = 0; i < N; i++) {
        enqueue("timed", "t", i, SPOOL_CH_HTTP, day1 + 3 * DAY + H, refs[i]);
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        t[i] = (int64_t)((x >> 33) % 50) * 1000;    /* many the same */
        acks[i] = (struct spool_ack){ .key = refs[i], .accepted = true };
    }
    struct spool_batch *b = NULL;
    ck_assert_int_eq(spool_batch_bind(sp, "mf", "2024-10-07", 0, &b, &e), 0);
    ck_assert_int_eq(spool_batch_written(sp, b->id, "T1", b->record_count,
                                         NULL, "00", &e), 0);
    ck_assert_int_eq(spool_batch_sent(sp, b->id, &e), 0);
    spool_batch_free(b);
    ck_assert_int_eq(spool_ack_apply(sp, NULL, NULL, acks, N, NULL, NULL,
                                     NULL, NULL, &e), 0);
    /* one connection for all of them: a connection a row is seconds on
     * PostgreSQL */
    struct sql_conn *db = test_ledger_open(spdir);
    for (int i = 0; i < N; i++) {
        struct sql_stmt *st = sql_prepare(db, "UPDATE records SET "
                                          "confirmed_at = received_at + ?1 "
                                          "WHERE ref = ?2");
        ck_assert_ptr_nonnull(st);
        sql_bind_int64(st, 1, t[i]);
        sql_bind_text(st, 2, refs[i]);
        ck_assert_msg(sql_step(st) == SQL_STEP_DONE, "%s", sql_errmsg(db));
    }
    sql_close(db);
    qsort(t, N, sizeof t[0], cmp_i64);
    struct report *r = build("2024-10-07", "2024-10-07", "timed");
    const struct report_figures *d = &r->svc[0].days[0].f,
                                *p = &r->svc[0].period;
    ck_assert_int_eq(d->timed, N);
    ck_assert_int_eq(d->median_ms, t[(50 * N + 99) / 100 - 1]);
    ck_assert_int_eq(d->p95_ms, t[(95 * N + 99) / 100 - 1]);
    ck_assert_int_eq(p->median_ms, d->median_ms);
    ck_assert_int_eq(p->p95_ms, d->p95_ms);
    ck_assert_int_eq(r->total.p95_ms, d->p95_ms);
    report_free(r);
    free(acks);
    errs_free(&e);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("mi");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_figures_add_up_to_the_ledger);
    tcase_add_test(tc, test_period_and_service_filters);
    tcase_add_test(tc, test_numbers_for_people);
    tcase_add_test(tc, test_csv_has_the_same_numbers);
    tcase_add_test(tc, test_json_schema_and_numbers);
    tcase_add_test(tc, test_html_page);
    tcase_add_test(tc, test_html_one_day_and_empty);
    tcase_add_test(tc, test_html_escapes_text);
    tcase_add_test(tc, test_percentiles_are_exact);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
