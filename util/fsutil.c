/* fsutil.c - durable file operations.  See fsutil.h. */
#include "util/fsutil.h"
#include "util/errs.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fs_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

int fs_fsync_parent(const char *path)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return fs_fsync_dir(dirname(tmp));
}

int fs_join(char *out, size_t outsz, const char *dir, const char *name)
{
    int n = snprintf(out, outsz, "%s/%s", dir, name);
    return (n < 0 || (size_t)n >= outsz) ? -1 : 0;
}

int fs_write_atomic(const char *path, const void *data, size_t len,
                    mode_t mode, struct errs *e)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid())
        >= (int)sizeof tmp) {
        errs_add(e, path, "path too long");
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        errs_add(e, tmp, "cannot create: %s", strerror(errno));
        return -1;
    }
    const char *p = data;
    size_t left = len;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            errs_add(e, tmp, "write failed: %s", strerror(errno));
            goto fail;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0) {
        errs_add(e, tmp, "fsync failed: %s", strerror(errno));
        goto fail;
    }
    if (close(fd) != 0) {
        fd = -1;
        errs_add(e, tmp, "close failed: %s", strerror(errno));
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        errs_add(e, path, "rename failed: %s", strerror(errno));
        goto fail;
    }
    if (fs_fsync_parent(path) != 0) {
        errs_add(e, path, "fsync of folder failed: %s", strerror(errno));
        return -1;
    }
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return -1;
}

int fs_mkdirs(const char *path, mode_t mode)
{
    char tmp[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, mode) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(tmp, mode) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

int fs_read_file(const char *path, size_t max, char **out, size_t *len,
                 struct errs *e)
{
    if (max == 0)
        max = 64u << 20;
    *out = NULL;
    if (len)
        *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        errs_add(e, path, "cannot open: %s", strerror(errno));
        return -1;
    }
    size_t cap = 4096, n = 0;
    char *p = malloc(cap);
    if (!p)
        goto nomem;
    for (;;) {
        if (n + 1 >= cap) {
            if (cap > max) {
                errs_add(e, path, "file larger than %zu bytes", max);
                goto fail;
            }
            cap *= 2;
            char *q = realloc(p, cap);
            if (!q)
                goto nomem;
            p = q;
        }
        ssize_t r = read(fd, p + n, cap - n - 1);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            errs_add(e, path, "read failed: %s", strerror(errno));
            goto fail;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > max) {
            errs_add(e, path, "file larger than %zu bytes", max);
            goto fail;
        }
    }
    close(fd);
    p[n] = '\0';
    *out = p;
    if (len)
        *len = n;
    return 0;
nomem:
    errs_add(e, path, "out of memory");
fail:
    free(p);
    close(fd);
    return -1;
}

int fs_secret_mode_ok(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return 0;
    return (st.st_mode & 077) == 0;
}
