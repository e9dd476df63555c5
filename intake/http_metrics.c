/* http_metrics.c - GET /metrics for the HTTP intake, and the
 * conservation check.
 *
 * The page is built per scrape from the ledger (records by state, spool
 * size, oldest queued age, the intake counters kept in the ledger) and
 * from the server's own counters (kept under h->mu); the daemon adds the
 * delivery and job sections through hooks.metrics.  Conservation:
 * received (the ledger's daily "accepted" counters, written in the same
 * transaction as the rows) must equal the records present summed over
 * every state; any difference is a metric and a loud log line. */
#include "intake/http_int.h"
#include "util/clock.h"
#include "util/errs.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* prom_label - v escaped for a Prometheus label value */
static void prom_label(struct buf *b, const char *v)
{
    for (const char *p = v ? v : ""; *p; p++) {
        if (*p == '\\' || *p == '"')
            buf_putc(b, '\\');
        if (*p == '\n') {
            buf_puts(b, "\\n");
            continue;
        }
        buf_putc(b, *p);
    }
}

/* metrics_mi_outcomes - records by service and outcome, bucketed as the
 * report buckets them (spool_mi_outcome_of), from the counts by state
 * already read for ferry_records (sc is sorted by service) */
static void metrics_mi_outcomes(struct buf *b, const struct spool_counts *sc)
{
    buf_puts(b, "# HELP ferry_mi_records Records by service and outcome, as "
                "ferry report and GET /v1/mi count them (all days).\n"
                "# TYPE ferry_mi_records gauge\n");
    for (size_t i = 0; i < sc->n;) {
        int64_t o[SPOOL_MI_NOUTCOMES] = { 0 };
        size_t j = i;
        for (; j < sc->n && strcmp(sc->v[j].service, sc->v[i].service) == 0;
             j++)
            o[spool_mi_outcome_of(sc->v[j].state)] += sc->v[j].n;
        for (int k = 0; k < SPOOL_MI_NOUTCOMES; k++) {
            buf_puts(b, "ferry_mi_records{service=\"");
            prom_label(b, sc->v[i].service);
            buf_printf(b, "\",outcome=\"%s\"} %lld\n",
                       spool_mi_outcome_name((enum spool_mi_outcome)k),
                       (long long)o[k]);
        }
        i = j;
    }
}

/* metrics_mi_channels - records received by service and channel (the
 * intake counters in the ledger, so every process's intake counts: HTTP,
 * ferry submit, ferry import, the console) */
static void metrics_mi_channels(struct buf *b, struct spool *sp,
                                struct errs *e)
{
    struct spool_channel_counts cc = { 0 };
    if (spool_channel_counts(sp, &cc, e) != 0)
        return;
    buf_puts(b, "# HELP ferry_mi_received_total Records received by service "
                "and channel (http, cli, csv, assisted), as ferry report "
                "counts them.\n# TYPE ferry_mi_received_total counter\n");
    for (size_t i = 0; i < cc.n; i++) {
        buf_puts(b, "ferry_mi_received_total{service=\"");
        prom_label(b, cc.v[i].service);
        buf_printf(b, "\",channel=\"%s\"} %lld\n",
                   spool_channel_name(cc.v[i].channel), (long long)cc.v[i].n);
    }
    spool_channel_counts_free(&cc);
}

/* http_conservation - see http_intake.h */
int http_conservation(struct spool *sp, int64_t *received, int64_t *in_states,
                      int64_t *diff, struct errs *e)
{
    *received = *in_states = *diff = 0;
    /* both counts from one snapshot: read apart, a commit in between
     * showed a false difference under load (issue 11 §6) */
    if (spool_conservation(sp, received, in_states, e) != 0)
        return -1;
    *diff = *received - *in_states;
    if (*diff != 0) {
        char a[32], b[32], d[32];
        snprintf(a, sizeof a, "%lld", (long long)*received);
        snprintf(b, sizeof b, "%lld", (long long)*in_states);
        snprintf(d, sizeof d, "%lld", (long long)*diff);
        log_event(LOG_ERROR, "conservation-mismatch", "received", a,
                  "in_states", b, "difference", d, NULL);
    }
    return 0;
}

/* http_metrics_reply - the whole Prometheus page, built per scrape */
enum MHD_Result http_metrics_reply(struct MHD_Connection *c, struct req *r)
{
    struct http_server *h = r->h;
    struct buf b;
    struct errs e;
    buf_init(&b, 16u << 20);
    errs_init(&e);
    struct spool_counts sc = { 0 };
    if (spool_counts(h->sp, &sc, &e) == 0) {
        buf_puts(&b, "# HELP ferry_records Records in the ledger by service,"
                     " target and state.\n# TYPE ferry_records gauge\n");
        for (size_t i = 0; i < sc.n; i++) {
            buf_puts(&b, "ferry_records{service=\"");
            prom_label(&b, sc.v[i].service);
            buf_puts(&b, "\",target=\"");
            prom_label(&b, sc.v[i].target);
            buf_printf(&b, "\",state=\"%s\"} %lld\n",
                       spool_state_name(sc.v[i].state), (long long)sc.v[i].n);
        }
        metrics_mi_outcomes(&b, &sc);
        spool_counts_free(&sc);
    }
    errs_clear(&e);
    metrics_mi_channels(&b, h->sp, &e);
    pthread_mutex_lock(&h->mu);
    static const char *const names[3] = { "accepted", "duplicates",
                                          "rejected" };
    for (int k = 0; k < 3; k++) {
        buf_printf(&b, "# HELP ferry_intake_%s_total Submissions %s by this "
                       "process, by service.\n# TYPE ferry_intake_%s_total "
                       "counter\n", names[k], names[k], names[k]);
        for (size_t i = 0; i < h->nsvc; i++) {
            uint64_t v = k == 0 ? h->svc[i].accepted
                       : k == 1 ? h->svc[i].duplicates : h->svc[i].rejected;
            buf_printf(&b, "ferry_intake_%s_total{service=\"", names[k]);
            prom_label(&b, h->svc[i].name);
            buf_printf(&b, "\"} %llu\n", (unsigned long long)v);
        }
    }
    buf_printf(&b,
        "# HELP ferry_auth_failures_total Failed authentications.\n"
        "# TYPE ferry_auth_failures_total counter\n"
        "ferry_auth_failures_total %llu\n"
        "# HELP ferry_auth_rate_limited_total Requests refused 429 after too"
        " many failed authentications.\n"
        "# TYPE ferry_auth_rate_limited_total counter\n"
        "ferry_auth_rate_limited_total %llu\n"
        "# HELP ferry_intake_busy_total Requests refused 429 over a client's"
        " connection limit.\n# TYPE ferry_intake_busy_total counter\n"
        "ferry_intake_busy_total %llu\n"
        "# HELP ferry_intake_unavailable_total Submissions refused 503 (disk"
        " or ledger).\n# TYPE ferry_intake_unavailable_total counter\n"
        "ferry_intake_unavailable_total %llu\n"
        "# HELP ferry_http_requests_in_flight Requests being handled.\n"
        "# TYPE ferry_http_requests_in_flight gauge\n"
        "ferry_http_requests_in_flight %d\n",
        (unsigned long long)h->auth_failures,
        (unsigned long long)h->rate_limited, (unsigned long long)h->too_busy,
        (unsigned long long)h->unavailable, h->active);
    pthread_mutex_unlock(&h->mu);

    uint64_t lb = 0, fb = 0;
    errs_clear(&e);
    if (spool_size(h->sp, &lb, &fb, &e) == 0)
        buf_printf(&b,
            "# HELP ferry_spool_size_bytes Spool size: ledger files and "
            "staging folders.\n# TYPE ferry_spool_size_bytes gauge\n"
            "ferry_spool_size_bytes{part=\"ledger\"} %llu\n"
            "ferry_spool_size_bytes{part=\"files\"} %llu\n",
            (unsigned long long)lb, (unsigned long long)fb);
    int64_t oldest = 0;
    errs_clear(&e);
    if (spool_oldest(h->sp, SPOOL_QUEUED, NULL, &oldest, &e) == 0) {
        int64_t age = oldest ? (clock_wall_ms() - oldest) / 1000 : 0;
        buf_printf(&b,
            "# HELP ferry_oldest_queued_age_seconds Age of the oldest queued "
            "record (0 when none).\n# TYPE ferry_oldest_queued_age_seconds "
            "gauge\nferry_oldest_queued_age_seconds %lld\n",
            (long long)(age > 0 ? age : 0));
    }
    struct spool_stats ss;
    spool_stats_get(h->sp, &ss);
    buf_printf(&b,
        "# HELP ferry_spool_commits_total Write transactions since start.\n"
        "# TYPE ferry_spool_commits_total counter\n"
        "ferry_spool_commits_total %llu\n"
        "# HELP ferry_spool_enqueue_commits_total Group commits spent on "
        "intake since start.\n# TYPE ferry_spool_enqueue_commits_total "
        "counter\nferry_spool_enqueue_commits_total %llu\n"
        "# HELP ferry_spool_enqueue_calls_total Intake calls since start.\n"
        "# TYPE ferry_spool_enqueue_calls_total counter\n"
        "ferry_spool_enqueue_calls_total %llu\n",
        (unsigned long long)ss.commits,
        (unsigned long long)ss.enqueue_commits,
        (unsigned long long)ss.enqueue_calls);
    int64_t rcv = 0, ins = 0, diff = 0;
    errs_clear(&e);
    if (http_conservation(h->sp, &rcv, &ins, &diff, &e) == 0)
        buf_printf(&b,
            "# HELP ferry_received_total Records ever accepted (ledger intake"
            " counters).\n# TYPE ferry_received_total counter\n"
            "ferry_received_total %lld\n"
            "# HELP ferry_records_in_states Records present, summed over "
            "every state.\n# TYPE ferry_records_in_states gauge\n"
            "ferry_records_in_states %lld\n"
            "# HELP ferry_conservation_difference received minus the sum "
            "over states; anything but 0 means a record is lost or "
            "doubled.\n# TYPE ferry_conservation_difference gauge\n"
            "ferry_conservation_difference %lld\n",
            (long long)rcv, (long long)ins, (long long)diff);
    if (h->hooks.metrics)
        h->hooks.metrics(h->hooks.ctx, &b);
    errs_free(&e);
    char *text = buf_take(&b);
    return http_reply(c, r, 200, "text/plain; version=0.0.4; charset=utf-8",
                 text ? text : strdup(""), NULL);
}
