/* check_copybook.c - the copybook parser: data-driven layout listings in
 * tests/data/copybook_layout/<case>/{input.cpy,expected} (the listing, or
 * the FILE:LINE:COL errors), and behaviour the listings do not show.  A
 * case with main.cpy instead is read from its folder (cpy_load, run from
 * inside the folder so messages name files as the operator would see
 * them), so its COPY statements find the members beside it. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mappings/copybook.h"
#include "util/buf.h"
#include "util/errs.h"
#include "util/fsutil.h"

static char *data_dir(void)
{
    const char *root = getenv("FERRY_ROOT");
    char *p = NULL;
    if (asprintf(&p, "%s/tests/data/copybook_layout", root ? root : ".") < 0)
        return NULL;
    return p;
}

/* run_case - the listing (or errors) of one case, compared with expected */
static int run_case(const char *dir, const char *name)
{
    char path[1024];
    char *text = NULL, *want = NULL;
    size_t tlen = 0, wlen = 0;
    struct errs e;
    errs_init(&e);
    char cwd[1024], casedir[512];
    snprintf(casedir, sizeof casedir, "%s/%s", dir, name);
    snprintf(path, sizeof path, "%s/main.cpy", casedir);
    bool from_file = access(path, R_OK) == 0;
    snprintf(path, sizeof path, "%s/input.cpy", casedir);
    if (!from_file && fs_read_file(path, 0, &text, &tlen, &e) < 0)
        return -1;
    snprintf(path, sizeof path, "%s/%s/expected", dir, name);
    if (fs_read_file(path, 0, &want, &wlen, &e) < 0) {
        free(text);
        return -1;
    }
    struct buf got;
    buf_init(&got, 0);
    struct copybook *cb = NULL;
    if (from_file) {
        if (!getcwd(cwd, sizeof cwd) || chdir(casedir) < 0)
            return -1;
        cb = cpy_load("main.cpy", CPY_FMT_AUTO, &e);
        if (chdir(cwd) < 0)
            return -1;
    } else {
        cb = cpy_parse(text, tlen, "input.cpy", CPY_FMT_AUTO, &e);
    }
    if (cb)
        cpy_listing(cb, NULL, false, &got);
    for (size_t i = 0; i < e.n; i++)
        buf_printf(&got, "%s: %s\n", e.v[i].where, e.v[i].msg);
    int rc = strcmp(buf_str(&got), want) == 0 ? 0 : 1;
    if (rc)
        fprintf(stderr, "case %s:\n--- got\n%s--- expected\n%s", name,
                buf_str(&got), want);
    buf_free(&got);
    cpy_free(cb);
    errs_free(&e);
    free(text);
    free(want);
    return rc;
}

START_TEST(test_layout_cases)
{
    char *dir = data_dir();
    ck_assert_ptr_nonnull(dir);
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "no %s", dir);
    struct dirent *de;
    int cases = 0, failed = 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        cases++;
        if (run_case(dir, de->d_name) != 0)
            failed++;
    }
    closedir(d);
    free(dir);
    ck_assert_int_ge(cases, 8);
    ck_assert_int_eq(failed, 0);
}
END_TEST

static struct copybook *parse(const char *src, struct errs *e)
{
    return cpy_parse(src, strlen(src), "T.cpy", CPY_FMT_AUTO, e);
}

START_TEST(test_offsets_of_mixed_usages)
{
    struct errs e;
    errs_init(&e);
    struct copybook *cb = parse(
        "       01  R.\n"
        "           05  A  PIC S9(7)V99 COMP-3.\n"
        "           05  B  PIC S9(4) COMP.\n"
        "           05  C  PIC 9(10) BINARY.\n"
        "           05  D  PIC S9(3) SIGN TRAILING SEPARATE.\n"
        "           05  E  PIC X(3) OCCURS 2.\n"
        "           05  F  PIC 9(4) COMP-3.\n", &e);
    ck_assert_ptr_nonnull(cb);
    const struct cpy_record *r = cpy_record_find(cb, "r");
    ck_assert_ptr_nonnull(r);
    static const struct { const char *n; size_t off, len; } want[] = {
        { "A", 0, 5 }, { "B", 5, 2 }, { "C", 7, 8 }, { "D", 15, 4 },
        { "E", 19, 3 }, { "F", 25, 3 },
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const struct cpy_field *f = cpy_field_find(r, want[i].n, NULL);
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(f->offset, want[i].off);
        ck_assert_uint_eq(f->length, want[i].len);
    }
    ck_assert_uint_eq(r->length, 28);
    cpy_free(cb);
    errs_free(&e);
}
END_TEST

START_TEST(test_qualified_names)
{
    struct errs e;
    errs_init(&e);
    struct copybook *cb = parse(
        "01 R.\n"
        "   05 HDR.\n"
        "      10 YY PIC 99.\n"
        "   05 TRL.\n"
        "      10 YY PIC 99.\n", &e);
    ck_assert_ptr_nonnull(cb);
    ck_assert(cb->free_format);
    const struct cpy_record *r = &cb->rec[0];
    bool amb = false;
    ck_assert_ptr_null(cpy_field_find(r, "YY", &amb));
    ck_assert(amb);
    const struct cpy_field *a = cpy_field_find(r, "YY OF TRL", &amb);
    const struct cpy_field *b = cpy_field_find(r, "TRL.YY", &amb);
    const struct cpy_field *c = cpy_field_find(r, "R.HDR.YY", &amb);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_eq(a, b);
    ck_assert_uint_eq(a->offset, 2);
    ck_assert_uint_eq(c->offset, 0);
    ck_assert_ptr_null(cpy_field_find(r, "HDR.NOPE", &amb));
    cpy_free(cb);
    errs_free(&e);
}
END_TEST

START_TEST(test_88_values_kept)
{
    struct errs e;
    errs_init(&e);
    struct copybook *cb = parse(
        "       01  R.\n"
        "           05  T  PIC XX.\n"
        "               88  T-OK  VALUES 'TR' 'SU' 'EQ'.\n"
        "               88  T-NUM VALUE '10' THRU '19'.\n", &e);
    ck_assert_ptr_nonnull(cb);
    const struct cpy_field *f = cpy_field_find(&cb->rec[0], "T", NULL);
    ck_assert_uint_eq(f->nconds, 2);
    ck_assert_str_eq(f->conds[0].name, "T-OK");
    ck_assert_uint_eq(f->conds[0].n, 3);
    ck_assert_str_eq(f->conds[0].v[2].lo.text, "EQ");
    ck_assert_str_eq(f->conds[1].v[0].hi.text, "19");
    cpy_free(cb);
    errs_free(&e);
}
END_TEST

START_TEST(test_sequence_and_identification_areas_ignored)
{
    struct errs e;
    errs_init(&e);
    /* junk in 1-6 and 73-80 that would break the parse if read */
    char src[512];
    snprintf(src, sizeof src, "%-72s%s\n%-72s%s\n%-72s%s\n",
             "ABC123 01  R.", "PIC X(9)",
             "ZZZZZZ     05  F  PIC X(4).", "''",
             "000300*    05  G  PIC X(4).", "comment");
    struct copybook *cb = parse(src, &e);
    ck_assert_msg(cb != NULL, "%s", errs_first_msg(&e));
    ck_assert_uint_eq(cb->rec[0].length, 4);
    ck_assert(!cb->free_format);
    cpy_free(cb);
    errs_free(&e);
}
END_TEST

START_TEST(test_several_01_are_separate_layouts)
{
    struct errs e;
    errs_init(&e);
    struct copybook *cb = parse(
        "       01  HDR.\n           05  H PIC X(10).\n"
        "       01  DTL.\n           05  D PIC X(20).\n"
        "       01  TRL.\n           05  T PIC 9(5) COMP-3.\n", &e);
    ck_assert_ptr_nonnull(cb);
    ck_assert_uint_eq(cb->nrec, 3);
    ck_assert_uint_eq(cpy_record_find(cb, "DTL")->length, 20);
    ck_assert_uint_eq(cpy_record_find(cb, "TRL")->length, 3);
    ck_assert_ptr_null(cpy_field_find(cpy_record_find(cb, "DTL"), "H", NULL));
    cpy_free(cb);
    errs_free(&e);
}
END_TEST

START_TEST(test_error_names_file_line_col)
{
    struct errs e;
    errs_init(&e);
    const char *src =
        "       01  CLAIM.\n"
        "           05  AMT  PIC S9(7)V99 COMP-3.\n"
        "           05  BAD  PIC S9(7V99 COMP-3.\n";
    struct copybook *cb = cpy_parse(src, strlen(src), "CLAIMREC.cpy",
                                    CPY_FMT_AUTO, &e);
    ck_assert_ptr_null(cb);
    ck_assert_uint_eq(e.n, 1);
    ck_assert_str_eq(e.v[0].where, "CLAIMREC.cpy:3:29");
    ck_assert_str_eq(e.v[0].msg, "PIC S9(7V99 expected ')'");
    errs_free(&e);
}
END_TEST

/* a library is confined like a member: one that is a link out of the
 * copybook folder is refused, naming the COPY statement */
START_TEST(test_copy_library_confined)
{
    char dir[] = "/tmp/check_cpylib.XXXXXX", out[] = "/tmp/check_cpyout.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_ptr_nonnull(mkdtemp(out));
    char p[256], q[256];
    snprintf(p, sizeof p, "%s/M.cpy", out);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs("           05  SECRET-FIELD PIC X(4).\n", f);
    fclose(f);
    snprintf(p, sizeof p, "%s/LIB", dir);
    ck_assert_int_eq(symlink(out, p), 0);
    snprintf(q, sizeof q, "%s/main.cpy", dir);
    f = fopen(q, "w");
    ck_assert_ptr_nonnull(f);
    fputs("       01  R.\n           05  R-ID PIC X(2).\n"
          "           COPY M OF LIB.\n", f);
    fclose(f);
    struct errs e;
    errs_init(&e);
    struct copybook *cb = cpy_load(q, CPY_FMT_AUTO, &e);
    ck_assert_ptr_null(cb);
    ck_assert_uint_ge(e.n, 1);
    ck_assert_msg(strstr(e.v[0].msg, "COPY M OF LIB: resolves outside the "
                         "copybook folder") != NULL, "%s", e.v[0].msg);
    ck_assert_ptr_nonnull(strstr(e.v[0].where, "main.cpy:3:12"));
    errs_free(&e);
    unlink(q);
    unlink(p);
    snprintf(p, sizeof p, "%s/M.cpy", out);
    unlink(p);
    rmdir(out);
    rmdir(dir);
}
END_TEST

START_TEST(test_json_listing)
{
    struct errs e;
    errs_init(&e);
    struct copybook *cb = parse(
        "       01  R.\n           05  A  PIC S9(5)V99 COMP-3 VALUE -1.5.\n",
        &e);
    ck_assert_ptr_nonnull(cb);
    struct buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(cpy_listing(cb, "R", true, &b), 0);
    ck_assert_ptr_nonnull(strstr(buf_str(&b), "\"type\": \"packed\""));
    ck_assert_ptr_nonnull(strstr(buf_str(&b), "\"digits\": 7"));
    ck_assert_ptr_nonnull(strstr(buf_str(&b), "\"value\": \"-1.5\""));
    ck_assert_int_eq(cpy_listing(cb, "NOPE", true, &b), -1);
    buf_free(&b);
    cpy_free(cb);
    errs_free(&e);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("copybook");
    TCase *t = tcase_create("parse");
    tcase_add_test(t, test_layout_cases);
    tcase_add_test(t, test_offsets_of_mixed_usages);
    tcase_add_test(t, test_qualified_names);
    tcase_add_test(t, test_88_values_kept);
    tcase_add_test(t, test_sequence_and_identification_areas_ignored);
    tcase_add_test(t, test_several_01_are_separate_layouts);
    tcase_add_test(t, test_error_names_file_line_col);
    tcase_add_test(t, test_json_listing);
    tcase_add_test(t, test_copy_library_confined);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
