/* copybook.c - record layouts once parsed: look-ups by (qualified) name
 * and the `ferry copybook` listing, in text for a mainframe programmer to
 * hold against the compiler's MAP listing, or JSON for tools.
 * Parsing itself is in cpy_lex.c and cpy_parse.c. */
#include "mappings/copybook.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mappings/cpy_lex.h"
#include "util/buf.h"
#include "util/utf8.h"

/* cpy_field_destroy - one field (not its kids: the record's flat list
 * owns every field) */
void cpy_field_destroy(struct cpy_field *f)
{
    if (!f)
        return;
    free(f->name);
    free(f->pic_text);
    free(f->edit_mask);
    free(f->depending_on);
    free(f->redefines);
    free(f->kids);
    free(f->value.text);
    for (size_t i = 0; i < f->nconds; i++) {
        free(f->conds[i].name);
        for (size_t j = 0; j < f->conds[i].n; j++) {
            free(f->conds[i].v[j].lo.text);
            free(f->conds[i].v[j].hi.text);
        }
        free(f->conds[i].v);
    }
    free(f->conds);
    free(f->renames);
    free(f->renames_thru);
    free(f);
}

void cpy_free(struct copybook *cb)
{
    if (!cb)
        return;
    for (size_t i = 0; i < cb->nrec; i++) {
        struct cpy_record *r = &cb->rec[i];
        for (size_t j = 0; j < r->nflat; j++)
            cpy_field_destroy(r->flat[j]);
        free(r->flat);
        free(r->name);
    }
    free(cb->rec);
    for (size_t i = 0; i < cb->nsources; i++)
        free(cb->sources[i]);
    free(cb->sources);
    free(cb->name);
    free(cb);
}

const struct cpy_record *cpy_record_find(const struct copybook *cb,
                                         const char *name)
{
    if (!cb || cb->nrec == 0)
        return NULL;
    if (!name || !*name)
        return &cb->rec[0];
    for (size_t i = 0; i < cb->nrec; i++)
        if (cb->rec[i].name && !strcasecmp(cb->rec[i].name, name))
            return &cb->rec[i];
    return NULL;
}

size_t cpy_total_length(const struct cpy_field *f)
{
    return f->length * (f->occurs_max ? f->occurs_max : 1);
}

const char *cpy_usage_name(enum cob_usage u)
{
    switch (u) {
    case COB_COMP3: return "COMP-3";
    case COB_BINARY: return "COMP";
    case COB_COMP5: return "COMP-5";
    case COB_DISPLAY:
    default: return "DISPLAY";
    }
}

const char *cpy_field_type(const struct cpy_field *f)
{
    switch (f->pic.cls) {
    case COB_GROUP: return "group";
    case COB_ALNUM: return "alphanumeric";
    case COB_ALPHA: return "alphabetic";
    case COB_NUMERIC:
        switch (f->pic.usage) {
        case COB_COMP3: return "packed";
        case COB_BINARY: return "binary";
        case COB_COMP5: return "comp-5";
        case COB_DISPLAY:
        default: return f->pic.edit ? "edited" : "zoned";
        }
    }
    return "?";
}

/* split_qname - "A OF B IN C" or "C.B.A" into parts outermost first;
 * returns the count, 0 when malformed or too deep. */
static size_t split_qname(const char *q, char parts[][64], size_t max)
{
    char tmp[64 * 8];
    size_t n = 0;
    if (strlen(q) >= sizeof tmp)
        return 0;
    memcpy(tmp, q, strlen(q) + 1);
    char *words[32];
    size_t nw = 0;
    bool of = false;
    for (char *s = tmp; *s;) {
        while (*s == ' ')
            s++;
        if (!*s)
            break;
        char *w = s;
        while (*s && *s != ' ')
            s++;
        if (*s)
            *s++ = '\0';
        if (!strcasecmp(w, "OF") || !strcasecmp(w, "IN")) {
            of = true;
            continue;
        }
        if (nw == 32)
            return 0;
        words[nw++] = w;
    }
    if (of) {                               /* innermost first: reverse */
        for (size_t i = nw; i-- > 0 && n < max;) {
            if (strlen(words[i]) >= 64)
                return 0;
            memcpy(parts[n++], words[i], strlen(words[i]) + 1);
        }
        return n == nw ? n : 0;
    }
    if (nw != 1)
        return 0;
    for (char *s = words[0]; n < max;) {
        char *dot = strchr(s, '.');
        size_t l = dot ? (size_t)(dot - s) : strlen(s);
        if (l == 0 || l >= 64)
            return 0;
        memcpy(parts[n], s, l);
        parts[n++][l] = '\0';
        if (!dot)
            return n;
        s = dot + 1;
    }
    return 0;
}

/* cpy_field_find - see copybook.h */
const struct cpy_field *cpy_field_find(const struct cpy_record *r,
                                       const char *qname, bool *ambiguous)
{
    char parts[8][64];
    size_t np = split_qname(qname ? qname : "", parts, 8);
    const struct cpy_field *hit = NULL;
    if (ambiguous)
        *ambiguous = false;
    if (!r || np == 0)
        return NULL;
    for (size_t i = 0; i < r->nflat; i++) {
        const struct cpy_field *f = r->flat[i];
        if (f->filler || strcasecmp(f->name, parts[np - 1]))
            continue;
        size_t want = np - 1;
        for (const struct cpy_field *a = f->parent; a && want; a = a->parent)
            if (!strcasecmp(a->name, parts[want - 1]))
                want--;
        if (want)
            continue;
        if (hit) {
            if (ambiguous)
                *ambiguous = true;
            return NULL;
        }
        hit = f;
    }
    return hit;
}

/* ---- listing ------------------------------------------------------------ */

static const char *sign_name(enum cob_sign s)
{
    switch (s) {
    case COB_SIGN_LEADING: return "leading";
    case COB_SIGN_TRAILING_SEP: return "trailing separate";
    case COB_SIGN_LEADING_SEP: return "leading separate";
    case COB_SIGN_TRAILING:
    default: return "trailing";
    }
}

/* value_text - a VALUE literal as COBOL would write it */
static void value_text(const struct cpy_value *v, struct buf *b)
{
    if (v->all)
        buf_puts(b, "ALL ");
    switch (v->kind) {
    case CPY_VAL_TEXT:
        if (v->hex) {
            buf_puts(b, "X'");
            for (size_t i = 0; i < v->len; i++)
                buf_printf(b, "%02X", (unsigned char)v->text[i]);
            buf_putc(b, '\'');
            break;
        }
        buf_putc(b, '\'');
        for (const char *s = v->text; *s; s++) {
            unsigned char c = (unsigned char)*s;
            if (c == '\'')
                buf_puts(b, "''");
            else if (c < 0x20 || c == 0x7F)
                buf_printf(b, "\\x%02X", c);
            else
                buf_putc(b, (char)c);
        }
        buf_putc(b, '\'');
        break;
    case CPY_VAL_NUMBER: buf_puts(b, v->text); break;
    case CPY_VAL_SPACES: buf_puts(b, "SPACES"); break;
    case CPY_VAL_ZEROS: buf_puts(b, "ZEROS"); break;
    case CPY_VAL_HIGH: buf_puts(b, "HIGH-VALUES"); break;
    case CPY_VAL_LOW: buf_puts(b, "LOW-VALUES"); break;
    case CPY_VAL_QUOTES: buf_puts(b, "QUOTES"); break;
    case CPY_VAL_NONE:
    default: break;
    }
}

static void cond_text(const struct cpy_cond *c, struct buf *b)
{
    for (size_t i = 0; i < c->n; i++) {
        if (i)
            buf_putc(b, ' ');
        value_text(&c->v[i].lo, b);
        if (c->v[i].hi.kind != CPY_VAL_NONE) {
            buf_puts(b, " THRU ");
            value_text(&c->v[i].hi, b);
        }
    }
}

static int depth_of(const struct cpy_field *f)
{
    int d = 0;
    for (const struct cpy_field *p = f->parent; p; p = p->parent)
        d++;
    return d;
}

static void notes_text(const struct cpy_field *f, struct buf *b)
{
    if (f->occurs_max) {
        if (f->depending_on)
            buf_printf(b, "OCCURS %zu TO %zu DEPENDING ON %s (x%zu = %zu) ",
                       f->occurs_min, f->occurs_max, f->depending_on,
                       f->occurs_max, cpy_total_length(f));
        else
            buf_printf(b, "OCCURS %zu (x%zu = %zu) ", f->occurs_max,
                       f->occurs_max, cpy_total_length(f));
    }
    if (f->redefines)
        buf_printf(b, "REDEFINES %s ", f->redefines);
    if (f->level == 66)
        buf_printf(b, "RENAMES %s%s%s ", f->renames,
                   f->renames_thru ? " THRU " : "",
                   f->renames_thru ? f->renames_thru : "");
    if (f->pic.cls == COB_NUMERIC && f->pic.is_signed &&
        f->pic.usage == COB_DISPLAY && !f->pic.edit)
        buf_printf(b, "SIGN %s ", sign_name(f->pic.sign));
    if (f->pic.justified)
        buf_puts(b, "JUSTIFIED RIGHT ");
    if (f->pic.blank_zero)
        buf_puts(b, "BLANK WHEN ZERO ");
    if (f->sync)
        buf_puts(b, "SYNC ");
    if (f->value.kind != CPY_VAL_NONE) {
        buf_puts(b, "VALUE ");
        value_text(&f->value, b);
        buf_putc(b, ' ');
    }
}

/* trim_line - drop the spaces before the newline just written */
static void trim_line(struct buf *b)
{
    size_t n = b->len;
    if (n && b->data[n - 1] == '\n') {
        n--;
        while (n && b->data[n - 1] == ' ')
            n--;
        b->data[n] = '\n';
        b->data[n + 1] = '\0';
        b->len = n + 1;
    }
}

static void listing_text(const struct copybook *cb,
                         const struct cpy_record *r, struct buf *out)
{
    size_t w = 4;
    for (size_t i = 0; i < r->nflat; i++) {
        size_t l = strlen(r->flat[i]->name) + 2 * (size_t)depth_of(r->flat[i]);
        if (l > w)
            w = l;
        for (size_t c = 0; c < r->flat[i]->nconds; c++) {
            l = strlen(r->flat[i]->conds[c].name) + 2 * (size_t)(depth_of(r->flat[i]) + 1);
            if (l > w)
                w = l;
        }
    }
    buf_printf(out, "%s: record %s, %zu bytes%s\n", cb->name, r->name,
               r->length, r->has_odo ? " (maximum; OCCURS DEPENDING ON)" : "");
    buf_printf(out, "LVL %-*s %6s %6s %6s  %-12s %-18s %-7s %3s %3s  %s\n",
               (int)w, "NAME", "START", "OFFSET", "LENGTH", "TYPE", "PIC",
               "USAGE", "DIG", "SCL", "NOTES");
    trim_line(out);
    for (size_t i = 0; i < r->nflat; i++) {
        const struct cpy_field *f = r->flat[i];
        int d = f->level == 66 ? 0 : depth_of(f);
        char dig[8] = "", scl[8] = "";
        if (f->pic.cls == COB_NUMERIC) {
            snprintf(dig, sizeof dig, "%d", f->pic.digits);
            snprintf(scl, sizeof scl, "%d", f->pic.scale);
        }
        struct buf notes;
        buf_init(&notes, 0);
        notes_text(f, &notes);
        const char *pic = f->pic_text ? f->pic_text : "";
        size_t pchars = utf8_chars(pic, strlen(pic));   /* £ is 2 bytes */
        buf_printf(out, "%02d  %*s%-*s %6zu %6zu %6zu  %-12s %s%*s %-7s %3s "
                   "%3s  %s\n", f->level, 2 * d, "", (int)w - 2 * d,
                   f->name, f->offset + 1, f->offset, f->length,
                   cpy_field_type(f), pic, pchars < 18 ? (int)(18 - pchars) : 0,
                   "",
                   f->pic.cls == COB_GROUP ? "" : cpy_usage_name(f->pic.usage),
                   dig, scl, buf_str(&notes));
        trim_line(out);
        buf_free(&notes);
        for (size_t c = 0; c < f->nconds; c++) {
            struct buf v;
            buf_init(&v, 0);
            cond_text(&f->conds[c], &v);
            buf_printf(out, "88  %*s%-*s %6s %6s %6s  %-12s %-18s %-7s %3s "
                       "%3s  VALUE %s\n", 2 * (d + 1), "",
                       (int)w - 2 * (d + 1), f->conds[c].name, "", "", "",
                       "condition", "", "", "", "", buf_str(&v));
            trim_line(out);
            buf_free(&v);
        }
    }
}

static json_t *value_json(const struct cpy_value *v)
{
    struct buf b;
    buf_init(&b, 0);
    value_text(v, &b);
    json_t *j = json_string(buf_str(&b));
    buf_free(&b);
    return j;
}

static json_t *record_json(const struct cpy_record *r)
{
    json_t *rec = json_object();
    json_t *fields = json_array();
    json_object_set_new(rec, "name", json_string(r->name));
    json_object_set_new(rec, "length", json_integer((json_int_t)r->length));
    json_object_set_new(rec, "variable", json_boolean(r->has_odo));
    for (size_t i = 0; i < r->nflat; i++) {
        const struct cpy_field *f = r->flat[i];
        json_t *o = json_object();
        json_object_set_new(o, "level", json_integer(f->level));
        json_object_set_new(o, "name", json_string(f->name));
        json_object_set_new(o, "line", json_integer(f->line));
        json_object_set_new(o, "start", json_integer((json_int_t)f->offset + 1));
        json_object_set_new(o, "offset", json_integer((json_int_t)f->offset));
        json_object_set_new(o, "length", json_integer((json_int_t)f->length));
        json_object_set_new(o, "total_length",
                            json_integer((json_int_t)cpy_total_length(f)));
        json_object_set_new(o, "type", json_string(cpy_field_type(f)));
        if (f->parent)
            json_object_set_new(o, "parent", json_string(f->parent->name));
        if (f->pic_text)
            json_object_set_new(o, "pic", json_string(f->pic_text));
        if (f->pic.cls != COB_GROUP)
            json_object_set_new(o, "usage",
                                json_string(cpy_usage_name(f->pic.usage)));
        if (f->pic.cls == COB_NUMERIC) {
            json_object_set_new(o, "digits", json_integer(f->pic.digits));
            json_object_set_new(o, "scale", json_integer(f->pic.scale));
            json_object_set_new(o, "signed", json_boolean(f->pic.is_signed));
            if (f->pic.is_signed && f->pic.usage == COB_DISPLAY &&
                !f->pic.edit)
                json_object_set_new(o, "sign",
                                    json_string(sign_name(f->pic.sign)));
        }
        if (f->occurs_max) {
            json_t *oc = json_object();
            json_object_set_new(oc, "min", json_integer((json_int_t)f->occurs_min));
            json_object_set_new(oc, "max", json_integer((json_int_t)f->occurs_max));
            if (f->depending_on)
                json_object_set_new(oc, "depending_on",
                                    json_string(f->depending_on));
            json_object_set_new(o, "occurs", oc);
        }
        if (f->redefines)
            json_object_set_new(o, "redefines", json_string(f->redefines));
        if (f->renames) {
            json_object_set_new(o, "renames", json_string(f->renames));
            if (f->renames_thru)
                json_object_set_new(o, "renames_thru",
                                    json_string(f->renames_thru));
        }
        if (f->value.kind != CPY_VAL_NONE)
            json_object_set_new(o, "value", value_json(&f->value));
        if (f->pic.justified)
            json_object_set_new(o, "justified", json_true());
        if (f->pic.blank_zero)
            json_object_set_new(o, "blank_when_zero", json_true());
        if (f->sync)
            json_object_set_new(o, "sync", json_true());
        if (f->nconds) {
            json_t *cs = json_array();
            for (size_t c = 0; c < f->nconds; c++) {
                json_t *co = json_object(), *vs = json_array();
                json_object_set_new(co, "name", json_string(f->conds[c].name));
                for (size_t k = 0; k < f->conds[c].n; k++) {
                    const struct cpy_range *rg = &f->conds[c].v[k];
                    if (rg->hi.kind == CPY_VAL_NONE) {
                        json_array_append_new(vs, value_json(&rg->lo));
                    } else {
                        json_t *pair = json_object();
                        json_object_set_new(pair, "from", value_json(&rg->lo));
                        json_object_set_new(pair, "thru", value_json(&rg->hi));
                        json_array_append_new(vs, pair);
                    }
                }
                json_object_set_new(co, "values", vs);
                json_array_append_new(cs, co);
            }
            json_object_set_new(o, "conditions", cs);
        }
        json_array_append_new(fields, o);
    }
    json_object_set_new(rec, "fields", fields);
    return rec;
}

/* cpy_listing - see copybook.h */
int cpy_listing(const struct copybook *cb, const char *record, bool json,
                struct buf *out)
{
    const struct cpy_record *only = NULL;
    if (record && !(only = cpy_record_find(cb, record)))
        return -1;
    if (json) {
        json_t *root = json_object(), *recs = json_array();
        json_object_set_new(root, "copybook", json_string(cb->name));
        json_object_set_new(root, "format",
                            json_string(cb->free_format ? "free" : "fixed"));
        for (size_t i = 0; i < cb->nrec; i++)
            if (!only || only == &cb->rec[i])
                json_array_append_new(recs, record_json(&cb->rec[i]));
        json_object_set_new(root, "records", recs);
        char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(root);
        if (!s)
            return -1;
        int rc = buf_puts(out, s) == BUF_OK && buf_putc(out, '\n') == BUF_OK
                 ? 0 : -1;
        free(s);
        return rc;
    }
    for (size_t i = 0; i < cb->nrec; i++) {
        if (only && only != &cb->rec[i])
            continue;
        if (out->len)
            buf_putc(out, '\n');
        listing_text(cb, &cb->rec[i], out);
    }
    return 0;
}
