/* bench_intake_pg.c - durable batched intake into a PostgreSQL spool,
 * beside an SQLite spool in the same run (issue 18: >= 20,000 records/s).
 *
 * FERRY_PG_CONNINFO names a maintenance database of a durable server
 * (bench/run.d/intake_pg.sh starts one, fsync on); a database
 * ferry_bench_intake is made afresh there.  Both spools take the same
 * records (1 KB payload, an idempotency key each, 1,000 per
 * spool_enqueue: a group committed as one transaction), in rounds that
 * turn the order each time, so the machine's noise falls on both.
 *
 * Figures (one "name value unit" line each):
 *   intake_pg_batched_rate      PostgreSQL, records/s (best round)
 *   intake_sqlite_batched_rate  SQLite, records/s (best round)
 *   intake_pg_ratio             the first / the second
 *   intake_pg_target_met        1 when the PostgreSQL figure >= 20,000 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench_util.h"
#include "spool/spool.h"
#include "spool/sql.h"
#include "util/errs.h"

#define PAYLOAD 1024
#define PER 1000
#define ROUNDS 4

static char payload[PAYLOAD + 1];

/* fresh_db - ferry_bench_intake made anew on the maintenance database */
static int fresh_db(const char *maint)
{
    struct errs e;
    errs_init(&e);
    struct sql_desc d = { .backend = SQL_POSTGRESQL, .conninfo = maint };
    struct sql_conn *c = sql_open(&d, &e);
    int rc = c && sql_exec(c, "DROP DATABASE IF EXISTS ferry_bench_intake "
                           "WITH (FORCE)") == 0
             && sql_exec(c, "CREATE DATABASE ferry_bench_intake") == 0
             ? 0 : -1;
    if (rc != 0)
        fprintf(stderr, "bench_intake_pg: %s\n",
                c ? sql_errmsg(c) : errs_first_msg(&e));
    sql_close(c);
    errs_free(&e);
    return rc;
}

/* analyze - the statistics of the PostgreSQL ledger brought up to date */
static int analyze(const char *conninfo)
{
    struct errs e;
    errs_init(&e);
    struct sql_desc d = { .backend = SQL_POSTGRESQL, .conninfo = conninfo };
    struct sql_conn *c = sql_open(&d, &e);
    int rc = c && sql_exec(c, "ANALYZE") == 0 ? 0 : -1;
    if (rc != 0)
        fprintf(stderr, "bench_intake_pg: %s\n",
                c ? sql_errmsg(c) : errs_first_msg(&e));
    sql_close(c);
    errs_free(&e);
    return rc;
}

/* run - n records into s, PER a call, keys tag-N; records/s or -1 */
static double run(struct spool *s, long n, const char *tag)
{
    return bench_enqueue(s, n, PER, tag, payload, PAYLOAD, "bench_intake_pg");
}

int main(int argc, char **argv)
{
    const char *maint = getenv("FERRY_PG_CONNINFO");
    long n = argc > 1 ? atol(argv[1]) : 20000;
    if (!maint || !*maint) {
        /* run.sh runs every bench binary: this one needs the server that
         * bench/run.d/intake_pg.sh starts */
        printf("# bench_intake_pg: run by bench/run.d/intake_pg.sh\n");
        return 0;
    }
    memset(payload, 'x', PAYLOAD);
    const char *t = getenv("TMPDIR");
    char base[512], dl[600], dp[600], ci[1024];
    snprintf(base, sizeof base, "%s/bench_intake_pg.XXXXXX",
             t && *t ? t : "/tmp");
    if (!mkdtemp(base) || fresh_db(maint) != 0)
        return 1;
    snprintf(dl, sizeof dl, "%s/lite", base);
    snprintf(dp, sizeof dp, "%s/pg", base);
    snprintf(ci, sizeof ci, "%s dbname=ferry_bench_intake", maint);
    struct spool_opts po = { .pg_conninfo = ci };
    struct errs e;
    errs_init(&e);
    struct spool *lite = spool_open(dl, NULL, &e);
    struct spool *pg = lite ? spool_open(dp, &po, &e) : NULL;
    int rc = 1;
    if (!lite || !pg) {
        fprintf(stderr, "bench_intake_pg: %s\n", errs_first_msg(&e));
        goto out;
    }
    if (run(pg, n, "warm") < 0 || run(lite, n, "warm") < 0
        || analyze(ci) != 0)
        goto out;
    double best_pg = 0, best_lite = 0;
    for (int r = 0; r < ROUNDS; r++) {
        char tag[32];
        snprintf(tag, sizeof tag, "r%d", r);
        double a, b;
        if (r % 2 == 0) {
            a = run(pg, n, tag);
            b = run(lite, n, tag);
        } else {
            b = run(lite, n, tag);
            a = run(pg, n, tag);
        }
        if (a < 0 || b < 0)
            goto out;
        if (a > best_pg)
            best_pg = a;
        if (b > best_lite)
            best_lite = b;
    }
    printf("intake_pg_records %ld records a round, %d rounds\n", n, ROUNDS);
    printf("intake_pg_batched_rate %.0f records/s\n", best_pg);
    printf("intake_sqlite_batched_rate %.0f records/s\n", best_lite);
    printf("intake_pg_ratio %.2f x\n", best_pg / best_lite);
    printf("intake_pg_target_met %d bool\n", best_pg >= 20000);
    rc = 0;
out:
    spool_close(pg);
    spool_close(lite);
    errs_free(&e);
    bench_rm_tree(base);
    return rc;
}
