/* map_accept.c - applying a mapping's accept part to a submission.
 *
 * For each field in mapping order: find the raw value (JSON path, concat
 * parts, or the named value for CSV), run its transforms in order, then
 * required, pattern and length checks and the <check>s on the text, then
 * the type, then the range.  A refusal carries the mapping's plain message
 * (the check's, else the field's) for the citizen-facing front end.  Every problem is collected with its JSON path (field name
 * for named input); a record is returned only when there is none.
 * Problems never quote the submitted value: fields may be personal. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mappings/jtree.h"
#include "mappings/map_rx.h"
#include "mappings/mapping.h"
#include "util/errs.h"
#include "util/utf8.h"

/* Where a problem is: prefix (the enclosing list item, "items[2].")
 * then the field's path or name.  Joined only when a problem is added, so
 * a valid submission never formats a path. */
struct where {
    const char *prefix;
    const char *name;
};

struct ctx {
    const struct mapping *m;
    const struct jt_doc *jd;     /* the fast path's tree, else jansson's */
    bool named;
    const char *const *names;
    const char *const *values;
    size_t n;
    struct errs *e;
    size_t problems;
    struct jt_memo *memo;        /* the fast path's walks so far */
    /* the fast path: every node of the mapping's paths (struct mapping's
     * paths), found in one walk before the fields; NULL: none */
    const struct jt_node *const *pres;
};

/* A value in the submission: a node of jansson's tree, or of the fast
 * path's (jtree.h) when c->jd is set.  Read only through the jv_
 * functions, so both trees are read by the same rules. */
struct jv {
    const json_t *j;
    const struct jt_node *t;
};

static struct jv jv_get(const struct ctx *c, const struct jpath *p,
                        struct jv base)
{
    if (c->jd)
        return (struct jv){ .t = base.t ? jpath_get_jt_memo(p, c->jd, base.t,
                                                            c->memo)
                                        : NULL };
    return (struct jv){ .j = base.j ? jpath_get(p, base.j) : NULL };
}

/* field_get - the value at f's path under base: the top-level fields'
 * from the walk of the mapping's paths, the same node jv_get finds */
static struct jv field_get(const struct ctx *c, const struct map_field *f,
                           struct jv base)
{
    if (c->pres && f->pnode >= 0 && f >= c->m->fields &&
        f < c->m->fields + c->m->nfields)
        return (struct jv){ .t = c->pres[f->pnode] };
    return jv_get(c, f->jp, base);
}

/* jv_absent - missing or JSON null */
static bool jv_absent(const struct ctx *c, struct jv v)
{
    return c->jd ? !v.t || v.t->type == JT_NULL : !v.j || json_is_null(v.j);
}

static bool jv_is_array(const struct ctx *c, struct jv v)
{
    return c->jd ? v.t && v.t->type == JT_ARRAY : json_is_array(v.j);
}

static size_t jv_size(const struct ctx *c, struct jv a)
{
    return c->jd ? a.t->n : json_array_size(a.j);
}

static struct jv jv_elem(const struct ctx *c, struct jv a, size_t i)
{
    if (c->jd)
        return (struct jv){ .t = jt_elem(c->jd, a.t, i) };
    return (struct jv){ .j = json_array_get(a.j, i) };
}

/* where_text - prefix and name joined into buf (cut to fit) */
static const char *where_text(const struct where *w, char *buf, size_t bsz)
{
    size_t a = strlen(w->prefix), b = strlen(w->name);
    if (a >= bsz)
        a = bsz - 1;
    if (b >= bsz - a)
        b = bsz - a - 1;
    memcpy(buf, w->prefix, a);
    memcpy(buf + a, w->name, b);
    buf[a + b] = '\0';
    return buf;
}

static void vprob(struct ctx *c, const struct where *w, const char *plain,
                  const char *fmt, va_list ap)
{
    char buf[700];
    size_t before = c->e->n;
    errs_vadd(c->e, where_text(w, buf, sizeof buf), fmt, ap);
    if (c->e->n > before)
        errs_set_plain(c->e, plain);
    c->problems++;
}

__attribute__((format(printf, 3, 4)))
static void prob(struct ctx *c, const struct where *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprob(c, w, NULL, fmt, ap);
    va_end(ap);
}

/* fprob - a refusal of field f: carries the mapping's plain message
 * (plain, else f's message=) beside the technical reason */
__attribute__((format(printf, 5, 6)))
static void fprob(struct ctx *c, const struct map_field *f,
                  const struct where *w, const char *plain, const char *fmt,
                  ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprob(c, w, plain ? plain : f->message, fmt, ap);
    va_end(ap);
}

/* missing - the required field f is absent */
static void missing(struct ctx *c, const struct map_field *f,
                    const struct where *w, const char *why)
{
    fprob(c, f, w, f->required_message, "%s", why);
}

/* named_value - value for name in named input, or NULL */
static const char *named_value(const struct ctx *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->names[i] && strcmp(c->names[i], name) == 0)
            return c->values[i];
    return NULL;
}

/* scalar - text of a JSON value at where; NULL when absent or refused
 * (refusals are problems, *bad set) */
static char *scalar(struct ctx *c, struct jv v, const struct where *where,
                    bool *bad)
{
    if (jv_absent(c, v))
        return NULL;
    const char *why = NULL;
    char *t = c->jd ? jpath_scalar_text_jt(v.t, &why)
                    : jpath_scalar_text(v.j, &why);
    if (!t) {
        prob(c, where, "%s", why ? why : "out of memory");
        *bad = true;
    }
    return t;
}

/* raw_concat - join parts; absent when every path part is absent */
static char *raw_concat(struct ctx *c, const struct map_field *f,
                        struct jv base, const struct where *where,
                        bool *bad)
{
    size_t cap = 64, len = 0;
    char *out = malloc(cap);
    bool any = false;
    if (!out)
        goto nomem;
    out[0] = '\0';
    for (size_t i = 0; i < f->nparts; i++) {
        const struct map_part *p = &f->parts[i];
        char *piece = NULL;
        const char *add = p->value;
        if (p->path) {
            if (c->named) {
                const char *nv = named_value(c, p->path);
                piece = nv ? strdup(nv) : NULL;
                if (nv && !piece)
                    goto nomem;
            } else {
                piece = scalar(c, jv_get(c, p->jp, base), where, bad);
            }
            if (piece && *piece)
                any = true;
            add = piece;
        }
        size_t al = add ? strlen(add) : 0;
        if (len + al + 1 > cap) {
            cap = (len + al + 1) * 2;
            char *nb = realloc(out, cap);
            if (!nb) {
                free(piece);
                goto nomem;
            }
            out = nb;
        }
        if (al)
            memcpy(out + len, add, al);
        len += al;
        out[len] = '\0';
        free(piece);
    }
    if (!any) {
        free(out);
        return NULL;
    }
    return out;
nomem:
    free(out);
    prob(c, where, "out of memory");
    *bad = true;
    return NULL;
}

static int apply_fields(struct ctx *c, const struct map_field *fields,
                        size_t nf, struct jv base, const char *prefix,
                        struct record *r);

/* TEXT_GUESS - bytes a value's text is given in its record's first block
 * (a date's is 11, a datetime's 25; more goes to another block) */
#define TEXT_GUESS 24

/* ITEMS_GUESS - list items a record's first block has room for */
#define ITEMS_GUESS 4

static size_t item_bytes(const struct map_field *f);

/* record_bytes - the bytes fields[0..nf) take in their record's blocks:
 * names and (a guess) the values' texts and a few list items, so that a
 * record is most often one allocation */
static size_t record_bytes(const struct map_field *fields, size_t nf)
{
    size_t nb = 0;
    for (size_t i = 0; i < nf; i++) {
        const struct map_field *f = &fields[i];
        nb += strlen(f->name) + 1 + TEXT_GUESS;
        if (f->type == FT_LIST && f->nsub)
            nb += ITEMS_GUESS * (sizeof(struct record *) + 8 +
                                 record_size_in(f->nsub,
                                                item_bytes(f)));
    }
    return nb;
}

/* item_bytes - record_bytes of list f's items, as prepared */
static size_t item_bytes(const struct map_field *f)
{
    return f->item_bytes ? f->item_bytes : record_bytes(f->sub, f->nsub);
}

/* prepare_sizes - every list's item_bytes under fields[0..nf) */
static void prepare_sizes(struct map_field *fields, size_t nf)
{
    for (size_t i = 0; i < nf; i++) {
        struct map_field *f = &fields[i];
        if (f->type == FT_LIST && f->nsub) {
            prepare_sizes(f->sub, f->nsub);
            f->item_bytes = record_bytes(f->sub, f->nsub);
        }
    }
}

int map_accept_prepare(struct mapping *m)
{
    prepare_sizes(m->fields, m->nfields);
    m->rec_bytes = record_bytes(m->fields, m->nfields);
    if (!(m->paths = jpath_set_new()))
        return -1;
    for (size_t i = 0; i < m->nfields; i++) {
        struct map_field *f = &m->fields[i];
        f->pnode = f->jp ? jpath_set_add(m->paths, f->jp) : -1;
    }
    return 0;
}

/* apply_list - a JSON array; each element is a sub-record */
static void apply_list(struct ctx *c, const struct map_field *f,
                       struct jv base, const struct where *where,
                       struct record *r, struct record_field *rf)
{
    rf->v.type = FT_LIST;
    struct jv v = c->named ? (struct jv){ 0 } : field_get(c, f, base);
    if (c->named && named_value(c, f->name)) {
        prob(c, where, "a list cannot be given as a single value");
        return;
    }
    if (jv_absent(c, v)) {
        if (f->required)
            missing(c, f, where, "required field missing");
        return;
    }
    if (!jv_is_array(c, v)) {
        fprob(c, f, where, NULL, "expected a list (JSON array)");
        return;
    }
    size_t n = jv_size(c, v);
    if (n == 0 && f->required) {
        missing(c, f, where, "required field missing (the list is empty)");
        return;
    }
    if (fvalue_set_list_in(r, &rf->v, n) < 0) {
        prob(c, where, "out of memory");
        return;
    }
    char pre[600];
    where_text(where, pre, sizeof pre - 24);
    size_t pl = strlen(pre);
    for (size_t i = 0; i < n; i++) {
        /* "items[2]." by hand: snprintf per item costs more than the item */
        char num[24];
        size_t nl = 0, k = 0;
        size_t x = i;
        do {
            num[nl++] = (char)('0' + x % 10);
            x /= 10;
        } while (x);
        pre[pl] = '[';
        while (nl)
            pre[pl + 1 + k++] = num[--nl];
        memcpy(pre + pl + 1 + k, "].", 3);
        struct record *sub = record_new_in(r, f->nsub, item_bytes(f));
        if (!sub) {
            prob(c, where, "out of memory");
            return;
        }
        rf->v.items[rf->v.nitems++] = sub;
        apply_fields(c, f->sub, f->nsub, jv_elem(c, v, i), pre, sub);
    }
}

/* check_range - typed min/max */
static void check_range(struct ctx *c, const struct map_field *f,
                        const struct fvalue *v, const struct where *where)
{
    if (v->type != FT_INTEGER && v->type != FT_DECIMAL &&
        v->type != FT_DATE && v->type != FT_DATETIME)
        return;
    if (f->min && v->num < f->min_v)
        fprob(c, f, where, NULL, "less than the minimum %s", f->min);
    if (f->max && v->num > f->max_v)
        fprob(c, f, where, NULL, "more than the maximum %s", f->max);
}

/* apply_field - one field into r */
static void apply_field(struct ctx *c, const struct map_field *f,
                        struct jv base, const char *prefix,
                        struct record *r)
{
    struct where wh = {
        .prefix = c->named ? "" : prefix,
        .name = (!c->named && f->path) ? f->path : f->name,
    };
    const struct where *where = &wh;
    struct record_field *rf = record_add(r, f->name);
    if (!rf) {
        prob(c, where, "out of memory");
        return;
    }
    rf->personal = f->personal;
    rf->v.type = f->type;
    if (f->type == FT_LIST) {
        apply_list(c, f, base, where, r, rf);
        return;
    }
    bool bad = false;
    char *text = NULL;
    /* a JSON string is read onto the stack, and stays there while its
     * transforms only rewrite it in place (map_transform_in_place); the
     * value's text is then kept in the record's blocks, not the heap */
    char small[256];
    if (c->jd && f->path) {
        struct jv sv = field_get(c, f, base);
        if (sv.t && sv.t->type == JT_STRING && sv.t->n < sizeof small) {
            memcpy(small, sv.t->u.s, sv.t->n);
            small[sv.t->n] = '\0';
            text = small;
        } else {
            text = scalar(c, sv, where, &bad);
        }
    } else if (c->named) {
        const char *nv = named_value(c, f->name);
        if (nv) {
            text = strdup(nv);
            if (!text) {
                prob(c, where, "out of memory");
                return;
            }
        } else if (f->nparts) {
            text = raw_concat(c, f, base, where, &bad);
        }
    } else if (f->path) {
        text = scalar(c, jv_get(c, f->jp, base), where, &bad);
    } else if (f->nparts) {
        text = raw_concat(c, f, base, where, &bad);
    }
    if (bad)
        goto out;
    for (size_t i = 0; i < f->ntr; i++) {
        char why[256];
        if (text == small && !map_transform_in_place(&f->tr[i], text)) {
            if (!(text = strdup(small))) {
                prob(c, where, "out of memory");
                goto out;
            }
        }
        if (map_transform_apply(&f->tr[i], &text, why, sizeof why) < 0) {
            fprob(c, f, where, NULL, "%s", why);
            goto out;
        }
    }
    if (!text || !*text) {
        if (f->required)
            missing(c, f, where, "required field missing");
        goto out;
    }
    if (f->has_re && !map_rx_matches(f->rx, &f->re, text))
        fprob(c, f, where, NULL, "does not match pattern %s", f->pattern);
    if (f->min_len >= 0 || f->max_len >= 0) {
        size_t l = utf8_chars(text, strlen(text));
        if (f->min_len >= 0 && l < (size_t)f->min_len)
            fprob(c, f, where, NULL, "shorter than %ld characters",
                  f->min_len);
        if (f->max_len >= 0 && l > (size_t)f->max_len)
            fprob(c, f, where, NULL, "longer than %ld characters",
                  f->max_len);
    }
    for (size_t i = 0; i < f->nchecks; i++) {
        char why[512];
        if (map_check_fails(&f->checks[i], text, why, sizeof why))
            fprob(c, f, where, f->checks[i].message, "%s", why);
    }
    if (f->type == FT_STRING) {
        if (text != small) {
            /* the text is the value: hand it over rather than copy it */
            rf->v.text = text;
            rf->v.present = true;
            return;
        }
        if (fvalue_set_text_n_in(r, &rf->v, FT_STRING, text,
                                 strlen(text)) < 0)
            prob(c, where, "out of memory");
        return;
    }
    char why[512];
    if (map_type_read_in(f, text, r, &rf->v, why, sizeof why) < 0) {
        fprob(c, f, where, NULL, "%s", why);
        fvalue_clear(&rf->v);
        rf->v.type = f->type;
        goto out;
    }
    check_range(c, f, &rf->v, where);
out:
    if (text != small)
        free(text);
}

static int apply_fields(struct ctx *c, const struct map_field *fields,
                        size_t nf, struct jv base, const char *prefix,
                        struct record *r)
{
    for (size_t i = 0; i < nf; i++)
        apply_field(c, &fields[i], base, prefix, r);
    /* a mapping's names are unique at each level (mapping.xsd, and
     * mapping_load for a list's fields) */
    r->unique = r->n == nf;
    return 0;
}

/* run - shared tail of map_apply and map_apply_named */
static int run(struct ctx *c, struct jv doc, struct record **out)
{
    *out = NULL;
    /* room for one field for each, and their texts, in one allocation */
    struct record *r = record_new_sized(
        c->m->nfields, c->m->rec_bytes ? c->m->rec_bytes
                                       : record_bytes(c->m->fields,
                                                      c->m->nfields));
    if (!r) {
        prob(c, &(struct where){ "", "" }, "out of memory");
        return -1;
    }
    apply_fields(c, c->m->fields, c->m->nfields, doc, "", r);
    if (c->problems) {
        record_free(r);
        return -1;
    }
    *out = r;
    return 0;
}

int map_apply(const struct mapping *m, const json_t *doc, struct record **out,
              struct errs *e)
{
    struct ctx c = {.m = m, .e = e};
    if (!json_is_object(doc)) {
        *out = NULL;
        errs_add(e, "body", "expected a JSON object");
        return -1;
    }
    return run(&c, (struct jv){ .j = doc }, out);
}

int map_apply_jt(const struct mapping *m, const struct jt_doc *d,
                 struct record **out, struct errs *e)
{
    struct jt_memo memo;
    memset(&memo, 0, sizeof memo);
    struct ctx c = {.m = m, .jd = d, .e = e, .memo = &memo};
    if (!d || !d->n || d->v[0].type != JT_OBJECT) {
        *out = NULL;
        errs_add(e, "body", "expected a JSON object");
        return -1;
    }
    const struct jt_node *res[JPATH_SET_MAX];
    if (m->paths) {
        jpath_set_get_jt(m->paths, d, &d->v[0], res);
        c.pres = res;
    }
    return run(&c, (struct jv){ .t = &d->v[0] }, out);
}

/* known_name - is name a field, or a concat part's name, of m? */
static bool known_name(const struct mapping *m, const char *name)
{
    for (size_t i = 0; i < m->nfields; i++) {
        const struct map_field *f = &m->fields[i];
        if (strcmp(f->name, name) == 0)
            return true;
        for (size_t k = 0; k < f->nparts; k++)
            if (f->parts[k].path && strcmp(f->parts[k].path, name) == 0)
                return true;
    }
    return false;
}

int map_apply_named(const struct mapping *m, const char *const *names,
                    const char *const *values, size_t n, struct record **out,
                    struct errs *e)
{
    struct ctx c = {.m = m, .named = true, .names = names, .values = values,
                    .n = n, .e = e};
    for (size_t i = 0; i < n; i++) {
        const char *nm = names[i] ? names[i] : "";
        if (!known_name(m, nm))
            prob(&c, &(struct where){ "", nm }, "not a field of this mapping");
        else if (values[i] && utf8_invalid_at(values[i], strlen(values[i])) >= 0)
            prob(&c, &(struct where){ "", nm }, "invalid UTF-8");
    }
    if (c.problems) {
        *out = NULL;
        return -1;
    }
    return run(&c, (struct jv){ 0 }, out);
}

int map_apply_payload(const struct mapping *m, const json_t *doc, bool named,
                      struct record **out, struct errs *e)
{
    if (!named)
        return map_apply(m, doc, out, e);
    *out = NULL;
    if (!json_is_object(doc)) {
        errs_add(e, "row", "expected the row's columns as a JSON object");
        return -1;
    }
    size_t n = json_object_size(doc);
    const char **names = calloc(n + 1, sizeof *names);
    const char **vals = calloc(n + 1, sizeof *vals);
    int rc = -1;
    if (names && vals) {
        size_t i = 0;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)doc, k, v) {
            names[i] = k;
            vals[i++] = json_is_string(v) && *json_string_value(v)
                ? json_string_value(v) : NULL;
        }
        rc = map_apply_named(m, names, vals, i, out, e);
    } else {
        errs_add(e, "row", "out of memory");
    }
    free(names);
    free(vals);
    return rc;
}

struct record *map_stored_record(const struct mapping *m,
                                 const char *record_json, const void *payload,
                                 size_t payload_len, bool named)
{
    struct errs e;
    struct record *r = NULL;
    errs_init(&e);
    if (record_json)
        r = record_from_json(record_json, &e);
    if (!r && payload && m) {
        json_t *doc = NULL;
        errs_clear(&e);
        if (map_parse_json(payload, payload_len, &m->limits, &doc, &e) == 0)
            map_apply_payload(m, doc, named, &r, &e);
        json_decref(doc);
    }
    errs_free(&e);
    return r ? r : record_new();
}
