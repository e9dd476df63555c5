/* check_scrub.c - util/scrub.c: back-end messages keep the SQLSTATE, the
 * constraint, table and column names and the fault words, and lose the
 * values they echo (PostgreSQL's own message shapes). */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "util/scrub.h"

static int scrub(char *buf, size_t sz, const char *in)
{
    snprintf(buf, sz, "%s", in);
    return scrub_echoed_values(buf, sz);
}

START_TEST(test_failing_row_withheld_names_kept)
{
    char b[1024];
    ck_assert_int_eq(scrub(b, sizeof b, "insert: SQLSTATE 23514: ERROR: new "
        "row for relation \"claims\" violates check constraint "
        "\"claims_amount_check\"; DETAIL: Failing row contains (FRY-1, "
        "Smith (Jr), AB123456C, 1980-02-29, -1.00).;Error while executing "
        "the query"), 1);
    ck_assert_ptr_null(strstr(b, "Smith"));
    ck_assert_ptr_null(strstr(b, "AB123456C"));
    ck_assert_ptr_null(strstr(b, "-1.00"));
    ck_assert_ptr_nonnull(strstr(b, "SQLSTATE 23514"));
    ck_assert_ptr_nonnull(strstr(b, "\"claims_amount_check\""));
    ck_assert_ptr_nonnull(strstr(b, "relation \"claims\""));
    ck_assert_ptr_nonnull(strstr(b, "Failing row contains (values withheld)."));
    ck_assert_ptr_nonnull(strstr(b, "Error while executing the query"));
}
END_TEST

START_TEST(test_key_value_withheld_columns_kept)
{
    char b[1024];
    ck_assert_int_eq(scrub(b, sizeof b, "ERROR: duplicate key value violates "
        "unique constraint \"claims_nino_born_key\" DETAIL: Key (nino, born)="
        "(AB123456C, 1980-02-29) already exists."), 1);
    ck_assert_str_eq(b, "ERROR: duplicate key value violates unique "
        "constraint \"claims_nino_born_key\" DETAIL: Key (nino, born)="
        "(values withheld) already exists.");
    ck_assert_int_eq(scrub(b, sizeof b, "DETAIL: Key (claimant)=(Jo Bloggs) "
        "is not present in table \"people\"."), 1);
    ck_assert_ptr_null(strstr(b, "Bloggs"));
    ck_assert_ptr_nonnull(strstr(b, "\"people\""));
}
END_TEST

START_TEST(test_quoted_input_values_withheld)
{
    char b[512];
    ck_assert_int_eq(scrub(b, sizeof b, "ERROR: invalid input syntax for "
        "type date: \"31/02/1980\""), 1);
    ck_assert_ptr_null(strstr(b, "1980"));
    ck_assert_int_eq(scrub(b, sizeof b, "ERROR: value \"99999999999\" is out "
        "of range for type integer"), 1);
    ck_assert_str_eq(b, "ERROR: value (values withheld) is out of range for "
        "type integer");
    /* several in one message, a doubled quote inside a value */
    ck_assert_int_eq(scrub(b, sizeof b, "invalid input syntax for type "
        "integer: \"a\"\"b\"; Key (x)=(1) x"), 2);
    ck_assert_str_eq(b, "invalid input syntax for type integer: (values "
        "withheld); Key (x)=(values withheld) x");
}
END_TEST

START_TEST(test_messages_without_values_unchanged)
{
    char b[512];
    const char *keep[] = {
        "insert: SQLSTATE 22001: ERROR: value too long for type character(10)",
        "insert: SQLSTATE HY000: [SQLite]UNIQUE constraint failed: "
        "ADDRESS_CHANGES.NINO, ADDRESS_CHANGES.MOVE_DATE (19)",
        "SOAP fault Client: reference BAD1 rejected: unknown claimant",
        "ERROR: duplicate key value violates unique constraint \"k\"",
    };
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
        ck_assert_int_eq(scrub(b, sizeof b, keep[i]), 0);
        ck_assert_str_eq(b, keep[i]);
    }
}
END_TEST

START_TEST(test_unclosed_value_cut_to_the_end)
{
    char b[64];
    ck_assert_int_eq(scrub(b, sizeof b, "Failing row contains (AB123456C, "
        "Smi"), 1);
    ck_assert_str_eq(b, "Failing row contains (values withheld)");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("scrub");
    TCase *tc = tcase_create("scrub");
    tcase_add_test(tc, test_failing_row_withheld_names_kept);
    tcase_add_test(tc, test_key_value_withheld_columns_kept);
    tcase_add_test(tc, test_quoted_input_values_withheld);
    tcase_add_test(tc, test_messages_without_values_unchanged);
    tcase_add_test(tc, test_unclosed_value_cut_to_the_end);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
