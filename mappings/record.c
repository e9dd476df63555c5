/* record.c - the typed record and the exact parsers it rests on.
 *
 * Owns struct record and struct fvalue memory, exact decimal/date/datetime
 * parsing and formatting (no floating point anywhere), and the canonical
 * JSON form the spool stores (record_to_json / record_from_json round-trip
 * exactly).  See record.h for the contract. */
#include "mappings/record.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/errs.h"
#include "util/utf8.h"

/* A block of a record's memory: its field names and, for the records
 * map_apply makes, its values' texts, its lists' item arrays and item
 * records (record_new_in, the *_in setters).  Nothing in a block is
 * freed on its own: it goes with the record, so a block is filled and
 * never reused. */
struct record_mem {
    struct record_mem *next;     /* the block before (older) */
    bool own;                    /* a block of its own (else in the
                                    record's allocation, or its home's) */
    size_t used, cap;
    char data[];
};

_Static_assert(offsetof(struct record_mem, data) % 8 == 0,
               "a block's data is aligned for the records made in it");

/* round8 - n up to a multiple of 8, for what follows it in one block */
static size_t round8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

/* mem_alloc - n bytes in r's blocks (8-aligned when align8), a new block
 * when the last is full; NULL on nomem */
static void *mem_alloc(struct record *r, size_t n, bool align8)
{
    struct record_mem *m = r->mem;
    size_t at = m ? (align8 ? round8(m->used) : m->used) : 0;
    if (!m || at > m->cap || m->cap - at < n) {
        size_t cap = n > 1024 ? n : 1024;
        struct record_mem *nm = malloc(sizeof *nm + cap);
        if (!nm)
            return NULL;
        nm->next = m;
        nm->own = true;
        nm->used = 0;
        nm->cap = cap;
        r->mem = m = nm;
        at = 0;
    }
    m->used = at + n;
    return m->data + at;
}

/* record_layout - a record with room for nfields fields and bytes more
 * in blk (round8(sizeof record) + round8(nfields fields) + a block
 * header + bytes long) */
static struct record *record_layout(char *blk, size_t nfields, size_t bytes)
{
    size_t a = round8(sizeof(struct record));
    size_t b = round8(nfields * sizeof(struct record_field));
    struct record *r = (struct record *)(void *)blk;
    memset(r, 0, sizeof *r);
    if (nfields) {
        r->f = r->f0 = (struct record_field *)(void *)(blk + a);
        r->cap = nfields;
    }
    r->mem = (struct record_mem *)(void *)(blk + a + b);
    r->mem->next = NULL;
    r->mem->own = false;
    r->mem->used = 0;
    r->mem->cap = bytes;
    return r;
}

static size_t layout_size(size_t nfields, size_t bytes)
{
    return round8(sizeof(struct record)) +
           round8(nfields * sizeof(struct record_field)) +
           sizeof(struct record_mem) + bytes;
}

struct record *record_new_sized(size_t nfields, size_t name_bytes)
{
    if (nfields > 4096 || name_bytes > 65536)
        nfields = name_bytes = 0;       /* a guess that large is a bug */
    char *blk = malloc(layout_size(nfields, name_bytes));
    return blk ? record_layout(blk, nfields, name_bytes) : NULL;
}

size_t record_size_in(size_t nfields, size_t bytes)
{
    return round8(layout_size(nfields, bytes));
}

struct record *record_new_in(struct record *home, size_t nfields,
                             size_t bytes)
{
    if (nfields > 4096 || bytes > 65536)
        nfields = bytes = 0;
    char *blk = mem_alloc(home, layout_size(nfields, bytes), true);
    if (!blk)
        return NULL;
    struct record *r = record_layout(blk, nfields, bytes);
    r->inner = true;
    return r;
}

struct record *record_new(void)
{
    return record_new_sized(8, 128);
}

void fvalue_clear(struct fvalue *v)
{
    if (!v)
        return;
    if (!v->lent)
        free(v->text);
    v->text = NULL;
    for (size_t i = 0; i < v->nitems; i++)
        record_free(v->items[i]);
    if (!v->lent)
        free(v->items);
    v->items = NULL;
    v->nitems = 0;
    v->present = false;
    v->num = 0;
    v->wide = false;
    v->lent = false;
}

void record_free(struct record *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        fvalue_clear(&r->f[i].v);
    if (r->f != r->f0)
        free(r->f);
    for (struct record_mem *m = r->mem, *next; m; m = next) {
        next = m->next;
        if (m->own)
            free(m);
    }
    if (!r->inner)
        free(r);
}

/* name_copy - name kept in r's blocks; NULL on nomem */
static char *name_copy(struct record *r, const char *name)
{
    size_t l = strlen(name) + 1;
    char *o = mem_alloc(r, l, false);
    if (o)
        memcpy(o, name, l);
    return o;
}

struct record_field *record_add(struct record *r, const char *name)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 8;
        struct record_field *f;
        if (r->f && r->f == r->f0) {    /* out of the inline fields */
            f = malloc(cap * sizeof *f);
            if (f)
                memcpy(f, r->f, r->n * sizeof *f);
        } else {
            f = realloc(r->f, cap * sizeof *f);
        }
        if (!f)
            return NULL;
        r->f = f;
        r->cap = cap;
    }
    char *nm = name_copy(r, name);
    if (!nm)
        return NULL;
    struct record_field *nf = &r->f[r->n];
    r->unique = false;
    memset(nf, 0, sizeof *nf);
    nf->name = nm;
    nf->v.type = FT_STRING;
    r->n++;
    return nf;
}

struct record_field *record_field(struct record *r, const char *name)
{
    if (!r || !name)
        return NULL;
    /* the first byte first: most names differ there, and this runs for
     * every assignment of every record encoded */
    for (size_t i = 0; i < r->n; i++)
        if (r->f[i].name[0] == name[0] && strcmp(r->f[i].name, name) == 0)
            return &r->f[i];
    return NULL;
}

const struct fvalue *record_get(const struct record *r, const char *name)
{
    struct record_field *f = record_field((struct record *)r, name);
    return f ? &f->v : NULL;
}

const struct fvalue *record_get_at(const struct record *r, const char *name,
                                   size_t *at)
{
    size_t i = *at;
    if (r && name && r->unique && i < r->n &&
        r->f[i].name[0] == name[0] && strcmp(r->f[i].name, name) == 0)
        return &r->f[i].v;
    struct record_field *f = record_field((struct record *)r, name);
    if (!f)
        return NULL;
    *at = (size_t)(f - r->f);
    return &f->v;
}

/* put_uint - decimal digits of x at o, zero-padded to width; returns the
 * length.  The setters below run for every field of every submission, so
 * they format by hand rather than through snprintf. */
static size_t put_uint(char *o, uint64_t x, int width)
{
    size_t n = 1;
    for (uint64_t t = x; t >= 10; t /= 10)
        n++;
    if (width > 0 && n < (size_t)width)
        n = (size_t)width < 24 ? (size_t)width : 24;
    for (size_t i = n; i-- > 0;) {      /* last digit first, in place */
        o[i] = (char)('0' + x % 10);
        x /= 10;
    }
    return n;
}

/* put_int - signed decimal of x at o; returns the length */
static size_t put_int(char *o, int64_t x, int width)
{
    if (x < 0) {
        o[0] = '-';
        return 1 + put_uint(o + 1, (uint64_t)0 - (uint64_t)x, width);
    }
    return put_uint(o, (uint64_t)x, width);
}

/* set_text - replace v's text with a copy of s[0..n), in home's blocks
 * (home NULL: on the heap); keeps the type */
static int set_text(struct record *home, struct fvalue *v, const char *s,
                    size_t n)
{
    char *t = home ? mem_alloc(home, n + 1, false) : malloc(n + 1);
    if (!t)
        return -1;
    memcpy(t, s, n);
    t[n] = '\0';
    if (!v->lent)
        free(v->text);
    v->text = t;
    v->lent = home != NULL;
    v->present = true;
    v->wide = false;
    return 0;
}

int fvalue_set_text_n_in(struct record *home, struct fvalue *v,
                         enum ftype t, const char *s, size_t n)
{
    if (t != FT_STRING && t != FT_ENUM)
        return -1;
    if (set_text(home, v, s, n) < 0)
        return -1;
    v->type = t;
    v->num = 0;
    return 0;
}

int fvalue_set_list_in(struct record *home, struct fvalue *v, size_t n)
{
    fvalue_clear(v);
    v->type = FT_LIST;
    v->present = true;
    if (!n)
        return 0;
    struct record **items = home ? mem_alloc(home, n * sizeof *items, true)
                                 : malloc(n * sizeof *items);
    if (!items)
        return -1;
    memset(items, 0, n * sizeof *items);
    v->items = items;
    v->lent = home != NULL;
    return 0;
}

int fvalue_set_int_in(struct record *home, struct fvalue *v, int64_t n)
{
    char b[32];
    if (set_text(home, v, b, put_int(b, n, 0)) < 0)
        return -1;
    v->type = FT_INTEGER;
    v->num = n;
    v->scale = 0;
    return 0;
}

int fvalue_set_decimal_in(struct record *home, struct fvalue *v,
                          int64_t scaled, int scale)
{
    char b[48];
    if (scale < 0 || scale > 18)
        return -1;
    record_dec_format(scaled, scale, b, sizeof b);
    if (set_text(home, v, b, strlen(b)) < 0)
        return -1;
    v->type = FT_DECIMAL;
    v->num = scaled;
    v->scale = scale;
    return 0;
}

/* fvalue_set_wide - see record.h */
int fvalue_set_wide(struct fvalue *v, enum ftype t, dec128 x, int scale)
{
    if (t == FT_INTEGER)
        scale = 0;
    if (scale < 0 || scale > DEC128_MAX_DIGITS ||
        (t != FT_INTEGER && t != FT_DECIMAL))
        return -1;
    if (dec128_fits64(x) && scale <= 18)
        return t == FT_INTEGER ? fvalue_set_int(v, (int64_t)x)
                               : fvalue_set_decimal(v, (int64_t)x, scale);
    char b[DEC128_TEXT];
    dec128_format(x, scale, b, sizeof b);
    if (set_text(NULL, v, b, strlen(b)) < 0)
        return -1;
    v->type = t;
    v->num = x < 0 ? INT64_MIN : INT64_MAX;
    v->scale = scale;
    v->wide = true;
    return 0;
}

/* fvalue_wide - see record.h */
int fvalue_wide(const struct fvalue *v, dec128 *x, int *scale)
{
    if (!v->present || (v->type != FT_INTEGER && v->type != FT_DECIMAL &&
                        v->type != FT_BOOLEAN))
        return -1;
    int sc = v->type == FT_DECIMAL ? v->scale : 0;
    if (v->wide) {
        if (dec128_parse(v->text, strlen(v->text), sc, x) < 0)
            return -1;
    } else {
        *x = v->num;
    }
    *scale = sc;
    return 0;
}

int fvalue_set_date_in(struct record *home, struct fvalue *v, int64_t days)
{
    int y, m, d;
    char b[40];
    record_date_from_days(days, &y, &m, &d);
    size_t n = put_int(b, y, 4);
    b[n++] = '-';
    n += put_uint(b + n, (uint64_t)m, 2);
    b[n++] = '-';
    n += put_uint(b + n, (uint64_t)d, 2);
    if (set_text(home, v, b, n) < 0)
        return -1;
    v->type = FT_DATE;
    v->num = days;
    return 0;
}

int fvalue_set_datetime_in(struct record *home, struct fvalue *v,
                           int64_t ms)
{
    int64_t days = ms / 86400000, rem = ms % 86400000;
    if (rem < 0) {
        rem += 86400000;
        days--;
    }
    int y, mo, d;
    record_date_from_days(days, &y, &mo, &d);
    char b[64];
    size_t n = put_int(b, y, 4);
    const uint64_t part[] = { (uint64_t)mo, (uint64_t)d,
                              (uint64_t)(rem / 3600000),
                              (uint64_t)(rem / 60000 % 60),
                              (uint64_t)(rem / 1000 % 60),
                              (uint64_t)(rem % 1000) };
    static const char sep[] = "--T::.";
    for (size_t i = 0; i < 6; i++) {
        b[n++] = sep[i];
        n += put_uint(b + n, part[i], i == 5 ? 3 : 2);
    }
    b[n++] = 'Z';
    if (set_text(home, v, b, n) < 0)
        return -1;
    v->type = FT_DATETIME;
    v->num = ms;
    return 0;
}

int fvalue_set_bool_in(struct record *home, struct fvalue *v, bool b)
{
    if (set_text(home, v, b ? "true" : "false", b ? 4 : 5) < 0)
        return -1;
    v->type = FT_BOOLEAN;
    v->num = b ? 1 : 0;
    return 0;
}

int fvalue_set_int(struct fvalue *v, int64_t n)
{
    return fvalue_set_int_in(NULL, v, n);
}

int fvalue_set_decimal(struct fvalue *v, int64_t scaled, int scale)
{
    return fvalue_set_decimal_in(NULL, v, scaled, scale);
}

int fvalue_set_date(struct fvalue *v, int64_t days)
{
    return fvalue_set_date_in(NULL, v, days);
}

int fvalue_set_datetime(struct fvalue *v, int64_t ms)
{
    return fvalue_set_datetime_in(NULL, v, ms);
}

int fvalue_set_bool(struct fvalue *v, bool b)
{
    return fvalue_set_bool_in(NULL, v, b);
}

/* fvalue_set_text - string/enum: s as is.  Other types: s is read in its
 * canonical form (decimal scale = places written); -1 if it does not
 * parse.  s NULL makes the value absent (type kept). */
int fvalue_set_text(struct fvalue *v, enum ftype t, const char *s)
{
    if (!s) {
        fvalue_clear(v);
        v->type = t;
        return 0;
    }
    int64_t n;
    switch (t) {
    case FT_STRING:
    case FT_ENUM:
        return fvalue_set_text_n_in(NULL, v, t, s, strlen(s));
    case FT_INTEGER: {
        char *end;
        errno = 0;
        long long x = strtoll(s, &end, 10);
        dec128 w;
        if (errno == ERANGE && !*end && s[0] != ' ' &&
            dec128_parse(s, strlen(s), 0, &w) == 0)
            return fvalue_set_wide(v, FT_INTEGER, w, 0);
        if (errno || end == s || *end || s[0] == ' ')
            return -1;
        return fvalue_set_int(v, x);
    }
    case FT_DECIMAL: {
        const char *dot = strchr(s, '.');
        int scale = dot ? (int)strlen(dot + 1) : 0;
        if (scale <= 18 && record_dec_parse(s, scale, &n) == 0)
            return fvalue_set_decimal(v, n, scale);
        dec128 w;
        if (dec128_parse(s, strlen(s), scale, &w) < 0)
            return -1;
        return fvalue_set_wide(v, FT_DECIMAL, w, scale);
    }
    case FT_DATE:
        if (record_date_parse(s, &n) < 0)
            return -1;
        return fvalue_set_date(v, n);
    case FT_DATETIME:
        if (record_datetime_parse(s, &n) < 0)
            return -1;
        return fvalue_set_datetime(v, n);
    case FT_BOOLEAN:
        if (strcmp(s, "true") == 0)
            return fvalue_set_bool(v, true);
        if (strcmp(s, "false") == 0)
            return fvalue_set_bool(v, false);
        return -1;
    case FT_LIST:
        return -1;
    }
    return -1;
}

/* record_dec_parse - exact: [+-]digits[.digits], at least one digit; more places
 * than scale, or int64 overflow, is an error.  Never rounds. */
int record_dec_parse(const char *s, int scale, int64_t *out)
{
    if (!s || scale < 0 || scale > 18)
        return -1;
    bool neg = false;
    if (*s == '+' || *s == '-')
        neg = *s++ == '-';
    uint64_t mag = 0;
    const uint64_t lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    int digits = 0, places = 0;
    bool dot = false;
    for (; *s; s++) {
        if (*s == '.') {
            if (dot)
                return -1;
            dot = true;
            continue;
        }
        if (*s < '0' || *s > '9')
            return -1;
        if (dot && ++places > scale)
            return -1;
        unsigned d = (unsigned)(*s - '0');
        if (mag > (lim - d) / 10)
            return -1;
        mag = mag * 10 + d;
        digits++;
    }
    if (!digits)
        return -1;
    for (; places < scale; places++) {
        if (mag > lim / 10)
            return -1;
        mag *= 10;
    }
    if (neg)
        *out = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
    else
        *out = (int64_t)mag;
    return 0;
}

void record_dec_format(int64_t scaled, int scale, char *out, size_t outsz)
{
    uint64_t mag = scaled < 0 ? (uint64_t)0 - (uint64_t)scaled
                              : (uint64_t)scaled;
    if (scale < 0)
        scale = 0;
    if (scale > 18)
        scale = 18;
    /* at least one digit before the point */
    char padded[48], b[56];
    int n = (int)put_uint(padded, mag, scale + 1);
    int intlen = n - scale;
    size_t k = 0;
    if (scaled < 0)
        b[k++] = '-';
    memcpy(b + k, padded, (size_t)intlen);
    k += (size_t)intlen;
    if (scale) {
        b[k++] = '.';
        memcpy(b + k, padded + intlen, (size_t)scale);
        k += (size_t)scale;
    }
    b[k] = '\0';
    if (!outsz)
        return;
    if (k >= outsz)
        k = outsz - 1;
    memcpy(out, b, k);
    out[k] = '\0';
}

/* record_days_from_civil - H. Hinnant's algorithm, proleptic Gregorian */
int64_t record_days_from_civil(int y, int m, int d)
{
    int64_t yy = (int64_t)y - (m <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void record_date_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int dd = (int)(doy - (153 * mp + 2) / 5 + 1);
    int mm = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yy + (mm <= 2));
    *m = mm;
    *d = dd;
}

/* digits - n decimal digits at s into *out; -1 if any is not a digit */
static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int days_in_month(int y, int m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dm[m - 1];
}

/* ymd_days - validated year/month/day -> days; -1 when not a real date */
static int ymd_days(int y, int m, int d, int64_t *days)
{
    if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1 ||
        d > days_in_month(y, m))
        return -1;
    *days = record_days_from_civil(y, m, d);
    return 0;
}

int record_date_parse(const char *s, int64_t *days)
{
    int y, m, d;
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
        digits(s, 4, &y) || digits(s + 5, 2, &m) || digits(s + 8, 2, &d))
        return -1;
    return ymd_days(y, m, d, days);
}

/* record_datetime_parse - YYYY-MM-DDTHH:MM:SS[.fff...](Z|+hh:mm|-hh:mm).  A zone
 * is required.  Fraction digits past milliseconds must be zero: an instant
 * is never silently truncated. */
int record_datetime_parse(const char *s, int64_t *ms)
{
    int64_t days;
    int hh, mi, ss, frac = 0;
    if (!s || strlen(s) < 20)
        return -1;
    if (s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
        s[13] != ':' || s[16] != ':')
        return -1;
    int y, mo, d;
    if (digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) ||
        digits(s + 11, 2, &hh) || digits(s + 14, 2, &mi) ||
        digits(s + 17, 2, &ss))
        return -1;
    if (ymd_days(y, mo, d, &days) < 0 || hh > 23 || mi > 59 || ss > 59)
        return -1;
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        int nd = 0;
        while (*p >= '0' && *p <= '9') {
            if (nd < 3)
                frac = frac * 10 + (*p - '0');
            else if (*p != '0')
                return -1;
            nd++;
            p++;
        }
        if (nd == 0 || nd > 9)
            return -1;
        for (; nd < 3; nd++)
            frac *= 10;
    }
    int off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (strlen(p) != 6 || p[3] != ':' || digits(p + 1, 2, &oh) ||
            digits(p + 4, 2, &om) || oh > 23 || om > 59)
            return -1;
        off = (oh * 60 + om) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return -1;
    }
    if (*p)
        return -1;
    *ms = days * 86400000 + ((int64_t)hh * 3600 + mi * 60 + ss) * 1000 +
          frac - (int64_t)off * 60000;
    return 0;
}

/* ---- canonical JSON ---------------------------------------------------- */

static const char *const type_names[] = {
    [FT_STRING] = "string", [FT_INTEGER] = "integer",
    [FT_DECIMAL] = "decimal", [FT_DATE] = "date",
    [FT_DATETIME] = "datetime", [FT_BOOLEAN] = "boolean",
    [FT_ENUM] = "enum", [FT_LIST] = "list",
};

static int type_from_name(const char *s, enum ftype *t)
{
    for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++)
        if (type_names[i] && strcmp(type_names[i], s) == 0) {
            *t = (enum ftype)i;
            return 0;
        }
    return -1;
}

static json_t *record_json(const struct record *r);

/* fvalue_json - {"t":type,"v":text|null,"s":scale,"items":[...]} */
static json_t *fvalue_json(const struct record_field *f)
{
    const struct fvalue *v = &f->v;
    json_t *o = json_object();
    if (!o)
        return NULL;
    int rc = json_object_set_new(o, "t", json_string(type_names[v->type]));
    if (v->type == FT_LIST) {
        json_t *a = json_array();
        rc |= json_object_set_new(o, "items", a);
        for (size_t i = 0; a && i < v->nitems; i++)
            rc |= json_array_append_new(a, record_json(v->items[i]));
        if (!v->present)
            rc |= json_object_set_new(o, "v", json_null());
    } else {
        rc |= json_object_set_new(o, "v", v->present && v->text
                                              ? json_string(v->text)
                                              : json_null());
    }
    if (v->type == FT_DECIMAL)
        rc |= json_object_set_new(o, "s", json_integer(v->scale));
    if (f->personal)
        rc |= json_object_set_new(o, "p", json_true());
    if (rc) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *record_json(const struct record *r)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    for (size_t i = 0; i < r->n; i++) {
        json_t *fv = fvalue_json(&r->f[i]);
        if (!fv || json_object_set_new(o, r->f[i].name, fv) < 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

/* ---- the canonical writer ----------------------------------------------
 *
 * record_to_json writes the canonical form straight into one buffer: no
 * jansson tree is built (that cost one allocation per field, value and
 * list item on every intake).  The bytes are exactly those of
 * json_dumps(record_json(r), JSON_COMPACT | JSON_ENSURE_ASCII), which the
 * ledger has always held: members in insertion order (a repeated name
 * keeps its first place and takes its last value, as json_object_set
 * does), '"' '\\' and control characters escaped as jansson escapes them,
 * everything past U+007F as \uXXXX (surrogate pairs past the BMP), and a
 * text that is not valid UTF-8 refused (NULL), as json_string refuses it.
 * check_record.c holds the two equal over every kind of value. */

static int cj_record(struct buf *b, const struct record *r, int depth);

/* cj_str - s as a JSON string with jansson's ENSURE_ASCII escapes */
static int cj_str(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s), i = 0;
    if (buf_putc(b, '"') != BUF_OK)
        return -1;
    while (i < n) {
        size_t run = i;
        while (run < n) {
            unsigned char c = (unsigned char)s[run];
            if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\')
                break;
            run++;
        }
        if (run > i && buf_append(b, s + i, run - i) != BUF_OK)
            return -1;
        i = run;
        if (i == n)
            break;
        unsigned char c = (unsigned char)s[i];
        char esc[12];
        size_t el = 2;
        esc[0] = '\\';
        if (c == '"' || c == '\\') {
            esc[1] = (char)c;
            i++;
        } else if (c == '\b' || c == '\f' || c == '\n' || c == '\r'
                   || c == '\t') {
            esc[1] = c == '\b' ? 'b' : c == '\f' ? 'f' : c == '\n' ? 'n'
                     : c == '\r' ? 'r' : 't';
            i++;
        } else {
            uint32_t cp = c;
            size_t k = 1;
            if (c >= 0x80 && !(k = utf8_next(s + i, n - i, &cp)))
                return -1;
            i += k;
            uint32_t u[2] = { cp, 0 };
            int nu = 1;
            if (cp >= 0x10000) {
                cp -= 0x10000;
                u[0] = 0xD800 | (cp >> 10);
                u[1] = 0xDC00 | (cp & 0x3FF);
                nu = 2;
            }
            el = 0;
            for (int q = 0; q < nu; q++) {
                esc[el++] = '\\';
                esc[el++] = 'u';
                esc[el++] = hex[(u[q] >> 12) & 15];
                esc[el++] = hex[(u[q] >> 8) & 15];
                esc[el++] = hex[(u[q] >> 4) & 15];
                esc[el++] = hex[u[q] & 15];
            }
        }
        if (buf_append(b, esc, el) != BUF_OK)
            return -1;
    }
    return buf_putc(b, '"') == BUF_OK ? 0 : -1;
}

/* cj_field - {"t":type,"v":text|null,"s":scale,"p":true}, or a list's
 * {"t":"list","items":[...],"v":null} (v only when absent) */
static int cj_field(struct buf *b, const struct record_field *f, int depth)
{
    const struct fvalue *v = &f->v;
    if ((unsigned)v->type >= sizeof type_names / sizeof type_names[0]
        || !type_names[v->type])
        return -1;
    if (buf_puts(b, "{\"t\":") != BUF_OK || cj_str(b, type_names[v->type]))
        return -1;
    if (v->type == FT_LIST) {
        if (buf_puts(b, ",\"items\":[") != BUF_OK)
            return -1;
        for (size_t i = 0; i < v->nitems; i++) {
            if (i && buf_putc(b, ',') != BUF_OK)
                return -1;
            /* json_array_append_new(NULL) fails: so does a NULL item */
            if (!v->items[i] || cj_record(b, v->items[i], depth + 1) != 0)
                return -1;
        }
        if (buf_putc(b, ']') != BUF_OK
            || (!v->present && buf_puts(b, ",\"v\":null") != BUF_OK))
            return -1;
    } else if (v->present && v->text) {
        if (buf_puts(b, ",\"v\":") != BUF_OK || cj_str(b, v->text) != 0)
            return -1;
    } else if (buf_puts(b, ",\"v\":null") != BUF_OK) {
        return -1;
    }
    if (v->type == FT_DECIMAL && buf_printf(b, ",\"s\":%d", v->scale))
        return -1;
    if (f->personal && buf_puts(b, ",\"p\":true") != BUF_OK)
        return -1;
    return buf_putc(b, '}') == BUF_OK ? 0 : -1;
}

static int cj_record(struct buf *b, const struct record *r, int depth)
{
    /* bounded as jansson bounds parsing: anything read from JSON fits */
    if (depth > 2048 || buf_putc(b, '{') != BUF_OK)
        return -1;
    bool first = true;
    for (size_t i = 0; i < r->n; i++) {
        const char *name = r->f[i].name;
        size_t last = i;
        bool seen = false;
        for (size_t k = 0; k < r->n && !seen; k++) {
            if (k == i || strcmp(r->f[k].name, name) != 0)
                continue;
            if (k < i)
                seen = true;          /* written at its first place */
            else
                last = k;
        }
        if (seen)
            continue;
        if ((!first && buf_putc(b, ',') != BUF_OK) || cj_str(b, name) != 0
            || buf_putc(b, ':') != BUF_OK || cj_field(b, &r->f[last], depth))
            return -1;
        first = false;
    }
    return buf_putc(b, '}') == BUF_OK ? 0 : -1;
}

char *record_to_json(const struct record *r)
{
    struct buf b;
    buf_init(&b, 0);
    if (!r || cj_record(&b, r, 0) != 0) {
        buf_free(&b);
        return NULL;
    }
    return buf_take(&b);
}

/* record_to_json_tree - the canonical form as jansson writes it from a
 * tree: what record_to_json's bytes are held equal to (tests only) */
char *record_to_json_tree(const struct record *r)
{
    json_t *o = record_json(r);
    if (!o)
        return NULL;
    char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(o);
    return s;
}

static struct record *record_from_obj(const json_t *o, const char *where,
                                      struct errs *e);

/* field_from_json - one canonical field value into f; 0 ok, -1 problem */
static int field_from_json(struct record_field *f, const json_t *o,
                           const char *where, struct errs *e)
{
    const char *tn = json_string_value(json_object_get(o, "t"));
    enum ftype t;
    if (!json_is_object(o) || !tn || type_from_name(tn, &t) < 0) {
        errs_add(e, where, "not a canonical field value (bad \"t\")");
        return -1;
    }
    f->personal = json_is_true(json_object_get(o, "p"));
    f->v.type = t;
    json_t *v = json_object_get(o, "v");
    if (t == FT_LIST) {
        json_t *items = json_object_get(o, "items");
        if (!json_is_array(items)) {
            errs_add(e, where, "list without \"items\"");
            return -1;
        }
        size_t n = json_array_size(items);
        f->v.present = !json_is_null(v);
        if (n) {
            f->v.items = calloc(n, sizeof *f->v.items);
            if (!f->v.items) {
                errs_add(e, where, "out of memory");
                return -1;
            }
        }
        for (size_t i = 0; i < n; i++) {
            char w[512];
            if (snprintf(w, sizeof w, "%s[%zu]", where, i) >= (int)sizeof w)
                w[sizeof w - 1] = '\0';
            f->v.items[i] = record_from_obj(json_array_get(items, i), w, e);
            if (!f->v.items[i])
                return -1;
            f->v.nitems++;
        }
        return 0;
    }
    if (json_is_null(v) || !v)
        return 0;
    const char *text = json_string_value(v);
    if (!text) {
        errs_add(e, where, "\"v\" is not a string");
        return -1;
    }
    int rc;
    if (t == FT_DECIMAL) {
        json_t *s = json_object_get(o, "s");
        dec128 n;
        if (!json_is_integer(s) || json_integer_value(s) < 0 ||
            json_integer_value(s) > DEC128_MAX_DIGITS ||
            dec128_parse(text, strlen(text), (int)json_integer_value(s),
                         &n) < 0) {
            if (f->personal)    /* a personal value is never echoed */
                errs_add(e, where, "bad decimal value");
            else
                errs_add(e, where, "bad decimal \"%s\"", text);
            return -1;
        }
        rc = fvalue_set_wide(&f->v, FT_DECIMAL, n,
                             (int)json_integer_value(s));
    } else {
        rc = fvalue_set_text(&f->v, t, text);
    }
    if (rc < 0) {
        if (f->personal)
            errs_add(e, where, "bad %s value", tn);
        else
            errs_add(e, where, "bad %s value \"%s\"", tn, text);
        return -1;
    }
    return 0;
}

static struct record *record_from_obj(const json_t *o, const char *where,
                                      struct errs *e)
{
    if (!json_is_object(o)) {
        errs_add(e, where, "not a canonical record (object expected)");
        return NULL;
    }
    struct record *r = record_new();
    if (!r)
        goto nomem;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)o, key, val) {
        struct record_field *f = record_add(r, key);
        if (!f)
            goto nomem;
        char w[512];
        if (snprintf(w, sizeof w, "%s%s%s", where, *where ? "." : "",
                     key) >= (int)sizeof w)
            w[sizeof w - 1] = '\0';
        if (field_from_json(f, val, w, e) < 0)
            goto fail;
    }
    return r;
nomem:
    errs_add(e, where, "out of memory");
fail:
    record_free(r);
    return NULL;
}

/* ---- fast path for the canonical form ----------------------------------
 * record_from_json runs once per record when a night batch is built (a
 * million times a night), so the exact form record_to_json writes is read
 * here directly, without building a jansson tree.  Anything outside that
 * form -- an escape, a non-ASCII byte, an unknown or repeated key, a value
 * that does not parse -- makes the fast path give up, and the jansson path
 * below reads the text instead, so behaviour (the record, or the problems
 * reported) is exactly that of the jansson path. */

struct fj {
    const char *p;
    char *tmp;                 /* scratch for NUL-terminated copies */
};

static void fj_ws(struct fj *j)
{
    while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')
        j->p++;
}

static bool fj_eat(struct fj *j, char ch)
{
    fj_ws(j);
    if (*j->p != ch)
        return false;
    j->p++;
    return true;
}

/* fj_str - a plain string (printable ASCII, no escapes) copied to j->tmp
 * at *off; returns its start there, or NULL (give up) */
static const char *fj_str(struct fj *j, size_t *off)
{
    fj_ws(j);
    if (*j->p != '"')
        return NULL;
    const char *s = ++j->p;
    while (*j->p != '"') {
        unsigned char ch = (unsigned char)*j->p;
        if (ch < 0x20 || ch >= 0x7f || ch == '\\')
            return NULL;
        j->p++;
    }
    size_t n = (size_t)(j->p - s);
    j->p++;
    char *d = j->tmp + *off;
    memcpy(d, s, n);
    d[n] = '\0';
    *off += n + 1;
    return d;
}

static bool fj_lit(struct fj *j, const char *lit)
{
    size_t n = strlen(lit);
    fj_ws(j);
    if (strncmp(j->p, lit, n) != 0)
        return false;
    j->p += n;
    return true;
}

static struct record *fj_record(struct fj *j, int depth);

/* fj_field - one {"t":..,"v":..} into f; 0 ok, -1 give up */
static int fj_field(struct fj *j, struct record_field *f, size_t off,
                    int depth)
{
    enum { K_T = 1, K_V = 2, K_S = 4, K_P = 8, K_ITEMS = 16 };
    unsigned seen = 0;
    const char *tn = NULL, *text = NULL;
    bool vnull = false, personal = false;
    int scale = -1;
    const char *items = NULL;       /* where the items array starts */
    const char *items_end = NULL;   /* and just past its end */
    if (!fj_eat(j, '{'))
        return -1;
    if (!fj_eat(j, '}')) {
        for (;;) {
            size_t koff = off;
            const char *k = fj_str(j, &koff);
            unsigned bit;
            if (!k || !fj_eat(j, ':'))
                return -1;
            bit = strcmp(k, "t") == 0 ? K_T : strcmp(k, "v") == 0 ? K_V :
                  strcmp(k, "s") == 0 ? K_S : strcmp(k, "p") == 0 ? K_P :
                  strcmp(k, "items") == 0 ? K_ITEMS : 0;
            if (!bit || (seen & bit))
                return -1;
            seen |= bit;
            fj_ws(j);
            if (bit == K_T) {
                if (!(tn = fj_str(j, &off)))
                    return -1;
            } else if (bit == K_V) {
                if (fj_lit(j, "null"))
                    vnull = true;
                else if (!(text = fj_str(j, &off)))
                    return -1;
            } else if (bit == K_S) {
                if (j->p[0] == '0' && !(j->p[1] >= '0' && j->p[1] <= '9')) {
                    scale = 0;
                    j->p++;
                } else if (j->p[0] >= '1' && j->p[0] <= '9') {
                    scale = j->p[0] - '0';
                    j->p++;
                    if (*j->p >= '0' && *j->p <= '9')
                        scale = scale * 10 + (*j->p++ - '0');
                    if (*j->p >= '0' && *j->p <= '9')
                        return -1;
                } else {
                    return -1;
                }
                if (*j->p == '.' || *j->p == 'e' || *j->p == 'E')
                    return -1;
            } else if (bit == K_P) {
                if (fj_lit(j, "true"))
                    personal = true;
                else if (!fj_lit(j, "false"))
                    return -1;
            } else {
                if (*j->p != '[')
                    return -1;
                items = j->p;
                /* skipped now, read below once the type is known */
                int d = 0;
                do {
                    char ch = *j->p++;
                    if (ch == '\0' || ch == '\\')
                        return -1;
                    if (ch == '"') {
                        while (*j->p && *j->p != '"' && *j->p != '\\')
                            j->p++;
                        if (*j->p != '"')
                            return -1;
                        j->p++;
                    } else if (ch == '[' || ch == '{') {
                        d++;
                    } else if (ch == ']' || ch == '}') {
                        d--;
                    }
                } while (d > 0);
                items_end = j->p;
            }
            if (fj_eat(j, '}'))
                break;
            if (!fj_eat(j, ','))
                return -1;
        }
    }
    enum ftype t;
    if (!tn || type_from_name(tn, &t) < 0)
        return -1;
    f->personal = personal;
    f->v.type = t;
    if ((t == FT_LIST) != (items != NULL))
        return -1;                 /* jansson would ignore stray items */
    if (t == FT_LIST) {
        f->v.present = !vnull;
        const char *save = j->p;
        j->p = items + 1;
        size_t cap = 0;
        if (!fj_eat(j, ']')) {
            for (;;) {
                struct record *it = fj_record(j, depth + 1);
                if (!it)
                    return -1;
                if (f->v.nitems == cap) {
                    size_t nc = cap ? cap * 2 : 4;
                    struct record **v = realloc(f->v.items, nc * sizeof *v);
                    if (!v) {
                        record_free(it);
                        return -1;
                    }
                    f->v.items = v;
                    cap = nc;
                }
                f->v.items[f->v.nitems++] = it;
                if (fj_eat(j, ']'))
                    break;
                if (!fj_eat(j, ','))
                    return -1;
            }
        }
        if (j->p != items_end)
            return -1;
        j->p = save;
        return 0;
    }
    if (!text)
        return 0;                  /* null or no "v": not present */
    if (t == FT_DECIMAL) {
        int64_t n;
        if (scale >= 0 && scale <= 18 && record_dec_parse(text, scale, &n) == 0)
            return fvalue_set_decimal(&f->v, n, scale);
        dec128 w;
        if (scale < 0 || scale > DEC128_MAX_DIGITS ||
            dec128_parse(text, strlen(text), scale, &w) < 0)
            return -1;
        return fvalue_set_wide(&f->v, FT_DECIMAL, w, scale);
    }
    return fvalue_set_text(&f->v, t, text);
}

/* fj_record - {"name":{...},...}; NULL = give up */
static struct record *fj_record(struct fj *j, int depth)
{
    if (depth > 32 || !fj_eat(j, '{'))
        return NULL;
    struct record *r = record_new();
    if (!r)
        return NULL;
    if (fj_eat(j, '}'))
        return r;
    size_t off = 0;
    for (;;) {
        const char *k = fj_str(j, &off);
        if (!k || !fj_eat(j, ':') || record_field(r, k))
            goto fail;
        struct record_field *f = record_add(r, k);
        if (!f || fj_field(j, f, off, depth) != 0)
            goto fail;
        off = 0;
        if (fj_eat(j, '}'))
            return r;
        if (!fj_eat(j, ','))
            goto fail;
    }
fail:
    record_free(r);
    return NULL;
}

/* record_from_canonical - the fast path; NULL when it gives up */
static struct record *record_from_canonical(const char *json)
{
    size_t n = strlen(json);
    char small[1024];
    struct fj j = { .p = json, .tmp = n < sizeof small ? small
                                                       : malloc(n + 1) };
    if (!j.tmp)
        return NULL;
    struct record *r = fj_record(&j, 0);
    if (r) {
        fj_ws(&j);
        if (*j.p) {
            record_free(r);
            r = NULL;
        }
    }
    if (j.tmp != small)
        free(j.tmp);
    return r;
}

struct record *record_from_json(const char *json, struct errs *e)
{
    struct record *fast = json ? record_from_canonical(json) : NULL;
    if (fast)
        return fast;
    json_error_t je;
    json_t *o = json_loads(json, JSON_REJECT_DUPLICATES, &je);
    if (!o) {
        errs_add(e, "record", "line %d, column %d: %s", je.line, je.column,
                 je.text);
        return NULL;
    }
    struct record *r = record_from_obj(o, "", e);
    json_decref(o);
    return r;
}
