/* batch_build.c - writes one batch's file from the ledger, through the
 * target's batch format (adapter.h: open_file, write_record,
 * close_file), whatever the format is.
 *
 * Contract: the header's creation time is the batch's created_at, never
 * the clock; records the format cannot take become dead letters (unless
 * it is a dry run) and are left out, and the pass is redone so the
 * trailer counts only what is in the file.  The bytes go through one
 * sink owned here: a temporary name, SHA-256 as they are written, fsync,
 * rename, the folder fsynced.  One I/O error is one failure: it is never
 * read as "write the file again". */
#include "scheduler/batch_int.h"
#include "config/config.h"
#include "spool/spool.h"
#include "util/buf.h"
#include "util/crash.h"
#include "util/errs.h"
#include "util/fsutil.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

/* ---- building a file -------------------------------------------------- */

static void *svc_fmt(const struct bctx *c, const char *service)
{
    for (size_t i = 0; i < c->nsvc; i++)
        if (service && strcmp(c->svc[i].service, service) == 0)
            return c->svc[i].fmt;
    return NULL;
}

struct bfail {
    char ref[SPOOL_REF_MAX];
    char *reason;
};

struct wctx {
    struct bctx *c;
    const struct spool_batch *b;
    enum build_mode mode;
    int fd;
    unsigned char *out;            /* BATCH_IOBUF */
    size_t outn;
    void *file;                    /* the format's open file */
    struct spool_fcrypt *fc;       /* sealing at rest; NULL: plain */
    char aad[PATH_MAX];            /* what a sealed file is bound to */
    EVP_MD_CTX *md;
    struct record *sp;             /* specials */
    struct fvalue *v_ref, *v_did, *v_recv, *v_num;  /* per-record specials, into
                                   sp: valid until sp grows ($count) */
    struct built res;
    struct bfail *fails;
    size_t nfails;
    bool record_fails;             /* false in a dry run: count only */
    int err;                       /* errno of a write failure */
    bool stop_config;              /* a record names no known service... */
    char stop_msg[512];
    int64_t total;                 /* for progress */
    struct errs *e;
};

/* w_write - n raw bytes to the file; -1 with w->err */
static int w_write(struct wctx *w, const unsigned char *p, size_t n)
{
    size_t off = 0;
    while (off < n) {
        ssize_t k = write(w->fd, p + off, n - off);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            w->err = errno;
            return -1;
        }
        off += (size_t)k;
    }
    return 0;
}

/* w_flush - the buffered plain bytes into the SHA-256, then to the file
 * (sealed first when the spool has a key: in place, the buffer is spent) */
static int w_flush(struct wctx *w)
{
    if (EVP_DigestUpdate(w->md, w->out, w->outn) != 1 ||
        (w->fc && spool_fcrypt_update(w->fc, w->out, w->outn, w->out) != 0)) {
        w->err = EIO;
        return -1;
    }
    if (w_write(w, w->out, w->outn) != 0)
        return -1;
    w->res.bytes += w->outn;
    w->outn = 0;
    return 0;
}

/* w_put - the sink the format writes through (struct batch_sink) */
static int w_put(void *ctx, const void *p, size_t n)
{
    struct wctx *w = ctx;
    if (w->err)
        return -1;
    if (n > BATCH_IOBUF) {
        w->err = EMSGSIZE;
        return -1;
    }
    if (w->outn + n > BATCH_IOBUF && w_flush(w) != 0)
        return -1;
    memcpy(w->out + w->outn, p, n);
    w->outn += n;
    return 0;
}

/* sp_set - set a special source's value by name (adding it first time) */
static struct fvalue *sp_field(struct record *sp, const char *name)
{
    struct record_field *f = record_field(sp, name);
    if (!f)
        f = record_add(sp, name);
    return f ? &f->v : NULL;
}

/* specials_base - the sources every section may read, fixed per batch */
static int specials_base(struct wctx *w)
{
    const struct spool_batch *b = w->b;
    int64_t days = 0;
    struct fvalue *v;
    if (record_date_parse(b->business_date, &days) != 0)
        return -1;
    if (!(v = sp_field(w->sp, "$file-date")) || fvalue_set_date(v, days) ||
        !(v = sp_field(w->sp, "$business-date")) || fvalue_set_date(v, days) ||
        !(v = sp_field(w->sp, "$sequence")) || fvalue_set_int(v, b->seq) ||
        !(v = sp_field(w->sp, "$generation")) ||
        fvalue_set_int(v, b->generation) ||
        !(v = sp_field(w->sp, "$created-time")) ||
        fvalue_set_datetime(v, b->created_at) ||
        !(v = sp_field(w->sp, "$batch-id")) || fvalue_set_int(v, b->id) ||
        !(v = sp_field(w->sp, "$target")) ||
        fvalue_set_text(v, FT_STRING, b->target))
        return -1;
    /* the per-record ones exist from here on, so the details can keep
     * pointers to them (nothing is added to sp until the trailer) */
    if (!sp_field(w->sp, "$reference") || !sp_field(w->sp, "$delivery-id") ||
        !sp_field(w->sp, "$received-at") ||
        !sp_field(w->sp, "$record-number"))
        return -1;
    w->v_ref = sp_field(w->sp, "$reference");
    w->v_did = sp_field(w->sp, "$delivery-id");
    w->v_recv = sp_field(w->sp, "$received-at");
    w->v_num = sp_field(w->sp, "$record-number");
    return 0;
}

static int note_fail(struct wctx *w, const char *ref, char *reason)
{
    w->res.failed++;
    log_event(LOG_WARN, "batch-record-failed", "ref", ref, "target",
              w->b->target, "reason", reason, NULL);
    if (!w->record_fails) {
        free(reason);
        return 0;
    }
    if (w->nfails == BATCH_FAIL_CAP) {
        free(reason);
        return -1;
    }
    snprintf(w->fails[w->nfails].ref, sizeof w->fails[0].ref, "%s", ref);
    w->fails[w->nfails++].reason = reason;
    return 0;
}

/* take - does this pass include r? (see enum build_mode) */
static bool take(const struct wctx *w, const struct spool_record *r)
{
    switch (w->mode) {
    case BUILD_BOUND:
        return r->batch_id == w->b->id && r->state == SPOOL_BATCHED;
    case BUILD_RESEND:
        return r->batch_id == w->b->id &&
               (r->state == SPOOL_SENT || r->state == SPOOL_CONFIRMED ||
                r->state == SPOOL_REJECTED);
    case BUILD_PREVIEW:
        return r->state == SPOOL_QUEUED;
    }
    return false;
}

/* detail_cb - encode one record and append it (spool_batch_foreach) */
static int detail_cb(void *ctx, const struct spool_record *r)
{
    struct wctx *w = ctx;
    struct bctx *c = w->c;
    if (!take(w, r))
        return 0;
    if (r->crypt_error) {
        w->stop_config = true;
        snprintf(w->stop_msg, sizeof w->stop_msg, "%s: %s (is the spool's "
                 "payload key configured?)", r->ref, r->crypt_error);
        return 1;
    }
    void *fmt = svc_fmt(c, r->service);
    if (!fmt) {
        w->stop_config = true;
        snprintf(w->stop_msg, sizeof w->stop_msg, "%s: service %s no longer "
                 "delivers to target %s", r->ref, r->service, w->b->target);
        return 1;
    }
    struct errs pe;
    errs_init(&pe);
    int rc = 0;
    char *reason = NULL;
    struct record *rec = NULL;
    bool stored = r->encoded && c->format->write_stored;
    if (!stored && !r->record_json) {
        reason = strdup("the mapped record is not in the ledger (purged?)");
        goto bad;
    }
    if (!stored && !(rec = record_from_json(r->record_json, &pe))) {
        reason = errs_join(&pe, "cannot be encoded");
        goto bad;
    }
    if (fvalue_set_text(w->v_ref, FT_STRING, r->ref) ||
        fvalue_set_text(w->v_did, FT_STRING,
                        r->delivery_id ? r->delivery_id : "") ||
        ((!w->v_recv->present || w->v_recv->num != r->received_at) &&
         fvalue_set_datetime(w->v_recv, r->received_at)) ||
        fvalue_set_int(w->v_num, w->res.count + 1)) {
        w->err = ENOMEM;
        rc = 1;
        goto out;
    }
    struct adapter_result ar;      /* per record: only what is read */
    ar.outcome = ADAPTER_OK;
    ar.msg[0] = '\0';
    /* the stored encoding when the record has one its format still takes
     * (the same bytes, no JSON parsed); otherwise from the JSON */
    if (stored) {
        if (c->format->write_stored(fmt, w->file, r->encoded, r->encoded_len,
                                    w->sp, &ar) != 0) {
            rc = SPOOL_CB_NEED_JSON;
            goto out;
        }
    } else {
        c->format->write_record(fmt, w->file, rec, w->sp, &ar);
    }
    if (w->err || ar.outcome == ADAPTER_RETRY) {
        if (!w->err)
            w->err = EIO;
        rc = 1;
        goto out;
    }
    if (ar.outcome != ADAPTER_OK) {
        reason = strdup(ar.msg[0] ? ar.msg : "cannot be encoded");
        goto bad;
    }
    w->res.count++;
    if (w->res.count == 1)
        crash_point("batch-write");
    if (c->o->progress && (w->res.count & 4095) == 0)
        c->o->progress(c->o->progress_ctx, "build", w->res.count, w->total);
    goto out;
bad:
    if (!reason) {
        w->err = ENOMEM;
        rc = 1;
        goto out;
    }
    if (note_fail(w, r->ref, reason) != 0)
        rc = 2;      /* too many dead letters pending: apply, then redo */
out:
    record_free(rec);
    errs_free(&pe);
    return rc;
}

/* apply_fails - the pending dead letters, each in its own transaction */
static int apply_fails(struct wctx *w, struct errs *e)
{
    int rc = 0;
    for (size_t i = 0; i < w->nfails; i++) {
        if (rc == 0 && spool_record_fail(w->c->sp, w->fails[i].ref,
                                         w->b->target, w->fails[i].reason, e) != 0)
            rc = -1;
        free(w->fails[i].reason);
    }
    w->nfails = 0;
    return rc;
}

/* file_problem - a format's FAIL/RETRY on the header or trailer as a
 * build result: the sink's own error is I/O, anything else the mapping */
static enum build_result file_problem(struct wctx *w, const char *tmp,
                                      const struct adapter_result *ar,
                                      struct errs *e)
{
    if (w->err || ar->outcome == ADAPTER_RETRY) {
        errs_add(e, tmp, "writing: %s", strerror(w->err ? w->err : EIO));
        return BUILT_IO;
    }
    errs_add(e, w->b->target, "%s", ar->msg);
    return BUILT_CONFIG;
}

/* build_pass - write the whole file once to tmp */
static enum build_result build_pass(struct wctx *w, const char *tmp,
                                    struct errs *e)
{
    struct bctx *c = w->c;
    enum build_result rc = BUILT_IO;
    struct adapter_result ar;
    memset(&ar, 0, sizeof ar);
    memset(&w->res, 0, sizeof w->res);
    w->outn = 0;
    w->err = 0;
    w->file = NULL;
    w->fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (w->fd < 0) {
        errs_add(e, tmp, "cannot create: %s", strerror(errno));
        return BUILT_IO;
    }
    if (EVP_DigestInit_ex(w->md, EVP_sha256(), NULL) != 1) {
        errs_add(e, tmp, "sha256 unavailable");
        goto out;
    }
    spool_fcrypt_free(w->fc);
    w->fc = NULL;
    if (spool_files_sealed(c->sp)) {
        unsigned char head[SPOOL_FCRYPT_HEAD];
        if (!(w->fc = spool_fcrypt_seal(c->sp, w->aad, head, e)))
            goto out;
        if (w_write(w, head, sizeof head) != 0) {
            errs_add(e, tmp, "writing: %s", strerror(w->err));
            goto out;
        }
    }
    if (specials_base(w) != 0) {
        errs_add(e, w->b->target, "out of memory");
        goto out;
    }
    struct batch_sink sink = { .put = w_put, .sctx = w };
    c->format->open_file(c->svc[0].fmt, &sink, w->sp, &w->file, &ar);
    if (ar.outcome != ADAPTER_OK) {
        rc = file_problem(w, tmp, &ar, e);
        goto out;
    }
    int f;
    if (w->mode == BUILD_PREVIEW) {
        struct spool_filter flt;
        memset(&flt, 0, sizeof flt);
        flt.nstates = 1;
        flt.states[0] = SPOOL_QUEUED;
        flt.target = w->b->target;
        flt.limit = c->o->max_records;
        f = spool_foreach(c->sp, &flt, SPOOL_WITH_PAYLOAD, detail_cb, w, e);
    } else {
        f = spool_batch_foreach_mapped(c->sp, w->b->id, detail_cb, w, e);
    }
    if (f == 2 && !w->err) {
        rc = BUILT_REDO;
        goto out;
    }
    if (f != 0 || w->stop_config || w->err) {
        if (w->err) {
            errs_add(e, tmp, "writing: %s", strerror(w->err));
        } else if (w->stop_config) {
            errs_add(e, w->b->target, "%s", w->stop_msg);
            rc = BUILT_CONFIG;
        }
        goto out;
    }
    struct batch_totals tot;
    memset(&tot, 0, sizeof tot);
    void *file = w->file;
    w->file = NULL;
    c->format->close_file(file, w->sp, &tot, &ar);
    if (ar.outcome != ADAPTER_OK) {
        rc = file_problem(w, tmp, &ar, e);
        goto out;
    }
    if (tot.count != w->res.count) {
        errs_add(e, w->b->target, "the format counted %lld records, the "
                 "batch wrote %lld", (long long)tot.count,
                 (long long)w->res.count);
        goto out;
    }
    snprintf(w->res.totals, sizeof w->res.totals, "%s", tot.text);
    if (w_flush(w) != 0) {
        errs_add(e, tmp, "writing: %s", strerror(w->err));
        goto out;
    }
    if (w->fc) {
        unsigned char tag[SPOOL_FCRYPT_TAG];
        if (spool_fcrypt_final(w->fc, tag) != 0) {
            errs_add(e, tmp, "sealing failed");
            goto out;
        }
        if (w_write(w, tag, sizeof tag) != 0) {
            errs_add(e, tmp, "writing: %s", strerror(w->err));
            goto out;
        }
    }
    unsigned char dg[EVP_MAX_MD_SIZE];
    unsigned dn = 0;
    EVP_DigestFinal_ex(w->md, dg, &dn);
    batch_hex_digest(dg, dn, w->res.sha256);
    if (fsync(w->fd) != 0) {
        errs_add(e, tmp, "fsync: %s", strerror(errno));
        goto out;
    }
    rc = BUILT_OK;
out:
    if (w->file) {
        c->format->close_file(w->file, NULL, NULL, &ar);
        w->file = NULL;
    }
    if (close(w->fd) != 0 && rc == BUILT_OK) {
        errs_add(e, tmp, "close: %s", strerror(errno));
        rc = BUILT_IO;
    }
    w->fd = -1;
    return rc;
}

/* batch_build_file - write batch b's file as dir/name (tmp, fsync, rename,
 * fsync dir).  Dead letters are recorded unless dry. */
enum build_result batch_build_file(struct bctx *c, const struct spool_batch *b,
                                   enum build_mode mode, bool dry,
                                   const char *dir, const char *name,
                                   int64_t total, struct built *res,
                                   struct errs *e)
{
    struct wctx w;
    memset(&w, 0, sizeof w);
    w.c = c;
    w.b = b;
    w.mode = mode;
    w.fd = -1;
    w.e = e;
    w.total = total;
    w.record_fails = !dry && mode == BUILD_BOUND;
    batch_file_aad(c, name, w.aad, sizeof w.aad);
    enum build_result rc = BUILT_IO;
    char tmp[PATH_MAX], fin[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name) >= (int)sizeof tmp ||
        fs_join(fin, sizeof fin, dir, name) != 0) {
        errs_add(e, dir, "path too long");
        return BUILT_IO;
    }
    w.out = malloc(BATCH_IOBUF);
    w.md = EVP_MD_CTX_new();
    w.sp = record_new();
    w.fails = w.record_fails ? calloc(BATCH_FAIL_CAP, sizeof *w.fails) : NULL;
    if (!w.out || !w.md || !w.sp || (w.record_fails && !w.fails)) {
        errs_add(e, b->target, "out of memory");
        goto out;
    }
    int64_t failed = 0;
    /* a header that carries the totals is written with the figures of a
     * finished pass: one pass more, the same records in the same order */
    bool totals_known = !c->info.header_totals;
    for (int pass = 0; pass < BATCH_MAX_PASSES + 1; pass++) {
        rc = build_pass(&w, tmp, e);
        failed += rc == BUILT_REDO ? (int64_t)w.nfails : w.res.failed;
        if (w.nfails && apply_fails(&w, e) != 0) {
            rc = BUILT_IO;
            break;
        }
        if (rc == BUILT_OK && !totals_known) {
            totals_known = true;
            failed -= w.res.failed;      /* the next pass counts them again */
            log_event(LOG_INFO, "batch-rebuild", "target", b->target,
                      "reason", "the header carries the totals; writing the "
                      "file again with them", NULL);
            continue;
        }
        if (rc != BUILT_REDO || pass + 1 == BATCH_MAX_PASSES)
            break;
        log_event(LOG_INFO, "batch-rebuild", "target", b->target, "reason",
                  "dead letters recorded; writing the file again", NULL);
    }
    if (rc == BUILT_REDO) {
        errs_add(e, b->target, "too many records cannot be encoded");
        rc = BUILT_IO;
    }
    if (rc != BUILT_OK) {
        unlink(tmp);
        goto out;
    }
    w.res.failed = failed;
    crash_point("batch-fsync");
    if (rename(tmp, fin) != 0) {
        errs_add(e, fin, "rename: %s", strerror(errno));
        unlink(tmp);
        rc = BUILT_IO;
        goto out;
    }
    crash_point("batch-rename");
    if (fs_fsync_dir(dir) != 0) {
        errs_add(e, dir, "fsync: %s", strerror(errno));
        rc = BUILT_IO;
        goto out;
    }
    *res = w.res;
out:
    for (size_t i = 0; i < w.nfails; i++)
        free(w.fails[i].reason);
    free(w.fails);
    spool_fcrypt_free(w.fc);
    record_free(w.sp);
    EVP_MD_CTX_free(w.md);
    free(w.out);
    return rc;
}
