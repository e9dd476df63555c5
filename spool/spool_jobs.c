/* spool_jobs.c - job runs (start, end, list) and the spool's part of a
 * job lock.
 *
 * Job lock: on a PostgreSQL spool several nodes share one ledger, and a
 * night batch or a reconcile must run on one of them at a time.  The
 * lock is a session-level advisory lock on the spool's own connection
 * (spool_pg_joblock_try, pg_cluster.c): held until released, or until
 * the session ends, so a node killed mid-job lets the job go with its
 * connection and another node can take it.  An SQLite spool has one
 * daemon per folder, and the lock file in locks/ (scheduler/joblock.c,
 * which calls this) already is the whole lock: nothing to do here.
 * Advisory locks stack within a session, so two threads of one node are
 * kept apart by that lock file, taken first. */
#include "spool/pg_spool.h"
#include "spool/spool_int.h"
#include "spool/sql.h"
#include "util/clock.h"
#include "util/errs.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LIST_PAGE 500                 /* job runs read per statement */

int spool_job_start(struct spool *s, const char *job, int64_t *run_id,
                    struct errs *e)
{
    int rc = -1;
    spool_lock(s);
    if (spool_begin(s, e) != 0)
        goto end;
    struct sql_stmt *st = spool_sql(s, "INSERT INTO job_runs(job, pid, "
                                    "started_at) VALUES(?,?,?) RETURNING id",
                                    e);
    if (!st)
        goto end;
    if (sql_bind_text(st, 1, job) != 0
        || sql_bind_int64(st, 2, (int64_t)getpid()) != 0
        || sql_bind_int64(st, 3, clock_wall_ms()) != 0
        || sql_step(st) != SQL_STEP_ROW) {
        sql_reset(st);
        spool_sqlerr(s, e, job, "recording job start");
        goto end;
    }
    *run_id = sql_col_int64(st, 0);
    sql_reset(st);
    rc = 0;
end:
    rc = spool_end(s, rc, e);
    return rc;
}

int spool_job_end(struct spool *s, int64_t run_id, const char *outcome,
                  const char *counts, const char *message, struct errs *e)
{
    int rc = -1;
    spool_lock(s);
    if (spool_begin(s, e) != 0)
        goto end;
    struct sql_stmt *st = spool_sql(s, "UPDATE job_runs SET ended_at = ?, "
                                    "outcome = ?, counts = ?, message = ? "
                                    "WHERE id = ?", e);
    if (!st)
        goto end;
    enum sql_step r = SQL_STEP_ERROR;
    if (sql_bind_int64(st, 1, clock_wall_ms()) == 0
        && sql_bind_text(st, 2, outcome ? outcome : "done") == 0
        && sql_bind_text(st, 3, counts) == 0
        && sql_bind_text(st, 4, message) == 0
        && sql_bind_int64(st, 5, run_id) == 0)
        r = sql_step(st);
    int64_t changed = sql_changes(st);
    sql_reset(st);
    if (r == SQL_STEP_ERROR) {
        spool_sqlerr(s, e, "job", "recording job end");
        goto end;
    }
    if (changed != 1) {
        errs_add(e, "job", "no job run %lld", (long long)run_id);
        goto end;
    }
    rc = 0;
end:
    rc = spool_end(s, rc, e);
    return rc;
}

/* list_page - the runs of job older than *before (newest first), at most
 * want, appended to *out; *before moves to the last one read.  The
 * number read, or -1. */
static long list_page(struct spool *s, const char *job, int64_t *before,
                      size_t want, struct spool_job_run **out, size_t *n,
                      size_t *cap, struct errs *e)
{
    struct sql_stmt *st = spool_sql(s, "SELECT id, job, started_at, "
                                    "ended_at, outcome, counts, message, pid "
                                    "FROM job_runs WHERE (CAST(?1 AS TEXT) "
                                    "IS NULL OR job = ?1) AND id < ?2 "
                                    "ORDER BY id DESC LIMIT ?3", e);
    if (!st)
        return -1;
    long got = 0;
    enum sql_step step = SQL_STEP_ERROR;
    if (sql_bind_text(st, 1, job) == 0 && sql_bind_int64(st, 2, *before) == 0
        && sql_bind_int64(st, 3, (int64_t)want) == 0)
        while ((step = sql_step(st)) == SQL_STEP_ROW) {
            if (*n == *cap) {
                size_t c = *cap ? *cap * 2 : 8;
                struct spool_job_run *v = realloc(*out, c * sizeof *v);
                if (!v) {
                    sql_reset(st);
                    errs_add(e, "", "out of memory");
                    return -1;
                }
                *out = v;
                *cap = c;
            }
            struct spool_job_run *j = &(*out)[(*n)++];
            j->id = sql_col_int64(st, 0);
            j->job = sql_col_strdup(st, 1);
            j->started_at = sql_col_int64(st, 2);
            j->ended_at = sql_col_int64(st, 3);
            j->outcome = sql_col_strdup(st, 4);
            j->counts = sql_col_strdup(st, 5);
            j->message = sql_col_strdup(st, 6);
            j->pid = (long)sql_col_int64(st, 7);
            *before = j->id;
            got++;
        }
    sql_reset(st);
    if (step != SQL_STEP_DONE) {
        spool_sqlerr(s, e, NULL, "listing job runs");
        return -1;
    }
    return got;
}

int spool_job_list(struct spool *s, const char *job, size_t limit,
                   struct spool_job_run **out, size_t *n, struct errs *e)
{
    int rc = -1;
    size_t cap = 0;
    int64_t before = INT64_MAX;
    *out = NULL;
    *n = 0;
    spool_lock(s);
    /* a page at a time by id (PostgreSQL sends a result whole) */
    for (;;) {
        size_t want = LIST_PAGE;
        if (limit && limit - *n < want)
            want = limit - *n;
        if (want == 0)
            break;
        long got = list_page(s, job, &before, want, out, n, &cap, e);
        if (got < 0)
            goto done;
        if ((size_t)got < want)
            break;
    }
    rc = 0;
done:
    spool_unlock(s);
    if (rc != 0) {
        spool_job_runs_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

void spool_job_runs_free(struct spool_job_run *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++) {
        free(v[i].job);
        free(v[i].outcome);
        free(v[i].counts);
        free(v[i].message);
    }
    free(v);
}

int spool_joblock_take(struct spool *s, const char *job, struct errs *e)
{
    if (sql_backend(s->sql) != SQL_POSTGRESQL)
        return 0;              /* SQLite: the lock file is the lock */
    spool_lock(s);
    int r = spool_pg_joblock_try(s->sql, job, e);
    spool_unlock(s);
    return r == 1 ? 0 : r == 0 ? 1 : -1;
}

void spool_joblock_release(struct spool *s, const char *job)
{
    if (sql_backend(s->sql) != SQL_POSTGRESQL)
        return;
    struct errs e;
    errs_init(&e);
    spool_lock(s);
    int r = spool_pg_joblock_release(s->sql, job, &e);
    spool_unlock(s);
    /* not held any more: the session was lost (and the lock with it)
     * while the job ran; nothing is left to release */
    if (r != 0)
        log_event(LOG_WARN, "job-lock-lost", "job", job, "error",
                  errs_first_msg(&e), NULL);
    errs_free(&e);
}
