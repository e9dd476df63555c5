/* soap_drive.c - drive the SOAP adapter against a live server, for
 * tests/integration/30_soap.sh and bench/run.d/soap.sh.
 *
 * Builds one adapter instance by direct struct setup (target options and
 * a claims mapping as a ferry.xml / mapping file would give them), delivers
 * the references named on the command line in ONE deliver() call, and
 * prints a line per item:
 *     REF OUTCOME receipt="..." msg="..."
 *
 * usage: soap_drive [options] REF[:AMOUNT] ...
 *   --endpoint URL  --version 1.1|1.2  --timeout T  --connect-timeout T
 *   --concurrency N --user U --password-file F --password-type text|digest
 *   --ca-file F --cert-file F --key-file F --max-response SIZE
 *   --idempotency-header H  --faults (busy->retry, duplicate->fail)
 *   --probe (ask ClaimStatus for each REF instead of delivering)
 *   --count N --prefix P   (N generated refs P000001..; with --quiet prints
 *                           "deliveries N seconds S rate R ok K")
 *   --print-envelope       (print the first item's envelope and stop)
 *   --rounds R             (deliver the N refs R times: new refs each round)
 * Exit: 0 when it ran (outcomes are the caller's business), 2 on usage or
 * init problems. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adapters/soap.h"
#include "mappings/mapping.h"
#include "mappings/record.h"
#include "util/errs.h"

#define MAXKV 32

struct kvs {
    struct kv v[MAXKV];
    size_t n;
};

static void put(struct kvs *k, const char *key, const char *value)
{
    if (k->n < MAXKV) {
        k->v[k->n].key = (char *)key;
        k->v[k->n].value = (char *)value;
        k->n++;
    }
}

/* make_record - the claim for ref: amount, date, claimant, two items */
static struct record *make_record(const char *amount)
{
    struct record *r = record_new();
    if (!r)
        return NULL;
    struct record_field *f = record_add(r, "amount");
    int64_t scaled;
    if (!f || record_dec_parse(amount, 2, &scaled) != 0 ||
        fvalue_set_decimal(&f->v, scaled, 2) != 0)
        goto fail;
    int64_t days;
    f = record_add(r, "claim_date");
    if (!f || record_date_parse("2026-11-27", &days) != 0 ||
        fvalue_set_date(&f->v, days) != 0)
        goto fail;
    f = record_add(r, "name");
    if (!f || fvalue_set_text(&f->v, FT_STRING, "O'Brien & Sons <Ltd>") != 0)
        goto fail;
    f = record_add(r, "items");
    if (!f)
        goto fail;
    f->v.type = FT_LIST;
    f->v.present = true;
    f->v.items = calloc(2, sizeof *f->v.items);
    if (!f->v.items)
        goto fail;
    for (int i = 0; i < 2; i++) {
        struct record *it = record_new();
        if (!it)
            goto fail;
        f->v.items[f->v.nitems++] = it;
        struct record_field *g = record_add(it, "text");
        if (!g || fvalue_set_text(&g->v, FT_STRING, i ? "receipt" : "form")
                      != 0)
            goto fail;
    }
    return r;
fail:
    record_free(r);
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
    fprintf(stderr, "usage: soap_drive --endpoint URL [options] "
            "REF[:AMOUNT] ...\n");
    exit(2);
}

int main(int argc, char **argv)
{
    struct kvs t = { .n = 0 }, m = { .n = 0 }, fo1 = { .n = 0 };
    bool faults = false, probe = false, quiet = false, print_env = false;
    long count = 0, rounds = 1;
    const char *prefix = "BENCH";
    int i;

    put(&m, "operation", "SubmitClaim");
    put(&m, "namespace", "urn:ferry:test:claims");
    put(&m, "prefix", "c");
    put(&m, "action", "urn:ferry:test:claims/SubmitClaim");
    put(&m, "ns-r", "urn:ferry:test:claims");
    put(&m, "receipt-xpath", "/soap:Envelope/soap:Body/"
                             "r:SubmitClaimResponse/r:Receipt");
    put(&m, "status-operation", "ClaimStatus");
    put(&m, "status-action", "urn:ferry:test:claims/ClaimStatus");
    put(&m, "status-xpath", "//r:ClaimStatusResponse/r:Status");
    put(&m, "status-found-value", "FOUND");
    put(&m, "status-receipt-xpath", "//r:ClaimStatusResponse/r:Receipt");
    for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        const char *o = argv[i] + 2;
        if (strcmp(o, "faults") == 0) { faults = true; continue; }
        if (strcmp(o, "probe") == 0) { probe = true; continue; }
        if (strcmp(o, "quiet") == 0) { quiet = true; continue; }
        if (strcmp(o, "print-envelope") == 0) { print_env = true; continue; }
        if (i + 1 >= argc)
            usage();
        const char *v = argv[++i];
        if (strcmp(o, "user") == 0)
            put(&t, "username", v);
        else if (strcmp(o, "count") == 0)
            count = strtol(v, NULL, 10);
        else if (strcmp(o, "rounds") == 0)
            rounds = strtol(v, NULL, 10);
        else if (strcmp(o, "prefix") == 0)
            prefix = v;
        else
            put(&t, o, v);
    }
    if (count <= 0 && i >= argc)
        usage();
    put(&fo1, "string", "busy");
    struct map_assign fa[2];
    memset(fa, 0, sizeof fa);
    fa[0].to = (char *)"retry";
    fa[0].opts.v = fo1.v;
    fa[0].opts.n = fo1.n;
    /* "duplicate" Server faults are permanent for this service */
    struct kv dup[] = { { (char *)"string", (char *)"duplicate", 0 } };
    fa[1].to = (char *)"fail";
    fa[1].opts.v = dup;
    fa[1].opts.n = 1;
    struct map_assign ra[5];
    memset(ra, 0, sizeof ra);
    ra[0].to = (char *)"Reference"; ra[0].from = (char *)"$reference";
    ra[1].to = (char *)"Amount"; ra[1].from = (char *)"amount";
    ra[2].to = (char *)"ClaimDate"; ra[2].from = (char *)"claim_date";
    ra[3].to = (char *)"Claimant/Name"; ra[3].from = (char *)"name";
    ra[4].to = (char *)"Item"; ra[4].from = (char *)"items";
    struct map_section secs[2];
    memset(secs, 0, sizeof secs);
    secs[0].name = (char *)"record";
    secs[0].a = ra;
    secs[0].na = 5;
    secs[1].name = (char *)"faults";
    secs[1].a = fa;
    secs[1].na = 2;
    struct map_target mt;
    memset(&mt, 0, sizeof mt);
    mt.name = (char *)"claims-ws";
    mt.opts.v = m.v;
    mt.opts.n = m.n;
    mt.sec = secs;
    mt.nsec = faults ? 2 : 1;
    struct kvlist topts = { t.v, t.n };
    struct adapter_env env = { .opts = &topts, .map = &mt, .base_dir = ".",
                               .service = "claims" };
    struct errs e;
    errs_init(&e);
    void *ctx = NULL;
    if (adapter_soap.init(&ctx, &env, &e) != 0) {
        for (size_t k = 0; k < e.n; k++)
            fprintf(stderr, "soap_drive: %s: %s\n", e.v[k].where,
                    e.v[k].msg);
        errs_free(&e);
        return 2;
    }
    errs_free(&e);

    size_t n = count > 0 ? (size_t)count : (size_t)(argc - i);
    struct delivery_item *items = calloc(n, sizeof *items);
    char **refs = calloc(n, sizeof *refs);
    struct record **recs = calloc(n, sizeof *recs);
    int rc = 0;
    if (!items || !refs || !recs) {
        rc = 2;
        goto done;
    }
    double total = 0;
    size_t ok = 0, delivered = 0;
    for (long round = 0; round < rounds; round++) {
        for (size_t k = 0; k < n; k++) {
            char buf[128];
            const char *amount = "12.50";
            free(refs[k]);
            record_free(recs[k]);
            if (count > 0) {
                snprintf(buf, sizeof buf, "%s%03ld%06zu", prefix, round, k + 1);
                refs[k] = strdup(buf);
            } else {
                refs[k] = strdup(argv[i + (int)k]);
                char *colon = refs[k] ? strchr(refs[k], ':') : NULL;
                if (colon) {
                    *colon = '\0';
                    amount = colon + 1;
                }
            }
            recs[k] = refs[k] ? make_record(amount) : NULL;
            if (!refs[k] || !recs[k]) {
                rc = 2;
                goto done;
            }
            memset(&items[k], 0, sizeof items[k]);
            items[k].ref = refs[k];
            items[k].service = "claims";
            items[k].attempt = 1;
            items[k].rec = recs[k];
        }
        if (print_env) {
            /* the envelope deliver() sends for the first item, for a
             * baseline client (wrk) to send the very same bytes */
            struct soap_call call = {
                .version = strcmp(kv_get(&topts, "version") ?
                                  kv_get(&topts, "version") : "1.1", "1.2")
                               == 0 ? SOAP_12 : SOAP_11,
                .ns = "urn:ferry:test:claims", .prefix = "c",
                .operation = "SubmitClaim", .qualified = true,
                .sec = &secs[0], .ref = items[0].ref, .service = "claims",
                .attempt = 1,
            };
            xmlChar *xml = NULL;
            int len = 0;
            errs_init(&e);
            if (soap_envelope_build(&call, items[0].rec, &xml, &len, &e) != 0)
                rc = 2;
            else
                fwrite(xml, 1, (size_t)len, stdout);
            xmlFree(xml);
            errs_free(&e);
            goto done;
        }
        double t0 = now_s();
        if (probe)
            for (size_t k = 0; k < n; k++)
                adapter_soap.probe(ctx, &items[k]);
        else
            adapter_soap.deliver(ctx, items, n);
        total += now_s() - t0;
        for (size_t k = 0; k < n; k++) {
            delivered++;
            if (items[k].res.outcome == ADAPTER_OK)
                ok++;
            if (!quiet)
                printf("%s %s receipt=\"%s\" msg=\"%s\"\n", items[k].ref,
                       adapter_outcome_name(items[k].res.outcome),
                       items[k].res.receipt, items[k].res.msg);
        }
    }
    if (quiet)
        printf("deliveries %zu seconds %.3f rate %.0f ok %zu\n", delivered,
               total, total > 0 ? (double)delivered / total : 0.0, ok);
done:
    for (size_t k = 0; refs && recs && k < n; k++) {
        free(refs[k]);
        record_free(recs[k]);
    }
    free(refs);
    free(recs);
    free(items);
    adapter_soap.close(ctx);
    return rc;
}
