/* check_cron.c - cron parsing (good and bad, with the error text), next run
 * in Europe/London across both 2026 clock changes, Vixie day rules, and
 * the start-up catch-up decision. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler/catchup.h"
#include "scheduler/cron.h"
#include "util/tz.h"
#include "util/errs.h"

static int64_t utc(int y, int mo, int d, int h, int mi)
{
    return tz_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60;
}

static struct tz *london;

static void setup(void)
{
    struct errs e;
    errs_init(&e);
    london = tz_load("Europe/London", &e);
    ck_assert_msg(london != NULL, "%s", errs_first_msg(&e));
    errs_free(&e);
}

static void teardown(void)
{
    tz_free(london);
}

static struct cron parse_ok(const char *expr)
{
    struct cron c;
    struct errs e;
    errs_init(&e);
    ck_assert_msg(cron_parse(expr, &c, &e) == 0, "'%s': %s", expr,
                  errs_first_msg(&e));
    ck_assert_int_eq(e.n, 0);
    errs_free(&e);
    return c;
}

/* parse_bad - expr is refused with exactly one message containing want */
static void parse_bad(const char *expr, const char *want)
{
    struct cron c;
    struct errs e;
    errs_init(&e);
    ck_assert_msg(cron_parse(expr, &c, &e) == -1, "'%s' was accepted", expr);
    ck_assert_int_eq(e.n, 1);
    ck_assert_msg(strstr(errs_first_msg(&e), want) != NULL,
                  "'%s': got \"%s\", want \"%s\"", expr, errs_first_msg(&e),
                  want);
    errs_free(&e);
}

static int64_t next(const char *expr, const struct tz *z, int64_t after)
{
    struct cron c = parse_ok(expr);
    int64_t t = 0;
    ck_assert_msg(cron_next(&c, z, after, &t) == 0, "'%s': no next run", expr);
    return t;
}

START_TEST(test_parse_steps_ranges_lists_and_names)
{
    struct cron c = parse_ok("*/15 9-17 1,15 JAN-mar mon-FRI");
    ck_assert_uint_eq(c.minute, (1ULL << 0) | (1ULL << 15) | (1ULL << 30) |
                                (1ULL << 45));
    ck_assert_uint_eq(c.hour, 0x3fe00u);        /* 9..17 */
    ck_assert_uint_eq(c.dom, (1u << 1) | (1u << 15));
    ck_assert_uint_eq(c.month, (1u << 1) | (1u << 2) | (1u << 3));
    ck_assert_uint_eq(c.dow, 0x3eu);            /* Mon..Fri */
    ck_assert(!c.dom_star);
    ck_assert(!c.dow_star);
    c = parse_ok("0 1-5/2 * * *");
    ck_assert_uint_eq(c.hour, (1u << 1) | (1u << 3) | (1u << 5));
    ck_assert(c.dom_star && c.dow_star);
    c = parse_ok("10/20 * * * *");              /* 10 to 59 step 20 */
    ck_assert_uint_eq(c.minute, (1ULL << 10) | (1ULL << 30) | (1ULL << 50));
}
END_TEST

START_TEST(test_parse_seven_and_zero_are_both_sunday)
{
    struct cron a = parse_ok("0 0 * * 7");
    struct cron b = parse_ok("0 0 * * 0");
    struct cron c = parse_ok("0 0 * * SUN");
    ck_assert_uint_eq(a.dow, 1u);
    ck_assert_uint_eq(b.dow, 1u);
    ck_assert_uint_eq(c.dow, 1u);
    struct cron d = parse_ok("0 0 * * 5-7");
    ck_assert_uint_eq(d.dow, (1u << 5) | (1u << 6) | 1u);
}
END_TEST

START_TEST(test_parse_macros)
{
    struct cron a = parse_ok("@daily");
    struct cron b = parse_ok("0 0 * * *");
    ck_assert_mem_eq(&a, &b, sizeof a);
    a = parse_ok("  @hourly ");
    ck_assert_uint_eq(a.minute, 1u);
    ck_assert_uint_eq(a.hour, 0xffffffu);
    parse_bad("@reboot", "unknown or misplaced macro '@reboot'");
}
END_TEST

START_TEST(test_parse_errors_name_field_and_column)
{
    parse_bad("61 * * * *", "minute (field 1) at column 1: 61 is out of range 0-59");
    parse_bad("0 25 * * *", "hour (field 2) at column 3: 25 is out of range 0-23");
    parse_bad("0 0 0 * *", "day-of-month (field 3) at column 5: 0 is out of range 1-31");
    parse_bad("0 0 * FOO *", "month (field 4) at column 7: 'FOO' is not a valid number or name");
    parse_bad("0 0 * * 8", "day-of-week (field 5) at column 9: 8 is out of range 0-7");
    parse_bad("0  12  *  *  MOM", "day-of-week (field 5) at column 14: 'MOM'");
    parse_bad("*/0 * * * *", "minute (field 1) at column 3: step 0 is out of range 1-60");
    parse_bad("0 17-9 * * *", "hour (field 2) at column 6: range 17-9 runs backwards");
    parse_bad("1,,2 * * * *", "minute (field 1) at column 3: empty list item");
    parse_bad("5x * * * *", "minute (field 1) at column 2: unexpected 'x'");
    parse_bad("0 */ * * *", "hour (field 2) at column 5: expected a step number");
    parse_bad("0 0 * *", "column 8: expected 5 fields (minute hour day-of-month month day-of-week), found 4");
    parse_bad("0 0 * * * /bin/true", "column 11: unexpected '/bin/true' after the 5 fields");
    parse_bad("", "expected 5 fields");
}
END_TEST

START_TEST(test_parse_refuses_dates_that_never_exist)
{
    parse_bad("0 0 30 2 *", "never matches a real date");
    parse_bad("0 0 31 4,6,9,11 *", "never matches a real date");
    parse_ok("0 0 29 2 *");           /* leap years only, but real */
    parse_ok("0 0 30 2 MON");         /* Vixie OR: every Monday in February */
}
END_TEST

START_TEST(test_next_is_strictly_after)
{
    int64_t at = utc(2026, 1, 10, 1, 30);      /* 01:30 GMT */
    ck_assert_int_eq(next("30 1 * * *", london, at - 1), at);
    ck_assert_int_eq(next("30 1 * * *", london, at), at + 86400);
    ck_assert_int_eq(next("* * * * *", london, at + 5), at + 60);
}
END_TEST

START_TEST(test_next_in_summer_is_an_hour_earlier_in_utc)
{
    ck_assert_int_eq(next("30 1 * * *", london, utc(2026, 7, 1, 12, 0)),
                     utc(2026, 7, 2, 0, 30));
}
END_TEST

START_TEST(test_spring_gap_job_runs_once_at_end_of_gap)
{
    /* 2026-03-29: 01:00 GMT -> 02:00 BST; 01:30 does not exist. */
    int64_t t = next("30 1 * * *", london, utc(2026, 3, 28, 12, 0));
    ck_assert_int_eq(t, utc(2026, 3, 29, 1, 0));   /* = 02:00 BST */
    t = next("30 1 * * *", london, t);
    ck_assert_int_eq(t, utc(2026, 3, 30, 0, 30));  /* 01:30 BST next day */
}
END_TEST

START_TEST(test_spring_gap_times_collapse_into_one_run)
{
    int64_t t = next("*/15 * * * *", london, utc(2026, 3, 29, 0, 50));
    ck_assert_int_eq(t, utc(2026, 3, 29, 1, 0));   /* 01:00-01:45 + 02:00 */
    t = next("*/15 * * * *", london, t);
    ck_assert_int_eq(t, utc(2026, 3, 29, 1, 15));  /* 02:15 BST */
}
END_TEST

START_TEST(test_autumn_fold_job_runs_once_at_first_occurrence)
{
    /* 2026-10-25: 02:00 BST -> 01:00 GMT; 01:30 happens twice. */
    int64_t t = next("30 1 * * *", london, utc(2026, 10, 24, 12, 0));
    ck_assert_int_eq(t, utc(2026, 10, 25, 0, 30));   /* 01:30 BST */
    t = next("30 1 * * *", london, t);
    ck_assert_int_eq(t, utc(2026, 10, 26, 1, 30));   /* not 01:30 GMT today */
    /* asked from inside the repeated hour, it still does not run again */
    ck_assert_int_eq(next("30 1 * * *", london, utc(2026, 10, 25, 1, 10)),
                     utc(2026, 10, 26, 1, 30));
}
END_TEST

START_TEST(test_hourly_job_through_fold_skips_repeated_hour)
{
    int64_t t = next("0 * * * *", london, utc(2026, 10, 24, 23, 30));
    ck_assert_int_eq(t, utc(2026, 10, 25, 0, 0));    /* 01:00 BST */
    t = next("0 * * * *", london, t);
    ck_assert_int_eq(t, utc(2026, 10, 25, 2, 0));    /* 02:00 GMT */
}
END_TEST

START_TEST(test_hourly_runs_in_2026_count_every_wall_clock_hour_once)
{
    /* 8760 wall-clock hours in 2026; the spring gap's 01:00 collapses into
     * 02:00 and the fold's 01:00 runs once: 8759 runs, strictly rising. */
    struct cron c = parse_ok("0 * * * *");
    int64_t t = utc(2025, 12, 31, 23, 59), end = utc(2026, 12, 31, 23, 0);
    int n = 0;
    for (;;) {
        int64_t nx;
        ck_assert_int_eq(cron_next(&c, london, t, &nx), 0);
        ck_assert_int_gt(nx, t);
        if (nx > end)
            break;
        n++;
        t = nx;
    }
    ck_assert_int_eq(n, 8759);
}
END_TEST

START_TEST(test_new_york_gap_runs_at_0300_edt)
{
    struct errs e;
    errs_init(&e);
    struct tz *ny = tz_load("America/New_York", &e);
    ck_assert_ptr_nonnull(ny);
    ck_assert_int_eq(next("30 2 * * *", ny, utc(2026, 3, 7, 12, 0)),
                     utc(2026, 3, 8, 7, 0));
    ck_assert_int_eq(next("30 1 * * *", ny, utc(2026, 10, 31, 12, 0)),
                     utc(2026, 11, 1, 5, 30));
    ck_assert_int_eq(next("30 1 * * *", ny, utc(2026, 11, 1, 5, 30)),
                     utc(2026, 11, 2, 6, 30));
    tz_free(ny);
    errs_free(&e);
}
END_TEST

START_TEST(test_dom_and_dow_both_set_match_either)
{
    /* 1st of the month OR a Monday: after Fri 2026-05-01 12:00 UTC comes
     * Mon 05-04, then Mon 05-11 ... and Mon 06-01 is both. */
    int64_t t = next("0 12 1 * MON", london,
                     utc(2026, 4, 30, 12, 0));
    ck_assert_int_eq(t, utc(2026, 5, 1, 11, 0));
    t = next("0 12 1 * MON", london, t);
    ck_assert_int_eq(t, utc(2026, 5, 4, 11, 0));
}
END_TEST

START_TEST(test_star_dow_means_dom_alone)
{
    int64_t t = next("0 12 1 * *", london, utc(2026, 5, 1, 12, 0));
    ck_assert_int_eq(t, utc(2026, 6, 1, 11, 0));
    /* dow "*\/2" starts with '*': AND (Vixie) - the 1st AND Sun/Tue/Thu/Sat */
    t = next("0 12 1 * */2", london, utc(2026, 5, 1, 12, 0));
    ck_assert_int_eq(t, utc(2026, 8, 1, 11, 0));     /* Sat 2026-08-01 */
}
END_TEST

START_TEST(test_feb_29_waits_for_leap_year)
{
    ck_assert_int_eq(next("0 0 29 2 *", london, utc(2026, 1, 1, 0, 0)),
                     utc(2028, 2, 29, 0, 0));
}
END_TEST

START_TEST(test_catchup_runs_missed_job_once)
{
    struct cron c = parse_ok("0 2 * * *");
    int64_t missed = 0;
    unsigned n = 0;
    enum cron_catchup_action a =
        cron_catchup(&c, london, CRON_CATCHUP_POLICY_RUN,
                     utc(2026, 5, 1, 1, 0), utc(2026, 5, 3, 12, 0), &missed, &n);
    ck_assert_int_eq(a, CRON_CATCHUP_RUN_NOW);
    ck_assert_int_eq(missed, utc(2026, 5, 2, 1, 0));
    ck_assert_uint_eq(n, 2);
}
END_TEST

START_TEST(test_catchup_skip_policy_skips)
{
    struct cron c = parse_ok("0 2 * * *");
    int64_t missed = 0;
    ck_assert_int_eq(cron_catchup(&c, london, CRON_CATCHUP_POLICY_SKIP,
                                  utc(2026, 5, 1, 1, 0), utc(2026, 5, 3, 12, 0),
                                  &missed, NULL),
                     CRON_CATCHUP_SKIPPED);
    ck_assert_int_eq(missed, utc(2026, 5, 2, 1, 0));
}
END_TEST

START_TEST(test_catchup_nothing_missed_or_never_ran)
{
    struct cron c = parse_ok("0 2 * * *");
    int64_t missed = 42;
    ck_assert_int_eq(cron_catchup(&c, london, CRON_CATCHUP_POLICY_RUN,
                                  utc(2026, 5, 3, 1, 0), utc(2026, 5, 3, 12, 0),
                                  &missed, NULL),
                     CRON_CATCHUP_NONE);
    ck_assert_int_eq(missed, 0);
    ck_assert_int_eq(cron_catchup(&c, london, CRON_CATCHUP_POLICY_RUN,
                                  CRON_NEVER_RAN, utc(2026, 5, 3, 12, 0),
                                  NULL, NULL),
                     CRON_CATCHUP_NONE);
    /* a run due exactly now counts as missed */
    ck_assert_int_eq(cron_catchup(&c, london, CRON_CATCHUP_POLICY_RUN,
                                  utc(2026, 5, 2, 1, 0), utc(2026, 5, 3, 1, 0),
                                  NULL, NULL),
                     CRON_CATCHUP_RUN_NOW);
}
END_TEST

START_TEST(test_catchup_policy_words)
{
    enum cron_catchup_policy p = CRON_CATCHUP_POLICY_SKIP;
    ck_assert_int_eq(cron_catchup_policy_parse(NULL, &p), 0);
    ck_assert_int_eq(p, CRON_CATCHUP_POLICY_RUN);
    ck_assert_int_eq(cron_catchup_policy_parse("skip", &p), 0);
    ck_assert_int_eq(p, CRON_CATCHUP_POLICY_SKIP);
    ck_assert_int_eq(cron_catchup_policy_parse("run", &p), 0);
    ck_assert_int_eq(p, CRON_CATCHUP_POLICY_RUN);
    ck_assert_int_eq(cron_catchup_policy_parse("always", &p), -1);
}
END_TEST

static Suite *cron_suite(void)
{
    Suite *s = suite_create("cron");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_parse_steps_ranges_lists_and_names);
    tcase_add_test(tc, test_parse_seven_and_zero_are_both_sunday);
    tcase_add_test(tc, test_parse_macros);
    tcase_add_test(tc, test_parse_errors_name_field_and_column);
    tcase_add_test(tc, test_parse_refuses_dates_that_never_exist);
    tcase_add_test(tc, test_next_is_strictly_after);
    tcase_add_test(tc, test_next_in_summer_is_an_hour_earlier_in_utc);
    tcase_add_test(tc, test_spring_gap_job_runs_once_at_end_of_gap);
    tcase_add_test(tc, test_spring_gap_times_collapse_into_one_run);
    tcase_add_test(tc, test_autumn_fold_job_runs_once_at_first_occurrence);
    tcase_add_test(tc, test_hourly_job_through_fold_skips_repeated_hour);
    tcase_add_test(tc, test_hourly_runs_in_2026_count_every_wall_clock_hour_once);
    tcase_add_test(tc, test_new_york_gap_runs_at_0300_edt);
    tcase_add_test(tc, test_dom_and_dow_both_set_match_either);
    tcase_add_test(tc, test_star_dow_means_dom_alone);
    tcase_add_test(tc, test_feb_29_waits_for_leap_year);
    tcase_add_test(tc, test_catchup_runs_missed_job_once);
    tcase_add_test(tc, test_catchup_skip_policy_skips);
    tcase_add_test(tc, test_catchup_nothing_missed_or_never_ran);
    tcase_add_test(tc, test_catchup_policy_words);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(cron_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
