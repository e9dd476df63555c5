/* check_admit.c - the door's "can every target take this record?"
 * (adapters/admit.c): a fixed-width target refuses what its copybook and
 * code page cannot hold (a newline in a PIC X name, a name too long, an
 * amount too big for its PIC), a SOAP target refuses characters XML 1.0
 * cannot carry, and a record both can take passes.  The configuration is
 * tests/data/config/good (a fixed-width target) plus one written here with
 * a SOAP target, so the real layouts are compiled as the batch does. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapters/admit.h"
#include "config/config.h"
#include "mappings/record.h"
#include "util/errs.h"

static char good[2048];

static struct record *claim(const char *ref, const char *surname,
                            int64_t pence)
{
    struct record *r = record_new();
    ck_assert_ptr_nonnull(r);
    struct record_field *f = record_add(r, "ref");
    ck_assert_int_eq(fvalue_set_text(&f->v, FT_STRING, ref), 0);
    f = record_add(r, "surname");
    ck_assert_int_eq(fvalue_set_text(&f->v, FT_STRING, surname), 0);
    f = record_add(r, "amount");
    ck_assert_int_eq(fvalue_set_decimal(&f->v, pence, 2), 0);
    return r;
}

/* check_one - adapter_admit_check on a fresh record; the problems joined */
static int check_one(const struct adapter_admit *a, struct record *r,
                     char *out, size_t outsz)
{
    struct errs e;
    errs_init(&e);
    int rc = adapter_admit_check(a, r, &e);
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < e.n && o + 1 < outsz; i++) {
        int w = snprintf(out + o, outsz - o, "%s: %s\n", e.v[i].where,
                         e.v[i].msg);
        if (w > 0)
            o += (size_t)w;
    }
    errs_free(&e);
    record_free(r);
    return rc;
}

START_TEST(test_fixed_width_refuses_what_the_copybook_cannot_hold)
{
    struct ferry_config *c = NULL;
    struct errs e;
    errs_init(&e);
    ck_assert_msg(config_load(good, &c, &e) == 0, "%s", errs_first_msg(&e));
    const struct service_config *s = config_service(c, "claim");
    ck_assert_ptr_nonnull(s);
    struct adapter_admit *a = adapter_admit_new(c, s, &e);
    ck_assert_msg(a != NULL, "%s", errs_first_msg(&e));
    char got[4096];

    ck_assert_int_eq(check_one(a, claim("REF-1", "JONES", 1250), got,
                               sizeof got), 0);
    ck_assert_str_eq(got, "");

    ck_assert_int_eq(check_one(a, claim("REF-2", "JONES\nSMITH", 1250), got,
                               sizeof got), -1);
    ck_assert_msg(strstr(got, "cannot be encoded for target mainframe") &&
                  strstr(got, "U+000A"), "%s", got);
    ck_assert_msg(!strstr(got, "SMITH"), "a value leaked: %s", got);

    ck_assert_int_eq(check_one(a, claim("REF-3", "A-NAME-FAR-TOO-LONG-FOR-20",
                                        1250), got, sizeof got), -1);
    ck_assert_msg(strstr(got, "CLM-SURNAME") || strstr(got, "surname"),
                  "%s", got);

    /* PIC S9(7)V99: 10,000,000.00 does not fit */
    ck_assert_int_eq(check_one(a, claim("REF-4", "JONES", 1000000000LL), got,
                               sizeof got), -1);

    adapter_admit_free(a);
    config_free(c);
    errs_free(&e);
}
END_TEST

START_TEST(test_soap_refuses_characters_xml_cannot_carry)
{
    char dir[] = "/tmp/check_admit.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char p[4096];
    snprintf(p, sizeof p, "%s/m.xml", dir);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs("<?xml version=\"1.0\"?>\n"
          "<mapping xmlns=\"urn:ferry:mapping:1\" service=\"addr\">\n"
          " <accept>\n"
          "  <field name=\"ref\" path=\"reference\" type=\"string\"/>\n"
          "  <field name=\"surname\" path=\"surname\" type=\"string\"/>\n"
          "  <field name=\"amount\" path=\"amount\" type=\"decimal\" scale=\"2\"/>\n"
          " </accept>\n"
          " <target name=\"ws\" operation=\"Put\" namespace=\"urn:x\">\n"
          "  <map to=\"Name\" from=\"surname\"/>\n"
          " </target>\n"
          "</mapping>\n", f);
    fclose(f);
    snprintf(p, sizeof p, "%s/ferry.xml", dir);
    f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs("<?xml version=\"1.0\"?>\n"
          "<ferry xmlns=\"urn:ferry:config:1\">\n"
          " <spool dir=\"var\"/>\n"
          " <target name=\"ws\" type=\"soap\" endpoint=\"http://127.0.0.1:9/x\"/>\n"
          " <service name=\"addr\" mapping=\"m.xml\" target=\"ws\"/>\n"
          "</ferry>\n", f);
    fclose(f);
    struct ferry_config *c = NULL;
    struct errs e;
    errs_init(&e);
    ck_assert_msg(config_load(p, &c, &e) == 0, "%s", errs_first_msg(&e));
    struct adapter_admit *a =
        adapter_admit_new(c, config_service(c, "addr"), &e);
    ck_assert_msg(a != NULL, "%s", errs_first_msg(&e));
    char got[4096];
    /* a newline is fine in XML; U+0001 and U+FFFF are not */
    ck_assert_int_eq(check_one(a, claim("R1", "JONES\nSMITH", 1), got,
                               sizeof got), 0);
    ck_assert_int_eq(check_one(a, claim("R2", "JONES\001", 1), got,
                               sizeof got), -1);
    ck_assert_msg(strstr(got, "surname: cannot be encoded for target ws: "
                              "control character U+0001"), "%s", got);
    ck_assert_int_eq(check_one(a, claim("R3", "A\xEF\xBF\xBF", 1), got,
                               sizeof got), -1);
    /* the reference is not sent by this target: its bytes do not matter */
    ck_assert_int_eq(check_one(a, claim("R\002", "JONES", 1), got,
                               sizeof got), 0);
    adapter_admit_free(a);
    config_free(c);
    errs_free(&e);
    unlink(p);
    snprintf(p, sizeof p, "%s/m.xml", dir);
    unlink(p);
    rmdir(dir);
}
END_TEST

int main(void)
{
    const char *r = getenv("FERRY_ROOT");
    snprintf(good, sizeof good, "%s/tests/data/config/good/ferry.xml",
             r ? r : ".");
    Suite *s = suite_create("admit");
    TCase *tc = tcase_create("admit");
    tcase_add_test(tc, test_fixed_width_refuses_what_the_copybook_cannot_hold);
    tcase_add_test(tc, test_soap_refuses_characters_xml_cannot_carry);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
