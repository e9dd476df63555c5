/* config_check.c - the deeper checks of config/'s own floor, after
 * config_load.
 *
 * config_load proves the file well-formed, valid and consistent in its
 * names.  This file checks what lies outside it and needs no floor above
 * config/: secrets (present, not readable by others, environment variables
 * set), copybooks named by the mappings and every <map to="..."> against
 * the copybook's record, every <map from="..."> against the accepted
 * fields.  Adapter options and validation (adapters/adapter_check.c) and
 * schedules and windows (scheduler/sched_check.c) are checked above; the
 * whole check is sched_check_config.  Nothing here changes the config;
 * every problem goes to the errs list with the file and line it comes
 * from. */
#include "config/config.h"
#include "mappings/copybook.h"
#include "util/errs.h"
#include "util/suggest.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct checker {
    const struct ferry_config *c;
    struct errs *e;
    size_t before;
    size_t known;                 /* problems config_load reported */
};

void config_check_secret(const struct ferry_config *c, long line,
                         const char *what, const char *ref, struct errs *e)
{
    if (!ref)
        return;
    if (strncmp(ref, "env:", 4) == 0) {
        if (!ref[4] || !getenv(ref + 4))
            errs_add_at(e, c->path, line,
                        "%s: environment variable %s is not set", what,
                        ref + 4);
        return;
    }
    char *path = config_path(c->base_dir, ref);
    if (!path) {
        errs_add_at(e, c->path, line, "out of memory");
        return;
    }
    struct stat st;
    if (stat(path, &st) != 0)
        errs_add_at(e, c->path, line, "%s: secret file %s: %s", what,
                    path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        errs_add_at(e, c->path, line, "%s: secret file %s is not a file",
                    what, path);
    else if (st.st_mode & 077)
        errs_add_at(e, c->path, line,
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
/* field_hint - "; did you mean 'X'?" when a field of r is near name (its
 * last part when qualified, in any case), else "" */
static const char *field_hint(const struct cpy_record *r, const char *name,
                              char *out, size_t outsz)
{
    out[0] = '\0';
    const char *last = strrchr(name, '.');
    last = last ? last + 1 : name;
    char up[64];
    size_t n = strlen(last);
    if (n >= sizeof up || !r->nflat)
        return out;
    for (size_t i = 0; i <= n; i++)
        up[i] = (char)toupper((unsigned char)last[i]);
    const char **v = calloc(r->nflat, sizeof *v);
    if (!v)
        return out;
    for (size_t i = 0; i < r->nflat; i++)
        v[i] = r->flat[i]->name && strcmp(r->flat[i]->name, "FILLER")
             ? r->flat[i]->name : NULL;
    const char *near = suggest_near(up, v, r->nflat);
    /* fields of a record share a prefix (CLM-): CLM-FORENAME is no typo
     * of CLM-SURNAME, so what follows the shared prefix must be near too */
    size_t pre = 0;
    for (size_t i = 0; near && up[i] && up[i] == near[i]; i++)
        if (up[i] == '-')
            pre = i + 1;
    const char *rest = near ? near + pre : NULL;
    if (near && suggest_near(up + pre, &rest, 1))
        snprintf(out, outsz, "; did you mean '%s'?", near);
    free(v);
    return out;
}

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
        else if (!f) {
            char hint[128];
            errs_add_at(K->e, mfile, a->line,
                        "map to '%s': no such field in copybook record %s "
                        "(%s)%s", a->to, r->name, cbname,
                        field_hint(r, a->to, hint, sizeof hint));
        }
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
            if (!ok) {
                char hint[128] = "";
                const char **v = f ? NULL : calloc(m->nfields + 1, sizeof *v);
                for (size_t k = 0; v && k < m->nfields; k++)
                    v[k] = m->fields[k].name;
                const char *near = v ? suggest_near(top, v, m->nfields) : NULL;
                if (near)
                    snprintf(hint, sizeof hint, "; did you mean '%s'?", near);
                free(v);
                errs_add_at(K->e, mfile, a->line ? a->line : sec->line,
                            "target '%s': map to '%s' from '%s': no such "
                            "field in the mapping's <accept>%s%s",
                            mt->name ? mt->name : "", a->to ? a->to : "",
                            a->from, sub ? " (LIST.FIELD or LIST.#)" : "",
                            hint);
            }
        }
    }
}

/* copybook_at - the resolved path of a copybook attribute, or NULL with
 * the problem added (one outside the configuration's folders was
 * reported by config_load, and is never read) */
static char *copybook_at(struct checker *K, const struct map_target *mt,
                         const char *mfile, const char *ref, int line)
{
    bool outside;
    char why[PATH_MAX + 128];
    char *real = mapping_copybook_path(mt, ref, &outside, why, sizeof why);
    char *shown = real || !outside ? mapping_dir_path(mfile, ref) : NULL;
    if (!real && outside)
        K->known++;
    if (!real && shown)
        errs_add_at(K->e, mfile, line, "copybook %s: %s", shown, why);
    if (!real) {
        free(shown);
        return NULL;
    }
    free(real);
    /* read by the name the mapping gives, so messages name it so */
    return shown;
}

/* check_copybooks - a mapping target that names a copybook: the file
 * exists, lies under the configuration's folders, parses, and every
 * assignment names one of its fields */
static void check_copybooks(struct checker *K, const struct service_config *s,
                            const struct map_target *mt)
{
    const char *mfile = s->mapping->file ? s->mapping->file
                                         : s->mapping_file;
    const char *cbref = kv_get(&mt->opts, "copybook");
    if (!cbref)
        return;
    char *path = copybook_at(K, mt, mfile, cbref, mt->line);
    if (!path)
        return;
    struct copybook *cb = cpy_load(path, CPY_FMT_AUTO, K->e);
    if (!cb) {
        free(path);
        return;
    }
    for (size_t i = 0; i < mt->nsec; i++) {
        const struct map_section *sec = &mt->sec[i];
        /* a section may name its own copybook (an ack layout) */
        const char *own = kv_get(&sec->opts, "copybook");
        if (sec->na == 0) {
            /* nothing to check against it, but it must be usable */
            if (own)
                free(copybook_at(K, mt, mfile, own, sec->line));
            continue;
        }
        const char *rec = kv_get(&sec->opts, "record");
        if (!rec && i == 0)
            rec = kv_get(&mt->opts, "record");
        if (own) {
            char *opath = copybook_at(K, mt, mfile, own, sec->line);
            struct copybook *ocb = opath ? cpy_load(opath, CPY_FMT_AUTO, K->e)
                                         : NULL;
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

int config_check_service(const struct ferry_config *c,
                         const struct service_config *s, struct errs *e)
{
    struct checker K = { .c = c, .e = e, .before = e->n + e->dropped };
    for (size_t i = 0; s->mapping && i < s->ntargets; i++) {
        const struct map_target *mt = mapping_target(s->mapping,
                                                     s->targets[i]);
        if (!mt || !config_target(c, s->targets[i]))
            continue;
        const char *mfile = s->mapping->file ? s->mapping->file
                                             : s->mapping_file;
        check_sources(&K, s->mapping, mfile, mt);
        check_copybooks(&K, s, mt);
    }
    return (int)(e->n + e->dropped - K.before + K.known);
}

int config_check(const struct ferry_config *c, struct errs *e)
{
    if (!c)
        return 0;
    struct checker K = { .c = c, .e = e, .before = e->n + e->dropped };
    config_check_secret(c, c->spool_line, "spool key-file",
                        c->spool_key_file, e);
    config_check_secret(c, c->spool_line, "spool audit-key-file",
                        c->spool_audit_key_file, e);
    if (c->spool_pg) {
        if (!c->spool_conn_file)
            errs_add_at(e, c->path, c->spool_line, "spool: backend="
                        "\"postgresql\" needs connection-file");
        if (c->spool_conn_file && strncmp(c->spool_conn_file, "env:", 4) == 0)
            errs_add_at(e, c->path, c->spool_line, "spool: connection-file "
                        "is a file (mode 0600), not an environment variable");
        else
            config_check_secret(c, c->spool_line, "spool connection-file",
                                c->spool_conn_file, e);
    } else if (c->spool_conn_file) {
        errs_add_at(e, c->path, c->spool_line, "spool: connection-file is "
                    "for backend=\"postgresql\"");
    }
    if (c->intake.enabled) {
        config_check_secret(c, c->intake.line, "intake key-file",
                            c->intake.key_file, e);
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
        config_check_secret(c, c->console.line, "console key-file",
                            c->console.key_file, e);
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
        config_check_secret(c, c->clients[i].line, what,
                            c->clients[i].secret_file, e);
    }
    return (int)(e->n + e->dropped - K.before);
}
