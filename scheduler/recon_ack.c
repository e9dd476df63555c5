/* recon_ack.c - acknowledgement files: decode, check, apply, archive.
 *
 * Contract: a file is read whole, every record decoded with the ack
 * layout and validated (length, sign nibbles, status codes, key) before
 * anything is applied; a bad file changes nothing and names the record,
 * line and byte offset of every problem.  A good file is applied in ONE
 * spool_ack_apply transaction that also records (name, SHA-256), so
 * applying is all-or-nothing and never happens twice.  This file owns the
 * inbound/ -> archive/ move of the files ferry fetched, and the overdue
 * check of sent batches. */
#include "scheduler/recon_int.h"
#include "util/clock.h"
#include "adapters/adapter.h"
#include "config/config.h"
#include "mappings/fw_target.h"
#include "spool/spool.h"
#include "util/buf.h"
#include "util/errs.h"
#include "util/fsutil.h"
#include "util/log.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#define RECON_MAX_FILE ((size_t)2 << 30)     /* 2 GiB: ~25M 80-byte acks */

/* ---- decoding a file --------------------------------------------------- */

/* A string arena: offsets stay valid while it grows. */
struct arena {
    char *p;
    size_t len, cap;
};

static long arena_put(struct arena *a, const char *s)
{
    size_t n = strlen(s) + 1;
    if (a->len + n > a->cap) {
        size_t cap = a->cap ? a->cap : 1 << 16;
        while (cap < a->len + n)
            cap *= 2;
        char *np = realloc(a->p, cap);
        if (!np)
            return -1;
        a->p = np;
        a->cap = cap;
    }
    memcpy(a->p + a->len, s, n);
    a->len += n;
    return (long)(a->len - n);
}

struct decoded {
    struct arena ar;
    long *key, *reason, *receipt;    /* arena offsets; -1 none */
    bool *accepted;
    long *recno;                     /* record number in the file */
    size_t n, cap;
    int64_t tcount, tacc, trej;
    size_t nacc, nrej;
};

static void decoded_free(struct decoded *d)
{
    free(d->ar.p);
    free(d->key);
    free(d->reason);
    free(d->receipt);
    free(d->accepted);
    free(d->recno);
    memset(d, 0, sizeof *d);
}

static int decoded_grow(struct decoded *d)
{
    if (d->n < d->cap)
        return 0;
    size_t cap = d->cap ? d->cap * 2 : 1024;
    void *k = realloc(d->key, cap * sizeof *d->key);
    if (k)
        d->key = k;
    void *r = realloc(d->reason, cap * sizeof *d->reason);
    if (r)
        d->reason = r;
    void *c = realloc(d->receipt, cap * sizeof *d->receipt);
    if (c)
        d->receipt = c;
    void *a = realloc(d->accepted, cap * sizeof *d->accepted);
    if (a)
        d->accepted = a;
    void *n = realloc(d->recno, cap * sizeof *d->recno);
    if (n)
        d->recno = n;
    if (!k || !r || !c || !a || !n)
        return -1;
    d->cap = cap;
    return 0;
}

/* where_rec - "record N, line N, byte offset O" prefix for problems */
static void where_rec(char *out, size_t outsz, bool fb, long recno,
                      size_t off)
{
    if (fb)
        snprintf(out, outsz, "record %ld, byte offset %zu", recno, off);
    else
        snprintf(out, outsz, "record %ld (line %ld), byte offset %zu",
                 recno, recno, off);
}

/* add_decode_errs - fw_decode's problems ("offset N: why" per field) as
 * file-level problems with the file byte offset */
static void add_decode_errs(struct errs *e, const char *name, bool fb,
                            long recno, size_t recoff, const struct errs *de)
{
    for (size_t i = 0; i < de->n; i++) {
        const char *m = de->v[i].msg;
        size_t off = 0;
        const char *rest = m;
        if (strncmp(m, "offset ", 7) == 0) {
            char *end = NULL;
            unsigned long long v = strtoull(m + 7, &end, 10);
            if (end && *end == ':') {
                off = (size_t)v;
                rest = end + 1;
                while (*rest == ' ')
                    rest++;
            }
        }
        char w[128];
        where_rec(w, sizeof w, fb, recno, recoff + off);
        errs_add(e, name, "%s, field %s: %s", w, de->v[i].where, rest);
    }
}

static bool in_codes(char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

/* reason_words - "E01: words" from the code table; the file's own text
 * when the code is not in the table */
static int reason_words(const struct recon_layout *l, const char *code,
                        const char *text, struct arena *ar, long *out)
{
    if (code && *code && l->reasons)
        for (size_t i = 0; i < l->reasons->n; i++)
            if (strcmp(l->reasons->c[i].value, code) == 0) {
                *out = arena_put(ar, l->words[i]);
                return *out < 0 ? -1 : 0;
            }
    char buf[256];
    if (code && *code && text && *text)
        snprintf(buf, sizeof buf, "%s: %s", code, text);
    else if (code && *code)
        snprintf(buf, sizeof buf, "%s: (no words for this code in the "
                 "reasons table)", code);
    else if (text && *text)
        snprintf(buf, sizeof buf, "%s", text);
    else
        snprintf(buf, sizeof buf, "rejected (no reason code given)");
    *out = arena_put(ar, buf);
    return *out < 0 ? -1 : 0;
}

/* text_of - a picked text value, or NULL when absent or unnamed */
static const char *text_of(const struct record *r, int k)
{
    const struct fvalue *v = &r->f[k].v;
    return v->present && v->text ? v->text : NULL;
}

/* trailer_num - a picked count, or -1 when not named */
static int64_t trailer_num(const struct record *r, int k)
{
    const struct fvalue *v = &r->f[k].v;
    if (!v->present)
        return -1;
    if (v->type == FT_DECIMAL) {
        int64_t x = v->num;
        for (int i = 0; i < v->scale; i++)
            x /= 10;
        return x;
    }
    return v->num;
}

/* decode_at - one record of pick's layout at off: its length checked,
 * then decoded in one call, the picked fields handed back.  NULL with the
 * problems in e; lead (a format taking the layout's name, may be NULL)
 * heads the decoding problems. */
static struct record *decode_at(const struct recon_layout *l,
                                const struct fw_pick *pick,
                                const char *what, const char *lead,
                                const unsigned char *p, size_t len,
                                const char *name, bool fb, long recno,
                                size_t off, struct errs *e)
{
    char w[128];
    const struct cpy_record *rec = pick->rec;
    if (len != rec->length) {
        where_rec(w, sizeof w, fb, recno, off);
        errs_add(e, name, "%s: wrong %s length: %zu bytes, the layout %s "
                 "is %zu", w, what, len, rec->name, rec->length);
        return NULL;
    }
    struct errs de;
    errs_init(&de);
    struct record *r = fw_pick_decode(pick, l->cc, p, len, &de);
    if (!r) {
        if (lead) {
            char msg[160];
            where_rec(w, sizeof w, fb, recno, off);
            snprintf(msg, sizeof msg, lead, rec->name);
            errs_add(e, name, "%s: %s", w, msg);
        }
        add_decode_errs(e, name, fb, recno, off, &de);
    }
    errs_free(&de);
    return r;
}

/* take_row - one checked detail into d (the recon_take_fn every format's
 * decoder hands its rows to); 0, or -1 out of memory */
static int take_row(const struct recon_layout *l, void *ctx,
                    const struct recon_row *row)
{
    struct decoded *d = ctx;
    if (decoded_grow(d) != 0)
        return -1;
    size_t i = d->n;
    d->accepted[i] = row->accepted;
    d->recno[i] = row->recno;
    d->reason[i] = -1;
    d->receipt[i] = -1;
    if ((d->key[i] = arena_put(&d->ar, row->key)) < 0)
        return -1;
    if (!row->accepted && reason_words(l, row->reason, row->reason_text,
                                       &d->ar, &d->reason[i]) != 0)
        return -1;
    if (row->receipt && *row->receipt &&
        (d->receipt[i] = arena_put(&d->ar, row->receipt)) < 0)
        return -1;
    if (row->accepted)
        d->nacc++;
    else
        d->nrej++;
    d->n++;
    return 0;
}

/* decode_detail - one detail record into d; problems to e */
static int decode_detail(const struct recon_layout *l, const unsigned char *p,
                         size_t len, const char *name, bool fb, long recno,
                         size_t off, struct decoded *d, struct errs *e)
{
    char w[128];
    struct record *r = decode_at(l, &l->dpick, "record", NULL, p, len, name,
                                 fb, recno, off, e);
    if (!r)
        return 0;
    int rc = 0;
    const char *key = text_of(r, RK_KEY);
    const char *st = text_of(r, RK_STATUS);
    bool acc = st && in_codes(l->acc, l->nacc, st);
    bool rej = st && in_codes(l->rej, l->nrej, st);
    if (!key || !*key) {
        where_rec(w, sizeof w, fb, recno, off + l->dpick.f[RK_KEY]->offset);
        errs_add(e, name, "%s, field %s: the key is empty", w, l->key);
        goto out;
    }
    if (!acc && !rej) {
        where_rec(w, sizeof w, fb, recno, off + l->dpick.f[RK_STATUS]->offset);
        errs_add(e, name, "%s, field %s: unknown status code '%s' (accepted: "
                 "%s; rejected: %s)", w, l->status, st ? st : "",
                 l->acc[0], l->rej[0]);
        goto out;
    }
    struct recon_row row = {
        .recno = recno, .accepted = acc, .key = key,
        .reason = text_of(r, RK_REASON),
        .reason_text = text_of(r, RK_REASON_TEXT),
        .receipt = text_of(r, RK_RECEIPT),
    };
    if (take_row(l, d, &row) != 0) {
        errs_add(e, name, "out of memory");
        rc = -1;
    }
out:
    record_free(r);
    return rc;
}

static int decode_trailer(const struct recon_layout *l, const unsigned char *p,
                          size_t len, const char *name, bool fb, long recno,
                          size_t off, struct decoded *d, struct errs *e)
{
    struct record *r = decode_at(l, &l->tpick, "trailer",
                                 "the last record is not a valid %s trailer",
                                 p, len, name, fb, recno, off, e);
    if (!r)
        return 0;
    d->tcount = trailer_num(r, RT_COUNT);
    d->tacc = trailer_num(r, RT_ACCEPTED);
    d->trej = trailer_num(r, RT_REJECTED);
    record_free(r);
    return 0;
}

/* is_type - does the record at p (n bytes) begin with type t */
static bool is_type(const struct recon_rtype *t, const unsigned char *p,
                    size_t n)
{
    return t->n && n >= t->n && memcmp(p, t->b, t->n) == 0;
}

/* bad_type - a record whose type is neither the detail's nor the
 * trailer's: a problem naming its line and the type it holds */
static void bad_type(const struct recon_layout *l, const unsigned char *p,
                     size_t n, const char *name, bool fb, long recno,
                     size_t off, struct errs *e)
{
    char w[128], got[64], msg[128];
    const struct cpy_field *f = l->dtype.f;
    where_rec(w, sizeof w, fb, recno, off);
    if (n < f->length ||
        cob_text_decode(l->cc, &f->pic, p, got, sizeof got, msg,
                        sizeof msg) != 0)
        snprintf(got, sizeof got, "0x%02X", n ? p[0] : 0);
    errs_add(e, name, "%s, field %s: record type '%s' is not in the layout "
             "(detail '%s'%s%s%s)", w, f->name, got, l->dtype.text,
             l->ttype.n ? ", trailer '" : "", l->ttype.n ? l->ttype.text : "",
             l->ttype.n ? "'" : "");
}

/* one_record - a record at off: by its type when the layout gives the
 * trailer's (it must be the last), else by position (the last record is
 * the trailer when there is one).  0, or -1 out of memory. */
static int one_record(const struct recon_layout *l, const unsigned char *p,
                      size_t reclen, const char *name, bool fb, long recno,
                      size_t off, bool last, bool *trailer_seen,
                      struct decoded *d, struct errs *e)
{
    bool trailer = l->trl && (l->ttype.n ? is_type(&l->ttype, p, reclen)
                                         : last);
    if (trailer && !last) {
        char w[128];
        where_rec(w, sizeof w, fb, recno, off);
        errs_add(e, name, "%s: a trailer (record type '%s') before the end "
                 "of the file", w, l->ttype.text);
        return 0;
    }
    if (trailer) {
        *trailer_seen = true;
        return decode_trailer(l, p, reclen, name, fb, recno, off, d, e);
    }
    if (l->dtype.n && !is_type(&l->dtype, p, reclen)) {
        bad_type(l, p, reclen, name, fb, recno, off, e);
        return 0;
    }
    return decode_detail(l, p, reclen, name, fb, recno, off, d, e);
}

/* lines_mode - the ack section's recfm, or (none given) detection: ASCII
 * with a line end right after the first record, or a line end inside it
 * when no field could hold a 0x0A byte */
static bool lines_mode(const struct recon_layout *l, const unsigned char *data,
                       size_t len)
{
    size_t L = l->det->length;
    if (l->recfm != RECON_RECFM_AUTO)
        return l->recfm == RECON_RECFM_LINES;
    if (cob_codec_ebcdic(l->cc))
        return false;
    size_t first = len < L + 2 ? len : L + 2;
    const unsigned char *nl = memchr(data, '\n', first);
    return nl && ((size_t)(nl - data) == L ||
                  ((size_t)(nl - data) == L + 1 && data[L] == '\r') ||
                  !l->binary);
}

/* decode_vfile - RECFM=V/VB: each record after its RDW (in BDW blocks for
 * VB), as long as it is used; the last may be the trailer */
static int decode_vfile(const struct recon_layout *l, const unsigned char *data,
                        size_t len, const char *name, struct decoded *d,
                        bool *trailer_seen, struct errs *e)
{
    struct fw_vread r = { .data = data, .len = len,
                          .blocked = l->recfm == RECON_RECFM_VB };
    const unsigned char *p;
    size_t n, nrec = 0;
    char msg[200];
    int g;
    while ((g = fw_v_next(&r, &p, &n, msg, sizeof msg)) == 1)
        nrec++;
    if (g < 0) {
        errs_add(e, name, "%s", msg);
        return 0;
    }
    memset(&r, 0, sizeof r);
    r.data = data;
    r.len = len;
    r.blocked = l->recfm == RECON_RECFM_VB;
    for (size_t recno = 1; fw_v_next(&r, &p, &n, msg, sizeof msg) == 1;
         recno++)
        if (one_record(l, p, n, name, true, (long)recno, (size_t)(p - data),
                       recno == nrec, trailer_seen, d, e) != 0)
            return -1;
    return 0;
}

/* decode_file - every record of data into d; 0 ok (problems in e mean a
 * bad file), -1 out of memory.  *fb says how records were separated. */
static int decode_file(const struct recon_layout *l, const unsigned char *data,
                       size_t len, const char *name, struct decoded *d,
                       bool *fb, struct errs *e)
{
    d->tcount = d->tacc = d->trej = -1;
    if (l->dl) {        /* a delimited target's ack file: recon_delim.c */
        *fb = false;
        return recon_delim_decode(l, data, len, name, take_row, d, e);
    }
    size_t L = l->det->length, T = l->trl ? l->trl->length : 0;
    bool lines = lines_mode(l, data, len);
    bool trailer_seen = false;
    *fb = !lines;
    if (len == 0) {
        if (l->trl)
            errs_add(e, name, "empty file: the layout needs a %s trailer",
                     l->trl->name);
        return 0;
    }
    if (l->recfm == RECON_RECFM_V || l->recfm == RECON_RECFM_VB) {
        if (decode_vfile(l, data, len, name, d, &trailer_seen, e) != 0)
            return -1;
    } else if (lines) {
        size_t nl = 0;
        for (size_t i = 0; i < len; i++)
            nl += data[i] == '\n';
        size_t nrec = nl + (data[len - 1] != '\n');
        size_t off = 0;
        for (long recno = 1; off < len; recno++) {
            const unsigned char *p = data + off;
            const unsigned char *end = memchr(p, '\n', len - off);
            size_t ll = end ? (size_t)(end - p) : len - off;
            size_t reclen = ll && p[ll - 1] == '\r' ? ll - 1 : ll;
            if (one_record(l, p, reclen, name, false, recno, off,
                           (size_t)recno == nrec, &trailer_seen, d, e) != 0)
                return -1;
            off += ll + (end ? 1 : 0);
        }
    } else if (l->trl && l->ttype.n) {
        /* FB, the trailer known by its type: details of L bytes until a
         * record of the trailer's type, which must end the file */
        long recno = 1;
        for (size_t off = 0; off < len; recno++) {
            const unsigned char *p = data + off;
            size_t left = len - off;
            bool trl = is_type(&l->ttype, p, left);
            size_t n = trl ? T : L;
            if (left < n) {
                errs_add(e, name, "truncated record: record %ld at byte "
                         "offset %zu has only %zu of its %zu bytes", recno,
                         off, left, n);
                return 0;
            }
            if (one_record(l, p, n, name, true, recno, off, off + n == len,
                           &trailer_seen, d, e) != 0)
                return -1;
            off += n;
        }
    } else {
        size_t body = len;
        if (l->trl) {
            if (len < T || (len - T) % L != 0) {
                size_t whole = len / L, rest = len % L;
                errs_add(e, name, "truncated record: the file is %zu bytes, "
                         "not whole %zu-byte records%s; record %zu at byte "
                         "offset %zu has only %zu bytes", len, L,
                         T != L ? " plus a trailer" : "", whole + 1,
                         whole * L, rest ? rest : len);
                return 0;
            }
            body = len - T;
        } else if (len % L != 0) {
            size_t whole = len / L;
            errs_add(e, name, "truncated record: the file is %zu bytes, not "
                     "whole %zu-byte records; record %zu at byte offset %zu "
                     "has only %zu bytes", len, L, whole + 1, whole * L,
                     len % L);
            return 0;
        }
        long recno = 1;
        for (size_t off = 0; off < body; off += L, recno++)
            if (one_record(l, data + off, L, name, true, recno, off, false,
                           &trailer_seen, d, e) != 0)
                return -1;
        if (l->trl && one_record(l, data + body, T, name, true, recno, body,
                                 true, &trailer_seen, d, e) != 0)
            return -1;
    }
    if (l->trl && l->ttype.n && !trailer_seen)
        errs_add(e, name, "the file has no trailer (record type '%s' of %s)",
                 l->ttype.text, l->trl->name);
    return 0;
}

/* ---- applying a file ---------------------------------------------------- */

static void sha256_hex(const unsigned char *data, size_t len, char hex[65])
{
    static const char hx[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++) {
        hex[2 * i] = hx[md[i] >> 4];
        hex[2 * i + 1] = hx[md[i] & 15];
    }
    hex[64] = '\0';
}



/* archive_file - the applied file into archive/: fetched files (in
 * inbound/) are moved, given files copied.  Never replaces an archived
 * file of the same name: the SHA-256 prefix tells them apart.  The
 * folder is archive/<target>/, beside the batch files sent. */
static char *archive_file(struct spool *sp, const char *target,
                          const char *path, const char *name, const char *sha, const unsigned char *data,
                          size_t len, bool move, struct errs *e)
{
    char adir[PATH_MAX], dst[PATH_MAX];
    if (snprintf(adir, sizeof adir, "%s/archive/%s", spool_dir(sp), target)
        >= (int)sizeof adir || fs_mkdirs(adir, 0700) != 0) {
        errs_add(e, adir, "cannot create the archive folder");
        return NULL;
    }
    if (snprintf(dst, sizeof dst, "%s/%s", adir, name) >= (int)sizeof dst)
        return NULL;
    if (access(dst, F_OK) == 0 &&
        snprintf(dst, sizeof dst, "%s/%s.%.12s", adir, name, sha) >= (int)sizeof dst)
        return NULL;
    if (move) {
        if (rename(path, dst) != 0 || fs_fsync_dir(adir) != 0) {
            errs_add(e, path, "cannot move to %s: %s", dst, strerror(errno));
            return NULL;
        }
        char idir[PATH_MAX];
        snprintf(idir, sizeof idir, "%s/inbound", spool_dir(sp));
        fs_fsync_dir(idir);
    } else if (fs_write_atomic(dst, data, len, 0600, e) != 0) {
        return NULL;
    }
    return strdup(dst);
}

/* mismatch_text - what the trailer says against what the file holds,
 * only the counts the trailer carries (never a placeholder) */
static char *mismatch_text(const struct decoded *d)
{
    struct buf b;
    buf_init(&b, 256);
    buf_puts(&b, "control totals do not match:");
    if (d->tcount >= 0 && d->tcount != (int64_t)d->n)
        buf_printf(&b, " the trailer says %lld records, the file holds %zu;",
                   (long long)d->tcount, d->n);
    if (d->tacc >= 0 && d->tacc != (int64_t)d->nacc)
        buf_printf(&b, " the trailer says %lld accepted, the file holds %zu;",
                   (long long)d->tacc, d->nacc);
    if (d->trej >= 0 && d->trej != (int64_t)d->nrej)
        buf_printf(&b, " the trailer says %lld rejected, the file holds %zu;",
                   (long long)d->trej, d->nrej);
    if (b.len && b.data[b.len - 1] == ';')
        b.data[--b.len] = '\0';
    return buf_take(&b);
}

/* recon_ack_decode - see recon_int.h */
int recon_ack_decode(const struct recon_layout *l, const unsigned char *data,
                     size_t len, const char *name, struct recon_file *f,
                     struct errs *e)
{
    struct decoded d;
    memset(&d, 0, sizeof d);
    memset(f, 0, sizeof *f);
    size_t e0 = e->n;
    if (decode_file(l, data, len, name, &d, &f->fb, e) != 0) {
        decoded_free(&d);
        f->status = RECON_FILE_ERROR;
        return -1;
    }
    f->details = d.n;
    f->accepted = d.nacc;
    f->rejected = d.nrej;
    f->trailer_count = d.tcount;
    f->trailer_accepted = d.tacc;
    f->trailer_rejected = d.trej;
    if (e->n > e0) {
        f->status = RECON_FILE_BAD;
    } else if ((d.tcount >= 0 && d.tcount != (int64_t)d.n) ||
               (d.tacc >= 0 && d.tacc != (int64_t)d.nacc) ||
               (d.trej >= 0 && d.trej != (int64_t)d.nrej)) {
        f->mismatch = true;
        f->status = RECON_FILE_MISMATCH;
        f->problem = mismatch_text(&d);
    }
    decoded_free(&d);
    return 0;
}

/* in_inbound - path lies in the spool's inbound/ (fetched by us) */
static bool in_inbound(struct spool *sp, const char *path)
{
    char idir[PATH_MAX];
    snprintf(idir, sizeof idir, "%s/inbound/", spool_dir(sp));
    return strncmp(path, idir, strlen(idir)) == 0;
}

static void set_problem(struct recon_file *f, const struct errs *e, size_t from)
{
    free(f->problem);
    f->problem = NULL;
    if (e->n > from) {
        const struct err_item *it = &e->v[from];
        if (asprintf(&f->problem, "%s%s%s", it->where, it->where[0] ? ": " : "",
                     it->msg) < 0)
            f->problem = NULL;
    }
}

int recon_apply_file(struct spool *sp, const struct recon_layout *l,
                     const char *path, const char *name,
                     const struct recon_opts *o, struct recon_file *f,
                     struct recon_summary *sum, struct errs *e)
{
    memset(f, 0, sizeof *f);
    f->trailer_count = f->trailer_accepted = f->trailer_rejected = -1;
    f->name = strdup(name);
    sum->files++;
    size_t e0 = e->n;
    char *data = NULL;
    size_t len = 0;
    struct decoded d;
    memset(&d, 0, sizeof d);
    enum spool_ack_result *res = NULL;
    struct spool_ack *acks = NULL;
    char (*refs)[SPOOL_REF_MAX] = NULL;
    int rc = 0;
    bool fetched = in_inbound(sp, path);

    if (fs_read_file(path, RECON_MAX_FILE, &data, &len, e) != 0) {
        f->status = RECON_FILE_ERROR;
        sum->errors++;
        goto done;
    }
    sha256_hex((unsigned char *)data, len, f->sha256);
    int seen = spool_ack_file_seen(sp, name, f->sha256, e);
    if (seen < 0) {
        f->status = RECON_FILE_ERROR;
        sum->errors++;
        rc = -1;
        goto done;
    }
    if (seen == 1) {
        f->status = RECON_FILE_SEEN;
        sum->seen++;
        if (fetched)
            unlink(path);       /* the archive already holds it */
        goto done;
    }
    if (decode_file(l, (unsigned char *)data, len, name, &d, &f->fb, e) != 0) {
        f->status = RECON_FILE_ERROR;
        sum->errors++;
        rc = -1;
        goto done;
    }
    f->details = d.n;
    f->accepted = d.nacc;
    f->rejected = d.nrej;
    f->trailer_count = d.tcount;
    f->trailer_accepted = d.tacc;
    f->trailer_rejected = d.trej;
    if (e->n > e0) {
        f->status = RECON_FILE_BAD;
        sum->bad++;
        log_event(LOG_ERROR, "ack-file-bad", "file", name, "problem",
                  e->v[e0].msg, NULL);
        goto done;
    }
    if ((d.tcount >= 0 && d.tcount != (int64_t)d.n) ||
        (d.tacc >= 0 && d.tacc != (int64_t)d.nacc) ||
        (d.trej >= 0 && d.trej != (int64_t)d.nrej)) {
        f->mismatch = true;
        sum->mismatches++;
        f->problem = mismatch_text(&d);
        log_event(LOG_ERROR, "ack-totals-mismatch", "file", name, "problem",
                  f->problem, NULL);
        if (!o->accept_mismatch || !o->reason || !*o->reason) {
            f->status = RECON_FILE_MISMATCH;
            sum->refused++;
            goto done;
        }
        f->mismatch_accepted = true;
    }
    size_t n = d.n;
    acks = calloc(n ? n : 1, sizeof *acks);
    res = calloc(n ? n : 1, sizeof *res);
    if (l->key_fe)
        refs = calloc(n ? n : 1, sizeof *refs);
    if (!acks || !res || (l->key_fe && !refs)) {
        errs_add(e, name, "out of memory");
        f->status = RECON_FILE_ERROR;
        sum->errors++;
        rc = -1;
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        acks[i].key = d.ar.p + d.key[i];
        acks[i].service = l->key_fe ? l->service : NULL;
        acks[i].target = l->target;
        acks[i].accepted = d.accepted[i];
        acks[i].reason = d.reason[i] >= 0 ? d.ar.p + d.reason[i] : NULL;
        acks[i].receipt = d.receipt[i] >= 0 ? d.ar.p + d.receipt[i] : NULL;
        acks[i].record_no = d.recno[i];
    }
    const char *actor = o->actor ? o->actor : "reconcile";
    if (spool_ack_apply(sp, name, f->sha256, acks, n, res, refs,
                        f->mismatch_accepted ? actor : NULL,
                        f->mismatch_accepted ? o->reason : NULL, e) != 0) {
        f->status = RECON_FILE_ERROR;
        sum->errors++;
        set_problem(f, e, e0);
        rc = -1;
        goto done;
    }
    f->status = RECON_FILE_APPLIED;
    sum->applied++;
    for (size_t i = 0; i < n; i++) {
        const char *ref = refs && refs[i][0] ? refs[i] : acks[i].key;
        switch (res[i]) {
        case SPOOL_ACK_APPLIED:
            if (acks[i].accepted) {
                f->confirmed++;
            } else {
                f->rejected_applied++;
                recon_item_add(sum, "rejected", ref, name, d.recno[i], "%s",
                         acks[i].reason);
            }
            break;
        case SPOOL_ACK_ORPHAN:
            f->orphans++;
            recon_item_add(sum, "orphan", acks[i].key, name, d.recno[i],
                     "ferry never sent this %s",
                     l->key_fe ? "front-end reference" : "reference");
            break;
        case SPOOL_ACK_NOT_SENT:
            f->not_sent++;
            recon_item_add(sum, "not-sent", ref, name, d.recno[i], "the record is "
                     "not in a state an acknowledgement can move");
            break;
        case SPOOL_ACK_ALREADY:
            f->already++;
            break;
        }
    }
    sum->confirmed += f->confirmed;
    sum->rejected += f->rejected_applied;
    sum->orphans += f->orphans;
    sum->not_sent += f->not_sent;
    sum->already += f->already;
    {
        char cnt[32], rj[32];
        snprintf(cnt, sizeof cnt, "%zu", f->confirmed);
        snprintf(rj, sizeof rj, "%zu", f->rejected_applied);
        log_event(LOG_INFO, "ack-file-applied", "file", name, "sha256",
                  f->sha256, "confirmed", cnt, "rejected", rj, NULL);
    }
    struct errs ae;
    errs_init(&ae);
    f->archived = archive_file(sp, l->mt->name, path, name, f->sha256,
                               (unsigned char *)data, len, fetched, &ae);
    if (!f->archived)   /* applied and recorded: a warning, not a failure */
        log_event(LOG_WARN, "ack-archive-failed", "file", name, "problem",
                  errs_first_msg(&ae), NULL);
    errs_free(&ae);
done:
    if (!f->problem && (f->status == RECON_FILE_BAD ||
                        f->status == RECON_FILE_ERROR))
        set_problem(f, e, e0);
    free(acks);
    free(res);
    free(refs);
    decoded_free(&d);
    free(data);
    return rc;
}

/* ---- overdue records and finished batches ------------------------------ */

struct overdue_ctx {
    struct recon_summary *sum;
    const struct spool_batch *b;
    int64_t now;
    size_t n;
};

static int overdue_one(void *vctx, const struct spool_record *r)
{
    struct overdue_ctx *c = vctx;
    c->n++;
    c->sum->overdue++;
    recon_item_add(c->sum, "overdue", r->ref, c->b->file_name, 0,
             "batch %s sent %lld hours ago, no acknowledgement",
             c->b->file_name ? c->b->file_name : "?",
             (long long)((c->now - c->b->sent_at) / 3600000));
    return 0;
}

static int count_one(void *vctx, const struct spool_record *r)
{
    (void)r;
    (*(size_t *)vctx)++;
    return 1;       /* one is enough */
}

int recon_overdue(struct spool *sp, const char *target, long hours,
                  int64_t now, struct recon_summary *sum, struct errs *e)
{
    struct spool_batch **v = NULL;
    size_t n = 0;
    if (!now)
        now = clock_wall_ms();
    if (spool_batch_list(sp, target, 0, &v, &n, e) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct spool_batch *b = v[i];
        if (b->state != SPOOL_BATCH_SENT)
            continue;
        struct spool_filter fl;
        memset(&fl, 0, sizeof fl);
        fl.batch_id = b->id;
        fl.nstates = 1;
        fl.states[0] = SPOOL_SENT;
        size_t left = 0;
        if (spool_foreach(sp, &fl, 0, count_one, &left, e) < 0) {
            rc = -1;
            break;
        }
        if (!left) {
            /* every record answered: the batch is done */
            if (spool_batch_confirmed(sp, b->id, e) != 0) {
                rc = -1;
                break;
            }
            sum->batches_confirmed++;
            continue;
        }
        if (b->sent_at && now - b->sent_at > (int64_t)hours * 3600000) {
            struct overdue_ctx c = { sum, b, now, 0 };
            if (spool_foreach(sp, &fl, 0, overdue_one, &c, e) < 0)
                rc = -1;
        }
    }
    for (size_t i = 0; i < n; i++)
        spool_batch_free(v[i]);
    free(v);
    return rc;
}

