/* map_text.c - the transforms and checks a department needs for real forms:
 * exact rescaling of decimals (pounds to pence), regular-expression
 * replace with groups, collapsing white space, control characters to
 * spaces, the UK postcode normaliser, and the <check> elements (pattern,
 * one-of, not-one-of) with their own plain messages.
 *
 * Contract: every function works on valid UTF-8 text (the front door has
 * refused anything else), never quotes the text in a reason (fields may be
 * personal), and bounds what it builds: a replace result is capped at
 * MAP_TEXT_MAX bytes, rescale reads at most 64 characters.  Rescaling is
 * decimal digit arithmetic on the text, so 4.35 is exactly 435 pence and
 * nothing is ever rounded unless the transform says round=. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mappings/map_rx.h"
#include "mappings/mapping.h"

#define MAP_TEXT_MAX ((size_t)1 << 20)
#define RESCALE_MAX_CHARS 64

/* put - append l bytes to the growing out; -1 past the cap or on nomem */
static int put(char **out, size_t *len, size_t *cap, const char *s, size_t l)
{
    if (*len + l + 1 > MAP_TEXT_MAX)
        return -1;
    if (*len + l + 1 > *cap) {
        size_t nc = (*len + l + 1) * 2;
        if (nc > MAP_TEXT_MAX)
            nc = MAP_TEXT_MAX;
        char *nb = realloc(*out, nc);
        if (!nb)
            return -1;
        *out = nb;
        *cap = nc;
    }
    memcpy(*out + *len, s, l);
    *len += l;
    (*out)[*len] = '\0';
    return 0;
}

/* u8_len - bytes in the UTF-8 character starting at s (1 at a bad byte) */
static size_t u8_len(const unsigned char *s)
{
    if (s[0] >= 0xF0 && s[1] && s[2] && s[3])
        return 4;
    if (s[0] >= 0xE0 && s[1] && s[2])
        return 3;
    if (s[0] >= 0xC0 && s[1])
        return 2;
    return 1;
}

/* map_substring - characters [start, start+length) (see mapping.h);
 * here, with the checks that use it, so map_transform.c's substring and
 * this file's checks share one counter without a circle */
char *map_substring(const char *s, long start, long length)
{
    const char *p = s;
    for (long i = 0; i < start && *p; i++) {
        p++;
        while (((unsigned char)*p & 0xC0) == 0x80)
            p++;
    }
    const char *q = p;
    for (long i = 0; (length < 0 || i < length) && *q; i++) {
        q++;
        while (((unsigned char)*q & 0xC0) == 0x80)
            q++;
    }
    return strndup(p, (size_t)(q - p));
}

/* ---- rescale ------------------------------------------------------------ */

/* round_up - add one at the last place of the digit string d (in place,
 * d has room for one more digit at the front: d[-1] is writable) */
static char *round_up(char *d, size_t n)
{
    for (size_t i = n; i-- > 0;) {
        if (d[i] < '9') {
            d[i]++;
            return d;
        }
        d[i] = '0';
    }
    d[-1] = '1';
    return d - 1;
}

/* rescale - *text times 10^t->by, keeping t->scale_to places */
static int rescale(const struct map_transform *t, char **text, char *why,
                   size_t whysz)
{
    const char *s = *text;
    size_t sl = strlen(s);
    if (sl > RESCALE_MAX_CHARS) {
        snprintf(why, whysz, "too long for a number (over %d characters)",
                 RESCALE_MAX_CHARS);
        return -1;
    }
    bool neg = false;
    if (*s == '+' || *s == '-')
        neg = *s++ == '-';
    /* all digits in one string, with the decimal point's position */
    char digits[RESCALE_MAX_CHARS + 40];
    size_t nd = 0, point = (size_t)-1;
    for (; *s; s++) {
        if (*s >= '0' && *s <= '9')
            digits[nd++] = *s;
        else if (*s == '.' && point == (size_t)-1)
            point = nd;
        else
            break;
    }
    if (*s || nd == 0) {
        snprintf(why, whysz, "not a decimal number (expected digits with "
                             "an optional sign and decimal point)");
        return -1;
    }
    if (point == (size_t)-1)
        point = nd;
    /* int part = digits[0, point), fraction = [point, nd); moving the
     * point by t->by may need zeros on either side */
    long p = (long)point + t->by;
    char buf[sizeof digits + 80];
    size_t lead = p < 0 ? (size_t)(-p) : 0;   /* zeros before the digits */
    size_t n = 0;
    buf[n++] = '0';                           /* room for a carry */
    memset(buf + n, '0', lead);
    n += lead;
    memcpy(buf + n, digits, nd);
    n += nd;
    /* buf[1, ipos) integer digits (none when the point moved in front of
     * every digit), buf[ipos, n) fraction, padded to scale_to places */
    size_t ipos = (p < 0 ? 0 : (size_t)p) + 1;
    while (n < ipos)
        buf[n++] = '0';
    size_t keep = ipos + (size_t)t->scale_to;
    while (n < keep)
        buf[n++] = '0';
    bool extra = false, half = false, over_half = false;
    if (n > keep) {
        for (size_t i = keep; i < n; i++)
            if (buf[i] != '0')
                extra = true;
        half = buf[keep] == '5';
        over_half = buf[keep] > '5';
        for (size_t i = keep + 1; half && i < n; i++)
            if (buf[i] != '0')
                over_half = true;
        n = keep;
    }
    char *d = buf + 1;
    size_t dn = n - 1;
    if (extra) {
        bool up = false;
        switch (t->round) {
        case MROUND_NONE:
            snprintf(why, whysz, "has more than %d decimal place%s after "
                     "rescaling by 10^%d, and the mapping allows no "
                     "rounding (round=)", t->scale_to,
                     t->scale_to == 1 ? "" : "s", t->by);
            return -1;
        case MROUND_DOWN:
            break;
        case MROUND_HALF_UP:
            up = half || over_half;
            break;
        case MROUND_HALF_EVEN:
            up = over_half ||
                 (half && dn > 0 && ((d[dn - 1] - '0') & 1));
            break;
        }
        if (up) {
            char *nd2 = round_up(d, dn);
            dn += (size_t)(d - nd2);
            d = nd2;
        }
    }
    size_t int_digits = dn - (size_t)t->scale_to;
    /* drop leading zeros of the integer part, keep one */
    size_t skip = 0;
    while (skip + 1 < int_digits && d[skip] == '0')
        skip++;
    char out[sizeof buf + 4];
    size_t o = 0;
    bool zero = true;
    for (size_t i = skip; i < dn; i++)
        if (d[i] != '0')
            zero = false;
    if (neg && !zero)
        out[o++] = '-';
    memcpy(out + o, d + skip, int_digits - skip);
    o += int_digits - skip;
    if (int_digits == 0)
        out[o++] = '0';
    if (t->scale_to > 0) {
        out[o++] = '.';
        memcpy(out + o, d + int_digits, dn - int_digits);
        o += dn - int_digits;
    }
    out[o] = '\0';
    char *fresh = strdup(out);
    if (!fresh) {
        snprintf(why, whysz, "out of memory");
        return -1;
    }
    free(*text);
    *text = fresh;
    return 0;
}

/* ---- replace ------------------------------------------------------------ */

/* expand - the replacement with \0..\9 filled from the match at base */
static int expand(const char *with, const char *base, const regmatch_t *m,
                  char **out, size_t *len, size_t *cap)
{
    for (const char *w = with; *w; w++) {
        if (*w == '\\' && w[1] >= '0' && w[1] <= '9') {
            int g = w[1] - '0';
            w++;
            if (m[g].rm_so >= 0 &&
                put(out, len, cap, base + m[g].rm_so,
                    (size_t)(m[g].rm_eo - m[g].rm_so)) < 0)
                return -1;
            continue;
        }
        if (*w == '\\' && w[1] == '\\')
            w++;
        if (put(out, len, cap, w, 1) < 0)
            return -1;
    }
    return 0;
}

static int replace_all(const struct map_transform *t, char **text, char *why,
                       size_t whysz)
{
    const char *s = *text;
    size_t sl = strlen(s), pos = 0, len = 0, cap = 0;
    char *out = NULL;
    bool after_match = false;   /* pos is where a non-empty match ended */
    if (put(&out, &len, &cap, "", 0) < 0)
        goto toolong;
    /* at most one match per input position, plus one at the end */
    for (size_t guard = 0; guard <= sl + 1; guard++) {
        regmatch_t m[10];
        if (pos > sl ||
            regexec(&t->re, s + pos, 10, m, pos ? REG_NOTBOL : 0) != 0) {
            if (pos < sl && put(&out, &len, &cap, s + pos, sl - pos) < 0)
                goto toolong;
            break;
        }
        /* as sed: no empty match right where the last match ended */
        bool skip = m[0].rm_so == 0 && m[0].rm_eo == 0 && after_match;
        if (put(&out, &len, &cap, s + pos, (size_t)m[0].rm_so) < 0 ||
            (!skip && expand(t->with ? t->with : "", s + pos, m, &out, &len,
                             &cap) < 0))
            goto toolong;
        after_match = m[0].rm_eo != m[0].rm_so;
        if (m[0].rm_eo == m[0].rm_so) {
            /* an empty match: keep one character and move past it */
            size_t at = pos + (size_t)m[0].rm_so;
            if (at >= sl) {
                pos = sl + 1;
                break;
            }
            size_t cl = u8_len((const unsigned char *)s + at);
            if (put(&out, &len, &cap, s + at, cl) < 0)
                goto toolong;
            pos = at + cl;
        } else {
            pos += (size_t)m[0].rm_eo;
        }
    }
    free(*text);
    *text = out;
    return 0;
toolong:
    free(out);
    snprintf(why, whysz, "replace made a text over %zu bytes (or out of "
                         "memory)", MAP_TEXT_MAX);
    return -1;
}

/* ---- white space, control characters, postcodes ------------------------ */

/* space_len - bytes of the white-space character at s, or 0 */
static size_t space_len(const unsigned char *s)
{
    if (*s == ' ' || (*s >= '\t' && *s <= '\r'))
        return 1;
    if (s[0] == 0xC2 && s[1] == 0xA0)           /* no-break space */
        return 2;
    return 0;
}

static void collapse_spaces(char *s)
{
    unsigned char *r = (unsigned char *)s, *w = r;
    bool pending = false;
    while (*r) {
        size_t l = space_len(r);
        if (l) {
            pending = w != (unsigned char *)s;  /* never at the start */
            r += l;
            continue;
        }
        if (pending)
            *w++ = ' ';
        pending = false;
        *w++ = *r++;
    }
    *w = '\0';
}

static void control_to_space(char *s)
{
    unsigned char *r = (unsigned char *)s, *w = r;
    while (*r) {
        if (*r < 0x20 || *r == 0x7F) {
            *w++ = ' ';
            r++;
        } else if (r[0] == 0xC2 && r[1] >= 0x80 && r[1] <= 0x9F) {
            *w++ = ' ';                          /* C1 controls */
            r += 2;
        } else if (r[0] == 0xE2 && r[1] == 0x80 &&
                   (r[2] == 0xA8 || r[2] == 0xA9)) {
            *w++ = ' ';                          /* line/para separator */
            r += 3;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
}

/* postcode - "s14gf" -> "S1 4GF"; text that is not shaped like a UK
 * postcode once spaces are gone (5 to 7 letters and digits, a letter
 * first, a digit and two letters last) is left as it was, for a check to
 * refuse with its message */
static void postcode(char *s)
{
    char c[8];
    size_t n = 0;
    for (const char *p = s; *p; p++) {
        if (*p == ' ' || *p == '\t')
            continue;
        bool alnum = (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
                     (*p >= 'A' && *p <= 'Z');
        if (!alnum || n == 7)
            return;
        c[n++] = (*p >= 'a' && *p <= 'z') ? (char)(*p - 32) : *p;
    }
    /* the shape of one: outward code from a letter, inward code a digit
     * and two letters */
    bool letter0 = c[0] >= 'A' && c[0] <= 'Z';
    bool inward = n >= 5 && c[n - 3] >= '0' && c[n - 3] <= '9' &&
                  c[n - 2] >= 'A' && c[n - 2] <= 'Z' && c[n - 1] >= 'A' &&
                  c[n - 1] <= 'Z';
    if (!letter0 || !inward)
        return;
    memcpy(s, c, n - 3);
    s[n - 3] = ' ';
    memcpy(s + n - 2, c + n - 3, 3);
    s[n + 1] = '\0';
}

bool map_text_in_place(const struct map_transform *t, const char *s)
{
    switch (t->op) {
    case MOP_COLLAPSE_SPACES:
    case MOP_CONTROL_TO_SPACE:
        return true;
    case MOP_POSTCODE:
        return strlen(s) >= 8;      /* shorter: grown first, see below */
    default:
        return false;
    }
}

int map_text_apply(const struct map_transform *t, char **text, char *why,
                   size_t whysz)
{
    switch (t->op) {
    case MOP_RESCALE:
        return rescale(t, text, why, whysz);
    case MOP_REPLACE:
        return replace_all(t, text, why, whysz);
    case MOP_COLLAPSE_SPACES:
        collapse_spaces(*text);
        return 0;
    case MOP_CONTROL_TO_SPACE:
        control_to_space(*text);
        return 0;
    case MOP_POSTCODE:
        /* "sw1a1aa" needs one byte more than it has */
        if (strlen(*text) < 8) {
            char *grown = realloc(*text, 9);
            if (!grown) {
                snprintf(why, whysz, "out of memory");
                return -1;
            }
            *text = grown;
        }
        postcode(*text);
        return 0;
    default:
        snprintf(why, whysz, "unknown transform");
        return -1;
    }
}

/* ---- checks ------------------------------------------------------------- */

/* list_text - "A, B, C" cut to fit */
static void list_text(const struct map_check *k, char *out, size_t outsz)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < k->nvalues && o + 8 < outsz; i++) {
        int w = snprintf(out + o, outsz - o, "%s%s", i ? ", " : "",
                         k->values[i]);
        if (w < 0 || (size_t)w >= outsz - o) {
            snprintf(out + (outsz > 4 ? outsz - 4 : 0), 4, "...");
            return;
        }
        o += (size_t)w;
    }
}

int map_check_fails(const struct map_check *k, const char *text, char *why,
                    size_t whysz)
{
    char *part = NULL;
    char small[128];
    const char *v = text;
    if (k->start > 0 || k->length >= 0) {
        /* the part looked at, on the stack when it fits (it nearly always
         * does: "the first two letters") */
        const char *p = text;
        for (long i = 0; i < k->start && *p; i++) {
            p++;
            while (((unsigned char)*p & 0xC0) == 0x80)
                p++;
        }
        const char *q = p;
        for (long i = 0; (k->length < 0 || i < k->length) && *q; i++) {
            q++;
            while (((unsigned char)*q & 0xC0) == 0x80)
                q++;
        }
        size_t pl = (size_t)(q - p);
        if (pl < sizeof small) {
            memcpy(small, p, pl);
            small[pl] = '\0';
            v = small;
        } else {
            part = strndup(p, pl);
            if (!part) {
                snprintf(why, whysz, "out of memory");
                return 1;
            }
            v = part;
        }
    }
    bool cut = v != text;
    bool fails = false, found = false;
    switch (k->kind) {
    case MCHK_PATTERN:
        fails = !map_rx_matches(k->rx, &k->re, v);
        break;
    case MCHK_ONE_OF:
    case MCHK_NOT_ONE_OF:
        for (size_t i = 0; i < k->nvalues && !found; i++)
            found = strcmp(k->values[i], v) == 0;
        fails = (k->kind == MCHK_ONE_OF) != found;
        break;
    }
    free(part);
    if (!fails)
        return 0;
    /* "is ..." for the whole text, "characters 1 to 2 are ..." for part:
     * written only for a refusal */
    char what[80] = "";
    if (cut && k->length >= 0)
        snprintf(what, sizeof what, "characters %ld to %ld ", k->start + 1,
                 k->start + k->length);
    else if (cut)
        snprintf(what, sizeof what, "characters from %ld ", k->start + 1);
    if (k->kind == MCHK_PATTERN) {
        snprintf(why, whysz, "%s%s not match pattern %s", what,
                 cut ? "do" : "does", k->pattern);
    } else {
        char list[300];
        list_text(k, list, sizeof list);
        snprintf(why, whysz, "%s%s %s (%s)", what, cut ? "are" : "is",
                 k->kind == MCHK_ONE_OF ? "not one of the allowed values"
                                        : "one of the values not allowed",
                 list);
    }
    return 1;
}
