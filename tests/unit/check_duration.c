/* check_duration.c - the one duration grammar (util/duration.h) that every
 * key reads: config retry and lease keys, job options, adapter timeouts,
 * the claim sizing of stream delivery and command-line flags. */
#include <check.h>
#include <stdlib.h>

#include "util/duration.h"

START_TEST(test_duration_units_and_sums)
{
    struct { const char *s; int64_t ms; } good[] = {
        {"500ms", 500}, {"30s", 30000}, {"5m", 300000}, {"2h", 7200000},
        {"7d", 604800000}, {"90d", 7776000000LL}, {"0s", 0},
        {"1h30m", 5400000}, {"1m500ms", 60500},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int64_t ms = -1;
        ck_assert_int_eq(duration_parse(good[i].s, &ms), 0);
        ck_assert_int_eq(ms, good[i].ms);
    }
}
END_TEST

/* timeout="45" once meant 45 s to the SOAP adapter and "unparsable" to the
 * delivery engine's claim sizing; both now read it here, as seconds */
START_TEST(test_duration_bare_number_is_seconds)
{
    int64_t ms = -1;
    ck_assert_int_eq(duration_parse("45", &ms), 0);
    ck_assert_int_eq(ms, 45000);
    ck_assert_int_eq(duration_parse("0", &ms), 0);
    ck_assert_int_eq(ms, 0);
}
END_TEST

START_TEST(test_duration_refuses_what_is_not_the_grammar)
{
    const char *bad[] = {"", "s", "-5s", "5 s", "5sec", "1.5h", "5w",
                         "99999999999999999999d", "5s ", "1h30", "30 ",
                         "+30", "1000000000000001", NULL};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms = 77;
        ck_assert_int_eq(duration_parse(bad[i], &ms), -1);
        ck_assert_int_eq(ms, 77);
    }
}
END_TEST

static Suite *duration_suite(void)
{
    Suite *s = suite_create("duration");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_duration_units_and_sums);
    tcase_add_test(tc, test_duration_bare_number_is_seconds);
    tcase_add_test(tc, test_duration_refuses_what_is_not_the_grammar);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(duration_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
