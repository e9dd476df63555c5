/* sched.h - the daemon's job scheduler, and the job listing of `ferry jobs`.
 *
 * Each configured job fires at its cron times in its own time zone
 * (scheduler/cron.h has the clock-change rules).  On start-up the last
 * recorded run of each job decides catch-up (scheduler/catchup.h): policy
 * "run" runs a missed job once now, "skip" logs the skip and waits.
 * A due job runs job_run (scheduler/jobs.h, which takes the job lock and
 * records the run) in its own worker thread; a job never runs twice at
 * once in one daemon (a time that comes round while the previous run is
 * still going is skipped and logged).
 *
 * Threads: sched_new/start/reload/stop/free from one thread (the daemon's
 * main thread); the scheduler owns its own thread and the job workers. */
#ifndef FERRY_SCHEDULER_SCHED_H
#define FERRY_SCHEDULER_SCHED_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct errs;
struct ferry_config;
struct job_config;
struct spool;
struct sched;

/* ---- pure planning (unit-tested) -------------------------------------- */

/* sched_next_due - the job's next run strictly after after_s (UTC
 * seconds).  0 and *next_s, or -1 with e filled (bad schedule or zone,
 * or no run within cron's search horizon). */
int sched_next_due(const struct job_config *job, int64_t after_s,
                   int64_t *next_s, struct errs *e);

struct sched_plan {
    bool run_now;            /* catch-up: run once at start-up */
    bool skipped;            /* runs were missed and policy says skip */
    unsigned nmissed;        /* missed scheduled times (counted to 1000) */
    int64_t missed_s;        /* earliest missed time, 0 = none */
    int64_t next_s;          /* next scheduled time after now */
};

/* sched_plan_startup - what to do at now_s about job, whose last recorded
 * run started at last_run_s (CRON_NEVER_RAN when it never ran).
 * 0 ok, -1 with e filled (bad schedule, zone or catch-up word). */
int sched_plan_startup(const struct job_config *job, int64_t last_run_s,
                       int64_t now_s, struct sched_plan *out, struct errs *e);

/* ---- the listing for `ferry jobs` --------------------------------------- */

struct sched_job_info {
    const char *name, *schedule, *tz, *action, *target, *catch_up; /* cfg's */
    int64_t next_s;          /* 0 when it could not be computed */
    char next_local[40];     /* "2026-11-28 01:30:00 GMT" */
    char next_utc[32];       /* "2026-11-28T01:30:00Z" */
    char problem[160];       /* why next_s is 0 */
    bool has_last;
    int64_t last_started_ms, last_ended_ms;   /* ended 0: running/crashed */
    char last_outcome[32];   /* "" while running */
    char last_counts[256];
    char last_message[256];
};

/* sched_list - every job of cfg with its next run after now_s and its
 * last recorded run (sp may be NULL: no last runs).  Caller frees *out.
 * 0 ok, -1 with e filled when the ledger could not be read. */
int sched_list(const struct ferry_config *cfg, struct spool *sp,
               int64_t now_s, struct sched_job_info **out, size_t *n,
               struct errs *e);

/* ---- the running scheduler ---------------------------------------------- */

/* sched_new - plan every job of cfg (borrowed; must outlive the scheduler
 * or the next sched_reload) against sp's run history.  Jobs with a bad
 * schedule are logged and left out.  NULL with e filled on failure. */
struct sched *sched_new(const struct ferry_config *cfg, struct spool *sp,
                        struct errs *e);
/* sched_start - start the scheduler thread (catch-up runs start now) */
int sched_start(struct sched *s, struct errs *e);
/* sched_reload - from now on plan cfg's jobs (running jobs finish with
 * the configuration they started with, which must stay alive). */
int sched_reload(struct sched *s, const struct ferry_config *cfg,
                 struct errs *e);
/* sched_stop - no new runs; wait for running jobs to return from job_run
 * until deadline_ms (CLOCK_MONOTONIC ms).  0 when nothing is running any
 * more, -1 when a job was still running at the deadline. */
int sched_stop(struct sched *s, int64_t deadline_ms);
/* sched_free - stop (waiting for running jobs) and free; NULL no-op */
void sched_free(struct sched *s);
/* sched_metrics - append Prometheus text: runs by job and outcome, last
 * run time, running jobs, next run time */
void sched_metrics(struct sched *s, struct buf *out);

#endif
