/* joblock.h - one runner per job, across the daemon and the CLI.
 *
 * The lock is an flock(2) on "<dir>/<job>.lock" (dir is the spool's
 * locks/ folder).  The kernel drops it when the holder exits or crashes,
 * so a lock is never stale.  flock locks belong to the open file, so two
 * threads of one process taking the same job also exclude each other.
 * The holder writes its PID into the file so that a second taker can say
 * "job nightly is running as PID 1234" (and the CLI exits 75, EX_TEMPFAIL).
 * The file is opened close-on-exec; a child forked without exec shares the
 * lock until it exits.  Lock files are never deleted (deleting them would
 * let two takers lock two different files). */
#ifndef FERRY_SCHEDULER_JOBLOCK_H
#define FERRY_SCHEDULER_JOBLOCK_H
#include <sys/types.h>

struct errs;
struct joblock;

/* joblock_acquire - try (without waiting) to take the lock for job.
 *   0: taken; *out must be released with joblock_release.
 *   1: held by someone else; *holder is their PID (0 if it could not be
 *      read, e.g. the holder is just starting).  *out is NULL.
 *  -1: error (bad job name, folder unusable), with e filled.
 * dir is created (0700) if missing.  holder may be NULL.  Job names are
 * [A-Za-z0-9._-], 1-128 characters, not starting with '.'. */
int joblock_acquire(const char *dir, const char *job, struct joblock **out,
                    pid_t *holder, struct errs *e);

/* joblock_release - clear the PID, drop the lock, free; NULL is a no-op */
void joblock_release(struct joblock *l);

#endif
