/* reconcile.h - acknowledgements and target queries against the ledger:
 * `ferry reconcile TARGET [FILE...]` and the "reconcile" job.
 *
 * Fixed-width targets: ack files are fetched from the transport's ack
 * folder (names matching the ack section's name-pattern) into the spool's
 * inbound/ folder, or taken from the files given.  Each file is decoded
 * and validated WHOLE before anything is applied (a bad file changes
 * nothing), its trailer's counts are checked, and then every record is
 * applied in one spool_ack_apply transaction that also records the file
 * (name + SHA-256), so a file is never applied twice.  Applied files move
 * to archive/.  Afterwards records still "sent" long after their batch
 * was sent are reported as overdue, and batches with nothing left
 * outstanding are marked confirmed.
 *
 * Stream targets: the adapter's probe (ODBC reconcile-query, SOAP
 * status-operation) is asked about delivered and in-doubt records.
 *
 * docs/reconcile.md describes the ack section's attributes and every
 * figure of the summary. */
#ifndef FERRY_SCHEDULER_RECONCILE_H
#define FERRY_SCHEDULER_RECONCILE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct errs;
struct ferry_config;
struct spool;
struct map_target;
struct mapping;

#define RECON_DEFAULT_OVERDUE_HOURS 24
#define RECON_MAX_ITEMS 1000         /* listed items kept in a summary */

struct recon_opts {
    const char *const *files;        /* given ack files; n = 0: fetch */
    size_t nfiles;
    bool accept_mismatch;            /* apply despite a totals mismatch */
    const char *reason;              /* required with accept_mismatch */
    const char *actor;               /* audit actor; NULL = "reconcile" */
    long overdue_hours;              /* 0 = target option overdue-hours, else 24 */
    int64_t now_ms;                  /* 0 = now */
};

enum recon_file_status {
    RECON_FILE_APPLIED = 0,
    RECON_FILE_SEEN,                 /* already applied: skipped */
    RECON_FILE_BAD,                  /* undecodable: nothing changed */
    RECON_FILE_MISMATCH,             /* totals differ: not applied */
    RECON_FILE_ERROR,                /* fetch / read / ledger failure */
};
const char *recon_file_status_name(enum recon_file_status st);

/* One ack file and what happened to it. */
struct recon_file {
    char *name;
    char sha256[65];
    enum recon_file_status status;
    bool fb;                         /* RECFM=FB (else one record a line) */
    size_t details;                  /* detail records in the file */
    size_t accepted, rejected;       /* details by status */
    size_t confirmed, rejected_applied, orphans, not_sent, already;
    int64_t trailer_count, trailer_accepted, trailer_rejected; /* -1 none */
    bool mismatch;                   /* trailer disagrees with the details */
    bool mismatch_accepted;          /* applied with --accept-mismatch */
    char *archived;                  /* path in archive/, or NULL */
    char *problem;                   /* first problem (bad, error), or NULL */
};

/* One thing worth a line in the report: an orphan, an overdue or
 * missing record, a rejection, a requeue. */
struct recon_item {
    char kind[16];                   /* orphan overdue missing rejected
                                        not-sent requeued */
    char ref[64];                    /* ferry reference or the ack's key */
    char *file;                      /* ack file, or NULL */
    long record;                     /* record number in the file, or 0 */
    char *detail;                    /* reason words, batch, age... */
};

struct recon_summary {
    char *target;
    bool stream;                     /* stream target (probe) */
    size_t files, applied, seen, bad, errors;
    size_t confirmed, rejected, orphans, overdue, not_sent, already;
    size_t mismatches;               /* files with a totals mismatch */
    size_t refused;                  /* ... of them not applied */
    size_t missing, requeued, unknown;   /* stream: probe said no / can't tell */
    size_t batches_confirmed;
    bool transport_unavailable;
    char transport_msg[1024];
    bool busy;                       /* another run holds the target's
                                        reconcile lock: nothing was done */
    char busy_msg[400];
    bool uncheckable;                /* stream: the target has no way to be
                                        asked (configuration), said once */
    char uncheckable_msg[1200];
    struct recon_file *f;
    size_t nf;
    struct recon_item *items;
    size_t nitems, items_dropped;
};

/* recon_run - reconcile target now, under the target's reconcile lock
 * (one run per target across processes and nodes; held elsewhere: 0 with
 * out->busy and out->busy_msg, nothing done).  0 with *out filled (whatever the
 * files held: bad files, mismatches and orphans are in the summary, not
 * errors), -1 with e filled when it could not run at all (unknown target,
 * no ack layout, ledger failure).  Free with recon_summary_free. */
int recon_run(const struct ferry_config *cfg, struct spool *sp,
              const char *target, const struct recon_opts *o,
              struct recon_summary *out, struct errs *e);
void recon_summary_free(struct recon_summary *s);

/* recon_exit_code - 0 clean, 65 (EX_DATAERR) orphans / mismatch / bad
 * file / missing, 75 (EX_TEMPFAIL) transport unavailable or another run
 * holds the target's reconcile lock (busy), 74 (EX_IOERR)
 * a file could not be read or applied, 78 (EX_CONFIG) a stream target
 * that has no way to be checked (nothing was asked), or a transport that
 * refuses the host key or the login (acknowledgements not fetched). */
int recon_exit_code(const struct recon_summary *s);
/* recon_counts_text - "files=2 applied=1 confirmed=8 rejected=2 ..." for
 * job runs and logs. */
void recon_counts_text(const struct recon_summary *s, char *out, size_t outsz);

/* ---- the pieces, for tests and benchmarks ----------------------------- */

struct recon_layout;
struct target_config;

/* recon_layout_new - compile the ack section of mt (a fixed-width target
 * of service's mapping, loaded from mapping_file).  NULL with every
 * problem in e. */
struct recon_layout *recon_layout_new(const struct map_target *mt,
                                      const char *mapping_file,
                                      const char *service, struct errs *e);
/* recon_layout_for - the ack layout of target tc as service's mapping
 * target mt describes it: a delimited target's ack file is delimited
 * too (header row, the target's dialect: recon_delim.c), any other
 * batch target's is laid out by a copybook (recon_layout_new).  NULL
 * with every problem in e. */
struct recon_layout *recon_layout_for(const struct target_config *tc,
                                      const struct map_target *mt,
                                      const char *mapping_file,
                                      const char *service, struct errs *e);
void recon_layout_free(struct recon_layout *l);
/* recon_layout_pattern - the name pattern ack files are listed by */
const char *recon_layout_pattern(const struct recon_layout *l);

/* recon_apply_file - decode, check and apply one ack file at path under
 * the name name.  Fills f (caller frees with recon_file_clear) and adds
 * items and counts to sum.  0 when the file was handled (applied, seen,
 * bad or mismatched: see f->status), -1 on a ledger failure. */
int recon_apply_file(struct spool *sp, const struct recon_layout *l,
                     const char *path, const char *name,
                     const struct recon_opts *o, struct recon_file *f,
                     struct recon_summary *sum, struct errs *e);
void recon_file_clear(struct recon_file *f);

/* recon_overdue - records of target still "sent" more than hours after
 * their batch was sent (items added to sum); batches with nothing left
 * outstanding are marked confirmed. */
int recon_overdue(struct spool *sp, const char *target, long hours,
                  int64_t now_ms, struct recon_summary *sum, struct errs *e);

#endif
