/* check_fixedwidth.c - whole records: mapping a typed record onto a
 * copybook layout, COBOL defaults, OCCURS from lists, dates, notes, and
 * decoding back. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "mappings/fixedwidth.h"
#include "mappings/fw_target.h"
#include "util/buf.h"
#include "util/errs.h"

static const char *CPY =
    "       01  CLM.\n"
    "           05  CLM-TYPE      PIC X VALUE 'D'.\n"
    "           05  CLM-NAME      PIC X(10).\n"
    "           05  CLM-AMOUNT    PIC S9(7)V99 COMP-3.\n"
    "           05  CLM-DATE      PIC 9(8).\n"
    "           05  CLM-DATE2     PIC 9(6).\n"
    "           05  CLM-DATE3     PIC 9(6) COMP-3.\n"
    "           05  CLM-DATE4     PIC 9(7).\n"
    "           05  FILLER        PIC X(2) VALUE '**'.\n"
    "           05  CLM-MILES     PIC S9(4) COMP.\n"
    "           05  CLM-N         PIC S9(4) COMP.\n"
    "           05  CLM-ITEMS     OCCURS 0 TO 3 DEPENDING ON CLM-N.\n"
    "               10  ITEM-CODE PIC X(2).\n"
    "               10  ITEM-AMT  PIC S9(3)V99.\n";

static struct copybook *cb;
static const struct cpy_record *rec;
static struct cob_codec *ascii, *e285;
static struct errs e;

static void setup(void)
{
    errs_init(&e);
    cb = cpy_parse(CPY, strlen(CPY), "T.cpy", CPY_FMT_AUTO, &e);
    ck_assert_msg(cb != NULL, "%s", errs_first_msg(&e));
    rec = &cb->rec[0];
    ascii = cob_codec_new(COB_CP_ASCII, COB_OP_IBM, NULL, 0);
    e285 = cob_codec_new(COB_CP_IBM285, COB_OP_IBM, NULL, 0);
}

static void teardown(void)
{
    cpy_free(cb);
    cob_codec_free(ascii);
    cob_codec_free(e285);
    errs_free(&e);
}

/* A section from "to=from" pairs; "to==value" makes a constant. */
static struct map_section *section(const char *const *pairs, size_t n)
{
    struct map_section *s = calloc(1, sizeof *s);
    s->a = calloc(n, sizeof *s->a);
    s->na = n;
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(pairs[i], '=');
        s->a[i].to = strndup(pairs[i], (size_t)(eq - pairs[i]));
        if (eq[1] == '=')
            s->a[i].value = strdup(eq + 2);
        else
            s->a[i].from = strdup(eq + 1);
        s->a[i].line = (int)i + 1;
    }
    return s;
}

static void section_free(struct map_section *s)
{
    for (size_t i = 0; i < s->na; i++) {
        free(s->a[i].to);
        free(s->a[i].from);
        free(s->a[i].value);
        free(s->a[i].format);
    }
    free(s->a);
    free(s);
}

static struct record *items(size_t n)
{
    struct record *r = record_new();
    struct record_field *f = record_add(r, "items");
    f->v.type = FT_LIST;
    f->v.present = true;
    f->v.items = calloc(n ? n : 1, sizeof *f->v.items);
    for (size_t i = 0; i < n; i++) {
        struct record *it = record_new();
        fvalue_set_text(&record_add(it, "ITEM-CODE")->v, FT_STRING, "AB");
        fvalue_set_decimal(&record_add(it, "amount")->v, -150 - (int64_t)i, 2);
        f->v.items[f->v.nitems++] = it;
    }
    return r;
}

START_TEST(test_defaults_values_and_filler)
{
    struct map_section *s = section(NULL, 0);
    struct fw_plan *p = fw_plan_new(rec, s, &e);
    ck_assert_ptr_nonnull(p);
    unsigned char out[128];
    size_t used = 0;
    struct record *r = record_new();
    ck_assert_int_eq(fw_encode(p, ascii, r, NULL, out, sizeof out, &used,
                               NULL, &e), 0);
    ck_assert_uint_eq(rec->length, 1 + 10 + 5 + 8 + 6 + 4 + 7 + 2 + 2 + 2 + 21);
    ck_assert_uint_eq(used, rec->length - 21);        /* no items */
    ck_assert_mem_eq(out, "D          ", 11);
    ck_assert_mem_eq(out + 11, "\x00\x00\x00\x00\x0C", 5);
    ck_assert_mem_eq(out + 16, "00000000", 8);
    ck_assert_mem_eq(out + 41, "**", 2);
    ck_assert_mem_eq(out + 43, "\x00\x00\x00\x00", 4);
    fw_plan_free(p);
    section_free(s);
    record_free(r);
}
END_TEST

START_TEST(test_fields_constants_and_lists)
{
    static const char *const a[] = {
        "CLM-NAME=name", "CLM-AMOUNT=amount", "CLM-MILES==-12",
        "CLM-ITEMS.ITEM-AMT=items.amount", "ITEM-CODE=items.ITEM-CODE",
    };
    struct map_section *s = section(a, 5);
    struct fw_plan *p = fw_plan_new(rec, s, &e);
    ck_assert_msg(p != NULL, "%s", errs_first_msg(&e));
    struct record *r = items(2);
    fvalue_set_text(&record_add(r, "name")->v, FT_STRING, "Smith");
    fvalue_set_decimal(&record_add(r, "amount")->v, -1234567, 2);
    unsigned char out[128];
    size_t used = 0;
    ck_assert_int_eq(fw_encode(p, ascii, r, NULL, out, sizeof out, &used,
                               NULL, &e), 0);
    ck_assert_mem_eq(out + 1, "Smith     ", 10);
    ck_assert_mem_eq(out + 11, "\x00\x12\x34\x56\x7D", 5);
    ck_assert_mem_eq(out + 43, "\xFF\xF4", 2);            /* -12 */
    ck_assert_mem_eq(out + 45, "\x00\x02", 2);            /* count = 2 */
    ck_assert_mem_eq(out + 47, "AB0015}AB0015J", 14);     /* -1.50, -1.51 */
    ck_assert_uint_eq(used, 47 + 14);
    /* and back */
    struct record *d = fw_decode(rec, ascii, out, used, &e);
    ck_assert_msg(d != NULL, "%s", errs_first_msg(&e));
    ck_assert_str_eq(record_get(d, "CLM-AMOUNT")->text, "-12345.67");
    ck_assert_int_eq(record_get(d, "CLM-AMOUNT")->num, -1234567);
    const struct fvalue *lv = record_get(d, "CLM-ITEMS");
    ck_assert_uint_eq(lv->nitems, 2);
    ck_assert_str_eq(record_get(lv->items[1], "ITEM-AMT")->text, "-1.51");
    record_free(d);
    fw_plan_free(p);
    section_free(s);
    record_free(r);
}
END_TEST

START_TEST(test_date_formats)
{
    static const char *const a[] = {
        "CLM-DATE=d", "CLM-DATE2=d", "CLM-DATE3=d", "CLM-DATE4=d",
    };
    struct map_section *s = section(a, 4);
    s->a[1].format = strdup("YYMMDD");
    s->a[2].format = strdup("CYYDDD");
    s->a[3].format = strdup("JULIAN");
    struct fw_plan *p = fw_plan_new(rec, s, &e);
    ck_assert_msg(p != NULL, "%s", errs_first_msg(&e));
    struct record *r = record_new();
    fvalue_set_date(&record_add(r, "d")->v, record_days_from_civil(2026, 11, 27));
    unsigned char out[128];
    ck_assert_int_eq(fw_encode(p, ascii, r, NULL, out, sizeof out, NULL,
                               NULL, &e), 0);
    ck_assert_mem_eq(out + 16, "20261127", 8);
    ck_assert_mem_eq(out + 24, "261127", 6);
    ck_assert_mem_eq(out + 30, "\x01\x26\x33\x1F", 4);    /* 126331 */
    ck_assert_mem_eq(out + 34, "2026331", 7);
    fw_plan_free(p);
    section_free(s);
    record_free(r);
}
END_TEST

START_TEST(test_overflow_is_an_error_naming_field_and_offset)
{
    static const char *const a[] = { "CLM-AMOUNT=amount", "CLM-NAME=name" };
    struct map_section *s = section(a, 2);
    struct fw_plan *p = fw_plan_new(rec, s, &e);
    struct record *r = record_new();
    fvalue_set_decimal(&record_add(r, "amount")->v, 100000000000LL, 2);
    fvalue_set_text(&record_add(r, "name")->v, FT_STRING, "A much longer name");
    unsigned char out[128];
    ck_assert_int_eq(fw_encode(p, ascii, r, NULL, out, sizeof out, NULL,
                               NULL, &e), -1);
    ck_assert_uint_eq(e.n, 2);
    ck_assert_str_eq(e.v[0].where, "CLM-AMOUNT");
    ck_assert_ptr_nonnull(strstr(e.v[0].msg, "offset 11"));
    ck_assert_ptr_nonnull(strstr(e.v[0].msg, "more than 9 digits"));
    ck_assert_str_eq(e.v[1].where, "CLM-NAME");
    fw_plan_free(p);
    section_free(s);
    record_free(r);
}
END_TEST

START_TEST(test_truncate_and_fold_are_reported)
{
    static const char *const a[] = { "CLM-NAME=name" };
    struct map_section *s = section(a, 1);
    s->a[0].truncate = true;
    s->a[0].fold = true;
    struct fw_plan *p = fw_plan_new(rec, s, &e);
    struct record *r = record_new();
    fvalue_set_text(&record_add(r, "name")->v, FT_STRING, "Ŵyn Llŷr-Thomas");
    unsigned char out[128];
    struct fw_notes notes;
    memset(&notes, 0, sizeof notes);
    ck_assert_int_eq(fw_encode(p, ascii, r, NULL, out, sizeof out, NULL,
                               &notes, &e), 0);
    ck_assert_mem_eq(out + 1, "Wyn Llyr-T", 10);
    ck_assert_uint_eq(notes.n, 2);
    ck_assert_str_eq(notes.v[0].field, "CLM-NAME");
    ck_assert_ptr_nonnull(strstr(notes.v[0].what, "truncated"));
    ck_assert_ptr_nonnull(strstr(notes.v[1].what, "folded"));
    struct buf b;
    buf_init(&b, 0);
    fw_listing(rec, ascii, out, rec->length, &notes, &b);
    ck_assert_ptr_nonnull(strstr(buf_str(&b), "\"Wyn Llyr-T\""));
    ck_assert_ptr_nonnull(strstr(buf_str(&b), "57796E204C6C79722D54"));
    ck_assert_ptr_nonnull(strstr(buf_str(&b), "! truncated"));
    buf_free(&b);
    fw_notes_free(&notes);
    fw_plan_free(p);
    section_free(s);
    record_free(r);
}
END_TEST

START_TEST(test_ebcdic_text_and_zoned)
{
    static const char *const a[] = { "CLM-NAME=name", "CLM-DATE==20261127" };
    struct map_section *s = section(a, 2);
    struct fw_plan *p = fw_plan_new(rec, s, &e);
    struct record *r = record_new();
    fvalue_set_text(&record_add(r, "name")->v, FT_STRING, "£5 $1");
    unsigned char out[128];
    ck_assert_int_eq(fw_encode(p, e285, r, NULL, out, sizeof out, NULL,
                               NULL, &e), 0);
    ck_assert_mem_eq(out, "\xC4\x5B\xF5\x40\x4A\xF1\x40", 7);
    ck_assert_mem_eq(out + 16, "\xF2\xF0\xF2\xF6\xF1\xF1\xF2\xF7", 8);
    ck_assert_mem_eq(out + 41, "\x5C\x5C", 2);            /* '**' */
    struct record *d = fw_decode(rec, e285, out, rec->length, &e);
    ck_assert_ptr_nonnull(d);
    ck_assert_str_eq(record_get(d, "CLM-NAME")->text, "£5 $1");
    record_free(d);
    fw_plan_free(p);
    section_free(s);
    record_free(r);
}
END_TEST

START_TEST(test_plan_rejects_unknown_names)
{
    static const char *const a[] = {
        "CLM-NOPE=x", "ITEM-AMT=amount", "CLM-DATE=d", "CLM-MILES==1.5",
    };
    struct map_section *s = section(a, 4);
    s->a[2].format = strdup("DDMMYY");
    ck_assert_ptr_null(fw_plan_new(rec, s, &e));
    ck_assert_uint_eq(e.n, 4);
    ck_assert_str_eq(e.v[0].where, "line 1: to=CLM-NOPE");
    ck_assert_ptr_nonnull(strstr(e.v[1].msg, "LIST.FIELD"));
    ck_assert_ptr_nonnull(strstr(e.v[2].msg, "DDMMYY"));
    ck_assert_ptr_nonnull(strstr(e.v[3].msg, "1.5"));
    section_free(s);
}
END_TEST

START_TEST(test_too_many_items)
{
    static const char *const a[] = { "CLM-ITEMS=items" };
    struct map_section *s = section(a, 1);
    struct fw_plan *p = fw_plan_new(rec, s, &e);
    ck_assert_ptr_nonnull(p);
    struct record *r = items(4);
    unsigned char out[128];
    ck_assert_int_eq(fw_encode(p, ascii, r, NULL, out, sizeof out, NULL,
                               NULL, &e), -1);
    ck_assert_ptr_nonnull(strstr(errs_first_msg(&e), "4 items"));
    fw_plan_free(p);
    section_free(s);
    record_free(r);
}
END_TEST

START_TEST(test_decode_reports_bad_bytes)
{
    struct map_section *s = section(NULL, 0);
    struct fw_plan *p = fw_plan_new(rec, s, &e);
    unsigned char out[128];
    struct record *r = record_new();
    fw_encode(p, ascii, r, NULL, out, sizeof out, NULL, NULL, &e);
    out[15] = 0x12;                     /* CLM-AMOUNT sign nibble 2 */
    out[18] = 'x';                      /* CLM-DATE third digit */
    ck_assert_ptr_null(fw_decode(rec, ascii, out, rec->length, &e));
    ck_assert_uint_eq(e.n, 2);
    ck_assert_str_eq(e.v[0].where, "CLM-AMOUNT");
    ck_assert_str_eq(e.v[0].msg, "offset 11: bad sign nibble 2 at +4");
    ck_assert_str_eq(e.v[1].where, "CLM-DATE");
    ck_assert_str_eq(e.v[1].msg, "offset 16: non-digit 0x78 at +2");
    fw_plan_free(p);
    section_free(s);
    record_free(r);
}
END_TEST

/* fw_pick: the named fields come back in the asked order from one call,
 * an unnamed slot stays absent, a bad byte in a field nobody asked for
 * still refuses the record, and a group or unknown name is refused once */
START_TEST(test_pick_reads_named_fields_in_one_call)
{
    struct map_section *s = section(NULL, 0);
    struct fw_plan *p = fw_plan_new(rec, s, &e);
    unsigned char out[128];
    struct record *r = record_new();
    fvalue_set_text(&record_add(r, "x")->v, FT_STRING, "x");
    record_free(r);
    r = record_new();
    ck_assert_int_eq(fw_encode(p, ascii, r, NULL, out, sizeof out, NULL, NULL,
                               &e), 0);
    memcpy(out + 1, "SMITH     ", 10);
    const char *names[3] = { "CLM-DATE", NULL, "CLM-NAME" };
    struct fw_pick pk;
    ck_assert_int_eq(fw_pick_init(&pk, rec, names, 3, &e), 0);
    struct record *got = fw_pick_decode(&pk, ascii, out, rec->length, &e);
    ck_assert_ptr_nonnull(got);
    ck_assert_uint_eq(got->n, 3);
    ck_assert(got->f[0].v.present);
    ck_assert_int_eq(got->f[0].v.num, 0);
    ck_assert(!got->f[1].v.present);
    ck_assert_str_eq(got->f[2].v.text, "SMITH");
    record_free(got);
    out[15] = 0x12;                     /* CLM-AMOUNT: not picked, still bad */
    ck_assert_ptr_null(fw_pick_decode(&pk, ascii, out, rec->length, &e));
    ck_assert_uint_eq(e.n, 1);
    ck_assert_str_eq(e.v[0].where, "CLM-AMOUNT");
    errs_free(&e);
    errs_init(&e);
    const char *bad[2] = { "CLM-ITEMS", "CLM-NOPE" };
    ck_assert_int_eq(fw_pick_init(&pk, rec, bad, 2, &e), -1);
    ck_assert_uint_eq(e.n, 2);
    ck_assert_str_eq(e.v[1].where, "CLM-NOPE");
    fw_plan_free(p);
    section_free(s);
    record_free(r);
}
END_TEST

/* local-time="true" on a text field with no format: the text is the local
 * clock's, with its offset, not the UTC canonical text */
START_TEST(test_local_time_text_without_format)
{
    static const char CPY2[] =
        "       01  T.\n"
        "           05  T-AT     PIC X(29).\n"
        "           05  T-UTC    PIC X(24).\n"
        "           05  T-DATE   PIC 9(8).\n"
        "           05  T-TIME   PIC 9(6).\n";
    struct copybook *c2 = cpy_parse(CPY2, strlen(CPY2), "T2.cpy",
                                    CPY_FMT_AUTO, &e);
    ck_assert_msg(c2 != NULL, "%s", errs_first_msg(&e));
    static const char *const a[] = { "T-AT=at", "T-UTC=at", "T-DATE=at",
                                     "T-TIME=at" };
    struct map_section *s = section(a, 4);
    s->a[0].local_time = true;
    s->a[2].local_time = true;
    s->a[2].format = strdup("CCYYMMDD");
    s->a[3].local_time = true;
    s->a[3].format = strdup("HHMMSS");
    struct fw_plan *p = fw_plan_new(&c2->rec[0], s, &e);
    ck_assert_msg(p != NULL, "%s", errs_first_msg(&e));
    static const struct { const char *utc, *at, *date, *time; } cases[] = {
        { "2026-07-27T23:41:03.512Z", "2026-07-28T00:41:03.512+01:00",
          "20260728", "004103" },                      /* BST */
        { "2026-11-27T23:41:03.512Z", "2026-11-27T23:41:03.512+00:00",
          "20261127", "234103" },                      /* GMT */
        { "2026-03-29T00:59:59.999Z", "2026-03-29T00:59:59.999+00:00",
          "20260329", "005959" },                      /* just before */
        { "2026-03-29T01:00:00.000Z", "2026-03-29T02:00:00.000+01:00",
          "20260329", "020000" },                      /* the change */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct record *r = record_new();
        int64_t ms;
        ck_assert_int_eq(record_datetime_parse(cases[i].utc, &ms), 0);
        fvalue_set_datetime(&record_add(r, "at")->v, ms);
        unsigned char out[80];
        ck_assert_int_eq(fw_encode(p, ascii, r, NULL, out, sizeof out, NULL,
                                   NULL, &e), 0);
        ck_assert_mem_eq(out, cases[i].at, 29);
        ck_assert_mem_eq(out + 29, cases[i].utc, 24);
        ck_assert_mem_eq(out + 53, cases[i].date, 8);
        ck_assert_mem_eq(out + 61, cases[i].time, 6);
        record_free(r);
    }
    fw_plan_free(p);
    section_free(s);
    cpy_free(c2);
}
END_TEST

/* a dotted from= outside a table is only "LIST.#" */
START_TEST(test_list_field_into_non_table_is_refused)
{
    static const char *const a[] = { "CLM-NAME=items.code",
                                     "CLM-MILES=items.#" };
    struct map_section *s = section(a, 2);
    ck_assert_ptr_null(fw_plan_new(rec, s, &e));
    ck_assert_uint_eq(e.n, 1);
    ck_assert_str_eq(e.v[0].where, "line 1: to=CLM-NAME");
    ck_assert_ptr_nonnull(strstr(e.v[0].msg, "not in one"));
    section_free(s);
    errs_clear(&e);
    s = section(a + 1, 1);
    struct fw_plan *p = fw_plan_new(rec, s, &e);
    ck_assert_msg(p != NULL, "%s", errs_first_msg(&e));
    struct record *r = items(3);
    unsigned char out[128];
    ck_assert_int_eq(fw_encode(p, ascii, r, NULL, out, sizeof out, NULL,
                               NULL, &e), 0);
    ck_assert_mem_eq(out + 43, "\x00\x03", 2);            /* three items */
    record_free(r);
    fw_plan_free(p);
    section_free(s);
}
END_TEST

/* What `ferry check` needs from fw_target_new: the problems only binding
 * the plan finds, each naming the mapping file and the <map>'s line. */
START_TEST(test_target_reports_plan_problems_with_file_and_line)
{
    char dir[] = "/tmp/check_fw_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char cpath[64], mpath[64];
    snprintf(cpath, sizeof cpath, "%s/NEST.cpy", dir);
    snprintf(mpath, sizeof mpath, "%s/m.xml", dir);
    static const char NEST[] =
        "       01  NREC.\n"
        "           05  N-NAME        PIC X(10).\n"
        "           05  N-DATE        PIC 9(8).\n"
        "           05  N-OUTER       OCCURS 2 TIMES.\n"
        "               10  N-INNER   OCCURS 2 TIMES.\n"
        "                   15  N-X   PIC X(2).\n";
    static const char XML[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"                /* 1 */
        "<mapping xmlns=\"urn:ferry:mapping:1\" service=\"s\">\n"     /* 2 */
        "  <accept>\n"                                              /* 3 */
        "    <field name=\"name\" path=\"name\"/>\n"                  /* 4 */
        "  </accept>\n"                                             /* 5 */
        "  <target name=\"t\" copybook=\"NEST.cpy\" record=\"NREC\">\n" /* 6 */
        "    <map to=\"N-NAME\" from=\"name\"/>\n"                    /* 7 */
        "    <map to=\"N-DATE\" from=\"d\" format=\"DDMMYY\"/>\n"      /* 8 */
        "    <map to=\"N-NAME\" from=\"items.code\"/>\n"              /* 9 */
        "    <map to=\"N-X\" from=\"items.code\"/>\n"                 /* 10 */
        "  </target>\n"
        "</mapping>\n";
    FILE *f = fopen(cpath, "w");
    ck_assert_ptr_nonnull(f);
    fputs(NEST, f);
    fclose(f);
    f = fopen(mpath, "w");
    ck_assert_ptr_nonnull(f);
    fputs(XML, f);
    fclose(f);
    struct mapping *m = NULL;
    ck_assert_msg(mapping_load(mpath, &m, &e) == 0, "%s",
                  errs_first_msg(&e));
    ck_assert_ptr_null(fw_target_new(&m->targets[0], m->file, &e));
    ck_assert_uint_eq(e.n, 3);
    static const char *const want[][2] = {
        { "line 8: to=N-DATE", "unknown date format DDMMYY" },
        { "line 9: to=N-NAME", "LIST.FIELD fills a field inside an OCCURS" },
        { "line 10: to=N-X", "nested tables" },
    };
    char where[96];
    snprintf(where, sizeof where, "%s:6", mpath);
    for (size_t i = 0; i < 3; i++) {
        ck_assert_str_eq(e.v[i].where, where);
        ck_assert_msg(strstr(e.v[i].msg, want[i][0]) &&
                      strstr(e.v[i].msg, want[i][1]), "%zu: %s", i,
                      e.v[i].msg);
    }
    mapping_free(m);
    unlink(cpath);
    unlink(mpath);
    rmdir(dir);
}
END_TEST

/* fw_used_length - the RDW length of an ODO record is its count's */
START_TEST(test_used_length_by_depending_count)
{
    bool amb = false;
    const struct cpy_field *n = cpy_field_find(rec, "CLM-N", &amb);
    const struct cpy_field *t = cpy_field_find(rec, "CLM-ITEMS", &amb);
    ck_assert_ptr_nonnull(n);
    ck_assert_ptr_nonnull(t);
    unsigned char *b = calloc(1, rec->length);
    ck_assert_ptr_nonnull(b);
    char msg[200];
    size_t used = 0;
    for (int k = 0; k <= 3; k++) {
        b[n->offset] = 0;
        b[n->offset + 1] = (unsigned char)k;
        ck_assert_int_eq(fw_used_length(rec, ascii, b, rec->length, &used,
                                        msg, sizeof msg), 0);
        ck_assert_uint_eq(used, t->offset + (size_t)k * t->length);
    }
    ck_assert_uint_eq(used, rec->length);        /* 3: the whole table */
    b[n->offset + 1] = 4;
    ck_assert_int_eq(fw_used_length(rec, ascii, b, rec->length, &used, msg,
                                    sizeof msg), -1);
    ck_assert_ptr_nonnull(strstr(msg, "the count CLM-N is 4, outside "
                                 "CLM-ITEMS's OCCURS 0 TO 3"));
    ck_assert_int_eq(fw_used_length(rec, ascii, b, n->offset + 1, &used, msg,
                                    sizeof msg), -1);
    ck_assert_ptr_nonnull(strstr(msg, "end before the count CLM-N"));
    free(b);
}
END_TEST


static Suite *suite(void)
{
    Suite *s = suite_create("fixedwidth");
    TCase *t = tcase_create("records");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_defaults_values_and_filler);
    tcase_add_test(t, test_fields_constants_and_lists);
    tcase_add_test(t, test_pick_reads_named_fields_in_one_call);
    tcase_add_test(t, test_date_formats);
    tcase_add_test(t, test_overflow_is_an_error_naming_field_and_offset);
    tcase_add_test(t, test_truncate_and_fold_are_reported);
    tcase_add_test(t, test_ebcdic_text_and_zoned);
    tcase_add_test(t, test_plan_rejects_unknown_names);
    tcase_add_test(t, test_too_many_items);
    tcase_add_test(t, test_decode_reports_bad_bytes);
    tcase_add_test(t, test_local_time_text_without_format);
    tcase_add_test(t, test_list_field_into_non_table_is_refused);
    tcase_add_test(t, test_target_reports_plan_problems_with_file_and_line);
    tcase_add_test(t, test_used_length_by_depending_count);
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
