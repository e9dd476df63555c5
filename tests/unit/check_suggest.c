/* check_suggest.c - the one "did you mean" (util/suggest.h) and its use on
 * libxml2's schema messages (util/xmlerr.h): distances, how close is
 * close, and the names a schema message is matched against. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "util/suggest.h"
#include "util/xmlerr.h"

START_TEST(test_suggest_distance_counts_edits)
{
    ck_assert_int_eq(suggest_distance("queue", "queue"), 0);
    ck_assert_int_eq(suggest_distance("qeue", "queue"), 1);
    ck_assert_int_eq(suggest_distance("max-lenght", "max-length"), 2);
    ck_assert_int_eq(suggest_distance("", "abc"), 3);
    ck_assert_int_eq(suggest_distance("kitten", "sitting"), 3);
    char big[80];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ck_assert_int_eq(suggest_distance(big, "a"), 99);
}
END_TEST

START_TEST(test_suggest_near_only_when_close)
{
    const char *c[] = { "refund-claim", NULL, "change-of-address" };
    ck_assert_str_eq(suggest_near("refund-clam", c, 3), "refund-claim");
    ck_assert_ptr_null(suggest_near("parking-permit", c, 3));
    const char *s[] = { "log", "job" };
    ck_assert_str_eq(suggest_near("lg", s, 2), "log");
    ck_assert_ptr_null(suggest_near("xy", s, 2));     /* 2 edits of 3 */
    ck_assert_ptr_null(suggest_near("x", NULL, 0));
}
END_TEST

static const char xsd[] =
    "<xs:element name=\"breaker\"/><xs:element name=\"window\"/>"
    "<xs:attribute name=\"max-attempts\" type=\"count\"/>"
    "<xs:attribute name=\"format\"/>";

START_TEST(test_xmlerr_did_you_mean_attribute_and_element)
{
    char m[512] = "Element 'retry', attribute 'max-attempt': The attribute "
                  "'max-attempt' is not allowed.";
    xmlerr_did_you_mean(m, sizeof m, xsd, sizeof xsd - 1);
    ck_assert_str_eq(m, "Element 'retry', attribute 'max-attempt': The "
                        "attribute 'max-attempt' is not allowed; did you "
                        "mean 'max-attempts'?");
    /* the expected list in the message wins over the schema's elements */
    char e[512] = "Element '{urn:x:1}transfrom': This element is not "
                  "expected. Expected is one of ( {urn:x:1}concat, "
                  "{urn:x:1}transform ).";
    xmlerr_strip_ns(e);
    xmlerr_did_you_mean(e, sizeof e, xsd, sizeof xsd - 1);
    ck_assert_str_eq(e, "Element 'transfrom': This element is not expected. "
                        "Expected is one of ( concat, transform ); did you "
                        "mean 'transform'?");
    char w[512] = "Element 'windw': This element is not expected.";
    xmlerr_did_you_mean(w, sizeof w, xsd, sizeof xsd - 1);
    ck_assert_str_eq(w, "Element 'windw': This element is not expected; did "
                        "you mean 'window'?");
    char far[512] = "Element 'retry', attribute 'colour': The attribute "
                    "'colour' is not allowed.";
    xmlerr_did_you_mean(far, sizeof far, xsd, sizeof xsd - 1);
    ck_assert_ptr_null(strstr(far, "did you mean"));
    char other[512] = "Element 'retry': [facet 'pattern'] bad value.";
    xmlerr_did_you_mean(other, sizeof other, xsd, sizeof xsd - 1);
    ck_assert_str_eq(other, "Element 'retry': [facet 'pattern'] bad value.");
}
END_TEST

static Suite *suggest_suite(void)
{
    Suite *s = suite_create("suggest");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_suggest_distance_counts_edits);
    tcase_add_test(tc, test_suggest_near_only_when_close);
    tcase_add_test(tc, test_xmlerr_did_you_mean_attribute_and_element);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suggest_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
