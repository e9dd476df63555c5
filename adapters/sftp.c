/* sftp.c - the "sftp" transport: hands batch files to a mainframe's SFTP
 * server and fetches its acknowledgement files (libssh2).
 *
 * Contract (issue 4): a file is uploaded under a temporary name, fsynced
 * (fsync@openssh.com when offered), its remote size checked, then renamed
 * to the final name.  The far side never sees half a file under the final
 * name, and an existing final name is never overwritten unless the target
 * allows it.  After a crash, transfer() looks first: a final name already
 * holding the same size and SHA-256 is "already sent" (OK, not re-sent); a
 * leftover temporary file is removed and the upload restarts.
 *
 * Every failure is recorded as a struct sftp_error and turned into
 * OK/RETRY/FAIL/STOP by sftp_outcome(), the one mapping function (STOP:
 * the host key or the login is refused, whatever the file).  One SSH
 * connection per call: a night batch sends a few files, and a fresh
 * session never inherits a half-dead one. */
#include "adapters/adapter.h"
#include "adapters/handover.h"
#include "util/clock.h"
#include "adapters/sftp.h"
#include "config/config.h"
#include "util/crash.h"
#include "util/errs.h"
#include "util/fsutil.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#ifndef SFTP_IOBUF
#define SFTP_IOBUF   (1u << 20)   /* upload window: 0.5-1 MiB of writes in flight (measured best) */
#endif
#define SFTP_RDBUF   (1u << 20)
#define SFTP_MAXLIST 100000

struct sftp_ctx {
    struct sftp_settings s;
    char *remote_dir;        /* "" = login folder */
    char *ack_dir;
    char *done_suffix;       /* NULL = no trigger file */
    char *tmp_prefix;
    char *tmp_suffix;
    bool allow_overwrite;
    long chmod;              /* -1 = leave as created */
    long port;               /* the port option, read by the key table */
};

extern const struct adapter adapter_sftp;

static const struct adapter_key sftp_keys[] = {
    ADAPTER_KEY("host", ADAPTER_OPT_STR, true,
                "server name or address"),
    ADAPTER_OPT("port", ADAPTER_OPT_INT, "22", struct sftp_ctx, port,
                1, 65535, "TCP port (default 22)"),
    ADAPTER_KEY("user", ADAPTER_OPT_STR, true,
                "login name"),
    ADAPTER_KEY("key-file", ADAPTER_OPT_SECRET, false,
                "private key file (OpenSSH or PEM format)"),
    ADAPTER_KEY("passphrase-file", ADAPTER_OPT_SECRET, false,
                "passphrase of key-file (file or env:NAME)"),
    ADAPTER_KEY("password-file", ADAPTER_OPT_SECRET, false,
                "password (file or env:NAME) when no key-file"),
    ADAPTER_KEY("known-hosts", ADAPTER_OPT_STR, false,
                "known_hosts file holding the server's host key"),
    ADAPTER_OPT("accept-any-host-key", ADAPTER_OPT_BOOL, "false",
                struct sftp_ctx, s.accept_any_host_key, 0, 0,
                "true to skip the host key check (logs a warning every time)"),
    ADAPTER_KEY("remote-dir", ADAPTER_OPT_STR, false,
                "folder the batch files go to"),
    ADAPTER_KEY("ack-dir", ADAPTER_OPT_STR, false,
                "folder acknowledgement files are fetched from (default remote-dir)"),
    ADAPTER_OPT("allow-overwrite", ADAPTER_OPT_BOOL, "false",
                struct sftp_ctx, allow_overwrite, 0, 0,
                "replace an existing final name with different content"),
    ADAPTER_KEY("chmod", ADAPTER_OPT_STR, false,
                "octal mode set on the file before it gets its final name"),
    ADAPTER_KEY("done-file", ADAPTER_OPT_STR, false,
                "true (\".done\") or a suffix: empty trigger file written after the rename"),
    ADAPTER_OPT("connect-timeout", ADAPTER_OPT_DURATION, "15s",
                struct sftp_ctx, s.connect_timeout_ms, 1, 24LL * 3600 * 1000,
                "TCP connect deadline, e.g. 10s (default 15s)"),
    ADAPTER_OPT("timeout", ADAPTER_OPT_DURATION, "60s", struct sftp_ctx,
                s.timeout_ms, 1, 24LL * 3600 * 1000,
                "deadline for each SSH exchange, e.g. 60s (default 60s)"),
    ADAPTER_KEY("tmp-prefix", ADAPTER_OPT_STR, false,
                "prefix of the temporary remote name (default \".\")"),
    ADAPTER_KEY("tmp-suffix", ADAPTER_OPT_STR, false,
                "suffix of the temporary remote name (default \".part\")"),
    ADAPTER_KEY_END,
};

/* ---- the one error mapping ------------------------------------------- */

/* sftp_outcome - what a recorded failure means for the scheduler */
static enum adapter_outcome sftp_outcome(const struct sftp_error *e)
{
    switch (e->fault) {
    case SFTP_FAULT_NONE:
        return ADAPTER_OK;
    case SFTP_FAULT_RESOLVE:
        return e->code == EAI_AGAIN ? ADAPTER_RETRY : ADAPTER_FAIL;
    case SFTP_FAULT_CONNECT:     /* refused, timed out, unreachable, reset */
    case SFTP_FAULT_VERIFY:      /* size after upload differs: send again */
        return ADAPTER_RETRY;
    case SFTP_FAULT_SSH:
        switch (e->code) {
        case LIBSSH2_ERROR_METHOD_NOT_SUPPORTED:  /* no common algorithm */
        case LIBSSH2_ERROR_BAD_USE:
        case LIBSSH2_ERROR_INVAL:
            return ADAPTER_FAIL;
        default:        /* socket send/recv, timeout, disconnect, EOF */
            return ADAPTER_RETRY;
        }
    case SFTP_FAULT_HOSTKEY:     /* unknown or changed host key */
    case SFTP_FAULT_AUTH:        /* login refused, key unusable */
    case SFTP_FAULT_CONFIG:      /* no credentials, unreadable secret */
        /* no file can fix these: the target stops, nothing was sent */
        return ADAPTER_STOP;
    case SFTP_FAULT_CONTENT:     /* this file's final name is taken */
        return ADAPTER_FAIL;
    case SFTP_FAULT_LOCAL:
        switch (e->code) {
        case ENOSPC: case EDQUOT: case EIO: case EAGAIN: case EINTR:
        case ENOMEM: case EMFILE: case ENFILE:
            return ADAPTER_RETRY;
        default:
            return ADAPTER_FAIL;
        }
    case SFTP_FAULT_FX:
        switch (e->fx) {
        case LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM:
        case LIBSSH2_FX_QUOTA_EXCEEDED:
        case LIBSSH2_FX_EOF:
        case LIBSSH2_FX_NO_CONNECTION:
        case LIBSSH2_FX_CONNECTION_LOST:
        case LIBSSH2_FX_LOCK_CONFLICT:
            return ADAPTER_RETRY;
        case LIBSSH2_FX_FAILURE:
            /* protocol v3 servers (OpenSSH) report ENOSPC and EDQUOT on
             * write/fsync/close as plain FAILURE; elsewhere (rename onto an
             * existing name, mkdir) it is permanent. */
            return e->step == SFTP_STEP_WRITE ? ADAPTER_RETRY : ADAPTER_FAIL;
        default:  /* permission denied, no such file/path, not a folder... */
            return ADAPTER_FAIL;
        }
    }
    return ADAPTER_FAIL;
}

static void sftp_result(struct adapter_result *res, const struct sftp_error *e)
{
    enum adapter_outcome o = sftp_outcome(e);
    if (e->fault == SFTP_FAULT_FX && o == ADAPTER_RETRY &&
        e->fx == LIBSSH2_FX_FAILURE)
        adapter_result_set(res, o, "%s (on a write this is how the server "
                           "reports a full disk or quota)", e->msg);
    else
        adapter_result_set(res, o, "%s", e->msg);
}

/* ---- options ---------------------------------------------------------- */

static void wipe_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

static void sftp_close(void *vctx)
{
    struct sftp_ctx *x = vctx;
    if (!x)
        return;
    free(x->s.host);
    free(x->s.user);
    free(x->s.key_file);
    wipe_free(x->s.passphrase);
    wipe_free(x->s.password);
    free(x->s.known_hosts);
    free(x->remote_dir);
    free(x->ack_dir);
    free(x->done_suffix);
    free(x->tmp_prefix);
    free(x->tmp_suffix);
    free(x);
}

static int sftp_init(void **ctx, const struct adapter_env *env, struct errs *e)
{
    const struct kvlist *o = env->opts;
    const char *base = env->base_dir ? env->base_dir : ".";
    struct sftp_ctx *x = calloc(1, sizeof *x);
    int bad = 0;
    size_t len;
    if (!x) {
        errs_add(e, "sftp", "out of memory");
        return -1;
    }
    x->chmod = -1;
    /* the typed keys (port, timeouts, booleans) are read by the table */
    if (adapter_opts_read(&adapter_sftp, sftp_keys, o, adapter_handover_keys,
                          x, "sftp", NULL, 0, e) != 0)
        bad = 1;
    x->s.port = (int)x->port;
    const char *v;
    if ((v = kv_get(o, "host")) && !*v) {       /* missing: the table says */
        errs_add(e, "host", "sftp: host is required");
        bad = 1;
    } else if (v && !(x->s.host = strdup(v)))
        goto nomem;
    if ((v = kv_get(o, "user")) && !*v) {
        errs_add(e, "user", "sftp: user is required");
        bad = 1;
    } else if (v && !(x->s.user = strdup(v)))
        goto nomem;
    if ((v = kv_get(o, "key-file"))) {
        if (!(x->s.key_file = config_path(base, v)))
            goto nomem;
        if ((v = kv_get(o, "passphrase-file")) &&
            config_read_secret(base, v, &x->s.passphrase, &len, e) != 0)
            bad = 1;
    } else if ((v = kv_get(o, "password-file"))) {
        if (config_read_secret(base, v, &x->s.password, &len, e) != 0)
            bad = 1;
    } else {
        errs_add(e, "key-file", "sftp: key-file or password-file is required");
        bad = 1;
    }
    if ((v = kv_get(o, "known-hosts")) && !(x->s.known_hosts = config_path(base, v)))
        goto nomem;
    if (!x->s.known_hosts && !x->s.accept_any_host_key) {
        errs_add(e, "known-hosts", "sftp: known-hosts is required (there is "
                 "no unchecked default; accept-any-host-key=\"true\" skips the "
                 "check and logs a warning on every connection)");
        bad = 1;
    }
    if ((v = kv_get(o, "chmod"))) {
        char *end;
        errno = 0;
        x->chmod = strtol(v, &end, 8);
        if (errno || end == v || *end || x->chmod < 0 || x->chmod > 07777) {
            errs_add(e, "chmod", "sftp: chmod must be octal like 0640, not \"%s\"", v);
            bad = 1;
        }
    }
    if ((v = kv_get(o, "done-file"))) {
        bool on;
        if (v[0] == '.' && v[1] != '\0' && !strchr(v, '/')) {
            if (!(x->done_suffix = strdup(v)))
                goto nomem;
        } else if (config_parse_bool(v, &on) == 0) {
            if (on && !(x->done_suffix = strdup(".done")))
                goto nomem;
        } else {
            errs_add(e, "done-file", "sftp: done-file must be true, false or "
                     "a suffix starting with '.', not \"%s\"", v);
            bad = 1;
        }
    }
    v = kv_get(o, "remote-dir");
    if (!(x->remote_dir = strdup(v ? v : "")))
        goto nomem;
    v = kv_get(o, "ack-dir");
    if (!(x->ack_dir = strdup(v ? v : x->remote_dir)))
        goto nomem;
    if (!(x->tmp_prefix = strdup((v = kv_get(o, "tmp-prefix")) ? v : ".")) ||
        !(x->tmp_suffix = strdup((v = kv_get(o, "tmp-suffix")) ? v : ".part")))
        goto nomem;
    if (!*x->tmp_prefix && !*x->tmp_suffix) {
        errs_add(e, "tmp-suffix", "sftp: tmp-prefix and tmp-suffix cannot "
                 "both be empty (the temporary name would be the final one)");
        bad = 1;
    }
    if (bad) {
        sftp_close(x);
        return -1;
    }
    *ctx = x;
    return 0;
nomem:
    errs_add(e, "sftp", "out of memory");
    sftp_close(x);
    return -1;
}

/* ---- remote helpers --------------------------------------------------- */

/* remote_path - "dir/name" (or "name" when dir is empty); -1 if too long */
static int remote_path(char *out, size_t sz, const char *dir, const char *pre,
                       const char *name, const char *suf)
{
    size_t dl = strlen(dir);
    const char *sep = dl == 0 || dir[dl - 1] == '/' ? "" : "/";
    int n = snprintf(out, sz, "%s%s%s%s%s", dir, sep, pre, name, suf);
    return n < 0 || (size_t)n >= sz ? -1 : 0;
}

/* rstat - 0 exists (attrs filled), 1 absent, -1 error recorded */
static int rstat(struct sftp_conn *c, const char *path,
                 LIBSSH2_SFTP_ATTRIBUTES *a, struct sftp_error *err)
{
    int rc = libssh2_sftp_stat_ex(c->sftp, path, (unsigned)strlen(path),
                                  LIBSSH2_SFTP_STAT, a);
    if (rc == 0)
        return 0;
    if (rc == LIBSSH2_ERROR_SFTP_PROTOCOL &&
        libssh2_sftp_last_error(c->sftp) == LIBSSH2_FX_NO_SUCH_FILE)
        return 1;
    sftp_record_ssh(c, err, SFTP_STEP_STAT, rc, path);
    return -1;
}

/* rremove - unlink; absent is fine.  0 ok, -1 error recorded */
static int rremove(struct sftp_conn *c, const char *path,
                   struct sftp_error *err)
{
    int rc = libssh2_sftp_unlink_ex(c->sftp, path, (unsigned)strlen(path));
    if (rc == 0 || (rc == LIBSSH2_ERROR_SFTP_PROTOCOL &&
                    libssh2_sftp_last_error(c->sftp) == LIBSSH2_FX_NO_SUCH_FILE))
        return 0;
    sftp_record_ssh(c, err, SFTP_STEP_REMOVE, rc, path);
    return -1;
}

static void hex32(const unsigned char *md, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hx[md[i] >> 4];
        out[2 * i + 1] = hx[md[i] & 15];
    }
    out[64] = '\0';
}

/* rsha256 - hash a remote file; 0 ok, 1 not readable to us, -1 error */
static int rsha256(struct sftp_conn *c, const char *path, char hex[65],
                   struct sftp_error *err)
{
    int ret = -1;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    char *buf = malloc(SFTP_RDBUF);
    LIBSSH2_SFTP_HANDLE *h = NULL;
    if (!md || !buf || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
        sftp_record(err, SFTP_FAULT_LOCAL, SFTP_STEP_READ, ENOMEM,
                    "out of memory hashing %s", path);
        goto out;
    }
    h = libssh2_sftp_open_ex(c->sftp, path, (unsigned)strlen(path),
                             LIBSSH2_FXF_READ, 0, LIBSSH2_SFTP_OPENFILE);
    if (!h) {
        int rc = libssh2_session_last_errno(c->session);
        if (rc == LIBSSH2_ERROR_SFTP_PROTOCOL &&
            libssh2_sftp_last_error(c->sftp) == LIBSSH2_FX_PERMISSION_DENIED) {
            ret = 1;
            goto out;
        }
        sftp_record_ssh(c, err, SFTP_STEP_OPEN, rc, path);
        goto out;
    }
    for (;;) {
        ssize_t r = libssh2_sftp_read(h, buf, SFTP_RDBUF);
        if (r == 0)
            break;
        if (r < 0) {
            sftp_record_ssh(c, err, SFTP_STEP_READ, (int)r, path);
            goto out;
        }
        EVP_DigestUpdate(md, buf, (size_t)r);
    }
    unsigned char d[32];
    unsigned int dl = 0;
    EVP_DigestFinal_ex(md, d, &dl);
    hex32(d, hex);
    ret = 0;
out:
    if (h)
        libssh2_sftp_close_handle(h);
    free(buf);
    EVP_MD_CTX_free(md);
    return ret;
}

/* rtouch - create an empty file (the .done trigger); 0 ok */
static int rtouch(struct sftp_conn *c, const char *path, long mode,
                  struct sftp_error *err)
{
    LIBSSH2_SFTP_HANDLE *h = libssh2_sftp_open_ex(
        c->sftp, path, (unsigned)strlen(path),
        LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC,
        mode >= 0 ? mode : 0644, LIBSSH2_SFTP_OPENFILE);
    if (!h) {
        sftp_record_ssh(c, err, SFTP_STEP_OPEN,
                        libssh2_session_last_errno(c->session), path);
        return -1;
    }
    int rc = libssh2_sftp_close_handle(h);
    if (rc != 0) {
        sftp_record_ssh(c, err, SFTP_STEP_WRITE, rc, path);
        return -1;
    }
    return 0;
}

/* upload - stream fd into a new remote file with many writes in flight.
 * libssh2_sftp_write queues the whole buffer it is given as 30000-byte
 * packets and returns what was acknowledged; the next call must start
 * with the unacknowledged bytes, so the window slides over one buffer
 * that is refilled from the file as it drains. */
static int upload(struct sftp_conn *c, int fd, const char *path,
                  uint64_t *sent, struct sftp_error *err)
{
    int ret = -1;
    char *buf = malloc(SFTP_IOBUF);
    LIBSSH2_SFTP_HANDLE *h = NULL;
    size_t off = 0, fill = 0;
    bool eof = false;
    *sent = 0;
    if (!buf) {
        sftp_record(err, SFTP_FAULT_LOCAL, SFTP_STEP_WRITE, ENOMEM,
                    "out of memory");
        return -1;
    }
    h = libssh2_sftp_open_ex(c->sftp, path, (unsigned)strlen(path),
                             LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT |
                             LIBSSH2_FXF_TRUNC | LIBSSH2_FXF_EXCL, 0644,
                             LIBSSH2_SFTP_OPENFILE);
    if (!h) {
        sftp_record_ssh(c, err, SFTP_STEP_OPEN,
                        libssh2_session_last_errno(c->session), path);
        goto out;
    }
    for (;;) {
        if (off >= SFTP_IOBUF / 2) {
            memmove(buf, buf + off, fill - off);
            fill -= off;
            off = 0;
        }
        while (!eof && fill < SFTP_IOBUF) {
            ssize_t r = read(fd, buf + fill, SFTP_IOBUF - fill);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0) {
                sftp_record(err, SFTP_FAULT_LOCAL, SFTP_STEP_WRITE, errno,
                            "reading the local file: %s", strerror(errno));
                goto out;
            }
            if (r == 0)
                eof = true;
            fill += (size_t)r;
        }
        if (off == fill)
            break;
        ssize_t w = libssh2_sftp_write(h, buf + off, fill - off);
        if (w < 0) {
            sftp_record_ssh(c, err, SFTP_STEP_WRITE, (int)w, path);
            goto out;
        }
        off += (size_t)w;
        *sent += (uint64_t)w;
#ifdef FERRY_TEST_BUILD
        if (*sent >= (8u << 20))
            crash_point("sftp-mid-upload");
#endif
    }
    int rc = libssh2_sftp_fsync(h);
    if (rc != 0 && !(rc == LIBSSH2_ERROR_SFTP_PROTOCOL &&
                     libssh2_sftp_last_error(c->sftp) ==
                         LIBSSH2_FX_OP_UNSUPPORTED)) {
        sftp_record_ssh(c, err, SFTP_STEP_WRITE, rc, path);
        goto out;
    }
    rc = libssh2_sftp_close_handle(h);
    h = NULL;
    if (rc != 0) {
        sftp_record_ssh(c, err, SFTP_STEP_WRITE, rc, path);
        goto out;
    }
    ret = 0;
out:
    if (h)
        libssh2_sftp_close_handle(h);
    free(buf);
    return ret;
}

/* ---- transfer ---------------------------------------------------------- */

/* set_receipt - "sftp://user@host:port/path"; truncated when too long */
static void set_receipt(const struct sftp_ctx *x, struct adapter_result *res,
                        const char *final)
{
    int n = snprintf(res->receipt, sizeof res->receipt, "sftp://%s@%s:%d/%s",
                     x->s.user, x->s.host, x->s.port, final);
    if (n < 0)
        res->receipt[0] = '\0';
}

/* ensure_done - write the trigger file if configured; 0 ok */
static int ensure_done(struct sftp_ctx *x, struct sftp_conn *c,
                       const struct transfer_req *req, const char *final,
                       struct sftp_error *err)
{
    if (!x->done_suffix || req->companion)
        return 0;
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s%s", final, x->done_suffix) >=
        (int)sizeof path) {
        sftp_record(err, SFTP_FAULT_CONFIG, SFTP_STEP_OPEN, 0, "name too long");
        return -1;
    }
    return rtouch(c, path, x->chmod, err);
}

/* check_existing - the crash-recovery rule for a final name that exists.
 * Returns 1 already sent (res filled OK), 0 go on and replace it, -1
 * stop (err filled). */
static int check_existing(struct sftp_ctx *x, struct sftp_conn *c,
                          const struct transfer_req *req, const char *final,
                          const LIBSSH2_SFTP_ATTRIBUTES *a, uint64_t size,
                          bool overwrite, struct sftp_error *err,
                          struct adapter_result *res)
{
    bool have_size = a->flags & LIBSSH2_SFTP_ATTR_SIZE;
    if (have_size && a->filesize == size) {
        if (!req->sha256_hex || !*req->sha256_hex) {
            adapter_result_set(res, ADAPTER_OK, "already present on the far "
                               "side (same size; no SHA-256 to compare)");
            res->already = true;
            return 1;
        }
        char hex[65];
        int h = rsha256(c, final, hex, err);
        if (h < 0)
            return -1;
        if (h == 1) {
            adapter_result_set(res, ADAPTER_OK, "already present on the far "
                               "side (same size; the server does not let us "
                               "read it back to compare SHA-256)");
            res->already = true;
            return 1;
        }
        if (strcasecmp(hex, req->sha256_hex) == 0) {
            adapter_result_set(res, ADAPTER_OK, "already present on the far "
                               "side (same size and SHA-256)");
            res->already = true;
            return 1;
        }
    }
    (void)x;
    if (overwrite)
        return 0;
    sftp_record(err, SFTP_FAULT_CONTENT, SFTP_STEP_STAT, 0,
                "final name exists with different content: %s (%s%llu bytes "
                "there, %llu here); not overwritten (allow-overwrite is off)",
                final, have_size ? "" : "size unknown, ",
                have_size ? (unsigned long long)a->filesize : 0ULL,
                (unsigned long long)size);
    return -1;
}

static void sftp_transfer(void *vctx, const struct transfer_req *req,
                          struct adapter_result *res)
{
    struct sftp_ctx *x = vctx;
    struct sftp_error err = { 0 };
    struct sftp_conn *c = NULL;
    char final[PATH_MAX], tmp[PATH_MAX];
    bool tmp_made = false;
    int fd = -1;
    long t0 = clock_mono_ms();
    bool overwrite = x->allow_overwrite;
    memset(res, 0, sizeof *res);

    if (!req->remote_name[0] || strchr(req->remote_name, '/') ||
        remote_path(final, sizeof final, x->remote_dir, "", req->remote_name, "") ||
        remote_path(tmp, sizeof tmp, x->remote_dir, x->tmp_prefix,
                    req->remote_name, x->tmp_suffix)) {
        sftp_record(&err, SFTP_FAULT_CONFIG, SFTP_STEP_OPEN, 0,
                    "bad remote name \"%s\"", req->remote_name);
        goto done;
    }
    fd = open(req->local_path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        sftp_record(&err, SFTP_FAULT_LOCAL, SFTP_STEP_READ, errno,
                    "cannot open %s: %s", req->local_path, strerror(errno));
        goto done;
    }
    uint64_t size = (uint64_t)st.st_size;
    if (req->size && req->size != size) {
        sftp_record(&err, SFTP_FAULT_CONTENT, SFTP_STEP_READ, 0,
                    "%s is %llu bytes but the ledger says %llu; not sent",
                    req->local_path, (unsigned long long)size,
                    (unsigned long long)req->size);
        goto done;
    }
    c = sftp_conn_open(&x->s, &err);
    if (!c)
        goto done;

    LIBSSH2_SFTP_ATTRIBUTES a;
    int ex = rstat(c, final, &a, &err);
    if (ex < 0)
        goto done;
    if (ex == 0) {
        int k = check_existing(x, c, req, final, &a, size, overwrite, &err, res);
        if (k < 0)
            goto done;
        if (k == 1) {
            /* a crash after the rename: finish what that run left */
            if (rremove(c, tmp, &err) || ensure_done(x, c, req, final, &err))
                goto done;
            set_receipt(x, res, final);
            log_event(LOG_INFO, "sftp-already-sent", "file", final,
                      "host", x->s.host, NULL);
            goto close;
        }
    }
    /* A temporary file left by a crash holds an unknown prefix: restart. */
    if (rremove(c, tmp, &err) != 0)
        goto done;
    tmp_made = true;
    uint64_t sent = 0;
    if (upload(c, fd, tmp, &sent, &err) != 0)
        goto done;
    int r = rstat(c, tmp, &a, &err);
    if (r != 0) {
        if (r == 1)
            sftp_record(&err, SFTP_FAULT_VERIFY, SFTP_STEP_STAT, 0,
                        "%s vanished after upload", tmp);
        goto done;
    }
    if (!(a.flags & LIBSSH2_SFTP_ATTR_SIZE) || a.filesize != size) {
        sftp_record(&err, SFTP_FAULT_VERIFY, SFTP_STEP_STAT, 0,
                    "remote size of %s is %llu, expected %llu", tmp,
                    (unsigned long long)a.filesize, (unsigned long long)size);
        goto done;
    }
    if (x->chmod >= 0) {
        LIBSSH2_SFTP_ATTRIBUTES m = { .flags = LIBSSH2_SFTP_ATTR_PERMISSIONS,
                                      .permissions = (unsigned long)x->chmod };
        int rc = libssh2_sftp_stat_ex(c->sftp, tmp, (unsigned)strlen(tmp),
                                      LIBSSH2_SFTP_SETSTAT, &m);
        if (rc != 0) {
            sftp_record_ssh(c, &err, SFTP_STEP_SETSTAT, rc, tmp);
            goto done;
        }
    }
    crash_point("sftp-before-rename");
    if (ex == 0 && overwrite && rremove(c, final, &err) != 0)
        goto done;
    int rc = libssh2_sftp_rename_ex(c->sftp, tmp, (unsigned)strlen(tmp),
                                    final, (unsigned)strlen(final),
                                    LIBSSH2_SFTP_RENAME_ATOMIC |
                                    LIBSSH2_SFTP_RENAME_NATIVE);
    if (rc != 0) {
        sftp_record_ssh(c, &err, SFTP_STEP_RENAME, rc, final);
        if (rstat(c, final, &a, &(struct sftp_error){ 0 }) == 0)
            sftp_record(&err, SFTP_FAULT_CONTENT, SFTP_STEP_RENAME, 0,
                        "final name %s appeared during the upload; not "
                        "overwritten", final);
        goto done;
    }
    tmp_made = false;
    crash_point("sftp-after-rename");
    if (ensure_done(x, c, req, final, &err) != 0)
        goto done;
    long ms = clock_mono_ms() - t0;
    adapter_result_set(res, ADAPTER_OK, "sent %llu bytes to %s:%s in %ld ms",
                       (unsigned long long)size, x->s.host, final, ms);
    set_receipt(x, res, final);
    goto close;
done:
    if (tmp_made && c && err.fault != SFTP_FAULT_SSH)
        rremove(c, tmp, &(struct sftp_error){ 0 });   /* best effort */
    sftp_result(res, &err);
close:
    sftp_conn_close(c);
    if (fd >= 0)
        close(fd);
}

/* ---- list and fetch ---------------------------------------------------- */

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* sftp_reach - connect, check the host key, log in, start SFTP; send
 * nothing (the night batch asks before it binds records) */
static void sftp_reach(void *vctx, struct adapter_result *res)
{
    struct sftp_ctx *x = vctx;
    struct sftp_error err = { 0 };
    memset(res, 0, sizeof *res);
    struct sftp_conn *c = sftp_conn_open(&x->s, &err);
    if (!c) {
        sftp_result(res, &err);
        return;
    }
    sftp_conn_close(c);
    adapter_result_set(res, ADAPTER_OK, "logged in to %s port %d as %s",
                       x->s.host, x->s.port, x->s.user);
}

static void sftp_list(void *vctx, const char *glob, char ***names, size_t *n,
                      struct adapter_result *res)
{
    struct sftp_ctx *x = vctx;
    struct sftp_error err = { 0 };
    char **v = NULL;
    size_t nv = 0, cap = 0;
    LIBSSH2_SFTP_HANDLE *d = NULL;
    const char *dir = *x->ack_dir ? x->ack_dir : ".";
    *names = NULL;
    *n = 0;
    memset(res, 0, sizeof *res);
    struct sftp_conn *c = sftp_conn_open(&x->s, &err);
    if (!c)
        goto fail;
    d = libssh2_sftp_open_ex(c->sftp, dir, (unsigned)strlen(dir), 0, 0,
                             LIBSSH2_SFTP_OPENDIR);
    if (!d) {
        sftp_record_ssh(c, &err, SFTP_STEP_LIST,
                        libssh2_session_last_errno(c->session), dir);
        goto fail;
    }
    for (;;) {
        char name[512];
        LIBSSH2_SFTP_ATTRIBUTES a;
        int r = libssh2_sftp_readdir_ex(d, name, sizeof name, NULL, 0, &a);
        if (r == 0)
            break;
        if (r < 0) {
            sftp_record_ssh(c, &err, SFTP_STEP_LIST, r, dir);
            goto fail;
        }
        if ((a.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) &&
            !LIBSSH2_SFTP_S_ISREG(a.permissions))
            continue;
        if (fnmatch(glob, name, FNM_PERIOD) != 0)
            continue;
        if (nv == SFTP_MAXLIST) {
            sftp_record(&err, SFTP_FAULT_CONFIG, SFTP_STEP_LIST, 0,
                        "more than %d files match \"%s\" in %s", SFTP_MAXLIST,
                        glob, dir);
            goto fail;
        }
        if (nv == cap) {
            cap = cap ? cap * 2 : 16;
            char **nw = realloc(v, cap * sizeof *v);
            if (!nw)
                goto nomem;
            v = nw;
        }
        if (!(v[nv] = strdup(name)))
            goto nomem;
        nv++;
    }
    libssh2_sftp_close_handle(d);
    sftp_conn_close(c);
    if (nv)
        qsort(v, nv, sizeof *v, cmp_names);
    *names = v;
    *n = nv;
    adapter_result_set(res, ADAPTER_OK, "%zu file(s) match %s in %s", nv,
                       glob, dir);
    return;
nomem:
    sftp_record(&err, SFTP_FAULT_LOCAL, SFTP_STEP_LIST, ENOMEM, "out of memory");
fail:
    if (d)
        libssh2_sftp_close_handle(d);
    sftp_conn_close(c);
    free_names(v, nv);
    sftp_result(res, &err);
}

/* write_all - local write loop; 0 ok, -1 errno set */
static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void sftp_fetch(void *vctx, const char *remote_name,
                       const char *local_path, struct adapter_result *res)
{
    struct sftp_ctx *x = vctx;
    struct sftp_error err = { 0 };
    struct sftp_conn *c = NULL;
    LIBSSH2_SFTP_HANDLE *h = NULL;
    char path[PATH_MAX], tmp[PATH_MAX];
    char *buf = NULL;
    int fd = -1;
    bool tmp_made = false;
    uint64_t got = 0;
    memset(res, 0, sizeof *res);
    if (!*remote_name || strchr(remote_name, '/') ||
        strcmp(remote_name, "..") == 0 ||
        remote_path(path, sizeof path, x->ack_dir, "", remote_name, "") ||
        snprintf(tmp, sizeof tmp, "%s.part.%ld", local_path,
                 (long)getpid()) >= (int)sizeof tmp) {
        sftp_record(&err, SFTP_FAULT_CONFIG, SFTP_STEP_OPEN, 0,
                    "bad file name \"%s\"", remote_name);
        goto fail;
    }
    if (!(buf = malloc(SFTP_RDBUF))) {
        sftp_record(&err, SFTP_FAULT_LOCAL, SFTP_STEP_READ, ENOMEM, "out of memory");
        goto fail;
    }
    if (!(c = sftp_conn_open(&x->s, &err)))
        goto fail;
    h = libssh2_sftp_open_ex(c->sftp, path, (unsigned)strlen(path),
                             LIBSSH2_FXF_READ, 0, LIBSSH2_SFTP_OPENFILE);
    if (!h) {
        sftp_record_ssh(c, &err, SFTP_STEP_OPEN,
                        libssh2_session_last_errno(c->session), path);
        goto fail;
    }
    LIBSSH2_SFTP_ATTRIBUTES a;
    int rc = libssh2_sftp_fstat_ex(h, &a, 0);
    if (rc != 0) {
        sftp_record_ssh(c, &err, SFTP_STEP_STAT, rc, path);
        goto fail;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        sftp_record(&err, SFTP_FAULT_LOCAL, SFTP_STEP_OPEN, errno,
                    "cannot create %s: %s", tmp, strerror(errno));
        goto fail;
    }
    tmp_made = true;
    for (;;) {
        ssize_t r = libssh2_sftp_read(h, buf, SFTP_RDBUF);
        if (r == 0)
            break;
        if (r < 0) {
            sftp_record_ssh(c, &err, SFTP_STEP_READ, (int)r, path);
            goto fail;
        }
        if (write_all(fd, buf, (size_t)r) != 0) {
            sftp_record(&err, SFTP_FAULT_LOCAL, SFTP_STEP_WRITE, errno,
                        "writing %s: %s", tmp, strerror(errno));
            goto fail;
        }
        got += (uint64_t)r;
    }
    if ((a.flags & LIBSSH2_SFTP_ATTR_SIZE) && a.filesize != got) {
        sftp_record(&err, SFTP_FAULT_VERIFY, SFTP_STEP_READ, 0,
                    "%s: read %llu bytes, the server said %llu", path,
                    (unsigned long long)got, (unsigned long long)a.filesize);
        goto fail;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        fd = -1;
        sftp_record(&err, SFTP_FAULT_LOCAL, SFTP_STEP_WRITE, errno,
                    "fsync %s: %s", tmp, strerror(errno));
        goto fail;
    }
    fd = -1;
    if (rename(tmp, local_path) != 0 || fs_fsync_parent(local_path) != 0) {
        sftp_record(&err, SFTP_FAULT_LOCAL, SFTP_STEP_RENAME, errno,
                    "rename to %s: %s", local_path, strerror(errno));
        goto fail;
    }
    tmp_made = false;
    adapter_result_set(res, ADAPTER_OK, "fetched %s (%llu bytes)", path,
                       (unsigned long long)got);
    goto out;
fail:
    sftp_result(res, &err);
out:
    if (fd >= 0)
        close(fd);
    if (tmp_made)
        unlink(tmp);
    if (h)
        libssh2_sftp_close_handle(h);
    sftp_conn_close(c);
    free(buf);
}

/* sftp_describe - "sftp user@host:port/dir" (no secrets) */
static void sftp_describe(void *vctx, char *out, size_t outsz)
{
    const struct sftp_ctx *x = vctx;
    const char *dir = x->remote_dir ? x->remote_dir : "";
    snprintf(out, outsz, "sftp %s@%s:%d%s%s", x->s.user ? x->s.user : "",
             x->s.host ? x->s.host : "", x->s.port,
             dir[0] && dir[0] != '/' ? "/" : "", dir);
}

const struct adapter adapter_sftp = {
    .name = "sftp",
    .description = "hand batch files over by SFTP (temporary name, size "
                   "check, rename; host key checked) and fetch acks",
    .kind = ADAPTER_TRANSPORT,
    .keys = sftp_keys,
    .map_keys = NULL,
    .init = sftp_init,
    .close = sftp_close,
    .transfer = sftp_transfer,
    .reach = sftp_reach,
    .list = sftp_list,
    .fetch = sftp_fetch,
    .describe = sftp_describe,
};
