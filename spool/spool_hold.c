/* spool_hold.c - one daemon per spool folder.
 *
 * `ferry serve` holds dir/daemon.lock with flock(LOCK_EX|LOCK_NB) for its
 * lifetime and writes its PID into it, so a second daemon on the same
 * spool refuses to start and says who holds it.  flock, not a PID file
 * alone: the kernel drops the lock when the holder dies (SIGKILL too), so
 * a stale file never blocks a restart.  The CLI tools do not take it:
 * they run beside a daemon and coordinate through the ledger's
 * transactions and the scheduler's job locks (docs/operator-guide.md).
 *
 * Owns: the lock file's descriptor. */
#include "spool/spool.h"
#include "util/errs.h"
#include "util/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

struct spool_hold {
    int fd;
};

/* holder_pid - the PID the file names, or 0 */
static long holder_pid(int fd)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *end = NULL;
    long v = strtol(buf, &end, 10);
    return end != buf && v > 0 ? v : 0;
}

struct spool_hold *spool_hold_take(const char *dir, bool *held,
                                   struct errs *e)
{
    char path[4096];
    *held = false;
    if (fs_join(path, sizeof path, dir, "daemon.lock") != 0) {
        errs_add(e, dir, "spool folder name too long");
        return NULL;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        errs_add(e, path, "cannot open the daemon lock: %s", strerror(errno));
        return NULL;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        if (err == EWOULDBLOCK) {
            *held = true;
            long pid = holder_pid(fd);
            if (pid)
                errs_add(e, dir, "spool is held by another ferry serve "
                         "(pid %ld, %s)", pid, path);
            else
                errs_add(e, dir, "spool is held by another ferry serve (%s)",
                         path);
        } else {
            errs_add(e, path, "cannot lock: %s", strerror(err));
        }
        close(fd);
        return NULL;
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n
        || fsync(fd) != 0) {
        errs_add(e, path, "cannot write the daemon lock: %s", strerror(errno));
        close(fd);
        return NULL;
    }
    struct spool_hold *h = malloc(sizeof *h);
    if (!h) {
        errs_add(e, dir, "out of memory");
        close(fd);
        return NULL;
    }
    h->fd = fd;
    return h;
}

void spool_hold_release(struct spool_hold *h)
{
    if (!h)
        return;
    if (ftruncate(h->fd, 0) != 0) {
        /* the lock goes with the descriptor; the stale PID is harmless */
    }
    close(h->fd);
    free(h);
}
