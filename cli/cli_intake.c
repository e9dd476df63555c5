/* cli_intake.c - the command-line intake loop.  See cli_intake.h.
 *
 * Accepted records are buffered and handed to spool_enqueue in batches of
 * in->batch, so a file of a hundred thousand submissions costs a hundred
 * fsyncs, not a hundred thousand.  Each batch commits on a second thread
 * while the next one is read and mapped (one batch in flight at most, so
 * they commit in order).  A reference is printed only after the commit
 * that made its record durable.  Before each commit the spool's
 * free space is checked against <spool min-free>, as the daemon does;
 * after a stop every record not stored is counted and said. */
#include "cli/cli_intake.h"
#include "adapters/admit.h"
#include "cli/cli.h"
#include "config/config.h"
#include "intake/intake_spool.h"
#include "mappings/jtree.h"
#include "mappings/record.h"
#include "spool/spool.h"
#include "util/errs.h"
#include "util/errs_json.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pending {
    struct intake_doc d;         /* d.raw is payload */
    char *payload;
};

/* One batch of mapped records: filled by the reading thread, committed
 * by the committing one, reported (and emptied) by the reading one. */
struct batch {
    struct pending *p;
    size_t n;
    struct spool_item *items;
    struct spool_result *res;
    struct errs e;
    int rc;                      /* spool_enqueue's */
    struct cli_intake *in;
};

struct priv {
    struct batch b[2];
    int cur;                     /* the batch being filled */
    bool inflight;               /* b[!cur] is committing on th */
    pthread_t th;
    int first_json;              /* for --json: comma placement */
    struct adapter_admit *admit; /* every target's check of a record */
};

static int batch_init(struct batch *b, size_t cap, struct cli_intake *in)
{
    memset(b, 0, sizeof *b);
    errs_init(&b->e);
    b->in = in;
    b->p = calloc(cap, sizeof *b->p);
    b->items = calloc(cap, sizeof *b->items);
    b->res = calloc(cap, sizeof *b->res);
    return b->p && b->items && b->res ? 0 : -1;
}

static void batch_free(struct batch *b)
{
    free(b->p);
    free(b->items);
    free(b->res);
    errs_free(&b->e);
}

int cli_intake_init(struct cli_intake *in)
{
    if (!in->batch)
        in->batch = CLI_INTAKE_BATCH;
    struct priv *pv = calloc(1, sizeof *pv);
    if (!pv)
        return EX_OSERR;
    if (batch_init(&pv->b[0], in->batch, in) != 0
        || batch_init(&pv->b[1], in->batch, in) != 0) {
        batch_free(&pv->b[0]);
        batch_free(&pv->b[1]);
        free(pv);
        return EX_OSERR;
    }
    if (in->cfg) {
        struct errs e;
        errs_init(&e);
        pv->admit = adapter_admit_new(in->cfg, in->svc, &e);
        if (!pv->admit) {
            cli_print_errs(stderr, &e);
            errs_free(&e);
            batch_free(&pv->b[0]);
            batch_free(&pv->b[1]);
            free(pv);
            return EX_CONFIG;
        }
        errs_free(&e);
    }
    pv->first_json = 1;
    in->priv = pv;
    in->jt = jt_parser_new();     /* without it, jansson parses them all */
    if (in->json)
        printf("{\"results\":[");
    return 0;
}

static void json_str(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p < 0x20)
            printf("\\u%04x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}

static void json_sep(struct priv *pv)
{
    if (!pv->first_json)
        putchar(',');
    pv->first_json = 0;
}

/* batch_empty - free what b's records own; b may be filled again */
static void batch_empty(struct batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->p[i].payload);
        intake_doc_clear(&b->p[i].d);
    }
    b->n = 0;
    errs_clear(&b->e);
}

/* commit_main - the committing thread: b in one transaction */
static void *commit_main(void *arg)
{
    struct batch *b = arg;
    b->rc = spool_enqueue(b->in->spool, b->items, b->n, b->res, &b->e);
    return NULL;
}

/* report - b's commit is over: count and print its outcomes, empty it */
static void report(struct cli_intake *in, struct batch *b)
{
    struct priv *pv = in->priv;
    if (b->rc != 0) {
        cli_print_errs(stderr, &b->e);
        in->failed = EX_IOERR;
        in->not_accepted += b->n;
        batch_empty(b);
        fflush(stdout);
        return;
    }
    for (size_t i = 0; i < b->n; i++) {
        const struct spool_result *res = &b->res[i];
        const struct intake_doc *d = &b->p[i].d;
        if (res->duplicate)
            in->duplicates++;
        else
            in->accepted++;
        const char *st = res->duplicate ? "duplicate" : "accepted";
        if (in->json) {
            json_sep(pv);
            printf("{\"line\":%ld,\"reference\":", d->line);
            json_str(res->ref);
            printf(",\"status\":\"%s\"", st);
            if (d->fe_ref) {
                printf(",\"frontend_reference\":");
                json_str(d->fe_ref);
            }
            putchar('}');
        } else if (!in->quiet) {
            printf("%s\t%s\tline %ld%s%s\n", res->ref, st, d->line,
                   d->fe_ref ? "\t" : "", d->fe_ref ? d->fe_ref : "");
        }
    }
    batch_empty(b);
    fflush(stdout);
}

/* settle - wait for the batch in flight, if any, and report it */
static void settle(struct cli_intake *in)
{
    struct priv *pv = in->priv;
    if (!pv->inflight)
        return;
    pthread_join(pv->th, NULL);
    pv->inflight = false;
    report(in, &pv->b[!pv->cur]);
}

/* flush - hand the batch being filled to the committing thread and go
 * on reading: mapping the next thousand records overlaps the commit
 * (and its fsync) of these.  At most one batch is in flight, so batches
 * commit in order; each is reported (references printed) only after
 * its commit, as before.  Without a thread it commits here. */
static void flush(struct cli_intake *in)
{
    struct priv *pv = in->priv;
    struct batch *b = &pv->b[pv->cur];
    settle(in);
    if (!b->n)
        return;
    if (in->failed) {
        in->not_accepted += b->n;
        batch_empty(b);
        return;
    }
    for (size_t i = 0; i < b->n; i++) {
        intake_item(&b->items[i], in->svc, in->client, &b->p[i].d, NULL);
        b->items[i].channel = in->channel;
    }
    if (in->min_free_mb && !intake_disk_ok(in->spool, in->min_free_mb)) {
        cli_msg("%s: free space below <spool min-free> (%zu MiB); stopping",
                spool_dir(in->spool), in->min_free_mb);
        in->failed = EX_IOERR;
        in->not_accepted += b->n;
        batch_empty(b);
        return;
    }
    if (pthread_create(&pv->th, NULL, commit_main, b) == 0) {
        pv->inflight = true;
        pv->cur = !pv->cur;
        return;
    }
    commit_main(b);
    report(in, b);
}

void cli_intake_add(struct cli_intake *in, long line, const char *payload,
                    size_t len, struct record *rec)
{
    struct priv *pv = in->priv;
    if (in->failed) {
        record_free(rec);
        in->not_accepted++;
        return;
    }
    struct errs e;
    errs_init(&e);
    unsigned char *enc = NULL;
    size_t encn = 0;
    if (pv->admit && adapter_admit_stored(pv->admit, rec,
                                          config_service_target(in->svc),
                                          &enc, &encn, &e) != 0) {
        record_free(rec);
        cli_intake_reject(in, line, &e);
        errs_free(&e);
        return;
    }
    struct batch *b = &pv->b[pv->cur];
    struct pending *p = &b->p[b->n];
    memset(p, 0, sizeof *p);
    p->payload = malloc(len + 1);
    if (!p->payload || intake_doc_take(&p->d, in->svc, rec, &e) != 0) {
        if (!p->payload)
            record_free(rec);
        free(enc);
        free(p->payload);
        errs_free(&e);
        cli_msg("out of memory");
        in->failed = EX_OSERR;
        in->not_accepted++;
        return;
    }
    errs_free(&e);
    p->d.encoded = enc;
    p->d.encoded_len = encn;
    memcpy(p->payload, payload, len);
    p->payload[len] = '\0';
    p->d.line = line;
    p->d.raw = p->payload;
    p->d.rawlen = len;
    b->n++;
    if (b->n == in->batch)
        flush(in);
}

void cli_intake_reject(struct cli_intake *in, long line, const struct errs *e)
{
    struct priv *pv = in->priv;
    in->rejected++;
    if (in->json) {
        json_sep(pv);
        printf("{\"line\":%ld,\"status\":\"rejected\",\"problems\":", line);
        json_t *pa = errs_json(e);
        if (!pa || json_dumpf(pa, stdout, JSON_COMPACT) != 0)
            printf("[]");      /* out of memory: the count still says it */
        json_decref(pa);
        putchar('}');
        return;
    }
    cli_progress_clear(in->progress);
    for (size_t i = 0; i < e->n; i++) {
        if (strncmp(e->v[i].where, "line ", 5) == 0)   /* already says it */
            cli_msg("%s: %s", e->v[i].where, e->v[i].msg);
        else if (e->v[i].where[0])
            cli_msg("line %ld: %s: %s", line, e->v[i].where, e->v[i].msg);
        else
            cli_msg("line %ld: %s", line, e->v[i].msg);
    }
}

int cli_intake_finish(struct cli_intake *in)
{
    struct priv *pv = in->priv;
    flush(in);
    settle(in);
    if (in->rejected) {
        struct errs e;
        errs_init(&e);
        if (spool_count_rejected_at_door(in->spool, in->svc->name,
                                         (int64_t)in->rejected, &e) != 0)
            cli_print_errs(stderr, &e);
        errs_free(&e);
    }
    cli_progress_clear(in->progress);
    if (in->json)
        printf("],\"accepted\":%zu,\"duplicates\":%zu,\"rejected\":%zu,"
               "\"not_accepted\":%zu}\n", in->accepted, in->duplicates,
               in->rejected, in->not_accepted);
    if (in->not_accepted)
        cli_msg("%zu valid record%s NOT accepted after the spool stopped: "
                "submit them again", in->not_accepted,
                in->not_accepted == 1 ? "" : "s");
    if (!in->quiet) {
        char na[48] = "";
        if (in->not_accepted)
            snprintf(na, sizeof na, ", %zu not accepted", in->not_accepted);
        cli_msg("%s: %zu accepted, %zu duplicate%s, %zu rejected%s",
                in->svc->name, in->accepted, in->duplicates,
                in->duplicates == 1 ? "" : "s", in->rejected, na);
    }
    batch_free(&pv->b[0]);
    batch_free(&pv->b[1]);
    adapter_admit_free(pv->admit);
    jt_parser_free(in->jt);
    in->jt = NULL;
    free(pv);
    in->priv = NULL;
    if (in->failed)
        return in->failed;
    return in->rejected ? EX_DATAERR : EX_OK;
}
