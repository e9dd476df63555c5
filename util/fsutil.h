/* fsutil.h - durable file operations.
 *
 * Every file ferry hands on is written under a temporary name in the same
 * folder, fsynced, renamed over the final name, and then the folder is
 * fsynced, so a crash leaves either the old file or the whole new one. */
#ifndef FERRY_UTIL_FSUTIL_H
#define FERRY_UTIL_FSUTIL_H
#include <stddef.h>
#include <sys/types.h>

struct errs;

/* fs_write_atomic - write data to path via "path.tmp.<pid>"; mode e.g. 0600 */
int fs_write_atomic(const char *path, const void *data, size_t len,
                    mode_t mode, struct errs *e);
int fs_fsync_dir(const char *dir);               /* 0 ok, -1 errno */
int fs_fsync_parent(const char *path);           /* fsync dirname(path) */
/* fs_mkdirs - mkdir -p with mode for each created level; 0 ok */
int fs_mkdirs(const char *path, mode_t mode);
/* fs_read_file - whole file, NUL-terminated, capped at max bytes
 * (0 = 64 MiB).  Caller frees *out.  Returns 0, or -1 with e filled. */
int fs_read_file(const char *path, size_t max, char **out, size_t *len,
                 struct errs *e);
/* fs_secret_mode_ok - 1 if path is not readable/writable by group/other */
int fs_secret_mode_ok(const char *path);
/* fs_join - "dir/name" into out; returns -1 if it would not fit */
int fs_join(char *out, size_t outsz, const char *dir, const char *name);

#endif
