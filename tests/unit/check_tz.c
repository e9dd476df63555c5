/* check_tz.c - time zones from TZif files: offsets, local time, gap and
 * fold resolution, the POSIX footer, UTC, bad names and damaged files. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/tz.h"
#include "util/errs.h"

static int64_t utc(int y, int mo, int d, int h, int mi)
{
    return tz_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60;
}

static struct tm wall(int y, int mo, int d, int h, int mi)
{
    struct tm t;
    memset(&t, 0, sizeof t);
    t.tm_year = y - 1900;
    t.tm_mon = mo - 1;
    t.tm_mday = d;
    t.tm_hour = h;
    t.tm_min = mi;
    return t;
}

static struct tz *load(const char *name)
{
    struct errs e;
    errs_init(&e);
    struct tz *z = tz_load(name, &e);
    ck_assert_msg(z != NULL, "tz_load(%s): %s", name, errs_first_msg(&e));
    errs_free(&e);
    return z;
}

START_TEST(test_london_is_gmt_in_winter_and_bst_in_summer)
{
    struct tz *z = load("Europe/London");
    ck_assert_int_eq(tz_offset_at(z, utc(2026, 1, 15, 12, 0)), 0);
    ck_assert_int_eq(tz_offset_at(z, utc(2026, 7, 1, 12, 0)), 3600);
    ck_assert_str_eq(tz_name(z), "Europe/London");
    tz_free(z);
}
END_TEST

START_TEST(test_london_2026_changes_happen_at_0100_utc)
{
    struct tz *z = load("Europe/London");
    ck_assert_int_eq(tz_offset_at(z, utc(2026, 3, 29, 1, 0) - 1), 0);
    ck_assert_int_eq(tz_offset_at(z, utc(2026, 3, 29, 1, 0)), 3600);
    ck_assert_int_eq(tz_offset_at(z, utc(2026, 10, 25, 1, 0) - 1), 3600);
    ck_assert_int_eq(tz_offset_at(z, utc(2026, 10, 25, 1, 0)), 0);
    int64_t when;
    ck_assert_int_eq(tz_next_change(z, utc(2026, 1, 1, 0, 0), &when), 1);
    ck_assert_int_eq(when, utc(2026, 3, 29, 1, 0));
    ck_assert_int_eq(tz_next_change(z, when, &when), 1);
    ck_assert_int_eq(when, utc(2026, 10, 25, 1, 0));
    tz_free(z);
}
END_TEST

START_TEST(test_localtime_fills_every_field)
{
    struct tz *z = load("Europe/London");
    struct tm t;
    tz_localtime(z, utc(2026, 7, 1, 12, 34) + 56, &t);
    ck_assert_int_eq(t.tm_year, 126);
    ck_assert_int_eq(t.tm_mon, 6);
    ck_assert_int_eq(t.tm_mday, 1);
    ck_assert_int_eq(t.tm_hour, 13);
    ck_assert_int_eq(t.tm_min, 34);
    ck_assert_int_eq(t.tm_sec, 56);
    ck_assert_int_eq(t.tm_wday, 3);         /* Wednesday */
    ck_assert_int_eq(t.tm_yday, 181);
    ck_assert_int_eq(t.tm_isdst, 1);
    ck_assert_int_eq(t.tm_gmtoff, 3600);
    ck_assert_str_eq(t.tm_zone, "BST");
    tz_localtime(z, utc(2026, 12, 31, 23, 59), &t);
    ck_assert_str_eq(t.tm_zone, "GMT");
    ck_assert_int_eq(t.tm_isdst, 0);
    ck_assert_int_eq(t.tm_yday, 364);
    tz_free(z);
}
END_TEST

START_TEST(test_resolve_spring_gap_is_nonexistent_and_gives_gap_end)
{
    struct tz *z = load("Europe/London");
    struct tm w = wall(2026, 3, 29, 1, 30);
    int64_t a = 0, b = 0;
    ck_assert_int_eq(tz_resolve_local(z, &w, &a, &b), 0);
    ck_assert_int_eq(a, utc(2026, 3, 29, 1, 0));
    ck_assert_int_eq(b, a);
    w = wall(2026, 3, 29, 1, 0);            /* the gap's first minute */
    ck_assert_int_eq(tz_resolve_local(z, &w, &a, &b), 0);
    w = wall(2026, 3, 29, 2, 0);            /* first valid time after */
    ck_assert_int_eq(tz_resolve_local(z, &w, &a, &b), 1);
    ck_assert_int_eq(a, utc(2026, 3, 29, 1, 0));
    tz_free(z);
}
END_TEST

START_TEST(test_resolve_autumn_fold_is_ambiguous_with_bst_first)
{
    struct tz *z = load("Europe/London");
    struct tm w = wall(2026, 10, 25, 1, 30);
    int64_t a = 0, b = 0;
    ck_assert_int_eq(tz_resolve_local(z, &w, &a, &b), 2);
    ck_assert_int_eq(a, utc(2026, 10, 25, 0, 30));
    ck_assert_int_eq(b, utc(2026, 10, 25, 1, 30));
    w = wall(2026, 10, 25, 2, 0);
    ck_assert_int_eq(tz_resolve_local(z, &w, &a, &b), 1);
    ck_assert_int_eq(a, utc(2026, 10, 25, 2, 0));
    w = wall(2026, 10, 25, 0, 59);
    ck_assert_int_eq(tz_resolve_local(z, &w, &a, &b), 1);
    ck_assert_int_eq(a, utc(2026, 10, 24, 23, 59));
    tz_free(z);
}
END_TEST

START_TEST(test_resolve_normalises_out_of_range_fields)
{
    struct tz *z = load("UTC");
    struct tm w = wall(2026, 1, 32, 0, 0);  /* = 1 February */
    int64_t a, b;
    ck_assert_int_eq(tz_resolve_local(z, &w, &a, &b), 1);
    ck_assert_int_eq(a, utc(2026, 2, 1, 0, 0));
    w = wall(2026, 13, 1, 0, 0);            /* = January 2027 */
    ck_assert_int_eq(tz_resolve_local(z, &w, &a, &b), 1);
    ck_assert_int_eq(a, utc(2027, 1, 1, 0, 0));
    tz_free(z);
}
END_TEST

START_TEST(test_new_york_2026_gap_and_fold)
{
    struct tz *z = load("America/New_York");
    ck_assert_int_eq(tz_offset_at(z, utc(2026, 1, 15, 12, 0)), -5 * 3600);
    ck_assert_int_eq(tz_offset_at(z, utc(2026, 7, 15, 12, 0)), -4 * 3600);
    struct tm w = wall(2026, 3, 8, 2, 30);
    int64_t a, b;
    ck_assert_int_eq(tz_resolve_local(z, &w, &a, &b), 0);
    ck_assert_int_eq(a, utc(2026, 3, 8, 7, 0));   /* 03:00 EDT */
    w = wall(2026, 11, 1, 1, 30);
    ck_assert_int_eq(tz_resolve_local(z, &w, &a, &b), 2);
    ck_assert_int_eq(a, utc(2026, 11, 1, 5, 30));
    ck_assert_int_eq(b, utc(2026, 11, 1, 6, 30));
    tz_free(z);
}
END_TEST

START_TEST(test_footer_rule_governs_after_the_table_2100)
{
    /* Debian's files list transitions to 2037; 2100 comes from
     * "GMT0BST,M3.5.0/1,M10.5.0": last Sunday of March 2100 is the 28th. */
    struct tz *z = load("Europe/London");
    ck_assert_int_eq(tz_offset_at(z, utc(2100, 1, 10, 0, 0)), 0);
    ck_assert_int_eq(tz_offset_at(z, utc(2100, 7, 10, 0, 0)), 3600);
    ck_assert_int_eq(tz_offset_at(z, utc(2100, 3, 28, 1, 0) - 1), 0);
    ck_assert_int_eq(tz_offset_at(z, utc(2100, 3, 28, 1, 0)), 3600);
    struct tm w = wall(2100, 3, 28, 1, 30);
    int64_t a, b;
    ck_assert_int_eq(tz_resolve_local(z, &w, &a, &b), 0);
    ck_assert_int_eq(a, utc(2100, 3, 28, 1, 0));
    struct tm t;
    tz_localtime(z, utc(2100, 7, 10, 0, 0), &t);
    ck_assert_str_eq(t.tm_zone, "BST");
    tz_free(z);
}
END_TEST

START_TEST(test_southern_hemisphere_sydney_summer_in_january)
{
    struct tz *z = load("Australia/Sydney");
    ck_assert_int_eq(tz_offset_at(z, utc(2026, 1, 15, 0, 0)), 11 * 3600);
    ck_assert_int_eq(tz_offset_at(z, utc(2026, 7, 15, 0, 0)), 10 * 3600);
    ck_assert_int_eq(tz_offset_at(z, utc(2090, 1, 15, 0, 0)), 11 * 3600);
    ck_assert_int_eq(tz_offset_at(z, utc(2090, 7, 15, 0, 0)), 10 * 3600);
    tz_free(z);
}
END_TEST

START_TEST(test_agrees_with_glibc_across_zones_and_years)
{
    /* glibc's own tz code is the oracle; TZ is set only in this test. */
    const char *zones[] = {"Europe/London", "America/New_York",
                           "Australia/Sydney", "Asia/Kolkata",
                           "Pacific/Chatham", "America/St_Johns"};
    for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++) {
        struct tz *z = load(zones[i]);
        setenv("TZ", zones[i], 1);
        tzset();
        for (int64_t t = -1000000000LL; t < 4200000000LL; t += 86400 * 3 + 3541) {
            time_t tt = (time_t)t;
            struct tm a, b;
            localtime_r(&tt, &a);
            tz_localtime(z, t, &b);
            ck_assert_msg(a.tm_gmtoff == b.tm_gmtoff &&
                          a.tm_hour == b.tm_hour && a.tm_mday == b.tm_mday &&
                          a.tm_isdst == b.tm_isdst,
                          "%s at %lld: glibc %ld, ours %ld", zones[i],
                          (long long)t, a.tm_gmtoff, b.tm_gmtoff);
        }
        tz_free(z);
    }
}
END_TEST

START_TEST(test_utc_works_without_a_file)
{
    setenv("TZDIR", "/nonexistent", 1);
    struct tz *z = load("UTC");
    ck_assert_int_eq(tz_offset_at(z, utc(2026, 7, 1, 0, 0)), 0);
    struct tm t;
    tz_localtime(z, 0, &t);
    ck_assert_int_eq(t.tm_year, 70);
    ck_assert_int_eq(t.tm_wday, 4);
    ck_assert_str_eq(t.tm_zone, "UTC");
    ck_assert_int_eq(tz_next_change(z, 0, &(int64_t){0}), 0);
    tz_free(z);
}
END_TEST

START_TEST(test_unknown_zone_is_an_error_naming_it)
{
    struct errs e;
    errs_init(&e);
    ck_assert_ptr_null(tz_load("Mars/Olympus_Mons", &e));
    ck_assert_ptr_nonnull(strstr(errs_first_msg(&e),
                                 "unknown time zone 'Mars/Olympus_Mons'"));
    errs_free(&e);
}
END_TEST

START_TEST(test_path_escaping_names_are_refused)
{
    const char *bad[] = {"../../etc/passwd", "/etc/localtime", "Europe/../UTC",
                         "", "Europe//London", "a b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct errs e;
        errs_init(&e);
        ck_assert_ptr_null(tz_load(bad[i], &e));
        ck_assert_ptr_nonnull(strstr(errs_first_msg(&e), "bad time zone name"));
        errs_free(&e);
    }
}
END_TEST

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* write a version-1 TZif file: type 0 = "AAA" +1h until t0, then type 1 =
 * "BBB" -2h */
static void write_v1(const char *path, int32_t t0, int damaged)
{
    unsigned char b[128];
    memset(b, 0, sizeof b);
    memcpy(b, "TZif", 4);
    put32(b + 32, 1);       /* timecnt */
    put32(b + 36, 2);       /* typecnt */
    put32(b + 40, 8);       /* charcnt */
    size_t p = 44;
    put32(b + p, (uint32_t)t0);
    p += 4;
    b[p++] = damaged ? 7 : 1;     /* index of the type after t0 */
    put32(b + p, 3600);
    b[p + 4] = 0;
    b[p + 5] = 0;
    p += 6;
    put32(b + p, (uint32_t)-7200);
    b[p + 4] = 0;
    b[p + 5] = 4;
    p += 6;
    memcpy(b + p, "AAA\0BBB\0", 8);
    p += 8;
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fwrite(b, 1, p, f), p);
    fclose(f);
}

START_TEST(test_version1_file_from_tzdir)
{
    char dir[] = "/tmp/check_tz.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/Test_Zone", dir);
    write_v1(path, 1000000, 0);
    setenv("TZDIR", dir, 1);
    struct tz *z = load("Test_Zone");
    ck_assert_int_eq(tz_offset_at(z, 999999), 3600);
    ck_assert_int_eq(tz_offset_at(z, 1000000), -7200);
    struct tm t;
    tz_localtime(z, 2000000, &t);
    ck_assert_str_eq(t.tm_zone, "BBB");
    tz_free(z);
    write_v1(path, 1000000, 1);
    struct errs e;
    errs_init(&e);
    ck_assert_ptr_null(tz_load("Test_Zone", &e));
    ck_assert_ptr_nonnull(strstr(errs_first_msg(&e), "not a valid TZif"));
    errs_free(&e);
    unlink(path);
    rmdir(dir);
}
END_TEST

static Suite *tz_suite(void)
{
    Suite *s = suite_create("tz");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_london_is_gmt_in_winter_and_bst_in_summer);
    tcase_add_test(tc, test_london_2026_changes_happen_at_0100_utc);
    tcase_add_test(tc, test_localtime_fills_every_field);
    tcase_add_test(tc, test_resolve_spring_gap_is_nonexistent_and_gives_gap_end);
    tcase_add_test(tc, test_resolve_autumn_fold_is_ambiguous_with_bst_first);
    tcase_add_test(tc, test_resolve_normalises_out_of_range_fields);
    tcase_add_test(tc, test_new_york_2026_gap_and_fold);
    tcase_add_test(tc, test_footer_rule_governs_after_the_table_2100);
    tcase_add_test(tc, test_southern_hemisphere_sydney_summer_in_january);
    tcase_add_test(tc, test_agrees_with_glibc_across_zones_and_years);
    tcase_add_test(tc, test_utc_works_without_a_file);
    tcase_add_test(tc, test_unknown_zone_is_an_error_naming_it);
    tcase_add_test(tc, test_path_escaping_names_are_refused);
    tcase_add_test(tc, test_version1_file_from_tzdir);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(tz_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
