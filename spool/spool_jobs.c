/* spool_jobs.c - job runs: start, end, list. */
#include "spool/spool_int.h"
#include "util/clock.h"
#include "util/errs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int spool_job_start(struct spool *s, const char *job, int64_t *run_id,
                    struct errs *e)
{
    int rc = -1;
    spool_lock(s);
    if (spool_begin(s, e) != 0)
        goto end;
    sqlite3_stmt *st = spool_stmt(s, "INSERT INTO job_runs(job, pid, "
                                  "started_at) VALUES(?,?,?) RETURNING id",
                                  e);
    if (!st)
        goto end;
    sqlite3_bind_text(st, 1, job, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)getpid());
    sqlite3_bind_int64(st, 3, clock_wall_ms());
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        spool_dberr(s, e, job, "recording job start");
        goto end;
    }
    *run_id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
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
    sqlite3_stmt *st = spool_stmt(s, "UPDATE job_runs SET ended_at = ?, "
                                  "outcome = ?, counts = ?, message = ? "
                                  "WHERE id = ?", e);
    if (!st)
        goto end;
    sqlite3_bind_int64(st, 1, clock_wall_ms());
    sqlite3_bind_text(st, 2, outcome ? outcome : "done", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, counts, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, message, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, run_id);
    int r = sqlite3_step(st);
    sqlite3_reset(st);
    if (r != SQLITE_DONE || sqlite3_changes(s->db) != 1) {
        errs_add(e, "job", "no job run %lld", (long long)run_id);
        goto end;
    }
    rc = 0;
end:
    rc = spool_end(s, rc, e);
    return rc;
}

int spool_job_list(struct spool *s, const char *job, size_t limit,
                   struct spool_job_run **out, size_t *n, struct errs *e)
{
    int rc = -1, step;
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    spool_lock(s);
    sqlite3_stmt *st = spool_stmt(s, "SELECT id, job, started_at, ended_at, "
                                  "outcome, counts, message, pid FROM "
                                  "job_runs WHERE (?1 IS NULL OR job = ?1) "
                                  "ORDER BY id DESC LIMIT ?2", e);
    if (!st)
        goto done;
    sqlite3_bind_text(st, 1, job, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, limit ? (int64_t)limit : -1);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            struct spool_job_run *v = realloc(*out, cap * sizeof *v);
            if (!v) {
                errs_add(e, "", "out of memory");
                goto done;
            }
            *out = v;
        }
        struct spool_job_run *j = &(*out)[(*n)++];
        j->id = sqlite3_column_int64(st, 0);
        j->job = spool_col_strdup(st, 1);
        j->started_at = sqlite3_column_int64(st, 2);
        j->ended_at = sqlite3_column_int64(st, 3);
        j->outcome = spool_col_strdup(st, 4);
        j->counts = spool_col_strdup(st, 5);
        j->message = spool_col_strdup(st, 6);
        j->pid = (long)sqlite3_column_int64(st, 7);
    }
    if (step != SQLITE_DONE) {
        spool_dberr(s, e, NULL, "listing job runs");
        goto done;
    }
    rc = 0;
done:
    if (st)
        sqlite3_reset(st);
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
