/* deliver.h - the stream delivery engine: hands due records to their
 * stream targets (SOAP, ODBC) and records what happened.
 *
 * Policy lives here, not in the adapters: delivery windows, the circuit
 * breaker, retry delays and limits, the in-doubt rule.  One pass, per
 * stream target: skip it when its window is shut or its breaker open;
 * claim due records with a lease (a crashed worker's claims come back
 * when the lease ends); group them by service (each service has its own
 * mapping, so its own adapter instance); let the adapter deliver them
 * concurrently; record every outcome in one transaction.
 *
 * In doubt: a record whose last call may or may not have arrived is sent
 * again only when the target can tell (the adapter has a probe: asked
 * first) or says duplicates are harmless (target option
 * resend-in-doubt="true", e.g. a service that drops repeats of the same
 * idempotency key).  Otherwise it waits for `ferry reconcile` or support.
 *
 * A target that cannot start, or whose adapter says STOP (the target is
 * unusable for every record: login refused, certificate, marker table
 * missing), is stopped for the life of the engine: its records wait,
 * uncounted, none fails; the others go on.  A new engine (reload, next
 * run) tries it again.
 *
 * Threads: a deliver_engine is used by one thread at a time; the daemon
 * runs one engine per delivery thread. */
#ifndef FERRY_SCHEDULER_DELIVER_H
#define FERRY_SCHEDULER_DELIVER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct errs;
struct ferry_config;
struct spool;
struct deliver_engine;

struct deliver_target_stats {
    const char *target;          /* borrowed from the config */
    uint64_t claimed, ok, retry, fail, indoubt, exhausted;
    uint64_t outside_window;     /* passes skipped: window shut */
    uint64_t breaker_skips;      /* passes skipped: breaker open */
    uint64_t latency_ms_sum;     /* of attempts with an outcome */
    uint64_t latency_hist[12];   /* le 10,25,50,100,250,500,1000,2500,
                                    5000,10000,30000,+Inf ms */
    const char *breaker;         /* closed / open / half-open */
    bool window_open;
    bool stopped;                /* unusable: adapter STOP or cannot start */
    bool indoubt_uncheckable;    /* its in-doubt records cannot be asked:
                                    they wait for support (ferry settle) */
    const char *stop_reason;     /* why (owned by the engine), or NULL */
    uint64_t stopped_records;    /* claims given back because of it */
};

/* deliver_new - an engine over every stream target of cfg (or only
 * `only_target`), owning its adapter instances.  owner names the lease
 * holder ("host:pid:n").  NULL with e filled on a config problem. */
struct deliver_engine *deliver_new(const struct ferry_config *cfg,
                                   struct spool *sp, const char *only_target,
                                   const char *owner, struct errs *e);
void deliver_free(struct deliver_engine *d);

/* deliver_pass - one round over the targets at now_ms (0 = now): each
 * ready target gets up to one claim of records.  *handled = records that
 * got an outcome this round (0 means nothing was due).  Returns 0, or -1
 * when the ledger failed (e says why). */
int deliver_pass(struct deliver_engine *d, int64_t now_ms, size_t *handled,
                 struct errs *e);

/* deliver_release - give back this engine's unfinished claims (SIGTERM) */
int deliver_release(struct deliver_engine *d, struct errs *e);

/* deliver_stats - per-target counters since deliver_new; *n targets.
 * The array is owned by the engine and valid until the next call. */
const struct deliver_target_stats *deliver_stats(struct deliver_engine *d,
                                                 size_t *n);

/* deliver_latency_bounds - the histogram's upper bounds (ms), 11 values
 * (the 12th bucket is +Inf) */
const int64_t *deliver_latency_bounds(void);

#endif
