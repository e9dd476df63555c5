/* check_utf8.c - the one UTF-8 decoder (util/utf8.h) that request bodies,
 * CSV rows, accepted values, code-page encoders and case mapping all use:
 * what is valid, where the first invalid byte is, round trips. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "util/utf8.h"

START_TEST(test_utf8_decodes_every_length)
{
    struct { const char *s; size_t len; uint32_t cp; } ok[] = {
        {"A", 1, 0x41}, {"\xC2\xA3", 2, 0xA3}, {"\xE2\x82\xAC", 3, 0x20AC},
        {"\xF0\x9F\x98\x80", 4, 0x1F600}, {"\xF4\x8F\xBF\xBF", 4, 0x10FFFF},
        {"\xEF\xBF\xBD", 3, 0xFFFD},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint32_t cp = 0;
        ck_assert_uint_eq(utf8_next(ok[i].s, strlen(ok[i].s), &cp), ok[i].len);
        ck_assert_uint_eq(cp, ok[i].cp);
        char out[4];
        ck_assert_uint_eq(utf8_put(cp, out), ok[i].len);
        ck_assert_int_eq(memcmp(out, ok[i].s, ok[i].len), 0);
    }
}
END_TEST

START_TEST(test_utf8_refuses_overlong_surrogate_too_big_and_cut)
{
    const char *bad[] = {
        "\xC0\x80", "\xC1\xBF",             /* overlong 2-byte */
        "\xE0\x80\x80", "\xE0\x9F\xBF",     /* overlong 3-byte */
        "\xF0\x8F\xBF\xBF",                 /* overlong 4-byte */
        "\xED\xA0\x80", "\xED\xBF\xBF",     /* surrogates */
        "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", /* past U+10FFFF */
        "\x80", "\xBF", "\xFF", "\xFE",     /* no lead byte */
        "\xC2", "\xE2\x82", "\xF0\x9F\x98", /* cut short */
        "\xC2\x41",                         /* continuation missing */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint32_t cp = 77;
        ck_assert_uint_eq(utf8_next(bad[i], strlen(bad[i]), &cp), 0);
        ck_assert_uint_eq(cp, 77);
        ck_assert_int_eq(utf8_invalid_at(bad[i], strlen(bad[i])), 0);
    }
    uint32_t cp;
    ck_assert_uint_eq(utf8_next("", 0, &cp), 0);
}
END_TEST

START_TEST(test_utf8_first_invalid_offset_and_counts)
{
    const char *s = "Zo\xC3\xAB \xE2\x82\xAC\xC3";   /* "Zoë €" then a cut byte */
    ck_assert_int_eq(utf8_invalid_at(s, strlen(s)), 8);
    ck_assert_int_eq(utf8_invalid_at(s, 8), -1);
    ck_assert_uint_eq(utf8_chars(s, 8), 5);
    ck_assert_int_eq(utf8_invalid_at("plain ascii", 11), -1);
    /* a NUL is a valid code point: length, not strlen, bounds the scan */
    ck_assert_int_eq(utf8_invalid_at("a\0\xC3\xAB", 4), -1);
}
END_TEST

static Suite *utf8_suite(void)
{
    Suite *s = suite_create("utf8");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_utf8_decodes_every_length);
    tcase_add_test(tc, test_utf8_refuses_overlong_surrogate_too_big_and_cut);
    tcase_add_test(tc, test_utf8_first_invalid_offset_and_counts);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(utf8_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
