/* errs.c - a list of problems.  See errs.h. */
#include "util/errs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void errs_init(struct errs *e)
{
    memset(e, 0, sizeof *e);
}

void errs_vadd(struct errs *e, const char *where, const char *fmt, va_list ap)
{
    size_t max = e->max ? e->max : 1000;
    if (e->n >= max) {
        e->dropped++;
        return;
    }
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 8;
        struct err_item *v = realloc(e->v, cap * sizeof *v);
        if (!v) {
            e->dropped++;
            return;
        }
        e->v = v;
        e->cap = cap;
    }
    char *msg = NULL;
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    char *w = strdup(where ? where : "");
    if (!msg || !w) {
        free(msg);
        free(w);
        e->dropped++;
        return;
    }
    e->v[e->n].where = w;
    e->v[e->n].msg = msg;
    e->v[e->n].plain = NULL;
    e->n++;
}

void errs_add(struct errs *e, const char *where, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    errs_vadd(e, where, fmt, ap);
    va_end(ap);
}

void errs_add_at(struct errs *e, const char *file, long line,
                 const char *fmt, ...)
{
    char where[1024];
    if (line > 0)
        snprintf(where, sizeof where, "%s:%ld", file ? file : "", line);
    else
        snprintf(where, sizeof where, "%s", file ? file : "");
    va_list ap;
    va_start(ap, fmt);
    errs_vadd(e, where, fmt, ap);
    va_end(ap);
}

void errs_set_plain(struct errs *e, const char *plain)
{
    if (!plain || !e->n || e->v[e->n - 1].plain)
        return;
    e->v[e->n - 1].plain = strdup(plain);
}

void errs_move(struct errs *dst, struct errs *src)
{
    for (size_t i = 0; i < src->n; i++) {
        size_t before = dst->n;
        errs_add(dst, src->v[i].where, "%s", src->v[i].msg);
        if (dst->n > before)
            errs_set_plain(dst, src->v[i].plain);
    }
    dst->dropped += src->dropped;
    errs_clear(src);
}

void errs_clear(struct errs *e)
{
    for (size_t i = 0; i < e->n; i++) {
        free(e->v[i].where);
        free(e->v[i].msg);
        free(e->v[i].plain);
    }
    e->n = 0;
    e->dropped = 0;
}

void errs_free(struct errs *e)
{
    if (!e)
        return;
    errs_clear(e);
    free(e->v);
    e->v = NULL;
    e->cap = 0;
}

const char *errs_first_msg(const struct errs *e)
{
    return e->n ? e->v[0].msg : "";
}

/* errs_join - see errs.h */
char *errs_join(const struct errs *e, const char *fallback)
{
    size_t len = 1;
    for (size_t i = 0; i < e->n; i++)
        len += strlen(e->v[i].where) + strlen(e->v[i].msg) + 4;
    if (!e->n)
        len += strlen(fallback);
    char *out = malloc(len), *p = out;
    if (!out)
        return NULL;
    *p = 0;
    for (size_t i = 0; i < e->n; i++)
        p += sprintf(p, "%s%s%s%s", i ? "; " : "", e->v[i].where,
                     e->v[i].where[0] ? ": " : "", e->v[i].msg);
    if (!e->n)
        memcpy(out, fallback, strlen(fallback) + 1);
    return out;
}
