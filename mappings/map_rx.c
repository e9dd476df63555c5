/* map_rx.c - the subset of POSIX ERE a mapping's patterns use, matched
 * without regexec (see map_rx.h for the contract).
 *
 * The pattern is read once (map_rx_compile) into a list of atoms, each a
 * set of bytes with a count range.  Matching keeps the set of text
 * positions the atoms so far can end at, as bits of a word per 64
 * positions, so it never backtracks: at most atoms x (count + length)
 * word steps, all bounded by the caps below. */
#include "mappings/map_rx.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { RX_MAX_ATOMS = 48, RX_MAX_TEXT = 255, RX_MAX_COUNT = 255 };

struct rx_atom {
    uint8_t set[32];          /* bit b: byte b matches */
    uint16_t min, max;        /* max RX_MAX_COUNT + 1 = no upper bound */
};

static void set_add(uint8_t *set, unsigned b)
{
    set[b >> 3] = (uint8_t)(set[b >> 3] | (1u << (b & 7)));
}

static bool set_has(const uint8_t *set, unsigned char b)
{
    return (set[b >> 3] >> (b & 7)) & 1u;
}

static bool special(char c)
{
    return strchr(".[]()*+?{}|^$\\", c) != NULL;
}

/* bracket - "[...]" at *pp (past the "["), into set; -1 outside the subset */
static int bracket(const char **pp, uint8_t *set)
{
    const unsigned char *p = (const unsigned char *)*pp;
    bool neg = false;
    uint8_t s[32] = { 0 };
    if (*p == '^') {
        neg = true;
        p++;
    }
    bool first = true;
    for (;;) {
        unsigned c = *p;
        if (c == '\0' || c >= 0x80 || c == '\\')
            return -1;
        if (c == ']' && !first)
            break;
        if (c == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '='))
            return -1;
        first = false;
        p++;
        if (*p == '-' && p[1] != ']') {
            unsigned d = p[1];
            if (d == '\0' || d >= 0x80 || d == '\\' || d < c ||
                (d == '[' && (p[2] == ':' || p[2] == '.' || p[2] == '=')))
                return -1;
            for (unsigned b = c; b <= d; b++)
                set_add(s, b);
            p += 2;
            if (*p == '-' && p[1] != ']')
                return -1;          /* "a-c-e": leave it to regcomp's rules */
            continue;
        }
        set_add(s, c);
    }
    p++;                            /* the closing "]" */
    for (size_t i = 0; i < 32; i++)
        set[i] = neg ? (uint8_t)~s[i] : s[i];
    if (neg)
        set[0] &= (uint8_t)~1u;     /* never NUL */
    *pp = (const char *)p;
    return 0;
}

/* number - decimal digits at *pp, at most RX_MAX_COUNT; -1 none or more */
static int number(const char **pp)
{
    const char *p = *pp;
    int n = 0, k = 0;
    while (*p >= '0' && *p <= '9' && k < 4) {
        n = n * 10 + (*p++ - '0');
        k++;
    }
    if (k == 0 || k == 4 || n > RX_MAX_COUNT)
        return -1;
    *pp = p;
    return n;
}

/* count - a quantifier at *pp for atom a, if there is one; -1 bad */
static int count(const char **pp, struct rx_atom *a)
{
    const char *p = *pp;
    switch (*p) {
    case '*':
        a->min = 0;
        a->max = RX_MAX_COUNT + 1;
        p++;
        break;
    case '+':
        a->min = 1;
        a->max = RX_MAX_COUNT + 1;
        p++;
        break;
    case '?':
        a->min = 0;
        a->max = 1;
        p++;
        break;
    case '{': {
        p++;
        int lo = number(&p), hi = lo;
        if (lo < 0)
            return -1;
        if (*p == ',') {
            p++;
            hi = *p == '}' ? RX_MAX_COUNT + 1 : number(&p);
            if (hi < 0 || hi < lo)
                return -1;
        }
        if (*p++ != '}')
            return -1;
        a->min = (uint16_t)lo;
        a->max = (uint16_t)hi;
        break;
    }
    default:
        return 0;
    }
    /* "a**", "a{2}?": glibc's readings of these differ from the obvious */
    if (*p == '*' || *p == '+' || *p == '?' || *p == '{')
        return -1;
    *pp = p;
    return 0;
}

struct map_rx {
    bool head, tail;             /* "^" first, "$" last */
    bool fixed;                  /* anchored, every count exact: byte i of
                                    a match is taken by a known atom */
    size_t flen;                 /* then the length of every match */
    bool greedy;                 /* "^" first, and every atom with a choice
                                    of count shares no byte with the atoms
                                    that may follow it (up to the first
                                    one that must take a byte): each atom
                                    can only take the longest run it may,
                                    so one pass left to right decides */
    size_t na;
    struct rx_atom at[];
};

struct map_rx *map_rx_compile(const char *pattern)
{
    struct rx_atom at[RX_MAX_ATOMS];
    size_t na = 0;
    const char *p = pattern;
    bool head = false, tail = false;
    if (*p == '^') {
        head = true;
        p++;
    }
    while (*p) {
        if (*p == '$' && p[1] == '\0') {
            tail = true;
            break;
        }
        if (na == RX_MAX_ATOMS)
            return NULL;
        struct rx_atom *a = &at[na++];
        memset(a->set, 0, sizeof a->set);
        a->min = a->max = 1;
        unsigned char c = (unsigned char)*p;
        if (c >= 0x80)
            return NULL;
        if (c == '[') {
            p++;
            if (bracket(&p, a->set) < 0)
                return NULL;
        } else if (c == '.') {
            memset(a->set, 0xFF, sizeof a->set);
            a->set[0] &= (uint8_t)~1u;
            p++;
        } else if (c == '\\') {
            unsigned char e = (unsigned char)p[1];
            if (!e || e >= 0x80 || !special((char)e))
                return NULL;        /* \w, \1, \<: GNU's, not literals */
            set_add(a->set, e);
            p += 2;
        } else if (special((char)c)) {
            return NULL;            /* "(", "|", a quantifier with no atom */
        } else {
            set_add(a->set, c);
            p++;
        }
        if (count(&p, a) < 0)
            return NULL;
    }
    struct map_rx *rx = malloc(sizeof *rx + na * sizeof at[0]);
    if (!rx)
        return NULL;
    rx->head = head;
    rx->tail = tail;
    rx->fixed = head && tail;
    rx->flen = 0;
    for (size_t k = 0; k < na; k++) {
        rx->fixed = rx->fixed && at[k].min == at[k].max;
        rx->flen += at[k].min;
    }
    rx->greedy = head;
    for (size_t k = 0; rx->greedy && k < na; k++) {
        if (at[k].min == at[k].max)
            continue;
        for (size_t j = k + 1; rx->greedy && j < na; j++) {
            for (size_t b = 0; b < sizeof at[k].set; b++)
                if (at[k].set[b] & at[j].set[b])
                    rx->greedy = false;
            if (at[j].min > 0)
                break;
        }
    }
    rx->na = na;
    memcpy(rx->at, at, na * sizeof at[0]);
    return rx;
}

void map_rx_free(struct map_rx *rx)
{
    free(rx);
}

enum { RX_WORDS = (RX_MAX_TEXT + 1 + 63) / 64 };

/* shift1 - every position in v moved one on (words w) */
static void shift1(uint64_t *v, size_t w)
{
    for (size_t i = w; i-- > 0;)
        v[i] = v[i] << 1 | (i ? v[i - 1] >> 63 : 0);
}

int map_rx_run(const struct map_rx *rx, const char *text)
{
    size_t len = 0;
    while (text[len]) {
        if ((unsigned char)text[len] >= 0x80 || len == RX_MAX_TEXT)
            return -1;
        len++;
    }
    if (rx->fixed) {
        if (len != rx->flen)
            return 0;
        const unsigned char *t = (const unsigned char *)text;
        for (size_t k = 0; k < rx->na; k++)
            for (unsigned n = 0; n < rx->at[k].min; n++)
                if (!set_has(rx->at[k].set, *t++))
                    return 0;
        return 1;
    }
    if (rx->greedy) {
        /* see struct map_rx: taking fewer than the longest run would
         * leave a byte that no later atom can take */
        const unsigned char *t = (const unsigned char *)text;
        size_t pos = 0;
        for (size_t k = 0; k < rx->na; k++) {
            const struct rx_atom *a = &rx->at[k];
            unsigned n = 0;
            for (; n < a->min; n++, pos++)
                if (pos == len || !set_has(a->set, t[pos]))
                    return 0;
            for (; (a->max > RX_MAX_COUNT || n < a->max) && pos < len &&
                   set_has(a->set, t[pos]); n++)
                pos++;
        }
        return !rx->tail || pos == len ? 1 : 0;
    }
    /* bit i of reach: some way through the atoms so far ends at text[i];
     * positions 0..len, in w words */
    size_t w = len / 64 + 1;
    uint64_t reach[RX_WORDS], cur[RX_WORDS], in[RX_WORDS], next[RX_WORDS];
    uint64_t last = len % 64 == 63 ? ~0ULL : (2ULL << (len % 64)) - 1;
    for (size_t i = 0; i < w; i++)
        reach[i] = rx->head ? (i == 0) : (i + 1 < w ? ~0ULL : last);
    for (size_t k = 0; k < rx->na; k++) {
        const struct rx_atom *a = &rx->at[k];
        /* in: positions whose byte the atom takes */
        memset(in, 0, w * sizeof in[0]);
        for (size_t i = 0; i < len; i++)
            if (set_has(a->set, (unsigned char)text[i]))
                in[i / 64] |= 1ULL << (i % 64);
        memcpy(cur, reach, w * sizeof cur[0]);
        unsigned n = 0;
        for (; n < a->min; n++) {
            uint64_t any = 0;
            for (size_t i = 0; i < w; i++)
                cur[i] &= in[i];
            shift1(cur, w);
            for (size_t i = 0; i < w; i++)
                any |= cur[i];
            if (!any)
                return 0;
        }
        memcpy(next, cur, w * sizeof next[0]);
        /* then up to max - min more, or (no upper bound) until nothing new */
        for (; a->max > RX_MAX_COUNT || n < a->max; n++) {
            uint64_t fresh = 0;
            for (size_t i = 0; i < w; i++)
                cur[i] &= in[i];
            shift1(cur, w);
            for (size_t i = 0; i < w; i++) {
                cur[i] &= ~next[i];
                next[i] |= cur[i];
                fresh |= cur[i];
            }
            if (!fresh)
                break;
        }
        next[w - 1] &= last;
        uint64_t any = 0;
        for (size_t i = 0; i < w; i++)
            any |= reach[i] = next[i];
        if (!any)
            return 0;
    }
    if (rx->tail)
        return (reach[len / 64] >> (len % 64)) & 1u ? 1 : 0;
    return 1;                       /* reach is not empty */
}

int map_rx_match(const char *pattern, const char *text)
{
    struct map_rx *rx = map_rx_compile(pattern);
    if (!rx)
        return -1;
    int rc = map_rx_run(rx, text);
    map_rx_free(rx);
    return rc;
}

bool map_rx_matches(const struct map_rx *rx, const regex_t *re,
                    const char *text)
{
    int rc = rx ? map_rx_run(rx, text) : -1;
    if (rc >= 0)
        return rc == 1;
    return regexec(re, text, 0, NULL, 0) == 0;
}
