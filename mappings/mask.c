/* mask.c - hiding personal data: the one place that decides (mask.h).
 *
 * The payload is masked by allow-list, not by deny-list: a copy of the
 * document with every scalar masked is made first, and then only the
 * values read by mapped, non-personal fields are copied back.  A field the
 * mapping never reads therefore stays hidden, whatever its name.  Paths
 * are followed step by step in the original, and the same concrete step
 * (key, or the index the step matched) is taken in the copy, so array
 * selectors ([question_id=4]) work although the copy's values are masked. */
#include "mappings/mask.h"

#include <stdlib.h>
#include <string.h>

#define MASK_MAX_DEPTH 64

const char *mask_text(const char *text, bool personal, bool reveal)
{
    if (!text)
        return NULL;
    return personal && !reveal ? MASK_TEXT : text;
}

/* ---- records ---------------------------------------------------------- */

static json_t *record_at(const struct record *r, bool reveal, bool personal,
                         int depth)
{
    json_t *o = json_object();
    if (!o || depth > MASK_MAX_DEPTH) {
        json_decref(o);
        return NULL;
    }
    for (size_t i = 0; i < r->n; i++) {
        const struct record_field *f = &r->f[i];
        bool pers = personal || f->personal;
        json_t *v;
        if (f->v.type == FT_LIST) {
            v = json_array();
            for (size_t j = 0; v && j < f->v.nitems; j++) {
                json_t *it = record_at(f->v.items[j], reveal, pers, depth + 1);
                if (!it || json_array_append_new(v, it) != 0) {
                    json_decref(v);
                    v = NULL;
                }
            }
        } else if (!f->v.present || !f->v.text) {
            v = json_null();
        } else {
            v = json_string(mask_text(f->v.text, pers, reveal));
        }
        if (!v || json_object_set_new(o, f->name, v) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

json_t *mask_record(const struct record *r, bool reveal)
{
    return r ? record_at(r, reveal, false, 0) : NULL;
}

/* echoes_at - mask_echoes below depth, personal inherited from a list */
static bool echoes_at(const struct record *r, const char *text,
                      bool personal, int depth)
{
    if (!r || depth > MASK_MAX_DEPTH)
        return false;
    for (size_t i = 0; i < r->n; i++) {
        const struct record_field *f = &r->f[i];
        bool pers = personal || f->personal;
        if (f->v.type == FT_LIST) {
            for (size_t j = 0; j < f->v.nitems; j++)
                if (echoes_at(f->v.items[j], text, pers, depth + 1))
                    return true;
        } else if (pers && f->v.present && f->v.text &&
                   strlen(f->v.text) > 1 && strstr(text, f->v.text)) {
            return true;
        }
    }
    return false;
}

bool mask_echoes(const struct record *r, const char *text)
{
    return text && echoes_at(r, text, false, 0);
}

/* ---- payloads --------------------------------------------------------- */

/* masked_copy - doc with every non-null scalar replaced by MASK_TEXT */
static json_t *masked_copy(const json_t *v, int depth)
{
    if (depth > MASK_MAX_DEPTH)
        return json_string(MASK_TEXT);
    if (json_is_object(v)) {
        json_t *o = json_object();
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) {
            json_t *c = masked_copy(x, depth + 1);
            if (!o || !c || json_object_set_new(o, k, c) != 0) {
                json_decref(o);
                return NULL;
            }
        }
        return o;
    }
    if (json_is_array(v)) {
        json_t *a = json_array();
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) {
            json_t *c = masked_copy(x, depth + 1);
            if (!a || !c || json_array_append_new(a, c) != 0) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    return json_is_null(v) ? json_null() : json_string(MASK_TEXT);
}

/* step_into - one step of p from (orig, copy); *slot_key / *slot_idx say
 * where the value sits in its parent.  The matched value, or NULL. */
static const json_t *step_into(const struct jpath *p, size_t i,
                               const json_t *orig, const json_t *copy,
                               json_t **copy_next, const char **slot_key,
                               size_t *slot_idx)
{
    struct jpath one = { p->text, &p->s[i], 1 };
    const json_t *next = jpath_get(&one, orig);
    *copy_next = NULL;
    *slot_key = NULL;
    if (!next)
        return NULL;
    const struct jpath_step *st = &p->s[i];
    if (st->kind == JP_KEY) {
        *slot_key = st->key;
        *copy_next = json_object_get(copy, st->key);
        return next;
    }
    size_t k = st->index;
    if (st->kind == JP_SELECT)   /* the element matched: objects are unique */
        for (k = 0; k < json_array_size(orig); k++)
            if (json_array_get(orig, k) == next)
                break;
    *slot_idx = k;
    *copy_next = json_array_get(copy, k);
    /* the selector's member ([question_id=4]) is the mapping's own
     * constant, not a submitted value: shown, so the shape can be read */
    const json_t *sel = st->kind == JP_SELECT
        ? json_object_get(next, st->key) : NULL;
    if (sel && json_is_object(*copy_next)) {
        json_t *c = json_deep_copy(sel);
        if (c)
            json_object_set_new(*copy_next, st->key, c);
    }
    return next;
}

/* follow - the value at p under orig and its twin under copy (NULL when
 * absent); when last_slot, the twin's parent and slot instead of it */
static const json_t *follow(const struct jpath *p, const json_t *orig,
                            json_t *copy, json_t **twin, json_t **parent,
                            const char **key, size_t *idx)
{
    const json_t *o = orig;
    json_t *c = copy;
    *twin = NULL;
    *parent = NULL;
    for (size_t i = 0; o && c && i < p->n; i++) {
        json_t *cn;
        *parent = c;
        o = step_into(p, i, o, c, &cn, key, idx);
        c = cn;
    }
    if (!o || !c)
        return NULL;
    *twin = c;
    return o;
}

/* show_at - copy the original scalar at p under orig into copy */
static int show_at(const struct jpath *p, const json_t *orig, json_t *copy)
{
    json_t *twin, *parent;
    const char *key = NULL;
    size_t idx = 0;
    if (!p || !p->n)
        return 0;
    const json_t *v = follow(p, orig, copy, &twin, &parent, &key, &idx);
    if (!v || json_is_object(v) || json_is_array(v))
        return 0;    /* only scalars are values a field reads */
    json_t *c = json_deep_copy(v);
    if (!c)
        return -1;
    return key ? json_object_set_new(parent, key, c)
               : json_array_set_new(parent, idx, c);
}

/* show_named - copy the original scalar member name of orig into copy */
static int show_named(const char *name, const json_t *orig, json_t *copy)
{
    const json_t *v = name ? json_object_get(orig, name) : NULL;
    if (!v || json_is_object(v) || json_is_array(v) || !json_is_object(copy))
        return 0;
    json_t *c = json_deep_copy(v);
    return c ? json_object_set_new(copy, name, c) : -1;
}

/* show_fields - copy back every value a non-personal field of fs reads */
static int show_fields(const struct map_field *fs, size_t n,
                       const json_t *orig, json_t *copy, bool named,
                       int depth)
{
    if (depth > MASK_MAX_DEPTH)
        return 0;
    for (size_t i = 0; i < n; i++) {
        const struct map_field *f = &fs[i];
        if (f->personal)
            continue;
        if (f->type == FT_LIST) {
            json_t *twin, *parent;
            const char *key;
            size_t idx;
            const json_t *a = f->jp ? follow(f->jp, orig, copy, &twin,
                                             &parent, &key, &idx) : NULL;
            if (!json_is_array(a) || !json_is_array(twin))
                continue;
            for (size_t k = 0; k < json_array_size(a); k++)
                if (show_fields(f->sub, f->nsub, json_array_get(a, k),
                                json_array_get(twin, k), false,
                                depth + 1) != 0)
                    return -1;
            continue;
        }
        int rc = named ? show_named(f->name, orig, copy)
                       : show_at(f->jp, orig, copy);
        for (size_t k = 0; rc == 0 && k < f->nparts; k++)
            rc = named ? show_named(f->parts[k].path, orig, copy)
                       : show_at(f->parts[k].jp, orig, copy);
        if (rc != 0)
            return -1;
    }
    return 0;
}

json_t *mask_payload(const json_t *doc, const struct mapping *m, bool named,
                     bool reveal)
{
    if (!doc)
        return NULL;
    if (reveal)
        return json_deep_copy(doc);
    json_t *copy = masked_copy(doc, 0);
    if (copy && m &&
        show_fields(m->fields, m->nfields, doc, copy, named, 0) != 0) {
        json_decref(copy);
        return NULL;
    }
    return copy;
}

/* ---- names ------------------------------------------------------------ */

/* next_name - the next component of a record path ("items[2].code" gives
 * "items", then "code"); *len its length, NULL at the end */
static const char *next_name(const char **s, size_t *len)
{
    const char *p = *s;
    if (!*p)
        return NULL;
    const char *start = p;
    while (*p && *p != '.' && *p != '[')
        p++;
    *len = (size_t)(p - start);
    while (*p == '[') {                 /* indices name no field */
        const char *close = strchr(p, ']');
        p = close ? close + 1 : p + strlen(p);
    }
    if (*p == '.')
        p++;
    *s = p;
    return start;
}

bool mask_path_personal(const struct mapping *m, const char *path)
{
    if (!m || !path)
        return true;
    const struct map_field *fs = m->fields;
    size_t n = m->nfields;
    const char *s = path, *name;
    size_t len;
    bool found = false;
    while ((name = next_name(&s, &len)) != NULL) {
        const struct map_field *f = NULL;
        for (size_t i = 0; fs && i < n && !f; i++)
            if (strlen(fs[i].name) == len &&
                strncmp(fs[i].name, name, len) == 0)
                f = &fs[i];
        if (!f)
            return !(found && len == 1 && *name == '#');   /* LIST.# */
        if (f->personal)
            return true;
        found = true;
        fs = f->sub;
        n = f->nsub;
    }
    return !found;
}

const char **mask_target_slots(const struct mapping *m,
                               const struct map_target *mt, size_t *n)
{
    const struct map_section *sec = &mt->sec[0];
    const char **v = calloc(sec->na ? sec->na : 1, sizeof *v);
    *n = 0;
    if (!v)
        return NULL;
    for (size_t i = 0; i < sec->na; i++) {
        const struct map_assign *a = &sec->a[i];
        if (!a->from || a->from[0] == '$' || !a->to ||
            !mask_path_personal(m, a->from))
            continue;
        const char *last = strrchr(a->to, '.');
        v[(*n)++] = last ? last + 1 : a->to;
    }
    return v;
}
