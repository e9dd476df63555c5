/* cmd_find.c - `ferry find`: the records a citizen's details point at.
 *
 *   ferry find REF                  a ferry reference or the front-end's own
 *   ferry find nino=AB123456C       any index the mapping marks searchable
 *   ferry find surname=Smith dob=12/03/1980
 *   ferry find --reindex            rebuild the index of stored records
 *
 * The query text goes through the field's own transforms and type
 * (mappings/map_search.c), then the spool looks up its keyed hash
 * (spool/spool_search.c).  Listings show no personal value. */
#include "cli/cli.h"
#include "config/config.h"
#include "console/console.h"
#include "mappings/mapping.h"
#include "spool/spool.h"
#include "util/errs.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TERMS 8

static void usage(FILE *f)
{
    fprintf(f,
        "usage: ferry find [--config FILE] [--spool DIR] [--service NAME]\n"
        "                  [--limit N] [--json] REF | FIELD=VALUE...\n"
        "       ferry find --reindex [--service NAME]\n"
        "\n"
        "Find records by a ferry reference or the front-end's own reference\n"
        "(REF), or by the fields a mapping marks searchable (nino=AB123456C,\n"
        "surname=Smith dob=12/03/1980, postcode=\"SW1A 1AA\").  Values are\n"
        "normalised as the mapping does at intake (spaces, case, date\n"
        "format).  Nothing personal is shown.  --reindex rebuilds the search\n"
        "index from the stored records (after upgrading, or when a mapping's\n"
        "searchable fields change).  Exit 67 when nothing matches.\n");
}

struct term {
    const char *name[MAX_TERMS];
    const char *value[MAX_TERMS];
    size_t n;
};

static void print_json(const struct spool_list *l, const char *by)
{
    json_t *a = json_array();
    for (size_t i = 0; i < l->n; i++) {
        const struct spool_record *r = l->v[i];
        char t[32];
        json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s?,s:s?,s:s}",
            "reference", r->ref, "service", r->service,
            "state", spool_state_name(r->state),
            "received_at", cli_json_time(r->received_at, t, sizeof t),
            "frontend_reference", r->fe_ref, "target", r->target));
    }
    json_t *o = json_pack("{s:s,s:I,s:o}", "by", by, "count",
                          (json_int_t)l->n, "records", a);
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s)
        printf("%s\n", s);
    free(s);
    json_decref(o);
}

static void print_text(const struct spool_list *l)
{
    printf("%-22s %-20s %-11s %-19s %s\n", "REFERENCE", "SERVICE", "STATE",
           "RECEIVED (UTC)", "FRONT-END REF");
    for (size_t i = 0; i < l->n; i++) {
        const struct spool_record *r = l->v[i];
        char t[32];
        cli_fmt_time(r->received_at, t, sizeof t);
        printf("%-22s %-20s %-11s %-19s %s\n", r->ref, r->service,
               spool_state_name(r->state), t, r->fe_ref ? r->fe_ref : "-");
    }
}

/* find_fields - the terms in every service (or the one named) whose
 * mapping has an index of exactly those fields */
static int find_fields(const struct ferry_config *cfg, struct spool *sp,
                       const char *only, const struct term *t, size_t limit,
                       struct spool_list *out, struct errs *e)
{
    size_t tried = 0;
    if (console_find_fields(cfg, sp, only, t->name, t->value, t->n, limit,
                            out, &tried, e) != 0)
        return -1;
    if (!tried) {
        char names[256] = "";
        size_t o = 0;
        for (size_t i = 0; i < t->n && o < sizeof names; i++) {
            int w = snprintf(names + o, sizeof names - o, "%s%s",
                             i ? " + " : "", t->name[i]);
            if (w < 0)
                break;
            o += (size_t)w;
        }
        errs_add(e, "", "no service%s%s marks %s searchable together "
                 "(see searchable= in the mapping reference)",
                 only ? " named " : "", only ? only : "", names);
        return -1;
    }
    return 0;
}

static int reindex(const struct ferry_config *cfg, struct spool *sp,
                   const char *only, const char *actor, bool quiet)
{
    int rc = EX_OK;
    size_t did = 0;
    for (size_t i = 0; i < cfg->nservices; i++) {
        const struct service_config *sv = &cfg->services[i];
        if ((only && strcmp(only, sv->name) != 0) || !sv->mapping)
            continue;
        did++;
        struct errs e;
        errs_init(&e);
        size_t n = 0;
        if (spool_search_reindex(sp, sv->name, map_search_values_json,
                                 map_search_values_free,
                                 (void *)sv->mapping, actor,
                                 &n, &e) != 0) {
            cli_print_errs(stderr, &e);
            rc = EX_SOFTWARE;
        } else if (!quiet) {
            printf("%s: %zu records indexed (%zu search index%s)\n",
                   sv->name, n, sv->mapping->nsearch,
                   sv->mapping->nsearch == 1 ? "" : "es");
        }
        errs_free(&e);
    }
    if (!did) {
        cli_msg("no service%s%s has a mapping", only ? " named " : "",
                only ? only : "");
        return EX_USAGE;
    }
    return rc;
}

int cmd_find(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "service", required_argument, NULL, 's' },
        { "limit",   required_argument, NULL, 'n' },
        { "reindex", no_argument,       NULL, 'r' },
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 }
    };
    struct cli_common c = { 0 };
    const char *service = NULL;
    bool do_reindex = false;
    long limit = 100;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "s:n:", longopts, NULL)) != -1) {
        if (cli_common_opt(&c, opt, optarg))
            continue;
        switch (opt) {
        case 's': service = optarg; break;
        case 'r': do_reindex = true; break;
        case 'n':
            if (config_parse_int(optarg, 1, 10000, &limit) != 0) {
                fprintf(stderr, "ferry find: --limit wants 1..10000\n");
                return EX_USAGE;
            }
            break;
        case CLI_OPT_HELP: usage(stdout); return EX_OK;
        default: usage(stderr); return EX_USAGE;
        }
    }
    int nargs = argc - optind;
    if ((do_reindex && nargs) || (!do_reindex && nargs < 1)
        || nargs > MAX_TERMS) {
        if (do_reindex)
            cli_args_msg(nargs, 0, 0, argv + optind);
        else
            cli_args_msg(nargs, 1, MAX_TERMS, argv + optind);
        usage(stderr);
        return EX_USAGE;
    }
    struct term t = { .n = 0 };
    char *copies[MAX_TERMS] = { 0 };
    bool by_ref = false;
    for (int i = 0; i < nargs; i++) {
        const char *a = argv[optind + i];
        const char *eq = strchr(a, '=');
        if (!eq) {
            if (nargs != 1) {
                fprintf(stderr, "ferry find: give one REF, or FIELD=VALUE "
                                "terms\n");
                return EX_USAGE;
            }
            by_ref = true;
            break;
        }
        copies[i] = strndup(a, (size_t)(eq - a));
        if (!copies[i] || eq == a) {
            fprintf(stderr, "ferry find: '%s' names no field\n", a);
            for (int k = 0; k <= i; k++)
                free(copies[k]);
            return EX_USAGE;
        }
        t.name[t.n] = copies[i];
        t.value[t.n++] = eq + 1;
    }

    struct ferry_config *cfg = NULL;
    struct spool *sp = NULL;
    int rc = cli_load_config(&c, &cfg);
    if (rc == 0)
        rc = cli_check_name("find", CLI_SERVICE, service, cfg, NULL);
    if (rc == 0)
        rc = cli_open_spool(&c, cfg, &sp);
    if (rc != 0)
        goto out;
    if (do_reindex) {
        rc = reindex(cfg, sp, service, cli_actor(&c), c.quiet);
        goto out;
    }
    struct errs e;
    errs_init(&e);
    struct spool_list l = { 0 };
    int fr;
    if (by_ref) {
        const char *svcs[64];
        size_t ns = 0;
        for (size_t i = 0; i < cfg->nservices && ns < 64; i++)
            if (!service || strcmp(service, cfg->services[i].name) == 0)
                svcs[ns++] = cfg->services[i].name;
        fr = spool_find_ref(sp, argv[optind], svcs, ns, &l, &e);
    } else {
        fr = find_fields(cfg, sp, service, &t, (size_t)limit, &l, &e);
    }
    if (fr != 0) {
        cli_print_errs(stderr, &e);
        errs_free(&e);
        rc = EX_DATAERR;
        goto out;
    }
    errs_free(&e);
    char by[128] = "reference";
    if (!by_ref) {
        size_t o = 0;
        for (size_t i = 0; i < t.n && o < sizeof by; i++) {
            int w = snprintf(by + o, sizeof by - o, "%s%s", i ? "+" : "",
                             t.name[i]);
            if (w < 0)
                break;
            o += (size_t)w;
        }
    }
    if (c.json)
        print_json(&l, by);
    else if (l.n)
        print_text(&l);
    if (!l.n && !c.json)
        fprintf(stderr, "ferry find: no record matches\n");
    rc = l.n ? EX_OK : EX_NOUSER;
    spool_list_free(&l);
out:
    for (int k = 0; k < MAX_TERMS; k++)
        free(copies[k]);
    spool_close(sp);
    config_free(cfg);
    return rc;
}
