/* check_sched.c - the daemon scheduler's planning: next due time of a
 * configured job across both 2026 Europe/London clock changes, start-up
 * catch-up (run once / skip / never ran / nothing missed), bad jobs, and
 * the `ferry jobs` listing's local and UTC times. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "scheduler/catchup.h"
#include "scheduler/sched.h"
#include "util/tz.h"
#include "util/errs.h"

static int64_t utc(int y, int mo, int d, int h, int mi)
{
    return tz_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60;
}

static struct job_config job(const char *schedule, const char *zone,
                             const char *catch_up)
{
    struct job_config j;
    memset(&j, 0, sizeof j);
    j.name = (char *)"claims-nightly";
    j.schedule = (char *)schedule;
    j.tz = (char *)zone;
    j.action = (char *)"batch";
    j.catch_up = (char *)catch_up;
    return j;
}

static int64_t next(const struct job_config *j, int64_t after)
{
    struct errs e;
    errs_init(&e);
    int64_t n = 0;
    ck_assert_msg(sched_next_due(j, after, &n, &e) == 0, "%s",
                  errs_first_msg(&e));
    errs_free(&e);
    return n;
}

START_TEST(test_next_due_in_london_winter_and_summer)
{
    struct job_config j = job("30 1 * * *", "Europe/London", NULL);
    /* GMT: 01:30 local is 01:30 UTC */
    ck_assert_int_eq(next(&j, utc(2026, 11, 27, 10, 0)),
                     utc(2026, 11, 28, 1, 30));
    /* BST: 01:30 local is 00:30 UTC */
    ck_assert_int_eq(next(&j, utc(2026, 7, 1, 12, 0)),
                     utc(2026, 7, 2, 0, 30));
    /* strictly after: at the run itself, the next day's */
    ck_assert_int_eq(next(&j, utc(2026, 11, 28, 1, 30)),
                     utc(2026, 11, 29, 1, 30));
}
END_TEST

START_TEST(test_spring_gap_runs_once_at_the_change)
{
    struct job_config j = job("30 1 * * *", "Europe/London", NULL);
    /* 2026-03-29 01:30 does not exist in London: run at 01:00 UTC (the
     * clock shows 02:00 BST), once */
    int64_t a = next(&j, utc(2026, 3, 28, 12, 0));
    ck_assert_int_eq(a, utc(2026, 3, 29, 1, 0));
    ck_assert_int_eq(next(&j, a), utc(2026, 3, 30, 0, 30));
    /* every-15-minutes job: the gap's four times collapse into one run */
    struct job_config q = job("*/15 1 * * *", "Europe/London", NULL);
    int64_t g = next(&q, utc(2026, 3, 29, 0, 50));
    ck_assert_int_eq(g, utc(2026, 3, 29, 1, 0));
    ck_assert_int_gt(next(&q, g), utc(2026, 3, 30, 0, 0) - 1);
}
END_TEST

START_TEST(test_autumn_repeat_runs_once)
{
    struct job_config j = job("30 1 * * *", "Europe/London", NULL);
    /* 2026-10-25 01:30 happens twice: only the first (BST, 00:30 UTC) */
    int64_t a = next(&j, utc(2026, 10, 24, 12, 0));
    ck_assert_int_eq(a, utc(2026, 10, 25, 0, 30));
    ck_assert_int_eq(next(&j, a), utc(2026, 10, 26, 1, 30));
}
END_TEST

START_TEST(test_catch_up_runs_once_however_many_missed)
{
    struct job_config j = job("30 1 * * *", "Europe/London", "run");
    struct sched_plan p;
    struct errs e;
    errs_init(&e);
    int64_t now = utc(2026, 11, 27, 10, 0);
    ck_assert_int_eq(sched_plan_startup(&j, utc(2026, 11, 25, 1, 30), now,
                                        &p, &e), 0);
    ck_assert(p.run_now);
    ck_assert(!p.skipped);
    ck_assert_uint_eq(p.nmissed, 2);            /* 26th and 27th */
    ck_assert_int_eq(p.missed_s, utc(2026, 11, 26, 1, 30));
    ck_assert_int_eq(p.next_s, utc(2026, 11, 28, 1, 30));
    /* nothing missed: last run was today's */
    ck_assert_int_eq(sched_plan_startup(&j, utc(2026, 11, 27, 1, 30), now,
                                        &p, &e), 0);
    ck_assert(!p.run_now);
    ck_assert(!p.skipped);
    ck_assert_uint_eq(p.nmissed, 0);
    /* never ran: wait for the next time */
    ck_assert_int_eq(sched_plan_startup(&j, CRON_NEVER_RAN, now, &p, &e), 0);
    ck_assert(!p.run_now);
    ck_assert_int_eq(p.next_s, utc(2026, 11, 28, 1, 30));
    /* default policy (catch-up absent) is run */
    struct job_config d = job("30 1 * * *", "Europe/London", NULL);
    ck_assert_int_eq(sched_plan_startup(&d, utc(2026, 11, 20, 1, 30), now,
                                        &p, &e), 0);
    ck_assert(p.run_now);
    errs_free(&e);
}
END_TEST

START_TEST(test_catch_up_skip_logs_and_waits)
{
    struct job_config j = job("15 3 * * 0", "Europe/London", "skip");
    struct sched_plan p;
    struct errs e;
    errs_init(&e);
    int64_t now = utc(2026, 11, 27, 10, 0);     /* a Friday */
    ck_assert_int_eq(sched_plan_startup(&j, utc(2026, 11, 1, 3, 15), now, &p,
                                        &e), 0);
    ck_assert(!p.run_now);
    ck_assert(p.skipped);
    ck_assert_uint_eq(p.nmissed, 3);            /* 8th, 15th, 22nd */
    ck_assert_int_eq(p.next_s, utc(2026, 11, 29, 3, 15));
    errs_free(&e);
}
END_TEST

START_TEST(test_bad_jobs_are_named)
{
    struct errs e;
    errs_init(&e);
    int64_t n;
    struct job_config j = job("61 * * * *", "Europe/London", NULL);
    ck_assert_int_eq(sched_next_due(&j, 0, &n, &e), -1);
    ck_assert_str_eq(e.v[0].where, "claims-nightly");
    ck_assert(strstr(e.v[0].msg, "schedule") != NULL);
    errs_clear(&e);
    j = job("0 1 * * *", "Mars/Olympus", NULL);
    ck_assert_int_eq(sched_next_due(&j, 0, &n, &e), -1);
    ck_assert(strstr(e.v[0].msg, "time zone") != NULL);
    errs_clear(&e);
    struct sched_plan p;
    j = job("0 1 * * *", "UTC", "sometimes");
    ck_assert_int_eq(sched_plan_startup(&j, 0, 1000, &p, &e), -1);
    ck_assert(strstr(e.v[0].msg, "catch-up") != NULL);
    errs_free(&e);
}
END_TEST

START_TEST(test_listing_shows_local_and_utc)
{
    struct job_config jobs[2];
    jobs[0] = job("30 1 * * *", "Europe/London", NULL);
    jobs[1] = job("0 7 * * 1-5", "America/New_York", "skip");
    jobs[1].name = (char *)"acks";
    struct ferry_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.jobs = jobs;
    cfg.njobs = 2;
    struct sched_job_info *v = NULL;
    size_t n = 0;
    struct errs e;
    errs_init(&e);
    ck_assert_int_eq(sched_list(&cfg, NULL, utc(2026, 7, 1, 12, 0), &v, &n,
                                &e), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(v[0].next_utc, "2026-07-02T00:30:00Z");
    ck_assert_str_eq(v[0].next_local, "2026-07-02 01:30:00 BST");
    ck_assert_str_eq(v[1].next_utc, "2026-07-02T11:00:00Z");
    ck_assert_str_eq(v[1].next_local, "2026-07-02 07:00:00 EDT");
    ck_assert_str_eq(v[1].catch_up, "skip");
    ck_assert(!v[0].has_last);
    free(v);
    errs_free(&e);
}
END_TEST

static Suite *sched_suite(void)
{
    Suite *s = suite_create("sched");
    TCase *tc = tcase_create("plan");
    tcase_add_test(tc, test_next_due_in_london_winter_and_summer);
    tcase_add_test(tc, test_spring_gap_runs_once_at_the_change);
    tcase_add_test(tc, test_autumn_repeat_runs_once);
    tcase_add_test(tc, test_catch_up_runs_once_however_many_missed);
    tcase_add_test(tc, test_catch_up_skip_logs_and_waits);
    tcase_add_test(tc, test_bad_jobs_are_named);
    tcase_add_test(tc, test_listing_shows_local_and_utc);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(sched_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
