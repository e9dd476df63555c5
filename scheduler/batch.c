/* batch.c - the night batch runner for fixed-width targets.  See batch.h
 * and docs/batch.md.
 *
 * Contract: the ledger binds records to a batch before a byte is written,
 * so a file can always be rebuilt byte for byte from the ledger: the
 * header's creation time is the batch's created_at, never the clock, and
 * records that could not be encoded are already in the dead letter state
 * (or fail again the same way) and are left out either way.  The file is
 * written under a temporary name, fsynced, renamed and its folder fsynced;
 * it is read back with the decoders before it leaves.  A run finishes an
 * unfinished batch before it binds a new one, so a crash at any point
 * ends, after a plain re-run, with every record in exactly one sent file.
 *
 * Owns: outbound/<target>/ (files waiting for transfer) and
 * archive/<target>/ (sent files) in the spool folder, and the crash
 * points batch-write, batch-fsync, batch-rename, batch-ledger-written,
 * batch-upload, batch-after-transfer and batch-ledger-sent. */
#include "scheduler/batch.h"
#include "adapters/adapter.h"
#include "config/config.h"
#include "mappings/fw_target.h"
#include "scheduler/joblock.h"
#include "util/tz.h"
#include "spool/spool.h"
#include "util/buf.h"
#include "util/errs.h"
#include "util/fsutil.h"
#include "util/log.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#define BATCH_IOBUF      (1u << 20)   /* write and read-back buffer */
#define BATCH_FAIL_CAP   10000        /* dead letters applied per pass */
#define BATCH_MAX_SUMS   8
#define BATCH_MAX_PASSES 1000

/* ---- small helpers ---------------------------------------------------- */

const char *batch_outcome_name(enum batch_outcome o)
{
    switch (o) {
    case BATCH_DONE:     return "done";
    case BATCH_DATA:     return "data";
    case BATCH_TEMPFAIL: return "tempfail";
    case BATCH_BUSY:     return "busy";
    case BATCH_CONFIG:   return "config";
    case BATCH_REFUSED:  return "refused";
    case BATCH_VERIFY:   return "verify";
    case BATCH_ERROR:    return "error";
    }
    return "error";
}

int batch_exit_code(enum batch_outcome o)
{
    switch (o) {
    case BATCH_DONE:     return EX_OK;
    case BATCH_DATA:     return EX_DATAERR;
    case BATCH_TEMPFAIL: return EX_TEMPFAIL;
    case BATCH_BUSY:     return EX_TEMPFAIL;
    case BATCH_CONFIG:   return EX_CONFIG;
    case BATCH_REFUSED:  return EX_CONFIG;
    case BATCH_VERIFY:   return EX_SOFTWARE;
    case BATCH_ERROR:    return EX_IOERR;
    }
    return EX_SOFTWARE;
}

int batch_sum_add(int64_t *acc, int64_t v)
{
    int64_t r;
    if (__builtin_add_overflow(*acc, v, &r))
        return -1;
    *acc = r;
    return 0;
}

/* rescale - v at scale from -> scale to (to >= from); -1 on overflow */
static int rescale(int64_t v, int from, int to, int64_t *out)
{
    while (from < to) {
        if (__builtin_mul_overflow(v, 10, &v))
            return -1;
        from++;
    }
    *out = v;
    return 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool name_char_ok(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
           (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
}

int batch_file_name(const char *pattern, const char *business_date,
                    int seq, const char *target, char *out, size_t outsz,
                    char *why, size_t whysz)
{
    const char *p = pattern ? pattern : "{target}.D{yymmdd}.S{seq:3}";
    size_t n = 0;
    if (!business_date || strlen(business_date) != 10 || seq < 1) {
        snprintf(why, whysz, "needs a business date and a sequence");
        return -1;
    }
    char ymd[9];
    snprintf(ymd, sizeof ymd, "%.4s%.2s%.2s", business_date,
             business_date + 5, business_date + 8);
    while (*p) {
        char piece[160];
        if (*p != '{') {
            piece[0] = *p++;
            piece[1] = '\0';
        } else {
            const char *end = strchr(p, '}');
            if (!end) {
                snprintf(why, whysz, "'%s': unclosed {", pattern);
                return -1;
            }
            size_t tl = (size_t)(end - p - 1);
            char tok[32];
            if (tl >= sizeof tok) {
                snprintf(why, whysz, "'%s': unknown {%.*s}", pattern,
                         (int)(tl > 40 ? 40 : tl), p + 1);
                return -1;
            }
            memcpy(tok, p + 1, tl);
            tok[tl] = '\0';
            if (strcmp(tok, "yyyymmdd") == 0 || strcmp(tok, "ccyymmdd") == 0)
                snprintf(piece, sizeof piece, "%s", ymd);
            else if (strcmp(tok, "yymmdd") == 0)
                snprintf(piece, sizeof piece, "%s", ymd + 2);
            else if (strcmp(tok, "target") == 0)
                snprintf(piece, sizeof piece, "%s", target ? target : "");
            else if (strcmp(tok, "seq") == 0)
                snprintf(piece, sizeof piece, "%d", seq);
            else if (strncmp(tok, "seq:", 4) == 0) {
                char *e2 = NULL;
                errno = 0;
                long w = strtol(tok + 4, &e2, 10);
                if (errno || !e2 || *e2 || e2 == tok + 4 || w < 1 || w > 9) {
                    snprintf(why, whysz, "'%s': {seq:N} needs N from 1 to 9",
                             pattern);
                    return -1;
                }
                snprintf(piece, sizeof piece, "%0*d", (int)w, seq);
                if (strlen(piece) > (size_t)w) {
                    snprintf(why, whysz, "sequence %d does not fit {seq:%ld}"
                             " (the name would not be unique)", seq, w);
                    return -1;
                }
            } else {
                snprintf(why, whysz, "'%s': unknown {%s} (yyyymmdd, "
                         "ccyymmdd, yymmdd, seq, seq:N, target)", pattern, tok);
                return -1;
            }
            p = end + 1;
        }
        size_t pl = strlen(piece);
        if (n + pl + 1 > outsz) {
            snprintf(why, whysz, "'%s': the name is too long", pattern);
            return -1;
        }
        memcpy(out + n, piece, pl);
        n += pl;
    }
    out[n] = '\0';
    if (n == 0 || out[0] == '.') {
        snprintf(why, whysz, "'%s' gives '%s': not a usable file name",
                 pattern, out);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (!name_char_ok(out[i])) {
            snprintf(why, whysz, "'%s' gives '%s': a file name may hold "
                     "only A-Z a-z 0-9 . _ -", pattern, out);
            return -1;
        }
    return 0;
}

static void hex_digest(const unsigned char *d, unsigned n, char out[65])
{
    static const char hx[] = "0123456789abcdef";
    for (unsigned i = 0; i < n && i < 32; i++) {
        out[2 * i] = hx[d[i] >> 4];
        out[2 * i + 1] = hx[d[i] & 15];
    }
    out[64] = '\0';
}

/* ---- the compiled target ---------------------------------------------- */

struct bsvc {
    const char *service;
    struct fw_target *ft;
};

struct bsum {
    const char *name;              /* detail COBOL field (borrowed) */
    const struct cpy_field *f;     /* in the detail record */
    int scale;
    int64_t total;
};

struct bctx {
    const struct ferry_config *cfg;
    struct spool *sp;
    const struct target_config *tc;
    const struct batch_opts *o;
    struct bsvc *svc;
    size_t nsvc;
    struct fw_target *ft;          /* svc[0]: header, trailer, names */
    size_t dlen, hlen, tlen;       /* record lengths; 0 = no such record */
    const char *sep;
    size_t seplen;
    struct bsum sums[BATCH_MAX_SUMS];
    size_t nsums;
};

static void bctx_free(struct bctx *c)
{
    for (size_t i = 0; i < c->nsvc; i++)
        fw_target_free(c->svc[i].ft);
    free(c->svc);
    c->svc = NULL;
    c->nsvc = 0;
}

/* specials_in - does section sec read a "$name" (prefix match for $sum:) */
static bool specials_in(const struct map_section *sec, const char *prefix)
{
    for (size_t i = 0; sec && i < sec->na; i++)
        if (sec->a[i].from && strncmp(sec->a[i].from, prefix,
                                      strlen(prefix)) == 0)
            return true;
    return false;
}

/* bctx_setup - compile every service mapping that feeds target */
static int bctx_setup(struct bctx *c, const char *target, struct errs *e)
{
    c->tc = config_target(c->cfg, target);
    if (!c->tc) {
        errs_add(e, target, "no target '%s' in %s", target, c->cfg->path);
        return -1;
    }
    const struct adapter *ad = adapter_find(c->tc->type);
    if (!ad || ad->kind != ADAPTER_BATCH) {
        errs_add(e, target, "target %s is of type %s: only batch (fixed-width)"
                 " targets have a night batch", target, c->tc->type);
        return -1;
    }
    c->svc = calloc(c->cfg->nservices ? c->cfg->nservices : 1, sizeof *c->svc);
    if (!c->svc) {
        errs_add(e, target, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < c->cfg->nservices; i++) {
        const struct service_config *s = &c->cfg->services[i];
        bool feeds = false;
        for (size_t k = 0; k < s->ntargets; k++)
            if (strcmp(s->targets[k], target) == 0)
                feeds = true;
        if (!feeds)
            continue;
        const struct map_target *mt = s->mapping ?
            mapping_target(s->mapping, target) : NULL;
        if (!mt) {
            errs_add(e, s->name, "service %s has no <target name=\"%s\"> in "
                     "its mapping", s->name, target);
            return -1;
        }
        struct fw_target *ft = fw_target_new(mt, s->mapping->file, e);
        if (!ft)
            return -1;
        c->svc[c->nsvc].service = s->name;
        c->svc[c->nsvc++].ft = ft;
    }
    if (!c->nsvc) {
        errs_add(e, target, "no service delivers to target %s", target);
        return -1;
    }
    c->ft = c->svc[0].ft;
    c->dlen = c->ft->detail.rec->length;
    c->hlen = c->ft->header.rec ? c->ft->header.rec->length : 0;
    c->tlen = c->ft->trailer.rec ? c->ft->trailer.rec->length : 0;
    c->sep = fw_record_sep(c->ft);
    c->seplen = strlen(c->sep);
    for (size_t i = 1; i < c->nsvc; i++)
        if (c->svc[i].ft->detail.rec->length != c->dlen ||
            c->svc[i].ft->recfm != c->ft->recfm ||
            cob_codec_page(c->svc[i].ft->cc) != cob_codec_page(c->ft->cc)) {
            errs_add(e, target, "services %s and %s write different record "
                     "layouts into one file", c->svc[0].service,
                     c->svc[i].service);
            return -1;
        }
    const struct map_section *hs = c->ft->header.rec ? c->ft->header.sec : NULL;
    if (specials_in(hs, "$count") || specials_in(hs, "$sum:")) {
        errs_add(e, target, "the header is written first: $count and $sum: "
                 "belong in the trailer");
        return -1;
    }
    if (specials_in(&c->ft->mt->sec[0], "$count") ||
        specials_in(&c->ft->mt->sec[0], "$sum:")) {
        errs_add(e, target, "$count and $sum: belong in the trailer");
        return -1;
    }
    const struct map_section *ts = c->ft->trailer.rec ? c->ft->trailer.sec : NULL;
    for (size_t i = 0; ts && i < ts->na; i++) {
        const char *fr = ts->a[i].from;
        if (!fr || strncmp(fr, "$sum:", 5) != 0)
            continue;
        const char *nm = fr + 5;
        bool dup = false;
        for (size_t k = 0; k < c->nsums; k++)
            if (strcmp(c->sums[k].name, nm) == 0)
                dup = true;
        if (dup)
            continue;
        if (c->nsums == BATCH_MAX_SUMS) {
            errs_add(e, target, "at most %d hash totals", BATCH_MAX_SUMS);
            return -1;
        }
        bool amb = false;
        const struct cpy_field *f = cpy_field_find(c->ft->detail.rec, nm, &amb);
        if (!f || amb || f->pic.cls != COB_NUMERIC) {
            errs_add(e, target, "%s: the detail record has %s", fr,
                     !f ? "no such field" : amb ? "more than one field of that"
                     " name" : "it as text: a hash total needs a number");
            return -1;
        }
        for (const struct cpy_field *g = f; g; g = g->parent)
            if (g->occurs_max) {
                errs_add(e, target, "%s: a field inside OCCURS cannot be "
                         "totalled", fr);
                return -1;
            }
        c->sums[c->nsums].name = nm;
        c->sums[c->nsums].f = f;
        c->sums[c->nsums].scale = f->pic.scale > 0 ? f->pic.scale : 0;
        c->nsums++;
    }
    return 0;
}

static struct fw_target *svc_ft(const struct bctx *c, const char *service)
{
    for (size_t i = 0; i < c->nsvc; i++)
        if (service && strcmp(c->svc[i].service, service) == 0)
            return c->svc[i].ft;
    return NULL;
}

/* totals_text - "NAME=1234.50 NAME2=42" from the running sums */
static void totals_text(const struct bctx *c, const int64_t *v, char *out,
                        size_t outsz)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < c->nsums && n < outsz; i++) {
        char num[48];
        dec_format(v[i], c->sums[i].scale, num, sizeof num);
        int w = snprintf(out + n, outsz - n, "%s%s=%s", i ? " " : "",
                         c->sums[i].name, num);
        if (w < 0)
            break;
        n += (size_t)w;
    }
}

/* ---- building a file -------------------------------------------------- */

enum build_mode {
    BUILD_BOUND = 0,   /* an unfinished batch: its records still batched */
    BUILD_RESEND,      /* a sent batch: its records sent, confirmed... */
    BUILD_PREVIEW,     /* dry run of a new batch: the queued records */
};

struct bfail {
    char ref[SPOOL_REF_MAX];
    char *reason;
};

struct built {
    int64_t count;
    int64_t sums[BATCH_MAX_SUMS];
    uint64_t bytes;
    char sha256[65];
    char totals[512];
    int64_t failed;                /* records left out */
};

struct wctx {
    struct bctx *c;
    const struct spool_batch *b;
    enum build_mode mode;
    int fd;
    unsigned char *out;            /* BATCH_IOBUF */
    size_t outn;
    unsigned char *rec;            /* one record */
    size_t reclen;
    EVP_MD_CTX *md;
    struct record *sp;             /* specials */
    struct fvalue *v_ref, *v_recv, *v_num;  /* per-record specials, into
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

static int w_flush(struct wctx *w)
{
    size_t off = 0;
    if (EVP_DigestUpdate(w->md, w->out, w->outn) != 1) {
        w->err = EIO;
        return -1;
    }
    while (off < w->outn) {
        ssize_t k = write(w->fd, w->out + off, w->outn - off);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            w->err = errno;
            return -1;
        }
        off += (size_t)k;
    }
    w->res.bytes += w->outn;
    w->outn = 0;
    return 0;
}

static int w_put(struct wctx *w, const void *p, size_t n)
{
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
    if (date_parse(b->business_date, &days) != 0)
        return -1;
    if (!(v = sp_field(w->sp, "$file-date")) || fvalue_set_date(v, days) ||
        !(v = sp_field(w->sp, "$business-date")) || fvalue_set_date(v, days) ||
        !(v = sp_field(w->sp, "$sequence")) || fvalue_set_int(v, b->seq) ||
        !(v = sp_field(w->sp, "$created-time")) ||
        fvalue_set_datetime(v, b->created_at) ||
        !(v = sp_field(w->sp, "$batch-id")) || fvalue_set_int(v, b->id) ||
        !(v = sp_field(w->sp, "$target")) ||
        fvalue_set_text(v, FT_STRING, b->target))
        return -1;
    /* the per-record ones exist from here on, so the details can keep
     * pointers to them (nothing is added to sp until the trailer) */
    if (!sp_field(w->sp, "$reference") || !sp_field(w->sp, "$received-at") ||
        !sp_field(w->sp, "$record-number"))
        return -1;
    w->v_ref = sp_field(w->sp, "$reference");
    w->v_recv = sp_field(w->sp, "$received-at");
    w->v_num = sp_field(w->sp, "$record-number");
    return 0;
}

/* errs_join - every problem of pe as one line, for a dead letter reason */
static char *errs_join(const struct errs *pe)
{
    struct buf b;
    buf_init(&b, 4096);
    for (size_t i = 0; i < pe->n; i++)
        buf_printf(&b, "%s%s%s%s", i ? "; " : "", pe->v[i].where,
                   pe->v[i].where[0] ? ": " : "", pe->v[i].msg);
    if (!b.len)
        buf_puts(&b, "cannot be encoded");
    return buf_take(&b);
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
    struct fw_target *ft = svc_ft(c, r->service);
    if (!ft) {
        w->stop_config = true;
        snprintf(w->stop_msg, sizeof w->stop_msg, "%s: service %s no longer "
                 "delivers to target %s", r->ref, r->service, w->b->target);
        return 1;
    }
    struct errs pe;
    errs_init(&pe);
    int rc = 0;
    struct record *rec = NULL;
    if (!r->record_json) {
        errs_add(&pe, r->ref, "the mapped record is not in the ledger "
                 "(purged?)");
        goto bad;
    }
    rec = record_from_json(r->record_json, &pe);
    if (!rec)
        goto bad;
    if (fvalue_set_text(w->v_ref, FT_STRING, r->ref) ||
        ((!w->v_recv->present || w->v_recv->num != r->received_at) &&
         fvalue_set_datetime(w->v_recv, r->received_at)) ||
        fvalue_set_int(w->v_num, w->res.count + 1)) {
        w->err = ENOMEM;
        rc = 1;
        goto out;
    }
    if (fw_encode(ft->detail.plan, ft->cc, rec, w->sp, w->rec, c->dlen, NULL,
                  NULL, &pe) != 0)
        goto bad;
    int64_t vals[BATCH_MAX_SUMS];
    for (size_t i = 0; i < c->nsums; i++) {
        int vs = 0;
        char msg[160];
        if (cob_num_decode(ft->cc, &c->sums[i].f->pic,
                           w->rec + c->sums[i].f->offset, &vals[i], &vs,
                           msg, sizeof msg) != 0 ||
            rescale(vals[i], vs, c->sums[i].scale, &vals[i]) != 0) {
            errs_add(&pe, c->sums[i].name, "cannot be totalled: %s", msg);
            goto bad;
        }
    }
    for (size_t i = 0; i < c->nsums; i++)
        if (batch_sum_add(&w->res.sums[i], vals[i]) != 0) {
            errs_add(&pe, c->sums[i].name, "the hash total would overflow");
            goto bad;
        }
    if (w_put(w, w->rec, c->dlen) != 0 || w_put(w, c->sep, c->seplen) != 0) {
        rc = 1;
        goto out;
    }
    w->res.count++;
    if (w->res.count == 1)
        spool_crashpoint("batch-write");
    if (c->o->progress && (w->res.count & 4095) == 0)
        c->o->progress(c->o->progress_ctx, "build", w->res.count, w->total);
    goto out;
bad:
    if (note_fail(w, r->ref, errs_join(&pe)) != 0)
        rc = 2;      /* too many dead letters pending: apply, then redo */
out:
    record_free(rec);
    errs_free(&pe);
    return rc;
}

/* put_section - encode header or trailer from the specials */
static int put_section(struct wctx *w, const struct fw_layout *l, size_t len,
                       struct errs *e)
{
    if (!l->rec)
        return 0;
    unsigned char *tmp = calloc(1, len ? len : 1);
    struct record *empty = record_new();
    int rc = -1;
    if (!tmp || !empty) {
        errs_add(e, w->b->target, "out of memory");
        goto out;
    }
    if (fw_encode(l->plan, w->c->ft->cc, empty, w->sp, tmp, len, NULL, NULL,
                  e) != 0)
        goto out;
    if (w_put(w, tmp, len) != 0 || w_put(w, w->c->sep, w->c->seplen) != 0) {
        errs_add(e, w->b->target, "writing: %s", strerror(w->err));
        goto out;
    }
    rc = 0;
out:
    free(tmp);
    record_free(empty);
    return rc;
}

/* apply_fails - the pending dead letters, each in its own transaction */
static int apply_fails(struct wctx *w, struct errs *e)
{
    int rc = 0;
    for (size_t i = 0; i < w->nfails; i++) {
        if (rc == 0 && spool_record_fail(w->c->sp, w->fails[i].ref,
                                         w->fails[i].reason, e) != 0)
            rc = -1;
        free(w->fails[i].reason);
    }
    w->nfails = 0;
    return rc;
}

enum { BUILT_OK = 0, BUILT_CONFIG, BUILT_IO };

/* build_pass - write the whole file once to tmp; BUILT_* or 2 (redo) */
static int build_pass(struct wctx *w, const char *tmp, struct errs *e)
{
    struct bctx *c = w->c;
    int rc = BUILT_IO;
    memset(&w->res, 0, sizeof w->res);
    w->outn = 0;
    w->err = 0;
    w->fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (w->fd < 0) {
        errs_add(e, tmp, "cannot create: %s", strerror(errno));
        return BUILT_IO;
    }
    if (EVP_DigestInit_ex(w->md, EVP_sha256(), NULL) != 1) {
        errs_add(e, tmp, "sha256 unavailable");
        goto out;
    }
    if (specials_base(w) != 0) {
        errs_add(e, w->b->target, "out of memory");
        goto out;
    }
    if (put_section(w, &c->ft->header, c->hlen, e) != 0) {
        rc = w->err ? BUILT_IO : BUILT_CONFIG;
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
    if (f == 2) {
        rc = 2;
        goto out;
    }
    if (f != 0 || w->stop_config || w->err) {
        if (w->stop_config) {
            errs_add(e, w->b->target, "%s", w->stop_msg);
            rc = BUILT_CONFIG;
        } else if (w->err) {
            errs_add(e, tmp, "writing: %s", strerror(w->err));
        }
        goto out;
    }
    struct fvalue *v;
    int64_t cnt = w->res.count;
    if (c->ft->trailer_all)
        cnt += (c->hlen ? 1 : 0) + (c->tlen ? 1 : 0);
    if (!(v = sp_field(w->sp, "$count")) || fvalue_set_int(v, cnt))
        goto nomem;
    for (size_t i = 0; i < c->nsums; i++) {
        char nm[160];
        snprintf(nm, sizeof nm, "$sum:%s", c->sums[i].name);
        if (!(v = sp_field(w->sp, nm)) ||
            (c->sums[i].scale > 0
                 ? fvalue_set_decimal(v, w->res.sums[i], c->sums[i].scale)
                 : fvalue_set_int(v, w->res.sums[i])))
            goto nomem;
    }
    if (put_section(w, &c->ft->trailer, c->tlen, e) != 0) {
        rc = w->err ? BUILT_IO : BUILT_CONFIG;
        goto out;
    }
    if (w_flush(w) != 0) {
        errs_add(e, tmp, "writing: %s", strerror(w->err));
        goto out;
    }
    unsigned char dg[EVP_MAX_MD_SIZE];
    unsigned dn = 0;
    EVP_DigestFinal_ex(w->md, dg, &dn);
    hex_digest(dg, dn, w->res.sha256);
    totals_text(c, w->res.sums, w->res.totals, sizeof w->res.totals);
    if (fsync(w->fd) != 0) {
        errs_add(e, tmp, "fsync: %s", strerror(errno));
        goto out;
    }
    rc = BUILT_OK;
    goto out;
nomem:
    errs_add(e, w->b->target, "out of memory");
out:
    if (close(w->fd) != 0 && rc == BUILT_OK) {
        errs_add(e, tmp, "close: %s", strerror(errno));
        rc = BUILT_IO;
    }
    w->fd = -1;
    return rc;
}

/* build_file - write batch b's file as dir/name (tmp, fsync, rename,
 * fsync dir).  Dead letters are recorded unless dry.  BUILT_* */
static int build_file(struct bctx *c, const struct spool_batch *b,
                      enum build_mode mode, bool dry, const char *dir,
                      const char *name, int64_t total, struct built *res,
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
    int rc = BUILT_IO;
    char tmp[PATH_MAX], fin[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name) >= (int)sizeof tmp ||
        fs_join(fin, sizeof fin, dir, name) != 0) {
        errs_add(e, dir, "path too long");
        return BUILT_IO;
    }
    w.out = malloc(BATCH_IOBUF);
    w.rec = malloc(c->dlen ? c->dlen : 1);
    w.md = EVP_MD_CTX_new();
    w.sp = record_new();
    w.fails = w.record_fails ? calloc(BATCH_FAIL_CAP, sizeof *w.fails) : NULL;
    if (!w.out || !w.rec || !w.md || !w.sp ||
        (w.record_fails && !w.fails)) {
        errs_add(e, b->target, "out of memory");
        goto out;
    }
    int64_t failed = 0;
    for (int pass = 0; pass < BATCH_MAX_PASSES; pass++) {
        rc = build_pass(&w, tmp, e);
        failed += rc == 2 ? (int64_t)w.nfails : w.res.failed;
        if (w.nfails && apply_fails(&w, e) != 0) {
            rc = BUILT_IO;
            break;
        }
        if (rc != 2)
            break;
        log_event(LOG_INFO, "batch-rebuild", "target", b->target, "reason",
                  "dead letters recorded; writing the file again", NULL);
    }
    if (rc == 2) {
        errs_add(e, b->target, "too many records cannot be encoded");
        rc = BUILT_IO;
    }
    if (rc != BUILT_OK) {
        unlink(tmp);
        goto out;
    }
    w.res.failed = failed;
    spool_crashpoint("batch-fsync");
    if (rename(tmp, fin) != 0) {
        errs_add(e, fin, "rename: %s", strerror(errno));
        unlink(tmp);
        rc = BUILT_IO;
        goto out;
    }
    spool_crashpoint("batch-rename");
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
    record_free(w.sp);
    EVP_MD_CTX_free(w.md);
    free(w.rec);
    free(w.out);
    return rc;
}

/* ---- reading it back -------------------------------------------------- */

/* read_exact - n bytes or -1 (short file / error) */
static int read_exact(FILE *f, unsigned char *p, size_t n, EVP_MD_CTX *md)
{
    if (n && fread(p, 1, n, f) != n)
        return -1;
    return EVP_DigestUpdate(md, p, n) == 1 ? 0 : -1;
}

/* verify_field - decode a trailer field named to and compare with want at
 * scale wscale; 0 equal, -1 with why */
static int verify_field(const struct bctx *c, const unsigned char *trl,
                        const char *to, int64_t want, int wscale, char *why,
                        size_t whysz)
{
    bool amb = false;
    const struct cpy_field *f = cpy_field_find(c->ft->trailer.rec, to, &amb);
    if (!f || f->pic.cls != COB_NUMERIC) {
        snprintf(why, whysz, "trailer field %s is not a number", to);
        return -1;
    }
    int64_t v = 0, a = 0, b = 0;
    int vs = 0;
    char msg[160];
    if (cob_num_decode(c->ft->cc, &f->pic, trl + f->offset, &v, &vs, msg,
                       sizeof msg) != 0) {
        snprintf(why, whysz, "trailer field %s: %s", to, msg);
        return -1;
    }
    int sc = vs > wscale ? vs : wscale;
    if (rescale(v, vs, sc, &a) != 0 || rescale(want, wscale, sc, &b) != 0 ||
        a != b) {
        char x[48], y[48];
        dec_format(v, vs, x, sizeof x);
        dec_format(want, wscale, y, sizeof y);
        snprintf(why, whysz, "trailer %s says %s, the details add up to %s",
                 to, x, y);
        return -1;
    }
    return 0;
}

/* verify_file - read path back with the decoders: every record decodes,
 * separators are where they belong, the details' count and totals match
 * the trailer and want (what the ledger holds), and so does the SHA-256.
 * 0 ok; -1 with why (a mismatch) or e (I/O). */
static int verify_file(struct bctx *c, const char *path,
                       const struct built *want, char *why, size_t whysz,
                       struct errs *e)
{
    int rc = -1;
    why[0] = '\0';
    FILE *f = fopen(path, "rbe");
    size_t big = c->dlen > c->hlen ? c->dlen : c->hlen;
    if (c->tlen > big)
        big = c->tlen;
    unsigned char *rb = malloc(big + 8);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    struct record *d = NULL;
    int64_t sums[BATCH_MAX_SUMS] = { 0 }, count = 0;
    struct stat st;
    if (!f || !rb || !md || fstat(fileno(f), &st) != 0) {
        errs_add(e, path, "cannot read back: %s", strerror(errno));
        goto out;
    }
    setvbuf(f, NULL, _IOFBF, BATCH_IOBUF);
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    uint64_t fixed = (c->hlen ? c->hlen + c->seplen : 0) +
                     (c->tlen ? c->tlen + c->seplen : 0);
    uint64_t size = (uint64_t)st.st_size, step = c->dlen + c->seplen;
    if (size < fixed || (size - fixed) % step != 0) {
        snprintf(why, whysz, "%llu bytes is not a header, whole %zu-byte "
                 "details and a trailer", (unsigned long long)size, c->dlen);
        goto out;
    }
    int64_t n = (int64_t)((size - fixed) / step);
    struct errs de;
    errs_init(&de);
    unsigned char sepb[2];
    if (c->hlen) {
        if (read_exact(f, rb, c->hlen, md) ||
            read_exact(f, sepb, c->seplen, md))
            goto short_read;
        if (c->seplen && memcmp(sepb, c->sep, c->seplen) != 0) {
            snprintf(why, whysz, "no record separator after the header");
            goto out;
        }
        if (!(d = fw_decode(c->ft->header.rec, c->ft->cc, rb, c->hlen, &de))) {
            snprintf(why, whysz, "header does not decode: %s",
                     errs_first_msg(&de));
            errs_free(&de);
            goto out;
        }
        record_free(d);
        d = NULL;
    }
    for (int64_t i = 0; i < n; i++) {
        if (read_exact(f, rb, c->dlen, md) ||
            read_exact(f, sepb, c->seplen, md))
            goto short_read;
        if (c->seplen && memcmp(sepb, c->sep, c->seplen) != 0) {
            snprintf(why, whysz, "detail %lld: no record separator",
                     (long long)i + 1);
            goto out;
        }
        for (size_t k = 0; k < c->nsums; k++) {
            int64_t v = 0;
            int vs = 0;
            char msg[160];
            if (cob_num_decode(c->ft->cc, &c->sums[k].f->pic,
                               rb + c->sums[k].f->offset, &v, &vs, msg,
                               sizeof msg) != 0 ||
                rescale(v, vs, c->sums[k].scale, &v) != 0 ||
                batch_sum_add(&sums[k], v) != 0) {
                snprintf(why, whysz, "detail %lld: %s does not decode",
                         (long long)i + 1, c->sums[k].name);
                goto out;
            }
        }
        count++;
        if (c->o->progress && (count & 4095) == 0)
            c->o->progress(c->o->progress_ctx, "verify", count, n);
    }
    if (c->tlen) {
        if (read_exact(f, rb, c->tlen, md) ||
            read_exact(f, sepb, c->seplen, md))
            goto short_read;
        if (!(d = fw_decode(c->ft->trailer.rec, c->ft->cc, rb, c->tlen, &de))) {
            snprintf(why, whysz, "trailer does not decode: %s",
                     errs_first_msg(&de));
            errs_free(&de);
            goto out;
        }
        const struct map_section *ts = c->ft->trailer.sec;
        for (size_t i = 0; ts && i < ts->na; i++) {
            const char *fr = ts->a[i].from;
            if (fr && strcmp(fr, "$count") == 0) {
                int64_t cnt = count + (c->ft->trailer_all
                                       ? (c->hlen ? 1 : 0) + 1 : 0);
                if (verify_field(c, rb, ts->a[i].to, cnt, 0, why, whysz))
                    goto out;
            } else if (fr && strncmp(fr, "$sum:", 5) == 0) {
                for (size_t k = 0; k < c->nsums; k++)
                    if (strcmp(c->sums[k].name, fr + 5) == 0 &&
                        verify_field(c, rb, ts->a[i].to, sums[k],
                                     c->sums[k].scale, why, whysz))
                        goto out;
            }
        }
    }
    unsigned char dg[EVP_MAX_MD_SIZE];
    unsigned dn = 0;
    char hex[65];
    EVP_DigestFinal_ex(md, dg, &dn);
    hex_digest(dg, dn, hex);
    char tot[512];
    totals_text(c, sums, tot, sizeof tot);
    if (count != want->count)
        snprintf(why, whysz, "the file holds %lld details, the ledger %lld",
                 (long long)count, (long long)want->count);
    else if (strcmp(tot, want->totals) != 0)
        snprintf(why, whysz, "the file's totals are %.200s, the ledger's %.200s", tot,
                 want->totals);
    else if (strcmp(hex, want->sha256) != 0)
        snprintf(why, whysz, "SHA-256 %s, the ledger says %s", hex,
                 want->sha256);
    else
        rc = 0;
    goto out;
short_read:
    snprintf(why, whysz, "the file ends early");
out:
    record_free(d);
    EVP_MD_CTX_free(md);
    free(rb);
    if (f)
        fclose(f);
    return rc;
}

/* ---- handing it over -------------------------------------------------- */

static void describe_dest(const struct target_config *tc, char *out,
                          size_t outsz)
{
    const struct kvlist *o = &tc->transport_opts;
    const char *host = kv_get(o, "host"), *dir = kv_get(o, "remote-dir");
    if (!dir)
        dir = kv_get(o, "dir");
    if (host) {
        const char *user = kv_get(o, "user"), *port = kv_get(o, "port");
        snprintf(out, outsz, "%s %s%s%s:%s%s%s", tc->transport_type,
                 user ? user : "", user ? "@" : "", host, port ? port : "22",
                 dir && dir[0] != '/' ? "/" : "", dir ? dir : "");
    } else {
        snprintf(out, outsz, "%s %s", tc->transport_type, dir ? dir : "");
    }
}

/* send_file - through the target's transport; the adapter's outcome */
static enum adapter_outcome send_file(struct bctx *c, const char *path,
                                      const char *name, const char *sha,
                                      uint64_t size, char *msg, size_t msgsz)
{
    const struct adapter *t = c->tc->transport_type ?
        adapter_find(c->tc->transport_type) : NULL;
    if (!t || t->kind != ADAPTER_TRANSPORT || !t->transfer) {
        snprintf(msg, msgsz, "target %s has no usable transport (%s)",
                 c->tc->name, c->tc->transport_type ? c->tc->transport_type
                                                    : "none");
        return ADAPTER_FAIL;
    }
    struct adapter_env env = {
        .target = c->tc, .opts = &c->tc->transport_opts, .map = NULL,
        .base_dir = c->cfg->base_dir, .service = NULL,
    };
    struct errs ie;
    errs_init(&ie);
    void *ctx = NULL;
    if (t->init && t->init(&ctx, &env, &ie) != 0) {
        snprintf(msg, msgsz, "transport %s: %s%s%s", t->name,
                 ie.n ? ie.v[0].where : "", ie.n && ie.v[0].where[0] ? ": " : "",
                 errs_first_msg(&ie));
        errs_free(&ie);
        return ADAPTER_FAIL;
    }
    errs_free(&ie);
    bool ow = false;
    const char *v = kv_get(&c->tc->transport_opts, "allow-overwrite");
    if (v)
        config_parse_bool(v, &ow);
    struct transfer_req req = {
        .local_path = path, .remote_name = name, .sha256_hex = sha,
        .size = size, .allow_overwrite = ow,
    };
    struct adapter_result res;
    memset(&res, 0, sizeof res);
    if (c->o->progress)
        c->o->progress(c->o->progress_ctx, "send", 0, (int64_t)size);
    t->transfer(ctx, &req, &res);
    if (t->close)
        t->close(ctx);
    if (res.outcome == ADAPTER_OK && c->o->progress)
        c->o->progress(c->o->progress_ctx, "send", (int64_t)size,
                       (int64_t)size);
    snprintf(msg, msgsz, "%s", res.msg);
    return res.outcome == ADAPTER_INDOUBT ? ADAPTER_RETRY : res.outcome;
}

/* ---- one batch, start to end ------------------------------------------ */

static void set_msg(struct batch_summary *sum, enum batch_outcome o,
                    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_msg(struct batch_summary *sum, enum batch_outcome o,
                    const char *fmt, ...)
{
    va_list ap;
    sum->outcome = o;
    va_start(ap, fmt);
    vsnprintf(sum->message, sizeof sum->message, fmt, ap);
    va_end(ap);
}

/* folder - spool/<sub>/<target>, created 0700 */
static int folder(struct bctx *c, const char *sub, char *out, size_t outsz,
                  struct errs *e)
{
    if (snprintf(out, outsz, "%s/%s/%s", spool_dir(c->sp), sub,
                 c->tc->name) >= (int)outsz || fs_mkdirs(out, 0700) != 0) {
        errs_add(e, out, "cannot create: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* archive - move the sent file from outbound to archive (best effort:
 * a file left in outbound/ after a crash here is only tidied later) */
static void archive(struct bctx *c, struct batch_file *bf, struct errs *e)
{
    char dir[PATH_MAX], dst[PATH_MAX];
    if (folder(c, "archive", dir, sizeof dir, e) != 0 ||
        fs_join(dst, sizeof dst, dir, bf->file_name) != 0)
        return;
    if (rename(bf->local_path, dst) == 0) {
        fs_fsync_dir(dir);
        fs_fsync_parent(bf->local_path);
        snprintf(bf->local_path, sizeof bf->local_path, "%s", dst);
    }
}

/* run_batch - build (or rebuild), record, verify and send batch b */
static int run_batch(struct bctx *c, const struct spool_batch *b,
                     enum build_mode mode, struct batch_file *bf,
                     struct batch_summary *sum, struct errs *e)
{
    bool dry = c->o->dry_run;
    char dir[PATH_MAX], why[512], msg[1024];
    struct built res;
    memset(&res, 0, sizeof res);
    bf->batch_id = b->id;
    bf->seq = b->seq;
    snprintf(bf->business_date, sizeof bf->business_date, "%s",
             b->business_date);
    if (b->file_name)
        snprintf(bf->file_name, sizeof bf->file_name, "%s", b->file_name);
    else if (batch_file_name(c->ft->file_pattern, b->business_date, b->seq,
                             b->target, bf->file_name, sizeof bf->file_name,
                             why, sizeof why) != 0) {
        set_msg(sum, BATCH_CONFIG, "file-name %s", why);
        errs_add(e, b->target, "file-name %s", why);
        return -1;
    }
    if (dry)
        snprintf(dir, sizeof dir, "%s", c->o->scratch_dir);
    else if (folder(c, "outbound", dir, sizeof dir, e) != 0)
        goto io;
    if (fs_join(bf->local_path, sizeof bf->local_path, dir, bf->file_name))
        goto io;
    log_event(LOG_INFO, "batch-build", "target", b->target, "batch",
              bf->file_name, "state", spool_batch_state_name(b->state), NULL);
    int r = build_file(c, b, mode, dry, dir, bf->file_name, b->record_count,
                       &res, e);
    if (r == BUILT_CONFIG) {
        set_msg(sum, BATCH_CONFIG, "%s: %s", bf->file_name, errs_first_msg(e));
        return -1;
    }
    if (r != BUILT_OK)
        goto io;
    bf->records = res.count;
    bf->failed = res.failed;
    bf->bytes = res.bytes;
    snprintf(bf->totals, sizeof bf->totals, "%s", res.totals);
    snprintf(bf->sha256, sizeof bf->sha256, "%s", res.sha256);
    if (mode == BUILD_RESEND) {
        if (!b->sha256 || strcmp(b->sha256, res.sha256) != 0 ||
            b->record_count != res.count) {
            snprintf(why, sizeof why, "batch %lld rebuilt as %lld records, "
                     "sha256 %s; the ledger says %lld records, sha256 %s "
                     "(records changed or purged since): not resent",
                     (long long)b->id, (long long)res.count, res.sha256,
                     (long long)b->record_count, b->sha256 ? b->sha256 : "-");
            set_msg(sum, BATCH_VERIFY, "%s", why);
            return 0;
        }
    } else if (!dry) {
        if (spool_batch_written(c->sp, b->id, bf->file_name, res.count,
                                res.totals, res.sha256, e) != 0) {
            set_msg(sum, BATCH_VERIFY, "%s: %s", bf->file_name,
                    errs_first_msg(e));
            return 0;
        }
        spool_crashpoint("batch-ledger-written");
        log_event(LOG_INFO, "batch-written", "target", b->target, "file",
                  bf->file_name, "sha256", res.sha256, "totals", res.totals,
                  NULL);
    }
    if (verify_file(c, bf->local_path, &res, why, sizeof why, e) != 0) {
        if (!why[0])
            goto io;
        set_msg(sum, BATCH_VERIFY, "read-back check of %s failed: %s; "
                "nothing was sent", bf->file_name, why);
        log_event(LOG_ERROR, "batch-verify-failed", "target", b->target,
                  "file", bf->file_name, "reason", why, NULL);
        return 0;
    }
    if (dry)
        return 0;
    describe_dest(c->tc, bf->sent_to, sizeof bf->sent_to);
    if (mode == BUILD_RESEND) {
        char detail[1200];
        snprintf(detail, sizeof detail, "batch %lld %s sha256 %s to %s",
                 (long long)b->id, bf->file_name, res.sha256, bf->sent_to);
        if (spool_audit_add(c->sp, c->o->actor ? c->o->actor : "unknown",
                            "batch-resend", NULL, c->o->reason, detail,
                            e) != 0)
            goto io;
    }
    spool_crashpoint("batch-upload");
    enum adapter_outcome out = send_file(c, bf->local_path, bf->file_name,
                                         res.sha256, res.bytes, msg,
                                         sizeof msg);
    if (out == ADAPTER_RETRY) {
        set_msg(sum, BATCH_TEMPFAIL, "%s not sent, try again later: %s",
                bf->file_name, msg);
        log_event(LOG_WARN, "batch-send-retry", "target", b->target, "file",
                  bf->file_name, "message", msg, NULL);
        return 0;
    }
    if (out != ADAPTER_OK) {
        set_msg(sum, BATCH_REFUSED, "%s refused: %s (the file waits in "
                "outbound/ and is sent by the next run once this is fixed)",
                bf->file_name, msg);
        log_event(LOG_ERROR, "batch-send-failed", "target", b->target, "file",
                  bf->file_name, "message", msg, NULL);
        return 0;
    }
    spool_crashpoint("batch-after-transfer");
    bf->sent = true;
    if (mode != BUILD_RESEND) {
        if (spool_batch_sent(c->sp, b->id, e) != 0)
            goto io;
        spool_crashpoint("batch-ledger-sent");
    }
    archive(c, bf, e);
    log_event(LOG_INFO, "batch-sent", "target", b->target, "file",
              bf->file_name, "to", bf->sent_to, "sha256", res.sha256, NULL);
    return 0;
io:
    set_msg(sum, BATCH_ERROR, "%s: %s", bf->file_name[0] ? bf->file_name
            : b->target, errs_first_msg(e));
    return -1;
}

/* ---- the run ---------------------------------------------------------- */

/* today - YYYY-MM-DD now in zone */
static int today(const char *zone, char out[11], struct errs *e)
{
    struct tz *z = tz_load(zone ? zone : "Europe/London", e);
    if (!z)
        return -1;
    struct tm tm;
    tz_localtime(z, now_ms() / 1000, &tm);
    tz_free(z);
    if (tm.tm_year < -1899 || tm.tm_year > 8099) {
        errs_add(e, "clock", "the year is out of range");
        return -1;
    }
    snprintf(out, 11, "%04u-%02u-%02u", (unsigned)(tm.tm_year + 1900) % 10000u,
             (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u);
    return 0;
}

/* queued_count - target's queued records, from the ledger's counts (an
 * aggregate: no record is read) */
static int queued_count(struct bctx *c, int64_t *n, struct errs *e)
{
    struct spool_counts cs;
    *n = 0;
    if (spool_counts(c->sp, &cs, e) != 0)
        return -1;
    for (size_t i = 0; i < cs.n; i++)
        if (cs.v[i].state == SPOOL_QUEUED && cs.v[i].target &&
            strcmp(cs.v[i].target, c->tc->name) == 0)
            *n += cs.v[i].n;
    spool_counts_free(&cs);
    return 0;
}

/* finish_outcome - fold a file's dead letters into the run's outcome */
static void finish_outcome(struct batch_summary *sum)
{
    if (sum->outcome != BATCH_DONE)
        return;
    for (size_t i = 0; i < sum->nfiles; i++)
        if (sum->files[i].failed) {
            sum->outcome = BATCH_DATA;
            snprintf(sum->message, sizeof sum->message, "%lld record(s) could "
                     "not be encoded and were moved to the dead letter state "
                     "(ferry queue --state failed); the rest were sent",
                     (long long)sum->files[i].failed);
        }
}

/* run_locked - the run proper, with the lock held (or a dry run) */
static int run_locked(struct bctx *c, const char *date,
                      struct batch_summary *sum, struct errs *e)
{
    const char *target = c->tc->name;
    struct spool_batch *b = NULL;
    int rc = 0;
    if (c->o->resend_id > 0) {
        int g = spool_batch_get(c->sp, c->o->resend_id, &b, e);
        if (g != 0 || strcmp(b->target, target) != 0) {
            char id[32];
            snprintf(id, sizeof id, "%lld", (long long)c->o->resend_id);
            set_msg(sum, g < 0 ? BATCH_ERROR : BATCH_CONFIG,
                    "no batch %s of target %s", id, target);
            if (g >= 0)
                errs_add(e, target, "%s", sum->message);
            spool_batch_free(b);
            return -1;
        }
        if (b->state != SPOOL_BATCH_SENT && b->state != SPOOL_BATCH_CONFIRMED) {
            set_msg(sum, BATCH_CONFIG, "batch %s was never sent: run without "
                    "--resend to finish it", b->file_name ? b->file_name
                    : "(unwritten)");
            errs_add(e, target, "%s", sum->message);
            spool_batch_free(b);
            return -1;
        }
        struct batch_file *bf = &sum->files[sum->nfiles++];
        bf->resent = true;
        rc = run_batch(c, b, BUILD_RESEND, bf, sum, e);
        spool_batch_free(b);
        return rc;
    }
    /* 1. finish what a crashed run left (at most a few: each is finished
     * before a new one is bound, so normally one) */
    while (sum->nfiles < BATCH_MAX_FILES - 1) {
        int u = spool_batch_unfinished(c->sp, target, &b, e);
        if (u < 0) {
            set_msg(sum, BATCH_ERROR, "%s", errs_first_msg(e));
            return -1;
        }
        if (u == 1)
            break;
        struct batch_file *bf = &sum->files[sum->nfiles++];
        bf->finished_earlier = true;
        log_event(LOG_INFO, "batch-resume", "target", target, "batch",
                  b->file_name ? b->file_name : "", "state",
                  spool_batch_state_name(b->state), NULL);
        rc = run_batch(c, b, BUILD_BOUND, bf, sum, e);
        spool_batch_free(b);
        b = NULL;
        if (rc != 0 || sum->outcome != BATCH_DONE || c->o->dry_run)
            return rc;   /* a dry run previews only the unfinished one */
    }
    /* 2. a new batch, when there is something to send (or empty-file) */
    int64_t queued = 0;
    if (queued_count(c, &queued, e) != 0) {
        set_msg(sum, BATCH_ERROR, "%s", errs_first_msg(e));
        return -1;
    }
    if (!queued && !c->ft->empty_file) {
        if (!sum->nfiles)
            sum->nothing = true;
        return 0;
    }
    struct batch_file *bf = &sum->files[sum->nfiles++];
    if (c->o->dry_run) {
        struct spool_batch pb;
        memset(&pb, 0, sizeof pb);
        pb.target = (char *)target;
        snprintf(pb.business_date, sizeof pb.business_date, "%s", date);
        if (spool_batch_next_seq(c->sp, target, date, &pb.seq, e) != 0) {
            set_msg(sum, BATCH_ERROR, "%s", errs_first_msg(e));
            return -1;
        }
        pb.created_at = now_ms();
        pb.record_count = c->o->max_records && (int64_t)c->o->max_records
            < queued ? (int64_t)c->o->max_records : queued;
        return run_batch(c, &pb, BUILD_PREVIEW, bf, sum, e);
    }
    /* binding a big batch rewrites every bound row: let the WAL be
     * checkpointed by another thread while the file is built, rather
     * than inside the bind's commit */
    struct errs ce;
    errs_init(&ce);
    struct spool_checkpointer *ck = spool_checkpointer_start(c->sp, 250, &ce);
    errs_free(&ce);
    if (spool_batch_bind(c->sp, target, date, c->o->max_records, &b, e) != 0) {
        spool_checkpointer_stop(ck);
        set_msg(sum, BATCH_ERROR, "binding records: %s", errs_first_msg(e));
        return -1;
    }
    log_event(LOG_INFO, "batch-bound", "target", target, "date", date, NULL);
    rc = run_batch(c, b, BUILD_BOUND, bf, sum, e);
    spool_checkpointer_stop(ck);
    spool_batch_free(b);
    return rc;
}

int batch_run(const struct ferry_config *cfg, struct spool *sp,
              const char *target, const struct batch_opts *o,
              struct batch_summary *sum, struct errs *e)
{
    int64_t t0 = now_ms();
    struct batch_opts dflt;
    memset(&dflt, 0, sizeof dflt);
    memset(sum, 0, sizeof *sum);
    if (!o)
        o = &dflt;
    sum->dry_run = o->dry_run;
    struct bctx c;
    memset(&c, 0, sizeof c);
    c.cfg = cfg;
    c.sp = sp;
    c.o = o;
    struct joblock *lock = NULL;
    char date[11], scratch[PATH_MAX] = "";
    struct batch_opts dry;
    int rc = -1;
    if (o->resend_id > 0 && (!o->reason || !*o->reason)) {
        set_msg(&sum[0], BATCH_CONFIG, "a resend needs a reason");
        errs_add(e, target, "%s", sum->message);
        goto out;
    }
    if (o->resend_id > 0 && o->dry_run) {
        set_msg(sum, BATCH_CONFIG, "--resend and --dry-run do not go "
                "together");
        errs_add(e, target, "%s", sum->message);
        goto out;
    }
    if (bctx_setup(&c, target, e) != 0) {
        set_msg(sum, BATCH_CONFIG, "%s", errs_first_msg(e));
        goto out;
    }
    if (o->business_date) {
        int64_t days;
        if (strlen(o->business_date) != 10 ||
            date_parse(o->business_date, &days) != 0) {
            set_msg(sum, BATCH_CONFIG, "business date '%s': use YYYY-MM-DD",
                    o->business_date);
            errs_add(e, target, "%s", sum->message);
            goto out;
        }
        snprintf(date, sizeof date, "%s", o->business_date);
    } else if (today(o->tz, date, e) != 0) {
        set_msg(sum, BATCH_CONFIG, "%s", errs_first_msg(e));
        goto out;
    }
    if (o->dry_run) {
        const char *base = o->scratch_dir ? o->scratch_dir : getenv("TMPDIR");
        snprintf(scratch, sizeof scratch, "%s/ferry-batch-dry-run.XXXXXX",
                 base && *base ? base : "/tmp");
        if (!mkdtemp(scratch)) {
            set_msg(sum, BATCH_ERROR, "cannot make a scratch folder: %s",
                    strerror(errno));
            errs_add(e, scratch, "%s", sum->message);
            goto out;
        }
        dry = *o;
        dry.scratch_dir = scratch;
        c.o = &dry;
    } else {
        char lockdir[PATH_MAX], job[300];
        snprintf(lockdir, sizeof lockdir, "%s/locks", spool_dir(sp));
        snprintf(job, sizeof job, "batch-%s", target);
        pid_t holder = 0;
        int l = joblock_acquire(lockdir, job, &lock, &holder, e);
        if (l < 0) {
            set_msg(sum, BATCH_ERROR, "%s", errs_first_msg(e));
            goto out;
        }
        if (l == 1) {
            char pid[32];
            snprintf(pid, sizeof pid, "%ld", (long)holder);
            sum->holder = holder;
            set_msg(sum, BATCH_BUSY, "the night batch of %s is already "
                    "running as PID %s", target, pid);
            rc = 0;
            goto out;
        }
    }
    rc = run_locked(&c, date, sum, e);
    if (rc == 0)
        finish_outcome(sum);
out:
    joblock_release(lock);
    bctx_free(&c);
    sum->elapsed_ms = now_ms() - t0;
    return rc;
}
