/* recon_delim.c - acknowledgement files of a delimited target.
 *
 * A back office that takes a delimited file answers with one: a header
 * row of column names, then one line per record, in the target's own
 * dialect (delimiter, quote, quoting, escape, line end, code page: the
 * <target type="delimited"> in ferry.xml, read by mappings/delimited.c's
 * dl_dialect_read as the batch format reads it).  The ack section names
 * columns where a fixed-width one names copybook fields: key, status,
 * reason, reason-text, receipt.  Columns are found by name in the header
 * row (case and surrounding spaces aside), so their order and any
 * columns ferry does not read are the back office's business.
 *
 * Contract: strict as the batch read-back is (mappings/delimited.h,
 * dl_line_split); every problem names the file, the line and the column;
 * checked rows go to the caller's take (recon_ack.c keeps them), which
 * applies nothing of a file with a problem.  This file owns no ledger
 * access and calls nothing else in the reconcile group. */
#include "scheduler/recon_int.h"
#include "config/config.h"
#include "mappings/delimited.h"
#include "util/errs.h"
#include "util/suggest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct recon_delim {
    struct cob_codec *cc;            /* NULL: UTF-8 */
    struct dl_dialect d;
};

/* attributes of a fixed-width ack section a delimited one has not */
static const char *const not_here[] = {
    "copybook", "record", "trailer", "trailer-type", "detail-type",
    "trailer-count", "trailer-accepted", "trailer-rejected", "recfm",
    "encoding", "overpunch",
};

struct recon_delim *recon_delim_new(const struct target_config *tc,
                                    const struct map_section *s,
                                    const char *where, struct errs *e)
{
    size_t before = e->n;
    for (size_t i = 0; i < sizeof not_here / sizeof *not_here; i++)
        if (kv_get(&s->opts, not_here[i]))
            errs_add(e, where, "%s=\"%s\": a delimited target's ack file is "
                     "read by its header row in the target's dialect; it "
                     "has no %s", not_here[i], kv_get(&s->opts, not_here[i]),
                     not_here[i]);
    struct recon_delim *dl = calloc(1, sizeof *dl);
    if (!dl) {
        errs_add(e, where, "out of memory");
        return NULL;
    }
    if (dl_dialect_read(&tc->opts, tc->name, &dl->d, &dl->cc, e) != 0 ||
        e->n > before) {
        recon_delim_free(dl);
        return NULL;
    }
    return dl;
}

void recon_delim_free(struct recon_delim *dl)
{
    if (!dl)
        return;
    cob_codec_free(dl->cc);
    free(dl);
}

/* trim - s without the spaces around it (in place) */
static char *trim(char *s)
{
    while (*s == ' ')
        s++;
    size_t n = strlen(s);
    while (n && s[n - 1] == ' ')
        s[--n] = '\0';
    return s;
}

/* cell_problem - dl_line_split's "cell N: why" as "line L, column N: why" */
static void cell_problem(struct errs *e, const char *name, long line,
                         const char *msg)
{
    unsigned long cell = 0;
    int used = 0;
    if (sscanf(msg, "cell %lu: %n", &cell, &used) == 1 && used > 0)
        errs_add(e, name, "line %ld, column %lu: %s", line, cell, msg + used);
    else
        errs_add(e, name, "line %ld: %s", line, msg);
}

/* The columns read, by the RK_* of the layout's names. */
struct cols {
    const char *name[RK_N];
    size_t at[RK_N];                 /* 0-based cell; SIZE_MAX none */
    size_t ncells;                   /* the header row's */
};

static const char *const attr_of[RK_N] = {
    "key", "status", "reason", "reason-text", "receipt",
};

/* header - find the named columns in the header row's cells */
static void header(struct dl_cells *c, struct cols *k, const char *name,
                   struct errs *e)
{
    k->ncells = c->n;
    for (int r = 0; r < RK_N; r++) {
        k->at[r] = SIZE_MAX;
        if (!k->name[r])
            continue;
        bool twice = false;
        for (size_t i = 0; i < c->n && !twice; i++) {
            if (strcasecmp(trim(c->v[i]), k->name[r]) != 0)
                continue;
            if (k->at[r] != SIZE_MAX) {
                errs_add(e, name, "line 1, column %zu: the header row names "
                         "column '%s' twice (columns %zu and %zu)", i + 1,
                         k->name[r], k->at[r] + 1, i + 1);
                twice = true;
            }
            k->at[r] = i;
        }
        if (k->at[r] != SIZE_MAX)
            continue;
        const char *near = suggest_near(k->name[r], (const char *const *)c->v,
                                        c->n);
        errs_add(e, name, "line 1: the header row has no column '%s' (the "
                 "ack section's %s=)%s%s%s", k->name[r], attr_of[r],
                 near ? "; did you mean '" : "", near ? near : "",
                 near ? "'?" : "");
    }
}

static bool in_codes(char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

/* detail - one data line's cells, checked, to take; 0, -1 nomem */
static int detail(const struct recon_layout *l, const struct cols *k,
                  struct dl_cells *c, long line, const char *name,
                  recon_take_fn take, void *ctx, struct errs *e)
{
    if (c->n != k->ncells) {
        errs_add(e, name, "line %ld: %zu column%s, the header row has %zu",
                 line, c->n, c->n == 1 ? "" : "s", k->ncells);
        return 0;
    }
    const char *v[RK_N];
    for (int r = 0; r < RK_N; r++)
        v[r] = k->at[r] == SIZE_MAX ? NULL : trim(c->v[k->at[r]]);
    if (!*v[RK_KEY]) {
        errs_add(e, name, "line %ld, column %zu (%s): the key is empty", line,
                 k->at[RK_KEY] + 1, k->name[RK_KEY]);
        return 0;
    }
    const char *st = v[RK_STATUS];
    bool acc = in_codes(l->acc, l->nacc, st);
    if (!acc && !in_codes(l->rej, l->nrej, st)) {
        errs_add(e, name, "line %ld, column %zu (%s): unknown status code "
                 "'%s' (accepted: %s; rejected: %s)", line,
                 k->at[RK_STATUS] + 1, k->name[RK_STATUS], st, l->acc[0],
                 l->rej[0]);
        return 0;
    }
    struct recon_row row = {
        .recno = line, .accepted = acc, .key = v[RK_KEY],
        .reason = v[RK_REASON], .reason_text = v[RK_REASON_TEXT],
        .receipt = v[RK_RECEIPT],
    };
    if (take(l, ctx, &row) != 0) {
        errs_add(e, name, "out of memory");
        return -1;
    }
    return 0;
}

int recon_delim_decode(const struct recon_layout *l, const unsigned char *data,
                       size_t len, const char *name, recon_take_fn take,
                       void *ctx, struct errs *e)
{
    const struct dl_dialect *d = &l->dl->d;
    struct cols k = { .name = { l->key, l->status, l->reason,
                                l->reason_text, l->receipt } };
    struct dl_cells c;
    dl_cells_init(&c);
    size_t e0 = e->n, off = 0;
    unsigned char lf = d->eol[d->eollen - 1];
    if (!d->cc && len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        off = 3;                     /* a UTF-8 byte-order mark */
    if (off == len) {
        errs_add(e, name, "empty file: a delimited ack file begins with its "
                 "header row (the columns %s and %s at least)", l->key,
                 l->status);
        return 0;
    }
    int rc = 0;
    for (long line = 1; off < len; line++) {
        const unsigned char *p = data + off,
                            *nl = memchr(p, lf, len - off);
        size_t n = nl ? (size_t)(nl - p) : len - off;
        off += n + (nl ? 1 : 0);
        if (n > DL_LINE_MAX) {
            errs_add(e, name, "line %ld: longer than %u bytes", line,
                     DL_LINE_MAX);
            break;
        }
        if (nl && d->eollen == 2) {
            if (!n || p[n - 1] != d->eol[0]) {
                errs_add(e, name, "line %ld: ends with LF alone; the target's "
                         "line end is CRLF", line);
                continue;
            }
            n--;
        }
        if (n == 0) {
            errs_add(e, name, "line %ld: an empty line", line);
            continue;
        }
        char msg[200];
        if (dl_line_split(d, p, n, &c, msg, sizeof msg) != 0) {
            cell_problem(e, name, line, msg);
            if (line == 1)
                break;
            continue;
        }
        if (line == 1) {
            header(&c, &k, name, e);
            if (e->n > e0)
                break;
            continue;
        }
        if ((rc = detail(l, &k, &c, line, name, take, ctx, e)) != 0)
            break;
    }
    dl_cells_free(&c);
    return rc;
}
