/* joblock.h - one runner per job, across the daemon, the CLI and the
 * nodes sharing a PostgreSQL spool.
 *
 * The lock is an flock(2) on "<dir>/<job>.lock" (dir is the spool's
 * locks/ folder).  The kernel drops it when the holder exits or crashes,
 * so a lock is never stale.  flock locks belong to the open file, so two
 * threads of one process taking the same job also exclude each other.
 * The holder writes its PID into the file so that a second taker can say
 * "job nightly is running as PID 1234" (and the CLI exits 75, EX_TEMPFAIL).
 * The file is opened close-on-exec; a child forked without exec shares the
 * lock until it exits.  Lock files are never deleted (deleting them would
 * let two takers lock two different files).
 *
 * joblock_take is what jobs use: the lock file in the spool's locks/
 * folder, then the spool's own part (spool_joblock_take): on a
 * PostgreSQL spool a session advisory lock, so one node of those sharing
 * the ledger runs the job; a node killed mid-job drops it with its
 * connection.  On SQLite the lock file is the whole lock. */
#ifndef FERRY_SCHEDULER_JOBLOCK_H
#define FERRY_SCHEDULER_JOBLOCK_H
#include <sys/types.h>

struct errs;
struct joblock;
struct spool;

/* joblock_acquire - try (without waiting) to take the lock for job.
 *   0: taken; *out must be released with joblock_release.
 *   1: held by someone else; *holder is their PID (0 if it could not be
 *      read, e.g. the holder is just starting).  *out is NULL.
 *  -1: error (bad job name, folder unusable), with e filled.
 * dir is created (0700) if missing.  holder may be NULL.  Job names are
 * [A-Za-z0-9._-], 1-128 characters, not starting with '.'. */
int joblock_acquire(const char *dir, const char *job, struct joblock **out,
                    pid_t *holder, struct errs *e);

/* joblock_take - the lock for job on spool sp (the folder's locks/ and,
 * on PostgreSQL, the spool's advisory lock).  0 taken (*out released
 * with joblock_release, before sp is closed); 1 held by another process
 * here (*holder its PID, or 0); 2 held by another node sharing the
 * spool (*holder 0); -1 error with e filled. */
int joblock_take(struct spool *sp, const char *job, struct joblock **out,
                 pid_t *holder, struct errs *e);

/* joblock_release - the spool's lock (if taken), then the file: clear
 * the PID, drop the lock, free; NULL is a no-op */
void joblock_release(struct joblock *l);

#endif
