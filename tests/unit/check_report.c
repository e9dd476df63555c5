/* check_report.c - the report's figures add up to the ledger: a spool is
 * built through the spool API with records on two days and in every kind
 * of state, and each figure is checked against what was done to it:
 * states, open by age, intake counters, confirmation times, "completed
 * without intervention", failure reasons, batches, conservation; then
 * the renderings (HTML self-contained with SVG and escaped text). */
#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "scheduler/report.h"
#include "spool/spool.h"
#include "util/buf.h"
#include "util/errs.h"

#define DAY 86400000LL

static char tmpdir[512];
static struct spool *sp;
static int64_t day1;          /* 00:00 UTC of the first day, ms */

static int rm_one(const char *p, const struct stat *sb, int flag,
                  struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(p);
}

/* enqueue - n records of svc received at `at`, idempotency keys from tag */
static void enqueue(const char *svc, const char *tag, int n, int64_t at,
                    char refs[][SPOOL_REF_MAX])
{
    struct errs e;
    errs_init(&e);
    for (int i = 0; i < n; i++) {
        char key[64];
        snprintf(key, sizeof key, "%s-%d", tag, i);
        struct spool_item it = { .service = svc, .target = "mf",
            .idem_key = key, .payload = "{}", .payload_len = 2,
            .record_json = "{}", .received_at = at };
        struct spool_result res;
        ck_assert_int_eq(spool_enqueue(sp, &it, 1, &res, &e), 0);
        if (refs)
            memcpy(refs[i], res.ref, SPOOL_REF_MAX);
    }
    errs_free(&e);
}

/* The ledger after setup (service "claims", day 1 unless said):
 *   10 received on day 1: batch sent; ack: 6 confirmed, 2 rejected
 *      ("E01: bad NINO"), 2 still sent
 *   one of the confirmed ones was first rejected?  no: one confirmed is
 *      later given an audit entry (spool_audit_add) -> intervention
 *    3 received on day 2: 1 failed ("timeout"), 1 held, 1 queued
 *    2 received on day 2 then discarded
 *   service "grants": 4 received on day 2, queued
 *   intake counters: 3 refused at the door and 1 duplicate on "claims" */
static char c1[10][SPOOL_REF_MAX], c2[3][SPOOL_REF_MAX], c3[2][SPOOL_REF_MAX];

static void setup(void)
{
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/check_report.XXXXXX", t ? t : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    char dir[600];
    snprintf(dir, sizeof dir, "%s/spool", tmpdir);
    struct errs e;
    errs_init(&e);
    sp = spool_open(dir, NULL, &e);
    ck_assert_ptr_nonnull(sp);
    day1 = 20000LL * DAY;                         /* 2024-10-04 */
    enqueue("claims", "a", 10, day1 + 3600000, c1);
    struct spool_batch *b = NULL;
    ck_assert_int_eq(spool_batch_bind(sp, "mf", "2024-10-04", 0, &b, &e), 0);
    ck_assert_int_eq(spool_batch_written(sp, b->id, "CLM.D241004.S001", 10,
                                         "AMT=1.00", "00", &e), 0);
    ck_assert_int_eq(spool_batch_sent(sp, b->id, &e), 0);
    spool_batch_free(b);
    struct spool_ack acks[8];
    for (int i = 0; i < 8; i++) {
        acks[i] = (struct spool_ack){ .key = c1[i], .accepted = i < 6,
                                      .reason = i < 6 ? NULL : "E01: bad NINO" };
    }
    ck_assert_int_eq(spool_ack_apply(sp, NULL, NULL, acks, 8, NULL, NULL,
                                     NULL, NULL, &e), 0);
    ck_assert_int_eq(spool_audit_add(sp, "bob", "note", c1[0], "looked at it",
                                     NULL, &e), 0);
    enqueue("claims", "b", 3, day1 + DAY + 7200000, c2);
    ck_assert_int_eq(spool_record_fail(sp, c2[0], "timeout", &e), 0);
    ck_assert_int_eq(spool_hold(sp, c2[1], "bob", "wait", &e), 0);
    enqueue("claims", "c", 2, day1 + DAY + 7200000, c3);
    ck_assert_int_eq(spool_discard(sp, c3[0], "bob", "test", &e), 0);
    ck_assert_int_eq(spool_discard(sp, c3[1], "bob", "test", &e), 0);
    enqueue("grants", "g", 4, day1 + DAY + 7200000, NULL);
    enqueue("claims", "b", 1, day1 + DAY + 7200000, NULL);   /* duplicate */
    ck_assert_int_eq(spool_count_rejected_at_door(sp, "claims", 3, &e), 0);
    errs_free(&e);
}

static void teardown(void)
{
    spool_close(sp);
    sp = NULL;
    nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static struct report *build(const char *from, const char *to, const char *svc,
                            int64_t now)
{
    struct report_opts o = { .from = from, .to = to, .service = svc,
                             .now_ms = now };
    struct report *r = NULL;
    struct errs e;
    errs_init(&e);
    ck_assert_msg(report_build(sp, &o, &r, &e) == 0, "%s", errs_first_msg(&e));
    errs_free(&e);
    return r;
}

static const struct report_day *cell(const struct report *r, const char *svc,
                                     const char *day)
{
    for (size_t i = 0; i < r->ndays; i++)
        if (strcmp(r->days[i].service, svc) == 0 &&
            strcmp(r->days[i].day, day) == 0)
            return &r->days[i];
    return NULL;
}

START_TEST(test_figures_add_up_to_the_ledger)
{
    int64_t now = day1 + 10 * DAY;
    struct report *r = build("2024-10-04", "2024-10-05", NULL, now);
    const struct report_figures *t = &r->total;
    ck_assert_int_eq(t->received, 19);
    ck_assert_int_eq(t->state[RS_CONFIRMED], 6);
    ck_assert_int_eq(t->state[RS_REJECTED], 2);
    ck_assert_int_eq(t->state[RS_DELIVERED], 2);       /* still sent */
    ck_assert_int_eq(t->state[RS_FAILED], 1);
    ck_assert_int_eq(t->state[RS_DISCARDED], 2);
    ck_assert_int_eq(t->state[RS_IN_PROGRESS], 6);     /* held, queued, 4 grants */
    ck_assert(r->conserved);
    ck_assert_int_eq(r->conservation_diff, 0);
    ck_assert_int_eq(t->open, 19 - 6 - 2);
    /* open by age at day1 + 10 days: day-1 records 9+ days old, day-2 8+ */
    ck_assert_int_eq(t->open_age[RA_GT7D], 11);
    /* intake counters: accepted and duplicates count on the received day,
     * refusals at the door on the day they happen (today) */
    ck_assert_int_eq(t->duplicates, 1);
    ck_assert_int_eq(t->intake_accepted, 19);
    ck_assert_int_eq(r->counter_diff, 0);
    ck_assert_int_eq(t->rejected_at_door, 0);
    /* one confirmed record has an audit entry */
    ck_assert_int_eq(t->untouched, 5);
    ck_assert_int_eq(t->confirm_n, 6);
    ck_assert_int_ge(t->confirm_median_ms, 0);
    ck_assert_int_le(t->confirm_median_ms, t->confirm_p95_ms);
    /* per service and day */
    const struct report_day *a = cell(r, "claims", "2024-10-04");
    const struct report_day *b = cell(r, "claims", "2024-10-05");
    const struct report_day *g = cell(r, "grants", "2024-10-05");
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(a->f.received, 10);
    ck_assert_int_eq(b->f.received, 5);
    ck_assert_int_eq(b->f.state[RS_DISCARDED], 2);
    ck_assert_int_eq(g->f.received, 4);
    ck_assert_int_eq(r->nsvc, 2);
    /* reasons, most first */
    ck_assert_uint_ge(r->nreasons, 2);
    ck_assert_str_eq(r->reasons[0].text, "E01: bad NINO");
    ck_assert_int_eq(r->reasons[0].n, 2);
    ck_assert_str_eq(r->reasons[1].text, "timeout");
    /* the batch, with its records' states now */
    ck_assert_uint_eq(r->nbatches, 1);
    ck_assert_str_eq(r->batches[0].file_name, "CLM.D241004.S001");
    ck_assert_int_eq(r->batches[0].confirmed, 6);
    ck_assert_int_eq(r->batches[0].rejected, 2);
    ck_assert_int_eq(r->batches[0].other, 2);
    report_free(r);
    /* today's counters: the 3 refused at the door */
    char today[11];
    time_t tt = time(NULL);
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(today, sizeof today, "%Y-%m-%d", &tm);
    r = build(today, today, NULL, 0);
    ck_assert_int_eq(r->total.rejected_at_door, 3);
    ck_assert_int_eq(r->total.duplicates, 0);
    ck_assert_int_eq(r->total.received, 0);
    ck_assert_int_eq(r->counter_diff, 0);
    ck_assert(r->conserved);
    report_free(r);
}
END_TEST

START_TEST(test_date_and_service_filters)
{
    int64_t now = day1 + 2 * DAY;
    struct report *r = build("2024-10-05", "2024-10-05", NULL, now);
    ck_assert_int_eq(r->total.received, 9);
    ck_assert_str_eq(r->from, "2024-10-05");
    /* day 2's records are under a day old at day1 + 2 days - 2 h... */
    ck_assert_int_eq(r->total.open_age[RA_LT1D], 7);
    report_free(r);
    r = build(NULL, NULL, "grants", now);
    ck_assert_int_eq(r->total.received, 4);
    ck_assert_int_eq(r->nsvc, 1);
    report_free(r);
    struct report_opts o = { .from = "2024-10-06", .to = "2024-10-05" };
    struct errs e;
    errs_init(&e);
    ck_assert_int_eq(report_build(sp, &o, &r, &e), -1);
    ck_assert_ptr_null(r);
    errs_free(&e);
}
END_TEST

START_TEST(test_renderings)
{
    struct report *r = build(NULL, NULL, NULL, day1 + 10 * DAY);
    struct buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(report_render(r, REPORT_HTML, &b), 0);
    const char *h = buf_str(&b);
    ck_assert_ptr_nonnull(strstr(h, "<!DOCTYPE html>"));
    ck_assert_ptr_nonnull(strstr(h, "<svg"));
    ck_assert_ptr_nonnull(strstr(h, "Conservation: OK"));
    ck_assert_ptr_null(strstr(h, "<script"));
    ck_assert_ptr_null(strstr(h, "http://www.w3.org/1999"));   /* no links out */
    ck_assert_ptr_null(strstr(h, "src="));
    ck_assert_ptr_null(strstr(h, "href="));
    buf_reset(&b);
    ck_assert_int_eq(report_render(r, REPORT_CSV, &b), 0);
    ck_assert_ptr_nonnull(strstr(buf_str(&b), "\"claims\",2024-10-04,10,"));
    buf_reset(&b);
    ck_assert_int_eq(report_render(r, REPORT_JSON, &b), 0);
    ck_assert_ptr_nonnull(strstr(buf_str(&b), "\"conservation\":{\"ok\":true"));
    buf_reset(&b);
    ck_assert_int_eq(report_render(r, REPORT_TEXT, &b), 0);
    ck_assert_ptr_nonnull(strstr(buf_str(&b), "Conservation: OK - all 19"));
    buf_free(&b);
    report_free(r);
}
END_TEST

START_TEST(test_html_escapes_text)
{
    struct errs e;
    errs_init(&e);
    char ref[1][SPOOL_REF_MAX];
    enqueue("x<script>", "z", 1, day1 + 3600000, ref);
    ck_assert_int_eq(spool_record_fail(sp, ref[0], "<b>\"boom\" & 'bang'</b>",
                                       &e), 0);
    errs_free(&e);
    struct report *r = build(NULL, NULL, NULL, day1 + DAY);
    struct buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(report_render(r, REPORT_HTML, &b), 0);
    ck_assert_ptr_null(strstr(buf_str(&b), "<script>"));
    ck_assert_ptr_null(strstr(buf_str(&b), "<b>\"boom"));
    ck_assert_ptr_nonnull(strstr(buf_str(&b), "x&lt;script&gt;"));
    ck_assert_ptr_nonnull(strstr(buf_str(&b),
                                 "&lt;b&gt;&quot;boom&quot; &amp; &#39;bang&#39;"));
    buf_free(&b);
    report_free(r);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("figures");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_figures_add_up_to_the_ledger);
    tcase_add_test(tc, test_date_and_service_filters);
    tcase_add_test(tc, test_renderings);
    tcase_add_test(tc, test_html_escapes_text);
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
