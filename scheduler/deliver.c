/* deliver.c - the stream delivery engine.  See deliver.h for the policy.
 *
 * Owns: one adapter instance per (target, service), one breaker and one
 * parsed window per target, and the counters behind `ferry targets` and
 * /metrics.  Never sleeps: the caller (the daemon loop or `ferry deliver`)
 * decides when to run the next pass. */
#include "scheduler/deliver.h"
#include "util/clock.h"
#include "adapters/adapter.h"
#include "config/config.h"
#include "mappings/mapping.h"
#include "mappings/record.h"
#include "scheduler/breaker.h"
#include "util/duration.h"
#include "util/retry.h"
#include "scheduler/window.h"
#include "spool/spool.h"
#include "util/crash.h"
#include "util/errs.h"
#include "util/log.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DELIVER_MAX_CLAIM 1000
#define DELIVER_ROUNDS 16           /* waves of `concurrency` per claim */
#define DELIVER_CALL_MS 30000       /* a call's limit when unknown */

struct instance {
    const char *service;
    const struct adapter *ad;
    void *ctx;
};

struct dtarget {
    const struct target_config *cfg;
    const struct adapter *ad;
    struct instance *inst;
    size_t ninst;
    struct breaker br;
    struct window *win;
    bool resend_in_doubt;
    size_t claim_max;
    bool stopped;                  /* unusable until the engine is remade */
    char stop_reason[512];
    bool indoubt_uncheckable;      /* its in-doubt records cannot be asked
                                      (no probe, or the probe said STOP) */
    struct spool *sp;              /* where the state is shown (ledger) */
    const char *owner;
    bool shared;                   /* other nodes on this ledger: the
                                      breaker and stops are shared */
    int64_t synced_at;             /* last read of the shared row */
    int64_t started_at;            /* stops recorded before: not taken on */
    struct deliver_target_stats st;
};

struct deliver_engine {
    const struct ferry_config *cfg;
    struct spool *sp;
    char *owner;
    struct dtarget *t;
    size_t nt;
    struct deliver_target_stats *snap;
};

static const int64_t latency_bounds[11] = {
    10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000,
};

const int64_t *deliver_latency_bounds(void)
{
    return latency_bounds;
}

static uint64_t rand64(void)
{
    uint64_t v = 0;
    if (RAND_bytes((unsigned char *)&v, sizeof v) != 1)
        v = (uint64_t)clock_wall_ms() * 6364136223846793005ULL;
    return v;
}

/* claim_size - records per claim when the target names no batch-size:
 * DELIVER_ROUNDS waves of `concurrency` calls, because each claim costs a
 * round of ledger work and a tail of stragglers (measured: 128 per claim
 * gave 1,600 SOAP deliveries/s, 512 gave 3,400).  Fewer waves when the
 * lease could run out first: every wave may take the adapter's whole
 * `timeout` (30s unless set), and a claim must end well inside its lease,
 * or a second worker takes the records over while calls are in flight. */
static size_t claim_size(const struct target_config *tc)
{
    int64_t call_ms = DELIVER_CALL_MS;
    const char *to = kv_get(&tc->opts, "timeout");
    int64_t v;
    if (to && duration_parse(to, &v) == 0 && v > 0)
        call_ms = v;
    int64_t waves = DELIVER_ROUNDS;
    if (tc->lease_ms > 0) {
        int64_t fit = tc->lease_ms / call_ms - 1;
        if (fit < waves)
            waves = fit < 1 ? 1 : fit;
    }
    int64_t n = (int64_t)(tc->concurrency > 0 ? tc->concurrency : 8) * waves;
    return (size_t)(n > DELIVER_MAX_CLAIM ? DELIVER_MAX_CLAIM : n);
}

/* state_save - the breaker and stop state into the ledger, where
 * `ferry targets` reads it (also beside a running daemon); a failure is
 * logged, never fatal: delivery does not depend on it */
static void state_save(struct dtarget *t, int64_t since)
{
    struct errs e;
    errs_init(&e);
    if (t->sp && spool_target_state_put(t->sp, t->cfg->name,
                                        breaker_state_name(t->br.state),
                                        since, t->stopped ? t->stop_reason
                                                          : NULL,
                                        t->owner, &e) != 0)
        log_event(LOG_WARN, "target-state-not-saved", "target", t->cfg->name,
                  "error", errs_first_msg(&e), NULL);
    errs_free(&e);
}

#define DELIVER_SHARE_MS 500          /* how often a node reads the shared row */

static void target_stop(struct dtarget *t, const char *why);

/* shared_take - take on what another node recorded for this target (a
 * PostgreSQL spool, docs/cluster.md): its breaker state, and a stop it
 * recorded since this engine started.  Rows this node wrote are its own
 * state already.  A read failure is logged: the local state stands. */
static void shared_take(struct dtarget *t, const struct spool_target_state *r)
{
    if (strcmp(r->owner, t->owner) == 0)
        return;
    if (r->stopped && !t->stopped && r->updated_at >= t->started_at) {
        char why[512];
        snprintf(why, sizeof why, "stopped by %s: %s", r->owner, r->stopped);
        target_stop(t, why);
        return;
    }
    enum breaker_state bs;
    if (breaker_state_parse(r->breaker, &bs) == 0
        && breaker_adopt(&t->br, bs, r->since))
        log_event(LOG_INFO, "breaker-shared", "target", t->cfg->name,
                  "state", r->breaker, "by", r->owner, NULL);
}

/* shared_read - the target's shared row, taken on; every
 * DELIVER_SHARE_MS at most unless forced.  Returns 1 if there is no row. */
static int shared_read(struct dtarget *t, int64_t now, bool force)
{
    if (!t->shared || (!force && now - t->synced_at < DELIVER_SHARE_MS))
        return 0;
    t->synced_at = now;
    struct spool_target_state r;
    struct errs e;
    errs_init(&e);
    int rc = spool_target_state_get(t->sp, t->cfg->name, &r, &e);
    if (rc < 0)
        log_event(LOG_WARN, "target-state-not-read", "target", t->cfg->name,
                  "error", errs_first_msg(&e), NULL);
    errs_free(&e);
    if (rc == 0) {
        shared_take(t, &r);
        spool_target_state_clear(&r);
    }
    return rc;
}

/* probe_claim - may this node send the half-open probe?  On one node,
 * yes; on a shared ledger only the node whose claim moved the row wins
 * (spool_target_probe_claim); a loser takes on the row as it is now. */
static bool probe_claim(struct dtarget *t, int64_t now)
{
    if (!t->shared)
        return true;
    struct errs e;
    errs_init(&e);
    int rc = spool_target_probe_claim(t->sp, t->cfg->name, t->owner, now,
                                      now - t->br.cooldown_ms, &e);
    if (rc < 0)
        log_event(LOG_WARN, "breaker-probe-not-claimed", "target",
                  t->cfg->name, "error", errs_first_msg(&e), NULL);
    errs_free(&e);
    if (rc == 1)
        return true;
    if (rc == 0 && shared_read(t, now, true) == 1)
        return true;                /* no row to share: this node's call */
    if (t->br.state == BREAKER_HALF_OPEN)
        breaker_abandon_probe(&t->br);
    return false;
}

/* target_stop - the target is unusable for every record (adapter STOP, or
 * it could not start): no more claims for it in this engine; said once */
static void target_stop(struct dtarget *t, const char *why)
{
    if (t->stopped)
        return;
    t->stopped = true;
    snprintf(t->stop_reason, sizeof t->stop_reason, "%s",
             why && *why ? why : "target unusable");
    t->st.stopped = true;
    t->st.stop_reason = t->stop_reason;
    log_event(LOG_ERROR, "target-stopped", "target", t->cfg->name,
              "reason", t->stop_reason, "records", "wait (not failed)",
              NULL);
    state_save(t, clock_wall_ms());
}

/* start_shared - on a shared ledger, take on a breaker another node holds
 * open or half-open; true if so (the row is then left as it is) */
static bool start_shared(struct dtarget *t)
{
    if (!t->shared)
        return false;
    struct spool_target_state r;
    struct errs e;
    errs_init(&e);
    bool took = false;
    if (spool_target_state_get(t->sp, t->cfg->name, &r, &e) == 0) {
        if (strcmp(r.owner, t->owner) != 0 && !r.stopped
            && strcmp(r.breaker, "closed") != 0) {
            shared_take(t, &r);
            took = true;
        }
        spool_target_state_clear(&r);
    }
    errs_free(&e);
    t->synced_at = clock_wall_ms();
    return took;
}

/* target_setup - adapter instances for every service of this target */
static int target_setup(struct deliver_engine *d, struct dtarget *t,
                        struct errs *e)
{
    const struct ferry_config *cfg = d->cfg;
    breaker_init(&t->br, t->cfg->breaker_threshold,
                 t->cfg->breaker_cooldown_ms);
    t->st.target = t->cfg->name;
    t->sp = d->sp;
    t->owner = d->owner;
    t->shared = d->sp && spool_shared(d->sp);
    t->started_at = clock_wall_ms();
    if (t->cfg->window) {
        t->win = window_parse(t->cfg->window,
                              (const char *const *)t->cfg->holidays,
                              t->cfg->nholidays, e);
        if (!t->win)
            return -1;
    }
    const char *rid = kv_get(&t->cfg->opts, "resend-in-doubt");
    bool b = false;
    t->resend_in_doubt = rid && config_parse_bool(rid, &b) == 0 && b;
    t->indoubt_uncheckable = !t->resend_in_doubt && !t->ad->probe;
    t->st.indoubt_uncheckable = t->indoubt_uncheckable;
    long batch = 0;
    const char *bs = kv_get(&t->cfg->opts, "batch-size");
    if (bs && config_parse_int(bs, 1, DELIVER_MAX_CLAIM, &batch) == 0)
        t->claim_max = (size_t)batch;
    else
        t->claim_max = claim_size(t->cfg);
    if (t->claim_max > DELIVER_MAX_CLAIM)
        t->claim_max = DELIVER_MAX_CLAIM;

    for (size_t i = 0; i < cfg->nservices; i++) {
        const struct service_config *s = &cfg->services[i];
        if (!config_service_delivers_to(s, t->cfg->name) || !s->mapping)
            continue;
        struct instance *ni = realloc(t->inst, (t->ninst + 1) * sizeof *ni);
        if (!ni) {
            errs_add(e, t->cfg->name, "out of memory");
            return -1;
        }
        t->inst = ni;
        struct instance *in = &t->inst[t->ninst];
        memset(in, 0, sizeof *in);
        in->service = s->name;
        in->ad = t->ad;
        struct adapter_env env = {
            .target = t->cfg, .opts = &t->cfg->opts,
            .map = mapping_target(s->mapping, t->cfg->name),
            .base_dir = cfg->base_dir, .service = s->name,
        };
        if (!env.map) {
            errs_add(e, s->mapping->file, "no <target name=\"%s\"> section",
                     t->cfg->name);
            return -1;
        }
        if (t->ad->init(&in->ctx, &env, e) != 0)
            return -1;
        t->ninst++;
    }
    return 0;
}

/* config_compare - on a shared ledger, record a digest of what every
 * node must agree on (each stream target's window, holidays, breaker and
 * lease) and warn when another node started in the last day with a
 * different one (docs/cluster.md); a failure is logged, never fatal */
static void config_compare(struct deliver_engine *d)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char dg[EVP_MAX_MD_SIZE];
    unsigned dn = 0;
    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(md);
        return;
    }
    for (size_t i = 0; i < d->nt; i++) {
        const struct target_config *tc = d->t[i].cfg;
        char line[256];
        int n = snprintf(line, sizeof line, "%s|%d|%lld|%lld|", tc->name,
                         tc->breaker_threshold,
                         (long long)tc->breaker_cooldown_ms,
                         (long long)tc->lease_ms);
        EVP_DigestUpdate(md, line, (size_t)n < sizeof line ? (size_t)n
                                                            : sizeof line - 1);
        EVP_DigestUpdate(md, tc->window ? tc->window : "", tc->window
                         ? strlen(tc->window) + 1 : 1);
        for (size_t k = 0; k < tc->nholidays; k++)
            EVP_DigestUpdate(md, tc->holidays[k], strlen(tc->holidays[k]) + 1);
    }
    EVP_DigestFinal_ex(md, dg, &dn);
    EVP_MD_CTX_free(md);
    char hex[33];
    for (unsigned i = 0; i < 16 && i < dn; i++)
        snprintf(hex + 2 * i, 3, "%02x", dg[i]);
    /* the node: HOST:PID, the owner less its engine's suffix */
    char node[128];
    snprintf(node, sizeof node, "%s", d->owner);
    char *c = strchr(node, ':');
    if (c && (c = strchr(c + 1, ':')))
        *c = '\0';
    int64_t now = clock_wall_ms(), day = 24LL * 3600 * 1000;
    char differ[512];
    struct errs e;
    errs_init(&e);
    int n = spool_node_config(d->sp, node, hex, now, now - day, now - 7 * day,
                              differ, sizeof differ, &e);
    if (n < 0)
        log_event(LOG_WARN, "node-config-not-recorded", "error",
                  errs_first_msg(&e), NULL);
    else if (n > 0)
        log_event(LOG_WARN, "config-differs", "nodes", differ, "what",
                  "targets' windows, holidays, breaker or lease",
                  "see", "docs/cluster.md", NULL);
    errs_free(&e);
}

struct deliver_engine *deliver_new(const struct ferry_config *cfg,
                                   struct spool *sp, const char *only_target,
                                   const char *owner, struct errs *e)
{
    struct deliver_engine *d = calloc(1, sizeof *d);
    if (!d)
        goto nomem;
    d->cfg = cfg;
    d->sp = sp;
    d->owner = strdup(owner ? owner : "ferry");
    d->t = calloc(cfg->ntargets ? cfg->ntargets : 1, sizeof *d->t);
    d->snap = calloc(cfg->ntargets ? cfg->ntargets : 1, sizeof *d->snap);
    if (!d->owner || !d->t || !d->snap)
        goto nomem;
    bool found = only_target == NULL;
    for (size_t i = 0; i < cfg->ntargets; i++) {
        const struct target_config *tc = &cfg->targets[i];
        if (only_target && strcmp(tc->name, only_target) != 0)
            continue;
        found = true;
        const struct adapter *ad = adapter_find(tc->type);
        if (!ad) {
            errs_add(e, tc->name, "unknown adapter type '%s'", tc->type);
            goto fail;
        }
        if (ad->kind != ADAPTER_STREAM || !ad->deliver)
            continue;
        struct dtarget *t = &d->t[d->nt++];
        t->cfg = tc;
        t->ad = ad;
        t->sp = sp;
        t->owner = d->owner;
        struct errs te;
        errs_init(&te);
        if (target_setup(d, t, &te) != 0) {
            /* a target that cannot start stops only itself */
            char why[512];
            snprintf(why, sizeof why, "cannot start: %s%s%s",
                     te.n ? te.v[0].where : "", te.n && te.v[0].where[0]
                     ? ": " : "", te.n ? te.v[0].msg : "adapter refused");
            target_stop(t, why);
        }
        errs_free(&te);
        /* a new engine starts closed, unless other nodes on the ledger
         * hold the breaker open (a stop they recorded is not taken on:
         * a node starting after a fix runs, and says so in the row) */
        t->shared = t->shared && !t->stopped;
        if (!t->stopped && !start_shared(t))
            state_save(t, clock_wall_ms());
    }
    if (!found) {
        errs_add(e, only_target, "no such target");
        goto fail;
    }
    if (!only_target && d->nt && d->t[0].shared)
        config_compare(d);          /* a whole engine: the node's config */
    return d;
nomem:
    errs_add(e, "deliver", "out of memory");
fail:
    deliver_free(d);
    return NULL;
}

void deliver_free(struct deliver_engine *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->nt; i++) {
        struct dtarget *t = &d->t[i];
        for (size_t k = 0; k < t->ninst; k++)
            if (t->inst[k].ad->close && t->inst[k].ctx)
                t->inst[k].ad->close(t->inst[k].ctx);
        free(t->inst);
        window_free(t->win);
    }
    free(d->t);
    free(d->snap);
    free(d->owner);
    free(d);
}

static struct instance *instance_for(struct dtarget *t, const char *service)
{
    for (size_t i = 0; i < t->ninst; i++)
        if (strcmp(t->inst[i].service, service) == 0)
            return &t->inst[i];
    return NULL;
}

static void count_latency(struct deliver_target_stats *st, int64_t ms)
{
    if (ms < 0)
        ms = 0;
    st->latency_ms_sum += (uint64_t)ms;
    size_t b = 0;
    while (b < 11 && ms > latency_bounds[b])
        b++;
    st->latency_hist[b]++;
}

/* indoubt_wait_ms - how long an in-doubt record rests before the target
 * is asked again: the retry delay for its attempt count, without jitter,
 * so a slow back end has finished what it was doing before we ask */
static int64_t indoubt_wait_ms(const struct dtarget *t, int attempts)
{
    struct retry_policy p = t->cfg->retry;
    p.jitter_pct = 0;
    return retry_delay_ms(&p, attempts, 0);
}

/* breaker_feed - record one outcome and log a change of state */
static void breaker_feed(struct dtarget *t, enum breaker_outcome o,
                         int64_t at, const char *ref)
{
    enum breaker_state before = t->br.state;
    breaker_record(&t->br, o, at);
    if (t->br.state == before)
        return;
    state_save(t, at);
    if (t->br.state == BREAKER_OPEN) {
        char cool[32];
        snprintf(cool, sizeof cool, "%lldms", (long long)t->br.cooldown_ms);
        log_event(LOG_WARN, "breaker-open", "target", t->cfg->name,
                  "after", ref, "cooldown", cool, NULL);
    } else if (t->br.state == BREAKER_CLOSED) {
        log_event(LOG_INFO, "breaker-closed", "target", t->cfg->name,
                  "probe", ref, NULL);
    }
}

/* decide - turn an adapter result into the ledger outcome, applying the
 * retry policy; feeds the breaker, but only with what a real call said
 * (called false: settled without sending, e.g. an in-doubt record the
 * target was asked about, or a record that could not be read) */
static void decide(struct dtarget *t, const struct spool_record *r,
                   struct adapter_result *res, int64_t started,
                   int64_t ended, bool called, struct spool_outcome *o)
{
    memset(o, 0, sizeof *o);
    o->ref = r->ref;
    o->target = r->target;
    o->message = res->msg[0] ? res->msg : NULL;
    o->started_at = started;
    o->ended_at = ended;
    count_latency(&t->st, ended - started);
    switch (res->outcome) {
    case ADAPTER_OK:
        o->kind = SPOOL_OUT_OK;
        o->receipt = res->receipt[0] ? res->receipt : NULL;
        o->receipt_data = res->receipt_data[0] ? res->receipt_data : NULL;
        t->st.ok++;
        if (called)
            breaker_feed(t, BREAKER_OK, ended, r->ref);
        break;
    case ADAPTER_FAIL:
        o->kind = SPOOL_OUT_FAIL;
        t->st.fail++;
        if (called)
            breaker_feed(t, BREAKER_FAIL, ended, r->ref);
        break;
    case ADAPTER_STOP:
        /* nothing was sent and no record is to blame: it waits, its
         * attempt uncounted; not a breaker matter either */
        o->kind = SPOOL_OUT_STOPPED;
        t->st.stopped_records++;
        target_stop(t, res->msg);
        break;
    case ADAPTER_INDOUBT:
        /* never exhausted: its fate is unknown, so it cannot be failed;
         * when to ask again is next_attempt_at (and indoubt_wait_ms) */
        o->kind = SPOOL_OUT_INDOUBT;
        o->next_attempt_at = ended + indoubt_wait_ms(t, r->attempts);
        t->st.indoubt++;
        if (called)
            breaker_feed(t, BREAKER_RETRY, ended, r->ref);
        break;
    case ADAPTER_RETRY:
    default:
        o->kind = SPOOL_OUT_RETRY;
        o->exhausted = retry_exhausted(&t->cfg->retry, r->attempts,
                                       ended - r->received_at);
        o->next_attempt_at = ended + retry_delay_ms(&t->cfg->retry,
                                                    r->attempts, rand64());
        t->st.retry++;
        if (o->exhausted) {
            /* say why it is a dead letter beside the back end's words */
            char last[900];           /* room for the words before it */
            snprintf(last, sizeof last, "%.*s", (int)sizeof last - 1,
                     res->msg);
            if (t->cfg->retry.max_attempts > 0 &&
                r->attempts >= t->cfg->retry.max_attempts)
                snprintf(res->msg, sizeof res->msg, "retries spent (%d of "
                         "%d): %s", r->attempts, t->cfg->retry.max_attempts,
                         last);
            else
                snprintf(res->msg, sizeof res->msg, "retries spent (older "
                         "than max-age, after %d attempts): %s", r->attempts,
                         last);
            o->message = res->msg;
            t->st.exhausted++;
        }
        if (called)
            breaker_feed(t, BREAKER_RETRY, ended, r->ref);
        break;
    }
}

/* settle_in_doubt - ask the target about in-doubt item i before anything
 * is sent again.  Arrived: delivered, no resend.  Not there: send it (or,
 * with retries spent, fail it: it is known not to have arrived).  Cannot
 * tell: resend only when the target says repeats are harmless, else it
 * stays in doubt.  Returns true when the item is settled (no call). */
static bool settle_in_doubt(struct dtarget *t, struct instance *in,
                            const struct spool_record *r,
                            struct delivery_item *it)
{
    if (!t->ad->probe) {                  /* resend-in-doubt without probe */
        return false;
    }
    t->ad->probe(in->ctx, it);
    switch (it->res.outcome) {
    case ADAPTER_OK:
        if (!it->res.msg[0])
            adapter_result_set(&it->res, ADAPTER_OK, "in doubt, and the "
                               "target has it: not sent again");
        return true;
    case ADAPTER_FAIL:
        if (retry_exhausted(&t->cfg->retry, r->attempts - 1,
                            clock_wall_ms() - r->received_at)) {
            char why[sizeof it->res.msg];
            snprintf(why, sizeof why, "%s", it->res.msg);
            adapter_result_set(&it->res, ADAPTER_FAIL, "retries spent; "
                               "never arrived (%s)", why);
            return true;
        }
        memset(&it->res, 0, sizeof it->res);      /* safe to send */
        return false;
    case ADAPTER_STOP:
        /* the target cannot be asked about any record (no status
         * operation, no reconcile query...): a fact of its configuration.
         * Leave in-doubt records alone from now on; support settles
         * them (ferry settle) */
        if (!t->indoubt_uncheckable)
            log_event(LOG_WARN, "indoubt-uncheckable", "target",
                      t->cfg->name, "reason", it->res.msg, NULL);
        t->indoubt_uncheckable = t->st.indoubt_uncheckable = true;
        if (t->resend_in_doubt) {
            memset(&it->res, 0, sizeof it->res);
            return false;
        }
        {
            char why[sizeof it->res.msg];
            snprintf(why, sizeof why, "%s", it->res.msg);
            adapter_result_set(&it->res, ADAPTER_INDOUBT, "still in doubt, "
                               "not sent again: %s; settle it with ferry "
                               "settle", why);
        }
        return true;
    default:
        if (t->resend_in_doubt) {
            memset(&it->res, 0, sizeof it->res);  /* repeats are harmless */
            return false;
        }
        {
            char why[sizeof it->res.msg];
            snprintf(why, sizeof why, "%s", it->res.msg);
            adapter_result_set(&it->res, ADAPTER_INDOUBT, "still in doubt, "
                               "not sent again: %s", why);
        }
        return true;
    }
}

/* deliver_target - one claim's worth for one target.  In-doubt records
 * come back only once their rest is over: the in-doubt outcome stores
 * when (indoubt_wait_ms) and the claim honours it. */
static int deliver_target(struct deliver_engine *d, struct dtarget *t,
                          int64_t now, size_t *handled, struct errs *e)
{
    t->st.window_open = !t->win || window_open(t->win, now / 1000);
    shared_read(t, now, false);
    t->st.breaker = breaker_state_name(t->br.state);
    if (t->stopped)
        return 0;
    if (!t->st.window_open) {
        t->st.outside_window++;
        return 0;
    }
    enum breaker_state was = t->br.state;
    if (!breaker_allow(&t->br, now)) {
        t->st.breaker_skips++;
        t->st.breaker = breaker_state_name(t->br.state);
        return 0;
    }
    bool probing = t->br.state == BREAKER_HALF_OPEN;
    if (probing && was == BREAKER_OPEN) {       /* each change once */
        if (!probe_claim(t, now)) {             /* another node probes */
            t->st.breaker_skips++;
            t->st.breaker = breaker_state_name(t->br.state);
            return 0;
        }
        log_event(LOG_INFO, "breaker-half-open", "target", t->cfg->name,
                  "probe", "one queued record", NULL);
        if (!t->shared)                 /* the claim wrote the row */
            state_save(t, now);
    }
    /* Only a real call is a probe: while half-open the one record is a
     * queued or deferred one, never an in-doubt record that may be
     * settled (or left in doubt) without a call. */
    bool allow_indoubt = !probing && (t->resend_in_doubt ||
                                      (t->ad->probe && !t->indoubt_uncheckable));
    size_t max = probing ? 1 : t->claim_max;
    struct spool_list l = { 0 };
    struct errs ce;
    errs_init(&ce);
    if (spool_claim(d->sp, t->cfg->name, d->owner, t->cfg->lease_ms, max,
                    allow_indoubt, now, &l, &ce) != 0) {
        errs_move(e, &ce);
        errs_free(&ce);
        if (probing)
            breaker_abandon_probe(&t->br);
        return -1;
    }
    for (size_t i = 0; i < ce.n; i++)   /* undecryptable: named, left alone */
        log_event(LOG_ERROR, "claim-skipped", "target", t->cfg->name,
                  "where", ce.v[i].where, "error", ce.v[i].msg, NULL);
    errs_free(&ce);
    if (l.n == 0) {
        if (probing)
            breaker_abandon_probe(&t->br);
        spool_list_free(&l);
        return 0;
    }

    struct delivery_item *items = calloc(l.n, sizeof *items);
    struct record **recs = calloc(l.n, sizeof *recs);
    struct spool_outcome *outs = calloc(l.n, sizeof *outs);
    int64_t *started = calloc(l.n, sizeof *started);
    bool *done = calloc(l.n, sizeof *done);
    bool *nocall = calloc(l.n, sizeof *nocall);
    struct delivery_item *run = calloc(l.n, sizeof *run);
    size_t *idx = calloc(l.n, sizeof *idx);
    int rc = 0;
    if (!items || !recs || !outs || !started || !done || !nocall || !run ||
        !idx) {
        errs_add(e, t->cfg->name, "out of memory");
        rc = -1;
        goto out;
    }
    for (size_t i = 0; i < l.n; i++) {
        const struct spool_record *r = l.v[i];
        items[i].ref = r->ref;
        items[i].delivery_id = r->delivery_id;
        items[i].marker_gen = r->marker_gen;
        items[i].service = r->service;
        items[i].attempt = r->attempts;
        items[i].was_in_doubt = r->in_doubt;
        struct errs re;
        errs_init(&re);
        recs[i] = r->record_json ? record_from_json(r->record_json, &re) : NULL;
        if (!recs[i]) {
            adapter_result_set(&items[i].res, ADAPTER_FAIL,
                               "stored record unreadable: %s",
                               re.n ? errs_first_msg(&re) : "no record");
            done[i] = nocall[i] = true;
        }
        errs_free(&re);
        items[i].rec = recs[i];
    }
    t->st.claimed += l.n;
    /* in doubt: ask first when the target can tell */
    for (size_t i = 0; i < l.n; i++) {
        if (done[i] || !items[i].was_in_doubt)
            continue;
        struct instance *in = instance_for(t, items[i].service);
        if (!in)
            continue;
        started[i] = clock_wall_ms();
        if (settle_in_doubt(t, in, l.v[i], &items[i]))
            done[i] = nocall[i] = true;
    }
    /* deliver per service, each through its own instance */
    for (size_t i = 0; i < l.n; i++) {
        if (done[i])
            continue;
        struct instance *in = instance_for(t, items[i].service);
        if (!in) {
            adapter_result_set(&items[i].res, ADAPTER_FAIL,
                               "service %s has no mapping for target %s",
                               items[i].service, t->cfg->name);
            done[i] = nocall[i] = true;
            continue;
        }
        /* gather this service's pending items into a contiguous run */
        size_t nrun = 0;
        for (size_t k = i; k < l.n; k++)
            if (!done[k] && strcmp(items[k].service, items[i].service) == 0) {
                idx[nrun] = k;
                run[nrun++] = items[k];
            }
        int64_t t0 = clock_wall_ms();
        t->ad->deliver(in->ctx, run, nrun);
        for (size_t k = 0; k < nrun; k++) {
            items[idx[k]].res = run[k].res;
            started[idx[k]] = t0;
            done[idx[k]] = true;
        }
    }
    int64_t end = clock_wall_ms();
    size_t nout = 0;
    for (size_t i = 0; i < l.n; i++) {
        log_event(items[i].res.outcome == ADAPTER_OK ? LOG_INFO : LOG_WARN,
                  "delivery", "ref", l.v[i]->ref, "service", l.v[i]->service,
                  "target", t->cfg->name,
                  "outcome", adapter_outcome_name(items[i].res.outcome),
                  "message", items[i].res.msg, NULL);
        decide(t, l.v[i], &items[i].res, started[i] ? started[i] : end, end,
               !nocall[i], &outs[nout++]);         /* after the log: breaker events follow */
    }
    crash_point("deliver-before-outcomes");
    struct errs oe;
    errs_init(&oe);
    if (nout && spool_outcomes(d->sp, d->owner, outs, nout, &oe) != 0) {
        errs_move(e, &oe);
        rc = -1;
    } else {
        for (size_t i = 0; i < oe.n; i++)
            log_event(LOG_WARN, "outcome-refused", "where", oe.v[i].where,
                      "error", oe.v[i].msg, NULL);
        *handled += nout;
    }
    errs_free(&oe);
    if (probing && t->br.state == BREAKER_HALF_OPEN)
        breaker_abandon_probe(&t->br);     /* no real call answered */
    t->st.breaker = breaker_state_name(t->br.state);
out:
    if (recs)
        for (size_t i = 0; i < l.n; i++)
            record_free(recs[i]);
    free(recs);
    free(items);
    free(outs);
    free(started);
    free(done);
    free(nocall);
    free(run);
    free(idx);
    spool_list_free(&l);
    return rc;
}

int deliver_pass(struct deliver_engine *d, int64_t now, size_t *handled,
                 struct errs *e)
{
    size_t h = 0;
    int rc = 0;
    if (!now)
        now = clock_wall_ms();
    for (size_t i = 0; i < d->nt; i++)
        if (deliver_target(d, &d->t[i], now, &h, e) != 0)
            rc = -1;
    if (handled)
        *handled = h;
    return rc;
}

int deliver_release(struct deliver_engine *d, struct errs *e)
{
    return spool_claims_release(d->sp, d->owner, NULL, e);
}

const struct deliver_target_stats *deliver_stats(struct deliver_engine *d,
                                                 size_t *n)
{
    for (size_t i = 0; i < d->nt; i++) {
        d->snap[i] = d->t[i].st;
        d->snap[i].breaker = breaker_state_name(d->t[i].br.state);
        d->snap[i].window_open = !d->t[i].win ||
                                 window_open(d->t[i].win, clock_wall_ms() / 1000);
    }
    *n = d->nt;
    return d->snap;
}
