/* check_odbc.c - the ODBC adapter's pure rules: SQLSTATE classification,
 * identifiers, exact decimal text, CHAR padding. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/odbc.h"
#include "util/utf8.h"

/* the SQLSTATE table, as the docs state it */
static const struct {
    const char *state, *msg;
    bool in_commit;
    enum adapter_outcome want;
    bool lost;
} cases[] = {
    {"08001", "could not connect", false, ADAPTER_RETRY, true},
    {"08S01", "communication link failure", false, ADAPTER_RETRY, true},
    {"08003", "connection does not exist", false, ADAPTER_RETRY, true},
    {"08S01", "communication link failure", true, ADAPTER_INDOUBT, true},
    {"57P01", "terminating connection due to administrator command", false,
     ADAPTER_RETRY, true},
    {"57P02", "crash shutdown", false, ADAPTER_RETRY, true},
    {"57P03", "cannot connect now", false, ADAPTER_RETRY, true},
    {"57P01", "admin shutdown", true, ADAPTER_INDOUBT, true},
    {"40001", "could not serialize access", false, ADAPTER_RETRY, false},
    {"40P01", "deadlock detected", false, ADAPTER_RETRY, false},
    {"40001", "could not serialize access", true, ADAPTER_RETRY, false},
    {"40003", "statement completion unknown", false, ADAPTER_INDOUBT, false},
    {"40002", "integrity constraint violation", true, ADAPTER_FAIL, false},
    {"HYT00", "timeout expired", false, ADAPTER_RETRY, false},
    {"HYT01", "connection timeout expired", false, ADAPTER_RETRY, false},
    {"57014", "canceling statement due to statement timeout", false,
     ADAPTER_RETRY, false},
    {"53300", "too many connections", false, ADAPTER_RETRY, false},
    {"22001", "value too long", false, ADAPTER_FAIL, false},
    {"22003", "numeric field overflow", false, ADAPTER_FAIL, false},
    {"22007", "invalid datetime format", false, ADAPTER_FAIL, false},
    {"23505", "duplicate key value", false, ADAPTER_FAIL, false},
    {"23514", "violates check constraint", false, ADAPTER_FAIL, false},
    {"23502", "null value in column", false, ADAPTER_FAIL, false},
    {"42P01", "relation does not exist", false, ADAPTER_FAIL, false},
    {"42601", "syntax error", false, ADAPTER_FAIL, false},
    {"42S22", "column not found", false, ADAPTER_FAIL, false},
    {"28P01", "password authentication failed", false, ADAPTER_FAIL, false},
    {"HY000", "[SQLite]CHECK constraint failed: AMOUNT >= 0 (19)", false,
     ADAPTER_FAIL, false},
    {"HY000", "[SQLite]UNIQUE constraint failed: CLAIMS.REF (19)", false,
     ADAPTER_FAIL, false},
    {"HY000", "[SQLite]database is locked (5)", false, ADAPTER_RETRY, false},
    {"HY000", "something odd", false, ADAPTER_RETRY, false},
    {"", NULL, false, ADAPTER_RETRY, false},
    {NULL, NULL, false, ADAPTER_RETRY, false},
};

START_TEST(test_classify_table)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool lost = !cases[i].lost;
        enum adapter_outcome o = odbc_classify(cases[i].state, cases[i].msg,
                                               cases[i].in_commit, &lost);
        ck_assert_msg(o == cases[i].want, "%s (%s) commit=%d: got %d want %d",
                      cases[i].state ? cases[i].state : "NULL",
                      cases[i].msg ? cases[i].msg : "", cases[i].in_commit,
                      o, cases[i].want);
        ck_assert_msg(lost == cases[i].lost, "%s: lost=%d",
                      cases[i].state ? cases[i].state : "NULL", lost);
    }
}
END_TEST

START_TEST(test_classify_conn_lost_may_be_null)
{
    ck_assert_int_eq(odbc_classify("08S01", "x", false, NULL), ADAPTER_RETRY);
}
END_TEST

START_TEST(test_duplicate_detection)
{
    ck_assert(odbc_is_duplicate("23505", "duplicate key value violates"));
    ck_assert(odbc_is_duplicate("HY000", "[SQLite]UNIQUE constraint failed: "
                                "T.A (19)"));
    ck_assert(odbc_is_duplicate("23000", "Violation of PRIMARY KEY "
                                "constraint"));
    ck_assert(!odbc_is_duplicate("23514", "violates check constraint"));
    ck_assert(!odbc_is_duplicate("23000", "cannot insert NULL"));
    ck_assert(!odbc_is_duplicate("HY000", "[SQLite]CHECK constraint failed"));
    ck_assert(!odbc_is_duplicate("08S01", "unique"));
}
END_TEST

START_TEST(test_ident_valid)
{
    ck_assert(odbc_ident_valid("CLAIMS"));
    ck_assert(odbc_ident_valid("legacy.CLAIM_LINES"));
    ck_assert(odbc_ident_valid("_x$1#"));
    ck_assert(!odbc_ident_valid(""));
    ck_assert(!odbc_ident_valid(NULL));
    ck_assert(!odbc_ident_valid("1ABC"));
    ck_assert(!odbc_ident_valid("a..b"));
    ck_assert(!odbc_ident_valid(".a"));
    ck_assert(!odbc_ident_valid("a."));
    ck_assert(!odbc_ident_valid("CLAIMS;DROP TABLE X"));
    ck_assert(!odbc_ident_valid("a\"b"));
    ck_assert(!odbc_ident_valid("a b"));
    ck_assert(!odbc_ident_valid("a-b"));
    ck_assert(!odbc_ident_valid("$a"));
    char big[200];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ck_assert(!odbc_ident_valid(big));
}
END_TEST

START_TEST(test_ident_quote)
{
    char out[64];
    ck_assert_int_eq(odbc_ident_quote("CLAIMS", out, sizeof out), 0);
    ck_assert_str_eq(out, "\"CLAIMS\"");
    ck_assert_int_eq(odbc_ident_quote("legacy.claims", out, sizeof out), 0);
    ck_assert_str_eq(out, "\"legacy\".\"claims\"");
    ck_assert_int_eq(odbc_ident_quote("x\"y", out, sizeof out), -1);
    ck_assert_int_eq(odbc_ident_quote("abcdef", out, 8), -1);   /* 8+1 */
    ck_assert_int_eq(odbc_ident_quote("abcdef", out, 9), 0);
    ck_assert_str_eq(out, "\"abcdef\"");
}
END_TEST

START_TEST(test_decimal_text)
{
    char out[64];
    ck_assert_int_eq(odbc_decimal_text(123456, 2, 9, 2, out, sizeof out), 0);
    ck_assert_str_eq(out, "1234.56");
    ck_assert_int_eq(odbc_decimal_text(5, 2, 9, 2, out, sizeof out), 0);
    ck_assert_str_eq(out, "0.05");
    ck_assert_int_eq(odbc_decimal_text(-5, 2, 9, 2, out, sizeof out), 0);
    ck_assert_str_eq(out, "-0.05");
    ck_assert_int_eq(odbc_decimal_text(0, 2, 9, 2, out, sizeof out), 0);
    ck_assert_str_eq(out, "0.00");
    /* pad to the column's scale */
    ck_assert_int_eq(odbc_decimal_text(12, 0, 9, 2, out, sizeof out), 0);
    ck_assert_str_eq(out, "12.00");
    ck_assert_int_eq(odbc_decimal_text(15, 1, 9, 3, out, sizeof out), 0);
    ck_assert_str_eq(out, "1.500");
    /* fewer places only when the dropped digits are zero: never rounded */
    ck_assert_int_eq(odbc_decimal_text(71250, 4, 9, 2, out, sizeof out), -1);
    ck_assert_int_eq(odbc_decimal_text(71200, 4, 9, 2, out, sizeof out), 0);
    ck_assert_str_eq(out, "7.12");
    ck_assert_int_eq(odbc_decimal_text(7125, 3, 9, 2, out, sizeof out), -1);
    /* precision: NUMERIC(9,2) holds 7 integer digits */
    ck_assert_int_eq(odbc_decimal_text(999999999, 2, 9, 2, out, sizeof out),
                     0);
    ck_assert_str_eq(out, "9999999.99");
    ck_assert_int_eq(odbc_decimal_text(1000000000, 2, 9, 2, out, sizeof out),
                     -1);
    /* scale 0 column */
    ck_assert_int_eq(odbc_decimal_text(4200, 2, 5, 0, out, sizeof out), 0);
    ck_assert_str_eq(out, "42");
    /* unknown column scale: the value's own */
    ck_assert_int_eq(odbc_decimal_text(-123450, 3, 0, -1, out, sizeof out),
                     0);
    ck_assert_str_eq(out, "-123.450");
    /* the extremes of int64 */
    ck_assert_int_eq(odbc_decimal_text(INT64_MIN, 2, 0, 2, out, sizeof out),
                     0);
    ck_assert_str_eq(out, "-92233720368547758.08");
    ck_assert_int_eq(odbc_decimal_text(INT64_MAX, 0, 0, 0, out, sizeof out),
                     0);
    ck_assert_str_eq(out, "9223372036854775807");
    /* out too small */
    ck_assert_int_eq(odbc_decimal_text(123456, 2, 9, 2, out, 7), -1);
}
END_TEST

START_TEST(test_char_pad_fixed)
{
    char out[64];
    bool cut = true;
    ck_assert_int_eq(odbc_char_fit("AB", 5, true, false, out, sizeof out,
                                   &cut), 0);
    ck_assert_str_eq(out, "AB   ");
    ck_assert(!cut);
    /* padding counts characters, not bytes */
    ck_assert_int_eq(odbc_char_fit("Zoë", 5, true, false, out, sizeof out,
                                   &cut), 0);
    ck_assert_str_eq(out, "Zoë  ");
    /* exactly full */
    ck_assert_int_eq(odbc_char_fit("ABCDE", 5, true, false, out, sizeof out,
                                   &cut), 0);
    ck_assert_str_eq(out, "ABCDE");
}
END_TEST

START_TEST(test_char_too_long)
{
    char out[64];
    bool cut = false;
    ck_assert_int_eq(odbc_char_fit("ABCDEF", 5, true, false, out, sizeof out,
                                   &cut), -1);
    /* only trailing spaces overflow: trimmed, not an error */
    ck_assert_int_eq(odbc_char_fit("ABC   ", 5, true, false, out, sizeof out,
                                   &cut), 0);
    ck_assert_str_eq(out, "ABC  ");
    ck_assert(!cut);
    /* truncate allowed: cut at a character boundary */
    ck_assert_int_eq(odbc_char_fit("ABCDëF", 5, true, true, out, sizeof out,
                                   &cut), 0);
    ck_assert_str_eq(out, "ABCDë");
    ck_assert(cut);
    ck_assert_int_eq(odbc_char_fit("ëëëëëë", 3, false, true, out, sizeof out,
                                   &cut), 0);
    ck_assert_str_eq(out, "ëëë");
}
END_TEST

START_TEST(test_varchar_not_padded)
{
    char out[64];
    bool cut;
    ck_assert_int_eq(odbc_char_fit("AB", 5, false, false, out, sizeof out,
                                   &cut), 0);
    ck_assert_str_eq(out, "AB");
    ck_assert_int_eq(odbc_char_fit("ABCDEF", 5, false, false, out,
                                   sizeof out, &cut), -1);
    /* unknown size: anything goes, nothing padded */
    ck_assert_int_eq(odbc_char_fit("ABCDEFGH", 0, true, false, out,
                                   sizeof out, &cut), 0);
    ck_assert_str_eq(out, "ABCDEFGH");
    /* out too small is its own error */
    ck_assert_int_eq(odbc_char_fit("AB", 10, true, false, out, 5, &cut), -2);
    ck_assert_uint_eq(utf8_chars("Zoë", strlen("Zoë")), 3);
}
END_TEST

/* ---- connection strings ---- */

struct attrs {
    char keys[8][64], vals[8][128];
    int n;
};

static int collect(void *ctx, const char *key, const char *val, size_t vlen)
{
    struct attrs *a = ctx;
    ck_assert_int_lt(a->n, 8);
    ck_assert_uint_eq(strlen(val), vlen);
    snprintf(a->keys[a->n], sizeof a->keys[0], "%s", key);
    snprintf(a->vals[a->n], sizeof a->vals[0], "%s", val);
    a->n++;
    return 0;
}

START_TEST(test_connstr_each)
{
    char why[256];
    struct attrs a = { .n = 0 };
    const char *pg = "Driver={PostgreSQL Unicode};Server=127.0.0.1;Port=5432;"
                     "Database=postgres; UID = ferry ;PWD={a;b}}c=d};";
    ck_assert_int_eq(odbc_connstr_each(pg, strlen(pg), collect, &a, why,
                                       sizeof why), 0);
    ck_assert_int_eq(a.n, 6);
    ck_assert_str_eq(a.keys[0], "Driver");
    ck_assert_str_eq(a.vals[0], "PostgreSQL Unicode");
    ck_assert_str_eq(a.keys[4], "UID");
    ck_assert_str_eq(a.vals[4], "ferry");
    ck_assert_str_eq(a.keys[5], "PWD");
    ck_assert_str_eq(a.vals[5], "a;b}c=d");
    /* the problems, none quoting a value */
    static const char *const bad[] = {
        "", ";;", "mydsn", "=x", "PWD={secret", "PWD={se}cret",
        "PWD=se}cret", "A=b\nPWD=secret", "PWD={s\0}",
    };
    static const size_t badlen[] = { 0, 2, 5, 2, 11, 12, 11, 14, 9 };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why[0] = '\0';
        ck_assert_msg(odbc_connstr_each(bad[i], badlen[i], NULL, NULL, why,
                                        sizeof why) == -1, "bad %zu", i);
        ck_assert(why[0]);
        ck_assert_msg(!strstr(why, "secret") && !strstr(why, "cret"),
                      "why quotes the value: %s", why);
    }
}
END_TEST

START_TEST(test_connstr_make_no_injection)
{
    char out[ODBC_CONNSTR_MAX + 1], why[256];
    ck_assert_int_eq(odbc_connstr_make("legacy", "ferry", "p};UID=root;x={",
                                       out, sizeof out, why, sizeof why), 0);
    ck_assert_str_eq(out, "DSN=legacy;UID=ferry;PWD={p}};UID=root;x={};");
    struct attrs a = { .n = 0 };
    ck_assert_int_eq(odbc_connstr_each(out, strlen(out), collect, &a, why,
                                       sizeof why), 0);
    ck_assert_int_eq(a.n, 3);
    ck_assert_str_eq(a.vals[1], "ferry");
    ck_assert_str_eq(a.vals[2], "p};UID=root;x={");
    ck_assert_int_eq(odbc_connstr_make("a;UID=root", NULL, NULL, out,
                                       sizeof out, why, sizeof why), -1);
    ck_assert_int_eq(odbc_connstr_make("a", "u{", NULL, out, sizeof out, why,
                                       sizeof why), -1);
    ck_assert_int_eq(odbc_connstr_make("abc", NULL, NULL, out, 8, why,
                                       sizeof why), -1);
    ck_assert_str_eq(out, "");
}
END_TEST

static Suite *odbc_suite(void)
{
    Suite *s = suite_create("odbc");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_classify_table);
    tcase_add_test(tc, test_classify_conn_lost_may_be_null);
    tcase_add_test(tc, test_duplicate_detection);
    tcase_add_test(tc, test_ident_valid);
    tcase_add_test(tc, test_ident_quote);
    tcase_add_test(tc, test_connstr_each);
    tcase_add_test(tc, test_connstr_make_no_injection);
    tcase_add_test(tc, test_decimal_text);
    tcase_add_test(tc, test_char_pad_fixed);
    tcase_add_test(tc, test_char_too_long);
    tcase_add_test(tc, test_varchar_not_padded);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(odbc_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
