/* check_accept.c - the accept part: data-driven cases and unit tests.
 *
 * Each folder tests/data/accept/<case>/ holds mapping.xml, input.json
 * (raw bytes, so NUL and bad UTF-8 can be tested) and expected: either
 * the record in plain JSON form (personal fields revealed), compared as
 * JSON, or the problems, one "where: reason" line each, compared exactly.
 * Adding a case needs no C.  The folder is $FERRY_ROOT/tests/data/accept
 * (FERRY_ROOT defaults to the current directory). */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mappings/mapping.h"
#include "mappings/mask.h"
#include "util/buf.h"
#include "util/errs.h"
#include "util/fsutil.h"

static char *cases[256];
static size_t ncases;
static char root[1024];

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void find_cases(void)
{
    const char *r = getenv("FERRY_ROOT");
    snprintf(root, sizeof root, "%s/tests/data/accept", r ? r : ".");
    DIR *d = opendir(root);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) && ncases < 256)
        if (de->d_name[0] != '.')
            cases[ncases++] = strdup(de->d_name);
    closedir(d);
    qsort(cases, ncases, sizeof cases[0], cmp_str);
}

static char *slurp(const char *dir, const char *name, size_t *len)
{
    char p[4096];
    struct errs e;
    char *text = NULL;
    size_t l = 0;
    errs_init(&e);
    snprintf(p, sizeof p, "%s/%s", dir, name);
    if (fs_read_file(p, 8 << 20, &text, &l, &e) < 0)
        text = NULL;
    errs_free(&e);
    if (len)
        *len = l;
    return text;
}

/* run_case - what the case produces, as text (plain JSON or problems) */
static char *run_case(const char *dir, bool *ok)
{
    struct errs e;
    struct mapping *m = NULL;
    struct record *r = NULL;
    json_t *doc = NULL;
    char p[4096];
    struct buf b;
    errs_init(&e);
    buf_init(&b, 0);
    snprintf(p, sizeof p, "%s/mapping.xml", dir);
    *ok = false;
    if (mapping_load(p, &m, &e) == 0) {
        size_t len;
        char *in = slurp(dir, "input.json", &len);
        ck_assert_msg(in != NULL, "%s: no input.json", dir);
        if (map_parse_json(in, len, &m->limits, &doc, &e) == 0 &&
            map_apply(m, doc, &r, &e) == 0) {
            json_t *pj = mask_record(r, true);
            char *s = json_dumps(pj, JSON_COMPACT);
            json_decref(pj);
            buf_puts(&b, s);
            free(s);
            *ok = true;
        }
        free(in);
    }
    for (size_t i = 0; i < e.n; i++) {
        buf_printf(&b, "%s: %s\n", e.v[i].where, e.v[i].msg);
        if (e.v[i].plain)
            buf_printf(&b, "  message: %s\n", e.v[i].plain);
    }
    json_decref(doc);
    record_free(r);
    mapping_free(m);
    errs_free(&e);
    return buf_take(&b);
}

START_TEST(test_data_case)
{
    char dir[2048];
    bool ok;
    snprintf(dir, sizeof dir, "%s/%s", root, cases[_i]);
    char *got = run_case(dir, &ok);
    char *want = slurp(dir, "expected", NULL);
    ck_assert_msg(want != NULL, "%s: no expected file", cases[_i]);
    if (want[0] == '{') {
        json_error_t je;
        json_t *w = json_loads(want, 0, &je);
        json_t *g = ok ? json_loads(got, 0, &je) : NULL;
        ck_assert_msg(w != NULL, "%s: expected is not JSON", cases[_i]);
        ck_assert_msg(g && json_equal(w, g), "%s:\nwant %s\ngot  %s",
                      cases[_i], want, got);
        json_decref(w);
        json_decref(g);
    } else {
        size_t wl = strlen(want);
        while (wl && want[wl - 1] == '\n')
            want[--wl] = '\0';
        size_t gl = strlen(got);
        while (gl && got[gl - 1] == '\n')
            got[--gl] = '\0';
        ck_assert_msg(!ok && strcmp(want, got) == 0, "%s:\nwant:\n%s\ngot:\n%s",
                      cases[_i], want, got);
    }
    free(want);
    free(got);
}
END_TEST

/* ---- unit tests on a small mapping ------------------------------------ */

static const char small_xml[] =
    "<mapping xmlns=\"urn:ferry:mapping:1\" service=\"s\">\n"
    " <accept idempotency-field=\"ref\">\n"
    "  <field name=\"ref\" path=\"ref\" required=\"true\"/>\n"
    "  <field name=\"amount\" path=\"amount\" type=\"decimal\" scale=\"2\"/>\n"
    "  <field name=\"when\" path=\"when\" type=\"date\" format=\"DD/MM/YYYY\"/>\n"
    "  <field name=\"ok\" path=\"ok\" type=\"boolean\"/>\n"
    "  <field name=\"name\" personal=\"true\"><concat><part path=\"first\"/>"
    "<part value=\" \"/><part path=\"last\"/></concat></field>\n"
    " </accept>\n"
    "</mapping>\n";

static struct mapping *small(void)
{
    struct errs e;
    struct mapping *m = NULL;
    errs_init(&e);
    int rc = mapping_load_memory(small_xml, strlen(small_xml), "small.xml",
                                 &m, &e);
    ck_assert_msg(rc == 0, "load: %s %s", e.n ? e.v[0].where : "",
                  errs_first_msg(&e));
    errs_free(&e);
    return m;
}

START_TEST(test_named_values_typed)
{
    struct mapping *m = small();
    struct errs e;
    struct record *r = NULL;
    const char *names[] = {"ref", "amount", "when", "ok", "first", "last"};
    const char *vals[] = {"ABC123", "1234.5", "07/03/2024", "yes", "Siân",
                          "Jones"};
    errs_init(&e);
    ck_assert_int_eq(map_apply_named(m, names, vals, 6, &r, &e), 0);
    const struct fvalue *v = record_get(r, "amount");
    ck_assert_int_eq(v->type, FT_DECIMAL);
    ck_assert(v->num == 123450);
    ck_assert_str_eq(v->text, "1234.50");
    ck_assert_str_eq(record_get(r, "when")->text, "2024-03-07");
    ck_assert_str_eq(record_get(r, "ok")->text, "true");
    ck_assert_str_eq(record_get(r, "name")->text, "Siân Jones");
    ck_assert(r->f[4].personal);
    record_free(r);
    mapping_free(m);
    errs_free(&e);
}
END_TEST

START_TEST(test_named_missing_and_unknown)
{
    struct mapping *m = small();
    struct errs e;
    struct record *r = (struct record *)1;
    const char *names[] = {"amount", "colour"};
    const char *vals[] = {"1.234", "red"};
    errs_init(&e);
    ck_assert_int_eq(map_apply_named(m, names, vals, 2, &r, &e), -1);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(e.n, 1);
    ck_assert_str_eq(e.v[0].where, "colour");
    ck_assert_str_eq(e.v[0].msg, "not a field of this mapping");
    errs_clear(&e);
    ck_assert_int_eq(map_apply_named(m, names, vals, 1, &r, &e), -1);
    ck_assert_int_eq(e.n, 2);
    ck_assert_str_eq(e.v[0].where, "ref");
    ck_assert_str_eq(e.v[0].msg, "required field missing");
    ck_assert_str_eq(e.v[1].where, "amount");
    ck_assert_str_eq(e.v[1].msg, "more than 2 decimal places");
    mapping_free(m);
    errs_free(&e);
}
END_TEST

START_TEST(test_ndjson_lines)
{
    const char text[] = "{\"a\":1}\n\n   \n{\"a\":2\n{\"b\":\"\xff\"}\r\n{}";
    struct map_ndjson it;
    struct errs e;
    json_t *doc;
    errs_init(&e);
    map_ndjson_init(&it, text, sizeof text - 1);
    ck_assert_int_eq(map_ndjson_next(&it, NULL, &doc, &e), 1);
    ck_assert_int_eq(it.line, 1);
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "a")), 1);
    json_decref(doc);
    ck_assert_int_eq(map_ndjson_next(&it, NULL, &doc, &e), 1);
    ck_assert_ptr_null(doc);
    ck_assert_int_eq(it.line, 4);
    ck_assert_int_eq(e.n, 1);
    ck_assert_str_eq(e.v[0].where, "line 4, column 6");
    ck_assert_int_eq(map_ndjson_next(&it, NULL, &doc, &e), 1);
    ck_assert_ptr_null(doc);
    ck_assert_int_eq(e.n, 2);
    ck_assert_str_eq(e.v[1].where, "line 5, byte 6");
    ck_assert_str_eq(e.v[1].msg, "invalid UTF-8");
    ck_assert_int_eq(map_ndjson_next(&it, NULL, &doc, &e), 1);
    ck_assert_ptr_nonnull(doc);
    ck_assert_int_eq(it.line, 6);
    json_decref(doc);
    ck_assert_int_eq(map_ndjson_next(&it, NULL, &doc, &e), 0);
    errs_free(&e);
}
END_TEST

/* deeper than jansson's own limit (2048): still our message, with the
 * line and column where the mapping's limit was passed; and a NUL byte
 * inside a string refused by its offset, not as a syntax error */
START_TEST(test_hostile_bodies_named_exactly)
{
    size_t n = 5000;
    char *b = malloc(2 * n + 8);
    ck_assert_ptr_nonnull(b);
    memcpy(b, "{\"a\":\n", 6);
    memset(b + 6, '[', n);
    memset(b + 6 + n, ']', n);
    b[6 + 2 * n] = '}';
    struct errs e;
    json_t *doc = NULL;
    errs_init(&e);
    ck_assert_int_eq(map_parse_json(b, 2 * n + 7, NULL, &doc, &e), -1);
    ck_assert_ptr_null(doc);
    ck_assert_uint_eq(e.n, 1);
    ck_assert_str_eq(e.v[0].where, "line 2, column 32");
    ck_assert_str_eq(e.v[0].msg, "nested deeper than 32 levels");
    free(b);
    errs_clear(&e);
    static const char nul[] = "{\"a\": \"x\0y\", \"b\": [1, 2]}";
    ck_assert_int_eq(map_parse_json(nul, sizeof nul - 1, NULL, &doc, &e),
                     -1);
    ck_assert_uint_eq(e.n, 1);
    ck_assert_str_eq(e.v[0].where, "byte 8");
    ck_assert_str_eq(e.v[0].msg, "NUL byte in JSON");
    errs_free(&e);
}
END_TEST

START_TEST(test_default_limits)
{
    /* 33 levels are refused by default; 32 are fine */
    struct buf b;
    struct errs e;
    json_t *doc = NULL;
    buf_init(&b, 0);
    errs_init(&e);
    buf_puts(&b, "{\"a\":");
    for (int i = 0; i < 31; i++)
        buf_puts(&b, "[");
    for (int i = 0; i < 31; i++)
        buf_puts(&b, "]");
    buf_puts(&b, "}");
    ck_assert_int_eq(map_parse_json(b.data, b.len, NULL, &doc, &e), 0);
    json_decref(doc);
    buf_reset(&b);
    buf_puts(&b, "{\"a\":");
    for (int i = 0; i < 32; i++)
        buf_puts(&b, "[");
    for (int i = 0; i < 32; i++)
        buf_puts(&b, "]");
    buf_puts(&b, "}");
    ck_assert_int_eq(map_parse_json(b.data, b.len, NULL, &doc, &e), -1);
    ck_assert_str_eq(e.v[0].msg, "nested deeper than 32 levels");
    ck_assert_str_eq(e.v[0].where, "line 1, column 37");
    /* over 1 MiB */
    errs_clear(&e);
    char *big = malloc(MAP_DEFAULT_MAX_BODY + 1);
    memset(big, ' ', MAP_DEFAULT_MAX_BODY + 1);
    big[0] = '{';
    big[MAP_DEFAULT_MAX_BODY] = '}';
    ck_assert_int_eq(
        map_parse_json(big, MAP_DEFAULT_MAX_BODY + 1, NULL, &doc, &e), -1);
    ck_assert_str_eq(e.v[0].where, "body");
    ck_assert_ptr_nonnull(strstr(e.v[0].msg, "1048576"));
    ck_assert_int_eq(map_parse_json(big, MAP_DEFAULT_MAX_BODY, NULL, &doc, &e),
                     -1); /* not valid JSON without the brace, but not too big */
    ck_assert_ptr_null(strstr(e.v[1].msg, "larger"));
    free(big);
    buf_free(&b);
    errs_free(&e);
}
END_TEST

START_TEST(test_fold_and_case)
{
    char *o = NULL;
    ck_assert_int_eq(map_fold_ascii("Siôn Ŵyn ẃ ẅ ẁ ỳ Ŷ ß Æsa Łódź Œuvre", &o), 0);
    ck_assert_str_eq(o, "Sion Wyn w w w y Y ss AEsa Lodz OEuvre");
    free(o);
    ck_assert_int_eq(map_fold_ascii("\xc3", &o), -1);
    char *u = map_case("siân ŵyn ÿ straße", 1);
    ck_assert_str_eq(u, "SIÂN ŴYN Ÿ STRAßE");
    char *l = map_case(u, 0);
    ck_assert_str_eq(l, "siân ŵyn ÿ straße");
    free(u);
    free(l);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("accept");
    TCase *tc = tcase_create("data");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_data_case, 0, (int)ncases);
    suite_add_tcase(s, tc);
    TCase *u = tcase_create("unit");
    tcase_add_test(u, test_named_values_typed);
    tcase_add_test(u, test_named_missing_and_unknown);
    tcase_add_test(u, test_ndjson_lines);
    tcase_add_test(u, test_default_limits);
    tcase_add_test(u, test_hostile_bodies_named_exactly);
    tcase_add_test(u, test_fold_and_case);
    suite_add_tcase(s, u);
    return s;
}

int main(void)
{
    find_cases();
    if (ncases < 25) {
        fprintf(stderr, "check_accept: only %zu cases found under %s\n",
                ncases, root);
        return 1;
    }
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    for (size_t i = 0; i < ncases; i++)
        free(cases[i]);
    return failed ? 1 : 0;
}
