/* tz.c - named time zones from TZif files (RFC 8536), thread-safe.
 *
 * Reads one zone file into an immutable struct tz: the transition table
 * (64-bit block for v2/v3 files, 32-bit for v1) plus the POSIX TZ footer,
 * which rules every instant at or after the last listed transition.  No
 * libc time-zone state is used (no TZ, tzset or localtime_r), so zones can
 * be loaded and queried from any thread.  See tz.h for the contract. */
#include "util/tz.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/errs.h"
#include "util/fsutil.h"

#define TZ_MAX_FILE   (1u << 20)
#define TZ_MAX_TRANS  100000
#define TZ_ABBR_MAX   16
/* Instants are clamped to +/- 2^50 s (35 million years) so that adding an
 * offset or a few days can never overflow. */
#define TZ_T_LIMIT    ((int64_t)1 << 50)

struct tz_type {
    int32_t off;
    uint8_t isdst;
    uint8_t abbr;           /* index into abbrs */
};

struct tz_ruledate {
    char kind;              /* 'J' (1-365, no Feb 29), 'N' (0-365), 'M' */
    int a, b, c;            /* n, or month, week, day */
    int32_t time;           /* local seconds after midnight, may be <0 */
};

struct tz_rule {
    int32_t std_off, dst_off;
    char std_abbr[TZ_ABBR_MAX], dst_abbr[TZ_ABBR_MAX];
    bool has_dst;
    struct tz_ruledate start, end;
};

struct tz {
    char *name;
    size_t ntrans;
    int64_t *trans;
    uint8_t *tidx;
    size_t ntypes;
    struct tz_type *types;
    char *abbrs;            /* NUL-terminated strings */
    size_t nabbrs;
    bool has_rule;
    struct tz_rule rule;
};

static int64_t floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

static int64_t clamp_t(int64_t t)
{
    if (t > TZ_T_LIMIT)
        return TZ_T_LIMIT;
    if (t < -TZ_T_LIMIT)
        return -TZ_T_LIMIT;
    return t;
}

/* ---- calendar ------------------------------------------------------ */

/* tz_days_from_civil - days since 1970-01-01 (H. Hinnant's algorithm) */
int64_t tz_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void tz_civil_from_days(int64_t days, int64_t *y, int *m, int *d)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int tz_days_in_month(int64_t y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12)
        return 0;
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

int tz_weekday(int64_t days)
{
    int64_t w = (days + 4) % 7;     /* 1970-01-01 was a Thursday */
    return (int)(w < 0 ? w + 7 : w);
}

/* ---- POSIX TZ footer ------------------------------------------------ */

/* parse_abbr - "GMT" or "<+03>"; copies into out */
static const char *parse_abbr(const char *p, char *out)
{
    size_t n = 0;
    if (*p == '<') {
        p++;
        while (*p && *p != '>') {
            if (n + 1 >= TZ_ABBR_MAX)
                return NULL;
            out[n++] = *p++;
        }
        if (*p != '>')
            return NULL;
        p++;
    } else {
        while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')) {
            if (n + 1 >= TZ_ABBR_MAX)
                return NULL;
            out[n++] = *p++;
        }
    }
    if (n < 3)
        return NULL;
    out[n] = '\0';
    return p;
}

/* parse_hms - [+-]hh[:mm[:ss]] with hh <= maxh, into signed seconds */
static const char *parse_hms(const char *p, int maxh, int32_t *out)
{
    int sign = 1;
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    int part[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
        if (i > 0) {
            if (*p != ':')
                break;
            p++;
        }
        if (*p < '0' || *p > '9')
            return NULL;
        int v = 0, digits = 0;
        while (*p >= '0' && *p <= '9' && digits < 3) {
            v = v * 10 + (*p++ - '0');
            digits++;
        }
        part[i] = v;
    }
    if (part[0] > maxh || part[1] > 59 || part[2] > 59)
        return NULL;
    *out = sign * (part[0] * 3600 + part[1] * 60 + part[2]);
    return p;
}

static const char *parse_int(const char *p, int lo, int hi, int *out)
{
    if (*p < '0' || *p > '9')
        return NULL;
    int v = 0;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (*p++ - '0');
        if (v > hi)
            return NULL;
    }
    if (v < lo)
        return NULL;
    *out = v;
    return p;
}

/* parse_ruledate - "Mm.w.d", "Jn" or "n", then optional "/time" */
static const char *parse_ruledate(const char *p, struct tz_ruledate *r)
{
    memset(r, 0, sizeof *r);
    if (*p == 'M') {
        r->kind = 'M';
        if (!(p = parse_int(p + 1, 1, 12, &r->a)) || *p++ != '.' ||
            !(p = parse_int(p, 1, 5, &r->b)) || *p++ != '.' ||
            !(p = parse_int(p, 0, 6, &r->c)))
            return NULL;
    } else if (*p == 'J') {
        r->kind = 'J';
        if (!(p = parse_int(p + 1, 1, 365, &r->a)))
            return NULL;
    } else {
        r->kind = 'N';
        if (!(p = parse_int(p, 0, 365, &r->a)))
            return NULL;
    }
    r->time = 7200;
    if (*p == '/') {
        if (!(p = parse_hms(p + 1, 167, &r->time)))
            return NULL;
    }
    return p;
}

/* parse_footer - the POSIX TZ string of a v2+ file.  0 ok, -1 bad. */
static int parse_footer(const char *s, struct tz_rule *r)
{
    memset(r, 0, sizeof *r);
    const char *p = parse_abbr(s, r->std_abbr);
    int32_t v;
    if (!p || !(p = parse_hms(p, 24, &v)))
        return -1;
    r->std_off = -v;
    if (!*p) {
        r->dst_off = r->std_off;
        return 0;
    }
    if (!(p = parse_abbr(p, r->dst_abbr)))
        return -1;
    r->dst_off = r->std_off + 3600;
    if (*p && *p != ',') {
        if (!(p = parse_hms(p, 24, &v)))
            return -1;
        r->dst_off = -v;
    }
    if (*p++ != ',' || !(p = parse_ruledate(p, &r->start)) ||
        *p++ != ',' || !(p = parse_ruledate(p, &r->end)) || *p)
        return -1;
    r->has_dst = true;
    return 0;
}

/* rule_day - the day (since the epoch) a rule date falls on in year y */
static int64_t rule_day(const struct tz_ruledate *d, int64_t y)
{
    int64_t jan1 = tz_days_from_civil(y, 1, 1);
    switch (d->kind) {
    case 'J':
        return jan1 + d->a - 1 + (is_leap(y) && d->a >= 60 ? 1 : 0);
    case 'N':
        return jan1 + d->a;
    default: {
        int64_t first = tz_days_from_civil(y, d->a, 1);
        int64_t day = first + (d->c - tz_weekday(first) + 7) % 7 +
                      (int64_t)(d->b - 1) * 7;
        int dim = tz_days_in_month(y, d->a);
        while (day >= first + dim)
            day -= 7;
        return day;
    }
    }
}

struct tz_change {
    int64_t at;
    bool dst;               /* state from `at` on */
};

static int cmp_change(const void *a, const void *b)
{
    const struct tz_change *x = a, *y = b;
    return (x->at > y->at) - (x->at < y->at);
}

/* rule_changes - the rule's transitions for years y0..y0+n-1, sorted */
static size_t rule_changes(const struct tz_rule *r, int64_t y0, int n,
                           struct tz_change *out)
{
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        int64_t y = y0 + i;
        out[k].at = rule_day(&r->start, y) * 86400 + r->start.time - r->std_off;
        out[k++].dst = true;
        out[k].at = rule_day(&r->end, y) * 86400 + r->end.time - r->dst_off;
        out[k++].dst = false;
    }
    qsort(out, k, sizeof *out, cmp_change);
    return k;
}

static int64_t year_of(int64_t t, int32_t off)
{
    int64_t y;
    int m, d;
    tz_civil_from_days(floordiv(t + off, 86400), &y, &m, &d);
    return y;
}

/* rule_isdst - whether the footer rule puts t in summer time */
static bool rule_isdst(const struct tz_rule *r, int64_t t)
{
    if (!r->has_dst)
        return false;
    struct tz_change ch[6];
    size_t n = rule_changes(r, year_of(t, r->std_off) - 1, 3, ch);
    bool dst = !ch[0].dst;
    for (size_t i = 0; i < n && ch[i].at <= t; i++)
        dst = ch[i].dst;
    return dst;
}

/* ---- lookups --------------------------------------------------------- */

/* lookup - offset, dst flag and abbreviation in force at t */
static void lookup(const struct tz *z, int64_t t, int32_t *off, int *isdst,
                   const char **abbr)
{
    if (z->has_rule && (z->ntrans == 0 || t >= z->trans[z->ntrans - 1])) {
        bool dst = rule_isdst(&z->rule, t);
        *off = dst ? z->rule.dst_off : z->rule.std_off;
        *isdst = dst;
        *abbr = dst ? z->rule.dst_abbr : z->rule.std_abbr;
        return;
    }
    size_t ti = 0;
    if (z->ntrans > 0 && t >= z->trans[0]) {
        size_t lo = 0, hi = z->ntrans;     /* last index with trans <= t */
        while (hi - lo > 1) {
            size_t mid = lo + (hi - lo) / 2;
            if (z->trans[mid] <= t)
                lo = mid;
            else
                hi = mid;
        }
        ti = z->tidx[lo];
    }
    *off = z->types[ti].off;
    *isdst = z->types[ti].isdst;
    *abbr = z->abbrs + z->types[ti].abbr;
}

int tz_offset_at(const struct tz *z, int64_t utc_s)
{
    int32_t off;
    int dst;
    const char *abbr;
    lookup(z, clamp_t(utc_s), &off, &dst, &abbr);
    return off;
}

void tz_localtime(const struct tz *z, int64_t utc_s, struct tm *out)
{
    int32_t off;
    int dst;
    const char *abbr;
    utc_s = clamp_t(utc_s);
    lookup(z, utc_s, &off, &dst, &abbr);
    int64_t s = utc_s + off;
    int64_t days = floordiv(s, 86400);
    int64_t rem = s - days * 86400;
    int64_t y;
    int m, d;
    tz_civil_from_days(days, &y, &m, &d);
    memset(out, 0, sizeof *out);
    out->tm_year = (int)(y - 1900);
    out->tm_mon = m - 1;
    out->tm_mday = d;
    out->tm_hour = (int)(rem / 3600);
    out->tm_min = (int)(rem / 60 % 60);
    out->tm_sec = (int)(rem % 60);
    out->tm_wday = tz_weekday(days);
    out->tm_yday = (int)(days - tz_days_from_civil(y, 1, 1));
    out->tm_isdst = dst;
    out->tm_gmtoff = off;
    out->tm_zone = abbr;
}

/* next_change - first instant after t at which the offset changes; 1 if
 * found (within about ten years of the rule), 0 if the offset never does */
static int next_change(const struct tz *z, int64_t t, int64_t *when,
                       int32_t *newoff)
{
    int32_t cur = (int32_t)tz_offset_at(z, t);
    if (z->ntrans > 0 && t < z->trans[z->ntrans - 1]) {
        size_t lo = 0, hi = z->ntrans;     /* first index with trans > t */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (z->trans[mid] > t)
                hi = mid;
            else
                lo = mid + 1;
        }
        for (size_t i = lo; i < z->ntrans; i++) {
            int32_t o = (int32_t)tz_offset_at(z, z->trans[i]);
            if (o != cur) {
                *when = z->trans[i];
                *newoff = o;
                return 1;
            }
        }
        t = z->trans[z->ntrans - 1];
    }
    if (!z->has_rule || !z->rule.has_dst ||
        z->rule.std_off == z->rule.dst_off)
        return 0;
    struct tz_change ch[24];
    size_t n = rule_changes(&z->rule, year_of(t, z->rule.std_off) - 1, 12, ch);
    for (size_t i = 0; i < n; i++) {
        if (ch[i].at <= t)
            continue;
        int32_t o = (int32_t)tz_offset_at(z, ch[i].at);
        if (o != cur) {
            *when = ch[i].at;
            *newoff = o;
            return 1;
        }
    }
    return 0;
}

int tz_next_change(const struct tz *z, int64_t after_utc_s, int64_t *when)
{
    int32_t o;
    return next_change(z, clamp_t(after_utc_s), when, &o);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int tz_resolve_local(const struct tz *z, const struct tm *local,
                     int64_t *first, int64_t *second)
{
    int64_t mon = local->tm_mon;
    int64_t y = (int64_t)local->tm_year + 1900 + floordiv(mon, 12);
    int m = (int)(mon - floordiv(mon, 12) * 12) + 1;
    int64_t L = tz_days_from_civil(y, m, 1) + local->tm_mday - 1;
    L = L * 86400 + (int64_t)local->tm_hour * 3600 +
        (int64_t)local->tm_min * 60 + local->tm_sec;
    L = clamp_t(L);

    /* Offsets in force within three days either side, and the changes
     * between them: any instant showing L lies in that span. */
    enum { MAXOFF = 64 };
    int32_t offs[MAXOFF];
    int64_t ch_at[MAXOFF];
    int32_t ch_before[MAXOFF], ch_after[MAXOFF];
    size_t noffs = 0, nch = 0;
    int64_t lo = L - 3 * 86400, hi = L + 3 * 86400;
    offs[noffs++] = (int32_t)tz_offset_at(z, lo);
    int64_t t = lo;
    while (noffs < MAXOFF) {
        int64_t when;
        int32_t o;
        if (!next_change(z, t, &when, &o) || when > hi)
            break;
        ch_at[nch] = when;
        ch_before[nch] = offs[noffs - 1];
        ch_after[nch++] = o;
        offs[noffs++] = o;
        t = when;
    }
    int64_t hits[MAXOFF];
    size_t nhits = 0;
    for (size_t i = 0; i < noffs; i++) {
        int64_t u = L - offs[i];
        if (tz_offset_at(z, u) == offs[i])
            hits[nhits++] = u;
    }
    qsort(hits, nhits, sizeof *hits, cmp_i64);
    size_t k = 0;
    for (size_t i = 0; i < nhits; i++)
        if (k == 0 || hits[i] != hits[k - 1])
            hits[k++] = hits[i];
    if (k > 0) {
        *first = hits[0];
        *second = hits[k - 1];
        return k == 1 ? 1 : 2;
    }
    for (size_t i = 0; i < nch; i++) {
        if (ch_after[i] > ch_before[i] && ch_at[i] + ch_before[i] <= L &&
            L < ch_at[i] + ch_after[i]) {
            *first = *second = ch_at[i];
            return 0;
        }
    }
    *first = *second = L - tz_offset_at(z, L);   /* not reached in practice */
    return 0;
}

/* ---- loading --------------------------------------------------------- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_counts {
    size_t isut, isstd, leap, time, type, chars;
};

/* read_header - the 44-byte header at p; -1 if not TZif */
static int read_header(const unsigned char *p, size_t avail,
                       struct tzif_counts *c, char *version)
{
    if (avail < 44 || memcmp(p, "TZif", 4) != 0)
        return -1;
    *version = (char)p[4];
    c->isut = be32(p + 20);
    c->isstd = be32(p + 24);
    c->leap = be32(p + 28);
    c->time = be32(p + 32);
    c->type = be32(p + 36);
    c->chars = be32(p + 40);
    if (c->time > TZ_MAX_TRANS || c->type == 0 || c->type > 256 ||
        c->chars > 65536 || c->leap > 10000 || c->isut > 256 || c->isstd > 256)
        return -1;
    return 0;
}

static size_t block_len(const struct tzif_counts *c, size_t tsz)
{
    return c->time * tsz + c->time + c->type * 6 + c->chars +
           c->leap * (tsz + 4) + c->isstd + c->isut;
}

/* read_block - transitions, types and abbreviations into z */
static int read_block(struct tz *z, const unsigned char *p,
                      const struct tzif_counts *c, size_t tsz)
{
    z->ntrans = c->time;
    z->ntypes = c->type;
    z->nabbrs = c->chars + 1;
    z->trans = calloc(c->time ? c->time : 1, sizeof *z->trans);
    z->tidx = calloc(c->time ? c->time : 1, 1);
    z->types = calloc(c->type, sizeof *z->types);
    z->abbrs = calloc(z->nabbrs, 1);
    if (!z->trans || !z->tidx || !z->types || !z->abbrs)
        return -1;
    for (size_t i = 0; i < c->time; i++, p += tsz) {
        z->trans[i] = tsz == 8 ? be64(p) : (int64_t)(int32_t)be32(p);
        if (i > 0 && z->trans[i] <= z->trans[i - 1])
            return -1;
    }
    for (size_t i = 0; i < c->time; i++) {
        z->tidx[i] = *p++;
        if (z->tidx[i] >= c->type)
            return -1;
    }
    for (size_t i = 0; i < c->type; i++, p += 6) {
        int32_t off = (int32_t)be32(p);
        if (off < -25 * 3600 || off > 26 * 3600 || p[5] >= z->nabbrs ||
            p[4] > 1)
            return -1;
        z->types[i].off = off;
        z->types[i].isdst = p[4];
        z->types[i].abbr = p[5];
    }
    memcpy(z->abbrs, p, c->chars);
    return 0;
}

/* parse_tzif - the whole file; 0 ok, -1 damaged */
static int parse_tzif(struct tz *z, const unsigned char *data, size_t len)
{
    struct tzif_counts c;
    char ver;
    if (read_header(data, len, &c, &ver) < 0)
        return -1;
    size_t pos = 44, bl = block_len(&c, 4);
    if (len - pos < bl)
        return -1;
    if (ver == '\0')
        return read_block(z, data + pos, &c, 4);
    pos += bl;
    char ver2;
    if (read_header(data + pos, len - pos, &c, &ver2) < 0)
        return -1;
    pos += 44;
    bl = block_len(&c, 8);
    if (len - pos < bl || read_block(z, data + pos, &c, 8) < 0)
        return -1;
    pos += bl;
    /* footer: "\n<TZ string>\n"; an empty string means none */
    if (pos >= len || data[pos] != '\n')
        return -1;
    const unsigned char *s = data + pos + 1;
    const unsigned char *nl = memchr(s, '\n', len - pos - 1);
    if (!nl || nl - s > 255)
        return -1;
    if (nl > s) {
        char foot[256];
        memcpy(foot, s, (size_t)(nl - s));
        foot[nl - s] = '\0';
        if (parse_footer(foot, &z->rule) < 0)
            return -1;
        z->has_rule = true;
    }
    return 0;
}

static bool name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 200 || name[0] == '/')
        return false;
    const char *seg = name;
    for (size_t i = 0; i <= n; i++) {
        char ch = name[i];
        if (ch == '/' || ch == '\0') {
            if (name + i == seg || seg[0] == '.')
                return false;       /* empty, ".", ".." or hidden */
            seg = name + i + 1;
            continue;
        }
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
              (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' ||
              ch == '+' || ch == '.'))
            return false;
    }
    return true;
}

/* make_utc - the built-in UTC zone: one type, no transitions */
static int make_utc(struct tz *z)
{
    z->ntypes = 1;
    z->types = calloc(1, sizeof *z->types);
    z->abbrs = strdup("UTC");
    z->nabbrs = 4;
    return z->types && z->abbrs ? 0 : -1;
}

/* tz_load - see tz.h; caller owns the result */
struct tz *tz_load(const char *name, struct errs *e)
{
    char *data = NULL;
    struct tz *z = calloc(1, sizeof *z);
    if (!z || !name) {
        errs_add(e, "tz", "out of memory or no zone name");
        goto fail;
    }
    if (!name_ok(name)) {
        errs_add(e, "tz", "bad time zone name '%s'", name);
        goto fail;
    }
    if (!(z->name = strdup(name)))
        goto nomem;
    if (strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0) {
        if (make_utc(z) < 0)
            goto nomem;
        return z;
    }
    const char *dir = getenv("TZDIR");
    if (!dir || !*dir)
        dir = "/usr/share/zoneinfo";
    char path[4096];
    if (fs_join(path, sizeof path, dir, name) < 0) {
        errs_add(e, "tz", "time zone path too long for '%s'", name);
        goto fail;
    }
    struct errs tmp;
    errs_init(&tmp);
    size_t len = 0;
    int rc = fs_read_file(path, TZ_MAX_FILE, &data, &len, &tmp);
    if (rc < 0) {
        errs_add(e, "tz", "unknown time zone '%s' (%s: %s)", name, path,
                 errs_first_msg(&tmp));
        errs_free(&tmp);
        goto fail;
    }
    errs_free(&tmp);
    if (parse_tzif(z, (const unsigned char *)data, len) < 0) {
        errs_add(e, "tz", "time zone file %s is not a valid TZif file", path);
        goto fail;
    }
    free(data);
    return z;
nomem:
    errs_add(e, "tz", "out of memory loading time zone");
fail:
    free(data);
    tz_free(z);
    return NULL;
}

void tz_free(struct tz *z)
{
    if (!z)
        return;
    free(z->name);
    free(z->trans);
    free(z->tidx);
    free(z->types);
    free(z->abbrs);
    free(z);
}

const char *tz_name(const struct tz *z)
{
    return z->name;
}
