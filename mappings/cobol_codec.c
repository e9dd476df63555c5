/* cobol_codec.c - exact encoders and decoders for COBOL fields: text in a
 * code page, zoned decimal (every sign convention), packed decimal
 * (COMP-3) and big-endian binary (COMP, COMP-4, BINARY, COMP-5).
 *
 * Contract: no floating point; no silent truncation of numbers; decoders
 * reject bad bytes with the offset inside the field.  Code page tables
 * are built with iconv once per codec and are read-only afterwards, so a
 * codec may be shared between threads. */
#include "mappings/cobol.h"
#include "util/utf8.h"

#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CP_NONE 0xFFFFFFFFu

struct cob_hi {
    uint32_t cp;
    unsigned char b;
};

struct cob_codec {
    enum cob_codepage page;
    enum cob_overpunch op;
    bool ebcdic;
    uint32_t dec[256];      /* code point of each byte, CP_NONE if none */
    int16_t lo[256];        /* byte for code points < 256, -1 if none */
    struct cob_hi hi[32];   /* code points >= 256 (e.g. the euro) */
    size_t nhi;
    unsigned char space, plus, minus;
};

static const struct {
    enum cob_codepage cp;
    const char *name;      /* ferry's spelling */
    const char *iconv;     /* glibc's */
} pages[] = {
    { COB_CP_ASCII, "ASCII", "ASCII" },
    { COB_CP_IBM285, "IBM-285", "IBM285" },
    { COB_CP_IBM037, "IBM-037", "IBM037" },
    { COB_CP_IBM1146, "IBM-1146", "IBM1146" },
    { COB_CP_IBM1140, "IBM-1140", "IBM1140" },
};

const char *cob_codepage_name(enum cob_codepage cp)
{
    for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++)
        if (pages[i].cp == cp)
            return pages[i].name;
    return "?";
}

/* cob_codepage_parse - accepts "ascii", "IBM-285", "ibm285", "CP285",
 * "285" and the same for 037/37, 1140, 1146. */
int cob_codepage_parse(const char *s, enum cob_codepage *out)
{
    if (!s)
        return -1;
    if (!strcasecmp(s, "ascii") || !strcasecmp(s, "us-ascii")) {
        *out = COB_CP_ASCII;
        return 0;
    }
    const char *p = s;
    if (!strncasecmp(p, "ibm", 3) || !strncasecmp(p, "cp", 2))
        p += (p[0] == 'c' || p[0] == 'C') ? 2 : 3;
    if (*p == '-' || *p == '_')
        p++;
    if (!strcmp(p, "285") || !strcmp(p, "0285"))
        *out = COB_CP_IBM285;
    else if (!strcmp(p, "037") || !strcmp(p, "37"))
        *out = COB_CP_IBM037;
    else if (!strcmp(p, "1146"))
        *out = COB_CP_IBM1146;
    else if (!strcmp(p, "1140"))
        *out = COB_CP_IBM1140;
    else
        return -1;
    return 0;
}

int cob_overpunch_parse(const char *s, enum cob_overpunch *out)
{
    if (!s)
        return -1;
    if (!strcasecmp(s, "ibm") || !strcasecmp(s, "ebcdic"))
        *out = COB_OP_IBM;
    else if (!strcasecmp(s, "gnu") || !strcasecmp(s, "gnucobol") ||
             !strcasecmp(s, "mf") || !strcasecmp(s, "ascii"))
        *out = COB_OP_GNU;
    else
        return -1;
    return 0;
}

/* byte_to_cp - one byte of the code page through iconv, or CP_NONE */
static uint32_t byte_to_cp(iconv_t cd, unsigned char b)
{
    char in[1] = { (char)b };
    unsigned char outb[8];
    char *ip = in, *op = (char *)outb;
    size_t il = 1, ol = sizeof outb;
    iconv(cd, NULL, NULL, NULL, NULL);
    if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1 || ol != 4)
        return CP_NONE;
    return (uint32_t)outb[0] << 24 | (uint32_t)outb[1] << 16 |
           (uint32_t)outb[2] << 8 | outb[3];
}

static int cp_to_byte(const struct cob_codec *c, uint32_t cp)
{
    if (cp < 256)
        return c->lo[cp];
    for (size_t i = 0; i < c->nhi; i++)
        if (c->hi[i].cp == cp)
            return c->hi[i].b;
    return -1;
}

/* cob_codec_new - build both tables of a code page with iconv */
struct cob_codec *cob_codec_new(enum cob_codepage cp, enum cob_overpunch op,
                                char *msg, size_t msgsz)
{
    const char *iname = NULL;
    for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++)
        if (pages[i].cp == cp)
            iname = pages[i].iconv;
    if (!iname) {
        cob_fail(msg, msgsz, "unknown code page %d", (int)cp);
        return NULL;
    }
    struct cob_codec *c = calloc(1, sizeof *c);
    if (!c) {
        cob_fail(msg, msgsz, "out of memory");
        return NULL;
    }
    c->page = cp;
    c->op = op;
    c->ebcdic = cp != COB_CP_ASCII;
    for (int i = 0; i < 256; i++)
        c->lo[i] = -1;
    iconv_t cd = iconv_open("UTF-32BE", iname);
    if (cd == (iconv_t)-1) {
        cob_fail(msg, msgsz, "iconv cannot convert from %s: %s", iname,
             strerror(errno));
        free(c);
        return NULL;
    }
    for (int b = 0; b < 256; b++) {
        uint32_t u = byte_to_cp(cd, (unsigned char)b);
        c->dec[b] = u;
        if (u == CP_NONE)
            continue;
        if (u < 256) {
            if (c->lo[u] < 0)
                c->lo[u] = (int16_t)b;
        } else if (c->nhi < sizeof c->hi / sizeof c->hi[0] &&
                   cp_to_byte(c, u) < 0) {
            c->hi[c->nhi].cp = u;
            c->hi[c->nhi].b = (unsigned char)b;
            c->nhi++;
        }
    }
    iconv_close(cd);
    if (c->lo[' '] < 0 || c->lo['+'] < 0 || c->lo['-'] < 0 ||
        c->lo['0'] < 0) {
        cob_fail(msg, msgsz, "code page %s lacks basic characters", iname);
        free(c);
        return NULL;
    }
    c->space = (unsigned char)c->lo[' '];
    c->plus = (unsigned char)c->lo['+'];
    c->minus = (unsigned char)c->lo['-'];
    return c;
}

void cob_codec_free(struct cob_codec *c)
{
    free(c);
}

bool cob_codec_ebcdic(const struct cob_codec *c)
{
    return c && c->ebcdic;
}

enum cob_codepage cob_codec_page(const struct cob_codec *c)
{
    return c ? c->page : COB_CP_ASCII;
}

int cob_codec_key(const struct cob_codec *c)
{
    return c ? (int)c->page * 16 + (int)c->op : -1;
}

/* cob_pic_size - storage bytes of an elementary item */
size_t cob_pic_size(const struct cob_pic *p)
{
    if (p->edit) {
        size_t n = 0;
        for (const char *m = p->edit; *m; m++)
            n += *m != 'V';
        return n;
    }
    if (p->cls != COB_NUMERIC)
        return (size_t)(p->digits > 0 ? p->digits : 0);
    switch (p->usage) {
    case COB_COMP3:
        return (size_t)p->digits / 2 + 1;
    case COB_BINARY:
    case COB_COMP5:
        return p->digits <= 4 ? 2 : p->digits <= 9 ? 4 : 8;
    case COB_DISPLAY:
    default:
        return (size_t)p->digits +
               (p->is_signed && (p->sign == COB_SIGN_LEADING_SEP ||
                                 p->sign == COB_SIGN_TRAILING_SEP));
    }
}

/* ---- UTF-8 and folding ------------------------------------------------ */

/* Latin-1 Supplement U+00C0..U+00FF folded to ASCII ("" = none). */
static const char *const fold_c0[64] = {
    "A", "A", "A", "A", "A", "A", "AE", "C", "E", "E", "E", "E",
    "I", "I", "I", "I", "D", "N", "O", "O", "O", "O", "O", "x",
    "O", "U", "U", "U", "U", "Y", "TH", "ss",
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e",
    "i", "i", "i", "i", "d", "n", "o", "o", "o", "o", "o", "",
    "o", "u", "u", "u", "u", "y", "th", "y",
};

/* Latin Extended-A U+0100..U+017F: base letter of each (pairs upper,
 * lower); '?' where the letter has no plain spelling. */
static const char ext_a[] =
    "AaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHhHhIiIiIiIiIi??JjKkkLlLlLlLlLl"
    "NnNnNnnNnOoOoOo??RrRrRrSsSsSsSsTtTtTtUuUuUuUuUuUuWwYyYZzZzZzs";
_Static_assert(sizeof ext_a == 129, "one letter per code point");

const char *cob_fold_ascii(uint32_t cp)
{
    static const char *const letters[] = {
        "A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M",
        "N", "O", "P", "Q", "R", "S", "T", "U", "V", "W", "X", "Y", "Z",
        "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m",
        "n", "o", "p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z",
    };
    if (cp < 0x80)
        return NULL;
    if (cp >= 0xC0 && cp <= 0xFF)
        return fold_c0[cp - 0xC0][0] ? fold_c0[cp - 0xC0] : NULL;
    if (cp >= 0x100 && cp <= 0x17F) {
        switch (cp) {
        case 0x132: return "IJ";
        case 0x133: return "ij";
        case 0x152: return "OE";
        case 0x153: return "oe";
        default: break;
        }
        char ch = ext_a[cp - 0x100];
        if (ch >= 'A' && ch <= 'Z')
            return letters[ch - 'A'];
        if (ch >= 'a' && ch <= 'z')
            return letters[26 + ch - 'a'];
        return NULL;
    }
    switch (cp) {
    case 0xA0: return " ";                       /* no-break space */
    case 0xAD: return "-";                       /* soft hyphen */
    case 0x1E80: case 0x1E82: case 0x1E84: return "W";  /* Ẁ Ẃ Ẅ */
    case 0x1E81: case 0x1E83: case 0x1E85: return "w";
    case 0x1EF2: return "Y";                     /* Ỳ */
    case 0x1EF3: return "y";
    case 0x2010: case 0x2011: case 0x2012: case 0x2013: case 0x2014:
    case 0x2212: return "-";
    case 0x2018: case 0x2019: case 0x201A: case 0x2032: return "'";
    case 0x201C: case 0x201D: case 0x201E: case 0x2033: return "\"";
    case 0x2026: return "...";
    case 0x2022: return "*";
    default: return NULL;
    }
}

/* ---- text ------------------------------------------------------------- */

static bool is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 ||
           cp == 0x2029;
}

static bool alpha_ok(uint32_t cp)
{
    return cp == ' ' || (cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z');
}

/* text_pass - convert utf8 to code page bytes; with out == NULL only
 * count.  Bytes before skip are dropped, at most len are stored. */
static int text_pass(const struct cob_codec *c, const struct cob_pic *p,
                     const char *s, size_t n, unsigned flags,
                     unsigned char *out, size_t skip, size_t len,
                     size_t *count, unsigned *what, char *msg, size_t msgsz)
{
    size_t pos = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = utf8_next(s + i, n - i, &cp);
        if (k == 0)
            return cob_fail(msg, msgsz, "invalid UTF-8 at byte %zu of the value",
                        i);
        if (is_control(cp))
            return cob_fail(msg, msgsz, "control character U+%04X not allowed",
                        (unsigned)cp);
        int b = cp_to_byte(c, cp);
        const char *alt = NULL;
        if (b < 0 || (p->cls == COB_ALPHA && !alpha_ok(cp))) {
            if (flags & COB_TX_FOLD)
                alt = cob_fold_ascii(cp);
            if (!alt) {
                if (b >= 0)
                    return cob_fail(msg, msgsz, "character '%.*s' (U+%04X) is "
                                "not a letter (PIC A)", (int)k, s + i,
                                (unsigned)cp);
                return cob_fail(msg, msgsz, "character '%.*s' (U+%04X) cannot "
                            "be written in %s", (int)k, s + i, (unsigned)cp,
                            cob_codepage_name(c->page));
            }
            if (what)
                *what |= COB_TX_FOLDED;
        }
        const char *a = alt;
        do {
            uint32_t ch = a ? (unsigned char)*a : cp;
            int bb = a ? cp_to_byte(c, ch) : b;
            if (bb < 0 || (p->cls == COB_ALPHA && !alpha_ok(ch)))
                return cob_fail(msg, msgsz, "character '%.*s' (U+%04X) cannot "
                            "be written in %s", (int)k, s + i, (unsigned)cp,
                            cob_codepage_name(c->page));
            if (out && pos >= skip && pos - skip < len)
                out[pos - skip] = (unsigned char)bb;
            pos++;
        } while (a && *++a);
        i += k;
    }
    *count = pos;
    return 0;
}

/* cob_text_encode - see cobol.h */
int cob_text_encode(const struct cob_codec *c, const struct cob_pic *p,
                    const char *utf8, size_t n, unsigned flags,
                    unsigned char *out, unsigned *what,
                    char *msg, size_t msgsz)
{
    size_t len = p->length, count = 0, skip = 0;
    unsigned w = 0;
    if (n <= len && p->cls != COB_ALPHA) {
        /* printable ASCII that fits, the common case: one table pass */
        size_t pad = len - n;
        unsigned char *dst = p->justified ? out + pad : out;
        size_t i = 0;
        for (; i < n; i++) {
            unsigned char ch = (unsigned char)utf8[i];
            if (ch < 0x20 || ch > 0x7E || c->lo[ch] < 0)
                break;
            dst[i] = (unsigned char)c->lo[ch];
        }
        if (i == n) {
            memset(p->justified ? out : out + n, c->space, pad);
            if (what)
                *what = 0;
            return 0;
        }
    }
    if (text_pass(c, p, utf8, n, flags, NULL, 0, 0, &count, &w, msg,
                  msgsz) < 0)
        return -1;
    if (count > len) {
        if (!(flags & COB_TX_TRUNCATE))
            return cob_fail(msg, msgsz, "value is %zu characters, field holds "
                        "%zu", count, len);
        w |= COB_TX_TRUNCATED;
        if (p->justified)
            skip = count - len;      /* COBOL drops the leftmost */
        count = len;
    }
    size_t pad = len - count;
    unsigned char *dst = p->justified ? out + pad : out;
    memset(p->justified ? out : out + count, c->space, pad);
    if (text_pass(c, p, utf8, n, flags, dst, skip, count, &count, NULL,
                  msg, msgsz) < 0)
        return -1;
    if (what)
        *what = w;
    return 0;
}

/* cob_text_encode_var - see cobol.h */
int cob_text_encode_var(const struct cob_codec *c, const char *utf8, size_t n,
                        unsigned flags, unsigned char *out, size_t outsz,
                        size_t *outn, unsigned *what, char *msg, size_t msgsz)
{
    struct cob_pic p = { .cls = COB_ALNUM };
    size_t count = 0;
    unsigned w = 0;
    if (text_pass(c, &p, utf8, n, flags, NULL, 0, 0, &count, &w, msg,
                  msgsz) < 0)
        return -1;
    if (count > outsz)
        return cob_fail(msg, msgsz, "value is %zu characters, at most %zu fit",
                    count, outsz);
    if (text_pass(c, &p, utf8, n, flags, out, 0, count, &count, NULL, msg,
                  msgsz) < 0)
        return -1;
    *outn = count;
    if (what)
        *what = w;
    return 0;
}

/* decode_run - n bytes to UTF-8; offsets in messages count from base */
static int decode_run(const struct cob_codec *c, const unsigned char *in,
                      size_t n, size_t base, char *out, size_t outsz,
                      char *msg, size_t msgsz)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t cp = c->dec[in[i]];
        if (cp == CP_NONE || is_control(cp))
            return cob_fail(msg, msgsz, "byte 0x%02X at +%zu is not text in %s",
                        in[i], base + i, cob_codepage_name(c->page));
        if (o + 5 > outsz)
            return cob_fail(msg, msgsz, "text too long for buffer");
        o += utf8_put(cp, out + o);
    }
    if (outsz == 0)
        return cob_fail(msg, msgsz, "no buffer");
    out[o] = '\0';
    return 0;
}

/* cob_text_decode_var - see cobol.h */
int cob_text_decode_var(const struct cob_codec *c, const unsigned char *in,
                        size_t n, char *out, size_t outsz, char *msg,
                        size_t msgsz)
{
    return decode_run(c, in, n, 0, out, outsz, msg, msgsz);
}

/* cob_codec_byte - see cobol.h */
int cob_codec_byte(const struct cob_codec *c, uint32_t cp)
{
    return cp_to_byte(c, cp);
}

/* cob_text_decode - see cobol.h */
int cob_text_decode(const struct cob_codec *c, const struct cob_pic *p,
                    const unsigned char *in, char *out, size_t outsz,
                    char *msg, size_t msgsz)
{
    size_t a = 0, b = p->length;
    while (b > a && in[b - 1] == c->space)
        b--;
    if (p->justified)
        while (a < b && in[a] == c->space)
            a++;
    return decode_run(c, in + a, b - a, a, out, outsz, msg, msgsz);
}

/* ---- numbers ---------------------------------------------------------- */

static int check_pic(const struct cob_pic *p, char *msg, size_t msgsz)
{
    if (p->cls != COB_NUMERIC)
        return cob_fail(msg, msgsz, "not a numeric field");
    int most = p->usage == COB_BINARY || p->usage == COB_COMP5
               ? COB_MAX_BINARY_DIGITS : COB_MAX_DIGITS;
    if (p->digits < 1 || p->digits > most)
        return cob_fail(msg, msgsz, "%d digits not supported (1 to %d)",
                    p->digits, most);
    if (p->scale < -COB_MAX_DIGITS || p->scale > COB_MAX_DIGITS ||
        p->digits - p->scale > DEC128_MAX_DIGITS)
        return cob_fail(msg, msgsz, "scale %d not supported", p->scale);
    return 0;
}

/* rescale - magnitude at scale from to scale to, exactly */
static int rescale(udec128 *m, int from, int to, char *msg, size_t msgsz)
{
    int d = from - to;
    if (d > 0) {
        if (d > DEC128_MAX_DIGITS) {
            if (*m)
                return cob_fail(msg, msgsz, "value has more decimal places "
                            "than the PIC holds (%d)", to);
            return 0;
        }
        udec128 q = dec128_pow10(d);
        if (*m % q)
            return cob_fail(msg, msgsz, "value has more decimal places than "
                        "the PIC holds (%d)", to);
        *m /= q;
    } else if (d < 0 && *m) {
        if (-d > DEC128_MAX_DIGITS ||
            *m >= dec128_pow10(DEC128_MAX_DIGITS) / dec128_pow10(-d))
            return cob_fail(msg, msgsz, "value too large for the PIC");
        *m *= dec128_pow10(-d);
    }
    return 0;
}

/* mag_digits - the nd lowest decimal digits of m, most significant first
 * (values 0..9); int64-sized magnitudes take the cheap path */
static void mag_digits(udec128 m, int nd, unsigned char *d)
{
    int i = nd;
    if (m <= UINT64_MAX) {
        uint64_t u = (uint64_t)m;
        while (i > 0) {
            d[--i] = (unsigned char)(u % 10);
            u /= 10;
        }
        return;
    }
    while (i > 0) {
        d[--i] = (unsigned char)(m % 10);
        m /= 10;
    }
}

static const char op_ibm_pos[] = "{ABCDEFGHI";
static const char op_ibm_neg[] = "}JKLMNOPQR";

static unsigned char zoned_digit(const struct cob_codec *c, int d)
{
    return (unsigned char)((c->ebcdic ? 0xF0 : 0x30) | d);
}

static unsigned char overpunch(const struct cob_codec *c, int d, bool neg)
{
    if (c->ebcdic)
        return (unsigned char)((neg ? 0xD0 : 0xC0) | d);
    if (c->op == COB_OP_GNU)
        return (unsigned char)((neg ? 0x70 : 0x30) | d);
    return (unsigned char)(neg ? op_ibm_neg[d] : op_ibm_pos[d]);
}

/* edited_encode - a numeric-edited field, through the code page */
static int edited_encode(const struct cob_codec *c, const struct cob_pic *p,
                         udec128 m, bool neg, unsigned char *out,
                         char *msg, size_t msgsz)
{
    unsigned char d[COB_MAX_DIGITS];
    uint32_t cps[256];
    if (p->length > sizeof cps / sizeof cps[0])
        return cob_fail(msg, msgsz, "edited picture longer than %zu",
                    sizeof cps / sizeof cps[0]);
    mag_digits(m, p->digits, d);
    cob_edit_format(p->edit, d, p->digits, neg, p->blank_zero, cps);
    for (size_t i = 0; i < p->length; i++) {
        int b = cp_to_byte(c, cps[i]);
        if (b < 0) {
            char u[8];
            u[utf8_put(cps[i], u)] = '\0';
            return cob_fail(msg, msgsz, "character '%s' (U+%04X) cannot be "
                        "written in %s", u, (unsigned)cps[i],
                        cob_codepage_name(c->page));
        }
        out[i] = (unsigned char)b;
    }
    return 0;
}

/* cob_num_encode_wide - see cobol.h */
int cob_num_encode_wide(const struct cob_codec *c, const struct cob_pic *p,
                        dec128 v, int vscale, unsigned char *out,
                        char *msg, size_t msgsz)
{
    if (check_pic(p, msg, msgsz) < 0)
        return -1;
    if (vscale < 0 || vscale > DEC128_MAX_DIGITS)
        return cob_fail(msg, msgsz, "value scale %d not supported", vscale);
    bool neg = v < 0;
    udec128 m = neg ? (udec128)0 - (udec128)v : (udec128)v;
    if (rescale(&m, vscale, p->scale, msg, msgsz) < 0)
        return -1;
    if (m == 0)
        neg = false;
    if (neg && !p->is_signed)
        return cob_fail(msg, msgsz, "negative value for an unsigned PIC");
    size_t size = p->length;
    if (p->usage == COB_COMP5) {
        unsigned bits = (unsigned)size * 8;
        uint64_t cap = p->is_signed ? (1ULL << (bits - 1)) - 1 + neg
                                    : (bits == 64 ? UINT64_MAX
                                                  : (1ULL << bits) - 1);
        if (m > cap)
            return cob_fail(msg, msgsz, "value too large for %zu-byte COMP-5",
                        size);
    } else if (m >= dec128_pow10(p->digits)) {
        return cob_fail(msg, msgsz, "value has more than %d digits", p->digits);
    }
    if (p->edit)
        return edited_encode(c, p, m, neg, out, msg, msgsz);
    unsigned char dg[2 * COB_MAX_DIGITS + 2];
    switch (p->usage) {
    case COB_DISPLAY: {
        if (p->blank_zero && m == 0) {
            memset(out, c->space, size);
            return 0;
        }
        unsigned char *d = out;
        if (p->is_signed && p->sign == COB_SIGN_LEADING_SEP)
            *d++ = neg ? c->minus : c->plus;
        mag_digits(m, p->digits, dg);
        for (int i = 0; i < p->digits; i++)
            d[i] = zoned_digit(c, dg[i]);
        if (p->is_signed) {
            if (p->sign == COB_SIGN_TRAILING_SEP)
                d[p->digits] = neg ? c->minus : c->plus;
            else if (p->sign == COB_SIGN_TRAILING)
                d[p->digits - 1] = overpunch(c, dg[p->digits - 1], neg);
            else if (p->sign == COB_SIGN_LEADING)
                d[0] = overpunch(c, dg[0], neg);
        }
        return 0;
    }
    case COB_COMP3: {
        unsigned char sign = p->is_signed ? (neg ? 0x0D : 0x0C) : 0x0F;
        int nd = (int)size * 2 - 1;
        mag_digits(m, nd, dg);
        for (size_t i = 0; i + 1 < size; i++)
            out[i] = (unsigned char)(dg[2 * i] << 4 | dg[2 * i + 1]);
        out[size - 1] = (unsigned char)(dg[nd - 1] << 4 | sign);
        return 0;
    }
    case COB_BINARY:
    case COB_COMP5: {
        uint64_t u = neg ? (uint64_t)0 - (uint64_t)m : (uint64_t)m;
        for (size_t i = size; i-- > 0;) {
            out[i] = (unsigned char)(u & 0xFF);
            u >>= 8;
        }
        return 0;
    }
    }
    return cob_fail(msg, msgsz, "unknown usage");
}

int cob_num_encode(const struct cob_codec *c, const struct cob_pic *p,
                   int64_t v, int vscale, unsigned char *out,
                   char *msg, size_t msgsz)
{
    return cob_num_encode_wide(c, p, (dec128)v, vscale, out, msg, msgsz);
}

/* zoned_sign - an overpunched byte: digit and sign; -1 when not one */
static int zoned_sign(const struct cob_codec *c, unsigned char b, int *d,
                      bool *neg)
{
    if (c->ebcdic) {
        unsigned z = b >> 4, n = b & 0x0F;
        if (n > 9)
            return -1;
        *d = (int)n;
        if (z == 0xC || z == 0xF || z == 0xA || z == 0xE)
            *neg = false;
        else if (z == 0xD || z == 0xB)
            *neg = true;
        else
            return -1;
        return 0;
    }
    if (b >= '0' && b <= '9') {
        *d = b - '0';
        *neg = false;
        return 0;
    }
    if (b >= 0x70 && b <= 0x79) {
        *d = b - 0x70;
        *neg = true;
        return 0;
    }
    const char *q;
    if (b && (q = strchr(op_ibm_pos, b)) != NULL) {
        *d = (int)(q - op_ibm_pos);
        *neg = false;
        return 0;
    }
    if (b && (q = strchr(op_ibm_neg, b)) != NULL) {
        *d = (int)(q - op_ibm_neg);
        *neg = true;
        return 0;
    }
    return -1;
}

/* edited_decode - de-edit a numeric-edited field */
static int edited_decode(const struct cob_codec *c, const struct cob_pic *p,
                         const unsigned char *in, udec128 *m, bool *neg,
                         char *msg, size_t msgsz)
{
    uint32_t cps[256];
    unsigned char d[COB_MAX_DIGITS];
    if (p->length > sizeof cps / sizeof cps[0])
        return cob_fail(msg, msgsz, "edited picture longer than %zu",
                    sizeof cps / sizeof cps[0]);
    for (size_t i = 0; i < p->length; i++) {
        cps[i] = c->dec[in[i]];
        if (cps[i] == CP_NONE)
            return cob_fail(msg, msgsz, "byte 0x%02X at +%zu is not text in %s",
                        in[i], i, cob_codepage_name(c->page));
    }
    if (cob_edit_parse(p->edit, cps, d, p->digits, neg, msg, msgsz) < 0)
        return -1;
    udec128 v = 0;
    for (int i = 0; i < p->digits; i++)
        v = v * 10 + d[i];
    *m = v;
    if (v == 0)
        *neg = false;
    if (*neg && !p->is_signed)
        return cob_fail(msg, msgsz, "negative value in an unsigned picture");
    return 0;
}

/* cob_num_decode_wide - see cobol.h */
int cob_num_decode_wide(const struct cob_codec *c, const struct cob_pic *p,
                        const unsigned char *in, dec128 *v, int *vscale,
                        char *msg, size_t msgsz)
{
    if (check_pic(p, msg, msgsz) < 0)
        return -1;
    size_t size = p->length;
    udec128 m = 0;
    bool neg = false;
    if (p->edit) {
        if (edited_decode(c, p, in, &m, &neg, msg, msgsz) < 0)
            return -1;
        goto scaled;
    }
    switch (p->usage) {
    case COB_DISPLAY: {
        if (p->blank_zero) {
            size_t i = 0;
            while (i < size && in[i] == c->space)
                i++;
            if (i == size)
                break;
        }
        const unsigned char *d = in;
        int signpos = -1;
        if (p->is_signed) {
            if (p->sign == COB_SIGN_LEADING_SEP || p->sign == COB_SIGN_TRAILING_SEP) {
                size_t sp = p->sign == COB_SIGN_LEADING_SEP ? 0 : size - 1;
                if (in[sp] == c->minus)
                    neg = true;
                else if (in[sp] != c->plus)
                    return cob_fail(msg, msgsz, "bad sign byte 0x%02X at +%zu",
                                in[sp], sp);
                if (sp == 0)
                    d++;
            } else {
                signpos = p->sign == COB_SIGN_LEADING ? 0 : p->digits - 1;
            }
        }
        size_t base = (size_t)(d - in);
        uint64_t lo = 0;
        for (int i = 0; i < p->digits; i++) {
            int dig;
            if (i == signpos) {
                bool n = false;
                if (zoned_sign(c, d[i], &dig, &n) < 0)
                    return cob_fail(msg, msgsz, "bad sign or digit 0x%02X at "
                                "+%zu", d[i], base + (size_t)i);
                neg = n;
            } else {
                unsigned char zero = c->ebcdic ? 0xF0 : 0x30;
                if (d[i] < zero || d[i] > zero + 9) {
                    /* unsigned EBCDIC fields may carry a C zone last */
                    if (c->ebcdic && !p->is_signed && i == p->digits - 1 &&
                        (d[i] & 0xF0) == 0xC0 && (d[i] & 0x0F) <= 9) {
                        dig = d[i] & 0x0F;
                    } else {
                        return cob_fail(msg, msgsz, "non-digit 0x%02X at +%zu",
                                    d[i], base + (size_t)i);
                    }
                } else {
                    dig = d[i] - zero;
                }
            }
            if (p->digits <= 18)
                lo = lo * 10 + (uint64_t)dig;
            else
                m = m * 10 + (unsigned)dig;
        }
        if (p->digits <= 18)
            m = lo;
        break;
    }
    case COB_COMP3: {
        for (size_t i = 0; i < size; i++) {
            unsigned hi = in[i] >> 4, lo = in[i] & 0x0F;
            if (hi > 9)
                return cob_fail(msg, msgsz, "bad packed digit 0x%02X at +%zu",
                            in[i], i);
            m = m * 10 + hi;
            if (i + 1 < size) {
                if (lo > 9)
                    return cob_fail(msg, msgsz, "bad packed digit 0x%02X at "
                                "+%zu", in[i], i);
                m = m * 10 + lo;
            } else if (lo == 0xD || lo == 0xB) {
                if (!p->is_signed)
                    return cob_fail(msg, msgsz, "negative sign nibble %X at +%zu "
                                "in an unsigned field", lo, i);
                neg = true;
            } else if (lo < 0xA) {
                return cob_fail(msg, msgsz, "bad sign nibble %X at +%zu", lo, i);
            }
            /* A, C, E, F are positive, as the hardware reads them */
        }
        if (m >= dec128_pow10(p->digits))
            return cob_fail(msg, msgsz, "packed value has more than %d digits",
                        p->digits);
        break;
    }
    case COB_BINARY:
    case COB_COMP5: {
        uint64_t u = 0;
        for (size_t i = 0; i < size; i++)
            u = u << 8 | in[i];
        unsigned bits = (unsigned)size * 8;
        if (p->is_signed && bits < 64 && (u >> (bits - 1)) & 1)
            u |= ~0ULL << bits;           /* sign-extend */
        if (p->is_signed && (int64_t)u < 0) {
            neg = true;
            m = (uint64_t)0 - u;
        } else {
            m = u;
        }
        if (p->usage == COB_BINARY && m >= dec128_pow10(p->digits))
            return cob_fail(msg, msgsz, "binary value exceeds PIC (%d digits)",
                        p->digits);
        break;
    }
    default:
        return cob_fail(msg, msgsz, "unknown usage");
    }
scaled:;
    int sc = p->scale;
    if (sc < 0) {
        if (rescale(&m, sc, 0, msg, msgsz) < 0)
            return -1;
        sc = 0;
    }
    *v = neg ? -(dec128)m : (dec128)m;
    *vscale = sc;
    return 0;
}

int cob_num_decode(const struct cob_codec *c, const struct cob_pic *p,
                   const unsigned char *in, int64_t *v, int *vscale,
                   char *msg, size_t msgsz)
{
    dec128 w;
    int sc;                     /* a refusal leaves *v and *vscale alone */
    if (cob_num_decode_wide(c, p, in, &w, &sc, msg, msgsz) < 0)
        return -1;
    if (!dec128_fits64(w))
        return cob_fail(msg, msgsz, "value out of range (more than 18 digits)");
    *v = (int64_t)w;
    *vscale = sc;
    return 0;
}

void cob_fill_spaces(const struct cob_codec *c, unsigned char *out, size_t n)
{
    memset(out, c ? c->space : ' ', n);
}

/* cob_fill_default - spaces for text, zero in the field's usage */
void cob_fill_default(const struct cob_codec *c, const struct cob_pic *p,
                      unsigned char *out)
{
    if (p->cls == COB_NUMERIC &&
        cob_num_encode(c, p, 0, 0, out, NULL, 0) == 0)
        return;
    memset(out, c->space, p->length);
}
