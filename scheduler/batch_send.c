/* batch_send.c - hands a verified batch file to the target's transport
 * adapter and says where it went, in the adapter's own words (its
 * describe callback): nothing here knows a transport's options.  The
 * hand-over conventions (adapters/handover.h) wrap every transport the
 * same way: an OpenPGP copy made once, a checksum file sent first, the
 * file itself last of ours (the transport writes its trigger after it).  Policy
 * (retry, refuse) stays with the caller: this returns the adapter's
 * outcome. */
#include "scheduler/batch_int.h"
#include "adapters/adapter.h"
#include "adapters/handover.h"
#include "config/config.h"
#include "spool/spool.h"
#include "util/crash.h"
#include "util/errs.h"
#include "util/fsutil.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* batch_transport_open - see batch_int.h */
int batch_transport_open(struct bctx *c, struct btransport *t, char *msg,
                         size_t msgsz)
{
    memset(t, 0, sizeof *t);
    const struct adapter *ad = c->tc->transport_type ?
        adapter_find(c->tc->transport_type) : NULL;
    if (!ad || ad->kind != ADAPTER_TRANSPORT || !ad->transfer) {
        snprintf(msg, msgsz, "target %s has no usable transport (%s)",
                 c->tc->name, c->tc->transport_type ? c->tc->transport_type
                                                    : "none");
        return -1;
    }
    struct adapter_env env = {
        .target = c->tc, .opts = &c->tc->transport_opts, .map = NULL,
        .base_dir = c->cfg->base_dir, .service = NULL,
    };
    struct errs ie;
    errs_init(&ie);
    void *ctx = NULL;
    if (ad->init && ad->init(&ctx, &env, &ie) != 0) {
        snprintf(msg, msgsz, "transport %s: %s%s%s", ad->name,
                 ie.n ? ie.v[0].where : "", ie.n && ie.v[0].where[0] ? ": " : "",
                 errs_first_msg(&ie));
        errs_free(&ie);
        return -1;
    }
    errs_free(&ie);
    char owner[200];
    snprintf(owner, sizeof owner, "target %s transport", c->tc->name);
    struct adapter_handover *h = adapter_handover_new(
        ad, &c->tc->transport_opts, c->cfg->base_dir, owner, &ie);
    if (!h) {
        snprintf(msg, msgsz, "%s%s%s", ie.n ? ie.v[0].where : "",
                 ie.n && ie.v[0].where[0] ? ": " : "", errs_first_msg(&ie));
        errs_free(&ie);
        if (ad->close)
            ad->close(ctx);
        return -1;
    }
    errs_free(&ie);
    t->ad = ad;
    t->ctx = ctx;
    t->h = h;
    return 0;
}

void batch_transport_close(struct btransport *t)
{
    if (t->ad && t->ad->close)
        t->ad->close(t->ctx);
    adapter_handover_free(t->h);
    memset(t, 0, sizeof *t);
}

/* batch_transport_describe - see batch_int.h */
void batch_transport_describe(const struct btransport *t, char *out,
                              size_t outsz)
{
    if (t->ad && t->ad->describe)
        t->ad->describe(t->ctx, out, outsz);
    else
        snprintf(out, outsz, "%s", t->ad ? t->ad->name : "");
}

/* batch_transport_reach - see batch_int.h */
enum adapter_outcome batch_transport_reach(struct btransport *t, char *msg,
                                           size_t msgsz)
{
    msg[0] = '\0';
    if (!t->ad->reach)
        return ADAPTER_OK;
    struct adapter_result res;
    memset(&res, 0, sizeof res);
    t->ad->reach(t->ctx, &res);
    snprintf(msg, msgsz, "%s", res.msg);
    return res.outcome == ADAPTER_INDOUBT ? ADAPTER_RETRY : res.outcome;
}

/* beside - path of ".<name><suffix>" in the folder of path */
static int beside(const char *path, const char *name, const char *suffix,
                  char *out, size_t outsz)
{
    const char *slash = strrchr(path, '/');
    return snprintf(out, outsz, "%.*s/.%s%s", slash ? (int)(slash - path) : 1,
                    slash ? path : ".", name, suffix) >= (int)outsz ? -1 : 0;
}

void batch_handover_tidy(const char *local_path, const char *name)
{
    static const char *const sfx[] = { ".pgp", ".sha256", ".pgp.tmp" };
    for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
        char p[PATH_MAX];
        if (beside(local_path, name, sfx[i], p, sizeof p) == 0)
            unlink(p);
    }
}

/* plain_of - the file's plain bytes as a path: itself, or (sealed at
 * rest) a plain copy in plain[] made for this hand-over; -1 with msg */
static int plain_of(struct bctx *c, const char *path, const char *name,
                    char *plain, size_t plainsz, const char **out, char *msg,
                    size_t msgsz)
{
    plain[0] = '\0';
    *out = path;
    if (!spool_files_sealed(c->sp) && !batch_is_sealed(path))
        return 0;
    struct errs pe;
    errs_init(&pe);
    if (beside(path, name, ".send", plain, plainsz) != 0 ||
        batch_file_plain(c, path, name, plain, &pe) != 0) {
        snprintf(msg, msgsz, "%s: %s", path, pe.n ? errs_first_msg(&pe)
                 : "path too long");
        errs_free(&pe);
        plain[0] = '\0';
        return -1;
    }
    errs_free(&pe);
    *out = plain;
    return 0;
}

/* send_one - one local file under its final name; the adapter's outcome */
static enum adapter_outcome send_one(struct bctx *c, struct btransport *t,
                                     const char *path, const char *name,
                                     const char *sha, uint64_t size,
                                     bool companion, bool *already, char *msg,
                                     size_t msgsz)
{
    struct transfer_req req = {
        .local_path = path, .remote_name = name, .sha256_hex = sha,
        .size = size, .companion = companion,
    };
    struct adapter_result res;
    memset(&res, 0, sizeof res);
    if (c->o->progress && !companion)
        c->o->progress(c->o->progress_ctx, "send", 0, (int64_t)size);
    t->ad->transfer(t->ctx, &req, &res);
    if (res.outcome == ADAPTER_OK && c->o->progress && !companion)
        c->o->progress(c->o->progress_ctx, "send", (int64_t)size,
                       (int64_t)size);
    snprintf(msg, msgsz, "%s%s%s", companion ? name : "", companion ? ": " :
             "", res.msg);
    if (already)
        *already = res.outcome == ADAPTER_OK && res.already;
    return res.outcome == ADAPTER_INDOUBT ? ADAPTER_RETRY : res.outcome;
}

/* encrypted - the file encrypted for the recipient as .NAME.pgp beside
 * it, made once (a re-run after a crash sends the same bytes); its
 * SHA-256 and size.  -1 with msg (FAIL: the keys refused) */
static int encrypted(struct bctx *c, struct btransport *t, const char *path,
                     const char *name, char *enc, size_t encsz,
                     char sha[65], uint64_t *size, char *msg, size_t msgsz)
{
    struct stat st;
    if (beside(path, name, ".pgp", enc, encsz) != 0) {
        snprintf(msg, msgsz, "%s: path too long", path);
        return -1;
    }
    if (stat(enc, &st) != 0) {
        char plain[PATH_MAX];
        const char *src;
        if (plain_of(c, path, name, plain, sizeof plain, &src, msg,
                     msgsz) != 0)
            return -1;
        int rc = adapter_handover_encrypt(t->h, src, enc, msg, msgsz);
        if (plain[0])
            unlink(plain);
        if (rc != 0 || stat(enc, &st) != 0)
            return -1;
    }
    *size = (uint64_t)st.st_size;
    if (batch_file_sha256(c, enc, name, sha) != 0) {
        snprintf(msg, msgsz, "%s: cannot be read", enc);
        return -1;
    }
    return 0;
}

/* batch_send_file - see batch_int.h */
enum adapter_outcome batch_send_file(struct bctx *c, struct btransport *t,
                                     const char *path, const char *name,
                                     const char *sha, uint64_t size,
                                     bool *already, char *msg, size_t msgsz)
{
    char plain[PATH_MAX] = "", enc[PATH_MAX], esha[65], sent[600];
    const char *src = path;
    enum adapter_outcome out = ADAPTER_FAIL;
    *already = false;
    snprintf(sent, sizeof sent, "%s", name);
    if (adapter_handover_encrypts(t->h)) {
        if (encrypted(c, t, path, name, enc, sizeof enc, esha, &size, msg,
                      msgsz) != 0)
            return ADAPTER_FAIL;
        src = enc;
        sha = esha;
        snprintf(sent, sizeof sent, "%s.pgp", name);
    } else if (plain_of(c, path, name, plain, sizeof plain, &src, msg,
                        msgsz) != 0) {
        return ADAPTER_FAIL;
    }
    /* the checksum first: whichever file the far side waits for, the
     * checksum is there by then; the transport's trigger comes last */
    const char *sfx = adapter_handover_checksum(t->h);
    if (sfx) {
        char line[700], cpath[PATH_MAX], cname[640], csha[65];
        int n = snprintf(line, sizeof line, "%s  %s\n", sha, sent);
        struct errs we;
        errs_init(&we);
        if (beside(path, name, ".sha256", cpath, sizeof cpath) != 0 ||
            fs_write_atomic(cpath, line, (size_t)n, 0600, &we) != 0 ||
            batch_file_sha256(c, cpath, name, csha) != 0) {
            snprintf(msg, msgsz, "checksum file: %s", we.n
                     ? errs_first_msg(&we) : "cannot be written");
            errs_free(&we);
            goto out;
        }
        errs_free(&we);
        snprintf(cname, sizeof cname, "%s%s", sent, sfx);
        out = send_one(c, t, cpath, cname, csha, (uint64_t)n, true, NULL,
                       msg, msgsz);
        if (out != ADAPTER_OK)
            goto out;
        crash_point("batch-after-checksum");
    }
    out = send_one(c, t, src, sent, sha, size, false, already, msg, msgsz);
out:
    if (plain[0])
        unlink(plain);
    return out;
}
