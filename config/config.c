/* config.c - load ferry.xml: parse, validate, build, cross-check.
 *
 * The file is parsed by libxml2 with the network off, no entity
 * substitution and no DTD loading; a DOCTYPE is refused outright, so no
 * entity (internal or external) can ever be expanded.  The document is
 * validated against the embedded config/ferry.xsd with every violation
 * reported as "file:line: message" (parsing, validation and the clean-up
 * of libxml2's messages: config_xml.c), and then built into struct
 * ferry_config even when it is invalid, so `ferry check` lists all it can.
 * A typed value that the schema already refused is not reported twice.
 *
 * After building, names are cross-checked (duplicates, unknown targets,
 * services) and each service's mapping is loaded with
 * mapping_load.  The deeper checks that touch secrets and copybooks live
 * in config_check.c; adapters and schedules are checked on their floors.
 *
 * Owns: the struct ferry_config and everything under it, including the
 * loaded mappings (config_free). */
#include "config/config.h"
#include "spool/spool.h"
#include "config/config_int.h"
#include "util/schemas.h"
#include "util/duration.h"
#include "util/errs.h"
#include "util/suggest.h"
#include "util/fsutil.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlschemas.h>

#define CONFIG_MAX_FILE ((size_t)4 << 20)

/* Defaults (also in docs/configuration.md). */
#define DEF_TOKEN_WINDOW_S    30
#define DEF_MAX_BODY          ((size_t)1 << 20)
#define DEF_MAX_DEPTH         32
#define DEF_MAX_FIELDS        1000
#define DEF_MAX_CONNECTIONS   256
#define DEF_REQUEST_TIMEOUT   (10LL * 1000)
#define DEF_HEADER_TIMEOUT    (2LL * 1000)
#define DEF_PER_ADDRESS       32
#define DEF_MIN_FREE_MB       64
#define DEF_SHUTDOWN_MS       (30LL * 1000)
#define DEF_CONCURRENCY       8
#define DEF_BREAKER_THRESHOLD 5
#define DEF_BREAKER_COOLDOWN  (60LL * 1000)
#define DEF_LEASE_MS          (5LL * 60 * 1000)
#define DEF_SPOOL_DIR         "/var/spool/ferry"
#define DEF_TZ                "Europe/London"


/* ---- small helpers ---------------------------------------------------- */

static long node_line(const xmlNode *n)
{
    return n ? xmlGetLineNo(n) : 0;
}

static bool is_ours(const xmlNode *n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
           strcmp((const char *)n->ns->href, CONFIG_NS) == 0 &&
           (!name || strcmp((const char *)n->name, name) == 0);
}

/* get_attr - an unqualified attribute's value as a malloc'ed string */
static char *get_attr(const xmlNode *n, const char *name)
{
    xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *)name);
    if (!v)
        return NULL;
    char *s = strdup((const char *)v);
    xmlFree(v);
    return s;
}

/* get_text - the element's text, trimmed, malloc'ed ("" when empty) */
static char *get_text(const xmlNode *n)
{
    xmlChar *v = xmlNodeGetContent(n);
    const char *s = v ? (const char *)v : "";
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    size_t len = strlen(s);
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
                   s[len - 1] == '\n' || s[len - 1] == '\r'))
        len--;
    char *out = strndup(s, len);
    if (v)
        xmlFree(v);
    return out;
}

/* bad_value - a typed read failed; reported only when the schema passed,
 * since otherwise the schema has already named the same attribute. */
static void bad_value(struct loader *L, const xmlNode *n, const char *attr,
                      const char *v, const char *what)
{
    if (!L->schema_ok)
        return;
    errs_add_at(L->e, L->file, node_line(n),
                "<%s %s=\"%s\">: not %s", (const char *)n->name, attr, v,
                what);
}

static void rd_duration(struct loader *L, const xmlNode *n, const char *attr,
                        int64_t *out)
{
    char *v = get_attr(n, attr);
    if (!v)
        return;
    int64_t ms;
    if (duration_parse(v, &ms) != 0)
        bad_value(L, n, attr, v, "a duration such as 30s, 5m or 1h30m");
    else
        *out = ms;
    free(v);
}

static void rd_size(struct loader *L, const xmlNode *n, const char *attr,
                    size_t *out)
{
    char *v = get_attr(n, attr);
    if (!v)
        return;
    size_t sz;
    if (config_parse_size(v, &sz) != 0)
        bad_value(L, n, attr, v, "a size such as 1MiB or 512k");
    else
        *out = sz;
    free(v);
}

static void rd_int(struct loader *L, const xmlNode *n, const char *attr,
                   long min, long max, int *out)
{
    char *v = get_attr(n, attr);
    if (!v)
        return;
    long x;
    if (config_parse_int(v, min, max, &x) != 0) {
        char what[96];
        snprintf(what, sizeof what, "a whole number from %ld to %ld", min,
                 max);
        bad_value(L, n, attr, v, what);
    } else {
        *out = (int)x;
    }
    free(v);
}

static int kv_push(struct kvlist *l, const char *key, const char *value,
                   int line)
{
    struct kv *v = realloc(l->v, (l->n + 1) * sizeof *v);
    if (!v)
        return -1;
    l->v = v;
    v[l->n].key = strdup(key);
    v[l->n].value = strdup(value);
    v[l->n].line = line;
    if (!v[l->n].key || !v[l->n].value) {
        free(v[l->n].key);
        free(v[l->n].value);
        return -1;
    }
    l->n++;
    return 0;
}

static void kvlist_clear(struct kvlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].key);
        free(l->v[i].value);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* collect_opts - every unqualified attribute not in skip[] into l */
static void collect_opts(struct loader *L, const xmlNode *n,
                         const char *const *skip, struct kvlist *l)
{
    for (const xmlAttr *a = n->properties; a; a = a->next) {
        if (a->ns)
            continue;
        const char *name = (const char *)a->name;
        bool skipped = false;
        for (size_t i = 0; skip[i]; i++)
            if (strcmp(skip[i], name) == 0)
                skipped = true;
        if (skipped)
            continue;
        char *v = get_attr(n, name);
        if (!v || kv_push(l, name, v, (int)node_line(n)) != 0)
            errs_add_at(L->e, L->file, node_line(n), "out of memory");
        free(v);
    }
}

static int strv_push(char ***v, size_t *n, char *s)
{
    if (!s)
        return -1;
    char **nv = realloc(*v, (*n + 1) * sizeof *nv);
    if (!nv) {
        free(s);
        return -1;
    }
    nv[(*n)++] = s;
    *v = nv;
    return 0;
}

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* grow - make room for one more element in an array of structs */
static void *grow(void *arr, size_t n, size_t size)
{
    void *p = realloc(arr, (n + 1) * size);
    if (p)
        memset((char *)p + n * size, 0, size);
    return p;
}

/* ---- typed values ---------------------------------------------------- */

/* parse_factor - "2", "1.5", "1.25" -> thousandths, exactly */
static int parse_factor(const char *s, int *milli)
{
    long whole = 0, frac = 0;
    int places = 0;
    const char *p = s;
    if (*p < '0' || *p > '9')
        return -1;
    while (*p >= '0' && *p <= '9') {
        whole = whole * 10 + (*p++ - '0');
        if (whole > 1000)
            return -1;
    }
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return -1;
        while (*p >= '0' && *p <= '9') {
            if (++places > 3)
                return -1;
            frac = frac * 10 + (*p++ - '0');
        }
    }
    if (*p)
        return -1;
    while (places++ < 3)
        frac *= 10;
    long v = whole * 1000 + frac;
    if (v < 1000)
        return -1;
    *milli = (int)v;
    return 0;
}

/* ---- building --------------------------------------------------------- */

static void once(struct loader *L, const xmlNode *n, long *seen)
{
    if (*seen)
        errs_add_at(L->e, L->file, node_line(n),
                    "<%s> given twice (first at line %ld)",
                    (const char *)n->name, *seen);
    else
        *seen = node_line(n);
}

static void build_spool(struct loader *L, const xmlNode *n)
{
    struct ferry_config *c = L->c;
    once(L, n, &L->spool_line);
    c->spool_line = (int)L->spool_line;
    char *dir = get_attr(n, "dir");
    if (dir) {
        free(c->spool_dir);
        c->spool_dir = config_path(c->base_dir, dir);
        free(dir);
    }
    char *key = get_attr(n, "key-file");
    if (key) {
        free(c->spool_key_file);
        c->spool_key_file = key;
    }
    char *akey = get_attr(n, "audit-key-file");
    if (akey) {
        free(c->spool_audit_key_file);
        c->spool_audit_key_file = akey;
    }
    char *ahead = get_attr(n, "audit-head-file");
    if (ahead) {
        free(c->spool_audit_head_file);
        c->spool_audit_head_file = config_path(c->base_dir, ahead);
        free(ahead);
    }
    char *backend = get_attr(n, "backend");
    c->spool_pg = backend && strcmp(backend, "postgresql") == 0;
    free(backend);
    char *conn = get_attr(n, "connection-file");
    if (conn) {
        free(c->spool_conn_file);
        c->spool_conn_file = conn;
    }
    char *node = get_attr(n, "node");
    if (node) {
        free(c->spool_node);
        c->spool_node = node;
    }
    size_t min_free = 0;
    char *mf = get_attr(n, "min-free");
    if (mf) {
        if (config_parse_size(mf, &min_free) == 0)
            c->spool_min_free_mb = (min_free + (1u << 20) - 1) >> 20;
        else
            bad_value(L, n, "min-free", mf, "a size such as 64MiB");
        free(mf);
    }
}

static void build_log(struct loader *L, const xmlNode *n)
{
    once(L, n, &L->log_line);
    char *f = get_attr(n, "format");
    if (f && log_format_parse(f, &L->c->log_format) != 0)
        bad_value(L, n, "format", f, "logfmt or json");
    free(f);
    char *l = get_attr(n, "level");
    if (l && log_level_parse(l, &L->c->log_level) != 0)
        bad_value(L, n, "level", l, "debug, info, warn, error or off");
    free(l);
}

static void build_intake(struct loader *L, const xmlNode *n)
{
    struct intake_config *in = &L->c->intake;
    once(L, n, &L->intake_line);
    in->enabled = true;
    in->line = (int)node_line(n);
    free(in->listen);
    in->listen = get_attr(n, "listen");
    char *cert = get_attr(n, "cert-file");
    if (cert) {
        free(in->cert_file);
        in->cert_file = config_path(L->c->base_dir, cert);
        free(cert);
    }
    char *ca = get_attr(n, "client-ca-file");
    if (ca) {
        free(in->client_ca_file);
        in->client_ca_file = config_path(L->c->base_dir, ca);
        free(ca);
    }
    char *key = get_attr(n, "key-file");
    if (key) {
        free(in->key_file);
        in->key_file = key;
    }
    int64_t window_ms = (int64_t)in->token_window_s * 1000;
    rd_duration(L, n, "token-window", &window_ms);
    in->token_window_s = (int)(window_ms / 1000);
    rd_size(L, n, "max-body", &in->max_body);
    rd_int(L, n, "max-depth", 1, 100000, &in->max_depth);
    rd_int(L, n, "max-fields", 1, 100000000, &in->max_fields);
    rd_int(L, n, "max-connections", 1, 1000000, &in->max_connections);
    rd_duration(L, n, "request-timeout", &in->request_timeout_ms);
    rd_int(L, n, "max-connections-per-address", 1, 1000000,
           &in->max_per_address);
    rd_duration(L, n, "header-timeout", &in->header_timeout_ms);
}

static void build_console(struct loader *L, const xmlNode *n)
{
    struct console_config *co = &L->c->console;
    once(L, n, &L->console_line);
    co->enabled = true;
    co->line = (int)node_line(n);
    free(co->listen);
    co->listen = get_attr(n, "listen");
    char *staff = get_attr(n, "staff-file");
    free(co->staff_file);
    co->staff_file = config_path(L->c->base_dir, staff ? staff : "staff");
    free(staff);
    char *cert = get_attr(n, "cert-file");
    if (cert) {
        free(co->cert_file);
        co->cert_file = config_path(L->c->base_dir, cert);
        free(cert);
    }
    char *key = get_attr(n, "key-file");
    if (key) {
        free(co->key_file);
        co->key_file = key;
    }
    rd_duration(L, n, "idle-timeout", &co->idle_timeout_ms);
    rd_int(L, n, "max-sessions", 1, 100000, &co->max_sessions);
}

static void build_client(struct loader *L, const xmlNode *n)
{
    struct ferry_config *c = L->c;
    struct client_config *v = grow(c->clients, c->nclients,
                                   sizeof *c->clients);
    if (!v)
        goto nomem;
    c->clients = v;
    struct client_config *cl = &v[c->nclients++];
    cl->line = (int)node_line(n);
    cl->id = get_attr(n, "id");
    cl->secret_file = get_attr(n, "secret-file");
    rd_int(L, n, "max-connections", 1, 1000000, &cl->max_connections);
    for (const xmlNode *k = n->children; k; k = k->next)
        if (is_ours(k, "service") &&
            strv_push(&cl->services, &cl->nservices, get_text(k)) != 0)
            goto nomem;
    return;
nomem:
    errs_add_at(L->e, L->file, node_line(n), "out of memory");
}

/* build_retry - <retry>: unset attributes keep the defaults */
static void build_retry(struct loader *L, const xmlNode *n,
                        struct retry_policy *r)
{
    rd_duration(L, n, "initial", &r->initial_ms);
    rd_duration(L, n, "max-delay", &r->max_delay_ms);
    rd_duration(L, n, "max-age", &r->max_age_ms);
    rd_int(L, n, "max-attempts", 1, 1000000, &r->max_attempts);
    char *f = get_attr(n, "factor");
    if (f && parse_factor(f, &r->factor_milli) != 0)
        bad_value(L, n, "factor", f, "a factor from 1 to 1000 such as 2 or 1.5");
    free(f);
    char *j = get_attr(n, "jitter");
    if (j) {
        long pct;
        size_t len = strlen(j);
        char num[16];
        if (len >= 2 && len < sizeof num && j[len - 1] == '%') {
            memcpy(num, j, len - 1);
            num[len - 1] = '\0';
        } else {
            num[0] = 'x';
            num[1] = '\0';
        }
        if (config_parse_int(num, 0, 100, &pct) == 0)
            r->jitter_pct = (int)pct;
        else
            bad_value(L, n, "jitter", j, "a percentage such as 20%");
        free(j);
    }
}

static void target_defaults(struct target_config *t)
{
    t->retry.initial_ms = 30LL * 1000;
    t->retry.factor_milli = 2000;
    t->retry.max_delay_ms = 60LL * 60 * 1000;
    t->retry.jitter_pct = 20;
    t->retry.max_attempts = 10;
    t->retry.max_age_ms = 3LL * 24 * 60 * 60 * 1000;
    t->concurrency = DEF_CONCURRENCY;
    t->breaker_threshold = DEF_BREAKER_THRESHOLD;
    t->breaker_cooldown_ms = DEF_BREAKER_COOLDOWN;
    t->lease_ms = DEF_LEASE_MS;
}

static void build_target(struct loader *L, const xmlNode *n)
{
    static const char *const skip[] = { "name", "type", "concurrency",
                                        "lease", NULL };
    static const char *const tskip[] = { "type", NULL };
    struct ferry_config *c = L->c;
    struct target_config *v = grow(c->targets, c->ntargets,
                                   sizeof *c->targets);
    if (!v) {
        errs_add_at(L->e, L->file, node_line(n), "out of memory");
        return;
    }
    c->targets = v;
    struct target_config *t = &v[c->ntargets++];
    target_defaults(t);
    t->line = (int)node_line(n);
    t->name = get_attr(n, "name");
    t->type = get_attr(n, "type");
    rd_int(L, n, "concurrency", 1, 10000, &t->concurrency);
    rd_duration(L, n, "lease", &t->lease_ms);
    collect_opts(L, n, skip, &t->opts);
    for (const xmlNode *k = n->children; k; k = k->next) {
        if (is_ours(k, "transport")) {
            free(t->transport_type);
            t->transport_type = get_attr(k, "type");
            kvlist_clear(&t->transport_opts);
            collect_opts(L, k, tskip, &t->transport_opts);
        } else if (is_ours(k, "retry")) {
            build_retry(L, k, &t->retry);
        } else if (is_ours(k, "breaker")) {
            rd_int(L, k, "threshold", 1, 1000000, &t->breaker_threshold);
            rd_duration(L, k, "cooldown", &t->breaker_cooldown_ms);
        } else if (is_ours(k, "window")) {
            free(t->window);
            t->window = get_text(k);
        } else if (is_ours(k, "holiday")) {
            if (strv_push(&t->holidays, &t->nholidays, get_text(k)) != 0)
                errs_add_at(L->e, L->file, node_line(k), "out of memory");
        }
    }
}

/* money_pence - "4.50", "12", "0.05" (pounds, at most two places) to
 * pence, exactly; 0 ok, -1 not such an amount */
static int money_pence(const char *v, int64_t *out)
{
    int64_t pounds = 0, pence = 0;
    const char *p = v;
    int nd = 0, nf = -1;
    for (; *p >= '0' && *p <= '9' && nd < 9; p++, nd++)
        pounds = pounds * 10 + (*p - '0');
    if (!nd)
        return -1;
    if (*p == '.') {
        p++;
        for (nf = 0; *p >= '0' && *p <= '9' && nf < 2; p++, nf++)
            pence = pence * 10 + (*p - '0');
        if (nf == 0)
            return -1;
        if (nf == 1)
            pence *= 10;
    }
    if (*p)
        return -1;
    *out = pounds * 100 + pence;
    return 0;
}

/* build_cost - <cost channel="csv" per-transaction="4.50"/> */
static void build_cost(struct loader *L, const xmlNode *n,
                       struct service_config *s)
{
    char *ch = get_attr(n, "channel"), *amt = get_attr(n, "per-transaction");
    enum spool_channel c;
    int64_t pence;
    if (!ch || spool_channel_parse(ch, &c) != 0 || c == SPOOL_CH_UNKNOWN
        || c >= CONFIG_NCHANNELS) {
        bad_value(L, n, "channel", ch ? ch : "", "a channel (http, cli, "
                  "csv or assisted)");
    } else if (!amt || money_pence(amt, &pence) != 0) {
        bad_value(L, n, "per-transaction", amt ? amt : "", "an amount in "
                  "pounds with at most two decimal places, e.g. 4.50");
    } else if (s->cost_set & (1u << c)) {
        errs_add_at(L->e, L->file, node_line(n), "<service name=\"%s\">: "
                    "a second cost for channel %s", s->name ? s->name : "",
                    ch);
    } else {
        s->cost_pence[c] = pence;
        s->cost_set |= 1u << c;
    }
    free(ch);
    free(amt);
}

static void build_service(struct loader *L, const xmlNode *n)
{
    struct ferry_config *c = L->c;
    struct service_config *v = grow(c->services, c->nservices,
                                    sizeof *c->services);
    if (!v) {
        errs_add_at(L->e, L->file, node_line(n), "out of memory");
        return;
    }
    c->services = v;
    struct service_config *s = &v[c->nservices++];
    s->line = (int)node_line(n);
    s->name = get_attr(n, "name");
    char *m = get_attr(n, "mapping");
    if (m) {
        s->mapping_file = config_path(c->base_dir, m);
        free(m);
    }
    /* target="mainframe casework": one or more names, space-separated;
     * every record of the service gets a delivery to each */
    char *t = get_attr(n, "target");
    for (const char *p = t; p && *p;) {
        p += strspn(p, " \t\r\n");
        size_t len = strcspn(p, " \t\r\n");
        if (!len)
            break;
        bool twice = false;
        for (size_t k = 0; k < s->ntargets; k++)
            twice = twice || (strlen(s->targets[k]) == len
                              && memcmp(s->targets[k], p, len) == 0);
        if (twice)
            errs_add_at(L->e, L->file, node_line(n), "service '%s': target "
                        "'%.*s' named twice", s->name ? s->name : "",
                        (int)len, p);
        else if (s->ntargets == CONFIG_MAX_SERVICE_TARGETS)
            errs_add_at(L->e, L->file, node_line(n), "service '%s': more "
                        "than %d targets", s->name ? s->name : "",
                        CONFIG_MAX_SERVICE_TARGETS);
        else if (strv_push(&s->targets, &s->ntargets, strndup(p, len)) != 0)
            errs_add_at(L->e, L->file, node_line(n), "out of memory");
        p += len;
    }
    free(t);
    for (const xmlNode *k = n->children; k; k = k->next)
        if (is_ours(k, "cost"))
            build_cost(L, k, s);
}

static void build_job(struct loader *L, const xmlNode *n)
{
    static const char *const skip[] = { "name", "schedule", "tz", "action",
                                        "target", "catch-up", NULL };
    struct ferry_config *c = L->c;
    struct job_config *v = grow(c->jobs, c->njobs, sizeof *c->jobs);
    if (!v) {
        errs_add_at(L->e, L->file, node_line(n), "out of memory");
        return;
    }
    c->jobs = v;
    struct job_config *j = &v[c->njobs++];
    j->line = (int)node_line(n);
    j->name = get_attr(n, "name");
    j->schedule = get_attr(n, "schedule");
    j->tz = get_attr(n, "tz");
    if (!j->tz)
        j->tz = strdup(DEF_TZ);
    j->action = get_attr(n, "action");
    j->target = get_attr(n, "target");
    j->catch_up = get_attr(n, "catch-up");
    if (!j->catch_up)
        j->catch_up = strdup("run");
    collect_opts(L, n, skip, &j->opts);
}

/* add_copybook_root - one folder a mapping's copybooks may lie under,
 * resolved (symlinks followed) so that containment is judged on real
 * paths */
static void add_copybook_root(struct loader *L, long line, const char *dir)
{
    struct ferry_config *c = L->c;
    char *p = config_path(c->base_dir, dir);
    char *real = p ? realpath(p, NULL) : NULL;
    if (!real) {
        errs_add_at(L->e, L->file, line, "copybook-path folder %s: %s",
                    p ? p : dir, p ? strerror(errno) : "out of memory");
        free(p);
        return;
    }
    free(p);
    char **v = realloc(c->copybook_roots,
                       (c->ncopybook_roots + 1) * sizeof *v);
    if (!v) {
        free(real);
        errs_add_at(L->e, L->file, line, "out of memory");
        return;
    }
    c->copybook_roots = v;
    v[c->ncopybook_roots++] = real;
}

/* copybook_roots - the configuration folder, then every folder of
 * copybook-path ("dir:dir", relative to the configuration folder) */
static void copybook_roots(struct loader *L, const xmlNode *root)
{
    add_copybook_root(L, node_line(root), ".");
    char *cp = get_attr(root, "copybook-path");
    for (char *save = NULL, *d = cp ? strtok_r(cp, ":", &save) : NULL; d;
         d = strtok_r(NULL, ":", &save))
        if (*d)
            add_copybook_root(L, node_line(root), d);
    free(cp);
}

static void build(struct loader *L, const xmlNode *root)
{
    int64_t ms = L->c->shutdown_deadline_ms;
    rd_duration(L, root, "shutdown-deadline", &ms);
    L->c->shutdown_deadline_ms = ms;
    copybook_roots(L, root);
    for (const xmlNode *n = root->children; n; n = n->next) {
        if (!is_ours(n, NULL))
            continue;
        const char *name = (const char *)n->name;
        if (strcmp(name, "spool") == 0)
            build_spool(L, n);
        else if (strcmp(name, "log") == 0)
            build_log(L, n);
        else if (strcmp(name, "intake") == 0)
            build_intake(L, n);
        else if (strcmp(name, "console") == 0)
            build_console(L, n);
        else if (strcmp(name, "client") == 0)
            build_client(L, n);
        else if (strcmp(name, "target") == 0)
            build_target(L, n);
        else if (strcmp(name, "service") == 0)
            build_service(L, n);
        else if (strcmp(name, "job") == 0)
            build_job(L, n);
    }
}

/* ---- cross-checks ----------------------------------------------------- */

/* dup_names - report every name seen before in an array of structs:
 * base/stride/name_off/line_off describe where each element keeps its
 * name (char *) and line (int) */
static void dup_names(struct loader *L, const char *what, const void *base,
                      size_t n, size_t stride, size_t name_off,
                      size_t line_off)
{
    const char *b = base;
    for (size_t i = 0; i < n; i++) {
        const char *ni = *(char *const *)(b + i * stride + name_off);
        for (size_t k = 0; ni && k < i; k++) {
            const char *nk = *(char *const *)(b + k * stride + name_off);
            if (nk && strcmp(ni, nk) == 0) {
                errs_add_at(L->e, L->file,
                            *(const int *)(b + i * stride + line_off),
                            "duplicate %s '%s' (first at line %d)", what, ni,
                            *(const int *)(b + k * stride + line_off));
                break;
            }
        }
    }
}

#define DUP_NAMES(L, what, arr, n, field) \
    dup_names((L), (what), (arr), (n), sizeof *(arr), \
              offsetof(__typeof__(*(arr)), field), \
              offsetof(__typeof__(*(arr)), line))

static void check_names(struct loader *L)
{
    const struct ferry_config *c = L->c;
    DUP_NAMES(L, "target", c->targets, c->ntargets, name);
    DUP_NAMES(L, "service", c->services, c->nservices, name);
    DUP_NAMES(L, "job", c->jobs, c->njobs, name);
    DUP_NAMES(L, "client", c->clients, c->nclients, id);
}

/* copybook_place - one copybook attribute of a mapping lies under the
 * configuration's folders; nothing of a file outside is read, so no
 * error can quote it */
static void copybook_place(struct loader *L, const struct map_target *mt,
                           const char *ref, int line)
{
    bool outside;
    char why[PATH_MAX + 128];
    char *p = mapping_copybook_path(mt, ref, &outside, why, sizeof why);
    free(p);
    if (!p && outside)     /* one that does not exist is ferry check's */
        errs_add_at(L->e, mt->owner->file, line,
                    "copybook '%s': %s; a mapping may name copybooks only "
                    "there (<ferry copybook-path> names more folders)", ref,
                    why);
}

static void check_copybook_places(struct loader *L, const struct mapping *m)
{
    for (size_t t = 0; t < m->ntargets; t++) {
        const struct map_target *mt = &m->targets[t];
        const char *cb = kv_get(&mt->opts, "copybook");
        if (cb)
            copybook_place(L, mt, cb, mt->line);
        for (size_t i = 0; i < mt->nsec; i++) {
            const char *own = kv_get(&mt->sec[i].opts, "copybook");
            /* sec[0], the main record, may carry the target's own */
            if (own && !(cb && mt->sec[i].line == mt->line
                         && strcmp(own, cb) == 0))
                copybook_place(L, mt, own, mt->sec[i].line);
        }
    }
}

/* near_hint - "; did you mean 'X'?" into out when one of the n names at
 * base (each a const char * at offset off of a stride-byte element) is
 * near name, else "" */
static const char *near_hint(const char *name, const void *base, size_t n,
                             size_t stride, size_t off, char *out,
                             size_t outsz)
{
    out[0] = '\0';
    const char **v = n ? calloc(n, sizeof *v) : NULL;
    if (!v)
        return out;
    for (size_t i = 0; i < n; i++)
        v[i] = *(const char *const *)((const char *)base + i * stride + off);
    const char *near = suggest_near(name, v, n);
    if (near && strcmp(near, name) != 0)
        snprintf(out, outsz, "; did you mean '%s'?", near);
    free(v);
    return out;
}

#define TARGET_HINT(c, nm, buf) \
    near_hint((nm), (c)->targets, (c)->ntargets, sizeof *(c)->targets, \
              offsetof(struct target_config, name), (buf), sizeof (buf))
#define SERVICE_HINT(c, nm, buf) \
    near_hint((nm), (c)->services, (c)->nservices, sizeof *(c)->services, \
              offsetof(struct service_config, name), (buf), sizeof (buf))

static void load_mappings(struct loader *L)
{
    char hint[128];
    struct ferry_config *c = L->c;
    for (size_t i = 0; i < c->nservices; i++) {
        struct service_config *s = &c->services[i];
        for (size_t k = 0; k < s->ntargets; k++)
            if (!config_target(c, s->targets[k]))
                errs_add_at(L->e, L->file, s->line,
                            "service '%s': unknown target '%s'%s",
                            s->name ? s->name : "", s->targets[k],
                            TARGET_HINT(c, s->targets[k], hint));
        if (!s->mapping_file)
            continue;
        struct stat st;
        if (stat(s->mapping_file, &st) != 0) {
            errs_add_at(L->e, L->file, s->line,
                        "service '%s': mapping file %s: %s",
                        s->name ? s->name : "", s->mapping_file,
                        strerror(errno));
            continue;
        }
        if (mapping_load(s->mapping_file, &s->mapping, L->e) != 0) {
            s->mapping = NULL;
            continue;
        }
        s->mapping->cb_roots = (const char *const *)c->copybook_roots;
        s->mapping->ncb_roots = c->ncopybook_roots;
        check_copybook_places(L, s->mapping);
        const struct target_config *ts[CONFIG_MAX_SERVICE_TARGETS];
        size_t nt = config_service_targets(c, s, ts, CONFIG_MAX_SERVICE_TARGETS);
        for (size_t k = 0; k < nt; k++)
            if (!mapping_target(s->mapping, ts[k]->name))
                errs_add_at(L->e, L->file, s->line,
                            "service '%s': mapping %s has no <target "
                            "name=\"%s\">", s->name ? s->name : "",
                            s->mapping_file, ts[k]->name);
    }
    for (size_t i = 0; i < c->njobs; i++) {
        const struct job_config *j = &c->jobs[i];
        if (j->target && !config_target(c, j->target))
            errs_add_at(L->e, L->file, j->line,
                        "job '%s': unknown target '%s'%s",
                        j->name ? j->name : "", j->target,
                        TARGET_HINT(c, j->target, hint));
        if (!j->target && j->action &&
            strcmp(j->action, "batch") == 0)
            errs_add_at(L->e, L->file, j->line,
                        "job '%s': a batch job needs a target",
                        j->name ? j->name : "");
    }
    for (size_t i = 0; i < c->nclients; i++) {
        const struct client_config *cl = &c->clients[i];
        for (size_t k = 0; k < cl->nservices; k++)
            if (!config_service(c, cl->services[k]))
                errs_add_at(L->e, L->file, cl->line,
                            "client '%s': unknown service '%s'%s",
                            cl->id ? cl->id : "", cl->services[k],
                            SERVICE_HINT(c, cl->services[k], hint));
    }
}

/* ---- load / free ------------------------------------------------------ */

static struct ferry_config *config_new(const char *path)
{
    struct ferry_config *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->path = strdup(path);
    char *slash = c->path ? strrchr(c->path, '/') : NULL;
    if (slash == c->path && slash)
        c->base_dir = strdup("/");
    else if (slash)
        c->base_dir = strndup(c->path, (size_t)(slash - c->path));
    else
        c->base_dir = strdup(".");
    c->spool_dir = strdup(DEF_SPOOL_DIR);
    c->spool_min_free_mb = DEF_MIN_FREE_MB;
    c->log_format = LOG_LOGFMT;
    c->log_level = LOG_INFO;
    c->shutdown_deadline_ms = DEF_SHUTDOWN_MS;
    c->intake.token_window_s = DEF_TOKEN_WINDOW_S;
    c->intake.max_body = DEF_MAX_BODY;
    c->intake.max_depth = DEF_MAX_DEPTH;
    c->intake.max_fields = DEF_MAX_FIELDS;
    c->intake.max_connections = DEF_MAX_CONNECTIONS;
    c->intake.request_timeout_ms = DEF_REQUEST_TIMEOUT;
    c->intake.max_per_address = DEF_PER_ADDRESS;
    c->intake.header_timeout_ms = DEF_HEADER_TIMEOUT;
    c->console.idle_timeout_ms = 15 * 60 * 1000;
    c->console.max_sessions = 256;
    if (!c->path || !c->base_dir || !c->spool_dir) {
        config_free(c);
        return NULL;
    }
    return c;
}

int config_load(const char *path, struct ferry_config **out, struct errs *e)
{
    *out = NULL;
    size_t before = e->n + e->dropped;
    struct loader L = { .e = e, .file = path, .schema_ok = true };
    char *data = NULL;
    size_t len = 0;
    xmlDocPtr doc = NULL;

    if (fs_read_file(path, CONFIG_MAX_FILE, &data, &len, e) != 0)
        return -1;
    if (memchr(data, '\0', len)) {
        errs_add(e, path, "contains a NUL byte");
        goto done;
    }
    doc = config_xml_parse(&L, data, len);
    if (!doc)
        goto done;
    L.c = config_new(path);
    if (!L.c) {
        errs_add(e, path, "out of memory");
        goto done;
    }
    config_xml_validate(&L, doc);
    const xmlNode *root = xmlDocGetRootElement(doc);
    if (is_ours(root, "ferry")) {
        build(&L, root);
    } else if (L.schema_ok) {
        errs_add_at(e, path, node_line(root),
                    "the root element must be <ferry xmlns=\"%s\">",
                    CONFIG_NS);
    }
    check_names(&L);
    load_mappings(&L);
    *out = L.c;
done:
    xmlFreeDoc(doc);
    free(data);
    return e->n + e->dropped == before ? 0 : -1;
}

void config_free(struct ferry_config *c)
{
    if (!c)
        return;
    free(c->path);
    free(c->base_dir);
    for (size_t i = 0; i < c->ncopybook_roots; i++)
        free(c->copybook_roots[i]);
    free(c->copybook_roots);
    free(c->spool_dir);
    free(c->spool_key_file);
    free(c->spool_audit_key_file);
    free(c->spool_audit_head_file);
    free(c->spool_conn_file);
    free(c->spool_node);
    free(c->intake.listen);
    free(c->intake.cert_file);
    free(c->intake.key_file);
    free(c->intake.client_ca_file);
    free(c->console.listen);
    free(c->console.staff_file);
    free(c->console.cert_file);
    free(c->console.key_file);
    for (size_t i = 0; i < c->nclients; i++) {
        free(c->clients[i].id);
        free(c->clients[i].secret_file);
        strv_free(c->clients[i].services, c->clients[i].nservices);
    }
    free(c->clients);
    for (size_t i = 0; i < c->ntargets; i++) {
        struct target_config *t = &c->targets[i];
        free(t->name);
        free(t->type);
        kvlist_clear(&t->opts);
        free(t->transport_type);
        kvlist_clear(&t->transport_opts);
        free(t->window);
        strv_free(t->holidays, t->nholidays);
    }
    free(c->targets);
    for (size_t i = 0; i < c->nservices; i++) {
        struct service_config *s = &c->services[i];
        free(s->name);
        free(s->mapping_file);
        strv_free(s->targets, s->ntargets);
        mapping_free(s->mapping);
    }
    free(c->services);
    for (size_t i = 0; i < c->njobs; i++) {
        struct job_config *j = &c->jobs[i];
        free(j->name);
        free(j->schedule);
        free(j->tz);
        free(j->action);
        free(j->target);
        free(j->catch_up);
        kvlist_clear(&j->opts);
    }
    free(c->jobs);
    free(c);
}
