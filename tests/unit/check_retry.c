/* check_retry.c - retry policy: exponential growth, the cap, jitter bounds
 * with caller-given random bits, exhaustion. */
#include <check.h>
#include <limits.h>
#include <stdlib.h>

#include "util/retry.h"

static struct retry_policy pol(int64_t init, int64_t max, int factor,
                               int jitter)
{
    struct retry_policy p = {init, max, factor, jitter, 0, 0};
    return p;
}

START_TEST(test_delay_doubles_until_the_cap)
{
    struct retry_policy p = pol(1000, 60000, 2000, 0);
    const int64_t want[] = {1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000};
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(retry_delay_ms(&p, i + 1, 0), want[i]);
    ck_assert_int_eq(retry_delay_ms(&p, 0, 0), 1000);     /* <1 acts as 1 */
}
END_TEST

START_TEST(test_fractional_factor_uses_integer_maths)
{
    struct retry_policy p = pol(1000, 0, 1500, 0);
    ck_assert_int_eq(retry_delay_ms(&p, 2, 0), 1500);
    ck_assert_int_eq(retry_delay_ms(&p, 3, 0), 2250);
    ck_assert_int_eq(retry_delay_ms(&p, 4, 0), 3375);
}
END_TEST

START_TEST(test_factor_below_one_is_constant)
{
    struct retry_policy p = pol(5000, 0, 500, 0);
    ck_assert_int_eq(retry_delay_ms(&p, 10, 0), 5000);
}
END_TEST

START_TEST(test_huge_attempt_numbers_do_not_overflow)
{
    struct retry_policy p = pol(1000, 3600000, 2000, 0);
    ck_assert_int_eq(retry_delay_ms(&p, INT_MAX, 0), 3600000);
    p = pol(1000, 0, 10000, 0);                /* no cap: internal ceiling */
    int64_t d = retry_delay_ms(&p, INT_MAX, 0);
    ck_assert_int_gt(d, 0);
    ck_assert_int_le(d, 1000000000000000LL);
    p = pol(INT64_MAX, 0, 2000, 100);
    ck_assert_int_ge(retry_delay_ms(&p, 5, UINT64_MAX), 0);
}
END_TEST

START_TEST(test_jitter_ends_are_exact)
{
    struct retry_policy p = pol(10000, 0, 2000, 20);     /* +/- 2000 */
    ck_assert_int_eq(retry_delay_ms(&p, 1, 0), 8000);
    ck_assert_int_eq(retry_delay_ms(&p, 1, 4000), 12000);
    ck_assert_int_eq(retry_delay_ms(&p, 1, 4001), 8000);  /* wraps */
    ck_assert_int_eq(retry_delay_ms(&p, 1, 2000), 10000);
}
END_TEST

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

START_TEST(test_jitter_stays_within_bounds_and_spreads)
{
    struct retry_policy p = pol(10000, 0, 2000, 20);
    uint64_t s = 88172645463325252ULL;
    int64_t lo = INT64_MAX, hi = 0;
    int below = 0;
    for (int i = 0; i < 20000; i++) {
        int64_t d = retry_delay_ms(&p, 1, xorshift(&s));
        ck_assert_int_ge(d, 8000);
        ck_assert_int_le(d, 12000);
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
        below += d < 10000;
    }
    ck_assert_int_lt(lo, 8050);
    ck_assert_int_gt(hi, 11950);
    ck_assert_int_gt(below, 9000);      /* roughly half either side */
    ck_assert_int_lt(below, 11000);
}
END_TEST

START_TEST(test_jitter_spreads_around_the_cap)
{
    /* the cap applies before jitter so retries after a long outage are
     * still spread out, not piled on max_delay */
    struct retry_policy p = pol(1000, 60000, 2000, 10);
    ck_assert_int_eq(retry_delay_ms(&p, 30, 0), 54000);
    ck_assert_int_eq(retry_delay_ms(&p, 30, 12000), 66000);
}
END_TEST

START_TEST(test_exhausted_by_attempts_or_age)
{
    struct retry_policy p = pol(1000, 0, 2000, 0);
    p.max_attempts = 5;
    p.max_age_ms = 3600000;
    ck_assert(!retry_exhausted(&p, 4, 1000));
    ck_assert(retry_exhausted(&p, 5, 1000));
    ck_assert(!retry_exhausted(&p, 1, 3599999));
    ck_assert(retry_exhausted(&p, 1, 3600000));
    p.max_attempts = 0;
    p.max_age_ms = 0;
    ck_assert(!retry_exhausted(&p, 1000000, INT64_MAX));
}
END_TEST

START_TEST(test_defaults)
{
    struct retry_policy p;
    retry_policy_default(&p);
    ck_assert_int_eq(p.initial_ms, 30000);
    ck_assert_int_eq(p.max_delay_ms, 3600000);
    ck_assert_int_eq(p.factor_milli, 2000);
    ck_assert_int_eq(p.jitter_pct, 20);
    ck_assert_int_eq(p.max_attempts, 10);
    ck_assert_int_eq(p.max_age_ms, 3LL * 86400000);
}
END_TEST

static Suite *retry_suite(void)
{
    Suite *s = suite_create("retry");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_delay_doubles_until_the_cap);
    tcase_add_test(tc, test_fractional_factor_uses_integer_maths);
    tcase_add_test(tc, test_factor_below_one_is_constant);
    tcase_add_test(tc, test_huge_attempt_numbers_do_not_overflow);
    tcase_add_test(tc, test_jitter_ends_are_exact);
    tcase_add_test(tc, test_jitter_stays_within_bounds_and_spreads);
    tcase_add_test(tc, test_jitter_spreads_around_the_cap);
    tcase_add_test(tc, test_exhausted_by_attempts_or_age);
    tcase_add_test(tc, test_defaults);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(retry_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
