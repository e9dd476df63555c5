/* adapter_opts.c - an adapter's typed option table, read once.
 *
 * The same reader serves `ferry check` (dst NULL: find every problem) and
 * an adapter's init (dst its own struct: store each value or default at
 * the key's offset), so a value the check passes is a value init takes.
 * Values are borrowed: a string option points into the option list, which
 * outlives every adapter instance made from it. */
#include "adapters/adapter.h"
#include "config/config.h"
#include "util/duration.h"
#include "util/errs.h"

#include <limits.h>
#include <string.h>

const char *const adapter_engine_keys[] = {
    "resend-in-doubt", "batch-size", NULL,
};

const struct adapter_key *adapter_key_find(const struct adapter_key *keys,
                                           const char *name)
{
    for (size_t i = 0; keys && keys[i].name; i++) {
        size_t n = strlen(keys[i].name);
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
        if (n > 1 && keys[i].name[n - 1] == '*' &&
            strncmp(keys[i].name, name, n - 1) == 0 && name[n - 1])
            return &keys[i];
    }
    return NULL;
}

/* in_range - v within the key's [min, max]; both 0 means any */
static bool in_range(const struct adapter_key *k, long long v)
{
    if (k->min == 0 && k->max == 0)
        return true;
    return v >= k->min && v <= k->max;
}

/* read_one - parse s as k's type; store at dst + offset when asked.
 * Returns NULL, or what the value should have been */
static const char *read_one(const struct adapter_key *k, const char *s,
                            void *dst)
{
    char *at = dst && k->offset != ADAPTER_OPT_UNSTORED
        ? (char *)dst + k->offset : NULL;
    switch (k->type) {
    case ADAPTER_OPT_STR:
    case ADAPTER_OPT_SECRET:
        if (at)
            memcpy(at, &s, sizeof s);
        return NULL;
    case ADAPTER_OPT_BOOL: {
        bool b;
        if (config_parse_bool(s, &b) != 0)
            return "true or false";
        if (at)
            memcpy(at, &b, sizeof b);
        return NULL;
    }
    case ADAPTER_OPT_INT: {
        long v;
        if (config_parse_int(s, LONG_MIN, LONG_MAX, &v) != 0 ||
            !in_range(k, v))
            return "a whole number in range";
        if (at)
            memcpy(at, &v, sizeof v);
        return NULL;
    }
    case ADAPTER_OPT_DURATION: {
        int64_t ms;
        if (duration_parse(s, &ms) != 0 || !in_range(k, ms))
            return "a duration in range (e.g. 500ms, 30s, 2m)";
        if (at)
            memcpy(at, &ms, sizeof ms);
        return NULL;
    }
    case ADAPTER_OPT_SIZE: {
        size_t z;
        if (config_parse_size(s, &z) != 0 ||
            (k->max && !in_range(k, (long long)z)) ||
            (long long)z < k->min)
            return "a size in range (e.g. 64KiB, 1MiB)";
        if (at)
            memcpy(at, &z, sizeof z);
        return NULL;
    }
    }
    return "a known type";
}

/* dur_text - ms as the largest whole unit: 86400000 -> "24h" */
static void dur_text(long long ms, char *out, size_t sz)
{
    static const struct { long long ms; const char *u; } units[] = {
        { 3600000, "h" }, { 60000, "m" }, { 1000, "s" }, { 1, "ms" },
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (ms % units[i].ms == 0 || units[i].ms == 1) {
            snprintf(out, sz, "%lld%s", ms / units[i].ms, units[i].u);
            return;
        }
}

/* range_text - " (MIN..MAX)" for messages, "" without a range */
static void range_text(const struct adapter_key *k, char *out, size_t sz)
{
    out[0] = '\0';
    if (k->min == 0 && k->max == 0)
        return;
    if (k->type == ADAPTER_OPT_DURATION) {
        char lo[32], hi[32];
        dur_text(k->min, lo, sizeof lo);
        dur_text(k->max, hi, sizeof hi);
        snprintf(out, sz, " (%s..%s)", lo, hi);
    }
    else if (k->max)
        snprintf(out, sz, " (%lld..%lld)", k->min, k->max);
    else
        snprintf(out, sz, " (at least %lld)", k->min);
}

static bool skipped(const char *const *skip, const char *key)
{
    for (size_t s = 0; skip && skip[s]; s++)
        if (strcmp(skip[s], key) == 0)
            return true;
    return false;
}

int adapter_opts_read(const struct adapter *a, const struct adapter_key *keys,
                      const struct kvlist *opts, const char *const *skip,
                      void *dst, const char *owner, const char *file,
                      long line, struct errs *e)
{
    size_t before = e->n + e->dropped;
    const char *aname = a && a->name ? a->name : "?";
    /* defaults first, so a present value overrides them */
    for (size_t i = 0; dst && keys && keys[i].name; i++)
        if (keys[i].def && read_one(&keys[i], keys[i].def, dst))
            errs_add_at(e, file, line, "%s: adapter %s: bad default for "
                        "'%s'", owner, aname, keys[i].name);
    for (size_t i = 0; opts && i < opts->n; i++) {
        const struct kv *kv = &opts->v[i];
        long at = file && kv->line ? kv->line : line;
        if (skipped(skip, kv->key))
            continue;
        const struct adapter_key *k = adapter_key_find(keys, kv->key);
        if (!k) {
            errs_add_at(e, file, at, "%s: unknown key '%s' for adapter %s",
                        owner, kv->key, aname);
            continue;
        }
        const char *want = read_one(k, kv->value ? kv->value : "", dst);
        if (want) {
            char r[96];
            range_text(k, r, sizeof r);
            errs_add_at(e, file, at, "%s: %s=\"%s\" for adapter %s: want "
                        "%s%s", owner, kv->key, kv->value ? kv->value : "",
                        aname, want, r);
        }
    }
    for (size_t i = 0; keys && keys[i].name; i++)
        if (keys[i].required && !kv_get(opts, keys[i].name))
            errs_add_at(e, file, line,
                        "%s: missing required key '%s' for adapter %s",
                        owner, keys[i].name, aname);
    return e->n + e->dropped > before ? -1 : 0;
}

int adapter_validate(const struct adapter *a, const struct adapter_env *env,
                     struct errs *e)
{
    if (a->validate)
        return a->validate(env, e);
    if (!a->init)
        return 0;
    void *ctx = NULL;
    size_t before = e->n + e->dropped;
    if (a->init(&ctx, env, e) != 0) {
        if (e->n + e->dropped == before)
            errs_add(e, a->name, "the adapter refused its options");
        return -1;
    }
    if (a->close)
        a->close(ctx);
    return 0;
}
