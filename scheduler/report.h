/* report.h - `ferry report`: per service and day, what came in and where
 * every record stands, with the conservation check and the management
 * information a digital service publishes.
 *
 * report_build streams the ledger once (spool_foreach, no payloads) and
 * aggregates as it goes, so a million records take one pass and a few
 * megabytes (the confirmation times of the period, for exact percentiles).
 * Every figure is defined in docs/reconcile.md ("Reports").
 *
 * Days are UTC calendar days of received_at, as spool_day_counts uses. */
#ifndef FERRY_SCHEDULER_REPORT_H
#define FERRY_SCHEDULER_REPORT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct errs;
struct spool;

enum report_format { REPORT_TEXT = 0, REPORT_CSV, REPORT_JSON, REPORT_HTML };
/* report_format_parse - "text", "csv", "json", "html"; 0 ok, -1 unknown */
int report_format_parse(const char *s, enum report_format *out);

/* Where a record stands now: exactly one of these. */
enum report_state {
    RS_IN_PROGRESS = 0,  /* received, queued, delivering, deferred, batched,
                            held, in doubt: ferry still has it */
    RS_DELIVERED,        /* delivered or sent: with the back end, awaiting
                            confirmation */
    RS_CONFIRMED,
    RS_REJECTED,         /* rejected by the back end */
    RS_FAILED,           /* dead letter */
    RS_DISCARDED,
    RS_NSTATES
};
const char *report_state_name(enum report_state s);

enum { RA_LT1D = 0, RA_1_3D, RA_3_7D, RA_GT7D, RA_N };   /* open by age */

struct report_figures {
    int64_t received;              /* ledger rows received in the period */
    int64_t rejected_at_door;      /* intake counters (spool_day_counts) */
    int64_t duplicates;
    int64_t intake_accepted;       /* intake counter of accepted records */
    int64_t state[RS_NSTATES];
    int64_t unknown_state;         /* a state the report does not know */
    int64_t open;                  /* received - confirmed - discarded */
    int64_t open_age[RA_N];
    int64_t untouched;             /* confirmed with no audit entry */
    int64_t confirm_n;             /* confirmations timed */
    int64_t confirm_median_ms;     /* nearest-rank; -1 when none */
    int64_t confirm_p95_ms;
};

struct report_day {
    char *service;
    char day[11];
    struct report_figures f;
};

struct report_reason {
    char *text;                    /* last_error of failed / rejected */
    int64_t n;
};

struct report_batch {
    int64_t id;
    char *target, *file_name, *totals, *state;
    char business_date[11];
    int seq;
    int64_t record_count, sent_at;
    int64_t confirmed, rejected, other;   /* its records now */
};

struct report {
    char from[11], to[11];         /* "" = open */
    char *service;                 /* filter, or NULL */
    int64_t generated_at;
    struct report_day *days;       /* by service then day */
    size_t ndays;
    struct report_day *svc;        /* per service (day = "") */
    size_t nsvc;
    struct report_figures total;
    struct report_reason *reasons; /* top failure reasons, most first */
    size_t nreasons;
    struct report_batch *batches;  /* newest first */
    size_t nbatches;
    bool conserved;                /* every received record in one state */
    int64_t conservation_diff;     /* sum of states - received */
    int64_t counter_diff;          /* received - intake counter accepted */
};

struct report_opts {
    const char *from, *to;         /* YYYY-MM-DD inclusive; NULL = open */
    const char *service;           /* NULL = all */
    int64_t now_ms;                /* 0 = now; ages are measured from it */
    size_t top_reasons;            /* 0 = 10 */
};

/* report_build - the figures; 0 and *out (free with report_free), or -1
 * with e filled. */
int report_build(struct spool *sp, const struct report_opts *o,
                 struct report **out, struct errs *e);
void report_free(struct report *r);

/* report_render - append r in format f to out; 0 ok, -1 out of memory.
 * HTML is one self-contained page: inline CSS and SVG, no script, no
 * external asset, every text escaped. */
int report_render(const struct report *r, enum report_format f,
                  struct buf *out);

#endif
