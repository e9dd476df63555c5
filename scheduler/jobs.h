/* jobs.h - running one configured job: the same code path for the
 * scheduler inside `ferry serve` and for the CLI commands that run a job
 * by hand, so a job behaves the same whoever starts it.
 *
 * A run takes the job's lock (scheduler/joblock.h: a second runner gets
 * JOB_BUSY and the holder's PID), records itself in the ledger's job runs
 * (start, end, outcome, counts) and returns an outcome the caller maps to
 * an exit code. */
#ifndef FERRY_SCHEDULER_JOBS_H
#define FERRY_SCHEDULER_JOBS_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct errs;
struct ferry_config;
struct job_config;
struct spool;

enum job_outcome {
    JOB_OK = 0,          /* done */
    JOB_DATA,            /* done, but some records went to dead letter (65) */
    JOB_TEMPFAIL,        /* target unavailable: retry later (75) */
    JOB_BUSY,            /* another run holds the lock (75) */
    JOB_CONFIG,          /* configuration problem (78) */
    JOB_ERROR,           /* ledger or local I/O failure (74) */
};

struct job_report {
    enum job_outcome outcome;
    pid_t holder;        /* JOB_BUSY: who holds the lock */
    char counts[256];    /* "records=10 failed=1 file=CLM.D261127.S001" */
    char message[512];
};

/* job_run - run job now (business date = today in the job's zone).
 * Returns 0 and fills rep, or -1 with e filled when it could not start. */
int job_run(const struct ferry_config *cfg, struct spool *sp,
            const struct job_config *job, struct job_report *rep,
            struct errs *e);

/* job_outcome_name - "ok", "data", "tempfail", "busy", "config", "error" */
const char *job_outcome_name(enum job_outcome o);
/* job_exit_code - the sysexits.h code for an outcome */
int job_exit_code(enum job_outcome o);

#endif
