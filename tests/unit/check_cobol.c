/* check_cobol.c - field encoders and decoders, byte for byte. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mappings/cobol.h"

static struct cob_codec *ascii, *ascii_gnu, *e285, *e037, *e1140, *e1146;

static void setup(void)
{
    ascii = cob_codec_new(COB_CP_ASCII, COB_OP_IBM, NULL, 0);
    ascii_gnu = cob_codec_new(COB_CP_ASCII, COB_OP_GNU, NULL, 0);
    e285 = cob_codec_new(COB_CP_IBM285, COB_OP_IBM, NULL, 0);
    e037 = cob_codec_new(COB_CP_IBM037, COB_OP_IBM, NULL, 0);
    e1140 = cob_codec_new(COB_CP_IBM1140, COB_OP_IBM, NULL, 0);
    e1146 = cob_codec_new(COB_CP_IBM1146, COB_OP_IBM, NULL, 0);
    ck_assert_ptr_nonnull(ascii);
    ck_assert_ptr_nonnull(e285);
    ck_assert_ptr_nonnull(e037);
    ck_assert_ptr_nonnull(e1140);
    ck_assert_ptr_nonnull(e1146);
}

static void teardown(void)
{
    cob_codec_free(ascii);
    cob_codec_free(ascii_gnu);
    cob_codec_free(e285);
    cob_codec_free(e037);
    cob_codec_free(e1140);
    cob_codec_free(e1146);
}

static struct cob_pic num(enum cob_usage u, int digits, int scale,
                          bool sgn, enum cob_sign s)
{
    struct cob_pic p = { .cls = COB_NUMERIC, .usage = u, .digits = digits,
                         .scale = scale, .is_signed = sgn, .sign = s };
    p.length = cob_pic_size(&p);
    return p;
}

static struct cob_pic text(size_t n, bool just)
{
    struct cob_pic p = { .cls = COB_ALNUM, .digits = (int)n, .length = n,
                         .justified = just };
    return p;
}

/* enc - encode and compare with the expected bytes, then decode back */
static void enc(const struct cob_codec *c, struct cob_pic p, int64_t v,
                int vs, const char *hex)
{
    unsigned char out[32], want[32];
    char msg[256] = "";
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned x;
        sscanf(hex + 2 * i, "%2x", &x);
        want[i] = (unsigned char)x;
    }
    ck_assert_uint_eq(p.length, n);
    ck_assert_msg(cob_num_encode(c, &p, v, vs, out, msg, sizeof msg) == 0,
                  "encode %lld: %s", (long long)v, msg);
    ck_assert_msg(memcmp(out, want, n) == 0, "encode %lld: bytes differ",
                  (long long)v);
    int64_t back;
    int bs;
    ck_assert_int_eq(cob_num_decode(c, &p, out, &back, &bs, msg, sizeof msg),
                     0);
    /* the value comes back at the pic's scale */
    int64_t expect = v;
    for (int i = vs; i < bs; i++)
        expect *= 10;
    for (int i = bs; i < vs; i++)
        expect /= 10;
    ck_assert_int_eq(back, expect);
}

START_TEST(test_zoned_ebcdic_signs)
{
    struct cob_pic p = num(COB_DISPLAY, 4, 0, true, COB_SIGN_TRAILING);
    enc(e285, p, 1234, 0, "F1F2F3C4");
    enc(e285, p, -1234, 0, "F1F2F3D4");
    enc(e285, p, 0, 0, "F0F0F0C0");
    struct cob_pic u = num(COB_DISPLAY, 4, 0, false, COB_SIGN_TRAILING);
    enc(e037, u, 1234, 0, "F1F2F3F4");
}
END_TEST

START_TEST(test_zoned_ascii_overpunch_ibm_style)
{
    struct cob_pic p = num(COB_DISPLAY, 4, 0, true, COB_SIGN_TRAILING);
    enc(ascii, p, 1234, 0, "31323344");          /* 123D */
    enc(ascii, p, -1234, 0, "3132334D");         /* 123M */
    enc(ascii, p, -1230, 0, "3132337D");         /* 123} */
    enc(ascii, p, 0, 0, "3030307B");             /* 000{ */
    struct cob_pic l = num(COB_DISPLAY, 4, 0, true, COB_SIGN_LEADING);
    enc(ascii, l, -1230, 0, "4A323330");         /* J230 */
}
END_TEST

START_TEST(test_zoned_ascii_overpunch_gnu_style)
{
    struct cob_pic p = num(COB_DISPLAY, 4, 0, true, COB_SIGN_TRAILING);
    enc(ascii_gnu, p, 1234, 0, "31323334");
    enc(ascii_gnu, p, -1234, 0, "31323374");     /* 123t */
}
END_TEST

START_TEST(test_zoned_separate_signs)
{
    struct cob_pic t = num(COB_DISPLAY, 4, 0, true, COB_SIGN_TRAILING_SEP);
    enc(ascii, t, -1234, 0, "313233342D");
    enc(e285, t, 1234, 0, "F1F2F3F44E");
    struct cob_pic l = num(COB_DISPLAY, 3, 2, true, COB_SIGN_LEADING_SEP);
    enc(ascii, l, -150, 2, "2D313530");
    enc(e037, l, -150, 2, "60F1F5F0");
}
END_TEST

START_TEST(test_comp3_examples_from_the_issue)
{
    enc(ascii, num(COB_COMP3, 4, 0, true, 0), 1234, 0, "01234C");
    enc(ascii, num(COB_COMP3, 9, 2, true, 0), -1234567, 2, "001234567D");
    enc(ascii, num(COB_COMP3, 5, 0, false, 0), 12345, 0, "12345F");
    enc(ascii, num(COB_COMP3, 5, 0, true, 0), 0, 0, "00000C");
}
END_TEST

START_TEST(test_comp3_max_digits_and_overflow)
{
    enc(ascii, num(COB_COMP3, 18, 0, true, 0), -999999999999999999LL, 0,
        "0999999999999999999D");
    struct cob_pic p = num(COB_COMP3, 3, 0, true, 0);
    unsigned char out[4];
    char msg[128];
    ck_assert_int_eq(cob_num_encode(ascii, &p, 1000, 0, out, msg, sizeof msg),
                     -1);
    ck_assert_ptr_nonnull(strstr(msg, "more than 3 digits"));
}
END_TEST

/* edited - a numeric-edited pic from its mask */
static struct cob_pic edited(const char *mask, bool bwz)
{
    struct cob_pic p = { .cls = COB_NUMERIC, .usage = COB_DISPLAY,
                         .edit = mask, .blank_zero = bwz };
    char msg[128];
    ck_assert_msg(cob_edit_analyze(mask, &p.digits, &p.scale, &p.is_signed,
                                   &p.length, msg, sizeof msg) == 0,
                  "%s: %s", mask, msg);
    return p;
}

/* ed - value (text, exact) edited into mask gives want (ASCII), and
 * de-edits back to the same value */
static void ed(const char *mask, bool bwz, const char *value,
               const char *want)
{
    struct cob_pic p = edited(mask, bwz);
    dec128 v, back;
    int bs;
    ck_assert_int_eq(dec128_parse(value, strlen(value), p.scale, &v), 0);
    unsigned char out[64];
    char msg[128] = "";
    ck_assert_uint_eq(p.length, strlen(want));
    ck_assert_msg(cob_num_encode_wide(ascii, &p, v, p.scale, out, msg,
                                      sizeof msg) == 0, "%s %s: %s", mask,
                  value, msg);
    ck_assert_msg(memcmp(out, want, p.length) == 0, "%s %s: [%.*s] not [%s]",
                  mask, value, (int)p.length, out, want);
    ck_assert_msg(cob_num_decode_wide(ascii, &p, out, &back, &bs, msg,
                                      sizeof msg) == 0, "%s: %s", want, msg);
    ck_assert_msg(back == v && bs == p.scale, "%s de-edits wrong", want);
}

/* The expected texts are what GnuCOBOL 3.1.2 writes for MOVE value TO
 * the item (tests/integration/20_cobol_roundtrip.sh checks many more). */
START_TEST(test_edited_zero_suppression_and_insertion)
{
    ed("ZZ,ZZ9.99", false, "1234.5", " 1,234.50");
    ed("ZZ,ZZ9.99", false, "0", "     0.00");
    ed("ZZ,ZZ9.99cr", false, "-1234.5", " 1,234.50CR");
    ed("ZZ,ZZ9.99cr", false, "5", "     5.00  ");
    ed("***,**9.99", false, "1234.5", "**1,234.50");
    ed("***,**9.99", false, "0", "******0.00");
    ed("****.**", false, "0", "****.**");
    ed("ZZZ.ZZ", false, "0", "      ");
    ed("ZZZ.ZZ", false, "0.05", "   .05");
    ed("99B99/99", false, "12345", "01 23/45");
    ed("ZZ9.99", true, "0", "      ");
    ed("ZZ9V99", false, "1.5", "  150");
}
END_TEST

START_TEST(test_edited_floating_and_fixed_signs)
{
    ed("$$$,$$9.99-", false, "-1234.5", " $1,234.50-");
    ed("$$$,$$9.99-", false, "0", "     $0.00 ");
    ed("$$$$.$$", false, "0", "       ");
    ed("$$$$.$$", false, "0.05", "   $.05");
    ed("+++,++9", false, "-1234", " -1,234");
    ed("+++,++9", false, "0", "     +0");
    ed("----,--9.99", false, "-0.5", "      -0.50");
    ed("+ZZZ9", false, "-12", "-  12");
    ed("-99999", false, "123", " 00123");
    ed("ZZZZ9-", false, "-42", "   42-");
    ed("ZZ9.99db", false, "-1", "  1.00DB");
}
END_TEST

START_TEST(test_edited_refuses_what_does_not_fit)
{
    struct cob_pic p = edited("ZZ9.99", false);
    unsigned char out[16];
    char msg[128];
    ck_assert_int_eq(cob_num_encode(ascii, &p, 100000, 2, out, msg,
                                    sizeof msg), -1);
    ck_assert_ptr_nonnull(strstr(msg, "more than 5 digits"));
    ck_assert_int_eq(cob_num_encode(ascii, &p, -1, 0, out, msg, sizeof msg),
                     -1);
    ck_assert_ptr_nonnull(strstr(msg, "negative value for an unsigned"));
    int64_t v;
    int s;
    ck_assert_int_eq(cob_num_decode(ascii, &p, (const unsigned char *)
                                    " 1x.00", &v, &s, msg, sizeof msg), -1);
    ck_assert_ptr_nonnull(strstr(msg, "at +2"));
    /* the pound sign is in IBM-285 (5B), not in ASCII */
    struct cob_pic g = edited("LZZ9.99", false);
    ck_assert_int_eq(cob_num_encode(e285, &g, 150, 2, out, msg, sizeof msg),
                     0);
    ck_assert_int_eq(out[0], 0x5B);
    ck_assert_int_eq(cob_num_encode(ascii, &g, 150, 2, out, msg, sizeof msg),
                     -1);
    ck_assert_ptr_nonnull(strstr(msg, "cannot be written in ASCII"));
}
END_TEST

START_TEST(test_wide_31_digits_display_and_packed)
{
    const char *max = "9999999999999999999999999999999";
    dec128 v, back;
    int bs;
    char msg[128];
    ck_assert_int_eq(dec128_parse(max, strlen(max), 0, &v), 0);
    struct cob_pic z = num(COB_DISPLAY, 31, 0, true, COB_SIGN_TRAILING);
    struct cob_pic c3 = num(COB_COMP3, 31, 0, true, 0);
    unsigned char out[40];
    ck_assert_int_eq(cob_num_encode_wide(e285, &z, -v, 0, out, msg,
                                         sizeof msg), 0);
    for (int i = 0; i < 30; i++)
        ck_assert_int_eq(out[i], 0xF9);
    ck_assert_int_eq(out[30], 0xD9);
    ck_assert_int_eq(cob_num_encode_wide(ascii, &c3, -v, 0, out, msg,
                                         sizeof msg), 0);
    ck_assert_uint_eq(c3.length, 16);
    for (int i = 0; i < 15; i++)
        ck_assert_int_eq(out[i], 0x99);
    ck_assert_int_eq(out[15], 0x9D);
    ck_assert_int_eq(cob_num_decode_wide(ascii, &c3, out, &back, &bs, msg,
                                         sizeof msg), 0);
    ck_assert(back == -v);
    /* the int64 reader refuses what it cannot hold, never wraps */
    int64_t small;
    ck_assert_int_eq(cob_num_decode(ascii, &c3, out, &small, &bs, msg,
                                    sizeof msg), -1);
    ck_assert_ptr_nonnull(strstr(msg, "more than 18 digits"));
    /* 32 digits do not fit 31 */
    ck_assert_int_eq(cob_num_encode_wide(ascii, &c3, v * 10 + 9, 0, out, msg,
                                         sizeof msg), -1);
    ck_assert_ptr_nonnull(strstr(msg, "more than 31 digits"));
    char text[DEC128_TEXT];
    dec128_format(-v, 2, text, sizeof text);
    ck_assert_str_eq(text, "-99999999999999999999999999999.99");
}
END_TEST

START_TEST(test_binary_sizes_and_signs)
{
    enc(ascii, num(COB_BINARY, 4, 0, true, 0), -2, 0, "FFFE");
    enc(ascii, num(COB_BINARY, 4, 0, false, 0), 9999, 0, "270F");
    enc(ascii, num(COB_BINARY, 9, 2, true, 0), -12345, 2, "FFFFCFC7");
    enc(ascii, num(COB_BINARY, 18, 0, true, 0), 1, 0, "0000000000000001");
    enc(ascii, num(COB_COMP5, 4, 0, true, 0), 32767, 0, "7FFF");
}
END_TEST

START_TEST(test_binary_overflow_by_digits_not_bytes)
{
    struct cob_pic p = num(COB_BINARY, 4, 0, true, 0);
    unsigned char out[2];
    char msg[128];
    ck_assert_int_eq(cob_num_encode(ascii, &p, 10000, 0, out, msg, sizeof msg),
                     -1);
    /* COMP-5 holds what the halfword holds */
    struct cob_pic c5 = num(COB_COMP5, 4, 0, true, 0);
    ck_assert_int_eq(cob_num_encode(ascii, &c5, 10000, 0, out, msg,
                                    sizeof msg), 0);
    ck_assert_int_eq(cob_num_encode(ascii, &c5, 32768, 0, out, msg,
                                    sizeof msg), -1);
    /* a halfword holding 10000 in a PIC S9(4) COMP is refused on decode */
    int64_t v;
    int s;
    unsigned char big[2] = { 0x27, 0x10 };
    ck_assert_int_eq(cob_num_decode(ascii, &p, big, &v, &s, msg, sizeof msg),
                     -1);
}
END_TEST

START_TEST(test_scale_up_exact_and_refuse_extra_places)
{
    struct cob_pic p = num(COB_COMP3, 7, 2, true, 0);
    enc(ascii, p, 5, 0, "0000500C");             /* 5 -> 5.00 */
    enc(ascii, p, 125, 1, "0001250C");           /* 12.5 -> 12.50 */
    enc(ascii, p, 12500, 3, "0001250C");         /* 12.500: zeros only */
    unsigned char out[8];
    char msg[128];
    ck_assert_int_eq(cob_num_encode(ascii, &p, 12505, 3, out, msg,
                                    sizeof msg), -1);
    ck_assert_ptr_nonnull(strstr(msg, "decimal places"));
}
END_TEST

START_TEST(test_p_scaling)
{
    struct cob_pic p = num(COB_DISPLAY, 2, -3, false, 0);   /* 99PPP */
    enc(ascii, p, 45000, 0, "3435");
    unsigned char out[2];
    char msg[128];
    ck_assert_int_eq(cob_num_encode(ascii, &p, 45001, 0, out, msg,
                                    sizeof msg), -1);
}
END_TEST

START_TEST(test_unsigned_refuses_negative)
{
    struct cob_pic p = num(COB_DISPLAY, 4, 0, false, 0);
    unsigned char out[4];
    char msg[128];
    ck_assert_int_eq(cob_num_encode(ascii, &p, -1, 0, out, msg, sizeof msg),
                     -1);
    ck_assert_ptr_nonnull(strstr(msg, "negative"));
}
END_TEST

START_TEST(test_decoders_report_bad_bytes)
{
    int64_t v = 77;
    int s;
    char msg[128];
    struct cob_pic p3 = num(COB_COMP3, 4, 0, true, 0);
    unsigned char bad_sign[3] = { 0x01, 0x23, 0x45 };
    ck_assert_int_eq(cob_num_decode(ascii, &p3, bad_sign, &v, &s, msg,
                                    sizeof msg), -1);
    ck_assert_ptr_nonnull(strstr(msg, "bad sign nibble"));
    ck_assert_ptr_nonnull(strstr(msg, "+2"));
    unsigned char bad_digit[3] = { 0x01, 0xA3, 0x4C };
    ck_assert_int_eq(cob_num_decode(ascii, &p3, bad_digit, &v, &s, msg,
                                    sizeof msg), -1);
    ck_assert_ptr_nonnull(strstr(msg, "+1"));
    struct cob_pic z = num(COB_DISPLAY, 4, 0, true, COB_SIGN_TRAILING);
    ck_assert_int_eq(cob_num_decode(e285, &z, (const unsigned char *)"\xF1\x40\xF3\xC4",
                                    &v, &s, msg, sizeof msg), -1);
    ck_assert_ptr_nonnull(strstr(msg, "non-digit 0x40 at +1"));
    ck_assert_int_eq(cob_num_decode(ascii, &z, (const unsigned char *)"12 4",
                                    &v, &s, msg, sizeof msg), -1);
    ck_assert_int_eq(v, 77);                      /* untouched, never 0 */
    struct cob_pic sep = num(COB_DISPLAY, 2, 0, true, COB_SIGN_TRAILING_SEP);
    ck_assert_int_eq(cob_num_decode(ascii, &sep, (const unsigned char *)"12*",
                                    &v, &s, msg, sizeof msg), -1);
    ck_assert_ptr_nonnull(strstr(msg, "bad sign"));
}
END_TEST

START_TEST(test_text_pads_and_justifies)
{
    unsigned char out[8];
    char msg[128];
    struct cob_pic p = text(6, false);
    ck_assert_int_eq(cob_text_encode(ascii, &p, "AB", 2, 0, out, NULL, msg,
                                     sizeof msg), 0);
    ck_assert_mem_eq(out, "AB    ", 6);
    struct cob_pic j = text(6, true);
    ck_assert_int_eq(cob_text_encode(ascii, &j, "AB", 2, 0, out, NULL, msg,
                                     sizeof msg), 0);
    ck_assert_mem_eq(out, "    AB", 6);
    ck_assert_int_eq(cob_text_encode(e285, &p, "AB", 2, 0, out, NULL, msg,
                                     sizeof msg), 0);
    ck_assert_mem_eq(out, "\xC1\xC2\x40\x40\x40\x40", 6);
}
END_TEST

START_TEST(test_text_pound_and_dollar_per_code_page)
{
    unsigned char out[2];
    char msg[128];
    struct cob_pic p = text(2, false);
    ck_assert_int_eq(cob_text_encode(e285, &p, "£$", strlen("£$"), 0, out,
                                     NULL, msg, sizeof msg), 0);
    ck_assert_mem_eq(out, "\x5B\x4A", 2);
    ck_assert_int_eq(cob_text_encode(e037, &p, "£$", strlen("£$"), 0, out,
                                     NULL, msg, sizeof msg), 0);
    ck_assert_mem_eq(out, "\xB1\x5B", 2);
    struct cob_pic e = text(1, false);
    ck_assert_int_eq(cob_text_encode(e1146, &e, "€", strlen("€"), 0, out,
                                     NULL, msg, sizeof msg), 0);
    ck_assert_uint_eq(out[0], 0x9F);
    ck_assert_int_eq(cob_text_encode(e1140, &e, "€", strlen("€"), 0, out,
                                     NULL, msg, sizeof msg), 0);
    ck_assert_uint_eq(out[0], 0x9F);
    char dec[16];
    ck_assert_int_eq(cob_text_decode(e285, &p, (const unsigned char *)"\x5B\x4A",
                                     dec, sizeof dec, msg, sizeof msg), 0);
    ck_assert_str_eq(dec, "£$");
}
END_TEST

START_TEST(test_text_unrepresentable_is_error_unless_folded)
{
    unsigned char out[8];
    char msg[128];
    unsigned what = 0;
    struct cob_pic p = text(8, false);
    ck_assert_int_eq(cob_text_encode(ascii, &p, "Siân", strlen("Siân"), 0,
                                     out, NULL, msg, sizeof msg), -1);
    ck_assert_ptr_nonnull(strstr(msg, "'â'"));
    ck_assert_int_eq(cob_text_encode(ascii, &p, "Siân Ŵ", strlen("Siân Ŵ"),
                                     COB_TX_FOLD, out, &what, msg,
                                     sizeof msg), 0);
    ck_assert_mem_eq(out, "Sian W  ", 8);
    ck_assert_uint_eq(what, COB_TX_FOLDED);
    /* IBM-285 has é, so it is kept, not folded */
    ck_assert_int_eq(cob_text_encode(e285, &p, "é", strlen("é"), COB_TX_FOLD,
                                     out, &what, msg, sizeof msg), 0);
    ck_assert_uint_eq(what, 0);
    ck_assert_uint_eq(out[0], 0x51);
    ck_assert_str_eq(cob_fold_ascii(0x175), "w");
}
END_TEST

START_TEST(test_text_overflow_and_truncate)
{
    unsigned char out[4];
    char msg[128];
    unsigned what = 0;
    struct cob_pic p = text(4, false);
    ck_assert_int_eq(cob_text_encode(ascii, &p, "ABCDEF", 6, 0, out, NULL,
                                     msg, sizeof msg), -1);
    ck_assert_ptr_nonnull(strstr(msg, "6 characters"));
    ck_assert_int_eq(cob_text_encode(ascii, &p, "ABCDEF", 6, COB_TX_TRUNCATE,
                                     out, &what, msg, sizeof msg), 0);
    ck_assert_mem_eq(out, "ABCD", 4);
    ck_assert_uint_eq(what, COB_TX_TRUNCATED);
    struct cob_pic j = text(4, true);
    ck_assert_int_eq(cob_text_encode(ascii, &j, "ABCDEF", 6, COB_TX_TRUNCATE,
                                     out, &what, msg, sizeof msg), 0);
    ck_assert_mem_eq(out, "CDEF", 4);
}
END_TEST

START_TEST(test_text_refuses_control_characters)
{
    unsigned char out[4];
    char msg[128];
    struct cob_pic p = text(4, false);
    ck_assert_int_eq(cob_text_encode(ascii, &p, "A\nB", 3, COB_TX_FOLD, out,
                                     NULL, msg, sizeof msg), -1);
    ck_assert_ptr_nonnull(strstr(msg, "U+000A"));
}
END_TEST

START_TEST(test_codepage_names)
{
    enum cob_codepage cp;
    ck_assert_int_eq(cob_codepage_parse("IBM-285", &cp), 0);
    ck_assert_int_eq(cp, COB_CP_IBM285);
    ck_assert_int_eq(cob_codepage_parse("cp037", &cp), 0);
    ck_assert_int_eq(cp, COB_CP_IBM037);
    ck_assert_int_eq(cob_codepage_parse("ibm1146", &cp), 0);
    ck_assert_int_eq(cp, COB_CP_IBM1146);
    ck_assert_int_eq(cob_codepage_parse("IBM-500", &cp), -1);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cobol");
    TCase *t = tcase_create("codec");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_zoned_ebcdic_signs);
    tcase_add_test(t, test_zoned_ascii_overpunch_ibm_style);
    tcase_add_test(t, test_zoned_ascii_overpunch_gnu_style);
    tcase_add_test(t, test_zoned_separate_signs);
    tcase_add_test(t, test_comp3_examples_from_the_issue);
    tcase_add_test(t, test_comp3_max_digits_and_overflow);
    tcase_add_test(t, test_edited_zero_suppression_and_insertion);
    tcase_add_test(t, test_edited_floating_and_fixed_signs);
    tcase_add_test(t, test_edited_refuses_what_does_not_fit);
    tcase_add_test(t, test_wide_31_digits_display_and_packed);
    tcase_add_test(t, test_binary_sizes_and_signs);
    tcase_add_test(t, test_binary_overflow_by_digits_not_bytes);
    tcase_add_test(t, test_scale_up_exact_and_refuse_extra_places);
    tcase_add_test(t, test_p_scaling);
    tcase_add_test(t, test_unsigned_refuses_negative);
    tcase_add_test(t, test_decoders_report_bad_bytes);
    tcase_add_test(t, test_text_pads_and_justifies);
    tcase_add_test(t, test_text_pound_and_dollar_per_code_page);
    tcase_add_test(t, test_text_unrepresentable_is_error_unless_folded);
    tcase_add_test(t, test_text_overflow_and_truncate);
    tcase_add_test(t, test_text_refuses_control_characters);
    tcase_add_test(t, test_codepage_names);
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
