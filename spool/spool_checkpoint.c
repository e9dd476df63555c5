/* spool_checkpoint.c - WAL checkpoints off the commit path, for the daemon.
 *
 * SQLite normally checkpoints inside whichever transaction pushes the WAL
 * past 1000 pages, so one unlucky group commit (and every intake request
 * waiting on it) pays for copying the whole WAL into the database.  The
 * daemon turns that off and runs PASSIVE checkpoints from a thread with
 * its own connection instead: they never block writers, and a commit
 * costs its own fsync only.  Durability is unchanged: a committed
 * transaction is in the WAL, fsynced, whether or not it was checkpointed.
 *
 * The WAL must also start again from its beginning now and then: SQLite
 * does that only when a writer begins with every frame already copied
 * back, which under a steady stream of commits never happens by itself
 * (each PASSIVE pass is overtaken by the commits made while it ran), so
 * the WAL grew by every commit for the life of the daemon (876 MB in a
 * 10 s bench) and each commit's fsync paid for extending the file.
 * Each pass therefore copies the bulk without blocking anyone, then the
 * few frames committed meanwhile with the spool's lock held (a stall of
 * one short copy and one fsync of the ledger, once per pass, and only
 * when there was anything to copy), so the next commit rewinds the WAL
 * and overwrites blocks the file already has.
 *
 * A PostgreSQL ledger has no WAL of ours to copy back (the server
 * checkpoints itself): the checkpointer there is an idle handle, no
 * thread, no connection, so the daemon and the night batch start and
 * stop it the same way on both engines.
 *
 * Owns: the checkpoint thread and its connection. */
#include "spool/spool.h"
#include "util/clock.h"
#include "spool/spool_int.h"
#include "spool/sql.h"
#include "util/errs.h"
#include "util/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct spool_checkpointer {
    struct spool *s;
    sqlite3 *db;
    int interval_ms;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
};

/* ckpt_one - one PASSIVE checkpoint; true when it copied every frame */
static bool ckpt_one(struct spool_checkpointer *c, int *logged)
{
    int done = 0;
    *logged = 0;
    int r = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
                                      logged, &done);
    if (r != SQLITE_OK && r != SQLITE_BUSY)
        log_event(LOG_WARN, "wal-checkpoint-failed", "error",
                  sqlite3_errmsg(c->db), NULL);
    return r == SQLITE_OK && done == *logged;
}

/* ckpt_pass - copy the WAL back, the bulk unlocked, the tail under the
 * spool's lock, so that the next commit starts the WAL again */
static void ckpt_pass(struct spool_checkpointer *c)
{
    int logged = 0;
    /* twice unlocked: the second copies what commits added during the
     * first, so the locked tail is small */
    for (int i = 0; i < 2; i++)
        if (ckpt_one(c, &logged) && logged == 0)
            return;                         /* nothing in the WAL */
    spool_lock(c->s);
    ckpt_one(c, &logged);
    spool_unlock(c->s);
}

static void *ckpt_main(void *arg)
{
    struct spool_checkpointer *c = arg;
    pthread_mutex_lock(&c->mu);
    while (!c->stop) {
        struct timespec until;
        clock_abs_in(&until, c->interval_ms);
        int rc = 0;
        while (!c->stop && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&c->cv, &c->mu, &until);
        if (c->stop)
            break;
        pthread_mutex_unlock(&c->mu);
        ckpt_pass(c);
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

struct spool_checkpointer *spool_checkpointer_start(struct spool *s,
                                                    int interval_ms,
                                                    struct errs *e)
{
    struct spool_checkpointer *c = calloc(1, sizeof *c);
    if (!c) {
        errs_add(e, spool_dir(s), "out of memory");
        return NULL;
    }
    c->s = s;
    c->interval_ms = interval_ms > 0 ? interval_ms : 1000;
    if (sql_backend(s->sql) != SQL_SQLITE)
        return c;                  /* PostgreSQL: nothing to do (c->db NULL) */
    if (sqlite3_open_v2(s->db_path, &c->db, SQLITE_OPEN_READWRITE |
                        SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        errs_add(e, s->db_path, "checkpoint connection: %s",
                 c->db ? sqlite3_errmsg(c->db) : "cannot open");
        goto fail;
    }
    sqlite3_busy_timeout(c->db, 1000);
    /* a connection that has never read the ledger has not opened its
     * WAL yet, and sqlite3_wal_checkpoint_v2 on it does nothing at all
     * (returning SQLITE_OK): read the schema once, so the checkpoints
     * below are real ones */
    if (sqlite3_exec(c->db, "SELECT count(*) FROM sqlite_schema", NULL, NULL,
                     NULL) != SQLITE_OK) {
        errs_add(e, s->db_path, "checkpoint connection: %s",
                 sqlite3_errmsg(c->db));
        goto fail;
    }
    /* commits on the main connection no longer checkpoint themselves */
    spool_lock(s);
    int rc = sqlite3_wal_autocheckpoint(s->db, 0);
    spool_unlock(s);
    if (rc != SQLITE_OK) {
        errs_add(e, s->db_path, "cannot turn off automatic checkpoints");
        goto fail;
    }
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    if (pthread_create(&c->th, NULL, ckpt_main, c) != 0) {
        pthread_mutex_destroy(&c->mu);
        pthread_cond_destroy(&c->cv);
        spool_lock(s);
        sqlite3_wal_autocheckpoint(s->db, 1000);
        spool_unlock(s);
        errs_add(e, s->db_path, "cannot start the checkpoint thread");
        goto fail;
    }
    return c;
fail:
    if (c->db)
        sqlite3_close(c->db);
    free(c);
    return NULL;
}

void spool_checkpointer_stop(struct spool_checkpointer *c)
{
    if (!c)
        return;
    if (!c->db) {                  /* the idle handle of a PostgreSQL spool */
        free(c);
        return;
    }
    pthread_mutex_lock(&c->mu);
    c->stop = true;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->th, NULL);
    /* a last full pass, and SQLite's own checkpoints back on */
    sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    spool_lock(c->s);
    sqlite3_wal_autocheckpoint(c->s->db, 1000);
    spool_unlock(c->s);
    sqlite3_close(c->db);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c);
}
