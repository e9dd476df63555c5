/* fixed_width.c - the fixed-width batch format: records laid out by the
 * department's COBOL copybook, gathered into one file per night batch.
 *
 * An instance is one service's compiled mapping section (mappings/
 * fw_target.h): its copybook, code page, record format and the bound
 * plans of its header, detail and trailer.  The night batch
 * (scheduler/batch*.c) drives it through the batch callbacks of
 * adapter.h like any other file format: it streams the bound records
 * from the ledger, records dead letters and keeps the file safe (the
 * sink); this file turns records into bytes, keeps the count and the
 * hash totals ($sum:FIELD, exact, from the bytes written) and reads a
 * written file back with the decoders.  See docs/batch.md. */
#include "adapters/adapter.h"
#include "mappings/fw_target.h"
#include "util/buf.h"
#include "util/errs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

static const struct adapter_key fw_keys[] = {
    ADAPTER_KEY_END,
};

static const struct adapter_key fw_map_keys[] = {
    ADAPTER_KEY("copybook", ADAPTER_OPT_STR, true,
                "the detail copybook, relative to the mapping"),
    ADAPTER_KEY("record", ADAPTER_OPT_STR, false,
                "the 01 record for details (default: the first)"),
    ADAPTER_KEY("encoding", ADAPTER_OPT_STR, false,
                "ascii, IBM-285, IBM-037, IBM-1146 or IBM-1140"),
    ADAPTER_KEY("overpunch", ADAPTER_OPT_STR, false,
                "ibm ({ABCDEFGHI}JKLMNOPQR, default) or gnu"),
    ADAPTER_KEY("recfm", ADAPTER_OPT_STR, false,
                "FB (default), LF, CRLF, V or VB"),
    ADAPTER_KEY("block-size", ADAPTER_OPT_STR, false,
                "VB: bytes a block holds, BDW included (default 27998)"),
    ADAPTER_KEY("file-name", ADAPTER_OPT_STR, false,
                "name pattern: {yyyymmdd} {ccyymmdd} {yymmdd} {seq} {seq:N} {gen} {target}, e.g. CLM.D{yymmdd}.S{seq:3}"),
    ADAPTER_KEY("trailer-count", ADAPTER_OPT_STR, false,
                "details (default) or all"),
    ADAPTER_KEY("empty-file", ADAPTER_OPT_STR, false,
                "true: write header and trailer when nothing is queued"),
    ADAPTER_KEY_END,
};

/* The stored encoding (admit_stored, write_stored): FW_ENC_MAGIC, the
 * layout's digest, then the detail record as the intake encoded it with
 * fw_preview_specials.  The night batch copies it and writes only the
 * bytes of the fields the detail fills from "$" sources ($reference,
 * $record-number...) with the real values. */
#define FW_ENC_MAGIC     "FWE1"
#define FW_ENC_HEAD      (4 + 32)
#define FW_MAX_SPANS     16

struct fw_span {
    size_t off, len;
};

struct fw_ctx {
    struct fw_target *ft;
    size_t dlen, hlen, tlen;       /* record lengths; 0 = no such record */
    const char *sep;
    size_t seplen;
    const struct fw_sum *sums;     /* ft's $sum: fields */
    size_t nsums;
    bool stored;                   /* stored encodings usable for this
                                      layout (fixed offsets, see enc_setup) */
    unsigned char digest[32];      /* of everything the bytes depend on */
    struct map_section spsec;      /* the detail's "$" assignments only */
    struct fw_plan *spplan;        /* ... bound: encodes just those */
    struct cpy_record sprec;       /* ... into a record of just their
                                      fields, at their own offsets */
    struct cpy_field sproot;
    struct cpy_field spf[FW_MAX_SPANS];
    struct cpy_field *spflat[FW_MAX_SPANS + 1];
    struct cpy_field *spkids[FW_MAX_SPANS];
    struct fw_span spans[FW_MAX_SPANS];  /* ... and where their bytes are */
    size_t nspans;
    struct record *empty;
};

struct fw_file {
    const struct fw_ctx *c;        /* the instance that opened it */
    struct batch_sink sink;
    struct fw_vbuf vb;             /* RECFM=V/VB: the record or block being
                                      framed (vb.out NULL otherwise) */
    unsigned char *rec;            /* one detail record */
    int64_t count;
    int64_t sums[FW_MAX_SUMS];
};

/* ---- exact sums ------------------------------------------------------- */

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

/* totals_text - "NAME=1234.50 NAME2=42" */
static void totals_text(const struct fw_ctx *c, const int64_t *v, char *out,
                        size_t outsz)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < c->nsums && n < outsz; i++) {
        char num[48];
        record_dec_format(v[i], c->sums[i].scale, num, sizeof num);
        int w = snprintf(out + n, outsz - n, "%s%s=%s", i ? " " : "",
                         c->sums[i].name, num);
        if (w < 0)
            break;
        n += (size_t)w;
    }
}

/* sum_fields - the detail fields at r's $sum: bytes, rescaled; -1 with msg */
static int sum_fields(const struct fw_ctx *c, const struct cob_codec *cc,
                      const unsigned char *rec, int64_t *vals, char *msg,
                      size_t msgsz)
{
    for (size_t i = 0; i < c->nsums; i++) {
        int vs = 0;
        char why[160];
        if (cob_num_decode(cc, &c->sums[i].f->pic, rec + c->sums[i].f->offset,
                           &vals[i], &vs, why, sizeof why) != 0) {
            snprintf(msg, msgsz, "%s: cannot be totalled: %s",
                     c->sums[i].name, why);
            return -1;
        }
        if (rescale(vals[i], vs, c->sums[i].scale, &vals[i]) != 0) {
            snprintf(msg, msgsz, "%s: cannot be totalled: too large",
                     c->sums[i].name);
            return -1;
        }
    }
    return 0;
}

/* ---- the instance ----------------------------------------------------- */

static void fw_close(void *vctx)
{
    struct fw_ctx *c = vctx;
    if (!c)
        return;
    fw_plan_free(c->spplan);
    free(c->spsec.a);
    record_free(c->empty);
    fw_target_free(c->ft);
    free(c);
}

/* ---- the stored encoding ---------------------------------------------- */

static bool is_v_recfm(enum fw_recfm r)
{
    return r == FW_RECFM_V || r == FW_RECFM_VB;
}

static void dg_str(EVP_MD_CTX *md, const char *s)
{
    size_t n = s ? strlen(s) + 1 : 0;
    unsigned char len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (unsigned char)(n >> (8 * i));
    EVP_DigestUpdate(md, len, sizeof len);
    if (n)
        EVP_DigestUpdate(md, s, n);
}

static void dg_num(EVP_MD_CTX *md, long long v)
{
    char num[32];
    snprintf(num, sizeof num, "%lld", v);
    dg_str(md, num);
}

static void dg_kv(EVP_MD_CTX *md, const struct kvlist *l)
{
    dg_num(md, (long long)l->n);
    for (size_t i = 0; i < l->n; i++) {
        dg_str(md, l->v[i].key);
        dg_str(md, l->v[i].value);
    }
}

/* enc_digest - SHA-256 of what a detail record's bytes depend on: the
 * target's name and options (code page, overpunch, recfm...), the detail
 * section's assignments and the detail record's compiled layout (every
 * field's place, picture, usage and VALUE).  A mapping or copybook edited
 * since the intake gives another digest, and the batch then encodes the
 * record from its JSON. */
static int enc_digest(const struct fw_ctx *c, unsigned char out[32])
{
    const struct fw_target *ft = c->ft;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(md);
        return -1;
    }
    dg_str(md, "ferry fixed-width stored encoding 1");
    dg_str(md, ft->mt->name);
    dg_kv(md, &ft->mt->opts);
    const struct map_section *sec = ft->detail.sec;
    dg_num(md, sec ? (long long)sec->na : -1);
    for (size_t i = 0; sec && i < sec->na; i++) {
        const struct map_assign *a = &sec->a[i];
        dg_str(md, a->to);
        dg_str(md, a->from);
        dg_str(md, a->value);
        dg_str(md, a->format);
        dg_num(md, a->local_time * 4 + a->truncate * 2 + a->fold);
        dg_kv(md, &a->opts);
    }
    dg_kv(md, sec ? &sec->opts : &(struct kvlist){ 0 });
    const struct cpy_record *r = ft->detail.rec;
    dg_str(md, r->name);
    dg_num(md, (long long)r->length);
    dg_num(md, (long long)r->nflat);
    for (size_t i = 0; i < r->nflat; i++) {
        const struct cpy_field *f = r->flat[i];
        const struct cob_pic *pc = &f->pic;
        dg_str(md, f->name);
        dg_num(md, f->level);
        dg_num(md, (long long)f->offset);
        dg_num(md, (long long)f->length);
        dg_num(md, (long long)f->occurs_min);
        dg_num(md, (long long)f->occurs_max);
        dg_str(md, f->depending_on);
        dg_str(md, f->redefines);
        dg_str(md, f->pic_text);
        dg_str(md, f->edit_mask);
        dg_num(md, f->sync);
        dg_num(md, pc->cls);
        dg_num(md, pc->usage);
        dg_num(md, pc->digits);
        dg_num(md, pc->scale);
        dg_num(md, pc->is_signed);
        dg_num(md, pc->sign);
        dg_num(md, pc->justified * 2 + pc->blank_zero);
        dg_num(md, (long long)pc->length);
        dg_num(md, f->value.kind);
        dg_num(md, (long long)f->value.len);
        dg_num(md, f->value.all * 2 + f->value.hex);
        unsigned char vl[8] = { 0 };
        EVP_DigestUpdate(md, vl, sizeof vl);
        if (f->value.text && f->value.len)
            EVP_DigestUpdate(md, f->value.text, f->value.len);
    }
    unsigned dn = 0;
    int rc = EVP_DigestFinal_ex(md, out, &dn) == 1 && dn == 32 ? 0 : -1;
    EVP_MD_CTX_free(md);
    return rc;
}

/* in_table - is f, or a group holding it, a table (OCCURS) */
static const struct cpy_field *table_of(const struct cpy_field *f)
{
    const struct cpy_field *t = NULL;
    for (; f; f = f->parent)
        if (f->occurs_max)
            t = f;
    return t;
}

/* field_range - the bytes an assignment to `to` may write: the field, or
 * the whole of the outermost table holding it; -1 when not found */
static int field_range(const struct cpy_record *r, const char *to,
                       struct fw_span *out, bool *tabled)
{
    bool amb = false;
    const struct cpy_field *f = cpy_field_find(r, to, &amb);
    if (!f || amb)
        return -1;
    const struct cpy_field *t = table_of(f);
    *tabled = t != NULL;
    out->off = t ? t->offset : f->offset;
    out->len = t ? cpy_total_length(t) : f->length;
    return 0;
}

/* sp_record - the record the "$" assignments are encoded into: when each
 * lands on a plain elementary field (no REDEFINES, no VALUE on a group
 * above it: checked by the caller's range test), a record of only those
 * fields at their own offsets, so encoding them skips the rest of the
 * layout's initial values and the problems name the same field and
 * offset; otherwise the detail record itself */
static const struct cpy_record *sp_record(struct fw_ctx *c)
{
    const struct cpy_record *r = c->ft->detail.rec;
    size_t end = 0;
    for (size_t i = 0; i < c->spsec.na; i++) {
        bool amb = false;
        const struct cpy_field *f = cpy_field_find(r, c->spsec.a[i].to, &amb);
        if (!f || amb || f->nkids || f->redefines || f->occurs_max ||
            f->level == 66 || f->level == 88 || strchr(c->spsec.a[i].to, '.')
            || strstr(c->spsec.a[i].to, " OF ") || strstr(c->spsec.a[i].to,
                                                         " of "))
            return r;
        for (const struct cpy_field *a = f->parent; a; a = a->parent)
            if (a->value.kind != CPY_VAL_NONE || a->redefines)
                return r;
        c->spf[i] = *f;
        c->spf[i].parent = &c->sproot;
        c->spf[i].conds = NULL;
        c->spf[i].nconds = 0;
        c->spkids[i] = &c->spf[i];
        c->spflat[i + 1] = &c->spf[i];
        if (f->offset + f->length > end)
            end = f->offset + f->length;
    }
    c->sproot = *r->root;
    c->sproot.kids = c->spkids;
    c->sproot.nkids = c->spsec.na;
    c->sproot.parent = NULL;
    c->sproot.redefines = NULL;
    c->sproot.redef = NULL;
    c->sproot.conds = NULL;
    c->sproot.nconds = 0;
    c->sproot.length = end;
    c->spflat[0] = &c->sproot;
    c->sprec = *r;
    c->sprec.root = &c->sproot;
    c->sprec.flat = c->spflat;
    c->sprec.nflat = c->spsec.na + 1;
    c->sprec.length = end;
    c->sprec.has_odo = false;
    return &c->sprec;
}

/* enc_setup - can this layout's details be stored encoded, and which
 * bytes does the batch write afresh?  Only when every "$" assignment
 * lands on a field at a fixed place outside any table that nothing else
 * writes (FB, LF, CRLF: tables are always at their full size), so the
 * copy plus those bytes is exactly what write_record would write.
 * Otherwise c->stored stays false and the batch encodes from the JSON. */
static void enc_setup(struct fw_ctx *c)
{
    const struct fw_target *ft = c->ft;
    const struct map_section *sec = ft->detail.sec;
    c->stored = false;
    if (!sec || is_v_recfm(ft->recfm) || c->dlen == 0 ||
        enc_digest(c, c->digest) != 0)
        return;
    size_t nsp = 0;
    for (size_t i = 0; i < sec->na; i++)
        if (sec->a[i].from && sec->a[i].from[0] == '$')
            nsp++;
    if (nsp > FW_MAX_SPANS)
        return;
    c->spsec = *sec;
    c->spsec.na = 0;
    c->spsec.a = nsp ? calloc(nsp, sizeof *c->spsec.a) : NULL;
    if (nsp && !c->spsec.a)
        return;
    for (size_t i = 0; i < sec->na; i++) {
        const struct map_assign *a = &sec->a[i];
        if (!a->from || a->from[0] != '$')
            continue;
        bool tabled = false;
        struct fw_span sp;
        if (field_range(ft->detail.rec, a->to, &sp, &tabled) != 0 || tabled ||
            sp.off + sp.len > c->dlen)
            return;
        c->spans[c->nspans++] = sp;
        c->spsec.a[c->spsec.na++] = *a;
    }
    /* nothing else may write a byte of those */
    for (size_t i = 0; i < sec->na; i++) {
        const struct map_assign *a = &sec->a[i];
        if (a->from && a->from[0] == '$')
            continue;
        bool tabled = false;
        struct fw_span r;
        if (field_range(ft->detail.rec, a->to, &r, &tabled) != 0)
            return;
        for (size_t k = 0; k < c->nspans; k++)
            if (r.off < c->spans[k].off + c->spans[k].len &&
                c->spans[k].off < r.off + r.len)
                return;
    }
    for (size_t k = 0; k < c->nspans; k++)
        for (size_t j = k + 1; j < c->nspans; j++)
            if (c->spans[j].off < c->spans[k].off + c->spans[k].len &&
                c->spans[k].off < c->spans[j].off + c->spans[j].len)
                return;
    struct errs pe;
    errs_init(&pe);
    if (c->nspans &&
        !(c->spplan = fw_plan_new(sp_record(c), &c->spsec, &pe))) {
        errs_free(&pe);
        return;
    }
    errs_free(&pe);
    if (!(c->empty = record_new()))
        return;
    c->stored = true;
}

static int fw_init(void **ctx, const struct adapter_env *env, struct errs *e)
{
    *ctx = NULL;
    if (!env->map) {
        errs_add(e, env->service ? env->service : "fixed-width",
                 "a fixed-width target needs the service mapping's <target>");
        return -1;
    }
    struct fw_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        errs_add(e, "fixed-width", "out of memory");
        return -1;
    }
    c->ft = fw_target_new(env->map, env->mapping_file, e);
    if (!c->ft) {
        fw_close(c);
        return -1;
    }
    c->dlen = c->ft->detail.rec->length;
    c->hlen = c->ft->header.rec ? c->ft->header.rec->length : 0;
    c->tlen = c->ft->trailer.rec ? c->ft->trailer.rec->length : 0;
    c->sep = fw_record_sep(c->ft);
    c->seplen = strlen(c->sep);
    c->sums = c->ft->sums;
    c->nsums = c->ft->nsums;
    enc_setup(c);
    *ctx = c;
    return 0;
}

/* fw_admit - the intake's check: rec encodes as a detail record of this
 * layout (the instance is the same one the night batch writes with:
 * admit_new is fw_init, admit_free fw_close) */
static int fw_admit(const void *vctx, const struct record *rec,
                    struct errs *e)
{
    const struct fw_ctx *c = vctx;
    return fw_target_admit(c->ft, rec, e);
}

/* fw_admit_stored - fw_admit, and the bytes the night batch can write
 * for rec without its JSON (FW_ENC_MAGIC, digest, the detail encoded
 * with fw_preview_specials): *out malloc'd, or NULL when this layout
 * keeps none (enc_setup) */
static int fw_admit_stored(const void *vctx, const struct record *rec,
                           unsigned char **out, size_t *outn,
                           struct errs *e)
{
    const struct fw_ctx *c = vctx;
    *out = NULL;
    *outn = 0;
    if (!c->stored)
        return fw_target_admit(c->ft, rec, e);
    unsigned char *bytes = malloc(FW_ENC_HEAD + c->dlen);
    struct record *specials = fw_preview_specials((int64_t)time(NULL) * 1000);
    struct fw_notes notes = { 0 };
    int rc = -1;
    if (!bytes || !specials) {
        errs_add(e, c->ft->mt->name, "out of memory");
        goto out;
    }
    size_t used = c->dlen;
    rc = fw_encode(c->ft->detail.plan, c->ft->cc, rec, specials,
                   bytes + FW_ENC_HEAD, c->dlen, &used, &notes, e) == 0
         ? 0 : -1;
    if (rc == 0) {
        memcpy(bytes, FW_ENC_MAGIC, 4);
        memcpy(bytes + 4, c->digest, 32);
        *out = bytes;
        *outn = FW_ENC_HEAD + c->dlen;
        bytes = NULL;
    }
out:
    fw_notes_free(&notes);
    record_free(specials);
    free(bytes);
    return rc;
}

static void fw_file_info(void *vctx, struct batch_format_info *out)
{
    const struct fw_ctx *c = vctx;
    out->file_pattern = c->ft->file_pattern;
    out->empty_file = c->ft->empty_file;
    out->header_totals = c->ft->header_totals;
}

static int fw_same_file(const void *va, const void *vb, char *why,
                        size_t whysz)
{
    const struct fw_ctx *a = va, *b = vb;
    if (a->dlen != b->dlen || a->ft->recfm != b->ft->recfm ||
        cob_codec_page(a->ft->cc) != cob_codec_page(b->ft->cc)) {
        snprintf(why, whysz, "%zu-byte %s records and %zu-byte %s records "
                 "cannot share a file", a->dlen, a->seplen ? "separated" :
                 "FB", b->dlen, b->seplen ? "separated" : "FB");
        return -1;
    }
    return 0;
}

/* ---- writing ---------------------------------------------------------- */

static bool is_v(const struct fw_ctx *c)
{
    return is_v_recfm(c->ft->recfm);
}

/* flush_v - the framed record (V) or the finished block (VB) to the sink */
static int flush_v(struct fw_file *f)
{
    fw_v_end_block(&f->vb);
    int rc = f->vb.n ? f->sink.put(f->sink.sctx, f->vb.out, f->vb.n) : 0;
    f->vb.n = 0;
    return rc;
}

/* put_record - bytes then the separator (FB, LF, CRLF), or after their
 * RDW (V, VB: n is the length used); -1 when the sink refused */
static int put_record(struct fw_file *f, const unsigned char *p, size_t n)
{
    if (is_v(f->c)) {
        char msg[160];
        if (f->vb.blksize && f->vb.blk && f->vb.blk + n + 4 > f->vb.blksize &&
            flush_v(f) != 0)
            return -1;
        if (fw_v_frame(&f->vb, p, n, msg, sizeof msg) != 0)
            return -1;            /* cannot happen: sizes checked at setup */
        return f->vb.blksize ? 0 : flush_v(f);
    }
    if (f->sink.put(f->sink.sctx, p, n) != 0)
        return -1;
    return f->c->seplen ? f->sink.put(f->sink.sctx, f->c->sep, f->c->seplen)
                        : 0;
}

/* set_total - a "$count" / "$sum:FIELD" source in sp */
static int set_total(struct record *sp, const char *name, int64_t v, int scale)
{
    struct record_field *rf = record_field(sp, name);
    if (!rf)
        rf = record_add(sp, name);
    if (!rf)
        return -1;
    return scale > 0 ? fvalue_set_decimal(&rf->v, v, scale)
                     : fvalue_set_int(&rf->v, v);
}

/* put_totals - "$count" and every "$sum:FIELD" into sp; -1 nomem */
static int put_totals(const struct fw_ctx *c, struct record *sp, int64_t cnt,
                      const int64_t *sums)
{
    if (set_total(sp, "$count", cnt, 0) != 0)
        return -1;
    for (size_t i = 0; i < c->nsums; i++) {
        char nm[160];
        snprintf(nm, sizeof nm, "$sum:%s", c->sums[i].name);
        if (set_total(sp, nm, sums ? sums[i] : 0, c->sums[i].scale) != 0)
            return -1;
    }
    return 0;
}

/* with_totals - a copy of sp with the totals set (caller frees); NULL
 * when out of memory */
static struct record *with_totals(const struct fw_ctx *c,
                                  const struct record *sp, int64_t cnt,
                                  const int64_t *sums)
{
    char *j = record_to_json(sp);
    struct errs e;
    errs_init(&e);
    struct record *r = j ? record_from_json(j, &e) : NULL;
    free(j);
    errs_free(&e);
    if (r && put_totals(c, r, cnt, sums) != 0) {
        record_free(r);
        r = NULL;
    }
    return r;
}

/* put_section - header or trailer from the specials */
static void put_section(struct fw_file *f, const struct fw_layout *l,
                        size_t len, const struct record *sp,
                        struct adapter_result *res)
{
    adapter_result_set(res, ADAPTER_OK, "%s", "");
    if (!l->rec)
        return;
    unsigned char *tmp = calloc(1, len ? len : 1);
    struct record *empty = record_new();
    struct errs pe;
    errs_init(&pe);
    size_t used = len;
    if (!tmp || !empty)
        adapter_result_set(res, ADAPTER_FAIL, "out of memory");
    else if (fw_encode(l->plan, f->c->ft->cc, empty, sp, tmp, len, &used,
                       NULL, &pe) != 0)
        adapter_result_set(res, ADAPTER_FAIL, "%s %s: %s%s%s", l->rec->name,
                           l == &f->c->ft->header ? "(header)" : "(trailer)",
                           pe.n ? pe.v[0].where : "", pe.n ? ": " : "",
                           errs_first_msg(&pe));
    else if (put_record(f, tmp, is_v(f->c) ? used : len) != 0)
        adapter_result_set(res, ADAPTER_RETRY, "writing the file failed");
    errs_free(&pe);
    free(tmp);
    record_free(empty);
}

static void fw_open_file(void *vctx, const struct batch_sink *sink,
                         const struct record *sp, void **file,
                         struct adapter_result *res)
{
    const struct fw_ctx *c = vctx;
    *file = NULL;
    struct fw_file *f = calloc(1, sizeof *f);
    if (f)
        f->rec = malloc(c->dlen ? c->dlen : 1);
    if (f && is_v(c)) {
        size_t big = c->dlen > c->hlen ? c->dlen : c->hlen;
        big = big > c->tlen ? big : c->tlen;
        f->vb.blksize = c->ft->recfm == FW_RECFM_VB ? c->ft->block_size : 0;
        f->vb.cap = f->vb.blksize ? f->vb.blksize : big + 4;
        f->vb.out = malloc(f->vb.cap);
    }
    if (!f || !f->rec || (is_v(c) && !f->vb.out)) {
        if (f) {
            free(f->vb.out);
            free(f->rec);
            free(f);
        }
        adapter_result_set(res, ADAPTER_FAIL, "out of memory");
        return;
    }
    f->c = c;
    f->sink = *sink;
    struct record *zero = NULL;
    if (c->ft->header_totals && !record_get(sp, "$count")) {
        /* the first of the builder's two passes: totals not known yet,
         * written as zero (the second pass has the real ones) */
        zero = with_totals(c, sp, 0, NULL);
        if (!zero) {
            free(f->rec);
            free(f);
            adapter_result_set(res, ADAPTER_FAIL, "out of memory");
            return;
        }
    }
    put_section(f, &c->ft->header, c->hlen, zero ? zero : sp, res);
    record_free(zero);
    if (res->outcome != ADAPTER_OK) {
        free(f->vb.out);
        free(f->rec);
        free(f);
        return;
    }
    *file = f;
}

static void put_detail(const struct fw_ctx *c, struct fw_file *f,
                       size_t used, struct adapter_result *res);

static void fw_write_record(void *vctx, void *vfile, const struct record *rec,
                            const struct record *sp,
                            struct adapter_result *res)
{
    const struct fw_ctx *c = vctx;
    struct fw_file *f = vfile;
    const struct fw_ctx *fc = f->c;
    struct errs pe;
    errs_init(&pe);
    size_t used = fc->dlen;
    if (fw_encode(c->ft->detail.plan, c->ft->cc, rec, sp, f->rec, fc->dlen,
                  &used, NULL, &pe) != 0) {
        adapter_result_problems(res, &pe);
        errs_free(&pe);
        return;
    }
    errs_free(&pe);
    put_detail(c, f, used, res);
}

/* put_detail - f->rec (encoded by instance c) into the file: its hash
 * totals, then its bytes */
static void put_detail(const struct fw_ctx *c, struct fw_file *f,
                       size_t used, struct adapter_result *res)
{
    const struct fw_ctx *fc = f->c;
    int64_t vals[FW_MAX_SUMS], next[FW_MAX_SUMS];
    if (sum_fields(fc, c->ft->cc, f->rec, vals, res->msg,
                   sizeof res->msg) != 0) {
        res->outcome = ADAPTER_FAIL;
        return;
    }
    for (size_t i = 0; i < fc->nsums; i++)
        if (__builtin_add_overflow(f->sums[i], vals[i], &next[i])) {
            adapter_result_set(res, ADAPTER_FAIL, "%s: the hash total would "
                               "overflow", fc->sums[i].name);
            return;
        }
    if (put_record(f, f->rec, is_v(fc) ? used : fc->dlen) != 0) {
        adapter_result_set(res, ADAPTER_RETRY, "writing the file failed");
        return;
    }
    memcpy(f->sums, next, sizeof next[0] * fc->nsums);
    f->count++;
    res->outcome = ADAPTER_OK;     /* per record: no formatting */
    res->msg[0] = '\0';
}

/* fw_write_stored - a detail from bytes fw_admit_stored gave: copied,
 * the "$" fields encoded afresh from sp; the same bytes fw_write_record
 * writes for the record.  1: not this layout's bytes (nothing written) */
static int fw_write_stored(void *vctx, void *vfile, const unsigned char *p,
                           size_t n, const struct record *sp,
                           struct adapter_result *res)
{
    const struct fw_ctx *c = vctx;
    struct fw_file *f = vfile;
    if (!c->stored || c->dlen != f->c->dlen || n != FW_ENC_HEAD + c->dlen ||
        memcmp(p, FW_ENC_MAGIC, 4) != 0 || memcmp(p + 4, c->digest, 32) != 0)
        return 1;
    memcpy(f->rec, p + FW_ENC_HEAD, c->dlen);
    if (c->nspans) {
        unsigned char stack[4096];
        unsigned char *tmp = c->dlen <= sizeof stack ? stack : malloc(c->dlen);
        struct errs pe;
        errs_init(&pe);
        size_t used = c->dlen;
        int rc = tmp ? fw_encode(c->spplan, c->ft->cc, c->empty, sp, tmp,
                                 c->dlen, &used, NULL, &pe) : -1;
        if (rc == 0)
            for (size_t k = 0; k < c->nspans; k++)
                memcpy(f->rec + c->spans[k].off, tmp + c->spans[k].off,
                       c->spans[k].len);
        else if (!tmp)
            adapter_result_set(res, ADAPTER_FAIL, "out of memory");
        else
            adapter_result_problems(res, &pe);
        errs_free(&pe);
        if (tmp != stack)
            free(tmp);
        if (rc != 0)
            return 0;
    }
    put_detail(c, f, c->dlen, res);
    return 0;
}

static void fw_close_file(void *vfile, struct record *sp,
                          struct batch_totals *totals,
                          struct adapter_result *res)
{
    struct fw_file *f = vfile;
    if (!f)
        return;
    const struct fw_ctx *c = f->c;
    if (totals) {
        int64_t cnt = f->count;
        if (c->ft->trailer_all)
            cnt += (c->hlen ? 1 : 0) + (c->tlen ? 1 : 0);
        bool ok = put_totals(c, sp, cnt, f->sums) == 0;
        if (!ok)
            adapter_result_set(res, ADAPTER_FAIL, "out of memory");
        else
            put_section(f, &c->ft->trailer, c->tlen, sp, res);
        if (res->outcome == ADAPTER_OK && is_v(c) && flush_v(f) != 0)
            adapter_result_set(res, ADAPTER_RETRY, "writing the file failed");
        totals->count = f->count;
        totals_text(c, f->sums, totals->text, sizeof totals->text);
    }
    free(f->vb.out);
    free(f->rec);
    free(f);
}

/* ---- reading it back -------------------------------------------------- */

/* check_total - trailer field `to` against want at scale wscale; 0 equal,
 * -1 with why */
static int check_total(const struct fw_ctx *c, const struct fw_layout *l,
                       const unsigned char *trl, const char *to, int64_t want,
                       int wscale, char *why, size_t whysz)
{
    bool amb = false;
    const char *part = l == &c->ft->header ? "header" : "trailer";
    const struct cpy_field *f = cpy_field_find(l->rec, to, &amb);
    if (!f || f->pic.cls != COB_NUMERIC) {
        snprintf(why, whysz, "%s field %s is not a number", part, to);
        return -1;
    }
    int64_t v = 0, a = 0, b = 0;
    int vs = 0;
    char msg[160];
    if (cob_num_decode(c->ft->cc, &f->pic, trl + f->offset, &v, &vs, msg,
                       sizeof msg) != 0) {
        snprintf(why, whysz, "%s field %s: %s", part, to, msg);
        return -1;
    }
    int sc = vs > wscale ? vs : wscale;
    if (rescale(v, vs, sc, &a) != 0 || rescale(want, wscale, sc, &b) != 0 ||
        a != b) {
        char x[48], y[48];
        record_dec_format(v, vs, x, sizeof x);
        record_dec_format(want, wscale, y, sizeof y);
        snprintf(why, whysz, "%s %s says %s, the details add up to %s",
                 part, to, x, y);
        return -1;
    }
    return 0;
}

/* get_record - one record and its separator; 0, or -1 with res set */
static int get_record(const struct fw_ctx *c, const struct batch_source *src,
                      unsigned char *p, size_t n, const char *what,
                      struct adapter_result *res)
{
    unsigned char sepb[2];
    int g = src->get(src->sctx, p, n);
    if (g == 0 && c->seplen)
        g = src->get(src->sctx, sepb, c->seplen);
    if (g < 0) {
        adapter_result_set(res, ADAPTER_RETRY, "the file cannot be read");
        return -1;
    }
    if (g > 0) {
        adapter_result_set(res, ADAPTER_FAIL, "the file ends early");
        return -1;
    }
    if (c->seplen && memcmp(sepb, c->sep, c->seplen) != 0) {
        adapter_result_set(res, ADAPTER_FAIL, "%s: no record separator", what);
        return -1;
    }
    return 0;
}

/* decodes - does p decode as rec; -1 with res set */
static int decodes(const struct fw_ctx *c, const struct cpy_record *rec,
                   const unsigned char *p, size_t n, const char *what,
                   struct adapter_result *res)
{
    struct errs de;
    errs_init(&de);
    struct record *d = fw_decode(rec, c->ft->cc, p, n, &de);
    if (!d)
        adapter_result_set(res, ADAPTER_FAIL, "%s does not decode: %s", what,
                           errs_first_msg(&de));
    errs_free(&de);
    record_free(d);
    return d ? 0 : -1;
}

/* check_totals - every $count and $sum: of section l (bytes p) against
 * what the details add up to; 0, or -1 with res set */
static int check_totals(const struct fw_ctx *c, const struct fw_layout *l,
                        const unsigned char *p, int64_t count,
                        const int64_t *sums, struct adapter_result *res)
{
    const struct map_section *ts = l->sec;
    char why[512];
    int64_t cnt = count + (c->ft->trailer_all
                           ? (c->hlen ? 1 : 0) + (c->tlen ? 1 : 0) : 0);
    for (size_t i = 0; ts && i < ts->na; i++) {
        const char *fr = ts->a[i].from;
        int bad = 0;
        if (fr && strcmp(fr, "$count") == 0) {
            bad = check_total(c, l, p, ts->a[i].to, cnt, 0, why, sizeof why);
        } else if (fr && strncmp(fr, "$sum:", 5) == 0) {
            for (size_t k = 0; k < c->nsums && !bad; k++)
                if (strcmp(c->sums[k].name, fr + 5) == 0)
                    bad = check_total(c, l, p, ts->a[i].to, sums[k],
                                      c->sums[k].scale, why, sizeof why);
        }
        if (bad) {
            adapter_result_set(res, ADAPTER_FAIL, "%s", why);
            return -1;
        }
    }
    return 0;
}

/* compare_ledger - the file's count and totals against the ledger's */
static void compare_ledger(const struct fw_ctx *c, int64_t count,
                           const int64_t *sums,
                           const struct batch_totals *want,
                           struct adapter_result *res)
{
    char tot[512];
    totals_text(c, sums, tot, sizeof tot);
    if (count != want->count)
        adapter_result_set(res, ADAPTER_FAIL, "the file holds %lld details, "
                           "the ledger %lld", (long long)count,
                           (long long)want->count);
    else if (strcmp(tot, want->text) != 0)
        adapter_result_set(res, ADAPTER_FAIL, "the file's totals are %.200s, "
                           "the ledger's %.200s", tot, want->text);
    else
        adapter_result_set(res, ADAPTER_OK, "%lld details", (long long)count);
}

/* A RECFM=V/VB file read back record by record. */
struct vsrc {
    const struct batch_source *src;
    uint64_t size, off;
    bool blocked;
    size_t bleft;                  /* VB: bytes left in the open block */
};

/* vget - the next record into p (cap bytes at most): 1 and *n, 0 at the
 * end of the file, -1 with res set (a bad descriptor names its offset) */
static int vget(struct vsrc *v, unsigned char *p, size_t cap, size_t *n,
                struct adapter_result *res)
{
    unsigned char dw[4];
    if (v->off == v->size && v->bleft == 0)
        return 0;
    if (v->blocked && v->bleft == 0) {
        if (v->src->get(v->src->sctx, dw, 4) != 0)
            goto early;
        size_t bl = (size_t)dw[0] << 8 | dw[1];
        if (dw[2] || dw[3] || bl < 8 || bl - 4 > v->size - v->off - 4) {
            adapter_result_set(res, ADAPTER_FAIL, "offset %llu: bad block "
                               "descriptor %02X%02X%02X%02X",
                               (unsigned long long)v->off, dw[0], dw[1],
                               dw[2], dw[3]);
            return -1;
        }
        v->off += 4;
        v->bleft = bl - 4;
    }
    if (v->src->get(v->src->sctx, dw, 4) != 0)
        goto early;
    size_t rl = (size_t)dw[0] << 8 | dw[1];
    if (dw[2] || dw[3] || rl < 4 || rl - 4 > cap ||
        (v->blocked && rl > v->bleft) || rl - 4 > v->size - v->off - 4) {
        adapter_result_set(res, ADAPTER_FAIL, "offset %llu: bad record "
                           "descriptor %02X%02X%02X%02X",
                           (unsigned long long)v->off, dw[0], dw[1], dw[2],
                           dw[3]);
        return -1;
    }
    if (rl > 4 && v->src->get(v->src->sctx, p, rl - 4) != 0)
        goto early;
    v->off += rl;
    if (v->blocked)
        v->bleft -= rl;
    *n = rl - 4;
    return 1;
early:
    adapter_result_set(res, ADAPTER_FAIL, "offset %llu: the file ends early "
                       "or cannot be read", (unsigned long long)v->off);
    return -1;
}

/* add_detail - one detail's hash fields into sums; -1 with res set */
static int add_detail(const struct fw_ctx *c, const unsigned char *rec,
                      size_t n, int64_t count, int64_t *sums,
                      struct adapter_result *res)
{
    int64_t vals[FW_MAX_SUMS];
    char msg[200];
    for (size_t k = 0; k < c->nsums; k++) {
        if (c->sums[k].f->offset + c->sums[k].f->length > n) {
            adapter_result_set(res, ADAPTER_FAIL, "detail %lld: %zu bytes "
                               "end before %s", (long long)count + 1, n,
                               c->sums[k].name);
            return -1;
        }
    }
    if (sum_fields(c, c->ft->cc, rec, vals, msg, sizeof msg) != 0) {
        adapter_result_set(res, ADAPTER_FAIL, "detail %lld: %s",
                           (long long)count + 1, msg);
        return -1;
    }
    for (size_t k = 0; k < c->nsums; k++)
        if (__builtin_add_overflow(sums[k], vals[k], &sums[k])) {
            adapter_result_set(res, ADAPTER_FAIL, "detail %lld: the %s total "
                               "overflows", (long long)count + 1,
                               c->sums[k].name);
            return -1;
        }
    return 0;
}

/* check_vfile - fw_check_file for RECFM=V and VB: the records are read in
 * turn, the first is the header and the last the trailer (one held back) */
static void check_vfile(const struct fw_ctx *c, const struct batch_source *src,
                        uint64_t size, int64_t *count, int64_t *sums,
                        struct adapter_result *res)
{
    size_t big = c->dlen > c->hlen ? c->dlen : c->hlen;
    big = big > c->tlen ? big : c->tlen;
    unsigned char *a = calloc(1, big + 1), *b = calloc(1, big + 1);
    unsigned char *hb = calloc(1, c->hlen + 1);
    struct vsrc v = { .src = src, .size = size,
                      .blocked = c->ft->recfm == FW_RECFM_VB };
    size_t na = 0, nb = 0, hn = 0;
    bool held = false;
    if (!a || !b || !hb) {
        adapter_result_set(res, ADAPTER_RETRY, "out of memory");
        goto out;
    }
    if (c->hlen) {
        int g = vget(&v, hb, c->hlen, &hn, res);
        if (g == 0)
            adapter_result_set(res, ADAPTER_FAIL, "the file has no header");
        if (g != 1 || decodes(c, c->ft->header.rec, hb, hn, "the header",
                              res))
            goto out;
    }
    for (;;) {
        int g = vget(&v, b, big, &nb, res);
        if (g < 0)
            goto out;
        if (g == 0)
            break;
        if (held) {
            if (na > c->dlen) {
                adapter_result_set(res, ADAPTER_FAIL, "detail %lld: %zu "
                                   "bytes, the layout has %zu",
                                   (long long)*count + 1, na, c->dlen);
                goto out;
            }
            if (add_detail(c, a, na, *count, sums, res) != 0)
                goto out;
            (*count)++;
            if (src->progress && (*count & 4095) == 0)
                src->progress(src->sctx, *count, 0);
        }
        unsigned char *t = a;
        a = b;
        b = t;
        na = nb;
        held = true;
    }
    if (c->tlen) {
        if (!held) {
            adapter_result_set(res, ADAPTER_FAIL, "the file has no trailer");
            goto out;
        }
        if (decodes(c, c->ft->trailer.rec, a, na, "the trailer", res) ||
            check_totals(c, &c->ft->trailer, a, *count, sums, res))
            goto out;
    } else if (held) {
        if (add_detail(c, a, na, *count, sums, res) != 0)
            goto out;
        (*count)++;
    }
    if (c->ft->header_totals &&
        check_totals(c, &c->ft->header, hb, *count, sums, res) != 0)
        goto out;
    adapter_result_set(res, ADAPTER_OK, "%s", "");
out:
    free(a);
    free(b);
    free(hb);
}

static void fw_check_file(void *vctx, const struct batch_source *src,
                          uint64_t size, const struct batch_totals *want,
                          struct adapter_result *res)
{
    const struct fw_ctx *c = vctx;
    if (is_v(c)) {
        int64_t vsums[FW_MAX_SUMS] = { 0 }, vcount = 0;
        check_vfile(c, src, size, &vcount, vsums, res);
        if (res->outcome == ADAPTER_OK)
            compare_ledger(c, vcount, vsums, want, res);
        return;
    }
    size_t big = c->dlen > c->hlen ? c->dlen : c->hlen;
    if (c->tlen > big)
        big = c->tlen;
    unsigned char *rb = malloc(big + 8);
    unsigned char *hb = c->ft->header_totals ? malloc(c->hlen + 1) : NULL;
    int64_t sums[FW_MAX_SUMS] = { 0 }, count = 0;
    if (!rb || (c->ft->header_totals && !hb)) {
        adapter_result_set(res, ADAPTER_RETRY, "out of memory");
        return;
    }
    uint64_t fixed = (c->hlen ? c->hlen + c->seplen : 0) +
                     (c->tlen ? c->tlen + c->seplen : 0);
    uint64_t step = c->dlen + c->seplen;
    if (size < fixed || (size - fixed) % step != 0) {
        adapter_result_set(res, ADAPTER_FAIL, "%llu bytes is not a header, "
                           "whole %zu-byte details and a trailer",
                           (unsigned long long)size, c->dlen);
        goto out;
    }
    int64_t n = (int64_t)((size - fixed) / step);
    if (c->hlen && (get_record(c, src, rb, c->hlen, "the header", res) ||
                    decodes(c, c->ft->header.rec, rb, c->hlen, "the header",
                            res)))
        goto out;
    if (hb)
        memcpy(hb, rb, c->hlen);     /* its totals are checked at the end */
    for (int64_t i = 0; i < n; i++) {
        char what[48];
        snprintf(what, sizeof what, "detail %lld", (long long)i + 1);
        if (get_record(c, src, rb, c->dlen, what, res))
            goto out;
        int64_t vals[FW_MAX_SUMS];
        char msg[200];
        if (sum_fields(c, c->ft->cc, rb, vals, msg, sizeof msg) != 0) {
            adapter_result_set(res, ADAPTER_FAIL, "%s: %s", what, msg);
            goto out;
        }
        for (size_t k = 0; k < c->nsums; k++)
            if (__builtin_add_overflow(sums[k], vals[k], &sums[k])) {
                adapter_result_set(res, ADAPTER_FAIL, "%s: the %s total "
                                   "overflows", what, c->sums[k].name);
                goto out;
            }
        count++;
        if (src->progress && (count & 4095) == 0)
            src->progress(src->sctx, count, n);
    }
    if (c->tlen) {
        if (get_record(c, src, rb, c->tlen, "the trailer", res) ||
            decodes(c, c->ft->trailer.rec, rb, c->tlen, "the trailer", res))
            goto out;
        if (check_totals(c, &c->ft->trailer, rb, count, sums, res) != 0)
            goto out;
    }
    if (hb && check_totals(c, &c->ft->header, hb, count, sums, res) != 0)
        goto out;
    compare_ledger(c, count, sums, want, res);
out:
    free(rb);
    free(hb);
}

const struct adapter adapter_fixed_width = {
    .name = "fixed-width",
    .description = "fixed-width files laid out by a COBOL copybook (night batch)",
    .kind = ADAPTER_BATCH,
    .keys = fw_keys,
    .map_keys = fw_map_keys,
    .init = fw_init,
    .close = fw_close,
    .admit_new = fw_init,
    .admit = fw_admit,
    .admit_stored = fw_admit_stored,
    .admit_free = fw_close,
    .write_stored = fw_write_stored,
    .file_info = fw_file_info,
    .same_file = fw_same_file,
    .open_file = fw_open_file,
    .write_record = fw_write_record,
    .close_file = fw_close_file,
    .check_file = fw_check_file,
};
