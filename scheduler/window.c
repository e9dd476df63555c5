/* window.c - delivery windows: parse "Mon-Fri 07:00-20:00 Europe/London",
 * answer "open now?" and "when does it open next?".
 *
 * A window is a list of (days, start, end) ranges in wall-clock minutes,
 * a zone and a sorted list of closed dates.  "Open" is decided from the
 * local time, so clock changes need no special code; the next opening is
 * found among range starts (resolved through tz_resolve_local) and offset
 * changes, walking local days forward for at most WINDOW_SEARCH_DAYS.
 * See window.h for the contract. */
#include "scheduler/window.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/tz.h"
#include "util/errs.h"

#define WINDOW_DEFAULT_TZ "Europe/London"
#define WINDOW_MAX_RANGES 64
#define WINDOW_MAX_SPEC 1024

struct window_range {
    uint8_t days;           /* bit n = weekday n, 0 = Sunday */
    int start, end;         /* minutes after midnight; end <= start: next day */
};

struct window {
    char *spec;
    struct tz *tz;
    struct window_range r[WINDOW_MAX_RANGES];
    size_t nr;
    int64_t *hol;           /* sorted days since the epoch */
    size_t nhol;
};

static const char *const day_names[7] = {
    "sunday", "monday", "tuesday", "wednesday", "thursday", "friday",
    "saturday",
};

static int lc(int ch)
{
    return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch;
}

/* day_word - weekday of a 3-letter or full name in [p, p+n); -1 if none */
static int day_word(const char *p, size_t n)
{
    for (int d = 0; d < 7; d++) {
        size_t full = strlen(day_names[d]);
        if (n != 3 && n != full)
            continue;
        size_t i = 0;
        while (i < n && lc(p[i]) == day_names[d][i])
            i++;
        if (i == n)
            return d;
    }
    return -1;
}

/* parse_days - "Mon" or "Fri-Mon" into a bitmask; 0 if not days */
static uint8_t parse_days(const char *p, size_t n)
{
    const char *dash = memchr(p, '-', n);
    if (!dash) {
        int d = day_word(p, n);
        return d < 0 ? 0 : (uint8_t)(1u << d);
    }
    int a = day_word(p, (size_t)(dash - p));
    int b = day_word(dash + 1, n - (size_t)(dash - p) - 1);
    if (a < 0 || b < 0)
        return 0;
    uint8_t m = 0;
    for (int d = a;; d = (d + 1) % 7) {
        m |= (uint8_t)(1u << d);
        if (d == b)
            break;
    }
    return m;
}

/* parse_hhmm - "7:00" / "07:00" / "24:00" at p; -1 if not a time */
static int parse_hhmm(const char *p, size_t n)
{
    size_t i = 0;
    int h = 0, m = 0;
    while (i < n && i < 2 && p[i] >= '0' && p[i] <= '9')
        h = h * 10 + (p[i++] - '0');
    if (i == 0 || i >= n || p[i] != ':' || n - i - 1 != 2)
        return -1;
    const char *q = p + i + 1;
    if (q[0] < '0' || q[0] > '9' || q[1] < '0' || q[1] > '9')
        return -1;
    m = (q[0] - '0') * 10 + (q[1] - '0');
    if (h > 24 || m > 59 || (h == 24 && m != 0))
        return -1;
    return h * 60 + m;
}

/* looks_like_time - contains a ':' so errors say "bad time", not "zone" */
static bool looks_like_time(const char *p, size_t n)
{
    return memchr(p, ':', n) != NULL;
}

/* parse_date - strict YYYY-MM-DD into days since the epoch; 0 ok */
static int parse_date(const char *s, int64_t *days)
{
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return -1;
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
            (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    int d = (s[8] - '0') * 10 + (s[9] - '0');
    if (m < 1 || m > 12 || d < 1 || d > tz_days_in_month(y, m))
        return -1;
    *days = tz_days_from_civil(y, m, d);
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static bool is_sep(char ch)
{
    return ch == ' ' || ch == '\t' || ch == ';' || ch == ',';
}

/* parse_ranges - the tokens of spec; errors added, returns problem count */
static int parse_ranges(struct window *w, const char *spec, struct errs *e)
{
    int bad = 0;
    uint8_t days = 0;
    bool days_used = false;
    long days_col = 0;
    const char *zone = NULL;
    size_t zone_len = 0;
    long zone_col = 0;
    const char *p = spec;
    while (*p) {
        while (*p && is_sep(*p))
            p++;
        if (!*p)
            break;
        const char *tok = p;
        while (*p && !is_sep(*p))
            p++;
        size_t n = (size_t)(p - tok);
        long col = (long)(tok - spec) + 1;
        if (zone) {
            errs_add(e, "window", "column %ld: '%.*s' is not a day or a time "
                     "range (a time zone may only come last)", zone_col,
                     (int)zone_len, zone);
            bad++;
            zone = NULL;
        }
        uint8_t dm = parse_days(tok, n);
        if (dm) {
            if (days_used || !days) {
                days = 0;
                days_used = false;
                days_col = col;
            }
            days |= dm;
            continue;
        }
        const char *dash = memchr(tok, '-', n);
        if (looks_like_time(tok, n)) {
            int a = dash ? parse_hhmm(tok, (size_t)(dash - tok)) : -1;
            int b = dash ? parse_hhmm(dash + 1, n - (size_t)(dash - tok) - 1)
                         : -1;
            if (a < 0 || b < 0 || a == 1440) {
                errs_add(e, "window", "column %ld: bad time range '%.*s' "
                         "(want HH:MM-HH:MM, 00:00 to 24:00)", col, (int)n,
                         tok);
                bad++;
                continue;
            }
            if (a == b || (a == 0 && b == 0)) {
                errs_add(e, "window", "column %ld: time range '%.*s' is "
                         "empty (use 00:00-24:00 for a whole day)", col,
                         (int)n, tok);
                bad++;
                continue;
            }
            if (w->nr == WINDOW_MAX_RANGES) {
                errs_add(e, "window", "column %ld: more than %d ranges", col,
                         WINDOW_MAX_RANGES);
                bad++;
                continue;
            }
            w->r[w->nr].days = days ? days : 0x7f;
            w->r[w->nr].start = a;
            w->r[w->nr].end = b;
            w->nr++;
            days_used = true;
            continue;
        }
        zone = tok;
        zone_len = n;
        zone_col = col;
    }
    if (days && !days_used) {
        errs_add(e, "window", "column %ld: days without a time range after "
                 "them", days_col);
        bad++;
    }
    if (w->nr == 0 && bad == 0) {
        errs_add(e, "window", "no time range (e.g. 'Mon-Fri 07:00-20:00 "
                 "Europe/London')");
        bad++;
    }
    char zname[256];
    if (zone) {
        if (zone_len >= sizeof zname) {
            errs_add(e, "window", "column %ld: time zone name too long",
                     zone_col);
            return bad + 1;
        }
        memcpy(zname, zone, zone_len);
        zname[zone_len] = '\0';
    } else {
        snprintf(zname, sizeof zname, "%s", WINDOW_DEFAULT_TZ);
    }
    struct errs tmp;
    errs_init(&tmp);
    w->tz = tz_load(zname, &tmp);
    if (!w->tz) {
        if (zone)
            errs_add(e, "window", "column %ld: '%s' is not a day, a time "
                     "range or a known time zone (%s)", zone_col, zname,
                     errs_first_msg(&tmp));
        else
            errs_add(e, "window", "%s", errs_first_msg(&tmp));
        bad++;
    }
    errs_free(&tmp);
    return bad;
}

/* window_parse - see window.h; caller owns the result */
struct window *window_parse(const char *spec, const char *const *holidays,
                            size_t nholidays, struct errs *e)
{
    struct window *w = calloc(1, sizeof *w);
    if (!w || !spec) {
        errs_add(e, "window", w ? "no window spec" : "out of memory");
        goto fail;
    }
    if (strlen(spec) > WINDOW_MAX_SPEC) {
        errs_add(e, "window", "window spec longer than %d characters",
                 WINDOW_MAX_SPEC);
        goto fail;
    }
    if (!(w->spec = strdup(spec))) {
        errs_add(e, "window", "out of memory");
        goto fail;
    }
    int bad = parse_ranges(w, spec, e);
    if (nholidays > 0) {
        w->hol = calloc(nholidays, sizeof *w->hol);
        if (!w->hol) {
            errs_add(e, "window", "out of memory");
            goto fail;
        }
    }
    for (size_t i = 0; i < nholidays; i++) {
        if (parse_date(holidays[i], &w->hol[w->nhol]) < 0) {
            errs_add(e, "window", "holiday %zu: '%s' is not a date "
                     "(YYYY-MM-DD)", i + 1, holidays[i] ? holidays[i] : "");
            bad++;
            continue;
        }
        w->nhol++;
    }
    if (bad)
        goto fail;
    if (w->nhol > 1)
        qsort(w->hol, w->nhol, sizeof *w->hol, cmp_i64);
    return w;
fail:
    window_free(w);
    return NULL;
}

void window_free(struct window *w)
{
    if (!w)
        return;
    free(w->spec);
    tz_free(w->tz);
    free(w->hol);
    free(w);
}

const char *window_spec(const struct window *w)
{
    return w ? w->spec : "always";
}

const char *window_tz_name(const struct window *w)
{
    return w ? tz_name(w->tz) : "UTC";
}

static bool is_holiday(const struct window *w, int64_t day)
{
    return w->nhol && bsearch(&day, w->hol, w->nhol, sizeof *w->hol,
                              cmp_i64) != NULL;
}

bool window_open(const struct window *w, int64_t utc_s)
{
    if (!w)
        return true;
    struct tm lt;
    tz_localtime(w->tz, utc_s, &lt);
    int64_t day = tz_days_from_civil((int64_t)lt.tm_year + 1900,
                                     lt.tm_mon + 1, lt.tm_mday);
    if (is_holiday(w, day))
        return false;
    int sod = lt.tm_hour * 3600 + lt.tm_min * 60 + lt.tm_sec;
    int wd = lt.tm_wday, prev = (wd + 6) % 7;
    bool prev_holiday = is_holiday(w, day - 1);
    for (size_t i = 0; i < w->nr; i++) {
        const struct window_range *r = &w->r[i];
        if (r->end > r->start) {
            if ((r->days >> wd & 1) && sod >= r->start * 60 &&
                sod < r->end * 60)
                return true;
            continue;
        }
        if ((r->days >> wd & 1) && sod >= r->start * 60)
            return true;
        if ((r->days >> prev & 1) && !prev_holiday && sod < r->end * 60)
            return true;
    }
    return false;
}

/* consider - keep c in *best when it is after t, open and earlier */
static void consider(const struct window *w, int64_t t, int64_t c,
                     int64_t *best)
{
    if (c > t && c < *best && window_open(w, c))
        *best = c;
}

int64_t window_next_open(const struct window *w, int64_t utc_s)
{
    if (!w || window_open(w, utc_s))
        return utc_s;
    struct tm lt;
    tz_localtime(w->tz, utc_s, &lt);
    int64_t d0 = tz_days_from_civil((int64_t)lt.tm_year + 1900,
                                    lt.tm_mon + 1, lt.tm_mday);
    int64_t best = WINDOW_NEVER;
    for (int64_t i = 0; i < WINDOW_SEARCH_DAYS && best == WINDOW_NEVER; i++) {
        int64_t day = d0 + i;
        if (is_holiday(w, day))
            continue;
        int wd = tz_weekday(day);
        int64_t y;
        int m, d;
        tz_civil_from_days(day, &y, &m, &d);
        for (size_t k = 0; k < w->nr; k++) {
            if (!(w->r[k].days >> wd & 1))
                continue;
            struct tm want = {0};
            want.tm_year = (int)(y - 1900);
            want.tm_mon = m - 1;
            want.tm_mday = d;
            want.tm_hour = w->r[k].start / 60;
            want.tm_min = w->r[k].start % 60;
            int64_t first, second;
            tz_resolve_local(w->tz, &want, &first, &second);
            consider(w, utc_s, first, &best);
            consider(w, utc_s, second, &best);
        }
    }
    /* A clock change can reopen a window without a range starting: the
     * repeated autumn hour may fall inside a range again. */
    int64_t t = utc_s, when;
    for (int n = 0; n < 16 && tz_next_change(w->tz, t, &when) && when < best;
         n++) {
        consider(w, utc_s, when, &best);
        t = when;
    }
    return best;
}
