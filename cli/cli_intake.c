/* cli_intake.c - the command-line intake loop.  See cli_intake.h.
 *
 * Accepted records are buffered and handed to spool_enqueue in batches of
 * in->batch, so a file of a hundred thousand submissions costs a hundred
 * fsyncs, not a hundred thousand.  A reference is printed only after the
 * commit that made its record durable. */
#include "cli/cli_intake.h"
#include "cli/cli.h"
#include "config/config.h"
#include "mappings/mapping.h"
#include "mappings/record.h"
#include "spool/spool.h"
#include "util/errs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pending {
    long line;
    char *payload;
    size_t len;
    char *record_json;
    char *fe_ref;
    char **search;               /* map_search_values pairs */
    size_t nsearch;
};

struct priv {
    struct pending *p;
    size_t n, cap;
    int first_json;              /* for --json: comma placement */
};

int cli_intake_init(struct cli_intake *in)
{
    if (!in->batch)
        in->batch = 1000;
    struct priv *pv = calloc(1, sizeof *pv);
    if (!pv)
        return -1;
    pv->cap = in->batch;
    pv->p = calloc(pv->cap, sizeof *pv->p);
    if (!pv->p) {
        free(pv);
        return -1;
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
        fprintf(stderr, "ferry: out of memory\n");
        in->failed = EX_OSERR;
        goto out;
    }
    const char *target = in->svc->ntargets ? in->svc->targets[0] : NULL;
    for (size_t i = 0; i < pv->n; i++) {
        items[i].service = in->svc->name;
        items[i].target = target;
        items[i].client = in->client;
        items[i].fe_ref = pv->p[i].fe_ref;
        items[i].idem_key = pv->p[i].fe_ref;
        items[i].payload = pv->p[i].payload;
        items[i].payload_len = pv->p[i].len;
        items[i].record_json = pv->p[i].record_json;
        items[i].search = pv->p[i].search;
        items[i].nsearch = pv->p[i].nsearch;
    }
    if (spool_enqueue(in->spool, items, pv->n, res, &e) != 0) {
        cli_print_errs(stderr, &e);
        fprintf(stderr, "ferry: %zu records from line %ld on were NOT "
                        "accepted\n", pv->n, pv->p[0].line);
        in->failed = EX_IOERR;
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
            printf("{\"line\":%ld,\"reference\":", pv->p[i].line);
            json_str(res[i].ref);
            printf(",\"status\":\"%s\"", st);
            if (pv->p[i].fe_ref) {
                printf(",\"frontend_reference\":");
                json_str(pv->p[i].fe_ref);
            }
            putchar('}');
        } else if (!in->quiet) {
            printf("%s\t%s\tline %ld%s%s\n", res[i].ref, st, pv->p[i].line,
                   pv->p[i].fe_ref ? "\t" : "",
                   pv->p[i].fe_ref ? pv->p[i].fe_ref : "");
        }
    }
out:
    for (size_t i = 0; i < pv->n; i++) {
        free(pv->p[i].payload);
        free(pv->p[i].record_json);
        free(pv->p[i].fe_ref);
        map_search_values_free(pv->p[i].search, pv->p[i].nsearch);
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
        return;
    }
    struct pending *p = &pv->p[pv->n];
    memset(p, 0, sizeof *p);
    p->line = line;
    p->payload = malloc(len + 1);
    p->record_json = record_to_json(rec);
    const char *idf = in->svc->mapping ? in->svc->mapping->idempotency_field
                                       : NULL;
    if (idf) {
        const struct fvalue *v = record_get(rec, idf);
        if (v && v->present && v->text)
            p->fe_ref = strdup(v->text);
    }
    int sr = map_search_values(in->svc->mapping, rec, &p->search,
                               &p->nsearch);
    record_free(rec);
    if (!p->payload || !p->record_json || sr != 0) {
        free(p->payload);
        free(p->record_json);
        free(p->fe_ref);
        map_search_values_free(p->search, p->nsearch);
        fprintf(stderr, "ferry: out of memory\n");
        in->failed = EX_OSERR;
        return;
    }
    memcpy(p->payload, payload, len);
    p->payload[len] = '\0';
    p->len = len;
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
        printf("{\"line\":%ld,\"status\":\"rejected\",\"problems\":[", line);
        for (size_t i = 0; i < e->n; i++) {
            if (i)
                putchar(',');
            printf("{\"path\":");
            json_str(e->v[i].where);
            printf(",\"reason\":");
            json_str(e->v[i].msg);
            if (e->v[i].plain) {
                printf(",\"message\":");
                json_str(e->v[i].plain);
            }
            putchar('}');
        }
        printf("]}");
        return;
    }
    for (size_t i = 0; i < e->n; i++) {
        if (strncmp(e->v[i].where, "line ", 5) == 0)   /* already says it */
            fprintf(stderr, "%s: %s\n", e->v[i].where, e->v[i].msg);
        else if (e->v[i].where[0])
            fprintf(stderr, "line %ld: %s: %s\n", line, e->v[i].where,
                    e->v[i].msg);
        else
            fprintf(stderr, "line %ld: %s\n", line, e->v[i].msg);
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
    if (in->json)
        printf("],\"accepted\":%zu,\"duplicates\":%zu,\"rejected\":%zu}\n",
               in->accepted, in->duplicates, in->rejected);
    if (!in->quiet)
        fprintf(stderr, "%s: %zu accepted, %zu duplicate%s, %zu rejected\n",
                in->svc->name, in->accepted, in->duplicates,
                in->duplicates == 1 ? "" : "s", in->rejected);
    free(pv->p);
    free(pv);
    in->priv = NULL;
    if (in->failed)
        return in->failed;
    return in->rejected ? EX_DATAERR : EX_OK;
}
