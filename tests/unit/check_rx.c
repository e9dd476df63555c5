/* check_rx.c - map_rx_match (mappings/map_rx.c) says what regexec says,
 * or says it cannot tell: the mapping's own patterns, the syntax it must
 * leave to regexec, and many generated patterns against generated texts. */
#include <check.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mappings/map_rx.h"

/* agree - map_rx_match(p, t) is regexec's answer, or -1; returns it */
static int agree(const char *p, const char *t)
{
    int rc = map_rx_match(p, t);
    if (rc < 0)
        return rc;
    regex_t re;
    ck_assert_msg(regcomp(&re, p, REG_EXTENDED | REG_NOSUB) == 0,
                  "map_rx took %s, which regcomp refuses", p);
    int want = regexec(&re, t, 0, NULL, 0) == 0;
    regfree(&re);
    ck_assert_msg(rc == want, "pattern %s text \"%s\": map_rx %d, regexec %d",
                  p, t, rc, want);
    return rc;
}

START_TEST(test_mapping_patterns)
{
    static const char *const nino =
        "^[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][0-9]{6}[A-D]$";
    static const char *const pc = "^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$";
    ck_assert_int_eq(agree(nino, "AB123456C"), 1);
    ck_assert_int_eq(agree(nino, "DA123456C"), 0);
    ck_assert_int_eq(agree(nino, "AB123456E"), 0);
    ck_assert_int_eq(agree(nino, "AB12345C"), 0);
    ck_assert_int_eq(agree(nino, "AB123456CC"), 0);
    ck_assert_int_eq(agree(nino, ""), 0);
    ck_assert_int_eq(agree(pc, "CF10 1EP"), 1);
    ck_assert_int_eq(agree(pc, "S1 4GF"), 1);
    ck_assert_int_eq(agree(pc, "SW1A 1AA"), 1);
    ck_assert_int_eq(agree(pc, "SW1A1AA"), 0);
    ck_assert_int_eq(agree(pc, "cf10 1ep"), 0);
    ck_assert_int_eq(agree("^[0-9]{6}$", "309430"), 1);
    ck_assert_int_eq(agree("^[0-9]{6}$", "30943"), 0);
    ck_assert_int_eq(agree("^[A-Z0-9]{8,12}$", "HCR7Q4ZP2XW8"), 1);
    ck_assert_int_eq(agree("^[A-Z0-9]{8,12}$", "HCR7Q4ZP2XW8X"), 0);
    ck_assert_int_eq(agree("^[A-Z]{2}$", "GS"), 1);
    ck_assert_int_eq(agree("^[A-Z]{2}$", "G"), 0);
    /* unanchored: a match anywhere */
    ck_assert_int_eq(agree("[0-9]", "ab1"), 1);
    ck_assert_int_eq(agree("b+c", "abbbcd"), 1);
    ck_assert_int_eq(agree("x$", "ax"), 1);
    ck_assert_int_eq(agree("^a", "ba"), 0);
    /* escapes, dot, negated sets, a newline inside */
    ck_assert_int_eq(agree("^a\\.b$", "a.b"), 1);
    ck_assert_int_eq(agree("^a\\.b$", "axb"), 0);
    ck_assert_int_eq(agree("^a.b$", "a\nb"), 1);
    ck_assert_int_eq(agree("^[^0-9]+$", "a\nb"), 1);
    ck_assert_int_eq(agree("^[]a-]+$", "]-a"), 1);
}
END_TEST

START_TEST(test_outside_the_subset_is_left_to_regexec)
{
    static const char *const no[] = {
        "^(ab)+$", "^a|b$", "^[[:digit:]]+$", "^\\w+$", "^(a)\\1$",
        "^[a-c-e]$", "^a**$", "^a{2}?$", "^[z-a]$", "a^b", "a$b",
        "^a{300}$", "^[é]$", "^\\d$", "^[\\]]$", "*a", "^{2}a",
    };
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        ck_assert_msg(map_rx_match(no[i], "ab") == -1, "%s", no[i]);
    /* text it will not judge */
    ck_assert_int_eq(map_rx_match("^.+$", "Gwenll\xc3\xaf" "an"), -1);
    char big[400];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ck_assert_int_eq(map_rx_match("^a+$", big), -1);
    /* and the wrapper still answers for them, through regexec */
    regex_t re;
    ck_assert_int_eq(regcomp(&re, "^(ab)+$", REG_EXTENDED | REG_NOSUB), 0);
    ck_assert_ptr_null(map_rx_compile("^(ab)+$"));
    ck_assert(map_rx_matches(NULL, &re, "abab"));
    ck_assert(!map_rx_matches(NULL, &re, "aba"));
    regfree(&re);
    /* and, compiled, for text the matcher does not judge */
    struct map_rx *rx = map_rx_compile("^.+$");
    ck_assert_int_eq(regcomp(&re, "^.+$", REG_EXTENDED | REG_NOSUB), 0);
    ck_assert_ptr_nonnull(rx);
    ck_assert(map_rx_matches(rx, &re, "Gwenll\xc3\xaf" "an"));
    ck_assert(map_rx_matches(rx, &re, "plain"));
    ck_assert(!map_rx_matches(rx, &re, ""));
    map_rx_free(rx);
    regfree(&re);
}
END_TEST

/* generated: every pattern the subset takes, against many texts */
START_TEST(test_generated_patterns_agree_with_regexec)
{
    static const char *const atom[] = {
        "a", "b", "A", "0", "-", " ", ".", "[a-c]", "[^a]", "[]a]", "[a-]",
        "[0-9]", "[^0-9a]", "\\.", "\\-", ",", "[A-Z0-9]",
    };
    static const char *const quant[] = {
        "", "", "", "*", "+", "?", "{2}", "{1,3}", "{0,}", "{2,}", "{0}",
        "{0,1}",
    };
    static const char alpha[] = "abcA0- .],\n";
    unsigned seed = 12345;
    size_t judged = 0;
    for (int n = 0; n < 4000; n++) {
        char p[128];
        size_t pl = 0;
        seed = seed * 1103515245u + 12345u;
        if (seed >> 16 & 1)
            p[pl++] = '^';
        int na = 1 + (int)((seed >> 20) % 4);
        for (int k = 0; k < na; k++) {
            seed = seed * 1103515245u + 12345u;
            const char *a = atom[(seed >> 16) % (sizeof atom / sizeof *atom)];
            const char *q = quant[(seed >> 8) % (sizeof quant / sizeof *quant)];
            pl += (size_t)snprintf(p + pl, sizeof p - pl, "%s%s", a, q);
        }
        seed = seed * 1103515245u + 12345u;
        if (seed >> 16 & 1)
            p[pl++] = '$';
        p[pl] = '\0';
        for (int t = 0; t < 12; t++) {
            char text[16];
            seed = seed * 1103515245u + 12345u;
            size_t tl = (seed >> 16) % 9;
            for (size_t i = 0; i < tl; i++) {
                seed = seed * 1103515245u + 12345u;
                text[i] = alpha[(seed >> 16) % (sizeof alpha - 1)];
            }
            text[tl] = '\0';
            if (agree(p, text) >= 0)
                judged++;
        }
    }
    /* the subset covers these patterns (all but the ones with \\-): most
     * were judged here */
    ck_assert_uint_gt(judged, 4000 * 12 * 3 / 4);
}
END_TEST

/* generated texts spelled from the pattern itself (each atom's bytes,
 * each count in or near its range, then perhaps one byte changed), so
 * that many match: the anchored patterns whose atoms share no bytes with
 * what follows them are judged in one pass (map_rx.c, "greedy"), and
 * that pass must say yes exactly where regexec does, not only no */
START_TEST(test_spelled_texts_agree_with_regexec)
{
    static const struct { const char *re, *bytes; } atom[] = {
        { "a", "a" }, { "b", "b" }, { "A", "A" }, { "0", "0" }, { "-", "-" },
        { " ", " " }, { ".", "xa0 " }, { "[a-c]", "abc" }, { "[^a]", "b0-" },
        { "[]a]", "]a" }, { "[a-]", "a-" }, { "[0-9]", "0189" },
        { "[^0-9a]", "b-A" }, { "\\.", "." }, { ",", "," },
        { "[A-Z0-9]", "AZ09" }, { "[A-Z]", "AQZ" },
    };
    static const struct { const char *q; unsigned lo, hi; } quant[] = {
        { "", 1, 1 }, { "", 1, 1 }, { "*", 0, 4 }, { "+", 1, 4 },
        { "?", 0, 1 }, { "{2}", 2, 2 }, { "{1,3}", 1, 3 }, { "{0,}", 0, 4 },
        { "{2,}", 2, 5 }, { "{0,1}", 0, 1 }, { "{1,2}", 1, 2 },
    };
    static const char alpha[] = "abcA0- .],Z9";
    unsigned seed = 777;
    size_t judged = 0, matched = 0;
    for (int n = 0; n < 6000; n++) {
        char p[160];
        size_t pl = 0;
        size_t pick[5], qk[5];
        seed = seed * 1103515245u + 12345u;
        bool head = (seed >> 16) % 4 != 0, tail = (seed >> 18) % 4 != 0;
        if (head)
            p[pl++] = '^';
        size_t na = 1 + (seed >> 20) % 5;
        for (size_t k = 0; k < na; k++) {
            seed = seed * 1103515245u + 12345u;
            pick[k] = (seed >> 16) % (sizeof atom / sizeof *atom);
            qk[k] = (seed >> 8) % (sizeof quant / sizeof *quant);
            pl += (size_t)snprintf(p + pl, sizeof p - pl, "%s%s",
                                   atom[pick[k]].re, quant[qk[k]].q);
        }
        if (tail)
            p[pl++] = '$';
        p[pl] = '\0';
        for (int t = 0; t < 8; t++) {
            char text[64];
            size_t tl = 0;
            for (size_t k = 0; k < na; k++) {
                seed = seed * 1103515245u + 12345u;
                unsigned lo = quant[qk[k]].lo, hi = quant[qk[k]].hi;
                unsigned c = lo + (seed >> 16) % (hi - lo + 1);
                if ((seed >> 24) % 8 == 0)
                    c++;                        /* one too many */
                const char *b = atom[pick[k]].bytes;
                for (unsigned i = 0; i < c; i++) {
                    seed = seed * 1103515245u + 12345u;
                    text[tl++] = b[(seed >> 16) % strlen(b)];
                }
            }
            seed = seed * 1103515245u + 12345u;
            if (tl && (seed >> 16) % 4 == 0)
                text[(seed >> 20) % tl] = alpha[(seed >> 8) % (sizeof alpha - 1)];
            text[tl] = '\0';
            int rc = agree(p, text);
            if (rc >= 0)
                judged++;
            if (rc == 1)
                matched++;
        }
    }
    ck_assert_uint_gt(judged, 6000 * 8 * 3 / 4);
    ck_assert_uint_gt(matched, judged / 3);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rx");
    TCase *tc = tcase_create("rx");
    tcase_add_test(tc, test_mapping_patterns);
    tcase_add_test(tc, test_outside_the_subset_is_left_to_regexec);
    tcase_add_test(tc, test_generated_patterns_agree_with_regexec);
    tcase_add_test(tc, test_spelled_texts_agree_with_regexec);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
