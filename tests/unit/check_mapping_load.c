/* check_mapping_load.c - loading mapping XML: the full example, schema
 * violations with lines, semantic checks, XXE and DOCTYPE refused. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mappings/mapping.h"
#include "util/errs.h"

static const char example[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<mapping xmlns=\"urn:ferry:mapping:1\" service=\"claim\">\n"
    "  <accept idempotency-field=\"reference\" max-depth=\"10\">\n"
    "    <field name=\"reference\" path=\"submission_reference\" type=\"string\" required=\"true\" pattern=\"^[A-Z0-9-]{6,40}$\"/>\n"
    "    <field name=\"submitted_at\" path=\"submitted_at\" type=\"datetime\" required=\"true\"/>\n"
    "    <field name=\"nino\" path=\"answers[question_id=2].answer_text\" type=\"string\" personal=\"true\" required=\"true\"><transform op=\"strip-spaces\"/><transform op=\"upper\"/></field>\n"
    "    <field name=\"amount\" path=\"answers[question_id=5].answer_text\" type=\"decimal\" scale=\"2\" min=\"0.01\" max=\"99999.99\"/>\n"
    "    <field name=\"benefit\" path=\"answers[question_id=6].answer_text\" type=\"enum\"><code value=\"Universal Credit\" as=\"UC\"/><code value=\"Pension Credit\" as=\"PC\"/></field>\n"
    "    <field name=\"full_name\" type=\"string\" personal=\"true\" max-length=\"35\"><concat><part path=\"answers[question_id=1].first\"/><part value=\" \"/><part path=\"answers[question_id=1].last\"/></concat><transform op=\"fold\"/><transform op=\"upper\"/></field>\n"
    "    <field name=\"items\" path=\"answers[question_id=9].items\" type=\"list\"> <field name=\"desc\" path=\"description\" type=\"string\"/> <field name=\"cost\" path=\"cost\" type=\"decimal\" scale=\"2\"/> </field>\n"
    "  </accept>\n"
    "  <target name=\"mainframe\" copybook=\"CLAIMREC.cpy\" record=\"CLAIM-DETAIL\" encoding=\"IBM-285\" recfm=\"FB\">\n"
    "    <map to=\"CLM-REF\" from=\"reference\"/>\n"
    "    <map to=\"CLM-TYPE\" value=\"UC\"/>\n"
    "    <map to=\"CLM-DOB\" from=\"dob\" format=\"CCYYMMDD\" local-time=\"true\" pad=\"zero\"/>\n"
    "    <section name=\"header\" record=\"CLAIM-HEADER\"><map to=\"HDR-DATE\" from=\"$file-date\" format=\"CCYYMMDD\"/></section>\n"
    "    <section name=\"trailer\" record=\"CLAIM-TRAILER\"><map to=\"TRL-COUNT\" from=\"$count\" truncate=\"true\" fold=\"1\"/></section>\n"
    "    <codes name=\"reasons\"><code value=\"E01\" as=\"National Insurance number not recognised\"/></codes>\n"
    "  </target>\n"
    "  <target name=\"db\" table=\"claims\"><map to=\"ref\" from=\"reference\"/></target>\n"
    "</mapping>\n";

static int load(const char *xml, struct mapping **m, struct errs *e)
{
    return mapping_load_memory(xml, strlen(xml), "t.xml", m, e);
}

START_TEST(test_example_loads_everything)
{
    struct errs e;
    struct mapping *m;
    errs_init(&e);
    int rc = load(example, &m, &e);
    ck_assert_msg(rc == 0, "%s: %s", e.n ? e.v[0].where : "", errs_first_msg(&e));
    ck_assert_str_eq(m->service, "claim");
    ck_assert_str_eq(m->idempotency_field, "reference");
    ck_assert_int_eq(m->limits.max_depth, 10);
    ck_assert_int_eq(m->nfields, 7);
    const struct map_field *f = mapping_field(m, "reference");
    ck_assert(f->required && f->has_re && f->line == 4);
    f = mapping_field(m, "nino");
    ck_assert(f->personal);
    ck_assert_int_eq(f->ntr, 2);
    ck_assert_int_eq(f->tr[0].op, MOP_STRIP_SPACES);
    ck_assert_int_eq(f->tr[1].op, MOP_UPPER);
    f = mapping_field(m, "amount");
    ck_assert_int_eq(f->type, FT_DECIMAL);
    ck_assert_int_eq(f->scale, 2);
    ck_assert(f->min_v == 1 && f->max_v == 9999999);
    f = mapping_field(m, "benefit");
    ck_assert_int_eq(f->ncodes, 2);
    ck_assert_str_eq(f->codes[1].code, "PC");
    f = mapping_field(m, "full_name");
    ck_assert_int_eq(f->nparts, 3);
    ck_assert_str_eq(f->parts[1].value, " ");
    ck_assert_int_eq(f->max_len, 35);
    f = mapping_field(m, "items");
    ck_assert_int_eq(f->type, FT_LIST);
    ck_assert_int_eq(f->nsub, 2);
    ck_assert_str_eq(f->sub[1].name, "cost");

    ck_assert_int_eq(m->ntargets, 2);
    const struct map_target *t = mapping_target(m, "mainframe");
    ck_assert_ptr_nonnull(t);
    ck_assert_str_eq(kv_get(&t->opts, "copybook"), "CLAIMREC.cpy");
    ck_assert_str_eq(kv_get(&t->opts, "recfm"), "FB");
    ck_assert_ptr_null(kv_get(&t->opts, "name"));
    ck_assert_int_eq(t->nsec, 3);
    ck_assert_str_eq(t->sec[0].name, "record");
    ck_assert_str_eq(kv_get(&t->sec[0].opts, "record"), "CLAIM-DETAIL");
    ck_assert_int_eq(t->sec[0].na, 3);
    ck_assert_str_eq(t->sec[0].a[1].value, "UC");
    ck_assert_ptr_null(t->sec[0].a[1].from);
    ck_assert_str_eq(t->sec[0].a[2].format, "CCYYMMDD");
    ck_assert(t->sec[0].a[2].local_time);
    ck_assert_str_eq(kv_get(&t->sec[0].a[2].opts, "pad"), "zero");
    ck_assert_ptr_null(kv_get(&t->sec[0].a[2].opts, "to"));
    ck_assert_str_eq(t->sec[1].name, "header");
    ck_assert_str_eq(kv_get(&t->sec[1].opts, "record"), "CLAIM-HEADER");
    ck_assert_str_eq(t->sec[1].a[0].from, "$file-date");
    ck_assert(t->sec[2].a[0].truncate && t->sec[2].a[0].fold);
    ck_assert_int_eq(t->ncodes, 1);
    ck_assert_str_eq(t->codes[0].name, "reasons");
    ck_assert_str_eq(t->codes[0].c[0].value, "E01");
    ck_assert_int_eq(t->line, 12);
    ck_assert_ptr_nonnull(mapping_target(m, "db"));
    ck_assert_ptr_null(mapping_target(m, "nope"));
    mapping_free(m);
    errs_free(&e);
}
END_TEST

START_TEST(test_not_well_formed_names_line)
{
    struct errs e;
    struct mapping *m = (struct mapping *)1;
    errs_init(&e);
    ck_assert_int_eq(load("<mapping xmlns=\"urn:ferry:mapping:1\" service=\"s\">\n"
                          "<accept>\n<field name=\"a\" path=\"a\">\n</accept>\n"
                          "</mapping>\n", &m, &e), -1);
    ck_assert_ptr_null(m);
    ck_assert(e.n >= 1);
    ck_assert_str_eq(e.v[0].where, "t.xml:4");
    errs_free(&e);
}
END_TEST

START_TEST(test_schema_violations_all_listed_with_lines)
{
    struct errs e;
    struct mapping *m;
    errs_init(&e);
    ck_assert_int_eq(load("<mapping xmlns=\"urn:ferry:mapping:1\" service=\"s\">\n"
                          "<accept>\n"
                          "<field name=\"a\" path=\"a\" type=\"money\"/>\n"
                          "<field path=\"b\"/>\n"
                          "<field name=\"c\" path=\"c\" required=\"maybe\"/>\n"
                          "<colour/>\n"
                          "</accept>\n</mapping>\n", &m, &e), -1);
    ck_assert_ptr_null(m);
    ck_assert_msg(e.n >= 4, "only %zu problems", e.n);
    ck_assert_str_eq(e.v[0].where, "t.xml:3");
    ck_assert_ptr_nonnull(strstr(e.v[0].msg, "money"));
    ck_assert_str_eq(e.v[1].where, "t.xml:4");
    ck_assert_ptr_nonnull(strstr(e.v[1].msg, "name"));
    ck_assert_str_eq(e.v[2].where, "t.xml:5");
    ck_assert_str_eq(e.v[3].where, "t.xml:6");
    errs_free(&e);
}
END_TEST

START_TEST(test_semantic_problems_all_listed)
{
    struct errs e;
    struct mapping *m;
    errs_init(&e);
    ck_assert_int_eq(load("<mapping xmlns=\"urn:ferry:mapping:1\" service=\"s\">\n"
                          "<accept idempotency-field=\"ref\">\n"
                          "<field name=\"a\" path=\"a\" pattern=\"([a-z\"/>\n"
                          "<field name=\"b\" path=\"b\" type=\"decimal\"/>\n"
                          "<field name=\"c\" path=\"c\" type=\"integer\" min=\"x\"/>\n"
                          "<field name=\"d\" path=\"d\" type=\"enum\"/>\n"
                          "<field name=\"e\" path=\"e[\"/>\n"
                          "<field name=\"f\"/>\n"
                          "<field name=\"g\" path=\"g\" type=\"integer\" min=\"5\" max=\"1\"/>\n"
                          "</accept>\n"
                          "<target name=\"t\"><map to=\"X\"/></target>\n"
                          "</mapping>\n", &m, &e), -1);
    ck_assert_ptr_null(m);
    static const char *const want[][2] = {
        {"t.xml:3", "pattern"}, {"t.xml:4", "scale"}, {"t.xml:5", "min=\"x\""},
        {"t.xml:6", "<code"}, {"t.xml:7", "bad path"}, {"t.xml:8", "path= or <concat>"},
        {"t.xml:9", "min is greater than max"}, {"t.xml:2", "idempotency-field"},
        {"t.xml:11", "from= or value="},
    };
    ck_assert_int_eq(e.n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < e.n; i++) {
        ck_assert_str_eq(e.v[i].where, want[i][0]);
        ck_assert_msg(strstr(e.v[i].msg, want[i][1]), "%zu: %s", i, e.v[i].msg);
    }
    errs_free(&e);
}
END_TEST

START_TEST(test_doctype_and_xxe_refused)
{
    struct errs e;
    struct mapping *m;
    errs_init(&e);
    ck_assert_int_eq(load("<?xml version=\"1.0\"?>\n"
                          "<!DOCTYPE mapping [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n"
                          "<mapping xmlns=\"urn:ferry:mapping:1\" service=\"&x;\">"
                          "<accept><field name=\"a\" path=\"a\"/></accept></mapping>\n",
                          &m, &e), -1);
    ck_assert_ptr_null(m);
    ck_assert_int_eq(e.n, 1);
    ck_assert_str_eq(e.v[0].where, "t.xml:2");
    ck_assert_ptr_nonnull(strstr(e.v[0].msg, "DOCTYPE"));
    errs_clear(&e);
    /* an undeclared entity is an error, never a file read */
    ck_assert_int_eq(load("<mapping xmlns=\"urn:ferry:mapping:1\" service=\"&x;\">"
                          "<accept><field name=\"a\" path=\"a\"/></accept></mapping>\n",
                          &m, &e), -1);
    ck_assert(e.n >= 1);
    errs_free(&e);
}
END_TEST

START_TEST(test_load_from_file)
{
    char path[] = "/tmp/ferry-mapXXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, example, strlen(example)), (ssize_t)strlen(example));
    close(fd);
    struct errs e;
    struct mapping *m;
    errs_init(&e);
    ck_assert_int_eq(mapping_load(path, &m, &e), 0);
    ck_assert_str_eq(m->file, path);
    mapping_free(m);
    unlink(path);
    ck_assert_int_eq(mapping_load(path, &m, &e), -1);
    ck_assert(e.n >= 1);
    mapping_free(NULL);
    errs_free(&e);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mapping_load");
    TCase *tc = tcase_create("load");
    tcase_add_test(tc, test_example_loads_everything);
    tcase_add_test(tc, test_not_well_formed_names_line);
    tcase_add_test(tc, test_schema_violations_all_listed_with_lines);
    tcase_add_test(tc, test_semantic_problems_all_listed);
    tcase_add_test(tc, test_doctype_and_xxe_refused);
    tcase_add_test(tc, test_load_from_file);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
