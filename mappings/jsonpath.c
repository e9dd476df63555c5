/* jsonpath.c - the small JSON path subset the mapping uses.
 *
 *   a.b                 member b of member a
 *   a[2].b              third element of array a (0-based)
 *   answers[question_id=4].postcode
 *                       first element of answers whose member question_id
 *                       equals 4 (number 4 or string "4")
 *   "odd.key".x         a quoted key ("\"" and "\\" escapes)
 *   a[name="x y"]       a quoted selector value
 *   $.a.b               an optional "$" root prefix
 *
 * Paths are compiled once at mapping load (jpath_parse) and looked up per
 * submission (jpath_get).  Also: the exact text of a JSON scalar. */
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mappings/jtree.h"
#include "mappings/mapping.h"

void jpath_free(struct jpath *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->s[i].key);
        free(p->s[i].value);
    }
    free(p->s);
    free(p->text);
    free(p);
}

/* read_name - a bare name (stops at . [ ] = and quotes) or a quoted one;
 * advances *sp; NULL with err on bad syntax */
static char *read_name(const char **sp, const char *stops, char *err,
                       size_t errsz)
{
    const char *s = *sp;
    char *out = malloc(strlen(s) + 1);
    size_t n = 0;
    if (!out) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    if (*s == '"') {
        s++;
        while (*s && *s != '"') {
            if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
                s++;
            out[n++] = *s++;
        }
        if (*s != '"') {
            snprintf(err, errsz, "unterminated quoted name");
            free(out);
            return NULL;
        }
        s++;
    } else {
        while (*s && !strchr(stops, *s))
            out[n++] = *s++;
        if (n == 0) {
            snprintf(err, errsz, "empty name at \"%s\"", *sp);
            free(out);
            return NULL;
        }
    }
    out[n] = '\0';
    *sp = s;
    return out;
}

/* int_of_text - s is exactly the text int_text gives some int64 */
static bool int_of_text(const char *s, int64_t *out)
{
    const char *d = *s == '-' ? s + 1 : s;
    size_t n = strlen(d);
    if (n == 0 || n > 19 || (d[0] == '0' && (n > 1 || d != s)))
        return false;
    uint64_t mag = 0;
    for (size_t i = 0; i < n; i++) {
        if (d[i] < '0' || d[i] > '9')
            return false;
        mag = mag * 10 + (uint64_t)(d[i] - '0');
    }
    if (mag > (d != s ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX))
        return false;
    *out = d != s ? (int64_t)(0 - mag) : (int64_t)mag;
    return true;
}

static int add_step(struct jpath *p, struct jpath_step st)
{
    st.klen = st.key ? strlen(st.key) : 0;
    st.vlen = st.value ? strlen(st.value) : 0;
    st.vint = st.value && int_of_text(st.value, &st.vnum);
    struct jpath_step *v = realloc(p->s, (p->n + 1) * sizeof *v);
    if (!v)
        return -1;
    p->s = v;
    p->s[p->n++] = st;
    return 0;
}

/* parse_bracket - "[2]" or "[key=value]" at s (just after '[') */
static int parse_bracket(const char **sp, struct jpath_step *st, char *err,
                         size_t errsz)
{
    const char *s = *sp;
    memset(st, 0, sizeof *st);
    if (*s >= '0' && *s <= '9') {
        size_t idx = 0;
        while (*s >= '0' && *s <= '9') {
            if (idx > 100000000) {
                snprintf(err, errsz, "index too large");
                return -1;
            }
            idx = idx * 10 + (size_t)(*s++ - '0');
        }
        if (*s != ']') {
            snprintf(err, errsz, "expected ']' after index");
            return -1;
        }
        st->kind = JP_INDEX;
        st->index = idx;
        *sp = s + 1;
        return 0;
    }
    st->kind = JP_SELECT;
    st->key = read_name(&s, ".[]=\"", err, errsz);
    if (!st->key)
        return -1;
    if (*s != '=') {
        snprintf(err, errsz, "expected '=' in selector [%s...]", st->key);
        goto fail;
    }
    s++;
    if (*s == '"') {
        st->value = read_name(&s, "", err, errsz);
    } else {
        const char *v = s;
        while (*s && *s != ']')
            s++;
        if (s == v) {
            snprintf(err, errsz, "empty value in selector [%s=]", st->key);
            goto fail;
        }
        st->value = strndup(v, (size_t)(s - v));
        if (!st->value)
            snprintf(err, errsz, "out of memory");
    }
    if (!st->value)
        goto fail;
    if (*s != ']') {
        snprintf(err, errsz, "expected ']' after selector value");
        goto fail;
    }
    *sp = s + 1;
    return 0;
fail:
    free(st->key);
    free(st->value);
    st->key = st->value = NULL;
    return -1;
}

struct jpath *jpath_parse(const char *text, char *err, size_t errsz)
{
    struct jpath *p = calloc(1, sizeof *p);
    if (!p || !(p->text = strdup(text))) {
        snprintf(err, errsz, "out of memory");
        goto fail;
    }
    const char *s = text;
    if (s[0] == '$')
        s += s[1] == '.' ? 2 : 1;
    if (!*s) {
        snprintf(err, errsz, "empty path");
        goto fail;
    }
    bool first = true;
    while (*s) {
        struct jpath_step st;
        if (*s == '[') {
            s++;
            if (parse_bracket(&s, &st, err, errsz) < 0)
                goto fail;
        } else {
            if (!first) {
                if (*s != '.') {
                    snprintf(err, errsz, "expected '.' or '[' at \"%s\"", s);
                    goto fail;
                }
                s++;
            }
            memset(&st, 0, sizeof st);
            st.kind = JP_KEY;
            st.key = read_name(&s, ".[]=\"", err, errsz);
            if (!st.key)
                goto fail;
        }
        if (add_step(p, st) < 0) {
            free(st.key);
            free(st.value);
            snprintf(err, errsz, "out of memory");
            goto fail;
        }
        first = false;
    }
    return p;
fail:
    jpath_free(p);
    return NULL;
}

/* real_text - shortest decimal text that reads back as d, in plain
 * notation (no exponent); NULL with why when it needs more than DBL_DIG
 * significant digits (then the sender's digits cannot be known). */
static char *real_text(double d, const char **why)
{
    char e[64];
    int p;
    for (p = 1; p <= 17; p++) {
        snprintf(e, sizeof e, "%.*e", p - 1, d);
        if (strtod(e, NULL) == d)
            break;
    }
    if (p > DBL_DIG) {
        *why = "number has more than 15 significant digits and cannot be "
               "read exactly; send it as a string";
        return NULL;
    }
    /* e is "[-]d[.ddd]e[+-]xx" */
    char dig[32];
    size_t nd = 0;
    const char *s = e;
    bool neg = *s == '-';
    if (neg)
        s++;
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9')
            dig[nd++] = *s;
    long exp = strtol(s + 1, NULL, 10);
    while (nd > 1 && dig[nd - 1] == '0')
        nd--;
    if (nd == 1 && dig[0] == '0') {
        neg = false;
        exp = 0;
    }
    size_t cap = nd + (size_t)(exp < 0 ? -exp : exp) + 8;
    char *out = malloc(cap);
    if (!out) {
        *why = "out of memory";
        return NULL;
    }
    size_t n = 0;
    if (neg)
        out[n++] = '-';
    if (exp < 0) {
        out[n++] = '0';
        out[n++] = '.';
        for (long i = 0; i < -exp - 1; i++)
            out[n++] = '0';
        memcpy(out + n, dig, nd);
        n += nd;
    } else if ((size_t)exp >= nd - 1) {
        memcpy(out + n, dig, nd);
        n += nd;
        for (long i = 0; i < exp - (long)(nd - 1); i++)
            out[n++] = '0';
    } else {
        memcpy(out + n, dig, (size_t)exp + 1);
        n += (size_t)exp + 1;
        out[n++] = '.';
        memcpy(out + n, dig + exp + 1, nd - (size_t)exp - 1);
        n += nd - (size_t)exp - 1;
    }
    out[n] = '\0';
    return out;
}

/* int_text - decimal text of x into b (at least 21 bytes), no printf:
 * selectors compare integers once per array element */
static size_t int_text(json_int_t x, char *b)
{
    char tmp[24];
    size_t n = 0, k = 0;
    unsigned long long mag = x < 0 ? 0ULL - (unsigned long long)x
                                   : (unsigned long long)x;
    do {
        tmp[n++] = (char)('0' + mag % 10);
        mag /= 10;
    } while (mag);
    if (x < 0)
        b[k++] = '-';
    while (n)
        b[k++] = tmp[--n];
    b[k] = '\0';
    return k;
}

char *jpath_scalar_text(const json_t *v, const char **why)
{
    static const char *dummy;
    if (!why)
        why = &dummy;
    *why = NULL;
    char b[32];
    switch (json_typeof(v)) {
    case JSON_STRING:
        return strndup(json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        int_text(json_integer_value(v), b);
        return strdup(b);
    case JSON_REAL:
        return real_text(json_real_value(v), why);
    case JSON_TRUE:
        return strdup("true");
    case JSON_FALSE:
        return strdup("false");
    case JSON_OBJECT:
        *why = "expected a single value, found an object";
        return NULL;
    case JSON_ARRAY:
        *why = "expected a single value, found an array";
        return NULL;
    case JSON_NULL:
        return NULL;
    }
    return NULL;
}

/* select_match - does member m equal the selector's value (as string or
 * number)? */
static bool select_match(const json_t *m, const struct jpath_step *st)
{
    if (!m || json_is_null(m) || json_is_object(m) || json_is_array(m))
        return false;
    if (json_is_string(m))
        return st->vlen == json_string_length(m) &&
               memcmp(st->value, json_string_value(m), st->vlen) == 0;
    if (json_is_integer(m))            /* as its text would compare */
        return st->vint && st->vnum == (int64_t)json_integer_value(m);
    char *t = jpath_scalar_text(m, NULL);
    bool ok = t && strcmp(t, st->value) == 0;
    free(t);
    return ok;
}

/* select_index - the index of the first element of array a whose member
 * st->key matches st->value; json_array_size(a) when none */
static size_t select_index(const json_t *a, const struct jpath_step *st)
{
    size_t j;
    const json_t *el;
    json_array_foreach(a, j, el)
        if (json_is_object(el) &&
            select_match(json_object_get(el, st->key), st))
            return j;
    return json_array_size(a);
}

const json_t *jpath_get(const struct jpath *p, const json_t *root)
{
    const json_t *cur = root;
    for (size_t i = 0; cur && i < p->n; i++) {
        const struct jpath_step *st = &p->s[i];
        switch (st->kind) {
        case JP_KEY:
            cur = json_is_object(cur) ? json_object_get(cur, st->key) : NULL;
            break;
        case JP_INDEX:
            cur = json_is_array(cur) ? json_array_get(cur, st->index) : NULL;
            break;
        case JP_SELECT:
            cur = json_is_array(cur) ? json_array_get(cur, select_index(cur, st))
                                     : NULL;
            break;
        }
    }
    return cur;
}

int jpath_set(const struct jpath *p, json_t *root, json_t *val, char *why,
              size_t whysz)
{
    json_t *cur = root;
    for (size_t i = 0; i < p->n; i++) {
        const struct jpath_step *s = &p->s[i];
        bool last = i + 1 == p->n;
        if (s->kind == JP_KEY) {
            if (!json_is_object(cur)) {
                snprintf(why, whysz, "'%s' is not inside an object", s->key);
                break;
            }
            if (last)
                return json_object_set_new(cur, s->key, val) == 0 ? 0 : -1;
            json_t *next = json_object_get(cur, s->key);
            if (!next) {
                next = json_object();
                if (!next || json_object_set_new(cur, s->key, next) != 0) {
                    snprintf(why, whysz, "out of memory");
                    break;
                }
            }
            cur = next;
            continue;
        }
        if (!json_is_array(cur)) {
            snprintf(why, whysz, "step %zu is not inside an array", i + 1);
            break;
        }
        size_t idx = s->kind == JP_INDEX ? s->index : select_index(cur, s);
        if (idx >= json_array_size(cur)) {
            snprintf(why, whysz, "no array element matches step %zu", i + 1);
            break;
        }
        if (last)
            return json_array_set_new(cur, idx, val) == 0 ? 0 : -1;
        cur = json_array_get(cur, idx);
    }
    json_decref(val);
    return -1;
}

/* ---- the fast path's tree (jtree.h) ------------------------------------
 * Read as jansson's tree is read above: a key step on an object, an index
 * step on an array, a selector on an array of objects; scalars give the
 * same text. */

const struct jt_node *jt_member_n(const struct jt_doc *d,
                                  const struct jt_node *o, const char *key,
                                  size_t kl)
{
    if (!o || o->type != JT_OBJECT)
        return NULL;
    const struct jt_node *c = d->v + o->u.first;
    for (uint32_t i = 0; i < o->n; i++)
        if (c[i].klen == kl && (kl == 0 || c[i].key[0] == key[0]) &&
            memcmp(c[i].key, key, kl) == 0)
            return &c[i];
    return NULL;
}

const struct jt_node *jt_member(const struct jt_doc *d,
                                const struct jt_node *o, const char *key)
{
    return jt_member_n(d, o, key, strlen(key));
}

const struct jt_node *jt_elem(const struct jt_doc *d,
                              const struct jt_node *a, size_t i)
{
    if (!a || a->type != JT_ARRAY || i >= a->n)
        return NULL;
    return d->v + a->u.first + i;
}

char *jpath_scalar_text_jt(const struct jt_node *v, const char **why)
{
    static const char *dummy;
    if (!why)
        why = &dummy;
    *why = NULL;
    char b[32];
    switch (v->type) {
    case JT_STRING:
        return strndup(v->u.s, v->n);
    case JT_INT:
        int_text((json_int_t)v->u.i, b);
        return strdup(b);
    case JT_REAL:
        return real_text(v->u.d, why);
    case JT_TRUE:
        return strdup("true");
    case JT_FALSE:
        return strdup("false");
    case JT_OBJECT:
        *why = "expected a single value, found an object";
        return NULL;
    case JT_ARRAY:
        *why = "expected a single value, found an array";
        return NULL;
    }
    return NULL;
}

static bool select_match_jt(const struct jt_node *m,
                            const struct jpath_step *st)
{
    if (!m || m->type == JT_NULL || m->type == JT_OBJECT
        || m->type == JT_ARRAY)
        return false;
    if (m->type == JT_STRING)
        return st->vlen == m->n && memcmp(st->value, m->u.s, m->n) == 0;
    if (m->type == JT_INT)             /* as its text would compare */
        return st->vint && st->vnum == m->u.i;
    char *t = jpath_scalar_text_jt(m, NULL);
    bool ok = t && strcmp(t, st->value) == 0;
    free(t);
    return ok;
}

const struct jt_node *jpath_get_jt(const struct jpath *p,
                                   const struct jt_doc *d,
                                   const struct jt_node *root)
{
    return jpath_get_jt_memo(p, d, root, NULL);
}

/* memo_member - jt_member_n through memo's last few look-ups */
static const struct jt_node *memo_member(const struct jt_doc *d,
                                         const struct jt_node *o,
                                         const struct jpath_step *st,
                                         struct jt_memo *memo)
{
    for (unsigned i = 0; i < JT_MEMO_KEYS; i++)
        if (memo->k[i].o == o && memo->k[i].klen == st->klen &&
            (memo->k[i].key == st->key ||
             memcmp(memo->k[i].key, st->key, st->klen) == 0))
            return memo->k[i].found;
    const struct jt_node *f = jt_member_n(d, o, st->key, st->klen);
    unsigned i = memo->next++ % JT_MEMO_KEYS;
    memo->k[i].o = o;
    memo->k[i].key = st->key;
    memo->k[i].klen = st->klen;
    memo->k[i].found = f;
    return f;
}

const struct jt_node *jpath_get_jt_memo(const struct jpath *p,
                                        const struct jt_doc *d,
                                        const struct jt_node *root,
                                        struct jt_memo *memo)
{
    const struct jt_node *cur = root;
    for (size_t i = 0; cur && i < p->n; i++) {
        const struct jpath_step *st = &p->s[i];
        switch (st->kind) {
        case JP_KEY:
            /* the document's own members are what many paths share */
            cur = memo && cur == d->v
                      ? memo_member(d, cur, st, memo)
                      : jt_member_n(d, cur, st->key, st->klen);
            break;
        case JP_INDEX:
            cur = jt_elem(d, cur, st->index);
            break;
        case JP_SELECT: {
            if (cur->type != JT_ARRAY) {
                cur = NULL;
                break;
            }
            const struct jt_node *el0 = d->v + cur->u.first;
            bool memo_ok = memo && cur->n <= JT_MEMO_ELEMS;
            if (memo_ok && !(memo->arr == cur && memo->aklen == st->klen &&
                             (memo->akey == st->key ||
                              memcmp(memo->akey, st->key, st->klen) == 0))) {
                /* index this array by the selector's member, once */
                for (uint32_t k = 0; k < cur->n; k++)
                    memo->m[k] = el0[k].type == JT_OBJECT
                        ? jt_member_n(d, &el0[k], st->key, st->klen) : NULL;
                memo->arr = cur;
                memo->akey = st->key;
                memo->aklen = st->klen;
            }
            const struct jt_node *found = NULL;
            for (uint32_t k = 0; k < cur->n && !found; k++) {
                const struct jt_node *m = memo_ok ? memo->m[k]
                    : el0[k].type == JT_OBJECT
                        ? jt_member_n(d, &el0[k], st->key, st->klen) : NULL;
                if (m && m->type == JT_INT ? st->vint && st->vnum == m->u.i
                                           : select_match_jt(m, st))
                    found = &el0[k];
            }
            cur = found;
            break;
        }
        }
    }
    return cur;
}

/* ---- a mapping's paths walked together (jpath_set) ----------------------
 * The paths are merged into a tree of steps: each distinct prefix is one
 * node, so "answers" is looked up once for every field under it.  The
 * selectors on one array by one member ("answers[question_id=1]",
 * "answers[question_id=2]", ...) are a group, judged in one pass over the
 * array: each takes the first element it matches, as jpath_get_jt's own
 * scan would. */

struct jpath_snode {
    int parent;                      /* -1: the root */
    const struct jpath_step *st;     /* borrowed from the path added */
    int next;                        /* the group's next selector, or -1 */
    bool lead;                       /* the first of its group */
};

struct jpath_set {
    struct jpath_snode *v;
    size_t n, cap;
};

struct jpath_set *jpath_set_new(void)
{
    return calloc(1, sizeof(struct jpath_set));
}

void jpath_set_free(struct jpath_set *s)
{
    if (!s)
        return;
    free(s->v);
    free(s);
}

size_t jpath_set_size(const struct jpath_set *s)
{
    return s->n;
}

static bool same_key(const struct jpath_step *a, const struct jpath_step *b)
{
    return a->klen == b->klen && memcmp(a->key, b->key, a->klen) == 0;
}

/* same_step - a and b find the same node from the same place */
static bool same_step(const struct jpath_step *a, const struct jpath_step *b)
{
    if (a->kind != b->kind)
        return false;
    switch (a->kind) {
    case JP_KEY:
        return same_key(a, b);
    case JP_INDEX:
        return a->index == b->index;
    case JP_SELECT:
        return same_key(a, b) && a->vlen == b->vlen &&
               memcmp(a->value, b->value, a->vlen) == 0;
    }
    return false;
}

int jpath_set_add(struct jpath_set *s, const struct jpath *p)
{
    int at = -1;
    if (!p || !p->n)
        return -1;
    for (size_t i = 0; i < p->n; i++) {
        const struct jpath_step *st = &p->s[i];
        int found = -1, lead = -1;
        for (size_t k = 0; k < s->n && found < 0; k++) {
            const struct jpath_snode *nd = &s->v[k];
            if (nd->parent != at)
                continue;
            if (same_step(nd->st, st))
                found = (int)k;
            else if (lead < 0 && st->kind == JP_SELECT &&
                     nd->st->kind == JP_SELECT && nd->lead &&
                     same_key(nd->st, st))
                lead = (int)k;
        }
        if (found < 0) {
            if (s->n == JPATH_SET_MAX)
                return -1;
            if (s->n == s->cap) {
                size_t cap = s->cap ? s->cap * 2 : 16;
                struct jpath_snode *v = realloc(s->v, cap * sizeof *v);
                if (!v)
                    return -1;
                s->v = v;
                s->cap = cap;
            }
            found = (int)s->n++;
            s->v[found] = (struct jpath_snode){ .parent = at, .st = st,
                                                .next = -1,
                                                .lead = lead < 0 };
            if (lead >= 0) {                /* last in its group */
                int k = lead;
                while (s->v[k].next >= 0)
                    k = s->v[k].next;
                s->v[k].next = found;
            }
        }
        at = found;
    }
    return at;
}

/* select_group - every selector of the group led by node g, over array a */
static void select_group(const struct jpath_set *s, int g,
                         const struct jt_doc *d, const struct jt_node *a,
                         const struct jt_node **res)
{
    size_t want = 0;
    for (int k = g; k >= 0; k = s->v[k].next) {
        res[k] = NULL;
        want++;
    }
    if (!a || a->type != JT_ARRAY)
        return;
    const struct jpath_step *st0 = s->v[g].st;
    const struct jt_node *el0 = d->v + a->u.first;
    for (uint32_t e = 0; e < a->n && want; e++) {
        const struct jt_node *m = el0[e].type == JT_OBJECT
            ? jt_member_n(d, &el0[e], st0->key, st0->klen) : NULL;
        for (int k = g; k >= 0 && m; k = s->v[k].next) {
            const struct jpath_step *st = s->v[k].st;
            if (!res[k] && (m->type == JT_INT ? st->vint && st->vnum == m->u.i
                                              : select_match_jt(m, st))) {
                res[k] = &el0[e];
                want--;
                break;    /* the group's values differ: one match at most */
            }
        }
    }
}

void jpath_set_get_jt(const struct jpath_set *s, const struct jt_doc *d,
                      const struct jt_node *root, const struct jt_node **res)
{
    for (size_t i = 0; i < s->n; i++) {
        const struct jpath_snode *nd = &s->v[i];
        const struct jt_node *from = nd->parent < 0 ? root : res[nd->parent];
        switch (nd->st->kind) {
        case JP_KEY:
            res[i] = from ? jt_member_n(d, from, nd->st->key, nd->st->klen)
                          : NULL;
            break;
        case JP_INDEX:
            res[i] = jt_elem(d, from, nd->st->index);
            break;
        case JP_SELECT:
            if (nd->lead)
                select_group(s, (int)i, d, from, res);
            break;
        }
    }
}
