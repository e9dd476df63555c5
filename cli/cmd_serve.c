/* cmd_serve.c - `ferry serve`: the daemon.  HTTP intake, the stream
 * delivery loop and the job scheduler in one process.
 *
 * Threads: the main thread owns the signals (blocked everywhere, read
 * from a signalfd: no work in signal handlers) and the configuration;
 * libmicrohttpd runs a thread per connection; one delivery thread calls
 * deliver_pass; the scheduler has its own thread and one per running job.
 *
 * SIGTERM/SIGINT: stop intake (no new connections, new requests 503,
 * requests in flight answered), let the delivery pass in progress finish
 * and give back unfinished claims, wait for a running job to return, all
 * within shutdown-deadline; exit 0, or 75 with a log line when the
 * deadline passed.
 *
 * SIGHUP: load and check the configuration again, with the same check as
 * `ferry check` and the start.  A bad one is refused whole, with every
 * problem logged with file:line, counted in ferry_config_reload_failures_total,
 * and the old one keeps running.  A good one is
 * swapped in: new requests, the next delivery pass and the scheduler use
 * it; work in flight finishes with the configuration it started with.
 * Configurations are kept until exit (a reload is rare, a config small),
 * so nothing in flight ever points at freed memory.  The spool, the log
 * settings and the listener (address, TLS) stay as started.
 *
 * systemd (Type=notify, sd_notify(3); nothing happens without
 * NOTIFY_SOCKET): READY=1 once the spool and the listener are open,
 * RELOADING=1 then READY=1 around a SIGHUP (a refused reload says why in
 * STATUS=), STOPPING=1 on SIGTERM, and WATCHDOG=1 from the main loop at
 * half the WatchdogSec= interval. */
#include "intake/http_intake.h"
#include "util/clock.h"
#include "cli/cli.h"
#include "config/config.h"
#include "console/console.h"
#include "scheduler/deliver.h"
#include "scheduler/report.h"
#include "scheduler/sched.h"
#include "scheduler/sched_check.h"
#include "spool/spool.h"
#include "util/buf.h"
#include "util/errs.h"
#include "util/log.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONFIGS 1024               /* reloads kept until exit */
#define IDLE_WAIT_MS 200               /* delivery loop with nothing due */
#define MIN_PASS_GAP_MS 20             /* woken passes at most this often */
#define CONSERVATION_EVERY_S 60

struct dsnap {
    const char *target;
    uint64_t ok, retry, fail, indoubt, exhausted;
    uint64_t latency_ms_sum;
    uint64_t hist[12];
    int breaker;                       /* 0 closed, 1 half-open, 2 open */
    bool window_open;
};

struct serve {
    struct cli_common c;
    const char *listen;
    struct ferry_config *cfgs[MAX_CONFIGS];
    size_t ncfgs;
    struct ferry_config *cfg;          /* current */
    struct spool *sp;
    struct spool_hold *hold;           /* one daemon per spool */
    struct spool_checkpointer *ckpt;   /* WAL checkpoints off the commit path */
    struct http_server *http;
    struct console *console;           /* <console>: the support console */
    const char *console_listen;
    struct sched *sched;
    unsigned reloads;
    unsigned reload_failures;          /* SIGHUPs refused */
    int last_reload_ok;                /* -1 none yet, 0 refused, 1 applied */
    int64_t last_reload_ok_ms;         /* wall time of the last applied one */
    /* delivery loop */
    pthread_t dth;
    bool dstarted;
    pthread_mutex_t dmu;
    pthread_cond_t dcv;
    bool dstop, dwake, dended;
    unsigned dgen;
    const struct ferry_config *dcfg;
    struct dsnap *snap;
    size_t nsnap;
    uint64_t passes, pass_failures;
    pthread_mutex_t mi_mu;             /* one /v1/mi report at a time */
};

static void usage(FILE *f)
{
    fprintf(f,
        "usage: ferry serve [--config FILE] [--spool DIR] [--listen ADDR:PORT]\n"
        "\n"
        "Run the daemon: HTTP intake (POST /v1/services/SERVICE/submissions,\n"
        "GET /v1/submissions/REF, /healthz, /readyz, /metrics), stream delivery\n"
        "to SOAP and ODBC targets, and the configured jobs on their schedules.\n"
        "--listen overrides the configured listener; port 0 picks a free port\n"
        "(--console-listen likewise for <console>, event=console-listening)\n"
        "and logs it (event=listening addr=127.0.0.1:PORT).\n"
        "\n"
        "Signals: TERM/INT stop cleanly within shutdown-deadline; HUP reloads\n"
        "the configuration (a bad one is refused, the old one keeps running).\n"
        "\n"
        "Exit: 0 stopped cleanly, 75 shutdown deadline passed, 78 configuration\n"
        "problem, 73 spool cannot be opened, 69 cannot listen (the address is\n"
        "busy) or another ferry serve holds the spool (its PID is named).\n");
}

static void log_errs(const char *event, const struct errs *e)
{
    for (size_t i = 0; i < e->n; i++)
        log_event(LOG_ERROR, event, "where", e->v[i].where, "problem",
                  e->v[i].msg, NULL);
}

/* ---- delivery loop ----------------------------------------------------- */

static int breaker_num(const char *s)
{
    if (!s || strcmp(s, "closed") == 0)
        return 0;
    return strcmp(s, "half-open") == 0 ? 1 : 2;
}

/* snapshot - copy the engine's counters for /metrics (dmu not held) */
static void snapshot(struct serve *sv, struct deliver_engine *d)
{
    size_t n = 0;
    const struct deliver_target_stats *st = d ? deliver_stats(d, &n) : NULL;
    struct dsnap *v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        return;
    for (size_t i = 0; i < n; i++) {
        v[i].target = st[i].target;
        v[i].ok = st[i].ok;
        v[i].retry = st[i].retry;
        v[i].fail = st[i].fail;
        v[i].indoubt = st[i].indoubt;
        v[i].exhausted = st[i].exhausted;
        v[i].latency_ms_sum = st[i].latency_ms_sum;
        memcpy(v[i].hist, st[i].latency_hist, sizeof v[i].hist);
        v[i].breaker = breaker_num(st[i].breaker);
        v[i].window_open = st[i].window_open;
    }
    pthread_mutex_lock(&sv->dmu);
    free(sv->snap);
    sv->snap = v;
    sv->nsnap = n;
    pthread_mutex_unlock(&sv->dmu);
}

static struct deliver_engine *engine_for(const struct ferry_config *cfg,
                                         struct spool *sp, unsigned gen)
{
    char host[64] = "ferry", owner[128];
    gethostname(host, sizeof host - 1);
    snprintf(owner, sizeof owner, "%s:%ld:%u", host, (long)getpid(), gen);
    struct errs e;
    errs_init(&e);
    struct deliver_engine *d = deliver_new(cfg, sp, NULL, owner, &e);
    if (!d)
        log_errs("delivery-not-started", &e);
    errs_free(&e);
    return d;
}

static void engine_end(struct deliver_engine *d)
{
    if (!d)
        return;
    struct errs e;
    errs_init(&e);
    if (deliver_release(d, &e) != 0)
        log_errs("delivery-release-failed", &e);
    errs_free(&e);
    deliver_free(d);
}

static void *delivery_main(void *arg)
{
    struct serve *sv = arg;
    pthread_mutex_lock(&sv->dmu);
    unsigned gen = sv->dgen;
    const struct ferry_config *cfg = sv->dcfg;
    pthread_mutex_unlock(&sv->dmu);
    struct deliver_engine *d = engine_for(cfg, sv->sp, gen);
    int64_t last_pass = 0;
    for (;;) {
        pthread_mutex_lock(&sv->dmu);
        if (sv->dstop) {
            pthread_mutex_unlock(&sv->dmu);
            break;
        }
        bool swap = sv->dgen != gen;
        gen = sv->dgen;
        cfg = sv->dcfg;
        pthread_mutex_unlock(&sv->dmu);
        if (swap) {
            engine_end(d);
            d = engine_for(cfg, sv->sp, gen);
        }
        size_t handled = 0;
        if (d) {
            struct errs e;
            errs_init(&e);
            last_pass = clock_mono_ms();
            int rc = deliver_pass(d, 0, &handled, &e);
            pthread_mutex_lock(&sv->dmu);
            sv->passes++;
            if (rc != 0)
                sv->pass_failures++;
            pthread_mutex_unlock(&sv->dmu);
            if (rc != 0) {
                log_errs("delivery-pass-failed", &e);
                handled = 0;
            }
            errs_free(&e);
            snapshot(sv, d);
        }
        if (handled)
            continue;
        pthread_mutex_lock(&sv->dmu);
        if (!sv->dwake && !sv->dstop) {
            struct timespec ts;
            clock_abs_in(&ts, IDLE_WAIT_MS);
            pthread_cond_timedwait(&sv->dcv, &sv->dmu, &ts);
        }
        sv->dwake = false;
        pthread_mutex_unlock(&sv->dmu);
        /* a burst of submissions must not turn into a burst of passes
         * competing with the intake for the ledger */
        int64_t gap = MIN_PASS_GAP_MS - (clock_mono_ms() - last_pass);
        if (gap > 0)
            usleep((useconds_t)gap * 1000);
    }
    engine_end(d);
    pthread_mutex_lock(&sv->dmu);
    sv->dended = true;
    pthread_cond_broadcast(&sv->dcv);
    pthread_mutex_unlock(&sv->dmu);
    return NULL;
}

/* ---- hooks for the HTTP side -------------------------------------------- */

static void on_accepted(void *ctx)
{
    struct serve *sv = ctx;
    pthread_mutex_lock(&sv->dmu);
    if (!sv->dwake) {
        sv->dwake = true;
        pthread_cond_signal(&sv->dcv);
    }
    pthread_mutex_unlock(&sv->dmu);
}

/* on_mi - GET /v1/mi: the report of `ferry report --format json`, built
 * over a read-only connection of its own (a WAL reader neither waits for
 * intake's commits nor holds them up while it reads a million rows; on
 * PostgreSQL a read-only session of its own, from the connection file),
 * one request at a time (a second gets HTTP_MI_BUSY: 429). */
static enum http_mi_result on_mi(void *ctx, const struct http_mi_query *q,
                                 struct buf *out, struct errs *e)
{
    struct serve *sv = ctx;
    if (pthread_mutex_trylock(&sv->mi_mu) != 0)
        return HTTP_MI_BUSY;
    enum http_mi_result rc = HTTP_MI_FAILED;
    struct spool_opts so = { .read_only = true };
    char *conninfo = NULL;
    struct spool *rd = NULL;
    /* the ledger the spool was opened on: the first configuration's (a
     * reload never moves the spool) */
    const struct ferry_config *oc = sv->cfgs[0];
    if (!oc->spool_pg || config_spool_conninfo(oc, &conninfo, e) == 0) {
        so.pg_conninfo = conninfo;
        rd = spool_open(spool_dir(sv->sp), &so, e);
        spool_conninfo_free(conninfo);
    }
    struct report *r = NULL;
    struct report_opts o = { .from = q->from, .to = q->to,
                             .service = q->service, .cfg = q->cfg };
    if (!rd) {
        rc = HTTP_MI_FAILED;
    } else if (report_build(rd, &o, &r, e) != 0) {
        rc = e->n && (strcmp(e->v[0].where, "--from") == 0 ||
                      strcmp(e->v[0].where, "--to") == 0)
           ? HTTP_MI_BAD_QUERY : HTTP_MI_FAILED;
    } else if (report_render(r, REPORT_JSON, out) != 0) {
        errs_add(e, "report", "out of memory");
        rc = HTTP_MI_FAILED;
    } else {
        rc = HTTP_MI_OK;
    }
    report_free(r);
    spool_close(rd);
    pthread_mutex_unlock(&sv->mi_mu);
    return rc;
}

static void label(struct buf *b, const char *v)
{
    for (; v && *v; v++) {
        if (*v == '\\' || *v == '"')
            buf_putc(b, '\\');
        buf_putc(b, *v);
    }
}

static void ops_metrics(struct serve *sv, struct buf *b);

/* with_node - in's sample lines with node="NODE" as their first label,
 * its comment lines as they are (a node's own figures, on a shared
 * ledger: docs/mi.md) */
static void with_node(struct buf *b, const char *in, const char *node)
{
    for (const char *p = in; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) + 1 : strlen(p);
        size_t name = strcspn(p, "{ \n");
        if (*p != '#' && name < n && p[name] != '\n') {
            buf_append(b, p, name);
            buf_puts(b, "{node=\"");
            label(b, node);
            buf_putc(b, '"');
            const char *rest = p + name;
            if (*rest == '{') {
                rest++;
                if (*rest != '}')
                    buf_putc(b, ',');
            } else {
                buf_putc(b, '}');
            }
            buf_append(b, rest, n - (size_t)(rest - p));
        } else {
            buf_append(b, p, n);
        }
        p += n;
    }
}

static void node_metrics(struct serve *sv, struct buf *b);

/* on_metrics - the daemon's part of /metrics: this node's own figures
 * (delivery, jobs, process).  On a ledger other nodes share (PostgreSQL)
 * each sample is labelled node="HOST:PID" (or <spool node>); on SQLite the page is as it
 * always was. */
static void on_metrics(void *ctx, struct buf *b)
{
    struct serve *sv = ctx;
    if (!spool_shared(sv->sp)) {
        node_metrics(sv, b);
        return;
    }
    char host[64] = "ferry", node[128];
    gethostname(host, sizeof host - 1);
    snprintf(node, sizeof node, "%s:%ld", host, (long)getpid());
    if (sv->cfg->spool_node)                /* <spool node="..."> */
        snprintf(node, sizeof node, "%s", sv->cfg->spool_node);
    struct buf own;
    buf_init(&own, 16u << 20);
    node_metrics(sv, &own);
    with_node(b, buf_str(&own), node);
    buf_free(&own);
}

static void node_metrics(struct serve *sv, struct buf *b)
{
    const int64_t *bounds = deliver_latency_bounds();
    pthread_mutex_lock(&sv->dmu);
    buf_puts(b, "# HELP ferry_delivery_attempts_total Delivery attempts by "
                "target and outcome since start.\n"
                "# TYPE ferry_delivery_attempts_total counter\n");
    for (size_t i = 0; i < sv->nsnap; i++) {
        const struct dsnap *s = &sv->snap[i];
        const char *names[5] = { "ok", "retry", "fail", "indoubt",
                                 "exhausted" };
        uint64_t vals[5] = { s->ok, s->retry, s->fail, s->indoubt,
                             s->exhausted };
        for (int k = 0; k < 5; k++) {
            buf_puts(b, "ferry_delivery_attempts_total{target=\"");
            label(b, s->target);
            buf_printf(b, "\",outcome=\"%s\"} %llu\n", names[k],
                       (unsigned long long)vals[k]);
        }
    }
    buf_puts(b, "# HELP ferry_delivery_latency_seconds Delivery call "
                "latency by target.\n"
                "# TYPE ferry_delivery_latency_seconds histogram\n");
    for (size_t i = 0; i < sv->nsnap; i++) {
        const struct dsnap *s = &sv->snap[i];
        uint64_t cum = 0;
        for (int k = 0; k < 12; k++) {
            cum += s->hist[k];
            buf_puts(b, "ferry_delivery_latency_seconds_bucket{target=\"");
            label(b, s->target);
            if (k < 11)
                buf_printf(b, "\",le=\"%lld.%03lld\"} %llu\n",
                           (long long)(bounds[k] / 1000),
                           (long long)(bounds[k] % 1000),
                           (unsigned long long)cum);
            else
                buf_printf(b, "\",le=\"+Inf\"} %llu\n",
                           (unsigned long long)cum);
        }
        buf_puts(b, "ferry_delivery_latency_seconds_sum{target=\"");
        label(b, s->target);
        buf_printf(b, "\"} %llu.%03llu\n",
                   (unsigned long long)(s->latency_ms_sum / 1000),
                   (unsigned long long)(s->latency_ms_sum % 1000));
        buf_puts(b, "ferry_delivery_latency_seconds_count{target=\"");
        label(b, s->target);
        buf_printf(b, "\"} %llu\n", (unsigned long long)cum);
    }
    buf_puts(b, "# HELP ferry_breaker_state Circuit breaker per target: "
                "0 closed, 1 half-open, 2 open.\n"
                "# TYPE ferry_breaker_state gauge\n");
    for (size_t i = 0; i < sv->nsnap; i++) {
        buf_puts(b, "ferry_breaker_state{target=\"");
        label(b, sv->snap[i].target);
        buf_printf(b, "\"} %d\n", sv->snap[i].breaker);
    }
    buf_puts(b, "# HELP ferry_delivery_window_open 1 when the target's "
                "delivery window is open.\n"
                "# TYPE ferry_delivery_window_open gauge\n");
    for (size_t i = 0; i < sv->nsnap; i++) {
        buf_puts(b, "ferry_delivery_window_open{target=\"");
        label(b, sv->snap[i].target);
        buf_printf(b, "\"} %d\n", sv->snap[i].window_open ? 1 : 0);
    }
    buf_printf(b, "# HELP ferry_delivery_passes_total Delivery passes "
                  "(failed: the ledger refused).\n"
                  "# TYPE ferry_delivery_passes_total counter\n"
                  "ferry_delivery_passes_total{result=\"ok\"} %llu\n"
                  "ferry_delivery_passes_total{result=\"failed\"} %llu\n",
               (unsigned long long)(sv->passes - sv->pass_failures),
               (unsigned long long)sv->pass_failures);
    pthread_mutex_unlock(&sv->dmu);
    if (sv->sched)
        sched_metrics(sv->sched, b);
    buf_printf(b, "# HELP ferry_config_reloads_total Configurations "
                  "applied by SIGHUP.\n# TYPE ferry_config_reloads_total "
                  "counter\nferry_config_reloads_total %u\n", sv->reloads);
    buf_printf(b, "# HELP ferry_config_reload_failures_total SIGHUPs "
                  "refused: the running configuration was kept.\n"
                  "# TYPE ferry_config_reload_failures_total counter\n"
                  "ferry_config_reload_failures_total %u\n",
               sv->reload_failures);
    ops_metrics(sv, b);
}

/* process_metrics - the standard process_* series, from /proc and
 * getrusage */
static void process_metrics(struct buf *b)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        long long us = (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) *
                       1000000LL + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
        buf_printf(b, "# HELP process_cpu_seconds_total User and system CPU "
                      "time spent.\n# TYPE process_cpu_seconds_total counter\n"
                      "process_cpu_seconds_total %lld.%06lld\n", us / 1000000,
                   us % 1000000);
    }
    FILE *f = fopen("/proc/self/statm", "r");
    long long pages_total = 0, pages_res = 0;
    if (f && fscanf(f, "%lld %lld", &pages_total, &pages_res) == 2)
        buf_printf(b, "# HELP process_resident_memory_bytes Resident memory "
                      "size.\n# TYPE process_resident_memory_bytes gauge\n"
                      "process_resident_memory_bytes %lld\n",
                   pages_res * (long long)sysconf(_SC_PAGESIZE));
    if (f)
        fclose(f);
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        long n = 0;
        struct dirent *de;
        while ((de = readdir(d)) != NULL)
            if (de->d_name[0] != '.')
                n++;
        closedir(d);
        buf_printf(b, "# HELP process_open_fds Open file descriptors.\n"
                      "# TYPE process_open_fds gauge\nprocess_open_fds %ld\n",
                   n - 1);                 /* not the one reading the folder */
    }
}

/* last_success_metrics - per job and per batch target, when it last
 * succeeded, from the ledger: a batch run by cron counts too */
static void last_success_metrics(struct serve *sv, struct buf *b)
{
    struct errs e;
    errs_init(&e);
    buf_puts(b, "# HELP ferry_job_last_success_timestamp_seconds When each "
                "job last ended well (from the ledger's job runs).\n"
                "# TYPE ferry_job_last_success_timestamp_seconds gauge\n");
    for (size_t i = 0; i < sv->cfg->njobs; i++) {
        struct spool_job_run *runs = NULL;
        size_t n = 0;
        if (spool_job_list(sv->sp, sv->cfg->jobs[i].name, 200, &runs, &n,
                           &e) != 0) {
            errs_clear(&e);
            continue;
        }
        for (size_t k = 0; k < n; k++) {
            const char *o = runs[k].outcome;
            if (o && (strcmp(o, "ok") == 0 || strcmp(o, "done") == 0)) {
                buf_puts(b, "ferry_job_last_success_timestamp_seconds{job=\"");
                label(b, sv->cfg->jobs[i].name);
                buf_printf(b, "\"} %lld.%03lld\n",
                           (long long)(runs[k].ended_at / 1000),
                           (long long)(runs[k].ended_at % 1000));
                break;
            }
        }
        spool_job_runs_free(runs, n);
    }
    buf_puts(b, "# HELP ferry_batch_last_success_timestamp_seconds When a "
                "batch file of each target was last handed over.\n"
                "# TYPE ferry_batch_last_success_timestamp_seconds gauge\n");
    for (size_t i = 0; i < sv->cfg->ntargets; i++) {
        struct spool_batch **v = NULL;
        size_t n = 0;
        if (spool_batch_list(sv->sp, sv->cfg->targets[i].name, 50, &v, &n,
                             &e) != 0) {
            errs_clear(&e);
            continue;
        }
        int64_t best = 0;
        for (size_t k = 0; k < n; k++)
            if (v[k]->sent_at > best)
                best = v[k]->sent_at;
        if (best > 0) {
            buf_puts(b, "ferry_batch_last_success_timestamp_seconds{target=\"");
            label(b, sv->cfg->targets[i].name);
            buf_printf(b, "\"} %lld.%03lld\n", (long long)(best / 1000),
                       (long long)(best % 1000));
        }
        for (size_t k = 0; k < n; k++)
            spool_batch_free(v[k]);
        free(v);
    }
    errs_free(&e);
}

/* ops_metrics - build, process, last success and reload series */
static void ops_metrics(struct serve *sv, struct buf *b)
{
    buf_printf(b, "# HELP ferry_build_info The running ferry's version.\n"
                  "# TYPE ferry_build_info gauge\n"
                  "ferry_build_info{version=\"%s\"} 1\n", FERRY_VERSION);
    process_metrics(b);
    last_success_metrics(sv, b);
    buf_printf(b, "# HELP ferry_config_last_reload_successful 1 when the "
                  "last SIGHUP's configuration was applied, 0 when refused "
                  "(1 before any).\n"
                  "# TYPE ferry_config_last_reload_successful gauge\n"
                  "ferry_config_last_reload_successful %d\n",
               sv->last_reload_ok != 0);
    if (sv->last_reload_ok_ms > 0)
        buf_printf(b, "# HELP ferry_config_last_reload_success_timestamp_"
                      "seconds When a configuration was last applied.\n"
                      "# TYPE ferry_config_last_reload_success_timestamp_"
                      "seconds gauge\nferry_config_last_reload_success_"
                      "timestamp_seconds %lld\n",
                   (long long)(sv->last_reload_ok_ms / 1000));
}

/* ---- reload ------------------------------------------------------------ */

/* notify_refused - READY again, with the first problem in STATUS= */
static void notify_refused(const char *problem)
{
    sd_notifyf(0, "READY=1\nSTATUS=reload refused, running configuration "
                  "kept: %.200s", problem && *problem ? problem : "see log");
}

/* reload - SIGHUP: the new configuration is taken whole or refused whole.
 * It must pass the same check as `ferry check` and the daemon's start
 * (every adapter's own validation included); then the scheduler and the
 * intake take it, the scheduler put back if the intake refuses, and only
 * then the delivery loop.  A refusal keeps the running configuration, logs
 * each problem with file:line and counts a failed reload. */
static void reload(struct serve *sv)
{
    struct errs e;
    errs_init(&e);
    struct ferry_config *nc = NULL;
    sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
               (unsigned long long)clock_mono_ms() * 1000ULL);
    log_event(LOG_INFO, "config-reload", "file", sv->cfg->path, NULL);
    if (sv->ncfgs == MAX_CONFIGS) {
        errs_add(&e, sv->cfg->path, "too many reloads: restart ferry");
        goto refused;
    }
    if (config_load(sv->cfg->path, &nc, &e) != 0 || !nc ||
        sched_check_config(nc, &e) > 0)
        goto refused;
    if (!sv->c.spool && strcmp(nc->spool_dir, sv->cfg->spool_dir) != 0)
        log_event(LOG_WARN, "spool-unchanged", "why",
                  "a new spool folder applies after a restart", NULL);
    if (nc->spool_pg != sv->cfg->spool_pg
        || (nc->spool_pg && strcmp(nc->spool_conn_file ? nc->spool_conn_file
                                   : "", sv->cfg->spool_conn_file
                                   ? sv->cfg->spool_conn_file : "") != 0))
        log_event(LOG_WARN, "spool-unchanged", "why",
                  "a new spool backend or connection-file applies after a "
                  "restart", NULL);
    if (sv->sched && sched_reload(sv->sched, nc, &e) != 0)
        goto refused;
    if (sv->http && http_reload(sv->http, nc, &e) != 0) {
        struct errs back;
        errs_init(&back);
        if (sv->sched && sched_reload(sv->sched, sv->cfg, &back) != 0)
            log_errs("scheduler-restore-failed", &back);
        errs_free(&back);
        sv->cfgs[sv->ncfgs++] = nc;     /* a job may have started with it */
        nc = NULL;
        goto refused;
    }
    sv->cfgs[sv->ncfgs++] = nc;
    sv->cfg = nc;
    nc = NULL;
    pthread_mutex_lock(&sv->dmu);
    sv->dcfg = sv->cfg;
    sv->dgen++;
    sv->dwake = true;
    pthread_cond_signal(&sv->dcv);
    pthread_mutex_unlock(&sv->dmu);
    sv->reloads++;
    sv->last_reload_ok = 1;
    sv->last_reload_ok_ms = clock_wall_ms();
    char n[16];
    snprintf(n, sizeof n, "%u", sv->reloads);
    log_event(LOG_INFO, "config-reloaded", "file", sv->cfg->path,
              "generation", n, NULL);
    sd_notifyf(0, "READY=1\nSTATUS=serving, configuration reloaded "
                  "(generation %u)", sv->reloads);
    goto out;
refused:
    if (e.n == 0)
        errs_add(&e, sv->cfg->path, "the configuration could not be read");
    log_errs("config-reload-refused", &e);
    log_event(LOG_ERROR, "config-reload-refused", "problem",
              "the running configuration is kept", NULL);
    notify_refused(errs_first_msg(&e));
    sv->reload_failures++;
    sv->last_reload_ok = 0;
out:
    config_free(nc);
    errs_free(&e);
}

/* ---- shutdown ----------------------------------------------------------- */

/* stop_all - the SIGTERM sequence; 0 when everything stopped in time */
static int stop_all(struct serve *sv, int64_t deadline)
{
    int rc = 0;
    console_free(sv->console);         /* no staff action starts now */
    sv->console = NULL;
    if (sv->http && http_stop(sv->http, deadline) != 0) {
        log_event(LOG_WARN, "shutdown-slow", "part", "intake", NULL);
        rc = -1;
    }
    if (sv->dstarted) {
        pthread_mutex_lock(&sv->dmu);
        sv->dstop = true;
        pthread_cond_broadcast(&sv->dcv);
        while (!sv->dended &&
               clock_cond_wait_until(&sv->dcv, &sv->dmu, deadline) == 0)
            ;
        bool ended = sv->dended;
        pthread_mutex_unlock(&sv->dmu);
        if (ended) {
            pthread_join(sv->dth, NULL);
            sv->dstarted = false;
        } else {
            log_event(LOG_WARN, "shutdown-slow", "part", "delivery", NULL);
            rc = -1;
        }
    }
    if (sv->sched && sched_stop(sv->sched, deadline) != 0) {
        log_event(LOG_WARN, "shutdown-slow", "part", "job", NULL);
        rc = -1;
    }
    return rc;
}

static void teardown(struct serve *sv)
{
    console_free(sv->console);
    sv->console = NULL;
    http_free(sv->http);
    sv->http = NULL;
    if (sv->dstarted) {
        pthread_mutex_lock(&sv->dmu);
        sv->dstop = true;
        pthread_cond_broadcast(&sv->dcv);
        pthread_mutex_unlock(&sv->dmu);
        pthread_join(sv->dth, NULL);
        sv->dstarted = false;
    }
    sched_free(sv->sched);
    sv->sched = NULL;
    spool_checkpointer_stop(sv->ckpt);
    sv->ckpt = NULL;
    spool_close(sv->sp);
    sv->sp = NULL;
    spool_hold_release(sv->hold);
    sv->hold = NULL;
    for (size_t i = 0; i < sv->ncfgs; i++)
        config_free(sv->cfgs[i]);
    sv->ncfgs = 0;
    free(sv->snap);
    pthread_cond_destroy(&sv->dcv);
    pthread_mutex_destroy(&sv->dmu);
    pthread_mutex_destroy(&sv->mi_mu);
}

static void conservation(struct serve *sv)
{
    struct errs e;
    errs_init(&e);
    int64_t r, s, d;
    if (http_conservation(sv->sp, &r, &s, &d, &e) != 0)
        log_errs("conservation-unreadable", &e);
    errs_free(&e);
}

/* ---- main ---------------------------------------------------------------- */

int cmd_serve(int argc, char **argv)
{
    static struct serve sv0;
    struct serve *sv = &sv0;
    memset(sv, 0, sizeof *sv);
    sv->last_reload_ok = -1;
    static const struct option opts[] = {
        { "listen", required_argument, NULL, 'l' },
        { "console-listen", required_argument, NULL, 'C' },
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "l:h", opts, NULL)) != -1) {
        if (cli_common_opt(&sv->c, o, optarg))
            continue;
        if (o == 'l') {
            sv->listen = optarg;
        } else if (o == 'C') {
            sv->console_listen = optarg;
        } else if (o == 'h' || o == CLI_OPT_HELP) {
            usage(stdout);
            return EX_OK;
        } else {
            usage(stderr);
            return EX_USAGE;
        }
    }
    if (optind != argc) {
        cli_args_msg(argc - optind, 0, 0, argv + optind);
        usage(stderr);
        return EX_USAGE;
    }

    /* every thread started from here on inherits the blocked signals */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    int sfd = signalfd(-1, &set, SFD_CLOEXEC);
    if (sfd < 0) {
        fprintf(stderr, "ferry serve: signalfd: %s\n", strerror(errno));
        return EX_OSERR;
    }
    pthread_mutex_init(&sv->dmu, NULL);
    pthread_cond_init(&sv->dcv, NULL);
    pthread_mutex_init(&sv->mi_mu, NULL);

    int rc = cli_load_config(&sv->c, &sv->cfg);
    if (rc) {
        close(sfd);
        pthread_cond_destroy(&sv->dcv);
        pthread_mutex_destroy(&sv->dmu);
        pthread_mutex_destroy(&sv->mi_mu);
        return rc;
    }
    sv->cfgs[sv->ncfgs++] = sv->cfg;
    log_setup(sv->cfg->log_format, sv->cfg->log_level);
    struct errs e;
    errs_init(&e);
    if (sched_check_config(sv->cfg, &e) > 0) {
        cli_print_errs(stderr, &e);
        log_event(LOG_ERROR, "config-refused", "file", sv->cfg->path, NULL);
        rc = EX_CONFIG;
        goto out;
    }
    /* the spool first: spool_open changes the umask process-wide */
    if ((rc = cli_open_spool(&sv->c, sv->cfg, &sv->sp)) != 0)
        goto out;
    bool held = false;
    sv->hold = spool_hold_take(spool_dir(sv->sp), &held, &e);
    if (!sv->hold) {
        log_errs("spool-held", &e);
        rc = held ? EX_UNAVAILABLE : EX_CANTCREAT;
        goto out;
    }
    /* SQLite's WAL checkpointer; a PostgreSQL ledger has its server's */
    sv->ckpt = sv->cfg->spool_pg ? NULL
             : spool_checkpointer_start(sv->sp, 1000, &e);
    if (!sv->ckpt && !sv->cfg->spool_pg) {
        /* not fatal: SQLite checkpoints itself */
        log_errs("checkpointer-not-started", &e);
        errs_clear(&e);
    }

    sv->dcfg = sv->cfg;
    if (pthread_create(&sv->dth, NULL, delivery_main, sv) != 0) {
        log_event(LOG_ERROR, "delivery-not-started", "problem",
                  "cannot start a thread", NULL);
        rc = EX_OSERR;
        goto out;
    }
    sv->dstarted = true;

    sv->sched = sched_new(sv->cfg, sv->sp, &e);
    if (!sv->sched || sched_start(sv->sched, &e) != 0) {
        log_errs("scheduler-not-started", &e);
        rc = EX_SOFTWARE;
        goto out;
    }

    /* the console first: the intake's page at / links its address */
    if (sv->cfg->console.enabled) {
        sv->console = console_new(sv->cfg, sv->sp, sv->console_listen, &e);
        if (!sv->console) {
            log_errs("console-not-started", &e);
            rc = EX_UNAVAILABLE;
            goto out;
        }
    }
    if (sv->listen || (sv->cfg->intake.enabled && sv->cfg->intake.listen)) {
        struct http_hooks hooks = { .metrics = on_metrics,
                                    .accepted = on_accepted, .mi = on_mi,
                                    .ctx = sv };
        snprintf(hooks.console_url, sizeof hooks.console_url, "%s",
                 console_url(sv->console));
        sv->http = http_new(sv->cfg, sv->sp, sv->listen, &hooks, &e);
        if (!sv->http) {
            log_errs("intake-not-started", &e);
            rc = e.n && strstr(errs_first_msg(&e), "listen") ? EX_UNAVAILABLE
                                                             : EX_CONFIG;
            goto out;
        }
    } else {
        log_event(LOG_WARN, "intake-off", "why",
                  "no <intake> listener configured and no --listen", NULL);
    }
    log_event(LOG_INFO, "started", "config", sv->cfg->path, "spool",
              spool_dir(sv->sp), NULL);
    conservation(sv);
    sd_notify(0, "READY=1\nSTATUS=serving");
    uint64_t wd_usec = 0;
    int64_t wd_every = sd_watchdog_enabled(0, &wd_usec) > 0
                     ? (int64_t)(wd_usec / 2000) : 0;     /* ms, half */
    int64_t last_ping = clock_mono_ms();

    int64_t last_check = clock_mono_ms();
    for (;;) {
        struct pollfd pfd = { .fd = sfd, .events = POLLIN };
        int pr = poll(&pfd, 1, wd_every > 0 && wd_every < 1000
                                   ? (int)wd_every : 1000);
        if (wd_every > 0 && clock_mono_ms() - last_ping >= wd_every) {
            sd_notify(0, "WATCHDOG=1");
            last_ping = clock_mono_ms();
        }
        if (pr < 0 && errno != EINTR) {
            log_event(LOG_ERROR, "poll-failed", "error", strerror(errno), NULL);
            break;
        }
        if (clock_mono_ms() - last_check >= CONSERVATION_EVERY_S * 1000) {
            conservation(sv);
            last_check = clock_mono_ms();
        }
        if (pr <= 0)
            continue;
        struct signalfd_siginfo si;
        if (read(sfd, &si, sizeof si) != (ssize_t)sizeof si)
            continue;
        if (si.ssi_signo == SIGHUP) {
            reload(sv);
            continue;
        }
        break;                                 /* TERM or INT */
    }
    char ms[32];
    snprintf(ms, sizeof ms, "%lld", (long long)sv->cfg->shutdown_deadline_ms);
    log_event(LOG_INFO, "stopping", "deadline_ms", ms, NULL);
    sd_notify(0, "STOPPING=1\nSTATUS=stopping");
    int64_t deadline = clock_mono_ms() + sv->cfg->shutdown_deadline_ms;
    if (stop_all(sv, deadline) != 0) {
        log_event(LOG_ERROR, "shutdown-deadline-passed", "deadline_ms", ms,
                  "exit", "75", NULL);
        /* work still running is crash-safe by design (leases, job
         * locks, one transaction per change): leave without waiting */
        _exit(EX_TEMPFAIL);
    }
    log_event(LOG_INFO, "stopped", NULL);
    rc = EX_OK;
out:
    errs_free(&e);
    teardown(sv);
    close(sfd);
    return rc;
}
