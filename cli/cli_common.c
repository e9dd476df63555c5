/* cli_common.c - what every sub-command shares: --config/--spool, loading
 * the config and opening the spool with the right messages and exit codes,
 * the actor for audited actions, time formatting. */
#include "cli/cli.h"
#include "util/clock.h"
#include "adapters/adapter_check.h"
#include "config/config.h"
#include "spool/spool.h"
#include "util/errs.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/suggest.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The running sub-command, for the "ferry COMMAND:" that starts every
 * message; set once by main before the command runs (process-wide like
 * the log sink, owned by the top level). */
static const char *command_name = "";

void cli_set_command(const char *name)
{
    command_name = name ? name : "";
}

const char *cli_command(void)
{
    return command_name;
}

int cli_common_opt(struct cli_common *c, int opt, const char *arg)
{
    switch (opt) {
    case CLI_OPT_CONFIG: c->config = arg; return 1;
    case CLI_OPT_SPOOL:  c->spool = arg;  return 1;
    case CLI_OPT_ACTOR:  c->actor = arg;  return 1;
    case CLI_OPT_JSON:   c->json = true;  return 1;
    case CLI_OPT_QUIET:  c->quiet = true; return 1;
    default:             return 0;
    }
}

int cli_parse_common(int argc, char **argv, struct cli_common *c,
                     void (*usage)(FILE *f))
{
    static const struct option opts[] = {
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (cli_common_opt(c, o, optarg))
            continue;
        bool help = o == 'h' || o == CLI_OPT_HELP;
        usage(help ? stdout : stderr);
        return help ? EX_OK : EX_USAGE;
    }
    return -1;
}

/* prefix - "ferry COMMAND: " or, before a command is known, "ferry: " */
static void prefix(FILE *f)
{
    if (command_name[0])
        fprintf(f, "ferry %s: ", command_name);
    else
        fputs("ferry: ", f);
}

void cli_vmsg(const char *fmt, va_list ap)
{
    prefix(stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void cli_msg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cli_vmsg(fmt, ap);
    va_end(ap);
}

void cli_args_msg(int nargs, int min, int max, char *const *args)
{
    if (nargs > max)
        cli_msg("unexpected argument '%s'", args[max]);
    else if (nargs < min)
        cli_msg("missing argument%s (see the usage)",
                min - nargs > 1 ? "s" : "");
}

void cli_print_errs(FILE *f, const struct errs *e)
{
    for (size_t i = 0; i < e->n; i++) {
        prefix(f);
        if (e->v[i].where[0])
            fprintf(f, "%s: %s\n", e->v[i].where, e->v[i].msg);
        else
            fprintf(f, "%s\n", e->v[i].msg);
    }
    if (e->dropped) {
        prefix(f);
        fprintf(f, "%zu more problems not shown\n", e->dropped);
    }
}

int cli_load_config(const struct cli_common *c, struct ferry_config **out)
{
    *out = NULL;
    const char *path = config_find_default(c->config);
    if (!path) {
        fprintf(stderr, "ferry %s: no configuration: give --config FILE, or put "
                        "ferry.xml here or in /etc/ferry/\n", cli_command());
        return EX_NOINPUT;
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "ferry %s: %s: %s\n", cli_command(), path, strerror(errno));
        return EX_NOINPUT;
    }
    struct errs e;
    errs_init(&e);
    struct ferry_config *cfg = NULL;
    int rc = config_load(path, &cfg, &e);
    if (cfg)
        adapter_check_types(cfg, &e);   /* a target no adapter can serve */
    if (rc != 0 || e.n) {
        cli_print_errs(stderr, &e);
        fprintf(stderr, "ferry %s: %s has problems; run 'ferry check' for the "
                        "full list\n", cli_command(), path);
        errs_free(&e);
        config_free(cfg);
        return EX_CONFIG;
    }
    errs_free(&e);
    log_setup(cfg->log_format, cfg->log_level);
    *out = cfg;
    return 0;
}

int cli_search_key(const struct ferry_config *cfg, const char *dir,
                   unsigned char key[SPOOL_SEARCH_KEY_LEN], struct errs *e)
{
    char path[PATH_MAX];
    char *kpath = cfg && cfg->spool_key_file
                  ? config_path(cfg->base_dir, cfg->spool_key_file) : NULL;
    int n;
    if (kpath) {
        char *slash = strrchr(kpath, '/');
        if (slash)
            *slash = '\0';
        n = snprintf(path, sizeof path, "%s/search.key",
                     slash ? (*kpath ? kpath : "/") : ".");
        free(kpath);
    } else {
        if (fs_mkdirs(dir, 0700) != 0 && errno != EEXIST) {
            errs_add(e, dir, "cannot create spool folder: %s",
                     strerror(errno));
            return -1;
        }
        n = snprintf(path, sizeof path, "%s/search.key", dir);
    }
    if (n < 0 || (size_t)n >= sizeof path) {
        errs_add(e, dir, "search key path too long");
        return -1;
    }
    bool created = false;
    if (spool_search_key_ensure(path, key, &created, e) != 0)
        return -1;
    if (created)
        log_event(LOG_INFO, "search-key-created", "file", path, NULL);
    return 0;
}

int cli_open_spool(const struct cli_common *c, const struct ferry_config *cfg,
                   struct spool **out)
{
    *out = NULL;
    const char *dir = c->spool ? c->spool : (cfg ? cfg->spool_dir : NULL);
    if (!dir) {
        fprintf(stderr, "ferry %s: no spool folder: give --spool DIR or set "
                        "<spool dir=...> in ferry.xml\n", cli_command());
        return EX_CONFIG;
    }
    struct spool_opts o;
    memset(&o, 0, sizeof o);
    struct errs e;
    errs_init(&e);
    /* <spool backend="postgresql">: the ledger is the database its
     * connection file names; the folder holds the rest as ever */
    char *conninfo = NULL;
    if (cfg && cfg->spool_pg && config_spool_conninfo(cfg, &conninfo, &e)
        != 0) {
        cli_print_errs(stderr, &e);
        errs_free(&e);
        return EX_CONFIG;
    }
    o.pg_conninfo = conninfo;
    if (cfg && cfg->spool_key_file) {
        char *kpath = config_path(cfg->base_dir, cfg->spool_key_file);
        int rc = kpath ? spool_key_load(kpath, o.key, &e) : -1;
        free(kpath);
        if (rc != 0) {
            cli_print_errs(stderr, &e);
            errs_free(&e);
            spool_conninfo_free(conninfo);
            return EX_CONFIG;
        }
        o.encrypt = true;
    }
    if (cfg && cfg->spool_audit_key_file) {
        char *kpath = config_path(cfg->base_dir, cfg->spool_audit_key_file);
        int rc = kpath ? spool_key_load(kpath, o.audit_key, &e) : -1;
        free(kpath);
        if (rc != 0) {
            cli_print_errs(stderr, &e);
            errs_free(&e);
            memset(o.key, 0, sizeof o.key);
            spool_conninfo_free(conninfo);
            return EX_CONFIG;
        }
        o.audit_keyed = true;
    }
    /* only a configured spool indexes: without ferry.xml there is no
     * mapping to search by, and no key file should appear */
    if (cfg) {
        if (cli_search_key(cfg, dir, o.search_key, &e) != 0) {
            cli_print_errs(stderr, &e);
            errs_free(&e);
            memset(o.key, 0, sizeof o.key);
            memset(o.audit_key, 0, sizeof o.audit_key);
            spool_conninfo_free(conninfo);
            /* beside a configured key file it is configuration; in the
             * spool folder it is the spool that cannot be opened */
            return cfg->spool_key_file ? EX_CONFIG : EX_CANTCREAT;
        }
        o.search = true;
    }
    o.audit_head_file = cfg ? cfg->spool_audit_head_file : NULL;
    struct spool *s = spool_open(dir, &o, &e);
    spool_conninfo_free(conninfo);
    o.pg_conninfo = NULL;
    memset(o.key, 0, sizeof o.key);
    memset(o.audit_key, 0, sizeof o.audit_key);
    memset(o.search_key, 0, sizeof o.search_key);
    if (!s) {
        cli_print_errs(stderr, &e);
        errs_free(&e);
        return EX_CANTCREAT;
    }
    errs_free(&e);
    *out = s;
    return 0;
}

const char *cli_actor(const struct cli_common *c)
{
    if (c->actor && *c->actor)
        return c->actor;
    struct passwd *pw = getpwuid(geteuid());
    if (pw && pw->pw_name)
        return pw->pw_name;
    const char *u = getenv("USER");
    return u && *u ? u : "unknown";
}

bool cli_is_tty(int fd)
{
    return isatty(fd) == 1;
}

void cli_fmt_time(long long ms, char *out, size_t outsz)
{
    if (ms <= 0) {
        snprintf(out, outsz, "-");
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, outsz, "%Y-%m-%d %H:%M:%S", &tm);
}

const char *cli_json_time(long long ms, char *out, size_t outsz)
{
    if (ms <= 0)
        return NULL;
    clock_fmt_rfc3339(ms, out, outsz);
    return out;
}

int cli_parse_since(const char *s, long long *ms)
{
    char *end = NULL;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    if (end != s && errno == 0 && n >= 0 && end[0] && !end[1] &&
        strchr("smhd", end[0])) {
        long long mult = end[0] == 's' ? 1000LL : end[0] == 'm' ? 60000LL
                       : end[0] == 'h' ? 3600000LL : 86400000LL;
        if (n > (long long)4e15 / mult)
            return -1;
        *ms = clock_wall_ms() - n * mult;
        return 0;
    }
    int64_t v;
    if (record_datetime_parse(s, &v) == 0) {
        *ms = v;
        return 0;
    }
    if (record_date_parse(s, &v) == 0) {
        *ms = (long long)v * 86400000LL;
        return 0;
    }
    return -1;
}

/* names - the services or targets of the configuration and the ledger,
 * each once; *out is owned by the caller (free the array only) */
static size_t names(enum cli_name_kind kind, const struct ferry_config *cfg,
                    struct spool *sp, struct spool_counts *cs,
                    const char ***out)
{
    size_t cap = (cfg ? cfg->nservices + cfg->ntargets : 0) + cs->n + 1;
    const char **v = calloc(cap, sizeof *v);
    size_t n = 0;
    *out = v;
    if (!v)
        return 0;
    for (size_t i = 0; cfg && kind == CLI_SERVICE && i < cfg->nservices; i++)
        v[n++] = cfg->services[i].name;
    for (size_t i = 0; cfg && kind == CLI_TARGET && i < cfg->ntargets; i++)
        v[n++] = cfg->targets[i].name;
    for (size_t i = 0; sp && i < cs->n; i++) {
        const char *s = kind == CLI_SERVICE ? cs->v[i].service : cs->v[i].target;
        bool seen = !s;
        for (size_t k = 0; !seen && k < n; k++)
            seen = strcmp(v[k], s) == 0;
        if (!seen)
            v[n++] = s;
    }
    return n;
}

int cli_check_name(const char *cmd, enum cli_name_kind kind, const char *name,
                   const struct ferry_config *cfg, struct spool *sp)
{
    if (!name)
        return 0;
    struct spool_counts cs;
    memset(&cs, 0, sizeof cs);
    struct errs e;
    errs_init(&e);
    if (sp && spool_counts(sp, &cs, &e) != 0) {
        memset(&cs, 0, sizeof cs);
        sp = NULL;
    }
    errs_free(&e);
    const char **v = NULL;
    size_t n = names(kind, cfg, sp, &cs, &v);
    int rc = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], name) == 0)
            goto out;
    const char *what = kind == CLI_SERVICE ? "service" : "target";
    const char *near = suggest_near(name, v, n);
    fprintf(stderr, "ferry %s: unknown %s '%s'", cmd, what, name);
    if (near)
        fprintf(stderr, "; did you mean '%s'?", near);
    fprintf(stderr, " (%ss:", what);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, " %s", v[i]);
    fprintf(stderr, "%s)\n", n ? "" : " none");
    rc = EX_USAGE;
out:
    free(v);
    if (sp)
        spool_counts_free(&cs);
    return rc;
}
