/* report.h - management information: per service and day, what came in
 * by which channel, where every record stands (each in exactly one
 * outcome), how many needed a person, time to complete, cost per
 * transaction, failure reasons and open records by age, each figure with
 * its definition (docs/mi.md).
 *
 * report_build reads the ledger once (spool_mi_foreach: six columns, no
 * payload) and aggregates as it goes: a million records take one pass, a
 * few megabytes for the confirmation times (exact percentiles) and well
 * under a second (bench/run.d/report.sh).  report_render turns it into
 * text, CSV, JSON or one HTML page; every format prints the same figures
 * from the one measure table (report_measures), so the definitions and
 * the numbers cannot drift apart between formats.
 *
 * Days are UTC calendar days of received_at, as spool_day_counts uses.
 * Nothing here uses floating point: percentages are integer tenths, money
 * is pence. */
#ifndef FERRY_SCHEDULER_REPORT_H
#define FERRY_SCHEDULER_REPORT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spool/spool.h"

struct buf;
struct errs;
struct ferry_config;

enum report_format { REPORT_TEXT = 0, REPORT_CSV, REPORT_JSON, REPORT_HTML };
/* report_format_parse - "text", "csv", "json", "html"; 0 ok, -1 unknown */
int report_format_parse(const char *s, enum report_format *out);

/* Where a record stands now: exactly one of these, so they add up to
 * received. */
enum report_outcome {
    RO_CONFIRMED = 0,    /* the back end confirmed it: complete */
    RO_AWAITING,         /* delivered or sent: awaiting confirmation */
    RO_IN_PROGRESS,      /* received, queued, delivering, deferred, batched,
                            held, in doubt: ferry still has it */
    RO_REJECTED,         /* the back end refused it */
    RO_FAILED,           /* dead letter */
    RO_DISCARDED,        /* closed by staff with a reason */
    RO_N
};

enum { RA_LT1D = 0, RA_1_3D, RA_3_7D, RA_GT7D, RA_N };   /* open by age */

struct report_figures {
    int64_t received;              /* ledger rows received in the cell */
    int64_t channel[SPOOL_NCHANNELS];
    int64_t outcome[RO_N];
    int64_t unknown_state;         /* a state the report cannot name */
    int64_t person;                /* an operator acted on it (audit) */
    int64_t confirmed_no_person;   /* confirmed, no operator action */
    int64_t open_age[RA_N];        /* not confirmed nor discarded */
    int64_t timed;                 /* confirmed with a confirmed-at time */
    int64_t median_ms, p95_ms;     /* time to complete; -1 when none */
    int64_t cost_pence;            /* sum of channel x cost, costed only */
    int64_t costed;                /* records of channels with a cost */
    int64_t rejected_at_door;      /* intake counters (spool_day_counts) */
    int64_t duplicates;
    int64_t intake_accepted;
};

struct report_day {
    char day[11];                  /* YYYY-MM-DD */
    struct report_figures f;
};

struct report_reason {
    char *text;                    /* last_error of failed / rejected */
    int64_t n;
};

struct report_service {
    char *name;
    unsigned cost_set;             /* channels with a configured cost */
    struct report_figures period;  /* the whole period */
    struct report_day *days;       /* every day of the period, in order */
    size_t ndays;
    struct report_reason *reasons; /* most first; "(other reasons)" last */
    size_t nreasons;
};

/* Deliveries of the period's records to one target of one service (a
 * record of a service with several targets has one per target; the
 * services' figures count each record once). */
struct report_target {
    char *service, *target;
    int64_t deliveries;
    int64_t outcome[RO_N];
};

struct report {
    char from[11], to[11];
    char *service;                 /* filter, or NULL */
    int64_t generated_at;
    struct report_service *svc;    /* by name */
    size_t nsvc;
    struct report_figures total;   /* all services, whole period */
    unsigned cost_set;             /* channels costed in every service */
    bool conserved;                /* outcomes add up to received */
    int64_t conservation_diff;     /* sum of outcomes - received */
    int64_t counter_diff;          /* received - intake counter accepted */
    struct report_target *targets; /* by service, then target */
    size_t ntargets;
};

struct report_opts {
    const char *from, *to;         /* YYYY-MM-DD inclusive; NULL = open */
    const char *service;           /* NULL = all */
    const struct ferry_config *cfg;/* costs per channel; NULL = none */
    int64_t now_ms;                /* 0 = now; ages are measured from it */
    size_t top_reasons;            /* per service; 0 = 10 */
};

/* report_build - the figures; 0 and *out (free with report_free), or -1
 * with e filled (where "--from" / "--to" for a bad period). */
int report_build(struct spool *sp, const struct report_opts *o,
                 struct report **out, struct errs *e);
void report_free(struct report *r);

/* report_render - append r in format f to out; 0 ok, -1 out of memory.
 * HTML is one self-contained page: inline CSS and SVG, no script, no
 * external asset, every text escaped. */
int report_render(const struct report *r, enum report_format f,
                  struct buf *out);

/* ---- the measures: one table for every format ------------------------ */

enum report_unit {
    RU_COUNT = 0,                  /* records */
    RU_PCT,                        /* tenths of a per cent */
    RU_MS,                         /* a duration in milliseconds */
    RU_PENCE,                      /* money */
};

struct report_measure {
    const char *key;               /* stable: CSV measure, JSON member */
    const char *title;             /* for people */
    enum report_unit unit;
    const char *definition;
};

struct report_value {
    bool has;                      /* false: nothing to divide by, none */
    int64_t v;
};

/* report_measures - the table, *n entries, in the order every format
 * prints them */
const struct report_measure *report_measures(size_t *n);
/* report_values - f's value for every measure, in table order; out holds
 * the *n of report_measures. */
void report_values(const struct report_figures *f, struct report_value *out);

#endif
