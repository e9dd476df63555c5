/* cli_common.c - what every sub-command shares: --config/--spool, loading
 * the config and opening the spool with the right messages and exit codes,
 * the actor for audited actions, time formatting. */
#include "cli/cli.h"
#include "util/clock.h"
#include "config/config.h"
#include "spool/spool.h"
#include "util/errs.h"
#include "util/fsutil.h"
#include "util/log.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

void cli_print_errs(FILE *f, const struct errs *e)
{
    for (size_t i = 0; i < e->n; i++) {
        if (e->v[i].where[0])
            fprintf(f, "%s: %s\n", e->v[i].where, e->v[i].msg);
        else
            fprintf(f, "%s\n", e->v[i].msg);
    }
    if (e->dropped)
        fprintf(f, "(%zu more problems not shown)\n", e->dropped);
}

int cli_load_config(const struct cli_common *c, struct ferry_config **out)
{
    *out = NULL;
    const char *path = config_find_default(c->config);
    if (!path) {
        fprintf(stderr, "ferry: no configuration: give --config FILE, or put "
                        "ferry.xml here or in /etc/ferry/\n");
        return EX_NOINPUT;
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "ferry: %s: %s\n", path, strerror(errno));
        return EX_NOINPUT;
    }
    struct errs e;
    errs_init(&e);
    struct ferry_config *cfg = NULL;
    int rc = config_load(path, &cfg, &e);
    if (rc != 0 || e.n) {
        cli_print_errs(stderr, &e);
        fprintf(stderr, "ferry: %s has problems; run 'ferry check' for the "
                        "full list\n", path);
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
        fprintf(stderr, "ferry: no spool folder: give --spool DIR or set "
                        "<spool dir=...> in ferry.xml\n");
        return EX_CONFIG;
    }
    struct spool_opts o;
    memset(&o, 0, sizeof o);
    struct errs e;
    errs_init(&e);
    if (cfg && cfg->spool_key_file) {
        char *kpath = config_path(cfg->base_dir, cfg->spool_key_file);
        int rc = kpath ? spool_key_load(kpath, o.key, &e) : -1;
        free(kpath);
        if (rc != 0) {
            cli_print_errs(stderr, &e);
            errs_free(&e);
            return EX_CONFIG;
        }
        o.encrypt = true;
    }
    /* only a configured spool indexes: without ferry.xml there is no
     * mapping to search by, and no key file should appear */
    if (cfg) {
        if (cli_search_key(cfg, dir, o.search_key, &e) != 0) {
            cli_print_errs(stderr, &e);
            errs_free(&e);
            memset(o.key, 0, sizeof o.key);
            return EX_CONFIG;
        }
        o.search = true;
    }
    struct spool *s = spool_open(dir, &o, &e);
    memset(o.key, 0, sizeof o.key);
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
    if (datetime_parse(s, &v) == 0) {
        *ms = v;
        return 0;
    }
    if (date_parse(s, &v) == 0) {
        *ms = (long long)v * 86400000LL;
        return 0;
    }
    return -1;
}
