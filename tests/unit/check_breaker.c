/* check_breaker.c - circuit breaker transitions: closed -> open after N
 * consecutive RETRYs, cool-down, exactly one half-open probe, and back;
 * and the shared breaker of nodes on one ledger: taking on another node's
 * state (breaker_adopt), and the one probe claimed in target_state, on
 * both engines (FERRY_TEST_PG, see tests/unit/spool_test.h). */
#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler/breaker.h"
#include "spool/spool.h"
#include "tests/unit/spool_test.h"
#include "util/errs.h"

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

START_TEST(test_adopt_open_stops_calls_until_its_cooldown)
{
    struct breaker b;
    breaker_init(&b, 3, 1000);
    ck_assert(breaker_adopt(&b, BREAKER_OPEN, 5000));   /* another node's */
    ck_assert_int_eq(b.state, BREAKER_OPEN);
    ck_assert_uint_eq(b.opens, 0);                      /* it counted it */
    ck_assert(!breaker_allow(&b, 5999));
    ck_assert_int_eq(breaker_retry_at_ms(&b, 5500), 6000);
    ck_assert(!breaker_adopt(&b, BREAKER_OPEN, 5000));  /* nothing new */
    ck_assert(breaker_allow(&b, 6000));                 /* may probe now */
    ck_assert_int_eq(b.state, BREAKER_HALF_OPEN);
}
END_TEST

START_TEST(test_adopt_half_open_waits_for_that_probe)
{
    struct breaker b;
    breaker_init(&b, 3, 1000);
    breaker_record(&b, BREAKER_RETRY, 1);
    ck_assert(breaker_adopt(&b, BREAKER_HALF_OPEN, 7000));
    ck_assert_int_eq(b.state, BREAKER_OPEN);    /* not ours to send */
    ck_assert(!breaker_allow(&b, 7999));
    ck_assert(breaker_allow(&b, 8000));         /* its holder went quiet */
}
END_TEST

START_TEST(test_adopt_closed_ends_the_open_keeps_own_count)
{
    struct breaker b;
    breaker_init(&b, 3, 1000);
    breaker_record(&b, BREAKER_RETRY, 1);
    breaker_record(&b, BREAKER_RETRY, 2);
    ck_assert(!breaker_adopt(&b, BREAKER_CLOSED, 3));   /* already closed */
    breaker_record(&b, BREAKER_RETRY, 4);               /* third: opens */
    ck_assert_int_eq(b.state, BREAKER_OPEN);
    ck_assert(breaker_adopt(&b, BREAKER_CLOSED, 10));   /* a probe passed */
    ck_assert_int_eq(b.state, BREAKER_CLOSED);
    ck_assert(breaker_allow(&b, 11));
    breaker_record(&b, BREAKER_RETRY, 12);
    ck_assert_int_eq(b.state, BREAKER_CLOSED);          /* count restarted */
    enum breaker_state st;
    ck_assert_int_eq(breaker_state_parse("half-open", &st), 0);
    ck_assert_int_eq(st, BREAKER_HALF_OPEN);
    ck_assert_int_eq(breaker_state_parse("ajar", &st), -1);
}
END_TEST

/* ---- the shared row, on both engines ---------------------------------- */

static char tmpdir[512], spdir[600];
static struct spool *sp;

static int rm_one(const char *p, const struct stat *sb, int flag,
                  struct FTW *f)
{
    (void)sb, (void)flag, (void)f;
    return remove(p);
}

static void shared_setup(void)
{
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/check_breaker.XXXXXX",
             t ? t : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(spdir, sizeof spdir, "%s/spool", tmpdir);
    struct errs e;
    errs_init(&e);
    sp = test_spool_open(spdir, NULL, &e);
    ck_assert_msg(sp != NULL, "%s", errs_first_msg(&e));
    errs_free(&e);
}

static void shared_teardown(void)
{
    spool_close(sp);
    sp = NULL;
    nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void row_is(const char *breaker, const char *owner, int64_t since)
{
    struct spool_target_state r;
    struct errs e;
    errs_init(&e);
    ck_assert_int_eq(spool_target_state_get(sp, "soap", &r, &e), 0);
    ck_assert_str_eq(r.breaker, breaker);
    ck_assert_str_eq(r.owner, owner);
    ck_assert_int_eq(r.since, since);
    spool_target_state_clear(&r);
    errs_free(&e);
}

/* Two nodes (owners a and b) on one ledger: a opened the breaker at 1000
 * with a 500 ms cool-down.  b may not probe before 1500; at 1600 b claims
 * the probe and a, claiming a moment later, is refused; a claims it only
 * once b's probe has gone a cool-down without an answer; a closed
 * breaker has no probe to claim. */
START_TEST(test_one_probe_across_nodes)
{
    struct errs e;
    errs_init(&e);
    ck_assert(spool_shared(sp) == (test_spool_pg() != NULL));
    struct spool_target_state none;
    ck_assert_int_eq(spool_target_state_get(sp, "soap", &none, &e), 1);
    ck_assert_int_eq(spool_target_probe_claim(sp, "soap", "b", 900, 400, &e),
                     0);                                /* no row: none */
    ck_assert_int_eq(spool_target_state_put(sp, "soap", "open", 1000, NULL,
                                            "a", &e), 0);
    ck_assert_int_eq(spool_target_probe_claim(sp, "soap", "b", 1400, 900,
                                              &e), 0);  /* cooling down */
    row_is("open", "a", 1000);
    ck_assert_int_eq(spool_target_probe_claim(sp, "soap", "b", 1600, 1100,
                                              &e), 1);
    row_is("half-open", "b", 1600);
    ck_assert_int_eq(spool_target_probe_claim(sp, "soap", "a", 1610, 1110,
                                              &e), 0);
    row_is("half-open", "b", 1600);
    ck_assert_int_eq(spool_target_probe_claim(sp, "soap", "a", 2100, 1600,
                                              &e), 1);  /* b went quiet */
    row_is("half-open", "a", 2100);
    ck_assert_int_eq(spool_target_state_put(sp, "soap", "closed", 2200, NULL,
                                            "a", &e), 0);
    ck_assert_int_eq(spool_target_probe_claim(sp, "soap", "b", 9000, 8000,
                                              &e), 0);
    row_is("closed", "a", 2200);
    ck_assert_int_eq(e.n, 0);
    errs_free(&e);
}
END_TEST

/* A stop one node records is read by the others, with who and why. */
START_TEST(test_stop_is_seen_by_every_node)
{
    struct errs e;
    errs_init(&e);
    ck_assert_int_eq(spool_target_state_put(sp, "soap", "closed", 1000,
                                            "refused: bad certificate", "a",
                                            &e), 0);
    struct spool_target_state r;
    ck_assert_int_eq(spool_target_state_get(sp, "soap", &r, &e), 0);
    ck_assert_str_eq(r.stopped, "refused: bad certificate");
    ck_assert_str_eq(r.owner, "a");
    ck_assert_int_ge(r.updated_at, 1000);
    spool_target_state_clear(&r);
    ck_assert_ptr_null(r.stopped);
    errs_free(&e);
}
END_TEST

/* Each node records its configuration's digest; a node is told which
 * others recorded a different one lately, never about itself or one
 * with the same digest; an entry older than forget_before is dropped. */
START_TEST(test_node_config_digests_compared)
{
    struct errs e;
    errs_init(&e);
    char differ[64];
    const int64_t day = 86400000;
    ck_assert_int_eq(spool_node_config(sp, "h1:1", "aaaa", 10 * day, 9 * day,
                                       3 * day, differ, sizeof differ, &e),
                     0);
    ck_assert_str_eq(differ, "");
    ck_assert_int_eq(spool_node_config(sp, "h2:2", "aaaa", 10 * day, 9 * day,
                                       3 * day, differ, sizeof differ, &e),
                     0);                         /* same: no warning */
    ck_assert_int_eq(spool_node_config(sp, "h3:3", "bbbb", 10 * day, 9 * day,
                                       3 * day, differ, sizeof differ, &e),
                     2);
    ck_assert_str_eq(differ, "h1:1,h2:2");
    /* a day and a half on: h1 and h2 are older than since, not compared;
     * five days on they are forgotten altogether */
    ck_assert_int_eq(spool_node_config(sp, "h1:1", "cccc", 11 * day + day / 2,
                                       10 * day + day / 2, 3 * day, differ,
                                       sizeof differ, &e), 0);
    ck_assert_int_eq(spool_node_config(sp, "h4:4", "dddd", 16 * day,
                                       15 * day, 13 * day, differ,
                                       sizeof differ, &e), 0);
    ck_assert_int_eq(spool_node_config(sp, "h5:5", "eeee", 16 * day,
                                       10 * day, 3 * day, differ,
                                       sizeof differ, &e), 1);
    ck_assert_str_eq(differ, "h4:4");            /* h1-h3 were dropped */
    ck_assert_int_eq(e.n, 0);
    errs_free(&e);
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
    tcase_add_test(tc, test_adopt_open_stops_calls_until_its_cooldown);
    tcase_add_test(tc, test_adopt_half_open_waits_for_that_probe);
    tcase_add_test(tc, test_adopt_closed_ends_the_open_keeps_own_count);
    suite_add_tcase(s, tc);
    TCase *sh = tcase_create("shared");
    tcase_add_checked_fixture(sh, shared_setup, shared_teardown);
    tcase_add_test(sh, test_one_probe_across_nodes);
    tcase_add_test(sh, test_stop_is_seen_by_every_node);
    tcase_add_test(sh, test_node_config_digests_compared);
    suite_add_tcase(s, sh);
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
