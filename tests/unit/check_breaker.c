/* check_breaker.c - circuit breaker transitions: closed -> open after N
 * consecutive RETRYs, cool-down, exactly one half-open probe, and back. */
#include <check.h>
#include <stdlib.h>

#include "scheduler/breaker.h"

START_TEST(test_opens_after_threshold_consecutive_retries)
{
    struct breaker b;
    breaker_init(&b, 3, 10000);
    ck_assert_str_eq(breaker_state_name(b.state), "closed");
    for (int i = 0; i < 2; i++) {
        ck_assert(breaker_allow(&b, 100));
        breaker_record(&b, BREAKER_RETRY, 100);
    }
    ck_assert_int_eq(b.state, BREAKER_CLOSED);
    breaker_record(&b, BREAKER_RETRY, 200);
    ck_assert_int_eq(b.state, BREAKER_OPEN);
    ck_assert_str_eq(breaker_state_name(b.state), "open");
    ck_assert_uint_eq(b.opens, 1);
}
END_TEST

START_TEST(test_ok_or_fail_resets_the_count)
{
    struct breaker b;
    breaker_init(&b, 3, 10000);
    breaker_record(&b, BREAKER_RETRY, 1);
    breaker_record(&b, BREAKER_RETRY, 2);
    breaker_record(&b, BREAKER_OK, 3);
    breaker_record(&b, BREAKER_RETRY, 4);
    breaker_record(&b, BREAKER_RETRY, 5);
    breaker_record(&b, BREAKER_FAIL, 6);      /* target answered */
    breaker_record(&b, BREAKER_RETRY, 7);
    breaker_record(&b, BREAKER_RETRY, 8);
    ck_assert_int_eq(b.state, BREAKER_CLOSED);
}
END_TEST

START_TEST(test_open_refuses_until_cooldown_then_one_probe)
{
    struct breaker b;
    breaker_init(&b, 1, 10000);
    breaker_record(&b, BREAKER_RETRY, 1000);
    ck_assert(!breaker_allow(&b, 1000));
    ck_assert(!breaker_allow(&b, 10999));
    ck_assert_int_eq(breaker_retry_at_ms(&b, 5000), 11000);
    ck_assert(breaker_allow(&b, 11000));      /* the probe */
    ck_assert_int_eq(b.state, BREAKER_HALF_OPEN);
    ck_assert_str_eq(breaker_state_name(b.state), "half-open");
    ck_assert(!breaker_allow(&b, 11001));     /* only one */
    ck_assert(!breaker_allow(&b, 99999));
}
END_TEST

START_TEST(test_probe_success_closes)
{
    struct breaker b;
    breaker_init(&b, 1, 10000);
    breaker_record(&b, BREAKER_RETRY, 0);
    ck_assert(breaker_allow(&b, 10000));
    breaker_record(&b, BREAKER_OK, 10500);
    ck_assert_int_eq(b.state, BREAKER_CLOSED);
    ck_assert(breaker_allow(&b, 10501));
    ck_assert(breaker_allow(&b, 10502));
}
END_TEST

START_TEST(test_probe_failure_reopens_with_fresh_cooldown)
{
    struct breaker b;
    breaker_init(&b, 2, 10000);
    breaker_record(&b, BREAKER_RETRY, 0);
    breaker_record(&b, BREAKER_RETRY, 0);
    ck_assert(breaker_allow(&b, 10000));
    breaker_record(&b, BREAKER_RETRY, 12000);
    ck_assert_int_eq(b.state, BREAKER_OPEN);
    ck_assert_uint_eq(b.opens, 2);
    ck_assert(!breaker_allow(&b, 21999));
    ck_assert(breaker_allow(&b, 22000));
}
END_TEST

START_TEST(test_abandoned_probe_can_be_taken_again)
{
    struct breaker b;
    breaker_init(&b, 1, 100);
    breaker_record(&b, BREAKER_RETRY, 0);
    ck_assert(breaker_allow(&b, 100));
    ck_assert(!breaker_allow(&b, 101));
    breaker_abandon_probe(&b);
    ck_assert(breaker_allow(&b, 102));
    ck_assert(!breaker_allow(&b, 103));
}
END_TEST

START_TEST(test_late_outcomes_while_open_are_ignored)
{
    struct breaker b;
    breaker_init(&b, 1, 1000);
    breaker_record(&b, BREAKER_RETRY, 0);
    breaker_record(&b, BREAKER_OK, 10);       /* started before it opened */
    ck_assert_int_eq(b.state, BREAKER_OPEN);
    breaker_record(&b, BREAKER_RETRY, 500);
    ck_assert(breaker_allow(&b, 1000));       /* cool-down not restarted */
}
END_TEST

START_TEST(test_threshold_zero_never_opens)
{
    struct breaker b;
    breaker_init(&b, 0, 1000);
    for (int i = 0; i < 1000; i++)
        breaker_record(&b, BREAKER_RETRY, i);
    ck_assert_int_eq(b.state, BREAKER_CLOSED);
    ck_assert(breaker_allow(&b, 2000));
    ck_assert_int_eq(breaker_retry_at_ms(&b, 2000), 2000);
}
END_TEST

static Suite *breaker_suite(void)
{
    Suite *s = suite_create("breaker");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_opens_after_threshold_consecutive_retries);
    tcase_add_test(tc, test_ok_or_fail_resets_the_count);
    tcase_add_test(tc, test_open_refuses_until_cooldown_then_one_probe);
    tcase_add_test(tc, test_probe_success_closes);
    tcase_add_test(tc, test_probe_failure_reopens_with_fresh_cooldown);
    tcase_add_test(tc, test_abandoned_probe_can_be_taken_again);
    tcase_add_test(tc, test_late_outcomes_while_open_are_ignored);
    tcase_add_test(tc, test_threshold_zero_never_opens);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(breaker_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
