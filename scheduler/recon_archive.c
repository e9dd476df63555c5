/* recon_archive.c - an applied acknowledgement file into the spool's
 * archive/<target>/ folder.
 *
 * The applied file goes into archive/<target>/, beside the batch files
 * sent: fetched files (in inbound/) are moved, given files copied.  An
 * archived file of the same name is never replaced: the SHA-256 prefix
 * tells them apart.  A copy (the whole file written and fsynced, the
 * slow part for a big file) is made while the ledger applies the file,
 * in a thread, under a pending name; once the apply has committed it is
 * renamed into place, and when the apply fails it is removed.  A crash
 * between the two leaves only a pending file, which the archive's
 * retention removes with the rest (spool_archive.c). */
#include "scheduler/recon_int.h"
#include "spool/spool.h"
#include "util/errs.h"
#include "util/fsutil.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* archive_copy - the thread: data written and fsynced as j->pending */
static void *archive_copy(void *v)
{
    struct recon_archive *j = v;
    j->rc = fs_write_atomic(j->pending, j->data, j->len, 0600, &j->e);
    return NULL;
}

/* recon_archive_start - see recon_int.h; the folder made and, for a given file, the copy begun
 * (written in place of the thread when one cannot start).  0, or -1 with
 * j->e (the apply goes on: archiving is a warning, never a failure). */
int recon_archive_start(struct recon_archive *j)
{
    if (snprintf(j->adir, sizeof j->adir, "%s/archive/%s", spool_dir(j->sp),
                 j->target) >= (int)sizeof j->adir ||
        fs_mkdirs(j->adir, 0700) != 0) {
        errs_add(&j->e, j->adir, "cannot create the archive folder");
        return j->rc = -1;
    }
    if (j->move)
        return j->rc = 0;
    if (snprintf(j->pending, sizeof j->pending, "%s/%s.%.12s.pending",
                 j->adir, j->name, j->sha) >= (int)sizeof j->pending) {
        errs_add(&j->e, j->adir, "archive name too long");
        return j->rc = -1;
    }
    if (pthread_create(&j->th, NULL, archive_copy, j) == 0)
        j->started = true;
    else
        archive_copy(j);
    return 0;
}

/* recon_archive_finish - see recon_int.h; after the apply: the copy waited for, then renamed
 * into place (applied) or removed (not); a fetched file is moved.  The
 * archived path (caller frees), or NULL with j->e. */
char *recon_archive_finish(struct recon_archive *j, bool applied)
{
    if (j->started) {
        pthread_join(j->th, NULL);
        j->started = false;
    }
    if (j->rc != 0 || !applied) {
        if (j->rc == 0 && !j->move)
            unlink(j->pending);
        return NULL;
    }
    char dst[PATH_MAX];
    if (snprintf(dst, sizeof dst, "%s/%s", j->adir, j->name) >= (int)sizeof dst)
        return NULL;
    if (access(dst, F_OK) == 0 &&
        snprintf(dst, sizeof dst, "%s/%s.%.12s", j->adir, j->name, j->sha)
        >= (int)sizeof dst)
        return NULL;
    const char *from = j->move ? j->path : j->pending;
    if (rename(from, dst) != 0 || fs_fsync_dir(j->adir) != 0) {
        errs_add(&j->e, from, "cannot move to %s: %s", dst, strerror(errno));
        if (!j->move)
            unlink(j->pending);
        return NULL;
    }
    if (j->move) {
        char idir[PATH_MAX];
        snprintf(idir, sizeof idir, "%s/inbound", spool_dir(j->sp));
        fs_fsync_dir(idir);
    }
    return strdup(dst);
}
