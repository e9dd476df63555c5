/* map_transform.c - the transforms a field's text goes through before its
 * type reads it: trim, upper, lower, strip-spaces, default, substring,
 * date (reformat), fold; the newer text and number transforms (rescale,
 * replace, collapse-spaces, control-to-space, postcode) are in
 * map_text.c.  They run in document order (see map_accept.c).
 *
 * Case mapping and folding know ASCII, Latin-1 Supplement, Latin
 * Extended-A and the Welsh letters ẁ ẃ ẅ ỳ (with ŵ ŷ from Extended-A), so
 * Welsh and most European names survive upper-casing and folding without
 * a locale.  map_fold_ascii is shared with the copybook encoder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mappings/mapping.h"
#include "util/utf8.h"

/* U+00C0..U+00FF; NULL = not a letter to fold (× ÷) */
static const char *const fold_latin1[64] = {
    "A", "A", "A", "A", "A", "A", "AE", "C", "E", "E", "E", "E", "I", "I",
    "I", "I", "D", "N", "O", "O", "O", "O", "O", NULL, "O", "U", "U", "U",
    "U", "Y", "TH", "ss",
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i",
    "i", "i", "d", "n", "o", "o", "o", "o", "o", NULL, "o", "u", "u", "u",
    "u", "y", "th", "y",
};

/* U+0100..U+017F Latin Extended-A */
static const char *const fold_exta[128] = {
    "A", "a", "A", "a", "A", "a", "C", "c", "C", "c", "C", "c", "C", "c",
    "D", "d", "D", "d", "E", "e", "E", "e", "E", "e", "E", "e", "E", "e",
    "G", "g", "G", "g", "G", "g", "G", "g", "H", "h", "H", "h", "I", "i",
    "I", "i", "I", "i", "I", "i", "I", "i", "IJ", "ij", "J", "j", "K", "k",
    "k", "L", "l", "L", "l", "L", "l", "L", "l", "L", "l", "N", "n", "N",
    "n", "N", "n", "n", "N", "n", "O", "o", "O", "o", "O", "o", "OE", "oe",
    "R", "r", "R", "r", "R", "r", "S", "s", "S", "s", "S", "s", "S", "s",
    "T", "t", "T", "t", "T", "t", "U", "u", "U", "u", "U", "u", "U", "u",
    "U", "u", "U", "u", "W", "w", "Y", "y", "Y", "Z", "z", "Z", "z", "Z",
    "z", "s",
};

_Static_assert(sizeof fold_exta / sizeof fold_exta[0] == 128,
               "Latin Extended-A table covers U+0100..U+017F");

/* fold_cp - the plain text for cp, or NULL to keep it */
static const char *fold_cp(unsigned cp)
{
    if (cp == 0xA0)
        return " ";
    if (cp >= 0xC0 && cp <= 0xFF)
        return fold_latin1[cp - 0xC0];
    if (cp >= 0x100 && cp <= 0x17F)
        return fold_exta[cp - 0x100];
    switch (cp) {
    case 0x1E80: case 0x1E82: case 0x1E84:
        return "W";
    case 0x1E81: case 0x1E83: case 0x1E85:
        return "w";
    case 0x1EF2:
        return "Y";
    case 0x1EF3:
        return "y";
    }
    return NULL;
}

int map_fold_ascii(const char *in, char **out)
{
    size_t len = strlen(in);
    *out = NULL;
    if (utf8_invalid_at(in, len) >= 0)
        return -1;
    char *o = malloc(len * 2 + 1);   /* a 2-byte letter folds to <= 2 */
    if (!o)
        return -1;
    size_t n = 0;
    const unsigned char *s = (const unsigned char *)in;
    while (*s) {
        uint32_t cp = *s;
        size_t l = utf8_next((const char *)s,
                             len - (size_t)(s - (const unsigned char *)in), &cp);
        if (l == 0)
            l = 1;              /* checked valid above: never taken */
        const char *f = fold_cp(cp);
        if (f) {
            size_t fl = strlen(f);
            memcpy(o + n, f, fl);
            n += fl;
        } else {
            memcpy(o + n, s, l);
            n += l;
        }
        s += l;
    }
    o[n] = '\0';
    *out = o;
    return 0;
}

/* case_cp - upper or lower case of one code point in the ranges we know */
static unsigned case_cp(unsigned c, int upper)
{
    if (c < 0x80) {
        if (upper && c >= 'a' && c <= 'z')
            return c - 32;
        if (!upper && c >= 'A' && c <= 'Z')
            return c + 32;
        return c;
    }
    if (c == 0xFF)
        return upper ? 0x178 : c;
    if (c == 0x178)
        return upper ? c : 0xFF;
    if (c == 0x130)
        return upper ? c : 'i';
    if (c == 0x131)
        return upper ? 'I' : c;
    if (c >= 0xC0 && c <= 0xDE && c != 0xD7)
        return upper ? c : c + 0x20;
    if (c >= 0xE0 && c <= 0xFE && c != 0xF7)
        return upper ? c - 0x20 : c;
    /* pairs: capital at even (or odd) position, small next to it */
    bool even_cap = (c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177) ||
                    (c >= 0x1E80 && c <= 0x1E85) ||
                    (c >= 0x1EF2 && c <= 0x1EF3);
    bool odd_cap = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E);
    if (even_cap)
        return upper ? (c & ~1u) : (c | 1u);
    if (odd_cap) {
        bool is_cap = c & 1u;
        if (upper)
            return is_cap ? c : c - 1;
        return is_cap ? c + 1 : c;
    }
    return c;
}

char *map_case(const char *in, int upper)
{
    size_t len = strlen(in);
    char *o = malloc(len * 2 + 1);   /* ÿ (2 bytes) -> Ÿ (2 bytes); ı->I */
    if (!o)
        return NULL;
    size_t n = 0;
    const unsigned char *s = (const unsigned char *)in;
    while (*s) {
        uint32_t cp;
        size_t l = utf8_next((const char *)s,
                             len - (size_t)(s - (const unsigned char *)in), &cp);
        if (l == 0) {           /* not UTF-8: the byte stays as it is */
            o[n++] = (char)*s++;
            continue;
        }
        n += utf8_put(case_cp(cp, upper), o + n);
        s += l;
    }
    o[n] = '\0';
    return o;
}

/* ascii_only - no byte of s is >= 0x80: folding changes nothing and case
 * mapping can be done in place */
static bool ascii_only(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return false;
    return true;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
           c == '\f';
}

/* replace - swap *text for fresh (may be NULL on nomem) */
static int replace(char **text, char *fresh, char *why, size_t whysz)
{
    if (!fresh) {
        snprintf(why, whysz, "out of memory");
        return -1;
    }
    free(*text);
    *text = fresh;
    return 0;
}

bool map_transform_in_place(const struct map_transform *t, const char *s)
{
    switch (t->op) {
    case MOP_DEFAULT:
        return *s != '\0';          /* only an empty text is replaced */
    case MOP_TRIM:
    case MOP_STRIP_SPACES:
        return true;
    case MOP_UPPER:
    case MOP_LOWER:
    case MOP_FOLD:
        return ascii_only(s);
    case MOP_SUBSTRING:
    case MOP_DATE:
        return false;
    case MOP_RESCALE:
    case MOP_REPLACE:
    case MOP_COLLAPSE_SPACES:
    case MOP_CONTROL_TO_SPACE:
    case MOP_POSTCODE:
        return map_text_in_place(t, s);
    }
    return false;
}

int map_transform_apply(const struct map_transform *t, char **text,
                        char *why, size_t whysz)
{
    char *s = *text;
    if (t->op == MOP_DEFAULT) {
        if (!s || !*s)
            return replace(text, strdup(t->value ? t->value : ""), why,
                           whysz);
        return 0;
    }
    if (!s)
        return 0;
    switch (t->op) {
    case MOP_TRIM: {
        size_t a = 0, b = strlen(s);
        while (a < b && is_space(s[a]))
            a++;
        while (b > a && is_space(s[b - 1]))
            b--;
        memmove(s, s + a, b - a);
        s[b - a] = '\0';
        return 0;
    }
    case MOP_STRIP_SPACES: {
        size_t n = 0;
        for (size_t i = 0; s[i]; i++)
            if (!is_space(s[i]))
                s[n++] = s[i];
        s[n] = '\0';
        return 0;
    }
    case MOP_UPPER:
    case MOP_LOWER:
        if (ascii_only(s)) {
            for (char *q = s; *q; q++)
                if (t->op == MOP_UPPER ? (*q >= 'a' && *q <= 'z')
                                       : (*q >= 'A' && *q <= 'Z'))
                    *q = (char)(*q ^ 0x20);
            return 0;
        }
        return replace(text, map_case(s, t->op == MOP_UPPER), why, whysz);
    case MOP_FOLD: {
        char *o;
        if (ascii_only(s))
            return 0;
        if (map_fold_ascii(s, &o) < 0) {
            snprintf(why, whysz, "invalid UTF-8");
            return -1;
        }
        return replace(text, o, why, whysz);
    }
    case MOP_SUBSTRING:
        return replace(text, map_substring(s, t->start, t->length), why,
                       whysz);
    case MOP_DATE: {
        int64_t days;
        char out[64];
        if (map_date_read(s, t->from, &days) < 0) {
            snprintf(why, whysz, "not a valid date (expected %s)",
                     t->from ? t->from : "YYYY-MM-DD");
            return -1;
        }
        if (map_date_write(days, t->to, out, sizeof out) < 0) {
            snprintf(why, whysz, "date format too long");
            return -1;
        }
        return replace(text, strdup(out), why, whysz);
    }
    case MOP_RESCALE:
    case MOP_REPLACE:
    case MOP_COLLAPSE_SPACES:
    case MOP_CONTROL_TO_SPACE:
    case MOP_POSTCODE:
        return map_text_apply(t, text, why, whysz);
    case MOP_DEFAULT:
        break;
    }
    return 0;
}
