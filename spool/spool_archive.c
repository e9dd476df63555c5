/* spool_archive.c - retention of the spool's archive/ folder: the batch
 * files sent and the acknowledgement files applied, kept per target in
 * archive/<target>/, are removed once older than the retention window, so
 * personal data in them does not outlive the ledger's own purge.  Only
 * regular files one level down are touched; the folders stay. */
#include "spool/spool_int.h"
#include "util/errs.h"
#include "util/fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ARCHIVE_MAX_ENTRIES 1000000   /* per folder, per call */

/* purge_dir - files in dir last modified before before_ms */
static int purge_dir(const char *dir, int64_t before_ms,
                     struct spool_archive_purged *out, struct errs *e)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *de;
    int rc = 0;
    for (size_t seen = 0; (de = readdir(d)) && seen < ARCHIVE_MAX_ENTRIES;
         seen++) {
        char p[PATH_MAX];
        struct stat st;
        if (de->d_name[0] == '.' || fs_join(p, sizeof p, dir, de->d_name) ||
            lstat(p, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        int64_t mt = (int64_t)st.st_mtim.tv_sec * 1000 +
                     st.st_mtim.tv_nsec / 1000000;
        if (mt >= before_ms)
            continue;
        if (unlink(p) != 0) {
            errs_add(e, p, "cannot remove: %s", strerror(errno));
            rc = -1;
            continue;
        }
        out->files++;
        out->bytes += (uint64_t)st.st_size;
    }
    closedir(d);
    if (out->files)
        fs_fsync_dir(dir);
    return rc;
}

int spool_archive_purge(struct spool *s, int64_t before_ms,
                        struct spool_archive_purged *out, struct errs *e)
{
    memset(out, 0, sizeof *out);
    char adir[PATH_MAX];
    if (snprintf(adir, sizeof adir, "%s/archive", spool_dir(s)) >=
        (int)sizeof adir) {
        errs_add(e, spool_dir(s), "path too long");
        return -1;
    }
    DIR *d = opendir(adir);
    if (!d)
        return errno == ENOENT ? 0 : (errs_add(e, adir, "cannot read: %s",
                                               strerror(errno)), -1);
    struct dirent *de;
    int rc = 0;
    for (size_t seen = 0; (de = readdir(d)) && seen < ARCHIVE_MAX_ENTRIES;
         seen++) {
        char p[PATH_MAX];
        struct stat st;
        if (de->d_name[0] == '.' || fs_join(p, sizeof p, adir, de->d_name) ||
            lstat(p, &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        if (purge_dir(p, before_ms, out, e) != 0)
            rc = -1;
    }
    closedir(d);
    return rc;
}
