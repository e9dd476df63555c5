/* recon_summary.c - the summary a reconciliation fills: its listed
 * items, its files, their names, its exit code and its one-line counts.
 * A leaf: reconcile.c, recon_ack.c and recon_stream.c all fill the same
 * summary and none of them is called back from here. */
#include "scheduler/recon_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

const char *recon_file_status_name(enum recon_file_status st)
{
    switch (st) {
    case RECON_FILE_APPLIED:  return "applied";
    case RECON_FILE_SEEN:     return "already-applied";
    case RECON_FILE_BAD:      return "bad";
    case RECON_FILE_MISMATCH: return "mismatch";
    case RECON_FILE_ERROR:    return "error";
    }
    return "?";
}

/* recon_item_add - one listed item; see recon_int.h */
void recon_item_add(struct recon_summary *s, const char *kind,
                    const char *ref, const char *file, long record,
                    const char *fmt, ...)
{
    if (s->nitems >= RECON_MAX_ITEMS) {
        s->items_dropped++;
        return;
    }
    if (!s->items) {
        s->items = calloc(RECON_MAX_ITEMS, sizeof *s->items);
        if (!s->items) {
            s->items_dropped++;
            return;
        }
    }
    struct recon_item *it = &s->items[s->nitems++];
    snprintf(it->kind, sizeof it->kind, "%s", kind);
    snprintf(it->ref, sizeof it->ref, "%s", ref ? ref : "");
    it->file = file ? strdup(file) : NULL;
    it->record = record;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&it->detail, fmt, ap) < 0)
            it->detail = NULL;
        va_end(ap);
    }
}

void recon_file_clear(struct recon_file *f)
{
    if (!f)
        return;
    free(f->name);
    free(f->archived);
    free(f->problem);
    memset(f, 0, sizeof *f);
}

/* recon_file_add - keep f (moved) in s; on failure f is cleared */
int recon_file_add(struct recon_summary *s, struct recon_file *f)
{
    struct recon_file *nv = realloc(s->f, (s->nf + 1) * sizeof *nv);
    if (!nv) {
        recon_file_clear(f);
        return -1;
    }
    s->f = nv;
    s->f[s->nf++] = *f;
    return 0;
}

void recon_summary_free(struct recon_summary *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nf; i++)
        recon_file_clear(&s->f[i]);
    free(s->f);
    for (size_t i = 0; i < s->nitems; i++) {
        free(s->items[i].file);
        free(s->items[i].detail);
    }
    free(s->items);
    free(s->target);
    memset(s, 0, sizeof *s);
}

int recon_exit_code(const struct recon_summary *s)
{
    if (s->uncheckable && !s->confirmed && !s->missing && !s->requeued)
        return EX_CONFIG;
    if (s->transport_unavailable || s->busy)
        return EX_TEMPFAIL;
    if (s->errors)
        return EX_IOERR;
    if (s->bad || s->refused || s->orphans || s->missing)
        return EX_DATAERR;
    return EX_OK;
}

void recon_counts_text(const struct recon_summary *s, char *out, size_t outsz)
{
    if (s->stream)
        snprintf(out, outsz, "confirmed=%zu missing=%zu requeued=%zu "
                 "unknown=%zu", s->confirmed, s->missing, s->requeued,
                 s->unknown);
    else
        snprintf(out, outsz, "files=%zu applied=%zu seen=%zu bad=%zu "
                 "mismatch=%zu confirmed=%zu rejected=%zu orphans=%zu "
                 "overdue=%zu not-sent=%zu batches-confirmed=%zu", s->files,
                 s->applied, s->seen, s->bad, s->mismatches, s->confirmed,
                 s->rejected, s->orphans, s->overdue, s->not_sent,
                 s->batches_confirmed);
}
