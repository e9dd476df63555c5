/* cmd_config.c - `ferry config`: the effective configuration, as the
 * daemon would run it, with every default filled in (as `postconf` and
 * `nginx -T` do), printed as ferry.xml.
 *
 * Secrets are never inline in ferry.xml (*-file attributes name files or
 * env:NAME); this prints those references, never what the files hold.
 * Adapter and transport options print as written: their defaults live in
 * each adapter's option table (ferry check validates them). */
#include "cli/cli.h"
#include "config/config.h"

#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f,
        "usage: ferry config [--config FILE]\n"
        "\n"
        "Print the effective configuration as ferry.xml: every element and\n"
        "attribute with its default filled in, paths resolved, durations in\n"
        "their largest exact unit (\"90s\", \"3d\").  Secrets show only as the file (or\n"
        "env:NAME) they come from.  Adapter and transport options print as\n"
        "written.\n"
        "\n"
        "Exit: 0 ok, 64 usage, 66 no configuration, 78 configuration problem.\n");
}

/* attr - one attribute, XML-escaped; NULL values are left out */
static void attr(const char *k, const char *v)
{
    if (!v)
        return;
    printf(" %s=\"", k);
    for (const char *p = v; *p; p++) {
        switch (*p) {
        case '&': fputs("&amp;", stdout); break;
        case '<': fputs("&lt;", stdout); break;
        case '"': fputs("&quot;", stdout); break;
        default: putchar(*p);
        }
    }
    putchar('"');
}

static void attr_ll(const char *k, long long v, const char *unit)
{
    char b[40];
    snprintf(b, sizeof b, "%lld%s", v, unit);
    attr(k, b);
}

/* attr_ms - a duration in the largest unit that says it exactly */
static void attr_ms(const char *k, long long ms)
{
    static const struct { long long n; const char *u; } units[] = {
        { 86400000LL, "d" }, { 3600000LL, "h" }, { 60000LL, "m" },
        { 1000LL, "s" },
    };
    for (size_t i = 0; ms > 0 && i < sizeof units / sizeof units[0]; i++)
        if (ms % units[i].n == 0) {
            attr_ll(k, ms / units[i].n, units[i].u);
            return;
        }
    attr_ll(k, ms, "ms");
}

/* attr_path - a path the loader already resolved against the current
 * folder, made absolute so the output reads the same from anywhere */
static void attr_path(const char *k, const char *p)
{
    char cwd[4096], full[8192];
    if (!p || p[0] == '/' || !getcwd(cwd, sizeof cwd)) {
        attr(k, p);
        return;
    }
    while (p[0] == '.' && p[1] == '/')
        p += 2;
    snprintf(full, sizeof full, "%s/%s", cwd, p);
    attr(k, full);
}

static void kvs(const struct kvlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        attr(l->v[i].key, l->v[i].value);
}

static const char *level_name(enum log_level l)
{
    static const char *n[] = { "debug", "info", "warn", "error", "off" };
    return (unsigned)l <= LOG_OFF ? n[l] : "info";
}

static void print_config(const struct ferry_config *c)
{
    printf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
           "<!-- effective configuration of %s (ferry config) -->\n"
           "<ferry xmlns=\"urn:ferry:config:1\"", c->path);
    attr_ms("shutdown-deadline", (long long)c->shutdown_deadline_ms);
    printf(">\n");
    printf("  <spool");
    attr_path("dir", c->spool_dir);
    attr("key-file", c->spool_key_file);
    attr("audit-key-file", c->spool_audit_key_file);
    attr("audit-head-file", c->spool_audit_head_file);
    attr_ll("min-free", (long long)c->spool_min_free_mb, "MiB");
    printf("/>\n  <log");
    attr("format", c->log_format == LOG_JSON ? "json" : "logfmt");
    attr("level", level_name(c->log_level));
    printf("/>\n");
    const struct intake_config *in = &c->intake;
    if (in->enabled) {
        printf("  <intake");
        attr("listen", in->listen);
        attr("cert-file", in->cert_file);
        attr("key-file", in->key_file);
        attr("client-ca-file", in->client_ca_file);
        attr_ms("token-window", in->token_window_s * 1000LL);
        attr_ll("max-body", (long long)in->max_body, "B");
        attr_ll("max-depth", in->max_depth, "");
        attr_ll("max-fields", in->max_fields, "");
        attr_ll("max-connections", in->max_connections, "");
        attr_ll("max-connections-per-address", in->max_per_address, "");
        attr_ms("request-timeout", (long long)in->request_timeout_ms);
        attr_ms("header-timeout", (long long)in->header_timeout_ms);
        printf("/>\n");
    } else {
        printf("  <!-- no <intake>: the daemon takes no HTTP submissions -->\n");
    }
    for (size_t i = 0; i < c->nclients; i++) {
        const struct client_config *k = &c->clients[i];
        printf("  <client");
        attr("id", k->id);
        attr("secret-file", k->secret_file);
        if (k->max_connections)
            attr_ll("max-connections", k->max_connections, "");
        printf(">\n");
        for (size_t j = 0; j < k->nservices; j++)
            printf("    <service>%s</service>\n", k->services[j]);
        printf("  </client>\n");
    }
    for (size_t i = 0; i < c->ntargets; i++) {
        const struct target_config *t = &c->targets[i];
        printf("  <target");
        attr("name", t->name);
        attr("type", t->type);
        kvs(&t->opts);
        attr_ll("concurrency", t->concurrency, "");
        attr_ms("lease", (long long)t->lease_ms);
        printf(">\n");
        if (t->transport_type) {
            printf("    <transport");
            attr("type", t->transport_type);
            kvs(&t->transport_opts);
            printf("/>\n");
        }
        const struct retry_policy *r = &t->retry;
        char factor[24];
        snprintf(factor, sizeof factor, "%d.%03d", r->factor_milli / 1000,
                 r->factor_milli % 1000);
        printf("    <retry");
        attr_ms("initial", (long long)r->initial_ms);
        attr("factor", factor);
        attr_ms("max-delay", (long long)r->max_delay_ms);
        attr_ll("jitter", r->jitter_pct, "%");
        attr_ll("max-attempts", r->max_attempts, "");
        attr_ms("max-age", (long long)r->max_age_ms);
        printf("/>\n    <breaker");
        attr_ll("threshold", t->breaker_threshold, "");
        attr_ms("cooldown", (long long)t->breaker_cooldown_ms);
        printf("/>\n");
        if (t->window)
            printf("    <window>%s</window>\n", t->window);
        for (size_t j = 0; j < t->nholidays; j++)
            printf("    <holiday>%s</holiday>\n", t->holidays[j]);
        printf("  </target>\n");
    }
    for (size_t i = 0; i < c->nservices; i++) {
        const struct service_config *s = &c->services[i];
        printf("  <service");
        attr("name", s->name);
        attr_path("mapping", s->mapping_file);
        /* target="a b": every target, as ferry.xml writes them */
        char tl[CONFIG_MAX_SERVICE_TARGETS * 66] = "";
        for (size_t j = 0; j < s->ntargets; j++) {
            size_t l = strlen(tl);
            snprintf(tl + l, sizeof tl - l, "%s%s", j ? " " : "",
                     s->targets[j]);
        }
        if (s->ntargets)
            attr("target", tl);
        printf("/>\n");
    }
    for (size_t i = 0; i < c->njobs; i++) {
        const struct job_config *j = &c->jobs[i];
        printf("  <job");
        attr("name", j->name);
        attr("schedule", j->schedule);
        attr("tz", j->tz);
        attr("action", j->action);
        attr("target", j->target);
        attr("catch-up", j->catch_up);
        kvs(&j->opts);
        printf("/>\n");
    }
    printf("</ferry>\n");
}

int cmd_config(int argc, char **argv)
{
    struct cli_common c = { 0 };
    int prc = cli_parse_common(argc, argv, &c, usage);
    if (prc >= 0)
        return prc;
    if (optind != argc) {
        cli_args_msg(argc - optind, 0, 0, argv + optind);
        usage(stderr);
        return EX_USAGE;
    }
    struct ferry_config *cfg = NULL;
    int rc = cli_load_config(&c, &cfg);
    if (rc)
        return rc;
    print_config(cfg);
    config_free(cfg);
    return EX_OK;
}
