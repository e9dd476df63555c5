/* cli_intake.c - the command-line intake loop.  See cli_intake.h.
 *
 * Accepted records are buffered and handed to spool_enqueue in batches of
 * in->batch, so a file of a hundred thousand submissions costs a hundred
 * fsyncs, not a hundred thousand.  A reference is printed only after the
 * commit that made its record durable.  Before each commit the spool's
 * free space is checked against <spool min-free>, as the daemon does;
 * after a stop every record not stored is counted and said. */
#include "cli/cli_intake.h"
#include "adapters/admit.h"
#include "cli/cli.h"
#include "config/config.h"
#include "intake/intake_spool.h"
#include "mappings/record.h"
#include "spool/spool.h"
#include "util/errs.h"
#include "util/errs_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pending {
    struct intake_doc d;         /* d.raw is payload */
    char *payload;
};

struct priv {
    struct pending *p;
    size_t n, cap;
    int first_json;              /* for --json: comma placement */
    struct adapter_admit *admit; /* every target's check of a record */
};

int cli_intake_init(struct cli_intake *in)
{
    if (!in->batch)
        in->batch = 1000;
    struct priv *pv = calloc(1, sizeof *pv);
    if (!pv)
        return EX_OSERR;
    pv->cap = in->batch;
    pv->p = calloc(pv->cap, sizeof *pv->p);
    if (!pv->p) {
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
            free(pv->p);
            free(pv);
            return EX_CONFIG;
        }
        errs_free(&e);
    }
    pv->first_json = 1;
    in->priv = pv;
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

/* flush - enqueue the pending batch in one transaction, print outcomes */
static void flush(struct cli_intake *in)
{
    struct priv *pv = in->priv;
    if (!pv->n)
        return;
    struct spool_item *items = calloc(pv->n, sizeof *items);
    struct spool_result *res = calloc(pv->n, sizeof *res);
    struct errs e;
    errs_init(&e);
    if (!items || !res) {
        cli_msg("out of memory");
        in->failed = EX_OSERR;
        in->not_accepted += pv->n;
        goto out;
    }
    for (size_t i = 0; i < pv->n; i++) {
        intake_item(&items[i], in->svc, in->client, &pv->p[i].d, NULL);
        items[i].channel = in->channel;
    }
    if (in->min_free_mb && !intake_disk_ok(in->spool, in->min_free_mb)) {
        cli_msg("%s: free space below <spool min-free> (%zu MiB); stopping",
                spool_dir(in->spool), in->min_free_mb);
        in->failed = EX_IOERR;
        in->not_accepted += pv->n;
        goto out;
    }
    if (spool_enqueue(in->spool, items, pv->n, res, &e) != 0) {
        cli_print_errs(stderr, &e);
        in->failed = EX_IOERR;
        in->not_accepted += pv->n;
        goto out;
    }
    for (size_t i = 0; i < pv->n; i++) {
        if (res[i].duplicate)
            in->duplicates++;
        else
            in->accepted++;
        const char *st = res[i].duplicate ? "duplicate" : "accepted";
        if (in->json) {
            json_sep(pv);
            printf("{\"line\":%ld,\"reference\":", pv->p[i].d.line);
            json_str(res[i].ref);
            printf(",\"status\":\"%s\"", st);
            if (pv->p[i].d.fe_ref) {
                printf(",\"frontend_reference\":");
                json_str(pv->p[i].d.fe_ref);
            }
            putchar('}');
        } else if (!in->quiet) {
            printf("%s\t%s\tline %ld%s%s\n", res[i].ref, st, pv->p[i].d.line,
                   pv->p[i].d.fe_ref ? "\t" : "",
                   pv->p[i].d.fe_ref ? pv->p[i].d.fe_ref : "");
        }
    }
out:
    for (size_t i = 0; i < pv->n; i++) {
        free(pv->p[i].payload);
        intake_doc_clear(&pv->p[i].d);
    }
    pv->n = 0;
    free(items);
    free(res);
    errs_free(&e);
    fflush(stdout);
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
    if (pv->admit && adapter_admit_check(pv->admit, rec, &e) != 0) {
        record_free(rec);
        cli_intake_reject(in, line, &e);
        errs_free(&e);
        return;
    }
    struct pending *p = &pv->p[pv->n];
    memset(p, 0, sizeof *p);
    p->payload = malloc(len + 1);
    if (!p->payload || intake_doc_take(&p->d, in->svc, rec, &e) != 0) {
        if (!p->payload)
            record_free(rec);
        free(p->payload);
        errs_free(&e);
        cli_msg("out of memory");
        in->failed = EX_OSERR;
        in->not_accepted++;
        return;
    }
    errs_free(&e);
    memcpy(p->payload, payload, len);
    p->payload[len] = '\0';
    p->d.line = line;
    p->d.raw = p->payload;
    p->d.rawlen = len;
    pv->n++;
    if (pv->n == pv->cap)
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
    free(pv->p);
    adapter_admit_free(pv->admit);
    free(pv);
    in->priv = NULL;
    if (in->failed)
        return in->failed;
    return in->rejected ? EX_DATAERR : EX_OK;
}
