// fuzz-sources: mappings/cobol_codec.c mappings/cobol_msg.c mappings/cobol_edit.c mappings/cpy_copy.c mappings/fw_rdw.c mappings/cpy_lex.c mappings/cpy_layout.c mappings/cpy_parse.c mappings/copybook.c mappings/fixedwidth.c mappings/fw_decode.c mappings/record.c util/*.c
/* fuzz_decoders.c - libFuzzer target for every field decoder.
 *
 * The first four bytes choose a field shape (usage, digits, scale, sign
 * convention, code page, overpunch style); the rest are the field's bytes.
 * Whatever decodes must encode again and decode to the same value (text
 * included), and a rejected field must leave the output untouched.  The
 * same bytes are also decoded as a whole record of a small layout. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mappings/cobol.h"
#include "mappings/copybook.h"
#include "mappings/fixedwidth.h"
#include "util/errs.h"

static struct cob_codec *codecs[10];

static struct cob_codec *codec(unsigned i)
{
    i %= 10;
    if (!codecs[i])
        codecs[i] = cob_codec_new((enum cob_codepage)(i % 5),
                                  (enum cob_overpunch)(i / 5), NULL, 0);
    return codecs[i];
}

static const char LAYOUT[] =
    "       01  R.\n"
    "           05  A  PIC X(3).\n"
    "           05  B  PIC S9(5)V99 COMP-3.\n"
    "           05  C  PIC S9(4) SIGN LEADING SEPARATE.\n"
    "           05  N  PIC 9.\n"
    "           05  T  OCCURS 0 TO 4 DEPENDING ON N.\n"
    "               10  T1 PIC S9(3).\n"
    "               10  T2 PIC S9(9) COMP.\n";

static void whole_record(const uint8_t *d, size_t n, struct cob_codec *c)
{
    static struct copybook *cb;
    if (!cb) {
        struct errs e;
        errs_init(&e);
        cb = cpy_parse(LAYOUT, strlen(LAYOUT), "L.cpy", CPY_FMT_AUTO, &e);
        errs_free(&e);
        if (!cb)
            abort();
    }
    struct errs e;
    errs_init(&e);
    struct record *r = fw_decode(&cb->rec[0], c, d, n, &e);
    if (!r && e.n == 0 && n >= cb->rec[0].length)
        abort();                  /* a refusal always names the field */
    record_free(r);
    errs_free(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    struct cob_codec *c = codec(data[0]);
    struct cob_pic p;
    memset(&p, 0, sizeof p);
    p.usage = (enum cob_usage)(data[1] % 4);
    p.digits = 1 + data[2] % 18;
    p.scale = (int)(data[3] % 24) - 4;
    p.is_signed = data[1] & 0x10;
    p.sign = (enum cob_sign)((data[1] >> 2) % 4);
    p.blank_zero = (data[1] & 0x80) && p.usage == COB_DISPLAY;
    p.justified = data[1] & 0x40;
    p.cls = (data[0] & 0x80) ? COB_ALNUM : COB_NUMERIC;
    const uint8_t *in = data + 4;
    size_t n = size - 4;
    char msg[256];
    if (p.cls == COB_ALNUM) {
        p.digits = (int)n;
        p.length = n;
        char *out = malloc(4 * n + 1);
        if (cob_text_decode(c, &p, in, out, 4 * n + 1, msg, sizeof msg) == 0) {
            unsigned char *back = malloc(n ? n : 1);
            char *again = malloc(4 * n + 1);
            if (cob_text_encode(c, &p, out, strlen(out), 0, back, NULL, msg,
                                sizeof msg) != 0)
                abort();           /* what decodes must encode */
            if (cob_text_decode(c, &p, back, again, 4 * n + 1, msg,
                                sizeof msg) != 0 || strcmp(out, again))
                abort();
            free(back);
            free(again);
        }
        free(out);
    } else {
        p.length = cob_pic_size(&p);
        if (n >= p.length) {
            int64_t v = 12345, v2;
            int s = -1, s2;
            if (cob_num_decode(c, &p, in, &v, &s, msg, sizeof msg) == 0) {
                unsigned char back[32];
                if (cob_num_encode(c, &p, v, s, back, msg, sizeof msg) != 0)
                    abort();
                if (cob_num_decode(c, &p, back, &v2, &s2, msg,
                                   sizeof msg) != 0 || v2 != v || s2 != s)
                    abort();
            } else if (v != 12345 || s != -1) {
                abort();           /* a refusal leaves the output alone */
            }
        }
    }
    whole_record(in, n, c);
    return 0;
}
