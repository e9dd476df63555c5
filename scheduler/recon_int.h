/* recon_int.h - what the reconcile files share and nobody else sees:
 * the compiled ack layout and the summary's item list.  reconcile.c
 * runs a reconciliation, recon_layout.c compiles the ack section,
 * recon_ack.c decodes, checks and applies ack files, recon_stream.c asks
 * stream targets (ODBC, SOAP) through the adapter's probe, and
 * recon_summary.c (a leaf all of them use) keeps the summary. */
#ifndef FERRY_SCHEDULER_RECON_INT_H
#define FERRY_SCHEDULER_RECON_INT_H
#include "scheduler/reconcile.h"
#include "mappings/fixedwidth.h"

#include <stdbool.h>
#include <stdint.h>

struct adapter;
struct target_config;

#define RECON_MAX_CODES 16

/* What each ack detail and trailer record is read for: the positions of
 * recon_layout's picks (one decode call per record hands back these). */
enum { RK_KEY = 0, RK_STATUS, RK_REASON, RK_REASON_TEXT, RK_RECEIPT, RK_N };
enum { RT_COUNT = 0, RT_ACCEPTED, RT_REJECTED, RT_N };

/* An ack record's type: the bytes its first field holds (n 0: unknown). */
struct recon_rtype {
    const struct cpy_field *f;       /* the type field, at offset 0 */
    unsigned char b[16];
    size_t n;
    char text[24];                   /* as the layout gives it */
};

enum recon_recfm {
    RECON_RECFM_AUTO = 0,            /* detect lines or FB (no recfm=) */
    RECON_RECFM_FB,                  /* records back to back */
    RECON_RECFM_LINES,               /* one record a line (LF or CRLF) */
    RECON_RECFM_V,                   /* each record after its RDW */
    RECON_RECFM_VB,                  /* RDW records in BDW blocks */
};

struct recon_delim;                  /* recon_delim.c */

struct recon_layout {
    const struct map_target *mt;     /* the target, from the mapping */
    struct recon_delim *dl;          /* a delimited ack file (recon_delim.c):
                                        fw, det and the picks unused */
    struct fw_target *fw;
    struct cob_codec *cc_own;        /* ack section's own encoding */
    const struct cob_codec *cc;
    const struct cpy_record *det, *trl;
    const char *key, *status, *reason, *reason_text, *receipt;
    const char *tcount, *tacc, *trej;
    struct fw_pick dpick;            /* RK_* fields of det */
    struct fw_pick tpick;            /* RT_* fields of trl */
    const char *pattern;
    const char *service;
    const char *target;              /* the acknowledging target: acks
                                        move its deliveries only */
    bool key_fe;                     /* key is the front-end reference */
    bool binary;                     /* a non-DISPLAY field: FB only */
    enum recon_recfm recfm;          /* the ack section's recfm= */
    struct recon_rtype dtype, ttype; /* detail-type=, trailer-type= */
    long overdue_hours;              /* ack section overdue-hours, 0 none */
    char *acc[RECON_MAX_CODES], *rej[RECON_MAX_CODES];
    size_t nacc, nrej;
    const struct map_codetable *reasons;
    char **words;                    /* "E01: words" per reasons code */
};


/* One checked detail of an ack file, as a format's decoder hands it to
 * the file's decoded list (recon_ack.c): the texts are borrowed for the
 * call. */
struct recon_row {
    long recno;                      /* record number (line) in the file */
    bool accepted;                   /* else rejected */
    const char *key, *reason, *reason_text, *receipt;   /* NULL: none */
};

/* recon_take_fn - keep row; 0, or -1 out of memory */
typedef int (*recon_take_fn)(const struct recon_layout *l, void *ctx,
                             const struct recon_row *row);

/* recon_delim_new - the delimited part of target tc's ack layout: the
 * target's dialect, and section s refused what a delimited ack has not
 * (a copybook, record types, a trailer, a recfm).  where is "file:line"
 * for problems.  NULL with every problem in e. */
struct recon_delim *recon_delim_new(const struct target_config *tc,
                                    const struct map_section *s,
                                    const char *where, struct errs *e);
void recon_delim_free(struct recon_delim *dl);

/* recon_delim_decode - a delimited ack file (data, len bytes, named
 * name) under l: its header row names l's columns, every later line is
 * one detail, checked (cells, key, status code) and handed to take with
 * ctx.  Every problem names the file, the line and the column (a file
 * with any problem is bad: the caller applies none of it).  0 (problems in e mean
 * a bad file), or -1 out of memory. */
int recon_delim_decode(const struct recon_layout *l, const unsigned char *data,
                       size_t len, const char *name, recon_take_fn take,
                       void *ctx, struct errs *e);

/* recon_item_add - one listed item; counted as dropped past
 * RECON_MAX_ITEMS */
void recon_item_add(struct recon_summary *s, const char *kind,
                    const char *ref, const char *file, long record,
                    const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* recon_file_add - keep f (moved) in s; -1 out of memory (f cleared) */
int recon_file_add(struct recon_summary *s, struct recon_file *f);

/* recon_ack_decode - decode and check the ack file data (len bytes,
 * named name) as recon_apply_file does before it touches the ledger:
 * f gets the counts, the record format and, for a mismatch of the
 * trailer's totals, status RECON_FILE_MISMATCH and the problem text; a
 * file that does not decode is RECON_FILE_BAD with every problem in e;
 * otherwise RECON_FILE_APPLIED (it would be applied).  Nothing is read
 * from or written to a ledger (tests/fuzz/fuzz_ack.c).  0, or -1 out of
 * memory.  The caller frees f->problem. */
int recon_ack_decode(const struct recon_layout *l, const unsigned char *data,
                     size_t len, const char *name, struct recon_file *f,
                     struct errs *e);

/* recon_stream_run - probe every delivered and in-doubt record of the
 * stream target tc through its adapter ad (recon_stream.c) */
int recon_stream_run(const struct ferry_config *cfg, struct spool *sp,
                     const struct target_config *tc, const struct adapter *ad,
                     const struct recon_opts *o, struct recon_summary *sum,
                     struct errs *e);

#endif
