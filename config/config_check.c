/* config_check.c - the deeper checks `ferry check` runs after config_load.
 *
 * config_load proves the file well-formed, valid and consistent in its
 * names.  This file checks what lies outside it: secrets (present, not
 * readable by others, environment variables set), adapter keys against
 * each adapter's own key table, copybooks named by the mappings and every
 * <map to="..."> against the copybook's record, cron schedules, time
 * zones and delivery windows.  Nothing here changes the config; every
 * problem goes to the errs list with the file and line it comes from. */
#include "config/config.h"
#include "mappings/fw_target.h"
#include "adapters/adapter.h"
#include "mappings/copybook.h"
#include "scheduler/cron.h"
#include "util/tz.h"
#include "scheduler/window.h"
#include "util/errs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct checker {
    const struct ferry_config *c;
    struct errs *e;
    size_t before;
};

/* check_secret - ref is "env:NAME" or a file relative to base_dir */
static void check_secret(struct checker *K, long line, const char *what,
                         const char *ref)
{
    const struct ferry_config *c = K->c;
    if (!ref)
        return;
    if (strncmp(ref, "env:", 4) == 0) {
        if (!ref[4] || !getenv(ref + 4))
            errs_add_at(K->e, c->path, line,
                        "%s: environment variable %s is not set", what,
                        ref + 4);
        return;
    }
    char *path = config_path(c->base_dir, ref);
    if (!path) {
        errs_add_at(K->e, c->path, line, "out of memory");
        return;
    }
    struct stat st;
    if (stat(path, &st) != 0)
        errs_add_at(K->e, c->path, line, "%s: secret file %s: %s", what,
                    path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        errs_add_at(K->e, c->path, line, "%s: secret file %s is not a file",
                    what, path);
    else if (st.st_mode & 077)
        errs_add_at(K->e, c->path, line,
                    "%s: secret file %s is readable by others (mode %04o); "
                    "chmod 600 it", what, path,
                    (unsigned)(st.st_mode & 07777));
    free(path);
}

/* check_file - a plain file that must exist (certificates) */
static void check_file(struct checker *K, long line, const char *what,
                       const char *path)
{
    struct stat st;
    if (path && stat(path, &st) != 0)
        errs_add_at(K->e, K->c->path, line, "%s %s: %s", what, path,
                    strerror(errno));
}

/* key_find - exact name, or a key table entry ending in '*' that is a
 * prefix of name ("ns-*" takes ns-r, ns-claims, ...) */
static const struct adapter_key *key_find(const struct adapter_key *keys,
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

/* check_keys - opts against an adapter's key table: unknown keys, missing
 * required ones, secrets.  file/line name where the options were written. */
static void check_keys(struct checker *K, const char *file, long line,
                       const char *owner, const struct adapter *a,
                       const struct adapter_key *keys,
                       const struct kvlist *opts, const char *const *skip,
                       bool secrets)
{
    for (size_t i = 0; i < opts->n; i++) {
        const struct kv *kv = &opts->v[i];
        bool skipped = false;
        for (size_t s = 0; skip && skip[s]; s++)
            if (strcmp(skip[s], kv->key) == 0)
                skipped = true;
        if (skipped)
            continue;
        const struct adapter_key *k = key_find(keys, kv->key);
        if (!k) {
            errs_add_at(K->e, file, kv->line ? kv->line : line,
                        "%s: unknown key '%s' for adapter %s", owner,
                        kv->key, a->name);
            continue;
        }
        if (k->secret && secrets) {
            char what[256];
            snprintf(what, sizeof what, "%s %s", owner, kv->key);
            check_secret(K, kv->line ? kv->line : line, what, kv->value);
        }
    }
    for (size_t i = 0; keys && keys[i].name; i++)
        if (keys[i].required && !kv_get(opts, keys[i].name))
            errs_add_at(K->e, file, line,
                        "%s: missing required key '%s' for adapter %s",
                        owner, keys[i].name, a->name);
}

static void check_targets(struct checker *K)
{
    const struct ferry_config *c = K->c;
    for (size_t i = 0; i < c->ntargets; i++) {
        const struct target_config *t = &c->targets[i];
        char owner[160];
        snprintf(owner, sizeof owner, "target '%s'", t->name ? t->name : "");
        const struct adapter *a = t->type ? adapter_find(t->type) : NULL;
        if (a && a->kind != ADAPTER_TRANSPORT)
            check_keys(K, c->path, t->line, owner, a, a->keys, &t->opts,
                       NULL, true);
        const struct adapter *ta =
            t->transport_type ? adapter_find(t->transport_type) : NULL;
        if (ta && ta->kind == ADAPTER_TRANSPORT) {
            snprintf(owner, sizeof owner, "target '%s' transport",
                     t->name ? t->name : "");
            check_keys(K, c->path, t->line, owner, ta, ta->keys,
                       &t->transport_opts, NULL, true);
        }
    }
}

/* mapping_dir_path - p relative to the mapping file's folder */
static char *mapping_dir_path(const char *mapping_file, const char *p)
{
    const char *slash = strrchr(mapping_file, '/');
    if (!slash || p[0] == '/')
        return strdup(p);
    char *out = NULL;
    if (asprintf(&out, "%.*s/%s", (int)(slash - mapping_file), mapping_file,
                 p) < 0)
        return NULL;
    return out;
}

/* check_section - every <map to> of one section names a field of the
 * copybook record the section uses */
static void check_section(struct checker *K, const char *mfile,
                          const struct copybook *cb, const char *cbname,
                          const char *recname, const struct map_section *s)
{
    const struct cpy_record *r = cpy_record_find(cb, recname);
    if (!r) {
        errs_add_at(K->e, mfile, s->line,
                    "copybook %s has no record %s", cbname,
                    recname ? recname : "(none)");
        return;
    }
    for (size_t i = 0; i < s->na; i++) {
        const struct map_assign *a = &s->a[i];
        if (!a->to)
            continue;
        bool ambiguous = false;
        const struct cpy_field *f = cpy_field_find(r, a->to, &ambiguous);
        if (ambiguous)
            errs_add_at(K->e, mfile, a->line,
                        "map to '%s': more than one field of copybook "
                        "record %s has that name; qualify it as GROUP.NAME",
                        a->to, r->name);
        else if (!f)
            errs_add_at(K->e, mfile, a->line,
                        "map to '%s': no such field in copybook record %s "
                        "(%s)", a->to, r->name, cbname);
    }
}

/* check_sources - every <map from="..."> names a field the accept part
 * produces ("FIELD", "LIST.FIELD", "LIST.#") or a "$special": a typo
 * would otherwise send an empty column or element for every record */
static void check_sources(struct checker *K, const struct mapping *m,
                          const char *mfile, const struct map_target *mt)
{
    for (size_t si = 0; si < mt->nsec; si++) {
        const struct map_section *sec = &mt->sec[si];
        for (size_t i = 0; i < sec->na; i++) {
            const struct map_assign *a = &sec->a[i];
            if (!a->from || a->from[0] == '$')
                continue;
            char top[256];
            snprintf(top, sizeof top, "%s", a->from);
            char *dot = strchr(top, '.');
            const char *sub = dot ? dot + 1 : NULL;
            if (dot)
                *dot = '\0';
            const struct map_field *f = mapping_field(m, top);
            bool ok = f != NULL;
            if (f && sub) {
                ok = f->type == FT_LIST && strcmp(sub, "#") == 0;
                for (size_t k = 0; !ok && k < f->nsub; k++)
                    ok = strcmp(f->sub[k].name, sub) == 0;
            }
            if (!ok)
                errs_add_at(K->e, mfile, a->line ? a->line : sec->line,
                            "target '%s': map to '%s' from '%s': no such "
                            "field in the mapping's <accept>%s",
                            mt->name ? mt->name : "", a->to ? a->to : "",
                            a->from, sub ? " (LIST.FIELD or LIST.#)" : "");
        }
    }
}

/* check_copybooks - a mapping target that names a copybook: the file
 * exists, parses, and every assignment names one of its fields */
static void check_copybooks(struct checker *K, const struct service_config *s,
                            const struct map_target *mt)
{
    const char *mfile = s->mapping->file ? s->mapping->file
                                         : s->mapping_file;
    const char *cbref = kv_get(&mt->opts, "copybook");
    if (!cbref)
        return;
    char *path = mapping_dir_path(mfile, cbref);
    if (!path) {
        errs_add(K->e, mfile, "out of memory");
        return;
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        errs_add_at(K->e, mfile, mt->line, "copybook %s: %s", path,
                    strerror(errno));
        free(path);
        return;
    }
    struct copybook *cb = cpy_load(path, CPY_FMT_AUTO, K->e);
    if (!cb) {
        free(path);
        return;
    }
    for (size_t i = 0; i < mt->nsec; i++) {
        const struct map_section *sec = &mt->sec[i];
        if (sec->na == 0)
            continue;
        /* a section may name its own copybook (an ack layout) */
        const char *own = kv_get(&sec->opts, "copybook");
        const char *rec = kv_get(&sec->opts, "record");
        if (!rec && i == 0)
            rec = kv_get(&mt->opts, "record");
        if (own) {
            char *opath = mapping_dir_path(mfile, own);
            struct copybook *ocb = NULL;
            if (opath && stat(opath, &st) != 0)
                errs_add_at(K->e, mfile, sec->line, "copybook %s: %s", opath,
                            strerror(errno));
            else if (opath)
                ocb = cpy_load(opath, CPY_FMT_AUTO, K->e);
            if (ocb)
                check_section(K, mfile, ocb, opath, rec, sec);
            cpy_free(ocb);
            free(opath);
        } else {
            check_section(K, mfile, cb, path, rec, sec);
        }
    }
    cpy_free(cb);
    free(path);
}

static void check_services(struct checker *K)
{
    static const char *const skip[] = { "name", NULL };
    const struct ferry_config *c = K->c;
    for (size_t i = 0; i < c->nservices; i++) {
        const struct service_config *s = &c->services[i];
        if (!s->mapping || !s->ntargets)
            continue;
        const struct map_target *mt = mapping_target(s->mapping,
                                                     s->targets[0]);
        const struct target_config *t = config_target(c, s->targets[0]);
        if (!mt || !t)
            continue;
        const char *mfile = s->mapping->file ? s->mapping->file
                                             : s->mapping_file;
        const struct adapter *a = t->type ? adapter_find(t->type) : NULL;
        if (a && a->map_keys) {
            char owner[160];
            snprintf(owner, sizeof owner, "mapping target '%s'",
                     mt->name ? mt->name : "");
            check_keys(K, mfile, mt->line, owner, a, a->map_keys, &mt->opts,
                       skip, false);
        }
        check_sources(K, s->mapping, mfile, mt);
        size_t before = K->e->n;
        check_copybooks(K, s, mt);
        /* a fixed-width target's whole layout, as the batch will bind it:
         * date formats, LIST.FIELD into tables, nested tables.  Only when
         * the names all resolved, so nothing is reported twice. */
        if (K->e->n == before && a && a->kind == ADAPTER_BATCH &&
            kv_get(&mt->opts, "copybook")) {
            struct errs fe;
            errs_init(&fe);
            fw_target_free(fw_target_new(mt, mfile, &fe));
            errs_move(K->e, &fe);
            errs_free(&fe);
        }
    }
}

/* check_windows - each target's <window> and holidays parse */
static void check_windows(struct checker *K)
{
    const struct ferry_config *c = K->c;
    for (size_t i = 0; i < c->ntargets; i++) {
        const struct target_config *t = &c->targets[i];
        if (!t->window && !t->nholidays)
            continue;
        struct errs tmp;
        errs_init(&tmp);
        struct window *w = window_parse(t->window ? t->window : "00:00-24:00",
                                        (const char *const *)t->holidays,
                                        t->nholidays, &tmp);
        if (!w)
            for (size_t k = 0; k < tmp.n; k++)
                errs_add_at(K->e, c->path, t->line, "target '%s': %s%s%s",
                            t->name ? t->name : "", tmp.v[k].where,
                            tmp.v[k].where[0] ? ": " : "", tmp.v[k].msg);
        window_free(w);
        errs_free(&tmp);
    }
}

static void check_jobs(struct checker *K)
{
    const struct ferry_config *c = K->c;
    for (size_t i = 0; i < c->njobs; i++) {
        const struct job_config *j = &c->jobs[i];
        const char *name = j->name ? j->name : "";
        if (j->schedule) {
            struct errs tmp;
            errs_init(&tmp);
            struct cron cr;
            if (cron_parse(j->schedule, &cr, &tmp) != 0)
                errs_add_at(K->e, c->path, j->line,
                            "job '%s': schedule '%s': %s", name,
                            j->schedule, tmp.n ? tmp.v[0].msg : "bad");
            errs_free(&tmp);
        }
        if (j->tz) {
            struct errs tmp;
            errs_init(&tmp);
            struct tz *z = tz_load(j->tz, &tmp);
            if (!z)
                errs_add_at(K->e, c->path, j->line,
                            "job '%s': unknown time zone '%s'", name, j->tz);
            tz_free(z);
            errs_free(&tmp);
        }
    }
}

int config_check(const struct ferry_config *c, struct errs *e)
{
    if (!c)
        return 0;
    struct checker K = { .c = c, .e = e, .before = e->n + e->dropped };
    check_secret(&K, c->spool_line, "spool key-file", c->spool_key_file);
    check_secret(&K, c->spool_line, "spool audit-key-file",
                 c->spool_audit_key_file);
    if (c->intake.enabled) {
        check_secret(&K, c->intake.line, "intake key-file",
                     c->intake.key_file);
        check_file(&K, c->intake.line, "intake cert-file",
                   c->intake.cert_file);
        check_file(&K, c->intake.line, "intake client-ca-file",
                   c->intake.client_ca_file);
        if (c->intake.cert_file && !c->intake.key_file)
            errs_add_at(e, c->path, c->intake.line,
                        "intake: cert-file without key-file");
        if (!c->intake.cert_file && c->intake.key_file)
            errs_add_at(e, c->path, c->intake.line,
                        "intake: key-file without cert-file");
    }
    if (c->console.enabled) {
        check_secret(&K, c->console.line, "console key-file",
                     c->console.key_file);
        check_file(&K, c->console.line, "console cert-file",
                   c->console.cert_file);
        if (!c->console.cert_file != !c->console.key_file)
            errs_add_at(e, c->path, c->console.line, "console: give both "
                        "cert-file and key-file, or neither");
        struct stat sb;
        if (c->console.staff_file && stat(c->console.staff_file, &sb) == 0
            && (sb.st_mode & 077))
            errs_add_at(e, c->path, c->console.line, "console staff-file "
                        "%s is readable by group or others (chmod 600)",
                        c->console.staff_file);
    }
    for (size_t i = 0; i < c->nclients; i++) {
        char what[160];
        snprintf(what, sizeof what, "client '%s'",
                 c->clients[i].id ? c->clients[i].id : "");
        check_secret(&K, c->clients[i].line, what, c->clients[i].secret_file);
    }
    check_targets(&K);
    check_services(&K);
    check_jobs(&K);
    check_windows(&K);
    return (int)(e->n + e->dropped - K.before);
}
