/* delimited.c - the delimited batch format: one line per record, its
 * cells in the columns the service mapping's <target> lists, under the
 * legacy system's own quoting rules (mappings/delimited.h), gathered into
 * one file per night batch like the fixed-width format.
 *
 * The dialect belongs to the receiving system, so it is written once on
 * the <target type="delimited"> in ferry.xml: delimiter, quote, quoting,
 * escape, line-end, encoding, header-line.  The columns belong to each
 * service: every <map to="COLUMN" from="..."/> of its mapping's <target>
 * is one cell, in document order; the optional <section name="trailer">
 * is one last line, whose cells may carry "$count" and "$sum:COLUMN".
 * Sums are exact (scaled integers) over the values as written.
 *
 * The night batch (scheduler/batch*.c) drives this through adapter.h's
 * batch callbacks exactly as it drives fixed-width: it owns the ledger,
 * the temporary name, SHA-256, fsync and rename; this file turns records
 * into lines, keeps the count and sums, and reads a written file back.
 * The intake's admit check encodes every cell the way write_record does
 * (one function, encode_line), so nothing accepted fails here because of
 * its own content.  See docs/batch.md, "Delimited files". */
#include "adapters/adapter.h"
#include "config/config.h"
#include "mappings/delimited.h"
#include "mappings/fw_target.h"
#include "util/buf.h"
#include "util/errs.h"
#include "util/tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern const struct adapter adapter_delimited;

#define DL_MAX_SUMS  8
#define DL_MAX_LINE  DL_LINE_MAX     /* one line, written or read back */

struct dl_opts {
    const char *delimiter, *quote, *quoting, *escape, *line_end, *encoding;
    bool header_line;
};

static const struct adapter_key dl_keys[] = {
    ADAPTER_OPT("delimiter", ADAPTER_OPT_STR, DL_DEF_DELIMITER, struct dl_opts, delimiter,
                0, 0, "one punctuation character, or tab (default ,)"),
    ADAPTER_OPT("quote", ADAPTER_OPT_STR, DL_DEF_QUOTE, struct dl_opts, quote, 0, 0,
                "the quote character (default \")"),
    ADAPTER_OPT("quoting", ADAPTER_OPT_STR, DL_DEF_QUOTING, struct dl_opts, quoting,
                0, 0, "needed (default), always or none"),
    ADAPTER_OPT("escape", ADAPTER_OPT_STR, DL_DEF_ESCAPE, struct dl_opts, escape,
                0, 0, "a quote inside quotes: double (\"\", default) or "
                "backslash (\\\")"),
    ADAPTER_OPT("line-end", ADAPTER_OPT_STR, DL_DEF_LINE_END, struct dl_opts, line_end,
                0, 0, "CRLF (default) or LF"),
    ADAPTER_OPT("encoding", ADAPTER_OPT_STR, DL_DEF_ENCODING, struct dl_opts,
                encoding, 0, 0, "ascii (default), UTF-8, IBM-285, IBM-037, "
                "IBM-1146 or IBM-1140"),
    ADAPTER_OPT("header-line", ADAPTER_OPT_BOOL, "true", struct dl_opts,
                header_line, 0, 0, "true (default): a first line of column "
                "names"),
    ADAPTER_KEY_END,
};

static const struct adapter_key dl_map_keys[] = {
    ADAPTER_KEY("file-name", ADAPTER_OPT_STR, false,
                "name pattern: {yyyymmdd} {ccyymmdd} {yymmdd} {seq} {seq:N} "
                "{gen} {target}, e.g. CLM{yyyymmdd}.{seq:3}.csv"),
    ADAPTER_KEY("empty-file", ADAPTER_OPT_STR, false,
                "true: write the header line and trailer when nothing is "
                "queued"),
    ADAPTER_KEY_END,
};

struct dl_sum {
    const char *col;               /* the detail column (borrowed) */
    size_t idx;                    /* its place in the line */
};

struct dl_ctx {
    struct dl_opts o;
    struct cob_codec *cc;          /* NULL: UTF-8 */
    struct dl_dialect d;
    const struct map_target *mt;
    const struct map_section *det; /* the columns: mt->sec[0] */
    const struct map_section *hdr; /* the header record line, or NULL */
    const struct map_section *trl; /* the trailer line, or NULL */
    struct dl_sum sums[DL_MAX_SUMS];
    size_t nsums;
    const char *file_pattern;
    bool empty_file;
    struct tz *london;             /* local-time="true" */
    struct record *preview;        /* specials for the admit check */
};

/* An exact running sum: v at scale. */
struct dl_total {
    int64_t v;
    int scale;
};

struct dl_file {
    const struct dl_ctx *c;        /* the instance that opened it */
    struct batch_sink sink;
    struct buf line;
    int64_t count;
    struct dl_total sums[DL_MAX_SUMS];
};

/* ---- exact sums ------------------------------------------------------- */

/* up - v times 10^by; -1 on overflow */
static int up(int64_t *v, int by)
{
    for (; by > 0; by--)
        if (__builtin_mul_overflow(*v, 10, v))
            return -1;
    return 0;
}

/* total_add - t += v (at scale s), at the larger scale; -1 on overflow */
static int total_add(struct dl_total *t, int64_t v, int s)
{
    struct dl_total n = *t;
    if (s > n.scale) {
        if (up(&n.v, s - n.scale) != 0)
            return -1;
        n.scale = s;
    } else if (up(&v, n.scale - s) != 0) {
        return -1;
    }
    if (__builtin_add_overflow(n.v, v, &n.v))
        return -1;
    *t = n;
    return 0;
}

/* total_eq - a == b as numbers */
static bool total_eq(struct dl_total a, struct dl_total b)
{
    int s = a.scale > b.scale ? a.scale : b.scale;
    return up(&a.v, s - a.scale) == 0 && up(&b.v, s - b.scale) == 0 &&
           a.v == b.v;
}

/* number_of - the cell text "-12.50" as v at its own scale; -1 if not a
 * plain decimal number */
static int number_of(const char *s, struct dl_total *out)
{
    const char *dot = strchr(s, '.');
    int scale = dot ? (int)strlen(dot + 1) : 0;
    if (scale > 18 || record_dec_parse(s, scale, &out->v) != 0)
        return -1;
    out->scale = scale;
    return 0;
}

static void totals_text(const struct dl_ctx *c, const struct dl_total *t,
                        char *out, size_t outsz)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < c->nsums && n < outsz; i++) {
        char num[48];
        record_dec_format(t[i].v, t[i].scale, num, sizeof num);
        int w = snprintf(out + n, outsz - n, "%s%s=%s", i ? " " : "",
                         c->sums[i].col, num);
        if (w < 0)
            break;
        n += (size_t)w;
    }
}

/* ---- a cell's text ---------------------------------------------------- */

/* source - the value a fills from: a record field, or a special */
static const struct fvalue *source(const struct map_assign *a,
                                   const struct record *rec,
                                   const struct record *sp)
{
    return a->from[0] == '$' ? record_get(sp, a->from)
                             : record_get(rec, a->from);
}

/* put_cells - the cells of section s for rec onto out, with their
 * delimiters; sum columns' values in vals (may be NULL).  0, or -1 with
 * one problem per refused cell in e (where: the column). */
static int put_cells(const struct dl_ctx *c, const struct map_section *s,
                     const struct record *rec, const struct record *sp,
                     struct dl_total *vals, struct buf *out, struct errs *e)
{
    int rc = 0;
    for (size_t i = 0; i < s->na; i++) {
        const struct map_assign *a = &s->a[i];
        char tmp[128], why[300];
        const char *text = a->value;
        if (i && buf_append(out, &c->d.delim, 1) != 0) {
            errs_add(e, a->to, "out of memory or the line is too long");
            return -1;
        }
        if (!text) {
            const struct fvalue *v = source(a, rec, sp);
            if (!v && a->from[0] != '$') {
                errs_add(e, a->to, "the record has no field %s", a->from);
                rc = -1;
                continue;
            }
            text = v && v->present ? dl_value_text(c->london, a, v, tmp,
                                                   sizeof tmp, why,
                                                   sizeof why) : "";
            if (!text) {
                errs_add(e, a->to, "%s", why);
                rc = -1;
                continue;
            }
        }
        for (size_t k = 0; vals && k < c->nsums; k++)
            if (c->sums[k].idx == i && number_of(text[0] ? text : "0",
                                                 &vals[k]) != 0) {
                errs_add(e, a->to, "cannot be totalled: not a number");
                rc = -1;
            }
        if (dl_cell_put(&c->d, text, strlen(text), a->fold ? COB_TX_FOLD : 0,
                        out, why, sizeof why) != 0) {
            errs_add(e, a->to, "%s", why);
            rc = -1;
        }
    }
    if (rc == 0 && buf_append(out, c->d.eol, c->d.eollen) != 0) {
        errs_add(e, "line", "out of memory or the line is too long");
        rc = -1;
    }
    return rc;
}

/* ---- the instance ----------------------------------------------------- */

static void dl_close(void *vctx)
{
    struct dl_ctx *c = vctx;
    if (!c)
        return;
    cob_codec_free(c->cc);
    tz_free(c->london);
    record_free(c->preview);
    free(c);
}

/* read_dialect - the target's dialect options; -1 with problems in e */
static int read_dialect(struct dl_ctx *c, const struct adapter_env *env,
                        struct errs *e)
{
    const char *owner = env->target && env->target->name
        ? env->target->name : "delimited";
    if (adapter_opts_read(&adapter_delimited, dl_keys, env->opts, NULL,
                          &c->o, "delimited", NULL, 0, e) != 0)
        return -1;
    return dl_dialect_read(env->opts, owner, &c->d, &c->cc, e);
}

/* read_columns - the mapping's columns and trailer; -1 with problems */
static int read_columns(struct dl_ctx *c, const struct adapter_env *env,
                        struct errs *e)
{
    const struct map_target *mt = env->map;
    const char *mf = env->mapping_file;
    int bad = 0;
    bool seen_ack = false;
    c->mt = mt;
    c->det = &mt->sec[0];
    if (!c->det->na) {
        errs_add_at(e, mf, mt->line, "target %s: a delimited file needs at "
                    "least one <map to=\"COLUMN\">", mt->name);
        bad = 1;
    }
    for (size_t i = 1; i < mt->nsec; i++) {
        if (strcmp(mt->sec[i].name, "trailer") == 0 && !c->trl)
            c->trl = &mt->sec[i];
        else if (strcmp(mt->sec[i].name, "header") == 0 && !c->hdr)
            c->hdr = &mt->sec[i];
        else if (strcmp(mt->sec[i].name, "ack") == 0 && !seen_ack)
            seen_ack = true;    /* read by reconcile (recon_delim.c) */
        else {
            errs_add_at(e, mf, mt->sec[i].line, "target %s: section \"%s\": "
                        "a delimited file has at most one header, one "
                        "trailer and one ack section", mt->name, mt->sec[i].name);
            bad = 1;
        }
    }
    for (size_t i = 0; c->hdr && i < c->hdr->na; i++) {
        const struct map_assign *a = &c->hdr->a[i];
        if (a->from && (a->from[0] != '$' || strcmp(a->from, "$count") == 0 ||
                        strncmp(a->from, "$sum:", 5) == 0)) {
            errs_add_at(e, mf, a->line, "header %s: from=\"%s\": the header "
                        "is written first, from the batch alone: use "
                        "$file-date, $sequence, $generation, another $ "
                        "source or value=", a->to, a->from);
            bad = 1;
        }
    }
    for (size_t i = 0; i < c->det->na; i++) {
        const struct map_assign *a = &c->det->a[i];
        if (a->from && (strcmp(a->from, "$count") == 0 ||
                        strncmp(a->from, "$sum:", 5) == 0)) {
            errs_add_at(e, mf, a->line, "%s: %s is known only when the file "
                        "ends: it may appear in the trailer only", a->to,
                        a->from);
            bad = 1;
        }
        for (size_t k = 0; k < i; k++)
            if (strcmp(c->det->a[k].to, a->to) == 0) {
                errs_add_at(e, mf, a->line, "column %s is listed twice",
                            a->to);
                bad = 1;
            }
    }
    for (size_t i = 0; c->trl && i < c->trl->na; i++) {
        const struct map_assign *a = &c->trl->a[i];
        if (a->from && a->from[0] != '$') {
            errs_add_at(e, mf, a->line, "trailer %s: from=\"%s\": the trailer "
                        "has no record; use $count, $sum:COLUMN, another "
                        "$ source or value=", a->to, a->from);
            bad = 1;
            continue;
        }
        if (!a->from || strncmp(a->from, "$sum:", 5) != 0)
            continue;
        const char *col = a->from + 5;
        size_t idx = c->det->na;
        for (size_t k = 0; k < c->det->na; k++)
            if (strcmp(c->det->a[k].to, col) == 0)
                idx = k;
        if (idx == c->det->na) {
            errs_add_at(e, mf, a->line, "trailer %s: %s: no detail column %s",
                        a->to, a->from, col);
            bad = 1;
            continue;
        }
        bool seen = false;
        for (size_t k = 0; k < c->nsums; k++)
            seen |= c->sums[k].idx == idx;
        if (seen)
            continue;
        if (c->nsums == DL_MAX_SUMS) {
            errs_add_at(e, mf, a->line, "at most %d $sum: columns",
                        DL_MAX_SUMS);
            bad = 1;
            continue;
        }
        c->sums[c->nsums].col = c->det->a[idx].to;
        c->sums[c->nsums++].idx = idx;
    }
    const char *ef = kv_get(&mt->opts, "empty-file");
    if (ef && strcmp(ef, "true") != 0 && strcmp(ef, "false") != 0) {
        errs_add_at(e, mf, mt->line, "empty-file=\"%s\": true or false", ef);
        bad = 1;
    }
    c->empty_file = ef && strcmp(ef, "true") == 0;
    c->file_pattern = kv_get(&mt->opts, "file-name");
    return bad ? -1 : 0;
}

static int dl_init(void **ctx, const struct adapter_env *env, struct errs *e)
{
    *ctx = NULL;
    if (!env->map) {
        errs_add(e, env->service ? env->service : "delimited",
                 "a delimited target needs the service mapping's <target>");
        return -1;
    }
    struct dl_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        errs_add(e, "delimited", "out of memory");
        return -1;
    }
    int bad = read_dialect(c, env, e);
    bad |= read_columns(c, env, e);
    if (!bad && !(c->london = tz_load("Europe/London", e)))
        bad = -1;
    if (bad) {
        dl_close(c);
        return -1;
    }
    *ctx = c;
    return 0;
}

/* dl_admit_new - the instance, with the specials a record not yet spooled
 * would see ($reference and the like, at their usual widths) */
static int dl_admit_new(void **ctx, const struct adapter_env *env,
                        struct errs *e)
{
    if (dl_init(ctx, env, e) != 0)
        return -1;
    struct dl_ctx *c = *ctx;
    if (!(c->preview = fw_preview_specials((int64_t)time(NULL) * 1000))) {
        dl_close(c);
        *ctx = NULL;
        errs_add(e, "delimited", "out of memory");
        return -1;
    }
    return 0;
}

/* dl_admit - rec becomes a line of this target, as write_record would
 * write it (code page, control characters, the delimiter with quoting
 * off, numbers in totalled columns) */
static int dl_admit(const void *vctx, const struct record *rec,
                    struct errs *e)
{
    const struct dl_ctx *c = vctx;
    struct buf b;
    struct dl_total vals[DL_MAX_SUMS];
    buf_init(&b, DL_MAX_LINE);
    int rc = put_cells(c, c->det, rec, c->preview, vals, &b, e);
    buf_free(&b);
    return rc;
}

static void dl_file_info(void *vctx, struct batch_format_info *out)
{
    const struct dl_ctx *c = vctx;
    out->file_pattern = c->file_pattern;
    out->empty_file = c->empty_file;
}

static int dl_same_file(const void *va, const void *vb, char *why,
                        size_t whysz)
{
    const struct dl_ctx *a = va, *b = vb;
    bool same = a->det->na == b->det->na;
    for (size_t i = 0; same && i < a->det->na; i++)
        same = strcmp(a->det->a[i].to, b->det->a[i].to) == 0;
    if (!same) {
        snprintf(why, whysz, "their columns differ (%zu and %zu columns, "
                 "names and order must be the same)", a->det->na,
                 b->det->na);
        return -1;
    }
    return 0;
}

/* ---- writing ---------------------------------------------------------- */

/* put_line - f->line to the sink; -1 when it refused */
static int put_line(struct dl_file *f)
{
    return f->sink.put(f->sink.sctx, f->line.data, f->line.len);
}

/* header_line - the column names, quoted by the same rules */
static int header_line(const struct dl_ctx *c, struct buf *out,
                       struct errs *e)
{
    for (size_t i = 0; i < c->det->na; i++) {
        const char *nm = c->det->a[i].to;
        char why[200];
        if ((i && buf_append(out, &c->d.delim, 1) != 0) ||
            dl_cell_put(&c->d, nm, strlen(nm), 0, out, why,
                        sizeof why) != 0) {
            errs_add(e, nm, "column name: %s", why);
            return -1;
        }
    }
    if (buf_append(out, c->d.eol, c->d.eollen) != 0) {
        errs_add(e, "header", "out of memory");
        return -1;
    }
    return 0;
}

static void dl_open_file(void *vctx, const struct batch_sink *sink,
                         const struct record *sp, void **file,
                         struct adapter_result *res)
{
    const struct dl_ctx *c = vctx;
    *file = NULL;
    struct dl_file *f = calloc(1, sizeof *f);
    if (!f) {
        adapter_result_set(res, ADAPTER_FAIL, "out of memory");
        return;
    }
    f->c = c;
    f->sink = *sink;
    buf_init(&f->line, DL_MAX_LINE);
    adapter_result_set(res, ADAPTER_OK, "%s", "");
    if (c->hdr) {
        struct errs pe;
        errs_init(&pe);
        if (put_cells(c, c->hdr, NULL, sp, NULL, &f->line, &pe) != 0)
            adapter_result_set(res, ADAPTER_FAIL, "header %s: %s",
                               pe.n ? pe.v[0].where : "",
                               errs_first_msg(&pe));
        else if (put_line(f) != 0)
            adapter_result_set(res, ADAPTER_RETRY, "writing the file failed");
        errs_free(&pe);
        buf_reset(&f->line);
    }
    if (res->outcome == ADAPTER_OK && c->o.header_line) {
        struct errs pe;
        errs_init(&pe);
        if (header_line(c, &f->line, &pe) != 0)
            adapter_result_set(res, ADAPTER_FAIL, "header line: %s: %s",
                               pe.n ? pe.v[0].where : "",
                               errs_first_msg(&pe));
        else if (put_line(f) != 0)
            adapter_result_set(res, ADAPTER_RETRY, "writing the file failed");
        errs_free(&pe);
    }
    if (res->outcome != ADAPTER_OK) {
        buf_free(&f->line);
        free(f);
        return;
    }
    *file = f;
}

static void dl_write_record(void *vctx, void *vfile, const struct record *rec,
                            const struct record *sp,
                            struct adapter_result *res)
{
    const struct dl_ctx *c = vctx;
    struct dl_file *f = vfile;
    struct dl_total vals[DL_MAX_SUMS], next[DL_MAX_SUMS];
    struct errs pe;
    errs_init(&pe);
    buf_reset(&f->line);
    if (put_cells(c, c->det, rec, sp, vals, &f->line, &pe) != 0) {
        adapter_result_problems(res, &pe);
        errs_free(&pe);
        return;
    }
    errs_free(&pe);
    memcpy(next, f->sums, sizeof next);
    for (size_t i = 0; i < f->c->nsums; i++)
        if (total_add(&next[i], vals[i].v, vals[i].scale) != 0) {
            adapter_result_set(res, ADAPTER_FAIL, "%s: the total would "
                               "overflow", f->c->sums[i].col);
            return;
        }
    if (put_line(f) != 0) {
        adapter_result_set(res, ADAPTER_RETRY, "writing the file failed");
        return;
    }
    memcpy(f->sums, next, sizeof next);
    f->count++;
    res->outcome = ADAPTER_OK;
    res->msg[0] = '\0';
}

/* set_total - a trailer source ("$count", "$sum:COL") in sp */
static int set_total(struct record *sp, const char *name, struct dl_total t)
{
    struct record_field *rf = record_field(sp, name);
    if (!rf)
        rf = record_add(sp, name);
    if (!rf)
        return -1;
    return t.scale > 0 ? fvalue_set_decimal(&rf->v, t.v, t.scale)
                       : fvalue_set_int(&rf->v, t.v);
}

static void dl_close_file(void *vfile, struct record *sp,
                          struct batch_totals *totals,
                          struct adapter_result *res)
{
    struct dl_file *f = vfile;
    if (!f)
        return;
    const struct dl_ctx *c = f->c;
    if (totals) {
        adapter_result_set(res, ADAPTER_OK, "%s", "");
        struct dl_total cnt = { f->count, 0 };
        bool ok = set_total(sp, "$count", cnt) == 0;
        for (size_t i = 0; ok && i < c->nsums; i++) {
            char nm[300];
            snprintf(nm, sizeof nm, "$sum:%s", c->sums[i].col);
            ok = set_total(sp, nm, f->sums[i]) == 0;
        }
        if (!ok)
            adapter_result_set(res, ADAPTER_FAIL, "out of memory");
        if (ok && c->trl) {
            struct errs pe;
            errs_init(&pe);
            buf_reset(&f->line);
            if (put_cells(c, c->trl, NULL, sp, NULL, &f->line, &pe) != 0)
                adapter_result_set(res, ADAPTER_FAIL, "trailer %s: %s",
                                   pe.n ? pe.v[0].where : "",
                                   errs_first_msg(&pe));
            else if (put_line(f) != 0)
                adapter_result_set(res, ADAPTER_RETRY,
                                   "writing the file failed");
            errs_free(&pe);
        }
        totals->count = f->count;
        totals_text(c, f->sums, totals->text, sizeof totals->text);
    }
    buf_free(&f->line);
    free(f);
}

/* ---- reading it back -------------------------------------------------- */

/* src_get - the batch source as a dl_reader's input */
static int src_get(void *ctx, void *p, size_t n)
{
    const struct batch_source *src = ctx;
    return src->get(src->sctx, p, n);
}

/* read_line - the reader's next line; 1, 0 at the end, -1 with res */
static int read_line(struct dl_reader *r, struct adapter_result *res)
{
    char why[200];
    int g = dl_reader_next(r, why, sizeof why);
    if (g < 0)
        adapter_result_set(res, r->read_error ? ADAPTER_RETRY : ADAPTER_FAIL,
                           "%s", why);
    return g;
}

/* check_section - a header or trailer line's cells (what: "header",
 * "trailer") against the mapping and, for the trailer, the details */
static int check_section(const struct dl_ctx *c, const struct map_section *s,
                         const char *what, const struct dl_cells *cl,
                         int64_t count, const struct dl_total *sums,
                         struct adapter_result *res)
{
    if (cl->n != s->na) {
        adapter_result_set(res, ADAPTER_FAIL, "the %s has %zu cells, "
                           "the mapping %zu", what, cl->n, s->na);
        return -1;
    }
    for (size_t i = 0; i < s->na; i++) {
        const struct map_assign *a = &s->a[i];
        struct dl_total want = { count, 0 }, got;
        bool is_sum = a->from && strncmp(a->from, "$sum:", 5) == 0;
        if (a->value && strcmp(cl->v[i], a->value) != 0) {
            adapter_result_set(res, ADAPTER_FAIL, "%s %s is not the "
                               "constant the mapping writes", what, a->to);
            return -1;
        }
        if (!a->from || (strcmp(a->from, "$count") != 0 && !is_sum))
            continue;
        for (size_t k = 0; is_sum && k < c->nsums; k++)
            if (strcmp(c->sums[k].col, a->from + 5) == 0)
                want = sums[k];
        if (number_of(cl->v[i], &got) != 0 || !total_eq(got, want)) {
            char y[48];
            record_dec_format(want.v, want.scale, y, sizeof y);
            adapter_result_set(res, ADAPTER_FAIL, "trailer %s says %.40s, the "
                               "details add up to %s", a->to, cl->v[i], y);
            return -1;
        }
    }
    return 0;
}

static void dl_check_file(void *vctx, const struct batch_source *src,
                          uint64_t size, const struct batch_totals *want,
                          struct adapter_result *res)
{
    const struct dl_ctx *c = vctx;
    struct dl_reader r;
    struct dl_cells cl;
    struct dl_total sums[DL_MAX_SUMS];
    memset(sums, 0, sizeof sums);
    int64_t count = 0;
    bool trailer_seen = false;
    char msg[300];
    dl_cells_init(&cl);
    if (dl_reader_init(&r, &c->d, src_get, (void *)src, size) != 0) {
        adapter_result_set(res, ADAPTER_RETRY, "out of memory");
        goto out;
    }
    if (c->hdr) {
        int g = read_line(&r, res);
        if (g == 0)
            adapter_result_set(res, ADAPTER_FAIL, "the file is empty");
        if (g != 1)
            goto out;
        if (dl_line_split(&c->d, (const unsigned char *)r.line.data,
                          r.line.len, &cl, msg, sizeof msg) != 0) {
            adapter_result_set(res, ADAPTER_FAIL, "line 1: %s", msg);
            goto out;
        }
        if (check_section(c, c->hdr, "header", &cl, 0, sums, res) != 0)
            goto out;
    }
    if (c->o.header_line) {
        struct buf h;
        struct errs pe;
        errs_init(&pe);
        buf_init(&h, DL_MAX_LINE);
        int bad = header_line(c, &h, &pe) != 0;
        errs_free(&pe);
        int g = bad ? -1 : read_line(&r, res);
        bool same = g == 1 && r.line.len + c->d.eollen == h.len &&
                    memcmp(r.line.data, h.data, r.line.len) == 0;
        buf_free(&h);
        if (g == 0)
            adapter_result_set(res, ADAPTER_FAIL, "the file is empty");
        else if (g == 1 && !same)
            adapter_result_set(res, ADAPTER_FAIL, "line %lld is not the "
                               "header line of column names",
                               (long long)r.lineno);
        if (bad)
            adapter_result_set(res, ADAPTER_FAIL, "the header line cannot be "
                               "made");
        if (g != 1 || !same)
            goto out;
    }
    for (;;) {
        int g = read_line(&r, res);
        if (g < 0)
            goto out;
        if (g == 0)
            break;
        bool last = dl_reader_at_end(&r);
        if (dl_line_split(&c->d, (const unsigned char *)r.line.data,
                          r.line.len, &cl, msg, sizeof msg) != 0) {
            adapter_result_set(res, ADAPTER_FAIL, "line %lld: %s",
                               (long long)r.lineno, msg);
            goto out;
        }
        if (last && c->trl) {
            if (check_section(c, c->trl, "trailer", &cl, count, sums,
                              res) != 0)
                goto out;
            trailer_seen = true;
            break;
        }
        if (cl.n != c->det->na) {
            adapter_result_set(res, ADAPTER_FAIL, "line %lld has %zu cells, "
                               "the mapping %zu columns",
                               (long long)r.lineno, cl.n, c->det->na);
            goto out;
        }
        for (size_t k = 0; k < c->nsums; k++) {
            const char *t = cl.v[c->sums[k].idx];
            struct dl_total v;
            if (number_of(t[0] ? t : "0", &v) != 0 ||
                total_add(&sums[k], v.v, v.scale) != 0) {
                adapter_result_set(res, ADAPTER_FAIL, "line %lld: %s cannot "
                                   "be totalled", (long long)r.lineno,
                                   c->sums[k].col);
                goto out;
            }
        }
        count++;
        if (src->progress && (count & 4095) == 0)
            src->progress(src->sctx, count, want->count);
    }
    if (c->trl && !trailer_seen) {
        adapter_result_set(res, ADAPTER_FAIL, "the file has no trailer line");
        goto out;
    }
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
out:
    dl_reader_free(&r);
    dl_cells_free(&cl);
}

const struct adapter adapter_delimited = {
    .name = "delimited",
    .description = "delimited (CSV-style) files under the legacy system's "
                   "quoting rules (night batch)",
    .kind = ADAPTER_BATCH,
    .keys = dl_keys,
    .map_keys = dl_map_keys,
    .init = dl_init,
    .close = dl_close,
    .admit_new = dl_admit_new,
    .admit = dl_admit,
    .admit_free = dl_close,
    .file_info = dl_file_info,
    .same_file = dl_same_file,
    .open_file = dl_open_file,
    .write_record = dl_write_record,
    .close_file = dl_close_file,
    .check_file = dl_check_file,
};
