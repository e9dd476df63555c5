/* check_mask.c - the one masking rule (mappings/mask.c): personal fields at
 * any depth, the payload shown by allow-list (an unmapped field is hidden),
 * and the record difference that edit and the audit use. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "mappings/mapping.h"
#include "mappings/mask.h"
#include "mappings/record.h"
#include "util/errs.h"

static const char mapping_xml[] =
    "<?xml version=\"1.0\"?>\n"
    "<mapping xmlns=\"urn:ferry:mapping:1\" service=\"claims\">\n"
    "  <accept>\n"
    "    <field name=\"nino\" path=\"applicant.nino\" personal=\"true\"/>\n"
    "    <field name=\"amount\" path=\"claim.amount\" type=\"decimal\" scale=\"2\"/>\n"
    "    <field name=\"kind\" path=\"answers[question_id=7].answer_text\"/>\n"
    "    <field name=\"secret\" path=\"answers[question_id=8].answer_text\" personal=\"true\"/>\n"
    "    <field name=\"age\" path=\"applicant.age\" type=\"integer\" personal=\"true\"/>\n"
    "    <field name=\"name\" personal=\"true\">\n"
    "      <concat><part path=\"applicant.first\"/><part value=\" \"/>"
    "<part path=\"applicant.last\"/></concat>\n"
    "    </field>\n"
    "    <field name=\"items\" path=\"items\" type=\"list\">\n"
    "      <field name=\"code\" path=\"code\" personal=\"true\"/>\n"
    "      <field name=\"cost\" path=\"cost\" type=\"decimal\" scale=\"2\"/>\n"
    "    </field>\n"
    "    <field name=\"kids\" path=\"kids\" type=\"list\" personal=\"true\">\n"
    "      <field name=\"born\" path=\"born\"/>\n"
    "    </field>\n"
    "  </accept>\n"
    "</mapping>\n";

static const char payload[] =
    "{\"applicant\": {\"nino\": \"QQ123456C\", \"age\": 41, \"first\": \"Ann\","
    " \"last\": \"Jones\", \"email\": \"ann@example.org\"},"
    " \"claim\": {\"amount\": \"12.50\", \"notes\": \"lives at 1 High St\"},"
    " \"answers\": [{\"question_id\": 8, \"answer_text\": \"SECRET-8\"},"
    " {\"question_id\": 7, \"answer_text\": \"refund\"}],"
    " \"items\": [{\"code\": \"CODE-A1\", \"cost\": \"3.20\", \"memo\": \"MEMO-1\"},"
    " {\"code\": \"CODE-B2\", \"cost\": 4}],"
    " \"kids\": [{\"born\": \"2011-05-06\"}],"
    " \"consent\": true, \"phone\": 7700900123, \"gone\": null}";

static struct mapping *load(void)
{
    struct errs e;
    struct mapping *m = NULL;
    errs_init(&e);
    int rc = mapping_load_memory(mapping_xml, sizeof mapping_xml - 1,
                                 "mask.xml", &m, &e);
    ck_assert_msg(rc == 0, "%s: %s", e.n ? e.v[0].where : "",
                  e.n ? e.v[0].msg : "");
    errs_free(&e);
    return m;
}

static json_t *parse(const char *s)
{
    json_error_t je;
    json_t *d = json_loads(s, 0, &je);
    ck_assert_msg(d != NULL, "%s", je.text);
    return d;
}

static char *dump(const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    ck_assert_ptr_nonnull(s);
    return s;
}

static struct record *apply(const struct mapping *m, const char *text)
{
    struct errs e;
    struct record *r = NULL;
    errs_init(&e);
    json_t *d = parse(text);
    int rc = map_apply(m, d, &r, &e);
    ck_assert_msg(rc == 0, "%s: %s", e.n ? e.v[0].where : "",
                  e.n ? e.v[0].msg : "");
    json_decref(d);
    errs_free(&e);
    return r;
}

START_TEST(test_payload_masks_personal_and_unmapped_at_any_depth)
{
    struct mapping *m = load();
    json_t *doc = parse(payload);
    json_t *shown = mask_payload(doc, m, false, false);
    char *s = dump(shown);
    static const char *hidden[] = {
        "QQ123456C", "41", "Ann", "Jones", "ann@example.org", "High St",
        "SECRET-8", "CODE-A1", "CODE-B2", "MEMO-1", "2011-05-06", "true",
        "7700900123",
    };
    for (size_t i = 0; i < sizeof hidden / sizeof hidden[0]; i++)
        ck_assert_msg(strstr(s, hidden[i]) == NULL, "%s shown in %s",
                      hidden[i], s);
    /* mapped non-personal values stay, at their place, selectors too */
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(
        shown, "claim"), "amount")), "12.50");
    json_t *a7 = json_array_get(json_object_get(shown, "answers"), 1);
    ck_assert_str_eq(json_string_value(json_object_get(a7, "answer_text")),
                     "refund");
    /* a mapped path's selector member is the mapping's constant: shown;
     * the personal field's element keeps even that hidden */
    ck_assert_int_eq(json_integer_value(json_object_get(a7, "question_id")),
                     7);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(
        json_object_get(shown, "answers"), 0), "question_id")), MASK_TEXT);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(
        json_object_get(shown, "items"), 1), "cost")), 4);
    /* the shape stays: keys, nulls, the unmapped members masked */
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(
        shown, "applicant"), "email")), MASK_TEXT);
    ck_assert(json_is_null(json_object_get(shown, "gone")));
    /* the original is untouched */
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(
        doc, "applicant"), "nino")), "QQ123456C");
    free(s);
    json_decref(shown);
    shown = mask_payload(doc, m, false, true);
    ck_assert(json_equal(shown, doc));
    json_decref(shown);
    json_decref(doc);
    mapping_free(m);
}
END_TEST

START_TEST(test_payload_without_mapping_masks_everything)
{
    json_t *doc = parse("{\"a\": \"x\", \"b\": [1, {\"c\": false}]}");
    json_t *shown = mask_payload(doc, NULL, false, false);
    char *s = dump(shown);
    ck_assert_str_eq(s, "{\"a\":\"***\",\"b\":[\"***\",{\"c\":\"***\"}]}");
    free(s);
    json_decref(shown);
    json_decref(doc);
}
END_TEST

START_TEST(test_payload_named_row_by_field_name)
{
    struct mapping *m = load();
    json_t *row = parse("{\"nino\": \"QQ123456C\", \"amount\": \"1.00\", "
                        "\"extra\": \"free text\"}");
    json_t *shown = mask_payload(row, m, true, false);
    char *s = dump(shown);
    ck_assert_str_eq(s, "{\"nino\":\"***\",\"amount\":\"1.00\","
                        "\"extra\":\"***\"}");
    free(s);
    json_decref(shown);
    json_decref(row);
    mapping_free(m);
}
END_TEST

START_TEST(test_record_masks_list_sub_fields_and_personal_lists)
{
    struct mapping *m = load();
    struct record *r = apply(m, payload);
    json_t *j = mask_record(r, false);
    char *s = dump(j);
    ck_assert_msg(strstr(s, "CODE-A1") == NULL, "%s", s);
    ck_assert_msg(strstr(s, "2011-05-06") == NULL, "%s", s);
    ck_assert_msg(strstr(s, "QQ123456C") == NULL, "%s", s);
    ck_assert_msg(strstr(s, "\"cost\":\"3.20\"") != NULL, "%s", s);
    ck_assert_msg(strstr(s, "\"kids\":[{\"born\":\"***\"}]") != NULL, "%s", s);
    free(s);
    json_decref(j);
    j = mask_record(r, true);
    s = dump(j);
    ck_assert_ptr_nonnull(strstr(s, "CODE-A1"));
    ck_assert_ptr_nonnull(strstr(s, "2011-05-06"));
    free(s);
    json_decref(j);
    record_free(r);
    mapping_free(m);
}
END_TEST

START_TEST(test_echoes_personal_values_at_any_depth)
{
    struct mapping *m = load();
    struct record *r = apply(m, payload);
    /* a top-level personal field, a personal sub-field of a list, a value
     * inside a list that is itself personal */
    ck_assert(mask_echoes(r, "applicant QQ123456C not found"));
    ck_assert(mask_echoes(r, "item code CODE-B2 unknown"));
    ck_assert(mask_echoes(r, "born 2011-05-06?"));
    /* what is not personal, or not there, is not an echo */
    ck_assert(!mask_echoes(r, "amount 12.50 too high"));
    ck_assert(!mask_echoes(r, "cost 3.20"));
    ck_assert(!mask_echoes(r, "E042"));
    ck_assert(!mask_echoes(r, NULL));
    ck_assert(!mask_echoes(NULL, "QQ123456C"));
    record_free(r);
    mapping_free(m);
}
END_TEST

START_TEST(test_path_personal_by_depth)
{
    struct mapping *m = load();
    ck_assert(mask_path_personal(m, "nino"));
    ck_assert(!mask_path_personal(m, "amount"));
    ck_assert(mask_path_personal(m, "items.code"));
    ck_assert(mask_path_personal(m, "items[1].code"));
    ck_assert(!mask_path_personal(m, "items.cost"));
    ck_assert(!mask_path_personal(m, "items.#"));
    ck_assert(mask_path_personal(m, "kids.born"));
    ck_assert(mask_path_personal(m, "no_such_field"));
    ck_assert(mask_path_personal(NULL, "amount"));
    mapping_free(m);
}
END_TEST

START_TEST(test_diff_names_list_sub_field_and_marks_it_personal)
{
    struct mapping *m = load();
    struct record *a = apply(m, payload);
    char *edited = strdup(payload);
    char *at = strstr(edited, "CODE-B2");
    memcpy(at, "CODE-Z9", 7);
    at = strstr(edited, "12.50");
    memcpy(at, "13.50", 5);
    struct record *b = apply(m, edited);
    struct record_diff d;
    ck_assert_int_eq(record_diff(a, b, &d), 0);
    ck_assert_uint_eq(d.n, 2);
    ck_assert_str_eq(d.v[0].path, "amount");
    ck_assert(!d.v[0].personal);
    ck_assert_str_eq(d.v[0].old_text, "12.50");
    ck_assert_str_eq(d.v[0].new_text, "13.50");
    ck_assert_str_eq(d.v[1].path, "items[1].code");
    ck_assert(d.v[1].personal);
    ck_assert_str_eq(mask_text(d.v[1].new_text, d.v[1].personal, false),
                     MASK_TEXT);
    ck_assert_str_eq(mask_text(d.v[1].new_text, d.v[1].personal, true),
                     "CODE-Z9");
    record_diff_free(&d);
    ck_assert_int_eq(record_diff(a, a, &d), 0);
    ck_assert_uint_eq(d.n, 0);
    record_diff_free(&d);
    free(edited);
    record_free(a);
    record_free(b);
    mapping_free(m);
}
END_TEST

START_TEST(test_target_slots_from_personal_sub_fields)
{
    static const char xml[] =
        "<?xml version=\"1.0\"?>\n"
        "<mapping xmlns=\"urn:ferry:mapping:1\" service=\"s\">\n"
        "  <accept>\n"
        "    <field name=\"nino\" path=\"nino\" personal=\"true\"/>\n"
        "    <field name=\"amount\" path=\"amount\"/>\n"
        "    <field name=\"items\" path=\"items\" type=\"list\">\n"
        "      <field name=\"code\" path=\"code\" personal=\"true\"/>\n"
        "    </field>\n"
        "  </accept>\n"
        "  <target name=\"t\">\n"
        "    <map to=\"REC.NINO\" from=\"nino\"/>\n"
        "    <map to=\"REC.AMT\" from=\"amount\"/>\n"
        "    <map to=\"REC.ITEM.CODE\" from=\"items.code\"/>\n"
        "    <map to=\"REC.REF\" from=\"$reference\"/>\n"
        "  </target>\n"
        "</mapping>\n";
    struct errs e;
    struct mapping *m = NULL;
    errs_init(&e);
    ck_assert_int_eq(mapping_load_memory(xml, sizeof xml - 1, "t.xml", &m, &e),
                     0);
    size_t n = 0;
    const char **v = mask_target_slots(m, &m->targets[0], &n);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(v[0], "NINO");
    ck_assert_str_eq(v[1], "CODE");
    free(v);
    mapping_free(m);
    errs_free(&e);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mask");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_payload_masks_personal_and_unmapped_at_any_depth);
    tcase_add_test(tc, test_payload_without_mapping_masks_everything);
    tcase_add_test(tc, test_payload_named_row_by_field_name);
    tcase_add_test(tc, test_record_masks_list_sub_fields_and_personal_lists);
    tcase_add_test(tc, test_path_personal_by_depth);
    tcase_add_test(tc, test_echoes_personal_values_at_any_depth);
    tcase_add_test(tc, test_diff_names_list_sub_field_and_marks_it_personal);
    tcase_add_test(tc, test_target_slots_from_personal_sub_fields);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
