/* check_window.c - delivery windows: weekday ranges, several ranges,
 * overnight ranges, bank holidays, clock changes, next opening, errors. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/tz.h"
#include "scheduler/window.h"
#include "util/errs.h"

static int64_t utc(int y, int mo, int d, int h, int mi)
{
    return tz_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60;
}

static struct window *wp(const char *spec, const char *const *hol, size_t n)
{
    struct errs e;
    errs_init(&e);
    struct window *w = window_parse(spec, hol, n, &e);
    ck_assert_msg(w != NULL, "'%s': %s", spec, errs_first_msg(&e));
    errs_free(&e);
    return w;
}

static void bad(const char *spec, const char *const *hol, size_t n,
                const char *want)
{
    struct errs e;
    errs_init(&e);
    ck_assert_ptr_null(window_parse(spec, hol, n, &e));
    ck_assert_int_ge(e.n, 1);
    ck_assert_msg(strstr(errs_first_msg(&e), want) != NULL,
                  "'%s': got \"%s\", want \"%s\"", spec, errs_first_msg(&e),
                  want);
    errs_free(&e);
}

/* June 2026 is BST (UTC+1); Wed 2026-06-10. */
START_TEST(test_weekday_window_open_and_closed_edges)
{
    struct window *w = wp("Mon-Fri 07:00-20:00 Europe/London", NULL, 0);
    ck_assert(window_open(w, utc(2026, 6, 10, 11, 0)));    /* 12:00 BST */
    ck_assert(window_open(w, utc(2026, 6, 10, 6, 0)));     /* 07:00 opens */
    ck_assert(!window_open(w, utc(2026, 6, 10, 6, 0) - 1));
    ck_assert(window_open(w, utc(2026, 6, 10, 19, 0) - 1));
    ck_assert(!window_open(w, utc(2026, 6, 10, 19, 0)));   /* 20:00 shut */
    ck_assert(!window_open(w, utc(2026, 6, 13, 11, 0)));   /* Saturday */
    ck_assert_str_eq(window_tz_name(w), "Europe/London");
    ck_assert_str_eq(window_spec(w), "Mon-Fri 07:00-20:00 Europe/London");
    window_free(w);
}
END_TEST

START_TEST(test_several_ranges_with_semicolon_or_comma)
{
    const char *specs[] = {"Mon-Fri 07:00-20:00; Sat 09:00-12:00 Europe/London",
                           "Mon-Fri 07:00-20:00, Sat 09:00-12:00 Europe/London"};
    for (int i = 0; i < 2; i++) {
        struct window *w = wp(specs[i], NULL, 0);
        ck_assert(window_open(w, utc(2026, 6, 13, 9, 0)));     /* Sat 10:00 */
        ck_assert(!window_open(w, utc(2026, 6, 13, 11, 0)));   /* Sat 12:00 */
        ck_assert(!window_open(w, utc(2026, 6, 14, 9, 0)));    /* Sunday */
        ck_assert(window_open(w, utc(2026, 6, 12, 18, 0)));    /* Fri 19:00 */
        window_free(w);
    }
}
END_TEST

START_TEST(test_day_lists_and_two_ranges_per_day)
{
    struct window *w = wp("Mon,Wed,Fri 08:00-12:00 13:00-17:00 UTC", NULL, 0);
    ck_assert(window_open(w, utc(2026, 6, 10, 9, 0)));     /* Wed */
    ck_assert(!window_open(w, utc(2026, 6, 10, 12, 30)));  /* lunch */
    ck_assert(window_open(w, utc(2026, 6, 10, 13, 0)));
    ck_assert(!window_open(w, utc(2026, 6, 9, 9, 0)));     /* Tue */
    window_free(w);
}
END_TEST

START_TEST(test_no_days_means_every_day_and_default_zone_is_london)
{
    struct window *w = wp("07:00-19:00", NULL, 0);
    ck_assert_str_eq(window_tz_name(w), "Europe/London");
    ck_assert(window_open(w, utc(2026, 6, 14, 6, 0)));      /* Sun 07:00 BST */
    ck_assert(!window_open(w, utc(2026, 1, 11, 6, 30)));    /* 06:30 GMT */
    window_free(w);
}
END_TEST

START_TEST(test_overnight_range_belongs_to_its_start_day)
{
    struct window *w = wp("Fri 22:00-02:00 UTC", NULL, 0);
    ck_assert(window_open(w, utc(2026, 6, 12, 23, 0)));    /* Fri 23:00 */
    ck_assert(window_open(w, utc(2026, 6, 13, 1, 59)));    /* Sat 01:59 */
    ck_assert(!window_open(w, utc(2026, 6, 13, 2, 0)));    /* Sat 02:00 */
    ck_assert(!window_open(w, utc(2026, 6, 11, 23, 0)));   /* Thu night */
    ck_assert(!window_open(w, utc(2026, 6, 12, 1, 0)));    /* Thu's tail */
    window_free(w);
}
END_TEST

START_TEST(test_bank_holiday_closes_the_whole_date)
{
    const char *hol[] = {"2026-12-25", "2026-12-28"};
    struct window *w = wp("Mon-Fri 07:00-20:00 Europe/London", hol, 2);
    ck_assert(window_open(w, utc(2026, 12, 24, 12, 0)));
    ck_assert(!window_open(w, utc(2026, 12, 25, 12, 0)));    /* Christmas */
    ck_assert(!window_open(w, utc(2026, 12, 28, 12, 0)));    /* Boxing Day sub */
    ck_assert(window_open(w, utc(2026, 12, 29, 12, 0)));
    ck_assert_int_eq(window_next_open(w, utc(2026, 12, 24, 20, 30)),
                     utc(2026, 12, 29, 7, 0));
    window_free(w);
}
END_TEST

START_TEST(test_holiday_cuts_overnight_ranges_both_ways)
{
    const char *hol[] = {"2026-05-25"};                  /* a Monday */
    struct window *w = wp("Sun-Thu 22:00-02:00 UTC", hol, 1);
    ck_assert(window_open(w, utc(2026, 5, 24, 23, 0)));   /* Sun night */
    ck_assert(!window_open(w, utc(2026, 5, 25, 1, 0)));   /* its tail: holiday */
    ck_assert(!window_open(w, utc(2026, 5, 25, 23, 0)));  /* starts on holiday */
    ck_assert(!window_open(w, utc(2026, 5, 26, 1, 0)));   /* ... nor its tail */
    ck_assert(window_open(w, utc(2026, 5, 26, 22, 0)));   /* Tue night */
    ck_assert(window_open(w, utc(2026, 5, 27, 1, 0)));
    window_free(w);
}
END_TEST

START_TEST(test_next_open_is_now_when_open_else_next_start)
{
    struct window *w = wp("Mon-Fri 07:00-20:00 Europe/London", NULL, 0);
    int64_t now = utc(2026, 6, 10, 11, 0);
    ck_assert_int_eq(window_next_open(w, now), now);
    /* Friday 21:00 BST -> Monday 07:00 BST */
    ck_assert_int_eq(window_next_open(w, utc(2026, 6, 12, 20, 0)),
                     utc(2026, 6, 15, 6, 0));
    window_free(w);
}
END_TEST

START_TEST(test_next_open_across_spring_change)
{
    struct window *w = wp("07:00-20:00 Europe/London", NULL, 0);
    /* Sat 2026-03-28 20:00 GMT -> Sun 07:00 BST = 06:00 UTC */
    ck_assert_int_eq(window_next_open(w, utc(2026, 3, 28, 20, 0)),
                     utc(2026, 3, 29, 6, 0));
    window_free(w);
    w = wp("Sun 01:30-03:00 Europe/London", NULL, 0);
    /* the start is in the gap: it opens at the gap's end, 02:00 BST */
    ck_assert_int_eq(window_next_open(w, utc(2026, 3, 29, 0, 0)),
                     utc(2026, 3, 29, 1, 0));
    ck_assert(window_open(w, utc(2026, 3, 29, 1, 30)));
    window_free(w);
}
END_TEST

START_TEST(test_autumn_fold_repeated_hour_reopens)
{
    struct window *w = wp("Sun 01:00-01:30 Europe/London", NULL, 0);
    ck_assert(window_open(w, utc(2026, 10, 25, 0, 15)));   /* 01:15 BST */
    ck_assert(!window_open(w, utc(2026, 10, 25, 0, 45)));  /* 01:45 BST */
    ck_assert(window_open(w, utc(2026, 10, 25, 1, 15)));   /* 01:15 GMT */
    ck_assert_int_eq(window_next_open(w, utc(2026, 10, 25, 0, 45)),
                     utc(2026, 10, 25, 1, 0));
    window_free(w);
}
END_TEST

START_TEST(test_null_window_is_always_open)
{
    ck_assert(window_open(NULL, 12345));
    ck_assert_int_eq(window_next_open(NULL, 12345), 12345);
    window_free(NULL);
}
END_TEST

START_TEST(test_whole_day_range)
{
    struct window *w = wp("Sat-Sun 00:00-24:00 UTC", NULL, 0);
    ck_assert(window_open(w, utc(2026, 6, 13, 0, 0)));
    ck_assert(window_open(w, utc(2026, 6, 14, 23, 59)));
    ck_assert(!window_open(w, utc(2026, 6, 15, 0, 0)));
    window_free(w);
}
END_TEST

START_TEST(test_parse_errors_are_specific)
{
    bad("Mon-Fri 07:00 Europe/London", NULL, 0,
        "column 9: bad time range '07:00'");
    bad("Mon-Fri 07:00-25:00", NULL, 0, "bad time range '07:00-25:00'");
    bad("Mon-Fri 07:00-07:00", NULL, 0, "is empty");
    bad("Mon-Fri 07:00-20:00 Mars/Base", NULL, 0,
        "column 21: 'Mars/Base' is not a day, a time range or a known time zone");
    bad("Mon-Fry 07:00-20:00", NULL, 0,
        "column 1: 'Mon-Fry' is not a day or a time range");
    bad("Mon-Fri 07:00-20:00 Sat", NULL, 0, "column 21: days without a time range");
    bad("", NULL, 0, "no time range");
    const char *hol[] = {"2026-02-30"};
    bad("Mon-Fri 07:00-20:00", hol, 1, "holiday 1: '2026-02-30' is not a date");
    const char *hol2[] = {"2026-12-25", "25/12/2026"};
    bad("Mon-Fri 07:00-20:00", hol2, 2, "holiday 2: '25/12/2026'");
}
END_TEST

START_TEST(test_window_that_never_opens_again_says_never)
{
    /* one weekday, every date for the next six years a holiday: bounded */
    size_t n = 366 * 6;
    char (*buf)[11] = calloc(n, sizeof *buf);
    const char **hol = calloc(n, sizeof *hol);
    ck_assert(buf && hol);
    int64_t d0 = tz_days_from_civil(2026, 1, 1);
    for (size_t i = 0; i < n; i++) {
        int64_t y;
        int m, d;
        tz_civil_from_days(d0 + (int64_t)i, &y, &m, &d);
        snprintf(buf[i], sizeof buf[i], "%04d-%02d-%02d", (int)y, m, d);
        hol[i] = buf[i];
    }
    struct window *w = wp("Mon 09:00-10:00 UTC", hol, n);
    ck_assert_int_eq(window_next_open(w, utc(2026, 1, 1, 0, 0)), WINDOW_NEVER);
    window_free(w);
    free(hol);
    free(buf);
}
END_TEST

static Suite *window_suite(void)
{
    Suite *s = suite_create("window");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_weekday_window_open_and_closed_edges);
    tcase_add_test(tc, test_several_ranges_with_semicolon_or_comma);
    tcase_add_test(tc, test_day_lists_and_two_ranges_per_day);
    tcase_add_test(tc, test_no_days_means_every_day_and_default_zone_is_london);
    tcase_add_test(tc, test_overnight_range_belongs_to_its_start_day);
    tcase_add_test(tc, test_bank_holiday_closes_the_whole_date);
    tcase_add_test(tc, test_holiday_cuts_overnight_ranges_both_ways);
    tcase_add_test(tc, test_next_open_is_now_when_open_else_next_start);
    tcase_add_test(tc, test_next_open_across_spring_change);
    tcase_add_test(tc, test_autumn_fold_repeated_hour_reopens);
    tcase_add_test(tc, test_null_window_is_always_open);
    tcase_add_test(tc, test_whole_day_range);
    tcase_add_test(tc, test_parse_errors_are_specific);
    tcase_add_test(tc, test_window_that_never_opens_again_says_never);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(window_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
