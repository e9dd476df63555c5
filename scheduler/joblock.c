/* joblock.c - per-job lock files with flock(2) and the holder's PID, and
 * with them the spool's lock across nodes.  See joblock.h.  Owns one
 * open descriptor per taken lock. */
#include "scheduler/joblock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "spool/spool.h"
#include "util/errs.h"
#include "util/fsutil.h"

struct joblock {
    int fd;
    struct spool *sp;              /* the spool's lock is held too */
    char job[129];
};

static bool job_name_ok(const char *job)
{
    size_t n = strlen(job);
    if (n == 0 || n > 128 || job[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = job[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
              (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
              ch == '-'))
            return false;
    }
    return true;
}

/* read_pid - the PID written in the lock file, 0 if none (yet) */
static pid_t read_pid(int fd)
{
    char b[32];
    ssize_t n;
    do
        n = pread(fd, b, sizeof b - 1, 0);
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return 0;
    b[n] = '\0';
    char *end;
    errno = 0;
    long v = strtol(b, &end, 10);
    if (errno || end == b || (*end != '\n' && *end != '\0') || v <= 0 ||
        v > 0x7fffffffL)
        return 0;
    return (pid_t)v;
}

/* holder_pid - read the holder's PID, allowing it a moment (at most
 * about 100 ms) to write it if it has only just taken the lock */
static pid_t holder_pid(int fd)
{
    for (int i = 0; i < 20; i++) {
        pid_t p = read_pid(fd);
        if (p > 0)
            return p;
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

/* write_pid - replace the file's content with our PID */
static int write_pid(int fd)
{
    char b[32];
    int n = snprintf(b, sizeof b, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) < 0)
        return -1;
    ssize_t w;
    do
        w = pwrite(fd, b, (size_t)n, 0);
    while (w < 0 && errno == EINTR);
    return w == n ? 0 : -1;
}

/* joblock_acquire - see joblock.h; *out owned by the caller */
int joblock_acquire(const char *dir, const char *job, struct joblock **out,
                    pid_t *holder, struct errs *e)
{
    *out = NULL;
    if (holder)
        *holder = 0;
    if (!dir || !job || !job_name_ok(job)) {
        errs_add(e, "joblock", "bad job name '%s' (letters, digits, '.', "
                 "'_', '-'; not starting with '.')", job ? job : "");
        return -1;
    }
    char name[160], path[4096];
    snprintf(name, sizeof name, "%s.lock", job);
    if (fs_join(path, sizeof path, dir, name) < 0) {
        errs_add(e, dir, "lock folder path too long");
        return -1;
    }
    if (fs_mkdirs(dir, 0700) < 0) {
        errs_add(e, dir, "cannot create lock folder: %s", strerror(errno));
        return -1;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        errs_add(e, path, "cannot open lock file: %s", strerror(errno));
        return -1;
    }
    int rc;
    do
        rc = flock(fd, LOCK_EX | LOCK_NB);
    while (rc < 0 && errno == EINTR);
    if (rc < 0) {
        int err = errno;
        if (err == EWOULDBLOCK) {
            if (holder)
                *holder = holder_pid(fd);
            close(fd);
            return 1;
        }
        errs_add(e, path, "cannot lock: %s", strerror(err));
        close(fd);
        return -1;
    }
    struct joblock *l = malloc(sizeof *l);
    if (!l || write_pid(fd) < 0) {
        if (l)
            errs_add(e, path, "cannot write PID: %s", strerror(errno));
        else
            errs_add(e, path, "out of memory");
        free(l);
        close(fd);      /* drops the lock */
        return -1;
    }
    l->fd = fd;
    l->sp = NULL;
    snprintf(l->job, sizeof l->job, "%s", job);
    *out = l;
    return 0;
}

int joblock_take(struct spool *sp, const char *job, struct joblock **out,
                 pid_t *holder, struct errs *e)
{
    char dir[4096];
    if (fs_join(dir, sizeof dir, spool_dir(sp), "locks") < 0) {
        errs_add(e, spool_dir(sp), "lock folder path too long");
        return -1;
    }
    /* the file first: it keeps this host's takers apart (advisory locks
     * stack within one session, so the spool's lock alone would let two
     * threads of one node in) */
    int r = joblock_acquire(dir, job, out, holder, e);
    if (r != 0)
        return r;
    r = spool_joblock_take(sp, job, e);
    if (r != 0) {
        joblock_release(*out);
        *out = NULL;
        return r < 0 ? -1 : 2;
    }
    (*out)->sp = sp;
    return 0;
}

void joblock_release(struct joblock *l)
{
    if (!l)
        return;
    if (l->sp)
        spool_joblock_release(l->sp, l->job);
    /* Clear the PID first, so a later reader never names a finished run. */
    if (ftruncate(l->fd, 0) < 0) {
        /* nothing to do: the lock still goes with the close below */
    }
    close(l->fd);
    free(l);
}
