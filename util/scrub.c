/* scrub.c - withhold the values back ends echo in their messages.  See
 * scrub.h.  Pure text work on a caller's buffer: no allocation beyond a
 * bounded copy, no global state. */
#include "util/scrub.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define SCRUB_MAX 4096

/* close_paren - index just past the ')' matching the '(' at s[0], or
 * strlen(s) when it never closes (values may hold parentheses) */
static size_t close_paren(const char *s)
{
    int depth = 0;
    size_t i = 0;
    for (; s[i]; i++) {
        if (s[i] == '(')
            depth++;
        else if (s[i] == ')' && --depth == 0)
            return i + 1;
    }
    return i;
}

/* close_quote - index just past the '"' closing the one at s[0] ("" inside
 * is a doubled quote), or strlen(s) */
static size_t close_quote(const char *s)
{
    size_t i = 1;
    for (; s[i]; i++) {
        if (s[i] == '"') {
            if (s[i + 1] == '"') {
                i++;
                continue;
            }
            return i + 1;
        }
    }
    return i;
}

/* The places a value follows, and what encloses it.  Identifiers in
 * PostgreSQL's messages are quoted too ("claims_amount_check"), so only a
 * quote right after one of these phrases is taken for a value. */
struct rule {
    const char *lead;          /* text just before the value */
    char open;                 /* '(' or '"' */
    bool after_colon;          /* lead, a type name, ": ", then the value */
};

static const struct rule rules[] = {
    { "Failing row contains ", '(', false },
    { ")=", '(', false },                  /* Key (col, col)=(value, value) */
    { "invalid input syntax for type ", '"', true },   /* ...date: "x" */
    { "invalid input syntax for ", '"', true },
    { "invalid input value for enum ", '"', true },
    { "value ", '"', false },              /* value "x" is out of range */
};

/* value_after - where rule r's value starts at p (its lead), or NULL */
static const char *value_after(const char *p, const struct rule *r)
{
    p += strlen(r->lead);
    if (r->after_colon) {
        const char *colon = strchr(p, ':');
        if (!colon || colon - p > 64 || colon[1] != ' ' || colon[2] != '"')
            return NULL;
        return colon + 2;
    }
    return *p == r->open ? p : NULL;
}

int scrub_echoed_values(char *msg, size_t msgsz)
{
    char out[SCRUB_MAX];
    size_t o = 0, n = 0;
    const char *s = msg;
    if (!msg || !msgsz)
        return 0;
    while (*s && o + 1 < sizeof out) {
        const char *best = NULL, *val = NULL;
        const struct rule *br = NULL;
        for (size_t k = 0; k < sizeof rules / sizeof rules[0]; k++) {
            const char *p = strstr(s, rules[k].lead);
            while (p) {
                const char *v = value_after(p, &rules[k]);
                if (v) {
                    if (!best || p < best) {
                        best = p;
                        val = v;
                        br = &rules[k];
                    }
                    break;
                }
                p = strstr(p + 1, rules[k].lead);
            }
        }
        if (!best) {
            size_t rest = strlen(s);
            if (rest > sizeof out - 1 - o)
                rest = sizeof out - 1 - o;
            memcpy(out + o, s, rest);
            o += rest;
            break;
        }
        size_t keep = (size_t)(val - s);
        if (keep > sizeof out - 1 - o)
            keep = sizeof out - 1 - o;
        memcpy(out + o, s, keep);
        o += keep;
        size_t vlen = br->open == '(' ? close_paren(val) : close_quote(val);
        int w = snprintf(out + o, sizeof out - o, "%s", SCRUB_WITHHELD);
        if (w > 0)
            o += (size_t)w < sizeof out - o ? (size_t)w : sizeof out - 1 - o;
        s = val + vlen;
        n++;
    }
    out[o] = '\0';
    if (n)
        snprintf(msg, msgsz, "%s", out);
    return (int)n;
}
