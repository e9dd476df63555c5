/* check_jsonpath.c - the JSON path subset and exact scalar text. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "mappings/mapping.h"

static json_t *doc(void)
{
    json_error_t je;
    json_t *d = json_loads(
        "{\"a\":{\"b\":\"ab\"},\"arr\":[{\"b\":1},{\"b\":2}],"
        "\"answers\":[{\"question_id\":3,\"x\":\"three\"},"
        "{\"question_id\":\"4\",\"postcode\":\"SW1A 1AA\"},"
        "{\"question_id\":4,\"postcode\":\"second\"},"
        "{\"question_id\":2.5,\"x\":\"real\"},{\"question_id\":true,\"x\":\"t\"},"
        "{\"question_id\":\"a b\",\"x\":\"spaced\"}],"
        "\"odd.key\":{\"x\":\"dotted\"},\"q\\\"uote\":\"quoted\"}", 0, &je);
    ck_assert_ptr_nonnull(d);
    return d;
}

static const char *get(json_t *d, const char *path)
{
    char err[128];
    struct jpath *p = jpath_parse(path, err, sizeof err);
    ck_assert_msg(p != NULL, "%s: %s", path, err);
    const json_t *v = jpath_get(p, d);
    jpath_free(p);
    if (!v)
        return NULL;
    if (json_is_string(v))
        return json_string_value(v);
    return json_is_integer(v) ? "<int>" : "<other>";
}

START_TEST(test_members_and_indexes)
{
    json_t *d = doc();
    ck_assert_str_eq(get(d, "a.b"), "ab");
    ck_assert_str_eq(get(d, "$.a.b"), "ab");
    ck_assert_str_eq(get(d, "arr[1].b"), "<int>");
    ck_assert_ptr_null(get(d, "arr[2].b"));
    ck_assert_ptr_null(get(d, "a.c"));
    ck_assert_ptr_null(get(d, "a.b.c"));
    ck_assert_ptr_null(get(d, "a[0]"));
    json_decref(d);
}
END_TEST

START_TEST(test_select_by_value_string_or_number)
{
    json_t *d = doc();
    ck_assert_str_eq(get(d, "answers[question_id=4].postcode"), "SW1A 1AA");
    ck_assert_str_eq(get(d, "answers[question_id=3].x"), "three");
    ck_assert_str_eq(get(d, "answers[question_id=2.5].x"), "real");
    ck_assert_str_eq(get(d, "answers[question_id=true].x"), "t");
    ck_assert_str_eq(get(d, "answers[question_id=\"a b\"].x"), "spaced");
    ck_assert_ptr_null(get(d, "answers[question_id=5].x"));
    ck_assert_ptr_null(get(d, "a[question_id=4].x"));
    json_decref(d);
}
END_TEST

START_TEST(test_quoted_keys)
{
    json_t *d = doc();
    ck_assert_str_eq(get(d, "\"odd.key\".x"), "dotted");
    ck_assert_str_eq(get(d, "\"q\\\"uote\""), "quoted");
    json_decref(d);
}
END_TEST

START_TEST(test_bad_syntax)
{
    static const char *bad[] = {"", "a..b", "a[", "a[x]", "a[1", "a[=1]",
                                "a[k=]", "\"open", "a.", "a]b", "$"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[128] = "";
        struct jpath *p = jpath_parse(bad[i], err, sizeof err);
        ck_assert_msg(p == NULL, "accepted \"%s\"", bad[i]);
        ck_assert_msg(err[0] != '\0', "no reason for \"%s\"", bad[i]);
    }
}
END_TEST

static char *num_text(const char *json, const char **why)
{
    json_error_t je;
    json_t *v = json_loads(json, JSON_DECODE_ANY, &je);
    ck_assert_ptr_nonnull(v);
    char *t = jpath_scalar_text(v, why);
    json_decref(v);
    return t;
}

START_TEST(test_scalar_text_exact)
{
    const char *why;
    static const char *const ok[][2] = {
        {"0.1", "0.1"}, {"1234.56", "1234.56"}, {"-0.005", "-0.005"},
        {"1e3", "1000"}, {"2.50", "2.5"}, {"1.5E-7", "0.00000015"},
        {"123456789012345.0", "123456789012345"}, {"-0.0", "0"},
        {"42", "42"}, {"\"007\"", "007"}, {"true", "true"}, {"false", "false"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char *t = num_text(ok[i][0], &why);
        ck_assert_msg(t && strcmp(t, ok[i][1]) == 0, "%s -> %s", ok[i][0],
                      t ? t : why);
        free(t);
    }
    ck_assert_ptr_null(num_text("0.12345678901234567", &why));
    ck_assert_ptr_nonnull(strstr(why, "15 significant digits"));
    ck_assert_ptr_null(num_text("null", &why));
    ck_assert_ptr_null(num_text("{}", &why));
    ck_assert_ptr_nonnull(strstr(why, "object"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("jsonpath");
    TCase *tc = tcase_create("jsonpath");
    tcase_add_test(tc, test_members_and_indexes);
    tcase_add_test(tc, test_select_by_value_string_or_number);
    tcase_add_test(tc, test_quoted_keys);
    tcase_add_test(tc, test_bad_syntax);
    tcase_add_test(tc, test_scalar_text_exact);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
