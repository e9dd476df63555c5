/* fixedwidth.c - a typed record to one COBOL record's bytes, following a
 * copybook layout and a mapping section: the plan (names bound once) and
 * the encoder.  See fixedwidth.h; the way back is fw_decode.c.
 *
 * Encoding runs in three passes over a buffer of spaces: COBOL defaults
 * (VALUE, else spaces or zero), then the assignments in mapping order,
 * then OCCURS DEPENDING ON counts.  Every error names the COBOL field and
 * its offset; nothing is truncated or rounded unless the mapping said so
 * (and then it is reported as a note). */
#include "mappings/fixedwidth.h"
#include "util/tz.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/errs.h"
#include "util/utf8.h"

enum bind_kind {
    B_SCALAR,        /* field outside tables, from a scalar */
    B_LIST_FIELD,    /* field in a table, from "LIST.FIELD" */
    B_LIST_TABLE,    /* the table itself, from a list, by child names */
};

struct fw_bind {
    const struct map_assign *a;
    const struct cpy_field *f;
    const struct cpy_field *table;   /* nearest OCCURS at or above f */
    enum bind_kind kind;
    char *list, *sub;                /* B_LIST_FIELD / B_LIST_TABLE */
    bool is_const;
    dec128 cnum;
    int cscale;
    /* where the last record held from= (and each item sub=): shared by
     * the threads encoding with the plan, a hint only (record_get_at) */
    _Atomic size_t at, at_sub;
};

/* The record's bytes before any assignment (spaces, then the COBOL
 * defaults, then the assigned REDEFINES views' defaults): the same for
 * every record in one code page, so made once and copied. */
struct fw_tmpl {
    int key;                         /* cob_codec_key of its code page */
    unsigned char bytes[];
};

struct fw_plan {
    const struct cpy_record *rec;
    struct fw_bind *b;
    size_t nb;
    const struct cpy_field **active;  /* REDEFINES views written to */
    size_t nactive;
    struct tz *london;               /* for local-time="true" datetimes */
    _Atomic(struct fw_tmpl *) tmpl;  /* made by the first fw_encode */
};

/* ---- notes -------------------------------------------------------------- */

void fw_notes_free(struct fw_notes *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++) {
        free(n->v[i].field);
        free(n->v[i].what);
    }
    free(n->v);
    memset(n, 0, sizeof *n);
}

static void note_add(struct fw_notes *n, const char *field,
                     const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void note_add(struct fw_notes *n, const char *field,
                     const char *fmt, ...)
{
    if (!n)
        return;
    if (n->n == n->cap) {
        size_t cap = n->cap ? n->cap * 2 : 8;
        struct fw_note *v = realloc(n->v, cap * sizeof *v);
        if (!v)
            return;
        n->v = v;
        n->cap = cap;
    }
    char *what = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&what, fmt, ap) < 0)
        what = NULL;
    va_end(ap);
    char *f = strdup(field);
    if (!what || !f) {
        free(what);
        free(f);
        return;
    }
    n->v[n->n].field = f;
    n->v[n->n].what = what;
    n->n++;
}

/* ---- dates -------------------------------------------------------------- */

static int day_of_year(int y, int m, int d)
{
    return (int)(record_days_from_civil(y, m, d) - record_days_from_civil(y, 1, 1)) + 1;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* digits - v (0 <= v) as exactly width digits at o; returns the end */
static char *digits(char *o, int v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        o[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return o + width;
}

/* fw_date_digits - see fixedwidth.h */
int fw_date_digits(const struct fvalue *v, const char *format, char *out,
                   size_t outsz)
{
    int64_t days, ms_of_day = 0;
    if (v->type == FT_DATE) {
        days = v->num;
    } else if (v->type == FT_DATETIME) {
        days = floor_div(v->num, 86400000);
        ms_of_day = v->num - days * 86400000;
    } else {
        return -1;
    }
    if (days < -719468 || days > 2932896)     /* years 0000..9999 */
        return -1;
    int y, m, d;
    record_date_from_days(days, &y, &m, &d);
    int hh = (int)(ms_of_day / 3600000), mi = (int)(ms_of_day / 60000 % 60),
        ss = (int)(ms_of_day / 1000 % 60);
    const char *f = format && *format ? format : "CCYYMMDD";
    /* digits by hand: this runs for every date of every record */
    char b[32], *o = b;
    if (!strcasecmp(f, "CCYYMMDD") || !strcasecmp(f, "YYYYMMDD")) {
        o = digits(digits(digits(o, y, 4), m, 2), d, 2);
    } else if (!strcasecmp(f, "YYMMDD")) {
        o = digits(digits(digits(o, y % 100, 2), m, 2), d, 2);
    } else if (!strcasecmp(f, "CYYDDD")) {
        if (y < 1900 || y > 2899)
            return -1;
        o = digits(digits(digits(o, (y - 1900) / 100, 1), y % 100, 2),
                   day_of_year(y, m, d), 3);
    } else if (!strcasecmp(f, "JULIAN") || !strcasecmp(f, "CCYYDDD") ||
               !strcasecmp(f, "YYYYDDD")) {
        o = digits(digits(o, y, 4), day_of_year(y, m, d), 3);
    } else if (!strcasecmp(f, "ISO") || !strcasecmp(f, "YYYY-MM-DD")) {
        o = digits(o, y, 4);
        *o++ = '-';
        o = digits(o, m, 2);
        *o++ = '-';
        o = digits(o, d, 2);
    } else if (!strcasecmp(f, "HHMMSS") && v->type == FT_DATETIME) {
        o = digits(digits(digits(o, hh, 2), mi, 2), ss, 2);
    } else if (!strcasecmp(f, "CCYYMMDDHHMMSS") && v->type == FT_DATETIME) {
        o = digits(digits(digits(o, y, 4), m, 2), d, 2);
        o = digits(digits(digits(o, hh, 2), mi, 2), ss, 2);
    } else {
        return -1;
    }
    size_t n = (size_t)(o - b);
    if (n >= outsz)
        return -1;
    memcpy(out, b, n);
    out[n] = '\0';
    return 0;
}

/* local_text - the canonical text of a datetime seen on a local clock:
 * RFC 3339 with the offset in force ("2026-07-28T00:41:03.512+01:00"),
 * so a text field filled with local-time="true" and no format shows the
 * local time and says so */
static void local_text(int64_t local_ms, int offset_s, char *out)
{
    int64_t days = floor_div(local_ms, 86400000);
    int64_t ms = local_ms - days * 86400000;
    int y, m, d;
    record_date_from_days(days, &y, &m, &d);
    char *o = digits(out, y, 4);
    *o++ = '-';
    o = digits(o, m, 2);
    *o++ = '-';
    o = digits(o, d, 2);
    *o++ = 'T';
    o = digits(o, (int)(ms / 3600000), 2);
    *o++ = ':';
    o = digits(o, (int)(ms / 60000 % 60), 2);
    *o++ = ':';
    o = digits(o, (int)(ms / 1000 % 60), 2);
    *o++ = '.';
    o = digits(o, (int)(ms % 1000), 3);
    *o++ = offset_s < 0 ? '-' : '+';
    int a = offset_s < 0 ? -offset_s : offset_s;
    o = digits(o, a / 3600, 2);
    *o++ = ':';
    o = digits(o, a / 60 % 60, 2);
    *o = '\0';
}

static bool known_format(const char *f)
{
    static const char *const ok[] = {
        "CCYYMMDD", "YYYYMMDD", "YYMMDD", "CYYDDD", "JULIAN", "CCYYDDD",
        "YYYYDDD", "ISO", "YYYY-MM-DD", "HHMMSS", "CCYYMMDDHHMMSS", NULL
    };
    for (size_t i = 0; ok[i]; i++)
        if (!strcasecmp(f, ok[i]))
            return true;
    return false;
}

/* ---- plan --------------------------------------------------------------- */

static const struct cpy_field *table_of(const struct cpy_field *f)
{
    for (; f; f = f->parent)
        if (f->occurs_max)
            return f;
    return NULL;
}

void fw_plan_free(struct fw_plan *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nb; i++) {
        free(p->b[i].list);
        free(p->b[i].sub);
    }
    free(p->b);
    free(p->active);
    tz_free(p->london);
    free(atomic_load(&p->tmpl));
    free(p);
}

size_t fw_plan_length(const struct fw_plan *p)
{
    return p->rec->length;
}

static void add_active(struct fw_plan *p, const struct cpy_field *f)
{
    /* every REDEFINES view above f, outermost included */
    for (; f; f = f->parent) {
        if (!f->redefines)
            continue;
        bool have = false;
        for (size_t i = 0; i < p->nactive; i++)
            have = have || p->active[i] == f;
        if (!have)
            p->active[p->nactive++] = f;
    }
}

/* fw_plan_new - see fixedwidth.h */
struct fw_plan *fw_plan_new(const struct cpy_record *rec,
                            const struct map_section *sec, struct errs *e)
{
    struct fw_plan *p = calloc(1, sizeof *p);
    size_t na = sec ? sec->na : 0;
    if (!p)
        goto nomem;
    p->rec = rec;
    p->b = calloc(na ? na : 1, sizeof *p->b);
    p->active = calloc(rec->nflat ? rec->nflat : 1, sizeof *p->active);
    if (!p->b || !p->active)
        goto nomem;
    int bad = 0;
    for (size_t i = 0; i < na && !p->london; i++)
        if (sec->a[i].local_time && !(p->london = tz_load("Europe/London", e)))
            goto fail_tz;
    for (size_t i = 0; i < na; i++) {
        const struct map_assign *a = &sec->a[i];
        char where[160];
        snprintf(where, sizeof where, "line %d: to=%s", a->line,
                 a->to ? a->to : "");
        bool amb = false;
        const struct cpy_field *f = a->to ? cpy_field_find(rec, a->to, &amb)
                                          : NULL;
        if (!f) {
            errs_add(e, where, amb ? "ambiguous: qualify it as GROUP.NAME"
                                   : "no such field in %s", rec->name);
            bad++;
            continue;
        }
        if (f->filler || f->level == 66 || f->level == 88) {
            errs_add(e, where, "cannot assign to this entry");
            bad++;
            continue;
        }
        if (!a->from && !a->value) {
            errs_add(e, where, "needs from= or value=");
            bad++;
            continue;
        }
        if (a->format && !known_format(a->format)) {
            errs_add(e, where, "unknown date format %s", a->format);
            bad++;
            continue;
        }
        struct fw_bind *b = &p->b[p->nb];
        atomic_init(&b->at, 0);
        atomic_init(&b->at_sub, 0);
        b->a = a;
        b->f = f;
        b->table = table_of(f);
        b->kind = B_SCALAR;
        /* record field names have no dots, so a dotted from= outside a
         * table is "LIST.#" (the count) or a mistake that would quietly
         * leave the field at its default */
        const char *ldot = a->from && a->from[0] != '$'
                           ? strchr(a->from, '.') : NULL;
        if (!b->table && ldot && strcmp(ldot, ".#") != 0) {
            errs_add(e, where, "from=%s names a field of a list's items: "
                     "LIST.FIELD fills a field inside an OCCURS table, and "
                     "%s is not in one (LIST.# gives the item count)",
                     a->from, f->name);
            bad++;
            continue;
        }
        if (b->table) {
            if (!a->from || a->from[0] == '$') {
                errs_add(e, where, "is in table %s: from= must name a list",
                         b->table->name);
                bad++;
                continue;
            }
            if (table_of(b->table->parent)) {
                const char *dot = strchr(a->from, '.');
                if (b->table != f || dot) {
                    errs_add(e, where, "nested tables are filled from the "
                             "outer table's list only");
                    bad++;
                    continue;
                }
            }
            const char *dot = strchr(a->from, '.');
            if (b->table == f && !dot) {
                b->kind = B_LIST_TABLE;
                b->list = strdup(a->from);
                if (!b->list)
                    goto nomem;
            } else if (dot && dot != a->from && dot[1]) {
                b->kind = B_LIST_FIELD;
                b->list = strndup(a->from, (size_t)(dot - a->from));
                b->sub = strdup(dot + 1);
                if (!b->list || !b->sub)
                    goto nomem;
                if (f->nkids) {
                    errs_add(e, where, "LIST.FIELD fills an elementary "
                             "field, not group %s", f->name);
                    bad++;
                    continue;
                }
            } else {
                errs_add(e, where, "is in table %s: from= must be LIST.FIELD"
                         " (or name the table with from=LIST)",
                         b->table->name);
                bad++;
                continue;
            }
        }
        if (a->value && !a->from) {
            b->is_const = true;
            if (f->pic.cls == COB_NUMERIC) {
                int sc = f->pic.scale > 0 ? f->pic.scale : 0;
                if (dec128_parse(a->value, strlen(a->value), sc,
                                 &b->cnum) < 0) {
                    errs_add(e, where, "value '%s' is not a number with at "
                             "most %d decimal places", a->value, sc);
                    bad++;
                    continue;
                }
                b->cscale = sc;
            }
        }
        add_active(p, f);
        p->nb++;
    }
    if (bad) {
        fw_plan_free(p);
        return NULL;
    }
    return p;
nomem:
    errs_add(e, "", "out of memory");
fail_tz:
    fw_plan_free(p);
    return NULL;
}

/* ---- encoding ----------------------------------------------------------- */

struct enc {
    const struct fw_plan *p;
    const struct cob_codec *cc;
    unsigned char *out;
    size_t len;
    struct fw_notes *notes;
    struct errs *e;
    int bad;
    struct fvalue count;             /* "LIST.#" source: the item count */
    char count_text[24];
};

static void field_where(const struct cpy_field *f, long idx, char *w,
                        size_t wsz)
{
    if (idx >= 0)
        snprintf(w, wsz, "%s(%ld)", f->name, idx + 1);
    else
        snprintf(w, wsz, "%s", f->name);
}

static void enc_err(struct enc *E, const struct cpy_field *f, long idx,
                    size_t off, const char *msg)
{
    char w[128];
    field_where(f, idx, w, sizeof w);
    errs_add(E->e, w, "offset %zu: %s", off, msg);
    E->bad++;
}

/* text_pic - a group written as text is PIC X(length) */
static struct cob_pic text_pic(const struct cpy_field *f)
{
    struct cob_pic p = f->pic;
    if (p.cls == COB_GROUP) {
        p.cls = COB_ALNUM;
        p.usage = COB_DISPLAY;
        p.digits = (int)f->length;
        p.length = f->length;
    }
    return p;
}

/* put_value_lit - a VALUE clause literal into a field */
static void put_lit(struct enc *E, const struct cpy_field *f, size_t off,
                    const struct cpy_value *v)
{
    unsigned char *o = E->out + off;
    struct cob_pic p = text_pic(f);
    size_t n = f->length;
    char msg[256];
    switch (v->kind) {
    case CPY_VAL_SPACES:
        cob_fill_spaces(E->cc, o, n);
        return;
    case CPY_VAL_HIGH:
        memset(o, 0xFF, n);
        return;
    case CPY_VAL_LOW:
        memset(o, 0x00, n);
        return;
    case CPY_VAL_ZEROS:
    case CPY_VAL_QUOTES:
        if (p.cls == COB_NUMERIC) {
            cob_fill_default(E->cc, &p, o);
        } else {
            unsigned char z;
            const char *ch = v->kind == CPY_VAL_ZEROS ? "0" : "\"";
            cob_text_encode(E->cc, &(struct cob_pic){ .cls = COB_ALNUM,
                            .length = 1, .digits = 1 }, ch, 1, 0, &z, NULL,
                            NULL, 0);
            memset(o, z, n);
        }
        return;
    case CPY_VAL_NUMBER:
        if (p.cls == COB_NUMERIC) {
            dec128 x;
            int sc = p.scale > 0 ? p.scale : 0;
            if (dec128_parse(v->text, strlen(v->text), sc, &x) < 0 ||
                cob_num_encode_wide(E->cc, &p, x, sc, o, msg,
                                    sizeof msg) < 0) {
                enc_err(E, f, -1, off, "VALUE does not fit the PIC");
            }
            return;
        }
        break;
    case CPY_VAL_TEXT:
        if (v->hex) {
            for (size_t i = 0; i < n; i++)
                o[i] = i < v->len || v->all
                       ? (unsigned char)v->text[v->len ? i % v->len : 0]
                       : (unsigned char)0;
            if (!v->all && v->len < n)
                cob_fill_spaces(E->cc, o + v->len, n - v->len);
            return;
        }
        break;
    case CPY_VAL_NONE:
    default:
        cob_fill_default(E->cc, &p, o);
        return;
    }
    if (p.cls == COB_NUMERIC) {
        cob_fill_default(E->cc, &p, o);
        return;
    }
    if (v->all && v->len) {
        struct cob_pic one = p;
        one.length = 1;
        one.justified = false;
        for (size_t i = 0; i < n; i++)
            if (cob_text_encode(E->cc, &one, v->text + i % v->len, 1,
                                COB_TX_FOLD, o + i, NULL, msg,
                                sizeof msg) < 0) {
                enc_err(E, f, -1, off, msg);
                return;
            }
        return;
    }
    if (cob_text_encode(E->cc, &p, v->text, v->len,
                        COB_TX_TRUNCATE | COB_TX_FOLD, o, NULL, msg,
                        sizeof msg) < 0)
        enc_err(E, f, -1, off, msg);
}

static bool view_active(const struct fw_plan *p, const struct cpy_field *f)
{
    for (size_t i = 0; i < p->nactive; i++)
        if (p->active[i] == f)
            return true;
    return false;
}

/* defaults - COBOL's initial bytes for f (and all its occurrences) */
static void defaults(struct enc *E, const struct cpy_field *f, size_t adj,
                     bool views)
{
    if (f->redefines && !(views && view_active(E->p, f)))
        return;
    size_t occ = f->occurs_max ? f->occurs_max : 1;
    for (size_t k = 0; k < occ; k++) {
        size_t off = f->offset + adj + k * f->length;
        if (off + f->length > E->len)
            return;
        if (f->nkids == 0) {
            put_lit(E, f, off, &f->value);
            continue;
        }
        if (f->value.kind != CPY_VAL_NONE)     /* VALUE on a group */
            put_lit(E, f, off, &f->value);
        else
            for (size_t i = 0; i < f->nkids; i++)
                defaults(E, f->kids[i], adj + k * f->length, views);
    }
}

/* active_views - the REDEFINES views that are assigned, after the base */
static void active_views(struct enc *E, const struct cpy_field *f)
{
    for (size_t i = 0; i < f->nkids; i++) {
        const struct cpy_field *k = f->kids[i];
        if (k->redefines && view_active(E->p, k) && !k->occurs_max &&
            !table_of(k->parent))
            defaults(E, k, 0, true);
        else if (k->nkids)
            active_views(E, k);
    }
}

static const struct fvalue *rec_get_ci(const struct record *r,
                                       const char *name)
{
    if (!r)
        return NULL;
    for (size_t i = 0; i < r->n; i++)
        if (r->f[i].name && !strcasecmp(r->f[i].name, name))
            return &r->f[i].v;
    return NULL;
}

/* put_value - one typed value into one elementary (or group-as-text)
 * field occurrence at off */
static void put_value(struct enc *E, const struct cpy_field *f, long idx,
                      size_t off, const struct fvalue *v,
                      const struct map_assign *a)
{
    unsigned char *o = E->out + off;
    /* a group is written as text; an elementary field by its own PIC,
     * not copied (this runs for every field of every record) */
    struct cob_pic gp;
    const struct cob_pic *pp = &f->pic;
    if (f->pic.cls == COB_GROUP) {
        gp = text_pic(f);
        pp = &gp;
    }
    char msg[256], tmp[DEC128_TEXT];
    char w[128];
    if (off + f->length > E->len) {
        enc_err(E, f, idx, off, "beyond the end of the record");
        return;
    }
    if (!v || !v->present) {
        put_lit(E, f, off, &f->value);
        return;
    }
    /* local-time="true": the instant as a clock in Europe/London shows it
     * (its text rebuilt when a text field takes the text itself) */
    struct fvalue local;
    char ltext[48];
    if (a && a->local_time && v->type == FT_DATETIME && E->p->london) {
        int offset = tz_offset_at(E->p->london, floor_div(v->num, 1000));
        local = *v;
        local.num += (int64_t)offset * 1000;
        if (pp->cls != COB_NUMERIC && !a->format) {
            local_text(local.num, offset, ltext);
            local.text = ltext;
        }
        v = &local;
    }
    const char *fmt = a ? a->format : NULL;
    if (pp->cls != COB_NUMERIC) {
        const char *s = v->text ? v->text : "";
        if (v->type == FT_DATE || v->type == FT_DATETIME) {
            if (fmt || v->type == FT_DATE) {
                if (fw_date_digits(v, fmt ? fmt : (f->length >= 10 ? "ISO"
                                   : "CCYYMMDD"), tmp, sizeof tmp) < 0) {
                    enc_err(E, f, idx, off, "date out of range for format");
                    return;
                }
                s = tmp;
            }
        } else if (v->type == FT_BOOLEAN && f->length < 4) {
            s = v->num ? "Y" : "N";
        } else if (v->type == FT_LIST) {
            enc_err(E, f, idx, off, "a list cannot fill a text field");
            return;
        }
        unsigned flags = 0, what = 0;
        if (a && a->truncate)
            flags |= COB_TX_TRUNCATE;
        if (a && a->fold)
            flags |= COB_TX_FOLD;
        if (cob_text_encode(E->cc, pp, s, strlen(s), flags, o, &what, msg,
                            sizeof msg) < 0) {
            enc_err(E, f, idx, off, msg);
            return;
        }
        if (what)
            field_where(f, idx, w, sizeof w);
        if (what & COB_TX_TRUNCATED) {
            size_t chars = utf8_chars(s, strlen(s));
            note_add(E->notes, w, "truncated from %zu to %zu characters",
                     chars, f->length);
        }
        if (what & COB_TX_FOLDED)
            note_add(E->notes, w, "folded to plain letters");
        return;
    }
    dec128 x = 0;
    int sc = 0;
    int psc = pp->scale > 0 ? pp->scale : 0;
    switch (v->type) {
    case FT_INTEGER:
    case FT_DECIMAL:
        if (fvalue_wide(v, &x, &sc) < 0) {
            enc_err(E, f, idx, off, "bad number");
            return;
        }
        break;
    case FT_BOOLEAN:
        x = v->num ? 1 : 0;
        break;
    case FT_DATE:
    case FT_DATETIME: {
        int64_t d;
        if (fw_date_digits(v, fmt, tmp, sizeof tmp) < 0 ||
            record_dec_parse(tmp, 0, &d) < 0) {
            enc_err(E, f, idx, off, "date cannot be written in this format");
            return;
        }
        x = d;
        break;
    }
    case FT_STRING:
    case FT_ENUM: {
        const char *s = v->text ? v->text : "";
        while (*s == ' ')
            s++;
        size_t n = strlen(s);
        while (n && s[n - 1] == ' ')
            n--;
        if (n >= sizeof tmp || dec128_parse(s, n, psc, &x) < 0) {
            snprintf(msg, sizeof msg, "'%.40s' is not a number with at most "
                     "%d decimal places", s, psc);
            enc_err(E, f, idx, off, msg);
            return;
        }
        sc = psc;
        break;
    }
    case FT_LIST:
    default:
        enc_err(E, f, idx, off, "a list cannot fill a numeric field");
        return;
    }
    if (cob_num_encode_wide(E->cc, pp, x, sc, o, msg, sizeof msg) < 0)
        enc_err(E, f, idx, off, msg);
}

/* source - a record field, a "$special", or "LIST.#": how many items
 * the list holds (0 when absent), for a count field that is not an
 * OCCURS DEPENDING ON object (those are filled automatically) */
/* get_at - record_get_at through the plan's shared hint at */
static const struct fvalue *get_at(const struct record *r, const char *name,
                                   _Atomic size_t *at)
{
    size_t i = atomic_load_explicit(at, memory_order_relaxed), was = i;
    const struct fvalue *v = record_get_at(r, name, &i);
    if (i != was)
        atomic_store_explicit(at, i, memory_order_relaxed);
    return v;
}

static const struct fvalue *source(struct enc *E, const struct record *r,
                                   const struct record *specials,
                                   const char *from, _Atomic size_t *at)
{
    if (from[0] == '$' && specials)
        return get_at(specials, from, at);
    size_t n = strlen(from);
    if (n > 2 && from[n - 2] == '.' && from[n - 1] == '#') {
        char list[128];
        if (n - 2 >= sizeof list)
            return NULL;
        memcpy(list, from, n - 2);
        list[n - 2] = '\0';
        const struct fvalue *lv = get_at(r, list, at);
        if (lv && lv->type != FT_LIST)
            return NULL;
        size_t items = lv && lv->present ? lv->nitems : 0;
        memset(&E->count, 0, sizeof E->count);
        E->count.type = FT_INTEGER;
        E->count.present = true;
        E->count.num = (int64_t)items;
        char tmp[24];
        size_t nd = 0, k = 0;
        do {
            tmp[nd++] = (char)('0' + items % 10);
            items /= 10;
        } while (items);
        while (nd)
            E->count_text[k++] = tmp[--nd];
        E->count_text[k] = '\0';
        E->count.text = E->count_text;
        return &E->count;
    }
    return get_at(r, from, at);
}

/* fill_item - one table occurrence (group f at adj) from one item */
static void fill_item(struct enc *E, const struct cpy_field *g, size_t adj,
                      long idx, const struct record *item)
{
    for (size_t i = 0; i < g->nkids; i++) {
        const struct cpy_field *k = g->kids[i];
        if (k->filler || k->redefines)
            continue;
        if (k->occurs_max) {
            const struct fvalue *lv = rec_get_ci(item, k->name);
            if (!lv || !lv->present)
                continue;
            if (lv->type != FT_LIST) {
                enc_err(E, k, idx, k->offset + adj, "needs a list");
                continue;
            }
            if (lv->nitems > k->occurs_max) {
                char m[96];
                snprintf(m, sizeof m, "%zu items; the table holds %zu",
                         lv->nitems, k->occurs_max);
                enc_err(E, k, idx, k->offset + adj, m);
                continue;
            }
            for (size_t j = 0; j < lv->nitems; j++) {
                size_t a2 = adj + j * k->length;
                if (k->nkids)
                    fill_item(E, k, a2, (long)j, lv->items[j]);
                else if (lv->items[j] && lv->items[j]->n)
                    put_value(E, k, (long)j, k->offset + a2,
                              rec_get_ci(lv->items[j], k->name)
                              ? rec_get_ci(lv->items[j], k->name)
                              : &lv->items[j]->f[0].v, NULL);
            }
            continue;
        }
        if (k->nkids) {
            fill_item(E, k, adj, idx, item);
            continue;
        }
        const struct fvalue *v = rec_get_ci(item, k->name);
        if (v)
            put_value(E, k, idx, k->offset + adj, v, NULL);
    }
}

/* initial - the record's bytes before the assignments, as the first two
 * passes write them */
static void initial(struct enc *E)
{
    cob_fill_spaces(E->cc, E->out, E->p->rec->length);     /* slack too */
    defaults(E, E->p->rec->root, 0, false);
    active_views(E, E->p->rec->root);
}

/* tmpl_for - p's initial bytes in cc's code page, made on first use and
 * then shared (a plan is shared between threads: the first to finish
 * publishes its copy); NULL when they cannot be made once for all (a
 * VALUE that does not fit: each record reports it) or for another code
 * page than the first one asked for */
static const struct fw_tmpl *tmpl_for(const struct fw_plan *p,
                                      const struct cob_codec *cc)
{
    struct fw_plan *mp = (struct fw_plan *)p;   /* the cache only */
    int key = cob_codec_key(cc);
    struct fw_tmpl *t = atomic_load_explicit(&mp->tmpl, memory_order_acquire);
    if (t)
        return t->key == key ? t : NULL;
    t = malloc(sizeof *t + p->rec->length + 1);
    if (!t)
        return NULL;
    t->key = key;
    struct errs scratch;
    errs_init(&scratch);
    struct enc E = { .p = p, .cc = cc, .out = t->bytes,
                     .len = p->rec->length, .e = &scratch };
    initial(&E);
    errs_free(&scratch);
    if (E.bad) {
        free(t);
        return NULL;
    }
    struct fw_tmpl *none = NULL;
    if (!atomic_compare_exchange_strong_explicit(&mp->tmpl, &none, t,
                                                 memory_order_acq_rel,
                                                 memory_order_acquire)) {
        free(t);
        t = none;
    }
    return t->key == key ? t : NULL;
}

/* fw_encode - see fixedwidth.h */
int fw_encode(const struct fw_plan *p, const struct cob_codec *cc,
              const struct record *r, const struct record *specials,
              unsigned char *out, size_t outsz, size_t *used,
              struct fw_notes *notes, struct errs *e)
{
    const struct cpy_record *rec = p->rec;
    struct enc E = { .p = p, .cc = cc, .out = out, .len = rec->length,
                     .notes = notes, .e = e };
    if (outsz < rec->length) {
        errs_add(e, rec->name, "buffer of %zu bytes; record needs %zu",
                 outsz, rec->length);
        return -1;
    }
    const struct fw_tmpl *t0 = tmpl_for(p, cc);
    if (t0)
        memcpy(out, t0->bytes, rec->length);
    else
        initial(&E);
    /* item counts per table, for OCCURS DEPENDING ON */
    size_t counts[64];
    const struct cpy_field *tables[64];
    size_t ntables = 0;
    for (size_t i = 0; i < p->nb; i++) {
        const struct fw_bind *b = &p->b[i];
        const struct map_assign *a = b->a;
        if (b->kind == B_SCALAR) {
            if (b->is_const && b->f->pic.cls == COB_NUMERIC) {
                char msg[256];
                if (cob_num_encode_wide(cc, &b->f->pic, b->cnum, b->cscale,
                                   out + b->f->offset, msg, sizeof msg) < 0)
                    enc_err(&E, b->f, -1, b->f->offset, msg);
                continue;
            }
            struct fvalue cv;
            const struct fvalue *v;
            if (b->is_const) {
                memset(&cv, 0, sizeof cv);
                cv.type = FT_STRING;
                cv.present = true;
                cv.text = a->value;
                v = &cv;
            } else {
                v = source(&E, r, specials, a->from,
                           &((struct fw_bind *)b)->at);
                if (!v && a->from[0] == '$') {
                    enc_err(&E, b->f, -1, b->f->offset, "unknown source");
                    continue;
                }
            }
            put_value(&E, b->f, -1, b->f->offset, v, a);
            continue;
        }
        const struct fvalue *lv = get_at(r, b->list,
                                         &((struct fw_bind *)b)->at);
        if (!lv || !lv->present)
            continue;                     /* absent list: defaults stay */
        const struct cpy_field *t = b->table;
        if (lv->type != FT_LIST) {
            enc_err(&E, t, -1, t->offset, "from= must name a list field");
            continue;
        }
        if (lv->nitems > t->occurs_max ||
            (t->odo && lv->nitems < t->occurs_min)) {
            char m[128];
            snprintf(m, sizeof m, "%zu items; the table holds %zu to %zu",
                     lv->nitems, t->occurs_min, t->occurs_max);
            enc_err(&E, t, -1, t->offset, m);
            continue;
        }
        size_t ti = 0;
        while (ti < ntables && tables[ti] != t)
            ti++;
        if (ti == ntables && ntables < 64) {
            tables[ntables] = t;
            counts[ntables++] = lv->nitems;
        } else if (ti < ntables && counts[ti] != lv->nitems) {
            enc_err(&E, t, -1, t->offset, "lists filling this table differ "
                    "in length");
            continue;
        }
        for (size_t j = 0; j < lv->nitems; j++) {
            const struct record *item = lv->items[j];
            size_t adj = j * t->length;
            if (b->kind == B_LIST_TABLE) {
                if (t->nkids)
                    fill_item(&E, t, adj, (long)j, item);
                else if (item && item->n)
                    put_value(&E, t, (long)j, t->offset + adj,
                              rec_get_ci(item, t->name)
                              ? rec_get_ci(item, t->name) : &item->f[0].v,
                              a);
            } else {
                const struct fvalue *v =
                    item ? get_at(item, b->sub, &((struct fw_bind *)b)->at_sub)
                         : NULL;
                put_value(&E, b->f, (long)j, b->f->offset + adj, v, a);
            }
        }
    }
    /* OCCURS DEPENDING ON counts not assigned explicitly */
    size_t use = rec->length;
    for (size_t i = 0; i < rec->nflat; i++) {
        const struct cpy_field *t = rec->flat[i];
        if (!t->odo)
            continue;
        size_t count = t->occurs_min;
        for (size_t k = 0; k < ntables; k++)
            if (tables[k] == t)
                count = counts[k];
        bool explicit = false;
        for (size_t k = 0; k < p->nb; k++)
            explicit = explicit || p->b[k].f == t->odo;
        if (explicit) {
            int64_t x;
            int sc;
            char msg[128];
            if (cob_num_decode(cc, &t->odo->pic, out + t->odo->offset, &x,
                               &sc, msg, sizeof msg) == 0 && x >= 0 &&
                (size_t)x <= t->occurs_max && (size_t)x >= t->occurs_min)
                count = (size_t)x;
            else
                enc_err(&E, t->odo, -1, t->odo->offset,
                        "count is outside the table's OCCURS range");
        } else {
            char msg[256];
            if (cob_num_encode(cc, &t->odo->pic, (int64_t)count, 0,
                               out + t->odo->offset, msg, sizeof msg) < 0)
                enc_err(&E, t->odo, -1, t->odo->offset, msg);
        }
        if (t->offset + cpy_total_length(t) == rec->length && !table_of(t->parent))
            use = t->offset + count * t->length;
    }
    if (used)
        *used = use;
    return E.bad ? -1 : 0;
}
