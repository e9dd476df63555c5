/* cpy_layout.c - offsets and lengths of a parsed copybook record.
 *
 * Given the field tree of one 01 (or 77) record, inherits group USAGE
 * and SIGN, checks each entry's clause combinations, computes offsets
 * and lengths the way IBM Enterprise COBOL (and GnuCOBOL) do (SYNC binary
 * items start on a multiple of their size, after slack bytes), and
 * resolves REDEFINES, OCCURS DEPENDING ON and 66 RENAMES. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mappings/copybook.h"
#include "mappings/cpy_lex.h"
#include "util/errs.h"

#define MAX_RECORD (16u * 1024 * 1024)

struct lay {
    const char *name;
    struct errs *e;
    int errors;
};

/* inherit - a group's USAGE and SIGN reach its numeric items (a PIC X
 * item keeps DISPLAY; an unsigned item has no sign to place) */
static void inherit(struct cpy_field *f)
{
    for (size_t i = 0; i < f->nkids; i++) {
        struct cpy_field *k = f->kids[i];
        bool group = !k->pic_text;
        bool num = k->pic_text && k->pic.cls == COB_NUMERIC;
        if (!k->usage_set && f->usage_set && (group || num)) {
            k->pic.usage = f->pic.usage;
            k->usage_set = true;
        }
        if (!k->sign_set && f->sign_set &&
            (group || (num && k->pic.is_signed))) {
            k->pic.sign = f->pic.sign;
            k->sign_set = true;
        }
        inherit(k);
    }
}

static void ferr(struct lay *P, const struct cpy_field *f,
                 const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void ferr(struct lay *P, const struct cpy_field *f,
                 const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cpy_err(P->e, f->src ? f->src : P->name, f->line, f->col, "%s %s", f->name, msg);
    P->errors++;
}

/* check_elem - clause combinations an elementary item may have */
static void check_elem(struct lay *P, struct cpy_field *f)
{
    struct cob_pic *p = &f->pic;
    if (!f->pic_text) {
        ferr(P, f, "needs a PIC clause");
        p->cls = COB_ALNUM;
        p->digits = 0;
        return;
    }
    if (p->cls != COB_NUMERIC) {
        if (p->usage != COB_DISPLAY)
            ferr(P, f, "PIC %s cannot be %s", f->pic_text,
                 cpy_usage_name(p->usage));
        p->usage = COB_DISPLAY;
        if (f->sign_set)
            ferr(P, f, "SIGN needs a numeric PIC with S");
        p->sign = COB_SIGN_TRAILING;
        if (p->blank_zero)
            ferr(P, f, "BLANK WHEN ZERO needs a numeric PIC");
        return;
    }
    if (p->justified)
        ferr(P, f, "JUSTIFIED needs a text PIC");
    if (p->edit) {
        if (p->usage != COB_DISPLAY)
            ferr(P, f, "PIC %s is numeric-edited and cannot be %s",
                 f->pic_text, cpy_usage_name(p->usage));
        p->usage = COB_DISPLAY;
        if (f->sign_set)
            ferr(P, f, "SIGN does not apply to a numeric-edited PIC");
        return;
    }
    if ((p->usage == COB_BINARY || p->usage == COB_COMP5) &&
        p->digits > COB_MAX_BINARY_DIGITS) {
        ferr(P, f, "PIC %s has %d digits; %s holds at most %d",
             f->pic_text, p->digits, cpy_usage_name(p->usage),
             COB_MAX_BINARY_DIGITS);
        p->digits = COB_MAX_BINARY_DIGITS;
    }
    if (f->sign_set && p->usage != COB_DISPLAY)
        ferr(P, f, "SIGN applies only to USAGE DISPLAY");
    if (f->sign_set && !p->is_signed)
        ferr(P, f, "SIGN needs an S in the PIC");
    if (!p->is_signed)
        p->sign = COB_SIGN_TRAILING;
    if (p->blank_zero && p->usage != COB_DISPLAY)
        ferr(P, f, "BLANK WHEN ZERO applies only to USAGE DISPLAY");
}

static struct cpy_field *find_sibling(struct cpy_field *parent, size_t upto,
                                      const char *name)
{
    for (size_t i = upto; i-- > 0;) {
        struct cpy_field *s = parent->kids[i];
        if (!s->redefines && !strcmp(s->name, name))
            return s;
        if (!s->redefines)
            return NULL;   /* must redefine the item just before */
    }
    return NULL;
}

/* sync_align - the largest SYNC binary size at or below f (1 if none) */
static size_t sync_align(const struct cpy_field *f)
{
    size_t a = 1;
    if (!f->nkids && f->sync && f->pic.cls == COB_NUMERIC &&
        (f->pic.usage == COB_BINARY || f->pic.usage == COB_COMP5))
        a = f->length;
    for (size_t i = 0; i < f->nkids; i++) {
        size_t k = sync_align(f->kids[i]);
        if (k > a)
            a = k;
    }
    return a;
}

/* layout - offsets and lengths below f, which starts at off; returns the
 * bytes used from off, slack bytes included */
static size_t layout(struct lay *P, struct cpy_field *f, size_t off)
{
    f->offset = off;
    size_t slack = 0;
    if (f->nkids == 0) {
        check_elem(P, f);
        f->pic.length = cob_pic_size(&f->pic);
        f->length = f->pic.length;
        if (f->sync && f->pic.cls == COB_NUMERIC &&
            (f->pic.usage == COB_BINARY || f->pic.usage == COB_COMP5)) {
            /* slack bytes: a SYNC binary item starts on a multiple of
             * its own size from the start of the record, as on IBM */
            slack = (f->length - off % f->length) % f->length;
            f->offset = off + slack;
        }
    } else {
        if (f->pic_text)
            ferr(P, f, "is a group, so it cannot have a PIC");
        f->pic.cls = COB_GROUP;
        size_t cur = off, end = off;
        for (size_t i = 0; i < f->nkids; i++) {
            struct cpy_field *k = f->kids[i];
            if (k->redefines) {
                struct cpy_field *r = find_sibling(f, i, k->redefines);
                if (!r) {
                    ferr(P, k, "REDEFINES %s: no such item just before it "
                         "at this level", k->redefines);
                    layout(P, k, cur);
                    continue;
                }
                k->redef = r;
                size_t t = layout(P, k, r->offset);
                if (t > cpy_total_length(r))
                    ferr(P, k, "(%zu bytes) is larger than %s (%zu bytes) "
                         "it REDEFINES", t, r->name, cpy_total_length(r));
                if (r->offset + t > end)
                    end = r->offset + t;
                continue;
            }
            size_t t = layout(P, k, cur);
            if (t > MAX_RECORD || cur + t > MAX_RECORD) {
                ferr(P, k, "makes the record longer than %u bytes",
                     MAX_RECORD);
                t = 0;
            }
            cur += t;
            if (cur > end)
                end = cur;
        }
        f->length = end - off;
        if (f->occurs_max && f->occurs_max > 1) {
            size_t al = sync_align(f);
            if (al > 1 && f->length % al)
                ferr(P, f, "OCCURS group of %zu bytes holds SYNC items; "
                     "slack bytes between occurrences are not supported",
                     f->length);
        }
    }
    if (f->occurs_max && f->length > MAX_RECORD / f->occurs_max) {
        ferr(P, f, "OCCURS makes the record longer than %u bytes",
             MAX_RECORD);
        f->occurs_max = f->occurs_min = 1;
    }
    return slack + cpy_total_length(f);
}

static bool inside(const struct cpy_field *f, const struct cpy_field *anc)
{
    for (; f; f = f->parent)
        if (f == anc)
            return true;
    return false;
}

/* cpy_layout_record - see cpy_lex.h */
int cpy_layout_record(struct cpy_record *r, const char *name, struct errs *e)
{
    struct lay L = { .name = name, .e = e };
    struct lay *P = &L;
    struct cpy_field *root = r->root;
    inherit(root);
    r->length = layout(P, root, 0);
    for (size_t i = 0; i < r->nflat; i++) {
        struct cpy_field *f = r->flat[i];
        if (f->depending_on) {
            bool amb = false;
            const struct cpy_field *c = cpy_field_find(r, f->depending_on,
                                                       &amb);
            if (!c)
                ferr(P, f, "DEPENDING ON %s: %s", f->depending_on,
                     amb ? "ambiguous name" : "no such field in the record");
            else if (c->pic.cls != COB_NUMERIC || c->nkids)
                ferr(P, f, "DEPENDING ON %s: not a numeric field",
                     f->depending_on);
            else if (inside(c, f))
                ferr(P, f, "DEPENDING ON %s: the count is inside the table",
                     f->depending_on);
            else if (c->occurs_max || (c->parent && c->parent->occurs_max))
                ferr(P, f, "DEPENDING ON %s: the count is in a table",
                     f->depending_on);
            else
                f->odo = (struct cpy_field *)c;
            r->has_odo = true;
        }
        if (f->level == 66) {
            bool amb = false;
            const struct cpy_field *a = f->renames
                ? cpy_field_find(r, f->renames, &amb) : NULL;
            const struct cpy_field *b = f->renames_thru
                ? cpy_field_find(r, f->renames_thru, &amb) : a;
            if (!f->renames) {
                ferr(P, f, "level 66 needs RENAMES");
                continue;
            }
            if (!a || !b) {
                ferr(P, f, "RENAMES %s%s%s: no such field", f->renames,
                     f->renames_thru ? " THRU " : "",
                     f->renames_thru ? f->renames_thru : "");
                continue;
            }
            size_t end = b->offset + cpy_total_length(b);
            if (end <= a->offset) {
                ferr(P, f, "RENAMES range is empty");
                continue;
            }
            f->offset = a->offset;
            if (!f->renames_thru && !a->nkids) {
                f->pic = a->pic;
                f->pic_text = a->pic_text ? strdup(a->pic_text) : NULL;
            } else {
                f->pic.cls = COB_ALNUM;
                f->pic.usage = COB_DISPLAY;
                f->pic.digits = (int)(end - a->offset);
                f->pic.length = end - a->offset;
            }
            f->length = end - a->offset;
        }
    }
    return L.errors;
}
