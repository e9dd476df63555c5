/* config_values.c - the typed readers, paths, secrets and look-ups that
 * the rest of ferry uses on a loaded config (see config.h).
 *
 * Values in ferry.xml stay strings until one of these reads them; each
 * reader checks the whole string and its range and never guesses.
 * config_read_secret is the only place a secret is read: from a file that
 * only its owner may read, or from an environment variable; the one
 * exception is the PostgreSQL spool's connection file
 * (config_spool_conninfo), which spool_conninfo_load reads so that libpq
 * checks it too, without quoting it. */
#include "config/config.h"
#include "spool/spool.h"
#include "util/errs.h"
#include "util/fsutil.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET_MAX ((size_t)64 << 10)

/* ---- typed readers (public) ------------------------------------------- */

int config_parse_int(const char *s, long min, long max, long *out)
{
    if (!s || !*s || *s == ' ' || *s == '+')
        return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int config_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = { "true", "yes", "on", "1", NULL };
    static const char *const no[] = { "false", "no", "off", "0", NULL };
    if (!s)
        return -1;
    for (size_t i = 0; yes[i]; i++)
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
    for (size_t i = 0; no[i]; i++)
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    return -1;
}

/* config_parse_size - "4096", "4096B", "512k", "512K", "512KiB", "1M",
 * "1MiB", "2G", "2GiB" (all powers of 1024) */
int config_parse_size(const char *s, size_t *out)
{
    static const struct { const char *u; unsigned shift; } units[] = {
        { "", 0 }, { "B", 0 }, { "k", 10 }, { "K", 10 }, { "KiB", 10 },
        { "M", 20 }, { "MiB", 20 }, { "G", 30 }, { "GiB", 30 },
    };
    if (!s || *s < '0' || *s > '9')
        return -1;
    unsigned long long v = 0;
    const char *p = s;
    while (*p >= '0' && *p <= '9') {
        if (v > (ULLONG_MAX - 9) / 10)
            return -1;
        v = v * 10 + (unsigned)(*p - '0');
        p++;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(p, units[i].u) != 0)
            continue;
        if (units[i].shift && v > (SIZE_MAX >> units[i].shift))
            return -1;
        if (v > SIZE_MAX)
            return -1;
        *out = (size_t)(v << units[i].shift);
        return 0;
    }
    return -1;
}

/* ---- paths and secrets ------------------------------------------------ */

char *config_path(const char *base_dir, const char *p)
{
    if (!p)
        return NULL;
    if (p[0] == '/' || !base_dir || !*base_dir || strcmp(base_dir, ".") == 0)
        return strdup(p);
    char *out = NULL;
    if (asprintf(&out, "%s/%s", base_dir, p) < 0)
        return NULL;
    return out;
}

int config_spool_conninfo(const struct ferry_config *c, char **out,
                          struct errs *e)
{
    *out = NULL;
    if (!c->spool_pg || !c->spool_conn_file) {
        errs_add_at(e, c->path, c->spool_line, "spool: backend="
                    "\"postgresql\" needs connection-file");
        return -1;
    }
    if (strncmp(c->spool_conn_file, "env:", 4) == 0) {
        errs_add_at(e, c->path, c->spool_line, "spool: connection-file is a "
                    "file (mode 0600), not an environment variable");
        return -1;
    }
    char *path = config_path(c->base_dir, c->spool_conn_file);
    if (!path) {
        errs_add(e, c->spool_conn_file, "out of memory");
        return -1;
    }
    int rc = spool_conninfo_load(path, out, e);
    free(path);
    return rc;
}

int config_read_secret(const char *base_dir, const char *ref, char **out,
                       size_t *len, struct errs *e)
{
    *out = NULL;
    if (len)
        *len = 0;
    if (!ref || !*ref) {
        errs_add(e, "", "empty secret reference");
        return -1;
    }
    char *data = NULL;
    size_t n = 0;
    if (strncmp(ref, "env:", 4) == 0) {
        const char *v = getenv(ref + 4);
        if (!ref[4] || !v) {
            errs_add(e, ref, "environment variable %s is not set", ref + 4);
            return -1;
        }
        data = strdup(v);
        if (!data) {
            errs_add(e, ref, "out of memory");
            return -1;
        }
        n = strlen(data);
    } else {
        char *path = config_path(base_dir, ref);
        if (!path) {
            errs_add(e, ref, "out of memory");
            return -1;
        }
        struct stat st;
        if (stat(path, &st) != 0) {
            errs_add(e, path, "secret file: %s", strerror(errno));
            free(path);
            return -1;
        }
        if (st.st_mode & 077) {
            errs_add(e, path,
                     "secret file is readable by others (mode %04o); "
                     "chmod 600 it", (unsigned)(st.st_mode & 07777));
            free(path);
            return -1;
        }
        int rc = fs_read_file(path, SECRET_MAX, &data, &n, e);
        free(path);
        if (rc != 0)
            return -1;
    }
    while (n && (data[n - 1] == '\n' || data[n - 1] == '\r'))
        data[--n] = '\0';
    if (n == 0) {
        errs_add(e, ref, "secret is empty");
        free(data);
        return -1;
    }
    *out = data;
    if (len)
        *len = n;
    return 0;
}

const char *config_find_default(const char *given)
{
    static const char *const places[] = { "ferry.xml", "/etc/ferry/ferry.xml",
                                          NULL };
    if (given)
        return given;
    for (size_t i = 0; places[i]; i++)
        if (access(places[i], F_OK) == 0)
            return places[i];
    return NULL;
}

/* ---- lookups ---------------------------------------------------------- */

const struct target_config *config_target(const struct ferry_config *c,
                                          const char *name)
{
    for (size_t i = 0; c && name && i < c->ntargets; i++)
        if (c->targets[i].name && strcmp(c->targets[i].name, name) == 0)
            return &c->targets[i];
    return NULL;
}

size_t config_service_targets(const struct ferry_config *c,
                              const struct service_config *s,
                              const struct target_config **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; s && i < s->ntargets && n < max; i++) {
        const struct target_config *t = config_target(c, s->targets[i]);
        if (t)
            out[n++] = t;
    }
    return n;
}

const char *config_service_target(const struct service_config *s)
{
    return s && s->ntargets ? s->targets[0] : NULL;
}

bool config_service_delivers_to(const struct service_config *s,
                                const char *target)
{
    for (size_t i = 0; s && target && i < s->ntargets; i++)
        if (strcmp(s->targets[i], target) == 0)
            return true;
    return false;
}

const struct service_config *config_service(const struct ferry_config *c,
                                            const char *name)
{
    for (size_t i = 0; c && name && i < c->nservices; i++)
        if (c->services[i].name && strcmp(c->services[i].name, name) == 0)
            return &c->services[i];
    return NULL;
}

const struct client_config *config_client(const struct ferry_config *c,
                                          const char *id)
{
    for (size_t i = 0; c && id && i < c->nclients; i++)
        if (c->clients[i].id && strcmp(c->clients[i].id, id) == 0)
            return &c->clients[i];
    return NULL;
}

const struct job_config *config_job(const struct ferry_config *c,
                                    const char *name)
{
    for (size_t i = 0; c && name && i < c->njobs; i++)
        if (c->jobs[i].name && strcmp(c->jobs[i].name, name) == 0)
            return &c->jobs[i];
    return NULL;
}
