/* cmd_deliver.c - `ferry deliver` (one delivery pass for cron) and
 * `ferry targets` (each target's state at a glance). */
#include "cli/cli.h"
#include "util/clock.h"
#include "adapters/adapter.h"
#include "config/config.h"
#include "scheduler/deliver.h"
#include "util/duration.h"
#include "scheduler/window.h"
#include "spool/spool.h"
#include "util/errs.h"

#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DELIVER_MAX_ROUNDS 100000
#define DELIVER_IDLE_MS 100          /* --wait: nap between idle rounds */

static volatile sig_atomic_t deliver_stop;

static void on_stop(int sig)
{
    (void)sig;
    deliver_stop = 1;
}

static void deliver_usage(FILE *f)
{
    fprintf(f,
        "usage: ferry deliver [--config FILE] [--spool DIR] [--target T] [--once]\n"
        "                     [--wait DURATION] [--json]\n"
        "\n"
        "Hand every due record to its stream target (SOAP, ODBC) and exit.\n"
        "Without --once, rounds repeat until nothing more is due now; with\n"
        "--once, each target gets one claim's worth.  --wait 10m keeps going\n"
        "for up to that long while records are still open (deferred, in\n"
        "doubt, breaker open), napping between rounds: a drain for cron.\n"
        "Windows, the breaker and the retry policy apply as in the daemon.\n"
        "SIGTERM or SIGINT ends the run after the round in progress.\n"
        "\n"
        "Exit: 0 done (records that must be retried later are deferred),\n"
        "     65 some records moved to failed (dead letter), or records are\n"
        "     still in doubt (their count is printed), 75 a target was\n"
        "     unavailable (all its calls failed transiently, or its breaker is\n"
        "     open at the end), 74 ledger error, 78 configuration problem or\n"
        "     a target stopped (cannot start, login refused, marker table\n"
        "     unusable: its records wait, the other targets were served).\n");
}

/* engine_target - the engine's stats of target name, or NULL */
static const struct deliver_target_stats *
engine_target(const struct deliver_target_stats *st, size_t n,
              const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(st[i].target, name) == 0)
            return &st[i];
    return NULL;
}

/* work_left - whether a stream target of this run still has records
 * that can move (queued, deferred, delivering, or in doubt where the
 * target can be asked): what --wait waits for.  A stopped target's
 * records, and in-doubt records no one can check, wait for people. */
static bool work_left(struct spool *sp, const struct ferry_config *cfg,
                      const char *only, struct deliver_engine *d)
{
    size_t nst = 0;
    const struct deliver_target_stats *st = deliver_stats(d, &nst);
    struct spool_counts cs = { 0 };
    struct errs e;
    errs_init(&e);
    bool left = false;
    if (spool_counts(sp, &cs, &e) == 0) {
        for (size_t k = 0; k < cs.n && !left; k++) {
            const struct spool_count *c = &cs.v[k];
            if (only && strcmp(c->target, only) != 0)
                continue;
            const struct target_config *t = config_target(cfg, c->target);
            const struct adapter *ad = t ? adapter_find(t->type) : NULL;
            if (!ad || ad->kind != ADAPTER_STREAM)
                continue;
            const struct deliver_target_stats *ts =
                engine_target(st, nst, c->target);
            if (ts && ts->stopped)
                continue;
            bool uncheckable = ts && ts->indoubt_uncheckable;
            left = c->n > 0 && (c->state == SPOOL_QUEUED ||
                                c->state == SPOOL_DEFERRED ||
                                c->state == SPOOL_DELIVERING ||
                                (c->state == SPOOL_INDOUBT && !uncheckable));
        }
    }
    spool_counts_free(&cs);
    errs_free(&e);
    return left;
}

int cmd_deliver(int argc, char **argv)
{
    struct cli_common c = { 0 };
    const char *target = NULL;
    bool once = false;
    int64_t wait_ms = 0;
    static const struct option opts[] = {
        { "target", required_argument, NULL, 't' },
        { "once",   no_argument,       NULL, '1' },
        { "wait",   required_argument, NULL, 'w' },
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (cli_common_opt(&c, o, optarg))
            continue;
        if (o == 't')
            target = optarg;
        else if (o == '1')
            once = true;
        else if (o == 'w') {
            if (duration_parse(optarg, &wait_ms) != 0) {
                fprintf(stderr, "ferry deliver: --wait wants a duration "
                        "such as 30s or 10m, not '%s'\n", optarg);
                return EX_USAGE;
            }
        }
        else if (o == 'h' || o == CLI_OPT_HELP) {
            deliver_usage(stdout);
            return EX_OK;
        } else {
            deliver_usage(stderr);
            return EX_USAGE;
        }
    }
    if (optind != argc) {
        cli_args_msg(argc - optind, 0, 0, argv + optind);
        deliver_usage(stderr);
        return EX_USAGE;
    }
    struct ferry_config *cfg = NULL;
    struct spool *sp = NULL;
    struct deliver_engine *d = NULL;
    int rc = cli_load_config(&c, &cfg);
    if (rc)
        return rc;
    if ((rc = cli_check_name("deliver", CLI_TARGET, target, cfg, NULL)))
        goto out;
    if ((rc = cli_open_spool(&c, cfg, &sp)) != 0)
        goto out;
    struct errs e;
    errs_init(&e);
    char owner[96];
    char host[64] = "localhost";
    gethostname(host, sizeof host - 1);
    snprintf(owner, sizeof owner, "%s:%ld:deliver", host, (long)getpid());
    d = deliver_new(cfg, sp, target, owner, &e);
    if (!d) {
        cli_print_errs(stderr, &e);
        errs_free(&e);
        rc = EX_CONFIG;
        goto out;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    size_t total = 0;
    int64_t deadline = clock_wall_ms() + wait_ms;
    for (int round = 0; round < DELIVER_MAX_ROUNDS && !deliver_stop; round++) {
        size_t handled = 0;
        if (deliver_pass(d, 0, &handled, &e) != 0) {
            cli_print_errs(stderr, &e);
            rc = EX_IOERR;
            break;
        }
        total += handled;
        if (once)
            break;
        if (handled)
            continue;
        if (!wait_ms || clock_wall_ms() >= deadline ||
            !work_left(sp, cfg, target, d))
            break;
        struct timespec nap = { 0, DELIVER_IDLE_MS * 1000000L };
        nanosleep(&nap, NULL);
    }
    if (deliver_release(d, &e) != 0) {
        cli_print_errs(stderr, &e);
        if (!rc)
            rc = EX_IOERR;
    }
    errs_free(&e);
    size_t n;
    const struct deliver_target_stats *st = deliver_stats(d, &n);
    uint64_t ok = 0, retry = 0, fail = 0, indoubt = 0, exhausted = 0;
    /* waiting records now, from the ledger: a record deferred three times
     * in this run is one record to retry, not three */
    struct spool_counts cs = { 0 };
    struct errs ce;
    errs_init(&ce);
    if (spool_counts(sp, &cs, &ce) != 0) {
        cli_print_errs(stderr, &ce);
        if (!rc)
            rc = EX_IOERR;
    }
    errs_free(&ce);
    int64_t indoubt_left = 0;
    bool unavailable = false, stopped = false;
    json_t *arr = c.json ? json_array() : NULL;
    for (size_t i = 0; i < n; i++) {
        int64_t deferred_now = 0, indoubt_now = 0;
        for (size_t k = 0; k < cs.n; k++) {
            if (strcmp(cs.v[k].target, st[i].target) != 0)
                continue;
            if (cs.v[k].state == SPOOL_DEFERRED)
                deferred_now += cs.v[k].n;
            else if (cs.v[k].state == SPOOL_INDOUBT)
                indoubt_now += cs.v[k].n;
        }
        indoubt_left += indoubt_now;
        ok += st[i].ok;
        retry += st[i].retry;
        fail += st[i].fail;
        indoubt += st[i].indoubt;
        exhausted += st[i].exhausted;
        if ((st[i].retry && !st[i].ok) || strcmp(st[i].breaker, "closed") != 0)
            unavailable = true;
        if (st[i].stopped) {
            stopped = true;
            if (!arr)
                cli_msg("%s: STOPPED: %s; its records wait (none "
                        "failed)", st[i].target,
                        st[i].stop_reason ? st[i].stop_reason : "unusable");
        }
        if (arr)
            json_array_append_new(arr, json_pack(
                "{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:s,s:b,s:b,s:s?,s:I,s:I,s:b}",
                "target", st[i].target, "claimed", (json_int_t)st[i].claimed,
                "ok", (json_int_t)st[i].ok, "retry", (json_int_t)st[i].retry,
                "fail", (json_int_t)st[i].fail,
                "indoubt", (json_int_t)st[i].indoubt,
                "exhausted", (json_int_t)st[i].exhausted,
                "breaker", st[i].breaker, "window_open", st[i].window_open,
                "stopped", st[i].stopped, "stop_reason", st[i].stop_reason,
                "deferred_records", (json_int_t)deferred_now,
                "indoubt_records", (json_int_t)indoubt_now,
                "indoubt_uncheckable", st[i].indoubt_uncheckable));
        else if (!st[i].stopped || st[i].claimed)
            cli_msg("%s: %llu delivered, %lld to retry, %llu failed, "
                    "%lld in doubt%s%s", st[i].target,
                    (unsigned long long)st[i].ok, (long long)deferred_now,
                    (unsigned long long)(st[i].fail + st[i].exhausted),
                    (long long)indoubt_now,
                    st[i].window_open ? "" : " (outside its delivery window)",
                    strcmp(st[i].breaker, "closed") ? " (breaker open)" : "");
    }
    spool_counts_free(&cs);
    if (indoubt_left && !arr)
        cli_msg("%lld record(s) in doubt: ask the back end, then "
                "ferry settle REF --delivered|--not-delivered --reason TEXT "
                "(ferry queue --state indoubt lists them)",
                (long long)indoubt_left);
    if (arr) {
        json_t *doc = json_pack("{s:o,s:I,s:I}", "targets", arr, "handled",
                                (json_int_t)total, "indoubt_records",
                                (json_int_t)indoubt_left);
        json_dumpf(doc, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(doc);
    }
    if (!rc) {
        if (stopped)
            rc = EX_CONFIG;
        else if (fail || exhausted || indoubt_left)
            rc = EX_DATAERR;
        else if (unavailable)
            rc = EX_TEMPFAIL;
    }
out:
    deliver_free(d);
    spool_close(sp);
    config_free(cfg);
    return rc;
}

/* ---- ferry targets ------------------------------------------------------ */

struct due_count {
    int64_t now;
    int64_t due;
};

static int count_due(void *ctx, const struct spool_record *r)
{
    struct due_count *dc = ctx;
    if (r->next_attempt_at <= dc->now)
        dc->due++;
    return 0;
}

int cmd_targets(int argc, char **argv)
{
    struct cli_common c = { 0 };
    static const struct option opts[] = {
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (cli_common_opt(&c, o, optarg))
            continue;
        FILE *f = (o == 'h' || o == CLI_OPT_HELP) ? stdout : stderr;
        fprintf(f, "usage: ferry targets [--config FILE] [--spool DIR] [--json]\n\n"
                "Each target: type, delivery window (open now or not), its breaker\n"
                "as the last delivery engine left it (the daemon, or the last\n"
                "ferry deliver; for a batch target the last ferry batch: it is\n"
                "kept in the ledger), whether it stopped and why (a stop lasts\n"
                "until a run gets through), and its queued, due, failed and\n"
                "in-doubt counts.\n");
        return f == stdout ? EX_OK : EX_USAGE;
    }
    struct ferry_config *cfg = NULL;
    struct spool *sp = NULL;
    int rc = cli_load_config(&c, &cfg);
    if (rc)
        return rc;
    if ((rc = cli_open_spool(&c, cfg, &sp)) != 0)
        goto out;
    struct errs e;
    errs_init(&e);
    struct spool_counts cs = { 0 };
    if (spool_counts(sp, &cs, &e) != 0) {
        cli_print_errs(stderr, &e);
        errs_free(&e);
        rc = EX_IOERR;
        goto out;
    }
    struct spool_target_states ts = { 0 };
    if (spool_target_state_list(sp, &ts, &e) != 0) {
        cli_print_errs(stderr, &e);
        errs_free(&e);
        spool_counts_free(&cs);
        rc = EX_IOERR;
        goto out;
    }
    json_t *arr = c.json ? json_array() : NULL;
    int tw = 20;                      /* the longest target name, at least */
    for (size_t i = 0; i < cfg->ntargets; i++)
        if ((int)strlen(cfg->targets[i].name) > tw)
            tw = (int)strlen(cfg->targets[i].name);
    if (!arr)
        printf("%-*s %-12s %-7s %-9s %8s %8s %8s %8s %8s  %s\n", tw, "TARGET",
               "TYPE", "WINDOW", "BREAKER", "QUEUED", "DUE", "BATCHED", "FAILED",
               "INDOUBT", "WINDOW SPEC");
    int64_t now = clock_wall_ms();
    for (size_t i = 0; i < cfg->ntargets; i++) {
        const struct target_config *t = &cfg->targets[i];
        int64_t q = 0, failed = 0, indoubt = 0, batched = 0;
        for (size_t k = 0; k < cs.n; k++) {
            if (strcmp(cs.v[k].target, t->name) != 0)
                continue;
            if (cs.v[k].state == SPOOL_QUEUED || cs.v[k].state == SPOOL_DEFERRED)
                q += cs.v[k].n;
            else if (cs.v[k].state == SPOOL_FAILED)
                failed += cs.v[k].n;
            else if (cs.v[k].state == SPOOL_INDOUBT)
                indoubt += cs.v[k].n;
            else if (cs.v[k].state == SPOOL_BATCHED || cs.v[k].state == SPOOL_SENT)
                batched += cs.v[k].n;
        }
        struct due_count dc = { now, 0 };
        struct spool_filter f;
        memset(&f, 0, sizeof f);
        f.nstates = 2;
        f.states[0] = SPOOL_QUEUED;
        f.states[1] = SPOOL_DEFERRED;
        f.target = t->name;
        spool_foreach(sp, &f, 0, count_due, &dc, &e);
        const char *wstate = "always";
        struct window *w = NULL;
        if (t->window) {
            w = window_parse(t->window, (const char *const *)t->holidays,
                             t->nholidays, &e);
            wstate = !w ? "invalid" : window_open(w, now / 1000) ? "open" : "shut";
        }
        const struct spool_target_state *bs = NULL;
        for (size_t k = 0; k < ts.n; k++)
            if (strcmp(ts.v[k].target, t->name) == 0)
                bs = &ts.v[k];
        const char *breaker = !bs ? "-" : bs->stopped ? "stopped"
                                                      : bs->breaker;
        char since[32] = "";
        if (bs && arr)
            cli_json_time(bs->since, since, sizeof since);
        else if (bs)
            cli_fmt_time(bs->since, since, sizeof since);
        if (arr)
            json_array_append_new(arr, json_pack(
                "{s:s,s:s,s:s?,s:s,s:s,s:s?,s:s?,s:s?,s:I,s:I,s:I,s:I,s:I}",
                "target", t->name, "type", t->type, "window", t->window,
                "window_state", wstate, "breaker", breaker,
                "breaker_since", bs && since[0] ? since : NULL,
                "stopped", bs ? bs->stopped : NULL,
                "state_from", bs ? bs->owner : NULL, "queued", (json_int_t)q,
                "due", (json_int_t)dc.due, "batched_or_sent", (json_int_t)batched,
                "failed", (json_int_t)failed, "indoubt", (json_int_t)indoubt));
        else
            printf("%-*s %-12s %-7s %-9s %8lld %8lld %8lld %8lld %8lld  %s\n",
                   tw, t->name, t->type, wstate, breaker, (long long)q,
                   (long long)dc.due, (long long)batched, (long long)failed,
                   (long long)indoubt, t->window ? t->window : "-");
        if (!arr && bs && bs->stopped)
            printf("  %s stopped: %s\n", t->name, bs->stopped);
        else if (!arr && bs && strcmp(bs->breaker, "closed") != 0)
            printf("  %s breaker %s since %s UTC (%s)\n", t->name, bs->breaker,
                   since, bs->owner);
        window_free(w);
    }
    if (arr) {
        json_t *doc = json_pack("{s:o}", "targets", arr);
        json_dumpf(doc, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(doc);
    }
    spool_counts_free(&cs);
    spool_target_states_free(&ts);
    errs_free(&e);
out:
    spool_close(sp);
    config_free(cfg);
    return rc;
}
