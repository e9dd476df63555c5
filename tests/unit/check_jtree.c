/* check_jtree.c - the fast intake parse (mappings/jtree_simd.cc, simdjson)
 * is only a faster way to the same answer: for every document it takes,
 * jansson through the front door (map_parse.c) takes it too, and the
 * mapping makes the same record, or lists the same problems, from either
 * tree.  Documents it must leave to jansson (so the refusal reads as it
 * always has) are listed one by one.
 *
 * Run over every data-driven accept case (tests/data/accept/<case>/:
 * mapping.xml and input.json), the refund-claim example mapping with the
 * bench's generated submissions, and mutations of them. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mappings/jtree.h"
#include "mappings/mapping.h"
#include "mappings/record.h"
#include "util/errs.h"
#include "util/fsutil.h"

static const char *root(void)
{
    const char *r = getenv("FERRY_ROOT");
    return r ? r : ".";
}

/* outcome - what the mapping made of text: the record's canonical JSON,
 * or its problems, one "where: reason" line each; NULL when the front
 * door refused it (jansson path) or jt_parse left it (fast path) */
static char *outcome(const struct mapping *m, const char *text, size_t len,
                     struct jt_parser *jp)
{
    struct errs e;
    errs_init(&e);
    struct record *r = NULL;
    int rc;
    if (jp) {
        struct map_limits lim;
        map_limits_effective(&m->limits, &lim);
        const struct jt_doc *d = NULL;
        size_t b = len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
        if (jt_parse(jp, text + b, len - b, lim.max_body, lim.max_depth,
                     lim.max_fields, &d) != 0) {
            errs_free(&e);
            return NULL;
        }
        rc = map_apply_jt(m, d, &r, &e);
    } else {
        json_t *doc = NULL;
        if (map_parse_json(text, len, &m->limits, &doc, &e) != 0) {
            errs_free(&e);
            return NULL;
        }
        rc = map_apply(m, doc, &r, &e);
        json_decref(doc);
    }
    char *out = NULL;
    if (rc == 0) {
        out = record_to_json(r);
        record_free(r);
    } else {
        size_t cap = 64, n = 0;
        out = calloc(cap, 1);
        for (size_t i = 0; out && i < e.n; i++) {
            size_t need = strlen(e.v[i].where) + strlen(e.v[i].msg)
                        + (e.v[i].plain ? strlen(e.v[i].plain) : 0) + 8;
            if (n + need >= cap) {
                cap = (n + need) * 2;
                out = realloc(out, cap);
            }
            n += (size_t)snprintf(out + n, cap - n, "%s: %s [%s]\n",
                                  e.v[i].where, e.v[i].msg,
                                  e.v[i].plain ? e.v[i].plain : "");
        }
    }
    errs_free(&e);
    return out;
}

static size_t taken_fast;

/* same - the fast path takes text only if jansson does, with the same
 * outcome; returns whether the fast path took it */
static bool same(const struct mapping *m, struct jt_parser *jp,
                 const char *text, size_t len, const char *what)
{
    char *slow = outcome(m, text, len, NULL);
    char *fast = outcome(m, text, len, jp);
    bool took = fast != NULL;
    if (fast) {
        ck_assert_msg(slow != NULL, "%s: the fast path took what the front "
                      "door refuses", what);
        ck_assert_msg(strcmp(slow, fast) == 0, "%s:\njansson %s\nfast    %s",
                      what, slow, fast);
        taken_fast++;
    }
    free(slow);
    free(fast);
    return took;
}

START_TEST(test_every_accept_case_reads_the_same)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/data/accept", root());
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct jt_parser *jp = jt_parser_new();
    ck_assert_ptr_nonnull(jp);
    struct dirent *de;
    size_t cases = 0, valid = 0;
    taken_fast = 0;
    while ((de = readdir(d)) && cases < 1000) {
        if (de->d_name[0] == '.')
            continue;
        char mp[2048], ip[2048];
        snprintf(mp, sizeof mp, "%s/%s/mapping.xml", dir, de->d_name);
        snprintf(ip, sizeof ip, "%s/%s/input.json", dir, de->d_name);
        struct errs e;
        errs_init(&e);
        struct mapping *m = NULL;
        char *text = NULL;
        size_t len = 0;
        if (mapping_load(mp, &m, &e) == 0
            && fs_read_file(ip, 8 << 20, &text, &len, &e) >= 0) {
            cases++;
            json_t *doc = NULL;
            struct errs pe;
            errs_init(&pe);
            bool ok = map_parse_json(text, len, &m->limits, &doc, &pe) == 0;
            json_decref(doc);
            errs_free(&pe);
            bool took = same(m, jp, text, len, de->d_name);
            /* a body the front door takes the fast path takes too, or
             * the speed would be for show */
            if (ok) {
                valid++;
                ck_assert_msg(took, "%s: valid, yet left to jansson",
                              de->d_name);
            }
        }
        free(text);
        mapping_free(m);
        errs_free(&e);
    }
    closedir(d);
    jt_parser_free(jp);
    ck_assert_uint_ge(cases, 40);
    ck_assert_uint_ge(valid, 10);
    ck_assert_uint_eq(taken_fast, valid);
}
END_TEST

static struct mapping *refund_claim(void)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/examples/mappings/refund-claim.xml", root());
    struct errs e;
    errs_init(&e);
    struct mapping *m = NULL;
    ck_assert_msg(mapping_load(p, &m, &e) == 0, "%s", errs_first_msg(&e));
    errs_free(&e);
    return m;
}

/* replace - s with the first "from" replaced by "to" (caller frees) */
static char *replace(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);
    ck_assert_msg(at != NULL, "no %s in the document", from);
    size_t a = (size_t)(at - s), fl = strlen(from), tl = strlen(to);
    char *o = malloc(strlen(s) - fl + tl + 1);
    memcpy(o, s, a);
    memcpy(o + a, to, tl);
    strcpy(o + a + tl, at + fl);
    return o;
}

START_TEST(test_refund_claims_and_their_mutations_read_the_same)
{
    struct mapping *m = refund_claim();
    struct jt_parser *jp = jt_parser_new();
    char p[1024];
    snprintf(p, sizeof p, "%s/bench/data/refund-claim.json", root());
    char *doc = NULL;
    size_t len = 0;
    struct errs e;
    errs_init(&e);
    ck_assert_int_ge(fs_read_file(p, 1 << 20, &doc, &len, &e), 0);
    while (len && (doc[len - 1] == '\n' || doc[len - 1] == '\r'))
        doc[--len] = '\0';
    ck_assert(same(m, jp, doc, len, "refund-claim.json"));
    /* value kinds where the mapping reads them: numbers (integer, real,
     * exponent, too many digits), booleans, null, objects, arrays,
     * selectors by string, escapes and non-ASCII text */
    static const char *const muts[][2] = {
        { "\"412.37\"", "412.37" }, { "\"412.37\"", "4.1237e2" },
        { "\"412.37\"", "412.370000000000000001" }, { "\"412.37\"", "-0" },
        { "\"412.37\"", "true" }, { "\"412.37\"", "null" },
        { "\"412.37\"", "{\"a\":1}" }, { "\"412.37\"", "[1]" },
        { "\"12345678\"", "12345678" }, { "\"12345678\"", "9223372036854775807" },
        { "\"12345678\"", "-9223372036854775808" },
        { "\"question_id\":6", "\"question_id\":\"6\"" },
        { "\"question_id\":6", "\"question_id\":6.0" },
        { "\"question_id\":6", "\"question_id\":true" },
        { "\"question_id\":1,", "\"question_id\":1,\"x\":null," },
        { "\"cf10 1ep\"", "\"cf10\\u00201ep\"" },
        { "\"Llewellyn-Davies\"", "\"Ll\\u00e9wellyn\\ud83d\\ude00\"" },
        { "\"Llewellyn-Davies\"", "\"\\\"quoted\\\\\"" },
        { "\"items\":[", "\"items\":[1," }, { "\"items\":[", "\"items\":[null," },
        { "[{\"code\":\"GS\"", "[[],{\"code\":\"GS\"" },
        { "\"items\":[{\"code\":\"GS\",\"amount\":\"250.00\"},",
          "\"items\":[" },
        { "\"answers\":[", "\"answers\":[{},7,\"x\",[]," },
        { "\"submitted_at\":", "\"submitted_at\":0,\"_\":" },
        { "\"HCR7Q4ZP2XW8\"", "\"\"" }, { "\"HCR7Q4ZP2XW8\"", "\"hcr\"" },
        /* the selectors on answers are judged together (jpath_set): the
         * first element matching each, whatever order they come in */
        { "{\"question_id\":2,",
          "{\"question_id\":2,\"answer_text\":\"ZZ999999A\"},{\"question_id\":2," },
        { "{\"question_id\":3,",
          "{\"question_id\":\"3\",\"answer_text\":\"01/01/1999\"},{\"question_id\":3," },
        { "{\"question_id\":1,",
          "{\"question_id\":8,\"sort_code\":\"111111\"},{\"question_id\":1," },
        { "{\"question_id\":1,", "{\"question_id\":1},{\"question_id\":1," },
        { "\"answers\":", "\"answers\":{\"question_id\":1},\"was\":" },
        { "\"answers\":", "\"answers\":[],\"was\":" },
    };
    for (size_t i = 0; i < sizeof muts / sizeof muts[0]; i++) {
        char *t = replace(doc, muts[i][0], muts[i][1]);
        char what[128];
        snprintf(what, sizeof what, "mutation %zu (%s)", i, muts[i][1]);
        same(m, jp, t, strlen(t), what);
        free(t);
    }
    /* what only jansson may judge: duplicates, NUL, lone surrogates,
     * integers past int64, reals past double, not an object, trailing
     * bytes, raw control bytes, invalid UTF-8, a byte-order mark */
    static const char *const left[][2] = {
        { "\"form_id\":", "\"form_id\":1,\"form_id\":" },
        { "\"cf10 1ep\"", "\"cf10\\u00001ep\"" },
        { "\"Caerdydd\"", "\"Caer\\udc00\"" }, { "\"Caerdydd\"", "\"Caer\\ud800x\"" },
        { "\"12345678\"", "9223372036854775808" },
        { "\"12345678\"", "123456789012345678901234567890" },
        { "\"412.37\"", "1e400" }, { "\"Caerdydd\"", "\"Caer\tdydd\"" },
        { "\"Caerdydd\"", "\"Caer\xc3\"" }, { "\"Caerdydd\"", "\"Caer\xed\xa0\x80\"" },
        { "\"first_name\":", "\"first\\u0000\":1,\"first_name\":" },
    };
    for (size_t i = 0; i < sizeof left / sizeof left[0]; i++) {
        char *t = replace(doc, left[i][0], left[i][1]);
        char what[128];
        snprintf(what, sizeof what, "left %zu (%s)", i, left[i][1]);
        ck_assert_msg(!same(m, jp, t, strlen(t), what), "%s was taken", what);
        free(t);
    }
    static const char *const whole[] = {
        "[{\"a\":1}]", "{\"a\":1} x", "{\"a\":1}{}", "\xEF\xBB\xBF\xEF\xBB\xBF{}",
        "\"text\"", "", "{", "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
    };
    for (size_t i = 0; i < sizeof whole / sizeof whole[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "document %zu", i);
        ck_assert_msg(!same(m, jp, whole[i], strlen(whole[i]), what),
                      "%s was taken", what);
    }
    free(doc);
    errs_free(&e);
    jt_parser_free(jp);
    mapping_free(m);
}
END_TEST

/* the limits are the mapping's: one member past max-fields, one level
 * past max-depth, is jansson's to refuse */
START_TEST(test_limits_are_left_to_the_front_door)
{
    struct jt_parser *jp = jt_parser_new();
    const struct jt_doc *d = NULL;
    const char *two = "{\"a\":{\"b\":1},\"c\":2}";   /* 3 members, depth 2 */
    ck_assert_int_eq(jt_parse(jp, two, strlen(two), 1000, 2, 3, &d), 0);
    ck_assert_int_eq(jt_parse(jp, two, strlen(two), 1000, 2, 2, &d), -1);
    ck_assert_int_eq(jt_parse(jp, two, strlen(two), 1000, 1, 3, &d), -1);
    ck_assert_int_eq(jt_parse(jp, two, strlen(two), 1000, 2, 3, &d), 0);
    ck_assert_uint_eq(d->n, 4);
    const struct jt_node *a = jt_member(d, &d->v[0], "a");
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(jt_member(d, a, "b")->u.i, 1);
    ck_assert_ptr_null(jt_member(d, &d->v[0], "b"));
    jt_parser_free(jp);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("jtree");
    TCase *tc = tcase_create("jtree");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_every_accept_case_reads_the_same);
    tcase_add_test(tc, test_refund_claims_and_their_mutations_read_the_same);
    tcase_add_test(tc, test_limits_are_left_to_the_front_door);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
