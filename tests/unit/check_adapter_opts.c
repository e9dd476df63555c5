/* check_adapter_opts.c - the typed option table of adapter.h, read by the
 * one reader that `ferry check` and every adapter's init share: defaults,
 * each type stored at its offset, ranges, unknown and missing keys, the
 * "ns-*" family, and a check-only read that stores nothing. */
#include <check.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/adapter.h"
#include "util/errs.h"

struct opts {
    const char *name;
    long port;
    bool fast;
    int64_t timeout_ms;
    size_t cap;
};

static const struct adapter_key keys[] = {
    ADAPTER_KEY("host", ADAPTER_OPT_STR, true, "server"),
    ADAPTER_OPT("name", ADAPTER_OPT_STR, "anon", struct opts, name, 0, 0,
                "a name"),
    ADAPTER_OPT("port", ADAPTER_OPT_INT, "22", struct opts, port, 1, 65535,
                "port"),
    ADAPTER_OPT("fast", ADAPTER_OPT_BOOL, "false", struct opts, fast, 0, 0,
                "fast"),
    ADAPTER_OPT("timeout", ADAPTER_OPT_DURATION, "30s", struct opts,
                timeout_ms, 1, 24LL * 3600 * 1000, "timeout"),
    ADAPTER_OPT("cap", ADAPTER_OPT_SIZE, "1MiB", struct opts, cap, 256, 0,
                "cap"),
    ADAPTER_KEY("ns-*", ADAPTER_OPT_STR, false, "namespaces"),
    ADAPTER_KEY_END,
};

static const struct adapter fake = { .name = "fake" };

static struct kv KV(const char *k, const char *v)
{
    struct kv x = { (char *)k, (char *)v, 0 };
    return x;
}

START_TEST(test_opts_defaults_then_values_stored)
{
    struct kv v[] = { KV("host", "h") };
    struct kvlist l = { v, 1 };
    struct opts o;
    memset(&o, 0, sizeof o);
    struct errs e;
    errs_init(&e);
    ck_assert_int_eq(adapter_opts_read(&fake, keys, &l, NULL, &o, "t", NULL,
                                       0, &e), 0);
    ck_assert_str_eq(o.name, "anon");
    ck_assert_int_eq(o.port, 22);
    ck_assert(!o.fast);
    ck_assert_int_eq(o.timeout_ms, 30000);
    ck_assert_uint_eq(o.cap, 1024 * 1024);

    struct kv w[] = { KV("host", "h"), KV("name", "n"), KV("port", "2222"),
                      KV("fast", "yes"), KV("timeout", "45"),
                      KV("cap", "64KiB"), KV("ns-r", "urn:r") };
    struct kvlist l2 = { w, 7 };
    ck_assert_int_eq(adapter_opts_read(&fake, keys, &l2, NULL, &o, "t", NULL,
                                       0, &e), 0);
    ck_assert_str_eq(o.name, "n");
    ck_assert_int_eq(o.port, 2222);
    ck_assert(o.fast);
    ck_assert_int_eq(o.timeout_ms, 45000);    /* a bare number is seconds */
    ck_assert_uint_eq(o.cap, 64 * 1024);
    ck_assert_uint_eq(e.n, 0);
    errs_free(&e);
}
END_TEST

START_TEST(test_opts_every_fault_is_a_problem_with_its_line)
{
    struct kv v[] = { KV("port", "0"), KV("fast", "maybe"),
                      KV("timeout", "soon"), KV("cap", "12"),
                      KV("colour", "blue") };
    v[4].line = 9;
    struct kvlist l = { v, 5 };
    struct opts o;
    memset(&o, 0, sizeof o);
    struct errs e;
    errs_init(&e);
    ck_assert_int_eq(adapter_opts_read(&fake, keys, &l, NULL, NULL,
                                       "target 'x'", "ferry.xml", 4, &e), -1);
    /* port, fast, timeout, cap, colour (unknown), host (missing) */
    ck_assert_uint_eq(e.n, 6);
    ck_assert_str_eq(e.v[4].where, "ferry.xml:9");
    ck_assert(strstr(e.v[4].msg, "unknown key 'colour' for adapter fake"));
    ck_assert_str_eq(e.v[5].where, "ferry.xml:4");
    ck_assert(strstr(e.v[5].msg, "missing required key 'host'"));
    ck_assert(strstr(e.v[2].msg, "(1ms..24h)"));
    ck_assert_int_eq(o.port, 0);              /* check only: nothing stored */
    errs_free(&e);

    static const char *const skip[] = { "colour", NULL };
    struct kv w[] = { KV("host", "h"), KV("colour", "blue") };
    struct kvlist l2 = { w, 2 };
    errs_init(&e);
    ck_assert_int_eq(adapter_opts_read(&fake, keys, &l2, skip, NULL, "t",
                                       NULL, 0, &e), 0);
    errs_free(&e);
}
END_TEST

static Suite *opts_suite(void)
{
    Suite *s = suite_create("adapter_opts");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_opts_defaults_then_values_stored);
    tcase_add_test(tc, test_opts_every_fault_is_a_problem_with_its_line);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(opts_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
