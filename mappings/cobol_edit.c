/* cobol_edit.c - numeric-edited pictures: what a mask means, a number
 * edited into it the way a COBOL MOVE does, and the way back (de-editing).
 *
 * The mask is the picture with repeats expanded, one symbol a character:
 * 9 Z * B 0 / , . V + - $, 'L' for the pound sign, "cr" for CR and "db"
 * for DB (so DB's B is not an insertion B).  V takes no byte.  Text here
 * is code points; the codec (cobol_codec.c) turns them into the code
 * page.  Contract: a value is never truncated (the caller has checked
 * that it fits the digit positions), and a field that does not read back
 * as the mask allows is an error naming the byte offset. */
#include "mappings/cobol.h"

#include <stdio.h>
#include <string.h>

/* sym_text - a mask symbol as the picture spells it, for messages */
static const char *sym_text(char c, char b[2])
{
    b[0] = c;
    b[1] = '\0';
    return c == 'L' ? "\u00a3" : c == 'c' ? "CR" : c == 'd' ? "DB" : b;
}

static bool is_insert(char c)
{
    return c == 'B' || c == '0' || c == '/' || c == ',';
}

/* The shape of a mask, worked out once per call (masks are short). */
struct shape {
    char fc;            /* floating symbol, 0 when none */
    int ffirst, flast;  /* first and last position of the floating string */
    char fill;          /* ' ' or '*' for suppressed positions */
    bool nines;         /* some digit position is a 9 */
};

static void shape_of(const char *mask, struct shape *s)
{
    memset(s, 0, sizeof *s);
    s->ffirst = s->flast = -1;
    s->fill = strchr(mask, '*') ? '*' : ' ';
    s->nines = strchr(mask, '9') != NULL;
    static const char floats[] = "+-$L";
    for (const char *f = floats; *f; f++) {
        const char *a = strchr(mask, *f), *b = strrchr(mask, *f);
        if (a && b && a != b) {
            s->fc = *f;
            s->ffirst = (int)(a - mask);
            s->flast = (int)(b - mask);
        }
    }
}

/* digit_pos - does mask position i hold a digit? */
static bool digit_pos(const char *mask, const struct shape *s, int i)
{
    char c = mask[i];
    if (c == '9' || c == 'Z' || c == '*')
        return true;
    return s->fc && c == s->fc && i != s->ffirst;
}

/* cob_edit_analyze - see cobol.h */
int cob_edit_analyze(const char *mask, int *digits, int *scale,
                     bool *is_signed, size_t *length, char *msg,
                     size_t msgsz)
{
    size_t n = strlen(mask);
    int cnt[256] = { 0 };
    for (size_t i = 0; i < n; i++)
        cnt[(unsigned char)mask[i]]++;
    struct shape s;
    shape_of(mask, &s);
    int floats = (cnt['+'] > 1) + (cnt['-'] > 1) + (cnt['$'] > 1) +
                 (cnt['L'] > 1);
    if (floats > 1)
        return cob_fail(msg, msgsz, "more than one floating symbol");
    if (s.fc) {
        for (int i = s.ffirst; i <= s.flast; i++) {
            if (mask[i] != s.fc && !is_insert(mask[i]) && mask[i] != '.' &&
                mask[i] != 'V') {
                char b1[2], b2[2];
                return cob_fail(msg, msgsz, "floating '%s' string broken by "
                             "'%s'", sym_text(s.fc, b1),
                             sym_text(mask[i], b2));
            }
        }
        if (cnt['Z'] || cnt['*'])
            return cob_fail(msg, msgsz, "floating insertion with Z or *");
    }
    if (cnt['Z'] && cnt['*'])
        return cob_fail(msg, msgsz, "both Z and *");
    if (cnt['$'] && cnt['L'])
        return cob_fail(msg, msgsz, "two currency signs");
    for (size_t i = 0; i < n; i++) {
        if ((mask[i] == 'c' && mask[i + 1] != 'r') ||
            (mask[i] == 'd' && mask[i + 1] != 'b'))
            return cob_fail(msg, msgsz, "C and D only as CR and DB");
        if ((mask[i] == 'c' || mask[i] == 'd') && i + 2 != n)
            return cob_fail(msg, msgsz, "CR or DB must end the picture");
    }
    int signs = (cnt['c'] > 0) + (cnt['d'] > 0) +
                (cnt['+'] == 1) + (cnt['-'] == 1) +
                (s.fc == '+' || s.fc == '-');
    if (signs > 1)
        return cob_fail(msg, msgsz, "more than one sign symbol");
    for (size_t i = 0; i < n; i++) {
        char c = mask[i];
        bool fixed_sign = (c == '+' || c == '-') && cnt[(unsigned char)c] == 1;
        if (fixed_sign && i != 0 && i + 1 != n)
            return cob_fail(msg, msgsz, "a fixed '%c' must be first or last", c);
        if ((c == '$' || c == 'L') && cnt[(unsigned char)c] == 1) {
            bool lead = i == 0 || (i == 1 && (mask[0] == '+' || mask[0] == '-'));
            bool trail = i + 1 == n ||
                         (i + 2 == n && (mask[n - 1] == '+' || mask[n - 1] == '-')) ||
                         (i + 3 == n && (mask[n - 2] == 'c' || mask[n - 2] == 'd'));
            if (!lead && !trail)
                return cob_fail(msg, msgsz, "a single currency sign must be "
                             "first or last");
        }
    }
    int dig = 0, sc = 0;
    bool point = false, nine = false;
    for (size_t i = 0; i < n; i++) {
        if (mask[i] == '.' || mask[i] == 'V') {
            if (point)
                return cob_fail(msg, msgsz, "more than one decimal point");
            point = true;
        } else if (digit_pos(mask, &s, (int)i)) {
            if (mask[i] == '9')
                nine = true;
            else if (nine) {
                char b[2];
                return cob_fail(msg, msgsz, "'%s' after a 9",
                             sym_text(mask[i], b));
            }
            dig++;
            if (point)
                sc++;
        }
    }
    if (dig < 1)
        return cob_fail(msg, msgsz, "no digit positions");
    if (dig > COB_MAX_DIGITS)
        return cob_fail(msg, msgsz, "%d digit positions; ferry supports 1 to "
                     "%d", dig, COB_MAX_DIGITS);
    *digits = dig;
    *scale = sc;
    *is_signed = signs > 0;
    *length = n - (size_t)cnt['V'];
    return 0;
}

static uint32_t sym_cp(char c)
{
    return c == 'L' ? 0xA3 : (uint32_t)(unsigned char)c;
}

/* float_sym - what the floating string's symbol shows */
static uint32_t float_sym(char fc, bool neg)
{
    if (fc == '+')
        return neg ? '-' : '+';
    if (fc == '-')
        return neg ? '-' : ' ';
    return sym_cp(fc);
}

/* cob_edit_format - see cobol.h */
void cob_edit_format(const char *mask, const unsigned char *d, int ndig,
                     bool neg, bool blank_zero, uint32_t *out)
{
    struct shape s;
    shape_of(mask, &s);
    bool zero = true;
    for (int k = 0; k < ndig; k++)
        if (d[k])
            zero = false;
    size_t o = 0;
    if (zero && (blank_zero || !s.nines)) {
        /* all digit positions suppressed: spaces, or stars with the point */
        bool stars = !blank_zero && s.fill == '*';
        for (size_t i = 0; mask[i]; i++) {
            if (mask[i] == 'V')
                continue;
            out[o++] = stars ? (mask[i] == '.' ? '.' : '*') : ' ';
        }
        return;
    }
    int k = 0, fp = -1;
    bool sig = false, supp = false;
    for (int i = 0; mask[i]; i++) {
        char c = mask[i];
        uint32_t ch;
        bool starts = false;      /* this position ends suppression */
        if (c == 'V')
            continue;
        if (digit_pos(mask, &s, i)) {
            int dv = d[k++];
            if (c == '9' || sig || dv) {
                starts = !sig;
                ch = (uint32_t)('0' + dv);
            } else {
                ch = c == '*' ? '*' : ' ';
                if (c == s.fc)
                    fp = (int)o;
            }
            if (c != '9')
                supp = true;
        } else if (s.fc && i == s.ffirst) {
            ch = ' ';
            fp = (int)o;
            supp = true;
        } else if (is_insert(c)) {
            ch = c == 'B' ? ' ' : (uint32_t)(unsigned char)c;
            if (supp && !sig) {
                ch = (uint32_t)(unsigned char)s.fill;
                if (s.fc)
                    fp = (int)o;
            }
        } else if (c == '.') {
            starts = !sig;
            ch = '.';
        } else if (c == '+') {
            ch = neg ? '-' : '+';
        } else if (c == '-') {
            ch = neg ? '-' : ' ';
        } else if (c == 'c' || c == 'r' || c == 'd' || c == 'b') {
            ch = neg ? (uint32_t)(c - 'a' + 'A') : ' ';
        } else {
            ch = sym_cp(c);       /* a fixed currency sign */
        }
        if (starts) {
            sig = true;
            if (s.fc && fp >= 0)
                out[fp] = float_sym(s.fc, neg);
        }
        out[o++] = ch;
    }
}

/* cob_edit_parse - see cobol.h */
int cob_edit_parse(const char *mask, const uint32_t *in, unsigned char *d,
                   int ndig, bool *neg, char *msg, size_t msgsz)
{
    struct shape s;
    shape_of(mask, &s);
    size_t len = 0;
    bool blank = true;
    for (int i = 0; mask[i]; i++)
        if (mask[i] != 'V')
            blank = blank && in[len++] == ' ';
    if (blank) {                 /* BLANK WHEN ZERO, or all suppressed */
        memset(d, 0, (size_t)ndig);
        *neg = false;
        return 0;
    }
    int k = 0;
    size_t o = 0;
    bool minus = false;
    for (int i = 0; mask[i]; i++) {
        char c = mask[i];
        if (c == 'V')
            continue;
        uint32_t ch = in[o];
        bool bad = false;
        if (digit_pos(mask, &s, i)) {
            if (k >= ndig)
                return cob_fail(msg, msgsz, "picture has more digits than %d",
                             ndig);
            if (ch >= '0' && ch <= '9') {
                d[k++] = (unsigned char)(ch - '0');
            } else if (c != '9' && (ch == ' ' || ch == '*' ||
                                    (c == s.fc && ch == float_sym(c, false)) ||
                                    (c == s.fc && ch == float_sym(c, true)))) {
                if (c == s.fc && ch == '-' && (c == '+' || c == '-'))
                    minus = true;
                d[k++] = 0;
            } else {
                bad = true;
            }
        } else if (s.fc && i == s.ffirst) {
            if (ch == '-' && (c == '+' || c == '-'))
                minus = true;
            else if (ch != ' ' && ch != float_sym(c, false))
                bad = true;
        } else if (c == '+' || c == '-') {
            if (ch == '-')
                minus = true;
            else if (ch != (c == '+' ? '+' : ' '))
                bad = true;
        } else if (c == 'c' || c == 'd') {
            uint32_t nx = in[o + 1];
            uint32_t up = (uint32_t)(c - 'a' + 'A');
            uint32_t up2 = c == 'c' ? 'R' : 'B';
            if (ch == up && nx == up2)
                minus = true;
            else if (ch != ' ' || nx != ' ')
                bad = true;
        } else if (c == 'r' || c == 'b') {
            /* read with its C or D */
        } else {
            /* insertion, point and fixed currency: as written, or the
             * suppression fill */
            uint32_t lit = c == 'B' ? ' ' : sym_cp(c);
            if (ch != lit && ch != ' ' && ch != '*')
                bad = true;
        }
        if (bad)
            return cob_fail(msg, msgsz, "character U+%04X at +%zu does not fit "
                         "the edited picture", (unsigned)ch, o);
        o++;
    }
    if (k != ndig)
        return cob_fail(msg, msgsz, "picture has %d digit positions, not %d",
                     k, ndig);
    *neg = minus;
    return 0;
}
