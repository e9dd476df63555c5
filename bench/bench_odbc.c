/* bench_odbc.c - rows/s through the ODBC adapter, end to end: typed
 * records in, adapter conversion, array-bound batches of 1000 in
 * transactions, committed rows out.
 *
 *   FERRY_ODBC_CONN=... bench_odbc [ROWS] [CSV]
 *
 * Needs a database with table bench_claims (see bench/run.d/odbc.sh,
 * which starts PostgreSQL and runs this).  Without FERRY_ODBC_CONN it
 * says so and exits 0 (bench/run.sh runs every bench_* binary bare).
 * With CSV, the same rows are also written there for the psql \copy
 * baseline.  Prints "name value unit" lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adapters/adapter.h"
#include "mappings/mapping.h"
#include "mappings/record.h"
#include "util/errs.h"

/* through the registry: nothing but adapters/registry.c names an adapter */
#define adapter_odbc (*adapter_find("odbc"))

#define BATCH 1000

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct record *make_record(long i, char *ref, size_t refsz)
{
    struct record *r = record_new();
    char b[64];
    snprintf(ref, refsz, "F%09ld", i);
    fvalue_set_text(&record_add(r, "ref")->v, FT_STRING, ref);
    snprintf(b, sizeof b, "Name %ld", i % 5000);
    fvalue_set_text(&record_add(r, "name")->v, FT_STRING, b);
    fvalue_set_decimal(&record_add(r, "amount")->v, i * 7 % 10000000, 2);
    fvalue_set_date(&record_add(r, "born")->v, 3650 + i % 10000);
    fvalue_set_datetime(&record_add(r, "at")->v,
                        1780000000000LL + i * 1000);
    fvalue_set_int(&record_add(r, "qty")->v, i % 100);
    return r;
}

int main(int argc, char **argv)
{
    if (!getenv("FERRY_ODBC_CONN")) {
        printf("# bench_odbc: skipped here (bench/run.d/odbc.sh starts "
               "PostgreSQL and runs it)\n");
        return 0;
    }
    long rows = argc > 1 ? strtol(argv[1], NULL, 10) : 100000;
    if (rows < 1 || rows > 10000000)
        rows = 100000;
    static const char *cols[] = {"ref", "name", "amount", "born", "at",
                                 "qty"};
    struct map_assign as[6];
    memset(as, 0, sizeof as);
    for (int i = 0; i < 6; i++) {
        as[i].to = (char *)cols[i];
        as[i].from = (char *)cols[i];
    }
    struct map_section sec = {.name = "record", .a = as, .na = 6};
    struct kv mo[] = {{"table", "bench_claims", 0}};
    /* BENCH_ODBC_ROWS_PER_INSERT: the many-row INSERT's size (1 = array
     * binding only), to measure the options against each other */
    const char *rpi = getenv("BENCH_ODBC_ROWS_PER_INSERT");
    struct kv to[] = {{"connection-file", "env:FERRY_ODBC_CONN", 0},
                      {"batch-size", "1000", 0},
                      {"rows-per-insert", rpi && *rpi ? (char *)rpi : "100",
                       0}};
    struct map_target mt = {.name = "db", .opts = {mo, 1}, .sec = &sec,
                            .nsec = 1};
    struct kvlist opts = {to, 3};
    struct adapter_env env = { .opts = &opts, .map = &mt, .base_dir = ".",
                               .service = "bench" };
    struct errs e;
    errs_init(&e);
    void *ctx = NULL;
    if (adapter_odbc.init(&ctx, &env, &e) < 0) {
        fprintf(stderr, "bench_odbc: init: %s\n", errs_first_msg(&e));
        errs_free(&e);
        return 1;
    }
    errs_free(&e);

    struct record **recs = calloc((size_t)rows, sizeof *recs);
    char (*refs)[16] = calloc((size_t)rows, sizeof *refs);
    struct delivery_item *items = calloc((size_t)rows, sizeof *items);
    FILE *csv = argc > 2 ? fopen(argv[2], "w") : NULL;
    for (long i = 0; i < rows; i++) {
        recs[i] = make_record(i, refs[i], sizeof refs[i]);
        items[i].ref = refs[i];
        items[i].service = "bench";
        items[i].attempt = 1;
        items[i].rec = recs[i];
        if (csv) {
            const struct record *r = recs[i];
            /* the same values the adapter sends, CHAR padding left to
             * the server as \copy does */
            fprintf(csv, "%s,%s,%s,%s,%s,%s\n", r->f[0].v.text,
                    r->f[1].v.text, r->f[2].v.text, r->f[3].v.text,
                    r->f[4].v.text, r->f[5].v.text);
        }
    }
    if (csv)
        fclose(csv);

    /* one warm-up call opens the connection and describes the table */
    double t0 = now_s();
    long ok = 0, bad = 0;
    for (long off = 0; off < rows; off += BATCH) {
        size_t n = (size_t)(rows - off < BATCH ? rows - off : BATCH);
        adapter_odbc.deliver(ctx, items + off, n);
        for (size_t k = 0; k < n; k++) {
            if (items[off + (long)k].res.outcome == ADAPTER_OK)
                ok++;
            else if (bad++ == 0)
                fprintf(stderr, "bench_odbc: %s: %s\n", items[off].ref,
                        items[off + (long)k].res.msg);
        }
    }
    double dt = now_s() - t0;
    printf("odbc_adapter_rows %ld rows\n", ok);
    printf("odbc_adapter_seconds %.3f s\n", dt);
    printf("odbc_adapter_rate %.0f rows/s\n", dt > 0 ? (double)ok / dt : 0);
    adapter_odbc.close(ctx);
    for (long i = 0; i < rows; i++)
        record_free(recs[i]);
    free(recs);
    free(refs);
    free(items);
    return bad ? 1 : 0;
}
