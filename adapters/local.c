/* local.c - the "local" transport: hands batch files to a folder on this
 * machine (the embedded default, the demo's "mainframe drop", or an NFS
 * mount a mainframe job watches) and fetches acknowledgement files from
 * another.
 *
 * Contract: the same rules as the sftp transport.  The file is copied to
 * a temporary name in the target folder, fsynced, its size checked, then
 * given its final name with renameat2(RENAME_NOREPLACE) (or link+unlink
 * where the filesystem lacks it) so an existing final name is never
 * overwritten unless allowed, and the folder is fsynced.  After a crash a
 * final name holding the same size and SHA-256 is "already sent"; a
 * leftover temporary file is removed and the copy restarts.  Errors map to
 * OK/RETRY/FAIL in local_outcome(). */
#include "adapters/adapter.h"
#include "config/config.h"
#include "util/crash.h"
#include "util/errs.h"
#include "util/fsutil.h"
#include "util/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#define LOCAL_BUF     (1u << 20)
#define LOCAL_MAXLIST 100000

struct local_ctx {
    char *dir;
    char *ack_dir;
    char *done_suffix;     /* NULL = no trigger file */
    bool allow_overwrite;
};

static const struct adapter_key local_keys[] = {
    ADAPTER_KEY("dir", ADAPTER_OPT_STR, true,
                "folder the batch files are handed to"),
    ADAPTER_KEY("ack-dir", ADAPTER_OPT_STR, false,
                "folder acknowledgement files are fetched from (default dir)"),
    ADAPTER_KEY("allow-overwrite", ADAPTER_OPT_BOOL, false,
                "replace an existing final name with different content"),
    ADAPTER_KEY("done-file", ADAPTER_OPT_STR, false,
                "true (\".done\") or a suffix: empty trigger file written after the rename"),
    ADAPTER_KEY_END,
};

/* local_outcome - the one mapping: errno (0 = content conflict) to outcome */
static enum adapter_outcome local_outcome(int err)
{
    switch (err) {
    case ENOSPC: case EDQUOT: case EIO: case EAGAIN: case EINTR: case ENOMEM:
    case EMFILE: case ENFILE: case EBUSY: case ESTALE: case ETIMEDOUT:
        return ADAPTER_RETRY;   /* full disk, flaky mount: try again later */
    default:
        return ADAPTER_FAIL;    /* no folder, permission, content conflict */
    }
}

static void local_fail(struct adapter_result *res, int err, const char *fmt,
                       const char *a, const char *b)
{
    char m[900];
    snprintf(m, sizeof m, fmt, a, b);
    if (err)
        adapter_result_set(res, local_outcome(err), "%s: %s", m, strerror(err));
    else
        adapter_result_set(res, local_outcome(err), "%s", m);
}

static void local_close(void *vctx)
{
    struct local_ctx *x = vctx;
    if (!x)
        return;
    free(x->dir);
    free(x->ack_dir);
    free(x->done_suffix);
    free(x);
}

static int local_init(void **ctx, const struct adapter_env *env, struct errs *e)
{
    const char *base = env->base_dir ? env->base_dir : ".";
    struct local_ctx *x = calloc(1, sizeof *x);
    if (!x) {
        errs_add(e, "local", "out of memory");
        return -1;
    }
    const char *v = kv_get(env->opts, "dir");
    if (!v || !*v) {
        errs_add(e, "dir", "local: dir is required");
        goto fail;
    }
    if (!(x->dir = config_path(base, v)))
        goto nomem;
    v = kv_get(env->opts, "ack-dir");
    if (!(x->ack_dir = v ? config_path(base, v) : strdup(x->dir)))
        goto nomem;
    if ((v = kv_get(env->opts, "allow-overwrite")) &&
        config_parse_bool(v, &x->allow_overwrite) != 0) {
        errs_add(e, "allow-overwrite", "local: allow-overwrite must be true "
                 "or false, not \"%s\"", v);
        goto fail;
    }
    if ((v = kv_get(env->opts, "done-file"))) {
        bool on;
        if (v[0] == '.' && v[1] && !strchr(v, '/')) {
            if (!(x->done_suffix = strdup(v)))
                goto nomem;
        } else if (config_parse_bool(v, &on) == 0) {
            if (on && !(x->done_suffix = strdup(".done")))
                goto nomem;
        } else {
            errs_add(e, "done-file", "local: done-file must be true, false or "
                     "a suffix starting with '.', not \"%s\"", v);
            goto fail;
        }
    }
    *ctx = x;
    return 0;
nomem:
    errs_add(e, "local", "out of memory");
fail:
    local_close(x);
    return -1;
}

/* sha256_file - hex digest of a local file; 0 ok, -1 errno set */
static int sha256_file(const char *path, char hex[65])
{
    static const char hx[] = "0123456789abcdef";
    int ret = -1, fd = open(path, O_RDONLY | O_CLOEXEC);
    char *buf = malloc(LOCAL_BUF);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (fd < 0 || !buf || !md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
        if (fd >= 0)
            errno = ENOMEM;
        goto out;
    }
    for (;;) {
        ssize_t r = read(fd, buf, LOCAL_BUF);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            goto out;
        if (r == 0)
            break;
        EVP_DigestUpdate(md, buf, (size_t)r);
    }
    unsigned char d[32];
    unsigned int dl = 0;
    EVP_DigestFinal_ex(md, d, &dl);
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = hx[d[i] >> 4];
        hex[2 * i + 1] = hx[d[i] & 15];
    }
    hex[64] = '\0';
    ret = 0;
out:
    if (fd >= 0) {
        int s = errno;
        close(fd);
        errno = s;
    }
    free(buf);
    EVP_MD_CTX_free(md);
    return ret;
}

/* copy_fd - copy in to a new file at path (O_EXCL), fsync; returns bytes
 * copied or -1 with errno set; the new file is removed on failure. */
static long long copy_to(int in, const char *path, mode_t mode)
{
    int out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (out < 0)
        return -1;
    char *buf = malloc(LOCAL_BUF);
    long long total = 0;
    if (!buf) {
        errno = ENOMEM;
        goto fail;
    }
    for (;;) {
        ssize_t r = read(in, buf, LOCAL_BUF);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            goto fail;
        if (r == 0)
            break;
        for (ssize_t o = 0; o < r;) {
            ssize_t w = write(out, buf + o, (size_t)(r - o));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                goto fail;
            o += w;
        }
        total += r;
    }
    if (fsync(out) != 0)
        goto fail;
    free(buf);
    buf = NULL;
    if (close(out) != 0) {
        out = -1;
        goto fail;
    }
    return total;
fail:;
    int s = errno;
    free(buf);
    if (out >= 0)
        close(out);
    unlink(path);
    errno = s;
    return -1;
}

/* place - give tmp the name final without ever replacing an existing
 * final unless overwrite; 0 ok, -1 errno set (EEXIST: final exists) */
static int place(const char *tmp, const char *final, bool overwrite)
{
    if (overwrite)
        return rename(tmp, final);
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
    if (link(tmp, final) != 0)       /* filesystem without RENAME_NOREPLACE */
        return -1;
    unlink(tmp);
    return 0;
}

/* touch_done - create the empty trigger file durably; 0 ok, -1 errno */
static int touch_done(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    if (fsync(fd) != 0) {
        int s = errno;
        close(fd);
        errno = s;
        return -1;
    }
    return close(fd);
}

static void local_transfer(void *vctx, const struct transfer_req *req,
                           struct adapter_result *res)
{
    struct local_ctx *x = vctx;
    char final[PATH_MAX], tmp[PATH_MAX], done[PATH_MAX];
    bool overwrite = x->allow_overwrite;
    int fd = -1;
    struct stat st, fst;
    memset(res, 0, sizeof *res);

    if (!*req->remote_name || strchr(req->remote_name, '/') ||
        strcmp(req->remote_name, "..") == 0 || strcmp(req->remote_name, ".") == 0 ||
        snprintf(final, sizeof final, "%s/%s", x->dir, req->remote_name) >= (int)sizeof final ||
        snprintf(tmp, sizeof tmp, "%s/.%s.part", x->dir, req->remote_name) >= (int)sizeof tmp ||
        snprintf(done, sizeof done, "%s%s", final,
                 x->done_suffix ? x->done_suffix : "") >= (int)sizeof done) {
        local_fail(res, 0, "bad remote name \"%s\"%s", req->remote_name, "");
        return;
    }
    fd = open(req->local_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        local_fail(res, errno, "cannot open %s%s", req->local_path, "");
        goto out;
    }
    if (req->size && (uint64_t)st.st_size != req->size) {
        adapter_result_set(res, ADAPTER_FAIL, "%s is %lld bytes but the "
                           "ledger says %llu; not sent", req->local_path,
                           (long long)st.st_size,
                           (unsigned long long)req->size);
        goto out;
    }
    if (stat(final, &fst) == 0) {
        char hex[65];
        bool same = fst.st_size == st.st_size;
        if (same && req->sha256_hex && *req->sha256_hex) {
            if (sha256_file(final, hex) != 0) {
                local_fail(res, errno, "cannot read back %s%s", final, "");
                goto out;
            }
            same = strcasecmp(hex, req->sha256_hex) == 0;
        }
        if (same) {
            unlink(tmp);
            if (x->done_suffix && !req->companion && touch_done(done) != 0) {
                local_fail(res, errno, "cannot write %s%s", done, "");
                goto out;
            }
            fs_fsync_dir(x->dir);
            adapter_result_set(res, ADAPTER_OK, "already present on the far "
                               "side (same size and SHA-256)");
            res->already = true;
            snprintf(res->receipt, sizeof res->receipt, "%.255s", final);
            goto out;
        }
        if (!overwrite) {
            local_fail(res, 0, "final name exists with different content: %s"
                       "%s; not overwritten (allow-overwrite is off)", final, "");
            goto out;
        }
    } else if (errno != ENOENT) {
        local_fail(res, errno, "cannot stat %s%s", final, "");
        goto out;
    }
    if (unlink(tmp) != 0 && errno != ENOENT) {   /* leftover from a crash */
        local_fail(res, errno, "cannot remove leftover %s%s", tmp, "");
        goto out;
    }
    long long n = copy_to(fd, tmp, 0644);
    if (n < 0) {
        local_fail(res, errno, "cannot copy to %s%s", tmp, "");
        goto out;
    }
    if (stat(tmp, &fst) != 0 || fst.st_size != st.st_size || n != st.st_size) {
        int s = errno;
        unlink(tmp);
        adapter_result_set(res, ADAPTER_RETRY, "size of %s after copy is %lld, "
                           "expected %lld%s%s", tmp, (long long)fst.st_size,
                           (long long)st.st_size, s ? ": " : "",
                           s ? strerror(s) : "");
        goto out;
    }
    crash_point("local-before-rename");
    if (place(tmp, final, overwrite) != 0) {
        int s = errno;
        unlink(tmp);
        if (s == EEXIST)
            local_fail(res, 0, "final name %s appeared during the copy; not "
                       "overwritten%s", final, "");
        else
            local_fail(res, s, "cannot rename to %s%s", final, "");
        goto out;
    }
    if (fs_fsync_dir(x->dir) != 0) {
        local_fail(res, errno, "cannot fsync folder %s%s", x->dir, "");
        goto out;
    }
    crash_point("local-after-rename");
    if (x->done_suffix && !req->companion &&
        (touch_done(done) != 0 || fs_fsync_dir(x->dir) != 0)) {
        local_fail(res, errno, "cannot write %s%s", done, "");
        goto out;
    }
    adapter_result_set(res, ADAPTER_OK, "copied %lld bytes to %s", n, final);
    snprintf(res->receipt, sizeof res->receipt, "%.255s", final);
out:
    if (fd >= 0)
        close(fd);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void local_list(void *vctx, const char *glob, char ***names, size_t *n,
                       struct adapter_result *res)
{
    struct local_ctx *x = vctx;
    char **v = NULL;
    size_t nv = 0, cap = 0;
    *names = NULL;
    *n = 0;
    memset(res, 0, sizeof *res);
    DIR *d = opendir(x->ack_dir);
    if (!d) {
        local_fail(res, errno, "cannot open folder %s%s", x->ack_dir, "");
        return;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        struct stat st;
        if (fnmatch(glob, de->d_name, FNM_PERIOD) != 0)
            continue;
        if (fstatat(dirfd(d), de->d_name, &st, 0) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (nv == LOCAL_MAXLIST) {
            local_fail(res, 0, "too many files match \"%s\" in %s", glob, x->ack_dir);
            goto fail;
        }
        if (nv == cap) {
            cap = cap ? cap * 2 : 16;
            char **nw = realloc(v, cap * sizeof *v);
            if (!nw)
                goto nomem;
            v = nw;
        }
        if (!(v[nv] = strdup(de->d_name)))
            goto nomem;
        nv++;
    }
    closedir(d);
    if (nv)
        qsort(v, nv, sizeof *v, cmp_names);
    *names = v;
    *n = nv;
    adapter_result_set(res, ADAPTER_OK, "%zu file(s) match %s in %s", nv,
                       glob, x->ack_dir);
    return;
nomem:
    local_fail(res, ENOMEM, "listing %s%s", x->ack_dir, "");
fail:
    closedir(d);
    for (size_t i = 0; i < nv; i++)
        free(v[i]);
    free(v);
}

static void local_fetch(void *vctx, const char *remote_name,
                        const char *local_path, struct adapter_result *res)
{
    struct local_ctx *x = vctx;
    char src[PATH_MAX], tmp[PATH_MAX];
    memset(res, 0, sizeof *res);
    if (!*remote_name || strchr(remote_name, '/') || strcmp(remote_name, "..") == 0 ||
        snprintf(src, sizeof src, "%s/%s", x->ack_dir, remote_name) >= (int)sizeof src ||
        snprintf(tmp, sizeof tmp, "%s.part.%ld", local_path, (long)getpid()) >= (int)sizeof tmp) {
        local_fail(res, 0, "bad file name \"%s\"%s", remote_name, "");
        return;
    }
    int fd = open(src, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        local_fail(res, errno, "cannot open %s%s", src, "");
        return;
    }
    long long n = copy_to(fd, tmp, 0600);
    int s = errno;
    close(fd);
    if (n < 0) {
        local_fail(res, s, "cannot copy %s to %s", src, tmp);
        return;
    }
    if (rename(tmp, local_path) != 0 || fs_fsync_parent(local_path) != 0) {
        s = errno;
        unlink(tmp);
        local_fail(res, s, "cannot rename to %s%s", local_path, "");
        return;
    }
    adapter_result_set(res, ADAPTER_OK, "fetched %s (%lld bytes)", src, n);
}

/* local_describe - "local /srv/drop" */
static void local_describe(void *vctx, char *out, size_t outsz)
{
    const struct local_ctx *x = vctx;
    snprintf(out, outsz, "local %s", x->dir ? x->dir : "");
}

const struct adapter adapter_local = {
    .name = "local",
    .description = "hand batch files to a local folder (temporary name, "
                   "fsync, size check, no-replace rename) and fetch acks",
    .kind = ADAPTER_TRANSPORT,
    .keys = local_keys,
    .map_keys = NULL,
    .init = local_init,
    .close = local_close,
    .transfer = local_transfer,
    .list = local_list,
    .fetch = local_fetch,
    .describe = local_describe,
};
