/* sched.c - the daemon's job scheduler and the `ferry jobs` listing.
 * See sched.h.
 *
 * One scheduler thread wakes at least once a second (so a wall-clock
 * step is noticed within a second), compares the time with each job's
 * next run and starts due jobs in detached worker threads.  Per-job state
 * that must survive a reload (running, counts by outcome) is kept by job
 * name, so a SIGHUP never lets a job run twice at once.
 *
 * Owns: the scheduler thread, the zones it loaded, the per-job table.
 * Borrows: the config (jobs point into it) and the spool. */
#include "scheduler/sched.h"
#include "util/clock.h"
#include "config/config.h"
#include "scheduler/catchup.h"
#include "scheduler/cron.h"
#include "scheduler/jobs.h"
#include "util/tz.h"
#include "spool/spool.h"
#include "util/buf.h"
#include "util/errs.h"
#include "util/log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NOUTCOMES 6          /* enum job_outcome values */

/* ---- pure planning ---------------------------------------------------- */

/* compile - a job's cron and zone; 0 ok, -1 with e filled */
static int compile(const struct job_config *job, struct cron *c,
                   struct tz **z, struct errs *e)
{
    *z = NULL;
    const char *where = job->name ? job->name : "job";
    struct errs tmp;
    errs_init(&tmp);
    if (!job->schedule || cron_parse(job->schedule, c, &tmp) != 0) {
        errs_add(e, where, "schedule: %s",
                 job->schedule ? errs_first_msg(&tmp) : "missing");
        errs_free(&tmp);
        return -1;
    }
    *z = tz_load(job->tz ? job->tz : "Europe/London", &tmp);
    if (!*z) {
        errs_add(e, where, "time zone: %s", errs_first_msg(&tmp));
        errs_free(&tmp);
        return -1;
    }
    errs_free(&tmp);
    return 0;
}

int sched_next_due(const struct job_config *job, int64_t after_s,
                   int64_t *next_s, struct errs *e)
{
    struct cron c;
    struct tz *z = NULL;
    if (compile(job, &c, &z, e) != 0)
        return -1;
    int rc = cron_next(&c, z, after_s, next_s);
    if (rc != 0)
        errs_add(e, job->name, "schedule '%s' never fires", job->schedule);
    tz_free(z);
    return rc;
}

int sched_plan_startup(const struct job_config *job, int64_t last_run_s,
                       int64_t now_s, struct sched_plan *out, struct errs *e)
{
    memset(out, 0, sizeof *out);
    enum cron_catchup_policy pol;
    if (cron_catchup_policy_parse(job->catch_up, &pol) != 0) {
        errs_add(e, job->name, "catch-up '%s' is not run or skip",
                 job->catch_up);
        return -1;
    }
    struct cron c;
    struct tz *z = NULL;
    if (compile(job, &c, &z, e) != 0)
        return -1;
    enum cron_catchup_action a = cron_catchup(&c, z, pol, last_run_s, now_s,
                                              &out->missed_s, &out->nmissed);
    out->run_now = a == CRON_CATCHUP_RUN_NOW;
    out->skipped = a == CRON_CATCHUP_SKIPPED;
    int rc = 0;
    if (cron_next(&c, z, now_s, &out->next_s) != 0) {
        errs_add(e, job->name, "schedule '%s' never fires", job->schedule);
        rc = -1;
    }
    tz_free(z);
    return rc;
}

/* ---- listing ------------------------------------------------------------ */

static void fmt_utc(int64_t s, char *out, size_t outsz)
{
    time_t t = (time_t)s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int sched_list(const struct ferry_config *cfg, struct spool *sp,
               int64_t now_s, struct sched_job_info **out, size_t *n,
               struct errs *e)
{
    *out = NULL;
    *n = 0;
    struct sched_job_info *v = calloc(cfg->njobs ? cfg->njobs : 1, sizeof *v);
    if (!v) {
        errs_add(e, "jobs", "out of memory");
        return -1;
    }
    for (size_t i = 0; i < cfg->njobs; i++) {
        const struct job_config *j = &cfg->jobs[i];
        struct sched_job_info *x = &v[i];
        x->name = j->name;
        x->schedule = j->schedule;
        x->tz = j->tz ? j->tz : "Europe/London";
        x->action = j->action;
        x->target = j->target;
        x->catch_up = j->catch_up ? j->catch_up : "run";
        struct cron c;
        struct tz *z = NULL;
        struct errs pe;
        errs_init(&pe);
        if (compile(j, &c, &z, &pe) == 0 &&
            cron_next(&c, z, now_s, &x->next_s) == 0) {
            struct tm tm;
            tz_localtime(z, x->next_s, &tm);
            char tmp[32];
            strftime(tmp, sizeof tmp, "%Y-%m-%d %H:%M:%S", &tm);
            snprintf(x->next_local, sizeof x->next_local, "%s %s", tmp,
                     tm.tm_zone ? tm.tm_zone : "");
            fmt_utc(x->next_s, x->next_utc, sizeof x->next_utc);
        } else {
            x->next_s = 0;
            snprintf(x->problem, sizeof x->problem, "%s",
                     pe.n ? errs_first_msg(&pe) : "never fires");
        }
        tz_free(z);
        errs_free(&pe);
        if (!sp || !j->name)
            continue;
        struct spool_job_run *runs = NULL;
        size_t nr = 0;
        if (spool_job_list(sp, j->name, 1, &runs, &nr, e) != 0) {
            free(v);
            return -1;
        }
        if (nr) {
            x->has_last = true;
            x->last_started_ms = runs[0].started_at;
            x->last_ended_ms = runs[0].ended_at;
            snprintf(x->last_outcome, sizeof x->last_outcome, "%s",
                     runs[0].outcome ? runs[0].outcome : "");
            snprintf(x->last_counts, sizeof x->last_counts, "%s",
                     runs[0].counts ? runs[0].counts : "");
            snprintf(x->last_message, sizeof x->last_message, "%s",
                     runs[0].message ? runs[0].message : "");
        }
        spool_job_runs_free(runs, nr);
    }
    *out = v;
    *n = cfg->njobs;
    return 0;
}

/* ---- the running scheduler ---------------------------------------------- */

struct sjob {
    char name[129];
    const struct job_config *job;     /* NULL: removed by a reload */
    const struct ferry_config *cfg;
    struct cron cron;
    struct tz *tz;
    bool planned;                     /* cron and tz valid */
    bool run_now;                     /* catch-up pending */
    int64_t next_s;
    bool running;
    uint64_t runs[NOUTCOMES];
    uint64_t start_failures;
    int64_t last_end_s;
};

struct sched {
    pthread_mutex_t mu;
    pthread_cond_t cv;                /* wakes the loop; a worker ended */
    struct spool *sp;
    const struct ferry_config *cfg;
    struct sjob *jobs;
    size_t n;
    int running;                      /* workers alive */
    bool stop, started;
    pthread_t th;
};

struct worker {
    struct sched *s;
    const struct ferry_config *cfg;
    const struct job_config *job;
    char name[129];
};

static struct sjob *find(struct sched *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->jobs[i].name, name) == 0)
            return &s->jobs[i];
    return NULL;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct job_report rep;
    struct errs e;
    memset(&rep, 0, sizeof rep);
    errs_init(&e);
    log_event(LOG_INFO, "job-started", "job", w->name, NULL);
    int rc = job_run(w->cfg, w->s->sp, w->job, &rep, &e);
    if (rc != 0)
        log_event(LOG_ERROR, "job-not-started", "job", w->name, "error",
                  errs_first_msg(&e), NULL);
    else
        log_event(rep.outcome == JOB_OK ? LOG_INFO : LOG_WARN, "job-finished",
                  "job", w->name, "outcome", job_outcome_name(rep.outcome),
                  "counts", rep.counts, "message", rep.message, NULL);
    errs_free(&e);
    struct sched *s = w->s;
    pthread_mutex_lock(&s->mu);
    struct sjob *j = find(s, w->name);
    if (j) {
        j->running = false;
        j->last_end_s = (int64_t)time(NULL);
        if (rc != 0)
            j->start_failures++;
        else if ((unsigned)rep.outcome < NOUTCOMES)
            j->runs[rep.outcome]++;
    }
    s->running--;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    free(w);
    return NULL;
}

/* sched_clock - the scheduler's idea of now (UTC seconds).  Test builds
 * only: FERRY_TEST_SCHED_OFFSET_S shifts it, so a test can stand a
 * daemon two seconds before a minute boundary, or a year ahead of its
 * last recorded run, without waiting; release builds ignore it. */
static int64_t sched_clock(void)
{
    int64_t now = (int64_t)time(NULL);
#ifdef FERRY_TEST_BUILD
    const char *env = getenv("FERRY_TEST_SCHED_OFFSET_S");
    if (env && *env) {
        char *end = NULL;
        long long v = strtoll(env, &end, 10);
        if (end && !*end && v > -100000000LL && v < 100000000LL)
            now += (int64_t)v;
    }
#endif
    return now;
}

/* launch - start j in a worker (s->mu held) */
static void launch(struct sched *s, struct sjob *j)
{
    struct worker *w = calloc(1, sizeof *w);
    if (!w) {
        log_event(LOG_ERROR, "job-not-started", "job", j->name, "error",
                  "out of memory", NULL);
        return;
    }
    w->s = s;
    w->cfg = j->cfg;
    w->job = j->job;
    snprintf(w->name, sizeof w->name, "%s", j->name);
    pthread_t th;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &at, worker_main, w) != 0) {
        log_event(LOG_ERROR, "job-not-started", "job", j->name, "error",
                  "cannot start a thread", NULL);
        free(w);
    } else {
        j->running = true;
        s->running++;
    }
    pthread_attr_destroy(&at);
}

static void *sched_main(void *arg)
{
    struct sched *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        int64_t now = sched_clock();
        for (size_t i = 0; i < s->n; i++) {
            struct sjob *j = &s->jobs[i];
            if (!j->planned || !j->job)
                continue;
            bool due = j->run_now || (j->next_s && now >= j->next_s);
            if (!due)
                continue;
            if (j->running)
                log_event(LOG_WARN, "job-overlap-skipped", "job", j->name,
                          "why", "the previous run is still going", NULL);
            else
                launch(s, j);
            j->run_now = false;
            if (cron_next(&j->cron, j->tz, now, &j->next_s) != 0)
                j->next_s = 0;
        }
        struct timespec ts;
        clock_abs_in(&ts, 1000);
        pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static void free_table(struct sjob *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        tz_free(v[i].tz);
    free(v);
}

/* build - a job table for cfg; state of same-named jobs in old (may be
 * NULL) carries over; catch-up planned only when startup */
static struct sjob *build(struct sched *s, const struct ferry_config *cfg,
                          const struct sjob *old, size_t nold, bool startup,
                          size_t *n, struct errs *e)
{
    struct sjob *v = calloc(cfg->njobs + nold + 1, sizeof *v);
    size_t k = 0;
    if (!v) {
        errs_add(e, "scheduler", "out of memory");
        return NULL;
    }
    int64_t now = sched_clock();
    for (size_t i = 0; i < cfg->njobs; i++) {
        const struct job_config *jc = &cfg->jobs[i];
        if (!jc->name)
            continue;
        struct sjob *j = &v[k++];
        snprintf(j->name, sizeof j->name, "%s", jc->name);
        j->job = jc;
        j->cfg = cfg;
        for (size_t o = 0; o < nold; o++)
            if (strcmp(old[o].name, j->name) == 0) {
                j->running = old[o].running;
                memcpy(j->runs, old[o].runs, sizeof j->runs);
                j->start_failures = old[o].start_failures;
                j->last_end_s = old[o].last_end_s;
            }
        struct errs pe;
        errs_init(&pe);
        if (compile(jc, &j->cron, &j->tz, &pe) != 0) {
            log_event(LOG_ERROR, "job-not-scheduled", "job", j->name,
                      "error", errs_first_msg(&pe), NULL);
            errs_free(&pe);
            continue;
        }
        j->planned = true;
        if (startup) {
            int64_t last = CRON_NEVER_RAN;
            struct spool_job_run *runs = NULL;
            size_t nr = 0;
            if (spool_job_list(s->sp, j->name, 1, &runs, &nr, &pe) == 0 && nr)
                last = runs[0].started_at / 1000;
            spool_job_runs_free(runs, nr);
            struct sched_plan p;
            if (sched_plan_startup(jc, last, now, &p, &pe) == 0) {
                j->run_now = p.run_now;
                j->next_s = p.next_s;
                char nm[16];
                snprintf(nm, sizeof nm, "%u", p.nmissed);
                if (p.run_now)
                    log_event(LOG_INFO, "job-catch-up", "job", j->name,
                              "missed", nm, "policy", "run", NULL);
                else if (p.skipped)
                    log_event(LOG_WARN, "job-catch-up-skipped", "job",
                              j->name, "missed", nm, "policy", "skip", NULL);
            } else {
                log_event(LOG_ERROR, "job-not-scheduled", "job", j->name,
                          "error", errs_first_msg(&pe), NULL);
                j->planned = false;
            }
        } else if (cron_next(&j->cron, j->tz, now, &j->next_s) != 0) {
            j->planned = false;
        }
        errs_free(&pe);
    }
    /* a removed job still running keeps its row until it ends */
    for (size_t o = 0; o < nold; o++) {
        if (!old[o].running)
            continue;
        bool kept = false;
        for (size_t i = 0; i < k; i++)
            kept = kept || strcmp(v[i].name, old[o].name) == 0;
        if (!kept) {
            struct sjob *j = &v[k++];
            snprintf(j->name, sizeof j->name, "%s", old[o].name);
            j->running = true;
        }
    }
    *n = k;
    return v;
}

struct sched *sched_new(const struct ferry_config *cfg, struct spool *sp,
                        struct errs *e)
{
    struct sched *s = calloc(1, sizeof *s);
    if (!s) {
        errs_add(e, "scheduler", "out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->sp = sp;
    s->cfg = cfg;
    s->jobs = build(s, cfg, NULL, 0, true, &s->n, e);
    if (!s->jobs) {
        sched_free(s);
        return NULL;
    }
    return s;
}

int sched_start(struct sched *s, struct errs *e)
{
    if (pthread_create(&s->th, NULL, sched_main, s) != 0) {
        errs_add(e, "scheduler", "cannot start the scheduler thread");
        return -1;
    }
    s->started = true;
    char n[16];
    snprintf(n, sizeof n, "%zu", s->n);
    log_event(LOG_INFO, "scheduler-started", "jobs", n, NULL);
    return 0;
}

int sched_reload(struct sched *s, const struct ferry_config *cfg,
                 struct errs *e)
{
    pthread_mutex_lock(&s->mu);
    size_t n = 0;
    struct sjob *v = build(s, cfg, s->jobs, s->n, false, &n, e);
    if (!v) {
        pthread_mutex_unlock(&s->mu);
        return -1;
    }
    free_table(s->jobs, s->n);
    s->jobs = v;
    s->n = n;
    s->cfg = cfg;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

int sched_stop(struct sched *s, int64_t deadline_ms)
{
    if (!s)
        return 0;
    pthread_mutex_lock(&s->mu);
    bool join = s->started && !s->stop;
    s->stop = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (join)
        pthread_join(s->th, NULL);
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    while (s->running > 0) {
        if (clock_cond_wait_until(&s->cv, &s->mu, deadline_ms) < 0) {
            rc = -1;
            break;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void sched_free(struct sched *s)
{
    if (!s)
        return;
    sched_stop(s, INT64_MAX);
    free_table(s->jobs, s->n);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static void label(struct buf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            buf_putc(b, '\\');
        buf_putc(b, *v);
    }
}

void sched_metrics(struct sched *s, struct buf *b)
{
    static const enum job_outcome outs[NOUTCOMES] = {
        JOB_OK, JOB_DATA, JOB_TEMPFAIL, JOB_BUSY, JOB_CONFIG, JOB_ERROR };
    pthread_mutex_lock(&s->mu);
    buf_puts(b, "# HELP ferry_job_runs_total Job runs by this process, by "
                "outcome (not-started: job_run refused).\n"
                "# TYPE ferry_job_runs_total counter\n");
    for (size_t i = 0; i < s->n; i++) {
        for (int k = 0; k < NOUTCOMES; k++) {
            buf_puts(b, "ferry_job_runs_total{job=\"");
            label(b, s->jobs[i].name);
            buf_printf(b, "\",outcome=\"%s\"} %llu\n",
                       job_outcome_name(outs[k]),
                       (unsigned long long)s->jobs[i].runs[outs[k]]);
        }
        buf_puts(b, "ferry_job_runs_total{job=\"");
        label(b, s->jobs[i].name);
        buf_printf(b, "\",outcome=\"not-started\"} %llu\n",
                   (unsigned long long)s->jobs[i].start_failures);
    }
    buf_puts(b, "# HELP ferry_job_running 1 while the job runs.\n"
                "# TYPE ferry_job_running gauge\n");
    for (size_t i = 0; i < s->n; i++) {
        buf_puts(b, "ferry_job_running{job=\"");
        label(b, s->jobs[i].name);
        buf_printf(b, "\"} %d\n", s->jobs[i].running ? 1 : 0);
    }
    buf_puts(b, "# HELP ferry_job_next_run_timestamp_seconds Next "
                "scheduled run (UTC epoch).\n"
                "# TYPE ferry_job_next_run_timestamp_seconds gauge\n");
    for (size_t i = 0; i < s->n; i++) {
        if (!s->jobs[i].planned)
            continue;
        buf_puts(b, "ferry_job_next_run_timestamp_seconds{job=\"");
        label(b, s->jobs[i].name);
        buf_printf(b, "\"} %lld\n", (long long)s->jobs[i].next_s);
    }
    pthread_mutex_unlock(&s->mu);
}
