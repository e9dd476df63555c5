/* batch.h - the night batch: gather a fixed-width target's queued records
 * into one file laid out by its copybook, check it, and hand it over.
 *
 * One run of batch_run, for one target:
 *   1. takes the target's batch lock ("batch-<target>" in the spool's
 *      locks/ folder); busy -> BATCH_BUSY with the holder's PID;
 *   2. finishes any unfinished batch first (built or written after a
 *      crash): the same records, the same bytes, the same name, sent once;
 *   3. only then binds the queued records to a new batch (in the ledger,
 *      in received order, before any byte is written), writes header,
 *      details and trailer under a temporary name in outbound/<target>/,
 *      fsyncs, renames, fsyncs the folder, records SHA-256, count and
 *      hash totals in the ledger, reads the file back with the decoders
 *      and checks count and totals, and hands it to the target's
 *      transport.  Records that cannot be encoded go to the dead letter
 *      state, each with its reason, and are left out of the file.
 * Records are streamed from the ledger: a batch is never held in memory.
 *
 * Outcomes and exit codes (batch_exit_code) are listed in docs/batch.md. */
#ifndef FERRY_SCHEDULER_BATCH_H
#define FERRY_SCHEDULER_BATCH_H
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct errs;
struct ferry_config;
struct spool;

enum batch_outcome {
    BATCH_DONE = 0,      /* sent (or nothing to do)              0 */
    BATCH_DATA,          /* sent; some records dead-lettered     65 */
    BATCH_TEMPFAIL,      /* transport said RETRY: try later      75 */
    BATCH_BUSY,          /* another run holds the lock           75 */
    BATCH_CONFIG,        /* configuration problem                78 */
    BATCH_REFUSED,       /* transport said FAIL (a different file
                            under the name, a missing folder)   78 */
    BATCH_STOPPED,       /* the target stopped: host key or login
                            refused (transport STOP); records
                            wait, none failed                   78 */
    BATCH_VERIFY,        /* read-back disagrees with the ledger:
                            nothing sent                         70 */
    BATCH_ERROR,         /* ledger or local I/O failure          74 */
};

/* Progress of a run, for the CLI's bar.  phase: "build", "verify",
 * "send"; total is 0 when unknown. */
typedef void (*batch_progress_fn)(void *ctx, const char *phase,
                                  int64_t done, int64_t total);

struct batch_opts {
    const char *business_date;   /* YYYY-MM-DD; NULL = today (tz) */
    const char *tz;              /* zone for "today"; NULL = Europe/London */
    bool dry_run;                /* build in scratch_dir; change nothing */
    const char *scratch_dir;     /* dry run: parent of the scratch folder;
                                    NULL = $TMPDIR or /tmp */
    int64_t resend_id;           /* > 0: send this batch again on purpose */
    const char *reason;          /* resend: required, audited */
    const char *actor;           /* resend: who; audited */
    size_t max_records;          /* records per new batch; 0 = all */
    batch_progress_fn progress;  /* may be NULL */
    void *progress_ctx;
};

/* What happened to one file in a run. */
struct batch_file {
    int64_t batch_id;
    char business_date[11];
    int seq;
    char file_name[256];
    char local_path[PATH_MAX];   /* outbound/archive copy, or scratch */
    int64_t records;             /* detail records in the file */
    int64_t failed;              /* dead-lettered while building it */
    uint64_t bytes;
    char totals[512];            /* "CLM-AMOUNT=1234.50 CLM-ACCOUNT-NO=..." */
    char sha256[65];
    bool finished_earlier;       /* a crashed run's batch, finished now */
    bool resent;                 /* --resend */
    bool sent;                   /* handed over in this run */
    bool already_present;        /* ... by finding the identical file
                                    already there: nothing uploaded */
    char sent_to[512];           /* "local /srv/drop", "sftp user@host:22/in" */
};

#define BATCH_MAX_FILES 4

struct batch_summary {
    enum batch_outcome outcome;
    pid_t holder;                /* BATCH_BUSY: PID holding the lock */
    bool dry_run;
    bool nothing;                /* no queued records, no file written */
    struct batch_file files[BATCH_MAX_FILES];
    size_t nfiles;
    int64_t elapsed_ms;
    char message[1024];          /* why, when not BATCH_DONE */
};

/* batch_run - run the night batch for target (see above).  Returns 0 with
 * sum filled (sum->outcome says how it went, including busy, transport
 * and data problems), or -1 with e filled when the run could not even be
 * attempted (then sum->outcome is also set, usually BATCH_CONFIG or
 * BATCH_ERROR, and sum->message says why). */
int batch_run(const struct ferry_config *cfg, struct spool *sp,
              const char *target, const struct batch_opts *o,
              struct batch_summary *sum, struct errs *e);

/* batch_outcome_name - "done", "data", "tempfail", "busy", "config",
 * "refused", "stopped", "verify", "error" */
const char *batch_outcome_name(enum batch_outcome o);
/* batch_exit_code - the sysexits.h code documented in docs/batch.md */
int batch_exit_code(enum batch_outcome o);

/* batch_file_name - expand a file-name pattern: {yyyymmdd} {ccyymmdd}
 * {yymmdd} {seq} {seq:N} (zero-padded to N digits; a sequence wider
 * than N is an error, never wrapped) {target} {gen} (the batch's
 * generation gen as a GDG-style G0001V00; past G9999V00 an error, never
 * wrapped).  NULL pattern = "{target}.D{yymmdd}.S{seq:3}".  The result
 * must be a plain file name ([A-Za-z0-9._-], not starting with '.').
 * 0 ok, -1 with why filled. */
int batch_file_name(const char *pattern, const char *business_date,
                    int seq, int64_t gen, const char *target, char *out,
                    size_t outsz, char *why, size_t whysz);

/* batch_sum_add - exact running total: *acc += v (both at scale) with
 * overflow check; 0 ok, -1 overflow. */
int batch_sum_add(int64_t *acc, int64_t v);

#endif
