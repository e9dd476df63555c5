/* jobs.c - run one configured job, whoever starts it (the daemon's
 * scheduler or an operator).  See jobs.h.
 *
 * Each action has one runner.  deliver and purge take the job's lock here;
 * the night batch and reconcile take their own (per target, so two jobs
 * can never batch or reconcile the same target at once).  Every run is recorded in the ledger's job
 * runs with its outcome and counts, including runs that fail. */
#include "scheduler/jobs.h"
#include "util/clock.h"
#include "config/config.h"
#include "scheduler/batch.h"
#include "scheduler/deliver.h"
#include "scheduler/joblock.h"
#include "scheduler/reconcile.h"
#include "util/duration.h"
#include "spool/spool.h"
#include "util/errs.h"
#include "util/log.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#define JOB_DELIVER_MAX_ROUNDS 10000

const char *job_outcome_name(enum job_outcome o)
{
    switch (o) {
    case JOB_OK:       return "ok";
    case JOB_DATA:     return "data";
    case JOB_TEMPFAIL: return "tempfail";
    case JOB_BUSY:     return "busy";
    case JOB_CONFIG:   return "config";
    case JOB_ERROR:    return "error";
    }
    return "error";
}

int job_exit_code(enum job_outcome o)
{
    switch (o) {
    case JOB_OK:       return EX_OK;
    case JOB_DATA:     return EX_DATAERR;
    case JOB_TEMPFAIL: return EX_TEMPFAIL;
    case JOB_BUSY:     return EX_TEMPFAIL;
    case JOB_CONFIG:   return EX_CONFIG;
    case JOB_ERROR:    return EX_IOERR;
    }
    return EX_SOFTWARE;
}

/* run_deliver - rounds until nothing more is due, bounded */
static void run_deliver(const struct ferry_config *cfg, struct spool *sp,
                        const struct job_config *job, struct job_report *rep,
                        struct errs *e)
{
    char owner[128], host[64] = "localhost";
    gethostname(host, sizeof host - 1);
    snprintf(owner, sizeof owner, "%s:%ld:job:%s", host, (long)getpid(),
             job->name);
    struct deliver_engine *d = deliver_new(cfg, sp, job->target, owner, e);
    if (!d) {
        rep->outcome = JOB_CONFIG;
        snprintf(rep->message, sizeof rep->message, "%s", errs_first_msg(e));
        return;
    }
    size_t total = 0;
    for (int round = 0; round < JOB_DELIVER_MAX_ROUNDS; round++) {
        size_t handled = 0;
        if (deliver_pass(d, 0, &handled, e) != 0) {
            rep->outcome = JOB_ERROR;
            snprintf(rep->message, sizeof rep->message, "%s", errs_first_msg(e));
            break;
        }
        total += handled;
        if (!handled)
            break;
    }
    size_t n;
    const struct deliver_target_stats *st = deliver_stats(d, &n);
    unsigned long long ok = 0, retry = 0, fail = 0, indoubt = 0;
    bool unavailable = false;
    for (size_t i = 0; i < n; i++) {
        ok += st[i].ok;
        retry += st[i].retry;
        fail += st[i].fail + st[i].exhausted;
        indoubt += st[i].indoubt;
        if ((st[i].retry && !st[i].ok) || st[i].breaker_skips)
            unavailable = true;
    }
    snprintf(rep->counts, sizeof rep->counts,
             "handled=%zu delivered=%llu retry=%llu failed=%llu indoubt=%llu",
             total, ok, retry, fail, indoubt);
    if (rep->outcome == JOB_OK) {
        if (fail)
            rep->outcome = JOB_DATA;
        else if (unavailable)
            rep->outcome = JOB_TEMPFAIL;
    }
    deliver_free(d);
}

/* run_batch - the night batch; it takes its own per-target lock */
static void run_batch(const struct ferry_config *cfg, struct spool *sp,
                      const struct job_config *job, struct job_report *rep,
                      struct errs *e)
{
    struct batch_opts o;
    memset(&o, 0, sizeof o);
    o.tz = job->tz;
    struct batch_summary sum;
    memset(&sum, 0, sizeof sum);
    int rc = batch_run(cfg, sp, job->target, &o, &sum, e);
    switch (sum.outcome) {
    case BATCH_DONE:     rep->outcome = JOB_OK; break;
    case BATCH_DATA:     rep->outcome = JOB_DATA; break;
    case BATCH_TEMPFAIL: rep->outcome = JOB_TEMPFAIL; break;
    case BATCH_BUSY:     rep->outcome = JOB_BUSY; rep->holder = sum.holder; break;
    case BATCH_CONFIG:
    case BATCH_REFUSED:
    case BATCH_STOPPED:  rep->outcome = JOB_CONFIG; break;
    default:             rep->outcome = JOB_ERROR; break;
    }
    if (rc != 0 && rep->outcome == JOB_OK)
        rep->outcome = JOB_ERROR;
    size_t n = 0;
    long long records = 0, failed = 0;
    for (size_t i = 0; i < sum.nfiles && i < BATCH_MAX_FILES; i++) {
        n++;
        records += sum.files[i].records;
        failed += sum.files[i].failed;
    }
    snprintf(rep->counts, sizeof rep->counts, "files=%zu records=%lld failed=%lld%s%.150s",
             n, records, failed, n ? " file=" : "", n ? sum.files[0].file_name : "");
    snprintf(rep->message, sizeof rep->message, "%.500s",
             sum.message[0] ? sum.message : errs_first_msg(e));
}

/* run_reconcile - fetch and apply acknowledgements, or query a stream
 * target; orphans, mismatches and bad files make it a data outcome */
static void run_reconcile(const struct ferry_config *cfg, struct spool *sp,
                          const struct job_config *job,
                          struct job_report *rep, struct errs *e)
{
    struct recon_opts o;
    memset(&o, 0, sizeof o);
    char actor[96];
    snprintf(actor, sizeof actor, "job:%s", job->name);
    o.actor = actor;
    struct recon_summary sum;
    memset(&sum, 0, sizeof sum);
    if (recon_run(cfg, sp, job->target, &o, &sum, e) != 0) {
        rep->outcome = JOB_CONFIG;
        snprintf(rep->message, sizeof rep->message, "%.500s", errs_first_msg(e));
    } else if (sum.busy) {
        rep->outcome = JOB_BUSY;
        snprintf(rep->message, sizeof rep->message, "%.390s", sum.busy_msg);
    } else {
        switch (recon_exit_code(&sum)) {
        case 0:  rep->outcome = JOB_OK; break;
        case 65: rep->outcome = JOB_DATA; break;
        case 75: rep->outcome = JOB_TEMPFAIL; break;
        default: rep->outcome = JOB_ERROR; break;
        }
        recon_counts_text(&sum, rep->counts, sizeof rep->counts);
        if (sum.transport_unavailable)
            snprintf(rep->message, sizeof rep->message, "%.500s",
                     sum.transport_msg);
    }
    recon_summary_free(&sum);
}

static void run_purge(struct spool *sp, const struct job_config *job,
                      struct job_report *rep, struct errs *e)
{
    const char *older = kv_get(&job->opts, "older-than");
    int64_t age = 0;
    if (!older || duration_parse(older, &age) != 0) {
        rep->outcome = JOB_CONFIG;
        snprintf(rep->message, sizeof rep->message,
                 "purge job %s needs older-than=\"90d\"", job->name);
        return;
    }
    int64_t now = clock_wall_ms();
    size_t purged = 0;
    char actor[80];
    snprintf(actor, sizeof actor, "job:%s", job->name);
    struct spool_archive_purged ap = { 0, 0 };
    if (spool_purge(sp, now - age, actor, &purged, e) != 0 ||
        spool_archive_purge(sp, now - age, &ap, e) != 0) {
        rep->outcome = JOB_ERROR;
        snprintf(rep->message, sizeof rep->message, "%s", errs_first_msg(e));
        return;
    }
    snprintf(rep->counts, sizeof rep->counts, "archived=%zu archived-files=%zu",
             purged, ap.files);
}

int job_run(const struct ferry_config *cfg, struct spool *sp,
            const struct job_config *job, struct job_report *rep,
            struct errs *e)
{
    memset(rep, 0, sizeof *rep);
    /* the batch and reconcile runners hold their own per-target locks */
    bool own_lock = strcmp(job->action, "batch") != 0 &&
                    strcmp(job->action, "reconcile") != 0;
    struct joblock *lock = NULL;
    pid_t holder = 0;
    int l = own_lock ? joblock_take(sp, job->name, &lock, &holder, e) : 0;
    if (l < 0)
        return -1;
    if (l > 0) {
        rep->outcome = JOB_BUSY;
        rep->holder = holder;
        if (l == 2)
            snprintf(rep->message, sizeof rep->message,
                     "job %s is already running on another node", job->name);
        else
            snprintf(rep->message, sizeof rep->message,
                     "job %s is already running as PID %ld", job->name,
                     (long)holder);
        return 0;
    }
    int64_t run_id = 0;
    if (spool_job_start(sp, job->name, &run_id, e) != 0) {
        joblock_release(lock);
        return -1;
    }
    log_event(LOG_INFO, "job-start", "job", job->name, "action", job->action,
              "target", job->target, NULL);
    struct errs je;
    errs_init(&je);
    if (strcmp(job->action, "batch") == 0) {
        run_batch(cfg, sp, job, rep, &je);
    } else if (strcmp(job->action, "reconcile") == 0) {
        run_reconcile(cfg, sp, job, rep, &je);
    } else if (strcmp(job->action, "deliver") == 0) {
        run_deliver(cfg, sp, job, rep, &je);
    } else if (strcmp(job->action, "purge") == 0) {
        run_purge(sp, job, rep, &je);
    } else {
        rep->outcome = JOB_CONFIG;
        snprintf(rep->message, sizeof rep->message,
                 "unknown action '%s' (batch, deliver, reconcile, purge)",
                 job->action);
    }
    errs_free(&je);
    struct errs ee;
    errs_init(&ee);
    if (spool_job_end(sp, run_id, job_outcome_name(rep->outcome), rep->counts,
                      rep->message, &ee) != 0)
        errs_move(e, &ee);
    errs_free(&ee);
    log_event(rep->outcome == JOB_OK ? LOG_INFO : LOG_WARN, "job-end",
              "job", job->name, "outcome", job_outcome_name(rep->outcome),
              "counts", rep->counts, "message", rep->message, NULL);
    joblock_release(lock);
    return 0;
}
