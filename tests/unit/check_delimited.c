/* check_delimited.c - cells of a delimited file: quoting, escaping, the
 * code page, and the strict read-back split. */
#include "adapters/adapter.h"
#include "mappings/delimited.h"
#include "util/errs.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* put - cells joined by the delimiter, as a line without its end */
static int put(const struct dl_dialect *d, const char *const *cells,
               size_t n, char *out, size_t outsz, char *msg)
{
    struct buf b;
    buf_init(&b, 0);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (i)
            buf_append(&b, &d->delim, 1);
        rc = dl_cell_put(d, cells[i], strlen(cells[i]), 0, &b, msg, 200);
    }
    snprintf(out, outsz, "%s", buf_str(&b));
    buf_free(&b);
    return rc;
}

static void dialect(struct dl_dialect *d, enum dl_quoting q,
                    enum dl_escape e)
{
    char msg[200];
    ck_assert_int_eq(dl_dialect_init(d, NULL, ',', '"', q, e, true, msg,
                                     sizeof msg), 0);
}

START_TEST(test_quote_when_needed_doubles_quotes)
{
    struct dl_dialect d;
    dialect(&d, DL_QUOTE_NEEDED, DL_ESC_DOUBLE);
    const char *cells[] = { "JONES", "LEE, \"TED\"", "", "12.50" };
    char out[200], msg[200];
    ck_assert_int_eq(put(&d, cells, 4, out, sizeof out, msg), 0);
    ck_assert_str_eq(out, "JONES,\"LEE, \"\"TED\"\"\",,12.50");
}
END_TEST

START_TEST(test_quote_always_backslash)
{
    struct dl_dialect d;
    dialect(&d, DL_QUOTE_ALWAYS, DL_ESC_BACKSLASH);
    const char *cells[] = { "A\\B", "say \"hi\"" };
    char out[200], msg[200];
    ck_assert_int_eq(put(&d, cells, 2, out, sizeof out, msg), 0);
    ck_assert_str_eq(out, "\"A\\\\B\",\"say \\\"hi\\\"\"");
}
END_TEST

START_TEST(test_quoting_none_refuses_delimiter)
{
    struct dl_dialect d;
    dialect(&d, DL_QUOTE_NONE, DL_ESC_DOUBLE);
    const char *ok[] = { "O'BRIEN \"X\"" };
    const char *bad[] = { "SMITH, JONES" };
    char out[200], msg[200];
    ck_assert_int_eq(put(&d, ok, 1, out, sizeof out, msg), 0);
    ck_assert_str_eq(out, "O'BRIEN \"X\"");
    ck_assert_int_eq(put(&d, bad, 1, out, sizeof out, msg), -1);
    ck_assert_ptr_nonnull(strstr(msg, "holds the delimiter ','"));
    ck_assert_ptr_null(strstr(msg, "SMITH"));
}
END_TEST

START_TEST(test_control_characters_refused)
{
    struct dl_dialect d;
    dialect(&d, DL_QUOTE_NEEDED, DL_ESC_DOUBLE);
    const char *bad[] = { "LINE\nBREAK" };
    char out[200], msg[200];
    ck_assert_int_eq(put(&d, bad, 1, out, sizeof out, msg), -1);
    ck_assert_ptr_nonnull(strstr(msg, "U+000A"));
}
END_TEST

START_TEST(test_ebcdic_cells_round_trip)
{
    char msg[200];
    struct cob_codec *cc = cob_codec_new(COB_CP_IBM037, COB_OP_IBM, msg,
                                         sizeof msg);
    ck_assert_ptr_nonnull(cc);
    struct dl_dialect d;
    ck_assert_int_eq(dl_dialect_init(&d, cc, ';', '"', DL_QUOTE_NEEDED,
                                     DL_ESC_DOUBLE, false, msg, sizeof msg), 0);
    ck_assert_uint_eq(d.delim, 0x5E);
    ck_assert_uint_eq(d.eol[0], 0x25);       /* LF in IBM-037 */
    struct buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(dl_cell_put(&d, "Zoë", 4, 0, &b, msg, sizeof msg), 0);
    buf_append(&b, &d.delim, 1);
    ck_assert_int_eq(dl_cell_put(&d, "a;b", 3, 0, &b, msg, sizeof msg), 0);
    ck_assert_int_eq(dl_cell_put(&d, "€", 3, 0, &b, msg, sizeof msg), -1);
    struct dl_cells c;
    dl_cells_init(&c);
    ck_assert_int_eq(dl_line_split(&d, (const unsigned char *)b.data, b.len,
                                   &c, msg, sizeof msg), 0);
    ck_assert_uint_eq(c.n, 2);
    ck_assert_str_eq(c.v[0], "Zoë");
    ck_assert_str_eq(c.v[1], "a;b");
    dl_cells_free(&c);
    buf_free(&b);
    cob_codec_free(cc);
}
END_TEST

/* split - the cells of line as "a|b", or "ERR: msg" */
static void split(const struct dl_dialect *d, const char *line, char *out,
                  size_t outsz)
{
    struct dl_cells c;
    char msg[200];
    dl_cells_init(&c);
    if (dl_line_split(d, (const unsigned char *)line, strlen(line), &c, msg,
                      sizeof msg) != 0) {
        snprintf(out, outsz, "ERR: %s", msg);
    } else {
        size_t o = 0;
        out[0] = '\0';
        for (size_t i = 0; i < c.n; i++)
            o += (size_t)snprintf(out + o, outsz - o, "%s%s", i ? "|" : "",
                                  c.v[i]);
    }
    dl_cells_free(&c);
}

START_TEST(test_split_is_strict)
{
    struct dl_dialect d;
    dialect(&d, DL_QUOTE_NEEDED, DL_ESC_DOUBLE);
    char out[300];
    split(&d, "a,\"b,\"\"c\"\"\",,d", out, sizeof out);
    ck_assert_str_eq(out, "a|b,\"c\"||d");
    split(&d, "a,b\"c", out, sizeof out);
    ck_assert_str_eq(out, "ERR: cell 2: a quote inside an unquoted cell");
    split(&d, "\"ab\"x,c", out, sizeof out);
    ck_assert_str_eq(out, "ERR: cell 1: text after the closing quote");
    split(&d, "a,\"bc", out, sizeof out);
    ck_assert_str_eq(out, "ERR: cell 2: the quote is not closed");
    split(&d, "a,", out, sizeof out);
    ck_assert_str_eq(out, "a|");
}
END_TEST

START_TEST(test_dialect_refusals)
{
    struct dl_dialect d;
    char msg[200];
    ck_assert_int_eq(dl_dialect_init(&d, NULL, 'x', '"', DL_QUOTE_NEEDED,
                                     DL_ESC_DOUBLE, true, msg, sizeof msg), -1);
    ck_assert_int_eq(dl_dialect_init(&d, NULL, ',', ',', DL_QUOTE_NEEDED,
                                     DL_ESC_DOUBLE, true, msg, sizeof msg), -1);
    ck_assert_int_eq(dl_dialect_init(&d, NULL, '\t', '\'', DL_QUOTE_NEEDED,
                                     DL_ESC_DOUBLE, true, msg, sizeof msg), 0);
    ck_assert_uint_eq(d.delim, '\t');
}
END_TEST

struct mem { const char *p; size_t n, at; };

static int mem_get(void *ctx, void *p, size_t n)
{
    struct mem *m = ctx;
    if (m->at + n > m->n)
        return 1;
    memcpy(p, m->p + m->at, n);
    m->at += n;
    return 0;
}

/* lines - every line the reader gives, "|"-joined, or "ERR: why" */
static void lines(const struct dl_dialect *d, const char *text, char *out,
                  size_t outsz)
{
    struct mem m = { text, strlen(text), 0 };
    struct dl_reader r;
    char why[200];
    ck_assert_int_eq(dl_reader_init(&r, d, mem_get, &m, m.n), 0);
    size_t o = 0;
    out[0] = '\0';
    int g;
    while ((g = dl_reader_next(&r, why, sizeof why)) == 1)
        o += (size_t)snprintf(out + o, outsz - o, "%s[%s]",
                              o ? "|" : "", buf_str(&r.line));
    if (g < 0)
        snprintf(out + o, outsz - o, "ERR: %s", why);
    dl_reader_free(&r);
}

START_TEST(test_reader_line_ends)
{
    struct dl_dialect d;
    dialect(&d, DL_QUOTE_NEEDED, DL_ESC_DOUBLE);      /* CRLF */
    char out[300];
    lines(&d, "a,b\r\nc\r\n", out, sizeof out);
    ck_assert_str_eq(out, "[a,b]|[c]");
    lines(&d, "a,b\r\nc\n", out, sizeof out);
    ck_assert_str_eq(out, "[a,b]ERR: line 2 ends in LF, not CRLF");
    lines(&d, "a,b\r\nc", out, sizeof out);
    ck_assert_str_eq(out, "[a,b]ERR: line 2 has no line end");
}
END_TEST

START_TEST(test_value_text_formats)
{
    struct fvalue v;
    memset(&v, 0, sizeof v);
    ck_assert_int_eq(fvalue_set_date(&v, record_days_from_civil(2026, 11,
                                                                27)), 0);
    struct map_assign a;
    memset(&a, 0, sizeof a);
    char tmp[64], why[200];
    ck_assert_str_eq(dl_value_text(NULL, &a, &v, tmp, sizeof tmp, why,
                                   sizeof why), "2026-11-27");
    a.format = "CCYYMMDD";
    ck_assert_str_eq(dl_value_text(NULL, &a, &v, tmp, sizeof tmp, why,
                                   sizeof why), "20261127");
    a.format = "DD/MM/CCYY";
    ck_assert_str_eq(dl_value_text(NULL, &a, &v, tmp, sizeof tmp, why,
                                   sizeof why), "27/11/2026");
    a.format = "NONSENSE";
    ck_assert_ptr_null(dl_value_text(NULL, &a, &v, tmp, sizeof tmp, why,
                                     sizeof why));
    ck_assert_ptr_nonnull(strstr(why, "not a date format"));
    fvalue_clear(&v);
}
END_TEST

/* ---- the batch format: write, read back, refuse a changed file ------ */

static const char fmt_xml[] =
    "<mapping xmlns=\"urn:ferry:mapping:1\" service=\"s\">\n"
    " <accept idempotency-field=\"ref\">\n"
    "  <field name=\"ref\" path=\"ref\" required=\"true\"/>\n"
    "  <field name=\"name\" path=\"name\"/>\n"
    "  <field name=\"amount\" path=\"amount\" type=\"decimal\" scale=\"2\"/>\n"
    " </accept>\n"
    " <target name=\"csv\">\n"
    "  <map to=\"ref\" from=\"ref\"/>\n"
    "  <map to=\"name\" from=\"name\"/>\n"
    "  <map to=\"amount\" from=\"amount\"/>\n"
    "  <section name=\"trailer\">\n"
    "   <map to=\"t\" value=\"T\"/>\n"
    "   <map to=\"n\" from=\"$count\"/>\n"
    "   <map to=\"sum\" from=\"$sum:amount\"/>\n"
    "  </section>\n"
    " </target>\n"
    "</mapping>\n";

struct membuf { struct buf b; size_t at; };

static int sink_put(void *ctx, const void *p, size_t n)
{
    return buf_append(&((struct membuf *)ctx)->b, p, n) == 0 ? 0 : -1;
}

static int src_get(void *ctx, void *p, size_t n)
{
    struct membuf *m = ctx;
    if (m->at + n > m->b.len)
        return 1;
    memcpy(p, m->b.data + m->at, n);
    m->at += n;
    return 0;
}

static struct record *row(const char *ref, const char *name, int64_t pence)
{
    struct record *r = record_new();
    ck_assert_int_eq(fvalue_set_text(&record_add(r, "ref")->v, FT_STRING,
                                     ref), 0);
    ck_assert_int_eq(fvalue_set_text(&record_add(r, "name")->v, FT_STRING,
                                     name), 0);
    ck_assert_int_eq(fvalue_set_decimal(&record_add(r, "amount")->v, pence,
                                        2), 0);
    return r;
}

/* check - read m back against count and totals; the outcome, why in msg */
static enum adapter_outcome check(const struct adapter *a, void *ctx,
                                  struct membuf *m, int64_t count,
                                  const char *totals, char *msg, size_t msgsz)
{
    struct batch_source src = { .get = src_get, .sctx = m };
    struct batch_totals want = { .count = count };
    snprintf(want.text, sizeof want.text, "%s", totals);
    struct adapter_result res;
    memset(&res, 0, sizeof res);
    m->at = 0;
    a->check_file(ctx, &src, m->b.len, &want, &res);
    snprintf(msg, msgsz, "%s", res.msg);
    return res.outcome;
}

START_TEST(test_format_writes_and_refuses_a_changed_file)
{
    struct mapping *mp = NULL;
    struct errs e;
    errs_init(&e);
    ck_assert_msg(mapping_load_memory(fmt_xml, strlen(fmt_xml), "f.xml", &mp,
                                      &e) == 0, "%s", errs_first_msg(&e));
    struct kv kv[] = { { "line-end", "LF", 0 } };
    struct kvlist opts = { kv, 1 };
    struct adapter_env env = { .opts = &opts, .map = mapping_target(mp, "csv"),
                               .service = "s", .mapping_file = "f.xml" };
    const struct adapter *a = adapter_find("delimited");
    ck_assert_ptr_nonnull(a);
    void *ctx = NULL;
    ck_assert_msg(a->init(&ctx, &env, &e) == 0, "%s", errs_first_msg(&e));

    struct membuf m;
    buf_init(&m.b, 0);
    struct batch_sink sink = { .put = sink_put, .sctx = &m };
    struct record *sp = record_new();
    struct adapter_result res;
    void *file = NULL;
    a->open_file(ctx, &sink, sp, &file, &res);
    ck_assert_int_eq(res.outcome, ADAPTER_OK);
    struct record *r1 = row("A1", "LEE, \"TED\"", 1250),
                  *r2 = row("A2", "JONES", 5);
    a->write_record(ctx, file, r1, sp, &res);
    ck_assert_int_eq(res.outcome, ADAPTER_OK);
    a->write_record(ctx, file, r2, sp, &res);
    ck_assert_int_eq(res.outcome, ADAPTER_OK);
    struct batch_totals tot;
    a->close_file(file, sp, &tot, &res);
    ck_assert_int_eq(res.outcome, ADAPTER_OK);
    ck_assert_int_eq(tot.count, 2);
    ck_assert_str_eq(tot.text, "amount=12.55");
    ck_assert_str_eq(buf_str(&m.b), "ref,name,amount\n"
                     "A1,\"LEE, \"\"TED\"\"\",12.50\n"
                     "A2,JONES,0.05\n"
                     "T,2,12.55\n");

    char msg[1100];
    ck_assert_int_eq(check(a, ctx, &m, 2, "amount=12.55", msg, sizeof msg),
                     ADAPTER_OK);
    /* the ledger says otherwise */
    ck_assert_int_eq(check(a, ctx, &m, 3, "amount=12.55", msg, sizeof msg),
                     ADAPTER_FAIL);
    ck_assert_ptr_nonnull(strstr(msg, "holds 2 details, the ledger 3"));
    /* a detail amount changed: the trailer no longer adds up */
    char *p = strstr(m.b.data, "0.05");
    p[3] = '6';
    ck_assert_int_eq(check(a, ctx, &m, 2, "amount=12.55", msg, sizeof msg),
                     ADAPTER_FAIL);
    ck_assert_msg(strstr(msg, "trailer sum says 12.55, the details add up "
                         "to 12.56") != NULL, "%s", msg);
    p[3] = '5';
    /* a stray quote, and a line cut short */
    p = strstr(m.b.data, "JONES");
    p[1] = '"';
    ck_assert_int_eq(check(a, ctx, &m, 2, "amount=12.55", msg, sizeof msg),
                     ADAPTER_FAIL);
    ck_assert_msg(strstr(msg, "line 3: cell 2: a quote inside an unquoted "
                         "cell") != NULL, "%s", msg);
    p[1] = 'O';
    m.b.len--;
    ck_assert_int_eq(check(a, ctx, &m, 2, "amount=12.55", msg, sizeof msg),
                     ADAPTER_FAIL);
    ck_assert_msg(strstr(msg, "line 4 has no line end") != NULL, "%s", msg);

    record_free(r1);
    record_free(r2);
    record_free(sp);
    buf_free(&m.b);
    a->close(ctx);
    mapping_free(mp);
    errs_free(&e);
}
END_TEST

static Suite *delimited_suite(void)
{
    Suite *s = suite_create("delimited");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_quote_when_needed_doubles_quotes);
    tcase_add_test(tc, test_quote_always_backslash);
    tcase_add_test(tc, test_quoting_none_refuses_delimiter);
    tcase_add_test(tc, test_control_characters_refused);
    tcase_add_test(tc, test_ebcdic_cells_round_trip);
    tcase_add_test(tc, test_split_is_strict);
    tcase_add_test(tc, test_dialect_refusals);
    tcase_add_test(tc, test_reader_line_ends);
    tcase_add_test(tc, test_value_text_formats);
    tcase_add_test(tc, test_format_writes_and_refuses_a_changed_file);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(delimited_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
