/* check_record.c - the typed record: exact decimals, dates, datetimes and
 * the canonical JSON form that must read back exactly. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mappings/mask.h"
#include "mappings/record.h"
#include "util/errs.h"

START_TEST(test_dec_parse_exact_scaled)
{
    int64_t n;
    ck_assert_int_eq(record_dec_parse("1234.56", 2, &n), 0);
    ck_assert(n == 123456);
    ck_assert_int_eq(record_dec_parse("-1234.5", 2, &n), 0);
    ck_assert(n == -123450);
    ck_assert_int_eq(record_dec_parse("+7", 3, &n), 0);
    ck_assert(n == 7000);
    ck_assert_int_eq(record_dec_parse(".5", 1, &n), 0);
    ck_assert(n == 5);
}
END_TEST

START_TEST(test_wide_decimal_survives_json_and_stays_exact)
{
    /* 31 digits (a COBOL ARITH(EXTEND) total) past int64: kept as text,
     * read back exactly through fvalue_wide, never as a double */
    struct record *r = record_new();
    struct record_field *f = record_add(r, "total");
    const char *big = "-99999999999999999999999999999.99";
    ck_assert_int_eq(fvalue_set_text(&f->v, FT_DECIMAL, big), 0);
    ck_assert(f->v.wide);
    ck_assert_str_eq(f->v.text, big);
    ck_assert(f->v.num == INT64_MIN);       /* saturated, for range checks */
    char *json = record_to_json(r);
    struct errs e;
    errs_init(&e);
    struct record *back = record_from_json(json, &e);
    ck_assert_ptr_nonnull(back);
    const struct fvalue *v = record_get(back, "total");
    dec128 x, want;
    int sc;
    ck_assert_int_eq(fvalue_wide(v, &x, &sc), 0);
    ck_assert_int_eq(dec128_parse(big, strlen(big), 2, &want), 0);
    ck_assert(x == want && sc == 2 && v->wide);
    /* a value that fits int64 is an ordinary decimal */
    ck_assert_int_eq(fvalue_set_wide(&f->v, FT_DECIMAL, -12345, 2), 0);
    ck_assert(!f->v.wide);
    ck_assert_str_eq(f->v.text, "-123.45");
    ck_assert_int_eq(f->v.num, -12345);
    /* 39 digits is too many even for a wide value */
    ck_assert_int_eq(fvalue_set_text(&f->v, FT_INTEGER,
                     "999999999999999999999999999999999999999"), -1);
    free(json);
    record_free(back);
    record_free(r);
    errs_free(&e);
}
END_TEST

START_TEST(test_dec_parse_never_rounds)
{
    int64_t n = 42;
    ck_assert_int_eq(record_dec_parse("0.125", 2, &n), -1);
    ck_assert_int_eq(record_dec_parse("1.0001", 3, &n), -1);
    ck_assert(n == 42);
}
END_TEST

START_TEST(test_dec_parse_rejects_junk_and_overflow)
{
    int64_t n;
    ck_assert_int_eq(record_dec_parse("", 2, &n), -1);
    ck_assert_int_eq(record_dec_parse("-", 2, &n), -1);
    ck_assert_int_eq(record_dec_parse("1,234", 2, &n), -1);
    ck_assert_int_eq(record_dec_parse(" 1", 2, &n), -1);
    ck_assert_int_eq(record_dec_parse("1e3", 2, &n), -1);
    ck_assert_int_eq(record_dec_parse("1.2.3", 2, &n), -1);
    ck_assert_int_eq(record_dec_parse("9223372036854775807", 0, &n), 0);
    ck_assert(n == INT64_MAX);
    ck_assert_int_eq(record_dec_parse("-9223372036854775808", 0, &n), 0);
    ck_assert(n == INT64_MIN);
    ck_assert_int_eq(record_dec_parse("9223372036854775808", 0, &n), -1);
    ck_assert_int_eq(record_dec_parse("92233720368547758.08", 2, &n), -1);
    ck_assert_int_eq(record_dec_parse("92233720368547758.07", 2, &n), 0);
}
END_TEST

START_TEST(test_dec_format)
{
    char b[32];
    record_dec_format(123456, 2, b, sizeof b);
    ck_assert_str_eq(b, "1234.56");
    record_dec_format(-5, 2, b, sizeof b);
    ck_assert_str_eq(b, "-0.05");
    record_dec_format(0, 3, b, sizeof b);
    ck_assert_str_eq(b, "0.000");
    record_dec_format(-42, 0, b, sizeof b);
    ck_assert_str_eq(b, "-42");
    record_dec_format(INT64_MIN, 2, b, sizeof b);
    ck_assert_str_eq(b, "-92233720368547758.08");
}
END_TEST

START_TEST(test_dates)
{
    int64_t d;
    int y, m, dd;
    ck_assert_int_eq(record_date_parse("1970-01-01", &d), 0);
    ck_assert(d == 0);
    ck_assert_int_eq(record_date_parse("2000-02-29", &d), 0);
    ck_assert(d == 11016);
    record_date_from_days(d, &y, &m, &dd);
    ck_assert_int_eq(y, 2000);
    ck_assert_int_eq(m, 2);
    ck_assert_int_eq(dd, 29);
    ck_assert_int_eq(record_date_parse("1900-02-29", &d), -1);
    ck_assert_int_eq(record_date_parse("2023-02-29", &d), -1);
    ck_assert_int_eq(record_date_parse("2023-13-01", &d), -1);
    ck_assert_int_eq(record_date_parse("2023-1-01", &d), -1);
    ck_assert_int_eq(record_date_parse("1969-12-31", &d), 0);
    ck_assert(d == -1);
    for (int64_t k = -800000; k < 800000; k += 997) {
        record_date_from_days(k, &y, &m, &dd);
        ck_assert(record_days_from_civil(y, m, dd) == k);
    }
}
END_TEST

START_TEST(test_datetime_zones)
{
    int64_t a, b;
    ck_assert_int_eq(record_datetime_parse("2022-09-14T07:00:00.000Z", &a), 0);
    ck_assert(a == 1663138800000LL);
    ck_assert_int_eq(record_datetime_parse("2022-09-14T08:00:00+01:00", &b), 0);
    ck_assert(a == b);
    ck_assert_int_eq(record_datetime_parse("2022-09-14T02:30:00.5-04:30", &b), 0);
    ck_assert(b == a + 500);
    ck_assert_int_eq(record_datetime_parse("2022-09-14T07:00:00", &b), -1);
    ck_assert_int_eq(record_datetime_parse("2022-09-14 07:00:00Z", &b), -1);
    ck_assert_int_eq(record_datetime_parse("2022-09-14T24:00:00Z", &b), -1);
    ck_assert_int_eq(record_datetime_parse("2022-09-14T07:00:00.0001Z", &b), -1);
    ck_assert_int_eq(record_datetime_parse("2022-09-14T07:00:00.1230Z", &b), 0);
    ck_assert(b == a + 123);
    struct fvalue v = {0};
    ck_assert_int_eq(fvalue_set_datetime(&v, -1), 0);
    ck_assert_str_eq(v.text, "1969-12-31T23:59:59.999Z");
    fvalue_clear(&v);
}
END_TEST

START_TEST(test_record_json_round_trip)
{
    struct record *r = record_new();
    struct record_field *f = record_add(r, "amount");
    ck_assert_int_eq(fvalue_set_decimal(&f->v, -1050, 2), 0);
    f = record_add(r, "code");
    ck_assert_int_eq(fvalue_set_text(&f->v, FT_STRING, "007"), 0);
    f = record_add(r, "nino");
    f->personal = true;
    fvalue_set_text(&f->v, FT_STRING, "QQ123456C");
    f = record_add(r, "benefit");
    fvalue_set_text(&f->v, FT_ENUM, "UC");
    f = record_add(r, "when");
    fvalue_set_datetime(&f->v, 1663138800123LL);
    f = record_add(r, "dob");
    fvalue_set_date(&f->v, -3000);
    f = record_add(r, "ok");
    fvalue_set_bool(&f->v, false);
    f = record_add(r, "n");
    fvalue_set_int(&f->v, INT64_MIN);
    f = record_add(r, "absent");
    f = record_add(r, "items");
    f->v.type = FT_LIST;
    f->v.present = true;
    f->v.items = calloc(1, sizeof *f->v.items);
    f->v.items[0] = record_new();
    f->v.nitems = 1;
    fvalue_set_decimal(&record_add(f->v.items[0], "cost")->v, 320, 2);

    char *j = record_to_json(r);
    struct errs e;
    errs_init(&e);
    struct record *back = record_from_json(j, &e);
    ck_assert_msg(back != NULL, "%s", errs_first_msg(&e));
    char *j2 = record_to_json(back);
    ck_assert_str_eq(j, j2);
    ck_assert(record_get(back, "amount")->num == -1050);
    ck_assert_int_eq(record_get(back, "amount")->scale, 2);
    ck_assert_str_eq(record_get(back, "code")->text, "007");
    ck_assert(record_field(back, "nino")->personal);
    ck_assert(!record_get(back, "absent")->present);
    ck_assert(record_get(back, "items")->items[0]->f[0].v.num == 320);
    ck_assert_ptr_null(record_get(back, "nope"));

    json_t *pj = mask_record(back, false);
    char *plain = json_dumps(pj, JSON_COMPACT);
    json_decref(pj);
    ck_assert_ptr_nonnull(strstr(plain, "\"nino\":\"***\""));
    ck_assert_ptr_null(strstr(plain, "QQ123456C"));
    ck_assert_ptr_nonnull(strstr(plain, "\"amount\":\"-10.50\""));
    ck_assert_ptr_nonnull(strstr(plain, "\"absent\":null"));
    ck_assert_ptr_nonnull(strstr(plain, "\"items\":[{\"cost\":\"3.20\"}]"));
    free(plain);
    pj = mask_record(back, true);
    plain = json_dumps(pj, JSON_COMPACT);
    json_decref(pj);
    ck_assert_ptr_nonnull(strstr(plain, "QQ123456C"));
    free(plain);
    free(j);
    free(j2);
    record_free(back);
    record_free(r);
    errs_free(&e);
}
END_TEST

/* same_bytes - record_to_json writes what the jansson tree wrote (or
 * both refuse); returns the direct writer's text */
static void same_bytes(const struct record *r)
{
    char *a = record_to_json(r), *b = record_to_json_tree(r);
    if (!b)
        ck_assert_msg(a == NULL, "jansson refused, the writer gave %s", a);
    else
        ck_assert_msg(a && strcmp(a, b) == 0, "writer %s\njansson %s",
                      a ? a : "(null)", b);
    free(a);
    free(b);
}

START_TEST(test_record_json_writer_equals_jansson)
{
    static const char *const texts[] = {
        "", "plain", "q\"uote\\back/slash", "\b\f\n\r\t\x01\x1f\x7f",
        "Gwenll\xc3\xaf" "an", "\xe2\x80\xa8 \xef\xbf\xbf", "\xf0\x9f\x98\x80x",
        "\xf4\x8f\xbf\xbf", "bad \xc3", "bad \xed\xa0\x80", "bad \xc0\xaf",
        "bad \xff", "\xe2\x82", "\xf4\x90\x80\x80",
    };
    size_t nt = sizeof texts / sizeof texts[0];
    for (size_t i = 0; i < nt; i++) {
        struct record *r = record_new();
        struct record_field *f = record_add(r, texts[i]);
        fvalue_set_text(&f->v, FT_STRING, texts[(i + 3) % nt]);
        f->personal = i & 1;
        f = record_add(r, "d");
        fvalue_set_decimal(&f->v, (int64_t)i * -997, (int)(i % 4));
        same_bytes(r);
        record_free(r);
    }
    /* a repeated name keeps its first place and takes its last value;
     * lists: absent, empty, nested, an absent value inside */
    struct record *r = record_new();
    fvalue_set_text(&record_add(r, "a")->v, FT_STRING, "first");
    fvalue_set_int(&record_add(r, "b")->v, 7);
    fvalue_set_text(&record_add(r, "a")->v, FT_ENUM, "last");
    struct record_field *l = record_add(r, "none");
    l->v.type = FT_LIST;
    l = record_add(r, "empty");
    l->v.type = FT_LIST;
    l->v.present = true;
    l = record_add(r, "items");
    l->v.type = FT_LIST;
    l->v.present = true;
    l->personal = true;
    l->v.items = calloc(2, sizeof *l->v.items);
    l->v.nitems = 2;
    for (int k = 0; k < 2; k++) {
        l->v.items[k] = record_new();
        fvalue_set_bool(&record_add(l->v.items[k], "ok")->v, k);
        record_add(l->v.items[k], "gone");
        struct record_field *in = record_add(l->v.items[k], "inner");
        in->v.type = FT_LIST;
        in->v.present = true;
        in->v.items = calloc(1, sizeof *in->v.items);
        in->v.nitems = 1;
        in->v.items[0] = record_new();
        fvalue_set_date(&record_add(in->v.items[0], "when")->v, 20000 + k);
    }
    fvalue_set_datetime(&record_add(r, "at")->v, -1);
    record_add(r, "absent")->v.type = FT_DECIMAL;
    same_bytes(r);
    record_free(r);
    /* every byte pattern of short texts, valid UTF-8 or not */
    uint32_t seed = 12345;
    for (int n = 0; n < 4000; n++) {
        char t[9];
        size_t len = (size_t)(n % 8) + 1;
        for (size_t k = 0; k < len; k++) {
            seed = seed * 1103515245u + 12345u;
            unsigned c = (seed >> 16) & 0xFF;
            t[k] = (char)(c ? c : 'z');
        }
        t[len] = '\0';
        r = record_new();
        fvalue_set_text(&record_add(r, "v")->v, FT_STRING, t);
        same_bytes(r);
        record_free(r);
    }
}
END_TEST

START_TEST(test_record_from_json_refuses_bad)
{
    struct errs e;
    errs_init(&e);
    ck_assert_ptr_null(record_from_json("{\"a\":{\"t\":\"decimal\",\"v\":\"1.234\",\"s\":2}}", &e));
    ck_assert_str_eq(e.v[0].where, "a");
    ck_assert_ptr_null(record_from_json("{\"a\":{\"t\":\"float\",\"v\":\"1\"}}", &e));
    ck_assert_ptr_null(record_from_json("{\"a\":{\"t\":\"date\",\"v\":\"2023-02-30\"}}", &e));
    ck_assert_ptr_null(record_from_json("[1", &e));
    ck_assert_int_eq(e.n, 4);
    errs_free(&e);
}
END_TEST

/* a damaged ledger row names the field but never echoes a value marked
 * personal; other values are shown to help the operator */
START_TEST(test_record_from_json_never_echoes_personal_values)
{
    struct errs e;
    errs_init(&e);
    ck_assert_ptr_null(record_from_json("{\"dob\":{\"t\":\"date\",\"v\":\"1956-02-30\",\"p\":true}}", &e));
    ck_assert_ptr_null(record_from_json("{\"pay\":{\"t\":\"decimal\",\"v\":\"9876.543\",\"s\":2,\"p\":true}}", &e));
    ck_assert_ptr_null(record_from_json("{\"day\":{\"t\":\"date\",\"v\":\"2023-02-30\"}}", &e));
    ck_assert_int_eq(e.n, 3);
    ck_assert_str_eq(e.v[0].where, "dob");
    ck_assert_str_eq(e.v[0].msg, "bad date value");
    ck_assert_str_eq(e.v[1].where, "pay");
    ck_assert_str_eq(e.v[1].msg, "bad decimal value");
    ck_assert_ptr_null(strstr(e.v[1].msg, "9876"));
    ck_assert_ptr_nonnull(strstr(e.v[2].msg, "2023-02-30"));
    errs_free(&e);
}
END_TEST

START_TEST(test_set_text_canonical)
{
    struct fvalue v = {0};
    ck_assert_int_eq(fvalue_set_text(&v, FT_DECIMAL, "-0.50"), 0);
    ck_assert(v.num == -50 && v.scale == 2);
    ck_assert_int_eq(fvalue_set_text(&v, FT_INTEGER, "+12"), 0);
    ck_assert_str_eq(v.text, "12");
    ck_assert_int_eq(fvalue_set_text(&v, FT_INTEGER, "12x"), -1);
    ck_assert_int_eq(fvalue_set_text(&v, FT_DATETIME, "2022-09-14T08:00:00+01:00"), 0);
    ck_assert_str_eq(v.text, "2022-09-14T07:00:00.000Z");
    ck_assert_int_eq(fvalue_set_text(&v, FT_STRING, NULL), 0);
    ck_assert(!v.present);
    fvalue_clear(&v);
}
END_TEST

/* a record made in its home's blocks, with lent texts and items, set
 * again (to the heap) and freed: ASan says whether anything leaks or is
 * freed twice */
START_TEST(test_lent_values_set_again_and_freed)
{
    struct record *r = record_new_sized(2, 256);
    struct record_field *a = record_add(r, "a"), *l = record_add(r, "l");
    ck_assert_int_eq(fvalue_set_decimal_in(r, &a->v, 41237, 2), 0);
    ck_assert_str_eq(a->v.text, "412.37");
    ck_assert(a->v.lent);
    ck_assert_int_eq(fvalue_set_list_in(r, &l->v, 2), 0);
    for (int i = 0; i < 2; i++) {
        struct record *it = record_new_in(r, 1, 16);
        ck_assert_ptr_nonnull(it);
        l->v.items[l->v.nitems++] = it;
        struct record_field *c = record_add(it, "code");
        /* more than the item's own block: the rest on the heap */
        ck_assert_int_eq(fvalue_set_text_n_in(it, &c->v, FT_STRING,
                         "a code longer than sixteen bytes", 32), 0);
        ck_assert(record_add(it, "extra") != NULL);   /* fields grown */
    }
    ck_assert_str_eq(l->v.items[1]->f[0].v.text,
                     "a code longer than sixteen bytes");
    ck_assert_int_eq(fvalue_set_text(&a->v, FT_STRING, "on the heap"), 0);
    ck_assert(!a->v.lent);
    ck_assert_int_eq(fvalue_set_date_in(r, &a->v, 0), 0);
    ck_assert_str_eq(a->v.text, "1970-01-01");
    fvalue_clear(&l->v);
    ck_assert_int_eq(fvalue_set_list_in(NULL, &l->v, 1), 0);
    l->v.items[l->v.nitems++] = record_new();
    record_free(r);
}
END_TEST

/* record_get_at looks at the hinted field only when the names are
 * unique: with a name twice it still finds the first, as record_get */
START_TEST(test_get_at_finds_what_get_finds)
{
    struct record *r = record_new();
    fvalue_set_int(&record_add(r, "x")->v, 1);
    fvalue_set_int(&record_add(r, "y")->v, 2);
    fvalue_set_int(&record_add(r, "x")->v, 3);
    size_t at = 2;
    ck_assert(!r->unique);
    ck_assert_int_eq(record_get_at(r, "x", &at)->num, 1);
    ck_assert_uint_eq(at, 0);
    r->unique = true;            /* as map_apply says of its records */
    at = 1;
    ck_assert_int_eq(record_get_at(r, "y", &at)->num, 2);
    at = 1;
    ck_assert_int_eq(record_get_at(r, "x", &at)->num, 1);
    ck_assert_uint_eq(at, 0);
    ck_assert_ptr_null(record_get_at(r, "z", &at));
    ck_assert_uint_eq(at, 0);
    record_add(r, "z");
    ck_assert(!r->unique);       /* added to: no longer known */
    record_free(r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("record");
    TCase *tc = tcase_create("record");
    tcase_add_test(tc, test_dec_parse_exact_scaled);
    tcase_add_test(tc, test_dec_parse_never_rounds);
    tcase_add_test(tc, test_wide_decimal_survives_json_and_stays_exact);
    tcase_add_test(tc, test_dec_parse_rejects_junk_and_overflow);
    tcase_add_test(tc, test_dec_format);
    tcase_add_test(tc, test_dates);
    tcase_add_test(tc, test_datetime_zones);
    tcase_add_test(tc, test_record_json_round_trip);
    tcase_add_test(tc, test_record_json_writer_equals_jansson);
    tcase_add_test(tc, test_record_from_json_refuses_bad);
    tcase_add_test(tc, test_record_from_json_never_echoes_personal_values);
    tcase_add_test(tc, test_set_text_canonical);
    tcase_add_test(tc, test_lent_values_set_again_and_freed);
    tcase_add_test(tc, test_get_at_finds_what_get_finds);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
