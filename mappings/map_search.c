/* map_search.c - the values `ferry find` looks records up by: one per
 * search index of a mapping (searchable= on its fields), made the same
 * way from a mapped record at intake and from a staff member's query.
 *
 * Contract: the value of an index is its fields' canonical texts, each
 * folded by map_search_canon, joined with U+001F (a byte no field text
 * holds), so "SMITH" + "1980-03-12" never equals "SMITH1" + "980-03-12".
 * Nothing here hashes or stores: the spool keeps keyed hashes only. */
#include "mappings/mapping.h"
#include "util/errs.h"

#include <stdlib.h>
#include <string.h>

#define SEP '\x1f'

char *map_search_canon(const char *text)
{
    char *up = map_case(text ? text : "", 1);
    if (!up)
        return NULL;
    /* collapse in place: the result is never longer than the input */
    size_t o = 0;
    bool space = false;
    for (size_t i = 0; up[i]; i++) {
        unsigned char ch = (unsigned char)up[i];
        if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r'
            || ch == '\v' || ch == '\f') {
            space = o > 0;
            continue;
        }
        if (space)
            up[o++] = ' ';
        space = false;
        up[o++] = (char)ch;
    }
    up[o] = '\0';
    return up;
}

/* join - append canon(text) to *buf (with a separator unless first) */
static int join(char **buf, size_t *len, const char *text)
{
    char *c = map_search_canon(text);
    if (!c)
        return -1;
    size_t cl = strlen(c);
    char *nb = realloc(*buf, *len + cl + 2);
    if (!nb) {
        free(c);
        return -1;
    }
    *buf = nb;
    if (*len)
        nb[(*len)++] = SEP;
    memcpy(nb + *len, c, cl + 1);
    *len += cl;
    free(c);
    return 0;
}

int map_search_values(const struct mapping *m, const struct record *r,
                      char ***pairs, size_t *n)
{
    *pairs = NULL;
    *n = 0;
    if (!m || !m->nsearch)
        return 0;
    char **p = calloc(2 * m->nsearch, sizeof *p);
    if (!p)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < m->nsearch; i++) {
        const struct map_search_index *ix = &m->search[i];
        char *val = NULL;
        size_t len = 0;
        bool all = true;
        for (size_t j = 0; j < ix->nfields && all; j++) {
            const struct fvalue *v = record_get(r,
                                                m->fields[ix->fields[j]].name);
            if (!v || !v->present || !v->text || !*v->text)
                all = false;
            else if (join(&val, &len, v->text) != 0) {
                free(val);
                map_search_values_free(p, k);
                return -1;
            }
        }
        if (!all) {
            free(val);
            continue;
        }
        p[2 * k] = ix->name;
        p[2 * k + 1] = val;
        k++;
    }
    if (!k) {
        free(p);
        return 0;
    }
    *pairs = p;
    *n = k;
    return 0;
}

void map_search_values_free(char **pairs, size_t n)
{
    if (!pairs)
        return;
    for (size_t i = 0; i < n; i++) {
        if (pairs[2 * i + 1])
            explicit_bzero(pairs[2 * i + 1], strlen(pairs[2 * i + 1]));
        free(pairs[2 * i + 1]);
    }
    free(pairs);
}

int map_search_values_json(void *mapping, const char *record_json,
                           char ***pairs, size_t *n)
{
    struct errs e;
    errs_init(&e);
    struct record *r = record_from_json(record_json, &e);
    errs_free(&e);
    *pairs = NULL;
    *n = 0;
    if (!r)
        return -1;
    int rc = map_search_values(mapping, r, pairs, n);
    record_free(r);
    return rc;
}

const struct map_search_index *map_search_index_for(
    const struct mapping *m, const char *const *names, size_t n)
{
    if (!m)
        return NULL;
    for (size_t i = 0; i < m->nsearch; i++) {
        const struct map_search_index *ix = &m->search[i];
        if (ix->nfields != n)
            continue;
        size_t hit = 0;
        for (size_t j = 0; j < ix->nfields; j++)
            for (size_t q = 0; q < n; q++)
                if (strcmp(m->fields[ix->fields[j]].name, names[q]) == 0) {
                    hit++;
                    break;
                }
        if (hit == n)
            return ix;
    }
    return NULL;
}

/* query_text - text through f's transforms and type: its canonical text
 * as map_apply would have stored it.  Caller frees; NULL with e filled. */
static char *query_text(const struct map_field *f, const char *text,
                        struct errs *e)
{
    char why[256] = "";
    char *t = strdup(text);
    if (!t) {
        errs_add(e, f->name, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < f->ntr; i++) {
        if (map_transform_apply(&f->tr[i], &t, why, sizeof why) < 0) {
            errs_add(e, f->name, "%s", why);
            free(t);
            return NULL;
        }
    }
    if (!t || !*t) {
        errs_add(e, f->name, "no value to look up");
        free(t);
        return NULL;
    }
    struct fvalue v;
    memset(&v, 0, sizeof v);
    int rc = map_type_read(f, t, &v, why, sizeof why);
    if (rc < 0 && f->type == FT_DATE) {
        /* staff may type the canonical form whatever the form's format */
        int64_t days;
        if (record_date_parse(t, &days) == 0)
            rc = fvalue_set_date(&v, days);
    }
    free(t);
    if (rc < 0 || !v.text) {
        errs_add(e, f->name, "%s", why[0] ? why : "cannot read the value");
        fvalue_clear(&v);
        return NULL;
    }
    char *out = strdup(v.text);
    fvalue_clear(&v);
    if (!out)
        errs_add(e, f->name, "out of memory");
    return out;
}

int map_search_query(const struct mapping *m,
                     const struct map_search_index *ix,
                     const char *const *names, const char *const *texts,
                     size_t n, char **out, struct errs *e)
{
    *out = NULL;
    char *val = NULL;
    size_t len = 0;
    for (size_t j = 0; j < ix->nfields; j++) {
        const struct map_field *f = &m->fields[ix->fields[j]];
        const char *given = NULL;
        for (size_t q = 0; q < n && !given; q++)
            if (strcmp(names[q], f->name) == 0)
                given = texts[q];
        if (!given) {
            errs_add(e, f->name, "index \"%s\" needs a value for %s",
                     ix->name, f->name);
            free(val);
            return -1;
        }
        char *t = query_text(f, given, e);
        if (!t || join(&val, &len, t) != 0) {
            if (t)
                errs_add(e, f->name, "out of memory");
            free(t);
            free(val);
            return -1;
        }
        free(t);
    }
    *out = val;
    return 0;
}
