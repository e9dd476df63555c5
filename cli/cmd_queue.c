/* cmd_queue.c - `ferry queue`: list records by state, service, target and
 * date, in the spirit of Postfix's mailq; `--json` for scripts
 * (`ferry queue --state failed --json | jq -r '.records[].reference' |
 * ferry retry -`).  A record being delivered shows the node holding its
 * claim (the lease owner: host:pid:engine), so the operator of several
 * nodes on one PostgreSQL spool sees which one has it. */
#include "cli/cli.h"
#include "util/clock.h"
#include "config/config.h"
#include "spool/spool.h"
#include "util/errs.h"

#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
        "usage: ferry queue [--config FILE] [--spool DIR] [--json]\n"
        "                   [--state S[,S...]] [--service NAME] [--target NAME]\n"
        "                   [--since WHEN] [--until WHEN] [--limit N] [--counts]\n"
        "\n"
        "List records oldest first.  States: received queued delivering deferred\n"
        "delivered confirmed rejected batched sent held failed discarded indoubt.\n"
        "WHEN is a date (2026-11-27), an instant (2026-11-27T09:00:00Z) or an\n"
        "age (90m, 24h, 7d).  --counts prints totals by service and state.\n"
        "CLAIMED-BY names the node (host:pid:engine) whose lease holds a record\n"
        "being delivered; '-' for every other record.\n");
}

static int parse_states(const char *arg, struct spool_filter *f)
{
    char *copy = strdup(arg), *save = NULL;
    if (!copy)
        return -1;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        enum spool_state st;
        if (spool_state_parse(t, &st) != 0 || f->nstates >= SPOOL_NSTATES) {
            fprintf(stderr, "ferry queue: --state: unknown state '%s'; states "
                            "are:", t);
            for (int k = 0; k < SPOOL_NSTATES; k++)
                fprintf(stderr, " %s", spool_state_name((enum spool_state)k));
            fputc('\n', stderr);
            free(copy);
            return -1;
        }
        f->states[f->nstates++] = st;
    }
    free(copy);
    return 0;
}

static int print_counts(struct spool *sp, bool json)
{
    struct spool_counts cs;
    struct errs e;
    errs_init(&e);
    if (spool_counts(sp, &cs, &e) != 0) {
        cli_print_errs(stderr, &e);
        errs_free(&e);
        return EX_IOERR;
    }
    errs_free(&e);
    if (json) {
        json_t *a = json_array();
        for (size_t i = 0; i < cs.n; i++)
            json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:I}",
                "service", cs.v[i].service, "target", cs.v[i].target,
                "state", spool_state_name(cs.v[i].state),
                "count", (json_int_t)cs.v[i].n));
        json_int_t total = 0;
        for (size_t i = 0; i < cs.n; i++)
            total += (json_int_t)cs.v[i].n;
        json_t *o = json_pack("{s:o,s:I}", "counts", a, "total", total);
        json_dumpf(o, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(o);
    } else {
        int ws = 7, wt = 6;
        long long total = 0;
        for (size_t i = 0; i < cs.n; i++) {
            int l1 = (int)strlen(cs.v[i].service);
            int l2 = cs.v[i].target ? (int)strlen(cs.v[i].target) : 1;
            ws = l1 > ws ? l1 : ws;
            wt = l2 > wt ? l2 : wt;
            total += (long long)cs.v[i].n;
        }
        printf("%-*s  %-*s  %-10s %10s\n", ws, "SERVICE", wt, "TARGET",
               "STATE", "COUNT");
        for (size_t i = 0; i < cs.n; i++)
            printf("%-*s  %-*s  %-10s %10lld\n", ws, cs.v[i].service, wt,
                   cs.v[i].target ? cs.v[i].target : "-",
                   spool_state_name(cs.v[i].state), (long long)cs.v[i].n);
        printf("-- %lld record%s in total\n", total, total == 1 ? "" : "s");
    }
    spool_counts_free(&cs);
    return EX_OK;
}

/* CLAIMED-BY: wide enough for host:pid:engine of a short host name; a
 * longer owner is printed whole (the line runs on) */
#define CLAIM_WIDTH 24

struct lister {
    bool json;
    bool first;
    size_t n;
    size_t limit;       /* --limit N (0: none); record N+1 only says "cut" */
    bool cut;
    int svc_width;      /* SERVICE column: the longest service name */
    int tgt_width;      /* TARGET column: the longest target name */
};

/* service_width - width of the SERVICE column: the longest service name
 * in the ledger or the configuration, so `change-of-address` and longer
 * names never push the later columns out of line. */
static int service_width(struct spool *sp, const struct ferry_config *cfg,
                         int *tgt_width)
{
    int w = 14, wt = 10;
    struct spool_counts cs;
    struct errs e;
    errs_init(&e);
    if (spool_counts(sp, &cs, &e) == 0) {
        for (size_t i = 0; i < cs.n; i++) {
            int l = cs.v[i].service ? (int)strlen(cs.v[i].service) : 0;
            w = l > w ? l : w;
            l = cs.v[i].target ? (int)strlen(cs.v[i].target) : 0;
            wt = l > wt ? l : wt;
        }
        spool_counts_free(&cs);
    }
    errs_free(&e);
    for (size_t i = 0; cfg && i < cfg->nservices; i++) {
        int l = (int)strlen(cfg->services[i].name);
        w = l > w ? l : w;
    }
    for (size_t i = 0; cfg && i < cfg->ntargets; i++) {
        int l = (int)strlen(cfg->targets[i].name);
        wt = l > wt ? l : wt;
    }
    *tgt_width = wt > 64 ? 64 : wt;
    return w > 64 ? 64 : w;
}

/* claimed_by - the lease owner of a record being delivered: the node
 * whose claim holds it (another state keeps no claim; an owner left on
 * one means nothing) */
static const char *claimed_by(const struct spool_record *r)
{
    return r->state == SPOOL_DELIVERING && r->lease_owner && *r->lease_owner
           ? r->lease_owner : NULL;
}

static int list_one(void *ctx, const struct spool_record *r)
{
    struct lister *l = ctx;
    char recv[32], next[32], until[32];
    const char *claim = claimed_by(r);
    if (l->limit && l->n == l->limit) {
        l->cut = true;
        return 1;
    }
    if (l->json) {
        cli_json_time(r->received_at, recv, sizeof recv);
        cli_json_time(r->next_attempt_at, next, sizeof next);
        cli_json_time(r->lease_until, until, sizeof until);
    } else {
        cli_fmt_time(r->received_at, recv, sizeof recv);
        cli_fmt_time(r->next_attempt_at, next, sizeof next);
    }
    l->n++;
    if (l->json) {
        json_t *o = json_pack("{s:s,s:s,s:s?,s:s,s:s,s:s?,s:s,s:i,s:s?,"
                              "s:s?,s:s?}",
            "reference", r->ref, "service", r->service, "target", r->target,
            "state", spool_state_name(r->state),
            "channel", spool_channel_name(r->channel),
            "frontend_reference", r->fe_ref,
            "received_at", recv, "attempts", r->attempts,
            "next_attempt_at", r->next_attempt_at ? next : NULL,
            "last_error", r->last_error, "receipt", r->receipt);
        if (r->delivery_id)
            json_object_set_new(o, "delivery_id",
                                json_string(r->delivery_id));
        json_object_set_new(o, "claimed_by",
                            claim ? json_string(claim) : json_null());
        if (claim)
            json_object_set_new(o, "lease_until", json_string(until));
        char *s = json_dumps(o, JSON_COMPACT);
        printf("%s%s", l->first ? "" : ",\n", s ? s : "{}");
        free(s);
        json_decref(o);
        l->first = false;
        return 0;
    }
    /* one line per delivery: a record of a service with several targets
     * has one per target */
    printf("%-22s %-10s %-*s %-*s %-19s %3d  %-*s  %s\n", r->ref,
           spool_state_name(r->state), l->svc_width, r->service,
           l->tgt_width, r->target && *r->target ? r->target : "-", recv,
           r->attempts, CLAIM_WIDTH, claim ? claim : "-",
           r->last_error ? r->last_error : (r->fe_ref ? r->fe_ref : ""));
    return 0;
}

int cmd_queue(int argc, char **argv)
{
    struct cli_common c = { 0 };
    struct spool_filter f;
    memset(&f, 0, sizeof f);
    bool counts = false;
    static const struct option opts[] = {
        { "state",   required_argument, NULL, 's' },
        { "service", required_argument, NULL, 'S' },
        { "target",  required_argument, NULL, 't' },
        { "since",   required_argument, NULL, 'f' },
        { "until",   required_argument, NULL, 'u' },
        { "limit",   required_argument, NULL, 'l' },
        { "counts",  no_argument,       NULL, 'c' },
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (cli_common_opt(&c, o, optarg))
            continue;
        long long ms;
        long n;
        switch (o) {
        case 's':
            if (parse_states(optarg, &f) != 0)
                return EX_USAGE;
            break;
        case 'S': f.service = optarg; break;
        case 't': f.target = optarg; break;
        case 'f':
        case 'u':
            if (cli_parse_since(optarg, &ms) != 0) {
                fprintf(stderr, "ferry queue: --%s: cannot read time '%s': "
                        "give a date (2026-11-27), an instant "
                        "(2026-11-27T09:00:00Z) or an age (90m, 24h, 7d)\n",
                        o == 'f' ? "since" : "until", optarg);
                return EX_USAGE;
            }
            if (o == 'f')
                f.since = ms;
            else
                f.until = ms;
            break;
        case 'l':
            if (config_parse_int(optarg, 1, 100000000, &n) != 0) {
                fprintf(stderr, "ferry queue: --limit: '%s' is not a whole "
                        "number from 1 to 100000000\n", optarg);
                return EX_USAGE;
            }
            f.limit = (size_t)n;
            break;
        case 'c': counts = true; break;
        case 'h':
        case CLI_OPT_HELP: usage(stdout); return EX_OK;
        default: usage(stderr); return EX_USAGE;
        }
    }
    if (optind != argc) {
        cli_args_msg(argc - optind, 0, 0, argv + optind);
        usage(stderr);
        return EX_USAGE;
    }
    struct ferry_config *cfg = NULL;
    struct spool *sp = NULL;
    int rc = 0;
    if ((!c.spool || c.config) && (rc = cli_load_config(&c, &cfg)) != 0)
        return rc;
    if ((rc = cli_open_spool(&c, cfg, &sp)) != 0)
        goto out;
    if ((rc = cli_check_name("queue", CLI_SERVICE, f.service, cfg, sp)) ||
        (rc = cli_check_name("queue", CLI_TARGET, f.target, cfg, sp)))
        goto out;
    if (counts) {
        rc = print_counts(sp, c.json);
        goto out;
    }
    struct lister l = { .json = c.json, .first = true, .limit = f.limit };
    if (f.limit)
        f.limit++;                     /* one more: whether the list was cut */
    if (c.json) {
        printf("{\"records\":[\n");
    } else {
        l.svc_width = service_width(sp, cfg, &l.tgt_width);
        printf("%-22s %-10s %-*s %-*s %-19s %3s  %-*s  %s\n", "REFERENCE",
               "STATE", l.svc_width, "SERVICE", l.tgt_width, "TARGET",
               "RECEIVED (UTC)", "TRY", CLAIM_WIDTH, "CLAIMED-BY",
               "LAST ERROR / FRONT-END REF");
    }
    struct errs e;
    errs_init(&e);
    if (spool_foreach(sp, &f, 0, list_one, &l, &e) < 0) {
        cli_print_errs(stderr, &e);
        rc = EX_IOERR;
    }
    errs_free(&e);
    if (c.json)
        printf("\n],\"count\":%zu,\"truncated\":%s}\n", l.n,
               l.cut ? "true" : "false");
    else if (!c.quiet)
        printf("-- %zu record%s%s\n", l.n, l.n == 1 ? "" : "s",
               l.cut ? " (--limit cut the list: more match)" : "");
out:
    spool_close(sp);
    config_free(cfg);
    return rc;
}
