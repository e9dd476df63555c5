/* deliver.c - the stream delivery engine.  See deliver.h for the policy.
 *
 * Owns: one adapter instance per (target, service), one breaker and one
 * parsed window per target, and the counters behind `ferry targets` and
 * /metrics.  Never sleeps: the caller (the daemon loop or `ferry deliver`)
 * decides when to run the next pass. */
#include "scheduler/deliver.h"
#include "adapters/adapter.h"
#include "config/config.h"
#include "mappings/mapping.h"
#include "mappings/record.h"
#include "scheduler/breaker.h"
#include "scheduler/retry.h"
#include "scheduler/window.h"
#include "spool/spool.h"
#include "util/errs.h"
#include "util/log.h"

#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DELIVER_MAX_CLAIM 1000

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

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t rand64(void)
{
    uint64_t v = 0;
    if (RAND_bytes((unsigned char *)&v, sizeof v) != 1)
        v = (uint64_t)now_ms() * 6364136223846793005ULL;
    return v;
}

/* target_setup - adapter instances for every service of this target */
static int target_setup(struct deliver_engine *d, struct dtarget *t,
                        struct errs *e)
{
    const struct ferry_config *cfg = d->cfg;
    breaker_init(&t->br, t->cfg->breaker_threshold,
                 t->cfg->breaker_cooldown_ms);
    t->st.target = t->cfg->name;
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
    long batch = 0;
    const char *bs = kv_get(&t->cfg->opts, "batch-size");
    if (bs && config_parse_int(bs, 1, DELIVER_MAX_CLAIM, &batch) == 0)
        t->claim_max = (size_t)batch;
    else
        t->claim_max = (size_t)(t->cfg->concurrency > 0 ? t->cfg->concurrency : 8) * 4;
    if (t->claim_max > DELIVER_MAX_CLAIM)
        t->claim_max = DELIVER_MAX_CLAIM;

    for (size_t i = 0; i < cfg->nservices; i++) {
        const struct service_config *s = &cfg->services[i];
        if (!s->ntargets || strcmp(s->targets[0], t->cfg->name) != 0 ||
            !s->mapping)
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
        if (target_setup(d, t, e) != 0)
            goto fail;
    }
    if (!found) {
        errs_add(e, only_target, "no such target");
        goto fail;
    }
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

/* decide - turn an adapter result into the ledger outcome, applying the
 * retry policy; feeds the breaker */
static void decide(struct dtarget *t, const struct spool_record *r,
                   const struct adapter_result *res, int64_t started,
                   int64_t ended, struct spool_outcome *o)
{
    memset(o, 0, sizeof *o);
    o->ref = r->ref;
    o->message = res->msg[0] ? res->msg : NULL;
    o->started_at = started;
    o->ended_at = ended;
    count_latency(&t->st, ended - started);
    switch (res->outcome) {
    case ADAPTER_OK:
        o->kind = SPOOL_OUT_OK;
        o->receipt = res->receipt[0] ? res->receipt : NULL;
        t->st.ok++;
        breaker_record(&t->br, BREAKER_OK, ended);
        break;
    case ADAPTER_FAIL:
        o->kind = SPOOL_OUT_FAIL;
        t->st.fail++;
        breaker_record(&t->br, BREAKER_FAIL, ended);
        break;
    case ADAPTER_INDOUBT:
        o->kind = SPOOL_OUT_INDOUBT;
        t->st.indoubt++;
        breaker_record(&t->br, BREAKER_RETRY, ended);
        break;
    case ADAPTER_RETRY:
    default:
        o->kind = SPOOL_OUT_RETRY;
        o->exhausted = retry_exhausted(&t->cfg->retry, r->attempts,
                                       ended - r->received_at);
        o->next_attempt_at = ended + retry_delay_ms(&t->cfg->retry,
                                                    r->attempts, rand64());
        t->st.retry++;
        if (o->exhausted)
            t->st.exhausted++;
        breaker_record(&t->br, BREAKER_RETRY, ended);
        break;
    }
}

/* deliver_target - one claim's worth for one target */
static int deliver_target(struct deliver_engine *d, struct dtarget *t,
                          int64_t now, size_t *handled, struct errs *e)
{
    t->st.window_open = !t->win || window_open(t->win, now / 1000);
    t->st.breaker = breaker_state_name(t->br.state);
    if (!t->st.window_open) {
        t->st.outside_window++;
        return 0;
    }
    if (!breaker_allow(&t->br, now)) {
        t->st.breaker_skips++;
        t->st.breaker = breaker_state_name(t->br.state);
        return 0;
    }
    bool probing = t->br.state == BREAKER_HALF_OPEN;
    bool allow_indoubt = t->resend_in_doubt || t->ad->probe != NULL;
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
    t->st.claimed += l.n;

    struct delivery_item *items = calloc(l.n, sizeof *items);
    struct record **recs = calloc(l.n, sizeof *recs);
    struct spool_outcome *outs = calloc(l.n, sizeof *outs);
    int64_t *started = calloc(l.n, sizeof *started);
    bool *done = calloc(l.n, sizeof *done);
    int rc = 0;
    if (!items || !recs || !outs || !started || !done) {
        errs_add(e, t->cfg->name, "out of memory");
        rc = -1;
        goto out;
    }
    for (size_t i = 0; i < l.n; i++) {
        const struct spool_record *r = l.v[i];
        items[i].ref = r->ref;
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
            done[i] = true;
        }
        errs_free(&re);
        items[i].rec = recs[i];
    }
    /* in doubt: ask first when the target can tell */
    for (size_t i = 0; i < l.n; i++) {
        if (done[i] || !items[i].was_in_doubt || !t->ad->probe)
            continue;
        struct instance *in = instance_for(t, items[i].service);
        if (!in)
            continue;
        started[i] = now_ms();
        t->ad->probe(in->ctx, &items[i]);
        if (items[i].res.outcome == ADAPTER_OK) {
            done[i] = true;          /* it did arrive: delivered */
        } else if (items[i].res.outcome == ADAPTER_FAIL) {
            memset(&items[i].res, 0, sizeof items[i].res);  /* safe to send */
        } else {
            items[i].res.outcome = ADAPTER_RETRY;
            done[i] = true;
        }
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
            done[i] = true;
            continue;
        }
        /* gather this service's pending items into a contiguous run */
        struct delivery_item *run = calloc(l.n, sizeof *run);
        size_t *idx = calloc(l.n, sizeof *idx);
        size_t nrun = 0;
        if (!run || !idx) {
            free(run);
            free(idx);
            errs_add(e, t->cfg->name, "out of memory");
            rc = -1;
            goto out;
        }
        for (size_t k = i; k < l.n; k++)
            if (!done[k] && strcmp(items[k].service, items[i].service) == 0) {
                idx[nrun] = k;
                run[nrun++] = items[k];
            }
        int64_t t0 = now_ms();
        t->ad->deliver(in->ctx, run, nrun);
        for (size_t k = 0; k < nrun; k++) {
            items[idx[k]].res = run[k].res;
            started[idx[k]] = t0;
            done[idx[k]] = true;
        }
        free(run);
        free(idx);
    }
    int64_t end = now_ms();
    for (size_t i = 0; i < l.n; i++) {
        decide(t, l.v[i], &items[i].res, started[i] ? started[i] : end, end,
               &outs[i]);
        log_event(items[i].res.outcome == ADAPTER_OK ? LOG_INFO : LOG_WARN,
                  "delivery", "ref", l.v[i]->ref, "service", l.v[i]->service,
                  "target", t->cfg->name,
                  "outcome", adapter_outcome_name(items[i].res.outcome),
                  "message", items[i].res.msg, NULL);
    }
    spool_crashpoint("deliver-before-outcomes");
    struct errs oe;
    errs_init(&oe);
    if (spool_outcomes(d->sp, d->owner, outs, l.n, &oe) != 0) {
        errs_move(e, &oe);
        rc = -1;
    } else {
        for (size_t i = 0; i < oe.n; i++)
            log_event(LOG_WARN, "outcome-refused", "where", oe.v[i].where,
                      "error", oe.v[i].msg, NULL);
        *handled += l.n;
    }
    errs_free(&oe);
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
    spool_list_free(&l);
    return rc;
}

int deliver_pass(struct deliver_engine *d, int64_t now, size_t *handled,
                 struct errs *e)
{
    size_t h = 0;
    int rc = 0;
    if (!now)
        now = now_ms();
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
                                 window_open(d->t[i].win, now_ms() / 1000);
    }
    *n = d->nt;
    return d->snap;
}
