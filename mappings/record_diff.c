/* record_diff.c - what changed between two typed records (record.h).
 *
 * The CLI's edit shows this and the audit names it; neither decides what
 * a difference is.  Values are compared by canonical text, so "10.5" and
 * "10.50" at scale 2 are the same value.  Lists are walked element by
 * element to their leaves, so a changed sub-field is named with its
 * index ("items[1].code") and carries the personal mark of the sub-field
 * or of the list it lies in. */
#include "mappings/record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIFF_MAX_DEPTH 32

static const struct record empty = { 0 };

static int add(struct record_diff *d, size_t *cap, const char *path,
               bool personal, const char *a, const char *b)
{
    if (d->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        struct record_change *v = realloc(d->v, nc * sizeof *v);
        if (!v)
            return -1;
        d->v = v;
        *cap = nc;
    }
    struct record_change *c = &d->v[d->n];
    c->path = strdup(path);
    c->personal = personal;
    c->old_text = a ? strdup(a) : NULL;
    c->new_text = b ? strdup(b) : NULL;
    d->n++;
    if (!c->path || (a && !c->old_text) || (b && !c->new_text))
        return -1;
    return 0;
}

static const char *text_of(const struct fvalue *v)
{
    return v && v->present && v->type != FT_LIST ? (v->text ? v->text : "")
                                                  : NULL;
}

static int diff_records(const struct record *a, const struct record *b,
                        const char *prefix, bool personal, int depth,
                        struct record_diff *d, size_t *cap);

/* diff_field - fa (may be NULL) against fb (may be NULL), same name */
static int diff_field(const struct record_field *fa,
                      const struct record_field *fb, const char *prefix,
                      bool personal, int depth, struct record_diff *d,
                      size_t *cap)
{
    const struct record_field *f = fa ? fa : fb;
    char path[512];
    if (snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "",
                 f->name) >= (int)sizeof path)
        path[sizeof path - 1] = '\0';
    bool pers = personal || (fa && fa->personal) || (fb && fb->personal);
    const struct fvalue *va = fa ? &fa->v : NULL, *vb = fb ? &fb->v : NULL;
    bool la = va && va->type == FT_LIST, lb = vb && vb->type == FT_LIST;
    if (la || lb) {
        size_t na = la ? va->nitems : 0, nb = lb ? vb->nitems : 0;
        if (!la && text_of(va))             /* a scalar became a list */
            if (add(d, cap, path, pers, text_of(va), NULL) != 0)
                return -1;
        for (size_t i = 0; i < (na > nb ? na : nb); i++) {
            char ip[540];
            snprintf(ip, sizeof ip, "%s[%zu]", path, i);
            if (diff_records(i < na ? va->items[i] : &empty,
                             i < nb ? vb->items[i] : &empty, ip, pers,
                             depth + 1, d, cap) != 0)
                return -1;
        }
        if (!lb && text_of(vb))
            if (add(d, cap, path, pers, NULL, text_of(vb)) != 0)
                return -1;
        return 0;
    }
    const char *ta = text_of(va), *tb = text_of(vb);
    if ((ta == NULL) != (tb == NULL) || (ta && strcmp(ta, tb) != 0))
        return add(d, cap, path, pers, ta, tb);
    return 0;
}

static int diff_records(const struct record *a, const struct record *b,
                        const char *prefix, bool personal, int depth,
                        struct record_diff *d, size_t *cap)
{
    if (depth > DIFF_MAX_DEPTH)
        return -1;
    for (size_t i = 0; i < a->n; i++) {
        const struct record_field *fb = NULL;
        for (size_t k = 0; k < b->n && !fb; k++)
            if (strcmp(b->f[k].name, a->f[i].name) == 0)
                fb = &b->f[k];
        if (diff_field(&a->f[i], fb, prefix, personal, depth, d, cap) != 0)
            return -1;
    }
    for (size_t k = 0; k < b->n; k++) {
        bool seen = false;
        for (size_t i = 0; i < a->n && !seen; i++)
            seen = strcmp(b->f[k].name, a->f[i].name) == 0;
        if (!seen &&
            diff_field(NULL, &b->f[k], prefix, personal, depth, d, cap) != 0)
            return -1;
    }
    return 0;
}

int record_diff(const struct record *a, const struct record *b,
                struct record_diff *out)
{
    size_t cap = 0;
    out->v = NULL;
    out->n = 0;
    if (diff_records(a ? a : &empty, b ? b : &empty, "", false, 0, out,
                     &cap) != 0) {
        record_diff_free(out);
        return -1;
    }
    return 0;
}

void record_diff_free(struct record_diff *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++) {
        free(d->v[i].path);
        free(d->v[i].old_text);
        free(d->v[i].new_text);
    }
    free(d->v);
    d->v = NULL;
    d->n = 0;
}
