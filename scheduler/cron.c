/* cron.c - five-field cron: parsing, next run in a time zone, catch-up.
 *
 * A parsed schedule is a set of bitmaps.  The next run is found by walking
 * local calendar days forward from the local time of `after`, so the rules
 * for the spring gap and the autumn fold fall out of tz_resolve_local: the
 * wall-clock -> instant map it gives (gap -> transition, fold -> first
 * occurrence) never goes backwards, so the first candidate whose instant
 * is after `after` is the answer.  Searches are bounded (CRON_SEARCH_DAYS),
 * and expressions that never match any date are refused by cron_parse.
 * See cron.h and catchup.h for the contracts. */
#include "scheduler/cron.h"

#include <stdio.h>
#include <string.h>

#include "scheduler/catchup.h"
#include "util/tz.h"
#include "util/errs.h"

struct cron_field {
    const char *name;
    int lo, hi;
    const char *const *names;   /* NULL or (hi-lo+1) three-letter names */
};

static const char *const month_names[] = {
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN",
    "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
};
static const char *const dow_names[] = {
    "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT",
};

static const struct cron_field fields[5] = {
    {"minute", 0, 59, NULL},
    {"hour", 0, 23, NULL},
    {"day-of-month", 1, 31, NULL},
    {"month", 1, 12, month_names},
    {"day-of-week", 0, 7, dow_names},   /* 7 = Sunday too */
};

struct cron_ctx {
    struct errs *e;
    int field;          /* index into fields */
    const char *start;  /* start of the whole expression, for columns */
};

/* field_error - one message naming field and column */
static void field_error(const struct cron_ctx *x, const char *at,
                        const char *msg)
{
    errs_add(x->e, "cron", "%s (field %d) at column %ld: %s",
             fields[x->field].name, x->field + 1, (long)(at - x->start) + 1,
             msg);
}

static int upc(int ch)
{
    return ch >= 'a' && ch <= 'z' ? ch - 'a' + 'A' : ch;
}

/* parse_value - a number or a name at *pp (not past end); -1 on error */
static int parse_value(const struct cron_ctx *x, const char **pp,
                       const char *end, int *out)
{
    const struct cron_field *f = &fields[x->field];
    const char *p = *pp;
    if (p < end && *p >= '0' && *p <= '9') {
        long v = 0;
        while (p < end && *p >= '0' && *p <= '9') {
            v = v * 10 + (*p - '0');
            if (v > 1000)
                break;
            p++;
        }
        if (v < f->lo || v > f->hi) {
            char msg[96];
            snprintf(msg, sizeof msg, "%s%ld is out of range %d-%d",
                     v > 1000 ? "more than " : "", v, f->lo, f->hi);
            field_error(x, *pp, msg);
            return -1;
        }
        *out = (int)v;
        *pp = p;
        return 0;
    }
    if (f->names && end - p >= 3) {
        for (int i = 0; i <= f->hi - f->lo && i < (f->lo == 1 ? 12 : 7); i++) {
            const char *n = f->names[i];
            if (upc(p[0]) == n[0] && upc(p[1]) == n[1] && upc(p[2]) == n[2] &&
                (end - p == 3 || !((p[3] >= 'a' && p[3] <= 'z') ||
                                   (p[3] >= 'A' && p[3] <= 'Z')))) {
                *out = f->lo + i;
                *pp = p + 3;
                return 0;
            }
        }
    }
    const char *q = p;
    while (q < end && *q != '-' && *q != '/' && *q != ',')
        q++;
    char word[32];
    int n = (int)(q - p) < 31 ? (int)(q - p) : 31;
    memcpy(word, p, (size_t)n);
    word[n] = '\0';
    char msg[96];
    if (n == 0)
        snprintf(msg, sizeof msg, "expected a number%s",
                 f->names ? " or a name" : "");
    else
        snprintf(msg, sizeof msg, "'%s' is not a valid %s", word,
                 f->names ? "number or name" : "number");
    field_error(x, p, msg);
    return -1;
}

/* parse_field - one whitespace-free field [p, end) into a bitmap */
static int parse_field(const struct cron_ctx *x, const char *p,
                       const char *end, uint64_t *bits)
{
    const struct cron_field *f = &fields[x->field];
    *bits = 0;
    while (p <= end) {
        int a, b, step = 1;
        if (p == end || *p == ',') {
            field_error(x, p, "empty list item");
            return -1;
        }
        if (*p == '*') {
            a = f->lo;
            b = f->hi == 7 ? 6 : f->hi;
            p++;
        } else {
            if (parse_value(x, &p, end, &a) < 0)
                return -1;
            b = a;
            if (p < end && *p == '-') {
                const char *bat = ++p;
                if (parse_value(x, &p, end, &b) < 0)
                    return -1;
                if (b < a) {
                    char msg[96];
                    snprintf(msg, sizeof msg,
                             "range %d-%d runs backwards", a, b);
                    field_error(x, bat, msg);
                    return -1;
                }
            } else if (p < end && *p == '/') {
                b = f->hi == 7 ? 6 : f->hi;    /* "a/n" = a to the maximum */
            }
        }
        if (p < end && *p == '/') {
            const char *sat = ++p;
            long s = 0;
            if (p == end || *p < '0' || *p > '9') {
                field_error(x, sat, "expected a step number after '/'");
                return -1;
            }
            while (p < end && *p >= '0' && *p <= '9') {
                s = s * 10 + (*p++ - '0');
                if (s > 1000)
                    break;
            }
            if (s < 1 || s > f->hi - f->lo + 1) {
                char msg[96];
                snprintf(msg, sizeof msg, "step %ld is out of range 1-%d", s,
                         f->hi - f->lo + 1);
                field_error(x, sat, msg);
                return -1;
            }
            step = (int)s;
        }
        if (p < end && *p != ',') {
            char msg[64];
            snprintf(msg, sizeof msg, "unexpected '%c'", *p);
            field_error(x, p, msg);
            return -1;
        }
        for (int v = a; v <= b; v += step)
            *bits |= (uint64_t)1 << (f->hi == 7 && v == 7 ? 0 : v);
        if (p == end)
            break;
        p++;    /* the comma */
    }
    return 0;
}

/* cron_matches_day - Vixie day rule, see cron.h */
bool cron_matches_day(const struct cron *c, int64_t y, int month, int mday)
{
    if (!(c->month >> month & 1))
        return false;
    bool dom = c->dom >> mday & 1;
    bool dow = c->dow >> tz_weekday(tz_days_from_civil(y, month, mday)) & 1;
    if (c->dom_star || c->dow_star)
        return dom && dow;
    return dom || dow;
}

/* ever_matches - some date in one 400-year Gregorian cycle matches */
static bool ever_matches(const struct cron *c)
{
    int64_t d0 = tz_days_from_civil(2000, 1, 1);
    for (int64_t i = 0; i < 146097; i++) {
        int64_t y;
        int m, d;
        tz_civil_from_days(d0 + i, &y, &m, &d);
        if (!(c->month >> m & 1)) {
            i += tz_days_in_month(y, m) - d;    /* skip the month */
            continue;
        }
        if (cron_matches_day(c, y, m, d))
            return true;
    }
    return false;
}

static const struct {
    const char *name, *expr;
} macros[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"},
    {"@monthly", "0 0 1 * *"}, {"@weekly", "0 0 * * 0"},
    {"@daily", "0 0 * * *"}, {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t';
}

int cron_parse(const char *expr, struct cron *out, struct errs *e)
{
    memset(out, 0, sizeof *out);
    if (!expr) {
        errs_add(e, "cron", "no cron expression");
        return -1;
    }
    const char *p = expr;
    while (is_space(*p))
        p++;
    if (*p == '@') {
        size_t n = strcspn(p, " \t");
        const char *rest = p + n;
        while (is_space(*rest))
            rest++;
        for (size_t i = 0; i < sizeof macros / sizeof macros[0]; i++) {
            if (strlen(macros[i].name) == n &&
                strncmp(p, macros[i].name, n) == 0 && *rest == '\0')
                return cron_parse(macros[i].expr, out, e);
        }
        errs_add(e, "cron", "column %ld: unknown or misplaced macro '%.*s' "
                 "(@yearly, @monthly, @weekly, @daily, @hourly)",
                 (long)(p - expr) + 1, (int)(n > 20 ? 20 : n), p);
        return -1;
    }
    struct cron_ctx x = {e, 0, expr};
    uint64_t bits[5];
    int nf = 0;
    while (*p) {
        const char *start = p;
        while (*p && !is_space(*p))
            p++;
        if (nf == 5) {
            errs_add(e, "cron", "column %ld: unexpected '%.*s' after the "
                     "5 fields (minute hour day-of-month month day-of-week)",
                     (long)(start - expr) + 1,
                     (int)(p - start > 20 ? 20 : p - start), start);
            return -1;
        }
        x.field = nf;
        if (parse_field(&x, start, p, &bits[nf]) < 0)
            return -1;
        if (nf == 2)
            out->dom_star = *start == '*';
        if (nf == 4)
            out->dow_star = *start == '*';
        nf++;
        while (is_space(*p))
            p++;
    }
    if (nf < 5) {
        errs_add(e, "cron", "column %ld: expected 5 fields (minute hour "
                 "day-of-month month day-of-week), found %d",
                 (long)(p - expr) + 1, nf);
        return -1;
    }
    out->minute = bits[0];
    out->hour = (uint32_t)bits[1];
    out->dom = (uint32_t)bits[2];
    out->month = (uint16_t)bits[3];
    out->dow = (uint8_t)bits[4];
    if (!ever_matches(out)) {
        errs_add(e, "cron", "day-of-month (field 3): the schedule never "
                 "matches a real date (such as February 30)");
        memset(out, 0, sizeof *out);
        return -1;
    }
    return 0;
}

int cron_next(const struct cron *c, const struct tz *z, int64_t after_utc_s,
              int64_t *next_utc_s)
{
    struct tm lt;
    tz_localtime(z, after_utc_s, &lt);
    int64_t d0 = tz_days_from_civil((int64_t)lt.tm_year + 1900,
                                    lt.tm_mon + 1, lt.tm_mday);
    int m0 = lt.tm_hour * 60 + lt.tm_min;
    for (int64_t i = 0; i < CRON_SEARCH_DAYS; i++) {
        int64_t y;
        int mon, mday;
        tz_civil_from_days(d0 + i, &y, &mon, &mday);
        if (!(c->month >> mon & 1)) {
            i += tz_days_in_month(y, mon) - mday;
            continue;
        }
        if (!cron_matches_day(c, y, mon, mday))
            continue;
        for (int h = 0; h < 24; h++) {
            if (!(c->hour >> h & 1) || (i == 0 && h < lt.tm_hour))
                continue;
            for (int mi = 0; mi < 60; mi++) {
                if (!(c->minute >> mi & 1) || (i == 0 && h * 60 + mi < m0))
                    continue;
                struct tm want = {0};
                want.tm_year = (int)(y - 1900);
                want.tm_mon = mon - 1;
                want.tm_mday = mday;
                want.tm_hour = h;
                want.tm_min = mi;
                int64_t first, second;
                /* gap -> first instant after it; fold -> first occurrence */
                tz_resolve_local(z, &want, &first, &second);
                if (first > after_utc_s) {
                    *next_utc_s = first;
                    return 0;
                }
            }
        }
    }
    return -1;
}

/* ---- catch-up (catchup.h) ------------------------------------------- */

int cron_catchup_policy_parse(const char *s, enum cron_catchup_policy *out)
{
    if (!s || strcmp(s, "run") == 0) {
        *out = CRON_CATCHUP_POLICY_RUN;
        return 0;
    }
    if (strcmp(s, "skip") == 0) {
        *out = CRON_CATCHUP_POLICY_SKIP;
        return 0;
    }
    return -1;
}

enum cron_catchup_action cron_catchup(const struct cron *c,
                                      const struct tz *z,
                                      enum cron_catchup_policy policy,
                                      int64_t last_run_utc_s,
                                      int64_t now_utc_s,
                                      int64_t *missed_utc_s,
                                      unsigned *nmissed)
{
    if (missed_utc_s)
        *missed_utc_s = 0;
    if (nmissed)
        *nmissed = 0;
    int64_t t;
    if (last_run_utc_s == CRON_NEVER_RAN || last_run_utc_s >= now_utc_s ||
        cron_next(c, z, last_run_utc_s, &t) < 0 || t > now_utc_s)
        return CRON_CATCHUP_NONE;
    if (missed_utc_s)
        *missed_utc_s = t;
    unsigned n = 0;
    while (n < 1000 && t <= now_utc_s) {
        n++;
        if (cron_next(c, z, t, &t) < 0)
            break;
    }
    if (nmissed)
        *nmissed = n;
    return policy == CRON_CATCHUP_POLICY_SKIP ? CRON_CATCHUP_SKIPPED
                                              : CRON_CATCHUP_RUN_NOW;
}
