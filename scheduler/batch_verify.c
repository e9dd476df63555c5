/* batch_verify.c - a written batch file read back before it leaves (its
 * plain bytes, sealed at rest or not: batch_file.c): the
 * target's format decodes every record and checks the count and totals
 * against the trailer and the ledger (adapter.h check_file), and the
 * SHA-256 of the bytes it read is checked here against the ledger's. */
#include "scheduler/batch_int.h"
#include "util/errs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

struct rctx {
    struct bctx *c;
    struct bfile_in in;            /* plain or sealed at rest */
    EVP_MD_CTX *md;
    int err;                       /* errno of a read failure */
};

/* r_get - exactly n plain bytes, hashed (struct batch_source) */
static int r_get(void *ctx, void *p, size_t n)
{
    struct rctx *r = ctx;
    if (!n)
        return 0;
    int g = batch_file_read(&r->in, p, n);
    if (g != 0) {
        if (g < 0)
            r->err = errno ? errno : EIO;
        return g;
    }
    if (EVP_DigestUpdate(r->md, p, n) != 1) {
        r->err = EIO;
        return -1;
    }
    return 0;
}

static void r_progress(void *ctx, int64_t done, int64_t total)
{
    struct rctx *r = ctx;
    if (r->c->o->progress)
        r->c->o->progress(r->c->o->progress_ctx, "verify", done, total);
}

/* batch_verify_file - see batch_int.h */
int batch_verify_file(struct bctx *c, const char *path,
                      const struct built *want, char *why, size_t whysz,
                      struct errs *e)
{
    int rc = -1;
    why[0] = '\0';
    struct rctx r = { .c = c, .md = EVP_MD_CTX_new() };
    const char *slash = strrchr(path, '/');
    if (!r.md || EVP_DigestInit_ex(r.md, EVP_sha256(), NULL) != 1) {
        errs_add(e, path, "sha256 unavailable");
        EVP_MD_CTX_free(r.md);
        return -1;
    }
    if (batch_file_open(c, path, slash ? slash + 1 : path, &r.in, e) != 0) {
        EVP_MD_CTX_free(r.md);
        return -1;
    }
    struct batch_source src = { .get = r_get, .progress = r_progress,
                                .sctx = &r };
    struct batch_totals bt;
    memset(&bt, 0, sizeof bt);
    bt.count = want->count;
    snprintf(bt.text, sizeof bt.text, "%s", want->totals);
    struct adapter_result ar;
    memset(&ar, 0, sizeof ar);
    c->format->check_file(c->svc[0].fmt, &src, r.in.size, &bt, &ar);
    if (r.err || ar.outcome == ADAPTER_RETRY) {
        errs_add(e, path, "cannot read back: %s",
                 r.err ? strerror(r.err) : ar.msg);
        goto out;
    }
    if (ar.outcome != ADAPTER_OK) {
        snprintf(why, whysz, "%s", ar.msg[0] ? ar.msg : "the format "
                 "refused the file");
        goto out;
    }
    if (batch_file_finish(&r.in) != 0) {
        snprintf(why, whysz, "%s", r.in.fc ? "the sealed file does not open "
                 "(wrong key, renamed or damaged)" : "bytes after the last "
                 "record");
        goto out;
    }
    unsigned char dg[EVP_MAX_MD_SIZE];
    unsigned dn = 0;
    char hex[65];
    EVP_DigestFinal_ex(r.md, dg, &dn);
    batch_hex_digest(dg, dn, hex);
    if (strcmp(hex, want->sha256) != 0)
        snprintf(why, whysz, "SHA-256 %s, the ledger says %s", hex,
                 want->sha256);
    else
        rc = 0;
out:
    EVP_MD_CTX_free(r.md);
    batch_file_close(&r.in);
    return rc;
}
