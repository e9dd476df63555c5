/* batch_verify.c - reads a written batch file back with the decoders
 * before it leaves: every record decodes, separators sit where they
 * belong, and the count, hash totals and SHA-256 match the ledger. */
#include "scheduler/batch_int.h"
#include "mappings/fw_target.h"
#include "util/errs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

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
    if (batch_rescale(v, vs, sc, &a) != 0 ||
        batch_rescale(want, wscale, sc, &b) != 0 || a != b) {
        char x[48], y[48];
        dec_format(v, vs, x, sizeof x);
        dec_format(want, wscale, y, sizeof y);
        snprintf(why, whysz, "trailer %s says %s, the details add up to %s",
                 to, x, y);
        return -1;
    }
    return 0;
}

/* batch_verify_file - read path back with the decoders: every record decodes,
 * separators are where they belong, the details' count and totals match
 * the trailer and want (what the ledger holds), and so does the SHA-256.
 * 0 ok; -1 with why (a mismatch) or e (I/O). */
int batch_verify_file(struct bctx *c, const char *path,
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
                batch_rescale(v, vs, c->sums[k].scale, &v) != 0 ||
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
    batch_hex_digest(dg, dn, hex);
    char tot[512];
    batch_totals_text(c, sums, tot, sizeof tot);
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
