/* cli_intake.h - the command-line intake loop shared by `submit` and
 * `import`: enqueue mapped documents in batches (one durable commit per
 * batch) through the step every intake shares (intake/intake_spool.h),
 * and report each outcome by line. */
#ifndef FERRY_CLI_INTAKE_H
#define FERRY_CLI_INTAKE_H
#include <stdbool.h>
#include <stddef.h>

#include "spool/spool.h"

struct mapping;
struct record;
struct errs;
struct service_config;
struct ferry_config;
struct jt_parser;

/* records per commit unless --batch says otherwise: 5000, not 1000,
 * because the commit is the bulk intake's bottleneck (the ledger's
 * random-keyed indexes - delivery identity, search hashes - dirty fewer
 * pages per record in a larger transaction): 15% less CPU for
 * `ferry submit` of the bench's 100,000 records, a fifth of the fsyncs */
#define CLI_INTAKE_BATCH 5000

struct cli_intake {
    struct spool *spool;
    const struct ferry_config *cfg;
    const struct service_config *svc;
    const char *client;          /* "cli" or "csv" */
    enum spool_channel channel;  /* SPOOL_CH_CLI or SPOOL_CH_CSV */
    bool json;                   /* --json output */
    bool quiet;
    size_t batch;                /* records per commit (0: CLI_INTAKE_BATCH) */
    size_t min_free_mb;          /* <spool min-free>: stop below it */
    struct cli_progress *progress;   /* may be NULL; cleared before stderr lines */
    struct jt_parser *jt;        /* the fast JSON parse (jtree.h); NULL = none */
    /* counts */
    size_t accepted, duplicates, rejected;
    size_t not_accepted;         /* valid, but not stored: a spool stop */
    int failed;                  /* a spool error happened: EX_ code */
    /* pending batch (private) */
    void *priv;
};

/* cli_intake_init - ready the loop, with the checks of every target of
 * in->svc (adapters/admit.h).  0, EX_OSERR, or EX_CONFIG with the layout
 * problems printed. */
int  cli_intake_init(struct cli_intake *in);
/* cli_intake_add - a mapped record (ownership of rec taken) with its raw
 * payload bytes (copied), from source line.  Refused (and printed as
 * cli_intake_reject does) when one of the service's targets could not
 * encode it.  After a spool stop it is counted as not accepted. */
void cli_intake_add(struct cli_intake *in, long line, const char *payload,
                    size_t len, struct record *rec);
/* cli_intake_reject - print every problem of a refused document */
void cli_intake_reject(struct cli_intake *in, long line, const struct errs *e);
/* cli_intake_finish - flush, print the summary; returns the exit code */
int  cli_intake_finish(struct cli_intake *in);

#endif
