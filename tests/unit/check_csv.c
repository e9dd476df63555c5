/* check_csv.c - the RFC 4180 reader: dialect, line numbers, refusals. */
#include "mappings/csv.h"
#include "util/errs.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads everything; returns the good rows as "a|b|c" lines joined by
 * "\n" into out, every problem as "where: msg" lines into probs. */
static void slurp(const char *data, size_t len, char *out, size_t outsz,
                  char *probs, size_t probsz)
{
    struct csv_reader *r = csv_open_mem(data, len, "t.csv");
    ck_assert_ptr_nonnull(r);
    struct errs e;
    errs_init(&e);
    out[0] = '\0';
    size_t o = 0;
    struct csv_row row;
    int rc;
    while ((rc = csv_next(r, &row, &e)) != 0) {
        if (rc < 0)
            continue;
        o += (size_t)snprintf(out + o, outsz - o, "%ld:", row.line);
        for (size_t i = 0; i < row.n; i++)
            o += (size_t)snprintf(out + o, outsz - o, "%s%s", i ? "|" : "",
                                  row.fields[i]);
        o += (size_t)snprintf(out + o, outsz - o, "\n");
        ck_assert_uint_lt(o, outsz);
    }
    probs[0] = '\0';
    size_t p = 0;
    for (size_t i = 0; i < e.n; i++)
        p += (size_t)snprintf(probs + p, probsz - p, "%s: %s\n",
                              e.v[i].where, e.v[i].msg);
    errs_free(&e);
    csv_free(r);
}

#define SLURP(lit) slurp(lit, sizeof(lit) - 1, out, sizeof out, probs, \
                         sizeof probs)

START_TEST(test_csv_plain_rows_and_header)
{
    const char data[] = "name,postcode,amount\nAnn,SW1A 1AA,12.50\nBob,CF10 1AA,3\n";
    struct csv_reader *r = csv_open_mem(data, sizeof data - 1, "t.csv");
    struct errs e;
    errs_init(&e);
    struct csv_row row;
    ck_assert_int_eq(csv_next(r, &row, &e), 1);
    ck_assert_uint_eq(csv_ncolumns(r), 3);
    ck_assert_str_eq(csv_header(r)[1], "postcode");
    ck_assert_int_eq(csv_header_line(r), 1);
    ck_assert_int_eq(row.line, 2);
    ck_assert_str_eq(row.fields[1], "SW1A 1AA");
    ck_assert_uint_eq(row.lens[1], 8);
    ck_assert_int_eq(csv_next(r, &row, &e), 1);
    ck_assert_str_eq(row.fields[0], "Bob");
    ck_assert_int_eq(csv_next(r, &row, &e), 0);
    ck_assert_uint_eq(e.n, 0);
    errs_free(&e);
    csv_free(r);
}
END_TEST

START_TEST(test_csv_quotes_commas_and_doubled_quotes)
{
    char out[512], probs[512];
    SLURP("a,b\n\"x, y\",\"she said \"\"hi\"\"\"\n\"\",plain\n");
    ck_assert_str_eq(out, "2:x, y|she said \"hi\"\n3:|plain\n");
    ck_assert_str_eq(probs, "");
}
END_TEST

START_TEST(test_csv_newline_inside_quotes_counts_lines)
{
    char out[512], probs[512];
    SLURP("a,b\n\"line one\nline two\",x\nnext,y\n");
    ck_assert_str_eq(out, "2:line one\nline two|x\n4:next|y\n");
    ck_assert_str_eq(probs, "");
}
END_TEST

START_TEST(test_csv_crlf_and_no_final_newline)
{
    char out[512], probs[512];
    SLURP("a,b\r\n1,2\r\n\"q\r\nr\",3\r\n4,5");
    ck_assert_str_eq(out, "2:1|2\n3:q\r\nr|3\n5:4|5\n");
    ck_assert_str_eq(probs, "");
}
END_TEST

/* an error path never returns -1 with an empty problem list: asking a
 * failed reader for its header again says why */
START_TEST(test_csv_failed_header_again_has_a_problem)
{
    struct csv_reader *r = csv_open_mem("", 0, "t.csv");
    struct errs e;
    errs_init(&e);
    ck_assert_int_eq(csv_read_header(r, &e), -1);
    ck_assert_uint_gt(e.n, 0);
    errs_clear(&e);
    ck_assert_int_eq(csv_read_header(r, &e), -1);
    ck_assert_uint_eq(e.n, 1);
    errs_free(&e);
    csv_free(r);
}
END_TEST

START_TEST(test_csv_bom_skipped)
{
    char out[512], probs[512];
    const char data[] = "\xEF\xBB\xBFid,name\n1,x\n";
    struct csv_reader *r = csv_open_mem(data, sizeof data - 1, "t.csv");
    struct errs e;
    errs_init(&e);
    ck_assert_int_eq(csv_read_header(r, &e), 0);
    ck_assert_str_eq(csv_header(r)[0], "id");
    errs_free(&e);
    csv_free(r);
    SLURP("\xEF\xBB\xBFid,name\n1,x\n");
    ck_assert_str_eq(out, "2:1|x\n");
}
END_TEST

START_TEST(test_csv_blank_lines_skipped_line_numbers_kept)
{
    char out[512], probs[512];
    SLURP("\na,b\n\n1,2\n\r\n3,4\n\n");
    ck_assert_str_eq(out, "4:1|2\n6:3|4\n");
    ck_assert_str_eq(probs, "");
}
END_TEST

START_TEST(test_csv_empty_trailing_field)
{
    char out[512], probs[512];
    SLURP("a,b,c\n1,2,\n3,,");
    ck_assert_str_eq(out, "2:1|2|\n3:3||\n");
    ck_assert_str_eq(probs, "");
}
END_TEST

START_TEST(test_csv_missing_and_extra_columns_named_and_skipped)
{
    char out[512], probs[512];
    SLURP("a,b,c\n1,2,3\n1,2\n4,5,6\n1,2,3,4\n7,8,9\n");
    ck_assert_str_eq(out, "2:1|2|3\n4:4|5|6\n6:7|8|9\n");
    ck_assert_str_eq(probs,
        "t.csv: line 3: 2 columns, header has 3\n"
        "t.csv: line 5: 4 columns, header has 3\n");
}
END_TEST

START_TEST(test_csv_unterminated_quote_names_start_line)
{
    char out[512], probs[512];
    SLURP("a,b\n1,2\n3,\"never closed\n4,5\n6,7\n");
    ck_assert_str_eq(out, "2:1|2\n");
    ck_assert_str_eq(probs,
        "t.csv: unterminated quoted field starting at line 3\n");
}
END_TEST

START_TEST(test_csv_nul_refused_and_reading_stops)
{
    char out[512], probs[512];
    SLURP("a,b\n1,2\n3,x\0y\n5,6\n");
    ck_assert_str_eq(out, "2:1|2\n");
    ck_assert_str_eq(probs, "t.csv: line 3, column 2 (b): NUL byte\n");
}
END_TEST

/* fuzz find: an empty first field, before the row buffer held any byte,
 * was checked for UTF-8 through a NULL pointer (UBSan) */
START_TEST(test_csv_empty_first_field_then_nul)
{
    char out[512], probs[512];
    SLURP(",\0chWim");
    ck_assert_str_eq(out, "");
    ck_assert_str_eq(probs, "t.csv: line 1, column 2: NUL byte\n");
    SLURP("a,b\n,\n");
    ck_assert_str_eq(out, "2:|\n");
    ck_assert_str_eq(probs, "");
}
END_TEST

START_TEST(test_csv_invalid_utf8_names_line_and_column)
{
    char out[512], probs[512];
    SLURP("name,town\nAnn,Caerdydd\nBob,Abert\xC3\n\"Ceri\",\xED\xA0\x80x\nDai,Y Bala\n");
    ck_assert_str_eq(out, "2:Ann|Caerdydd\n5:Dai|Y Bala\n");
    ck_assert_str_eq(probs,
        "t.csv: line 3, column 2 (town): invalid UTF-8 at byte 6 of the field\n"
        "t.csv: line 4, column 2 (town): invalid UTF-8 at byte 1 of the field\n");
}
END_TEST

START_TEST(test_csv_utf8_accepted)
{
    char out[512], probs[512];
    SLURP("name\nGwenllïan Ŵ\n");
    ck_assert_str_eq(out, "2:Gwenllïan Ŵ\n");
    ck_assert_str_eq(probs, "");
}
END_TEST

START_TEST(test_csv_stray_quotes_refused)
{
    char out[512], probs[512];
    SLURP("a,b\nab\"c,1\n\"x\"y,2\nok,3\n");
    ck_assert_str_eq(out, "4:ok|3\n");
    ck_assert_str_eq(probs,
        "t.csv: line 2, column 1 (a): quote inside an unquoted field (quote "
        "the whole field and double the quote)\n"
        "t.csv: line 3, column 1 (a): text after the closing quote\n");
}
END_TEST

START_TEST(test_csv_caps_field_row_columns)
{
    struct errs e;
    errs_init(&e);
    const char data[] = "a,b\n12345,1\n\"1234\n56\",2\nok,3\n1,2\n";
    struct csv_reader *r = csv_open_mem(data, sizeof data - 1, "t.csv");
    csv_set_limits(r, 4, 0, 0);
    struct csv_row row;
    ck_assert_int_eq(csv_next(r, &row, &e), -1);
    ck_assert_int_eq(csv_next(r, &row, &e), -1);
    ck_assert_int_eq(csv_next(r, &row, &e), 1);
    ck_assert_int_eq(row.line, 5);
    ck_assert_str_eq(row.fields[0], "ok");
    ck_assert_uint_eq(e.n, 2);
    ck_assert_str_eq(e.v[0].msg,
                     "line 2, column 1 (a): field longer than 4 bytes");
    ck_assert_str_eq(e.v[1].msg,
                     "line 3, column 1 (a): field longer than 4 bytes");
    csv_free(r);

    errs_clear(&e);
    const char wide[] = "a,b\n1,2,3,4,5\n";
    r = csv_open_mem(wide, sizeof wide - 1, "t.csv");
    csv_set_limits(r, 0, 0, 3);
    ck_assert_int_eq(csv_next(r, &row, &e), -1);
    ck_assert_str_eq(e.v[0].msg, "line 2, column 4: more than 3 columns");
    ck_assert_int_eq(csv_next(r, &row, &e), 0);
    csv_free(r);

    errs_clear(&e);
    const char big[] = "a,b\n1234,5678\n";
    r = csv_open_mem(big, sizeof big - 1, "t.csv");
    csv_set_limits(r, 0, 8, 0);
    ck_assert_int_eq(csv_next(r, &row, &e), -1);
    ck_assert_str_eq(e.v[0].msg,
                     "line 2, column 2 (b): record longer than 8 bytes");
    csv_free(r);
    errs_free(&e);
}
END_TEST

START_TEST(test_csv_header_problems)
{
    char out[512], probs[512];
    SLURP("");
    ck_assert_str_eq(probs, "t.csv: empty file: no header row\n");
    SLURP("\r\n\n");
    ck_assert_str_eq(probs, "t.csv: empty file: no header row\n");
    SLURP("a,,b\n1,2,3\n");
    ck_assert_str_eq(out, "");
    ck_assert_str_eq(probs,
        "t.csv: line 1, column 2: empty column name in the header\n");
    SLURP("id, name ,name\n1,2,3\n");
    ck_assert_str_eq(out, "");
    ck_assert_str_eq(probs,
        "t.csv: line 1, column 3: column 'name' appears twice in the header "
        "(first in column 2)\n");
}
END_TEST

static int count_cb(void *ctx, const struct csv_row *row)
{
    (void)row;
    (*(int *)ctx)++;
    return 0;
}

static int stop_cb(void *ctx, const struct csv_row *row)
{
    (void)ctx;
    return row->line == 3 ? 42 : 0;
}

START_TEST(test_csv_each_collects_all_problems)
{
    const char data[] = "a,b\n1,2\n3\n4,5\n6,7,8\n";
    struct errs e;
    errs_init(&e);
    int n = 0;
    struct csv_reader *r = csv_open_mem(data, sizeof data - 1, "t.csv");
    ck_assert_int_eq(csv_each(r, count_cb, &n, &e), -1);
    ck_assert_int_eq(n, 2);
    ck_assert_uint_eq(e.n, 2);
    csv_free(r);

    errs_clear(&e);
    const char ok[] = "a\n1\n2\n3\n";
    r = csv_open_mem(ok, sizeof ok - 1, "t.csv");
    ck_assert_int_eq(csv_each(r, stop_cb, NULL, &e), 42);
    csv_free(r);
    r = csv_open_mem(ok, sizeof ok - 1, "t.csv");
    n = 0;
    ck_assert_int_eq(csv_each(r, count_cb, &n, &e), 0);
    ck_assert_int_eq(n, 3);
    ck_assert_uint_eq(e.n, 0);
    csv_free(r);
    errs_free(&e);
    csv_free(NULL);
}
END_TEST

static Suite *csv_suite(void)
{
    Suite *s = suite_create("csv");
    TCase *tc = tcase_create("reader");
    tcase_add_test(tc, test_csv_plain_rows_and_header);
    tcase_add_test(tc, test_csv_failed_header_again_has_a_problem);
    tcase_add_test(tc, test_csv_quotes_commas_and_doubled_quotes);
    tcase_add_test(tc, test_csv_newline_inside_quotes_counts_lines);
    tcase_add_test(tc, test_csv_crlf_and_no_final_newline);
    tcase_add_test(tc, test_csv_bom_skipped);
    tcase_add_test(tc, test_csv_blank_lines_skipped_line_numbers_kept);
    tcase_add_test(tc, test_csv_empty_trailing_field);
    tcase_add_test(tc, test_csv_missing_and_extra_columns_named_and_skipped);
    tcase_add_test(tc, test_csv_unterminated_quote_names_start_line);
    tcase_add_test(tc, test_csv_nul_refused_and_reading_stops);
    tcase_add_test(tc, test_csv_empty_first_field_then_nul);
    tcase_add_test(tc, test_csv_invalid_utf8_names_line_and_column);
    tcase_add_test(tc, test_csv_utf8_accepted);
    tcase_add_test(tc, test_csv_stray_quotes_refused);
    tcase_add_test(tc, test_csv_caps_field_row_columns);
    tcase_add_test(tc, test_csv_header_problems);
    tcase_add_test(tc, test_csv_each_collects_all_problems);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(csv_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
