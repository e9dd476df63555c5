/* adapter_check.c - what the configuration check asks of the adapters.
 *
 * config/ knows no adapter: it reads ferry.xml and the mappings.  This file
 * holds each target up against the adapter it names: the type exists and
 * is of the right kind, every option list (target, transport, mapping
 * <target>) reads against the adapter's typed key table, secrets named by
 * secret keys are present and private, and then the adapter's own
 * validation runs: the same code the daemon runs when it starts the
 * target, so what `ferry check` passes, `ferry serve` can start.  Every
 * problem is reported with the file and line it comes from. */
#include "adapters/adapter_check.h"
#include "adapters/adapter.h"
#include "adapters/handover.h"
#include "config/config.h"
#include "util/errs.h"

#include <stdio.h>
#include <string.h>

/* tname - a target's name for messages */
static const char *tname(const struct target_config *t)
{
    return t->name ? t->name : "";
}

int adapter_check_types(const struct ferry_config *c, struct errs *e)
{
    size_t before = e->n + e->dropped;
    for (size_t i = 0; i < c->ntargets; i++) {
        const struct target_config *t = &c->targets[i];
        if (!t->type)
            continue;
        const struct adapter *a = adapter_find(t->type);
        if (!a) {
            errs_add_at(e, c->path, t->line,
                        "target '%s': unknown adapter type '%s'", tname(t),
                        t->type);
            continue;
        }
        if (a->kind == ADAPTER_TRANSPORT) {
            errs_add_at(e, c->path, t->line,
                        "target '%s': '%s' is a transport; use it in "
                        "<transport type=\"%s\"> inside a target",
                        tname(t), t->type, t->type);
            continue;
        }
        if (a->kind == ADAPTER_BATCH && !t->transport_type)
            errs_add_at(e, c->path, t->line,
                        "target '%s': a %s target needs a <transport>",
                        tname(t), t->type);
        if (a->kind == ADAPTER_STREAM && t->transport_type)
            errs_add_at(e, c->path, t->line,
                        "target '%s': a %s target takes no <transport>",
                        tname(t), t->type);
        if (t->transport_type) {
            const struct adapter *ta = adapter_find(t->transport_type);
            if (!ta || ta->kind != ADAPTER_TRANSPORT)
                errs_add_at(e, c->path, t->line,
                            "target '%s': unknown transport type '%s'",
                            tname(t), t->transport_type);
        }
    }
    return (int)(e->n + e->dropped - before);
}

/* check_opts - opts against keys, then the secrets its secret keys name */
static int check_opts(const struct ferry_config *c, const struct adapter *a,
                      const struct adapter_key *keys,
                      const struct kvlist *opts, const char *const *skip,
                      bool secrets, const char *owner, const char *file,
                      long line, struct errs *e)
{
    size_t before = e->n + e->dropped;
    adapter_opts_read(a, keys, opts, skip, NULL, owner, file, line, e);
    for (size_t i = 0; secrets && opts && i < opts->n; i++) {
        const struct kv *kv = &opts->v[i];
        const struct adapter_key *k = adapter_key_find(keys, kv->key);
        if (!k || k->type != ADAPTER_OPT_SECRET)
            continue;
        char what[256];
        snprintf(what, sizeof what, "%s %s", owner, kv->key);
        config_check_secret(c, kv->line ? kv->line : line, what, kv->value,
                            e);
    }
    return e->n + e->dropped > before ? -1 : 0;
}

/* transport_of - a batch target's transport adapter, or NULL */
static const struct adapter *transport_of(const struct target_config *t)
{
    const struct adapter *ta =
        t->transport_type ? adapter_find(t->transport_type) : NULL;
    return ta && ta->kind == ADAPTER_TRANSPORT ? ta : NULL;
}

/* validate - the adapter's own check of one instance; its problems are
 * placed at file:line unless they already name a place of their own */
static void validate(const struct adapter *a, const struct adapter_env *env,
                     const char *owner, const char *file, long line,
                     struct errs *e)
{
    struct errs tmp;
    errs_init(&tmp);
    adapter_validate(a, env, &tmp);
    for (size_t k = 0; k < tmp.n; k++) {
        const char *w = tmp.v[k].where;
        if (strchr(w, ':'))
            errs_add(e, w, "%s", tmp.v[k].msg);
        else
            errs_add_at(e, file, line, "%s: %s%s%s", owner, w,
                        w[0] ? ": " : "", tmp.v[k].msg);
    }
    errs_free(&tmp);
}

/* target_ok - t's own options read cleanly (checked once, reported by
 * adapter_check_targets): only then is its adapter asked to validate, so
 * one fault is not reported twice */
static bool target_ok(const struct ferry_config *c,
                      const struct target_config *t)
{
    const struct adapter *a = t->type ? adapter_find(t->type) : NULL;
    if (!a || a->kind == ADAPTER_TRANSPORT)
        return false;
    struct errs tmp;
    errs_init(&tmp);
    check_opts(c, a, a->keys, &t->opts,
               a->kind == ADAPTER_STREAM ? adapter_engine_keys : NULL, true,
               "", c->path, t->line, &tmp);
    const struct adapter *ta = transport_of(t);
    if (ta)
        check_opts(c, ta, ta->keys, &t->transport_opts,
                   adapter_handover_keys, true, "",
                   c->path, t->line, &tmp);
    bool ok = tmp.n == 0 && tmp.dropped == 0;
    errs_free(&tmp);
    return ok;
}

int adapter_check_targets(const struct ferry_config *c, struct errs *e)
{
    size_t before = e->n + e->dropped;
    for (size_t i = 0; i < c->ntargets; i++) {
        const struct target_config *t = &c->targets[i];
        char owner[160];
        snprintf(owner, sizeof owner, "target '%s'", tname(t));
        const struct adapter *a = t->type ? adapter_find(t->type) : NULL;
        int bad = 0;
        if (a && a->kind != ADAPTER_TRANSPORT)
            bad |= check_opts(c, a, a->keys, &t->opts,
                              a->kind == ADAPTER_STREAM ? adapter_engine_keys
                                                        : NULL,
                              true, owner, c->path, t->line, e);
        const struct adapter *ta = transport_of(t);
        if (!ta)
            continue;
        snprintf(owner, sizeof owner, "target '%s' transport", tname(t));
        bad |= check_opts(c, ta, ta->keys, &t->transport_opts,
                          adapter_handover_keys, true, owner, c->path,
                          t->line, e);
        struct errs he;
        errs_init(&he);
        struct adapter_handover *h = adapter_handover_new(
            ta, &t->transport_opts, c->base_dir, owner, &he);
        for (size_t k = 0; k < he.n; k++) {
            const struct kv *kv = NULL;
            for (size_t j = 0; j < t->transport_opts.n && !kv; j++)
                if (strcmp(t->transport_opts.v[j].key, he.v[k].where) == 0)
                    kv = &t->transport_opts.v[j];
            errs_add_at(e, c->path, kv && kv->line ? kv->line : t->line,
                        "%s", he.v[k].msg);
            bad = 1;
        }
        adapter_handover_free(h);
        errs_free(&he);
        if (bad)
            continue;
        struct adapter_env env = {
            .target = t, .opts = &t->transport_opts, .base_dir = c->base_dir,
        };
        validate(ta, &env, owner, c->path, t->line, e);
    }
    return (int)(e->n + e->dropped - before);
}

int adapter_check_service_keys(const struct ferry_config *c,
                               const struct service_config *s,
                               struct errs *e)
{
    static const char *const skip[] = { "name", NULL };
    size_t before = e->n + e->dropped;
    for (size_t i = 0; s->mapping && i < s->ntargets; i++) {
        const struct map_target *mt = mapping_target(s->mapping,
                                                     s->targets[i]);
        const struct target_config *t = config_target(c, s->targets[i]);
        const struct adapter *a = t && t->type ? adapter_find(t->type)
                                               : NULL;
        if (!mt || !a || !a->map_keys)
            continue;
        char owner[160];
        snprintf(owner, sizeof owner, "mapping target '%s'",
                 mt->name ? mt->name : "");
        check_opts(c, a, a->map_keys, &mt->opts, skip, false, owner,
                   s->mapping->file ? s->mapping->file : s->mapping_file,
                   mt->line, e);
    }
    return (int)(e->n + e->dropped - before);
}

int adapter_check_service(const struct ferry_config *c,
                          const struct service_config *s, struct errs *e)
{
    size_t before = e->n + e->dropped;
    for (size_t i = 0; s->mapping && i < s->ntargets; i++) {
        const struct map_target *mt = mapping_target(s->mapping,
                                                     s->targets[i]);
        const struct target_config *t = config_target(c, s->targets[i]);
        if (!mt || !t || !target_ok(c, t))
            continue;
        const struct adapter *a = adapter_find(t->type);
        const char *mfile = s->mapping->file ? s->mapping->file
                                             : s->mapping_file;
        struct adapter_env env = {
            .target = t, .opts = &t->opts, .map = mt,
            .base_dir = c->base_dir, .service = s->name, .mapping_file = mfile,
        };
        char owner[200];
        snprintf(owner, sizeof owner, "target '%s' (service '%s')",
                 tname(t), s->name ? s->name : "");
        validate(a, &env, owner, c->path, t->line, e);
    }
    return (int)(e->n + e->dropped - before);
}
