/* strmap.c - see strmap.h.  Grows at half full, so a probe is short. */
#include "util/strmap.h"

#include <stdlib.h>
#include <string.h>

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

void strmap_free(struct strmap *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->cap; i++)
        free(m->k[i]);
    free(m->k);
    free(m->v);
    memset(m, 0, sizeof *m);
}

static int grow(struct strmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    char **k = calloc(cap, sizeof *k);
    int64_t *v = calloc(cap, sizeof *v);
    if (!k || !v) {
        free(k);
        free(v);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->k[i])
            continue;
        size_t j = hash_str(m->k[i]) & (cap - 1);
        while (k[j])
            j = (j + 1) & (cap - 1);
        k[j] = m->k[i];
        v[j] = m->v[i];
    }
    free(m->k);
    free(m->v);
    m->k = k;
    m->v = v;
    m->cap = cap;
    return 0;
}

int64_t *strmap_get(const struct strmap *m, const char *key)
{
    if (!m->n)
        return NULL;
    size_t j = hash_str(key) & (m->cap - 1);
    while (m->k[j]) {
        if (strcmp(m->k[j], key) == 0)
            return &m->v[j];
        j = (j + 1) & (m->cap - 1);
    }
    return NULL;
}

int strmap_add(struct strmap *m, const char *key, int64_t n, size_t max_keys)
{
    int64_t *v = strmap_get(m, key);
    if (v) {
        *v += n;
        return 0;
    }
    if (max_keys && m->n >= max_keys)
        return 1;
    if ((m->n + 1) * 2 > m->cap && grow(m) != 0)
        return -1;
    size_t j = hash_str(key) & (m->cap - 1);
    while (m->k[j])
        j = (j + 1) & (m->cap - 1);
    if (!(m->k[j] = strdup(key)))
        return -1;
    m->v[j] = n;
    m->n++;
    return 0;
}
