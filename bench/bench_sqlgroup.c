/* bench_sqlgroup.c - group commit on the PostgreSQL ledger through the
 * statement layer (spool/sql.h): 1,000-row groups, each one transaction,
 * three ways in one run:
 *   each      BEGIN, 1,000 INSERTs each waited for, COMMIT (the baseline:
 *             one round trip per row);
 *   pipeline  BEGIN, 1,000 INSERTs, COMMIT sent in one pipeline, one sync;
 *   multirow  BEGIN, one INSERT of 1,000 rows (sql_insert_rows), COMMIT
 *             in one pipeline.
 * Rows are ledger-sized (reference, service, target, a 1 KiB payload).
 *
 * Each way runs in six rounds, the order turned every round.
 *
 *   FERRY_PG_CONNINFO=... bench_sqlgroup [GROUPS]
 *
 * bench/run.d/sql_group.sh starts a durable PostgreSQL (fsync on) and runs
 * this; bare (bench/run.sh runs every bench_* binary) it says so and
 * exits 0.  Prints "name value unit" lines, each beside the same-run
 * baseline and the ratio. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_util.h"
#include "spool/sql.h"
#include "util/errs.h"

#define GROUP 1000
#define PAYLOAD 1024
#define ROUNDS 6

static unsigned char payload[PAYLOAD];
static char refs[GROUP][24];

static int fail(struct sql_conn *c, const char *what)
{
    fprintf(stderr, "bench_sqlgroup: %s: %s\n", what, sql_errmsg(c));
    return -1;
}

static void make_refs(long g)
{
    for (int i = 0; i < GROUP; i++)
        snprintf(refs[i], sizeof refs[i], "FRY-%06ld-%04d", g, i);
}

static const char ins1[] = "INSERT INTO g(ref, payload) VALUES(?1, ?2)";

/* insert_each - the group's rows, one INSERT each */
static int insert_each(struct sql_conn *c)
{
    for (int i = 0; i < GROUP; i++) {
        struct sql_stmt *st = sql_prepare(c, ins1);
        if (!st)
            return fail(c, "prepare");
        sql_bind_text(st, 1, refs[i]);
        sql_bind_blob(st, 2, payload, sizeof payload);
        if (sql_step(st) != SQL_STEP_DONE)
            return fail(c, "insert");
    }
    return 0;
}

static int group_each(struct sql_conn *c, long g)
{
    make_refs(g);
    if (sql_begin(c) != 0)
        return fail(c, "begin");
    if (insert_each(c) != 0)
        return -1;
    return sql_commit(c) == 0 ? 0 : fail(c, "commit");
}

static int group_pipeline(struct sql_conn *c, long g)
{
    make_refs(g);
    if (sql_pipeline_begin(c) != 0 || sql_begin(c) != 0)
        return fail(c, "begin");
    if (insert_each(c) != 0)
        return -1;
    if (sql_commit(c) != 0 || sql_pipeline_end(c) != 0) {
        sql_rollback(c);
        return fail(c, "pipeline");
    }
    return 0;
}

static int bind_row(void *arg, struct sql_stmt *st, int param, size_t row)
{
    (void)arg;
    if (sql_bind_text(st, param, refs[row]) != 0)
        return -1;
    return sql_bind_blob(st, param + 1, payload, sizeof payload);
}

static int group_multirow(struct sql_conn *c, long g)
{
    make_refs(g);
    if (sql_pipeline_begin(c) != 0 || sql_begin(c) != 0)
        return fail(c, "begin");
    if (sql_insert_rows(c, "INSERT INTO g(ref, payload)", 2, GROUP,
                        bind_row, NULL) != 0 || sql_commit(c) != 0
        || sql_pipeline_end(c) != 0) {
        sql_rollback(c);
        return fail(c, "multirow");
    }
    return 0;
}

/* run - seconds for groups groups of one way, starting at group base */
static double run(struct sql_conn *c, int (*way)(struct sql_conn *, long),
                  long base, long groups)
{
    if (sql_exec(c, "TRUNCATE g") != 0)
        return fail(c, "truncate");
    double t0 = bench_now_s();
    for (long g = 0; g < groups; g++)
        if (way(c, base + g) != 0)
            return -1;
    return bench_now_s() - t0;
}

int main(int argc, char **argv)
{
    const char *ci = getenv("FERRY_PG_CONNINFO");
    if (!ci) {
        printf("# bench_sqlgroup: skipped here (bench/run.d/sql_group.sh "
               "starts PostgreSQL and runs it)\n");
        return 0;
    }
    long groups = argc > 1 ? strtol(argv[1], NULL, 10) : 20;
    if (groups < 1 || groups > 10000)
        groups = 20;
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (unsigned char)(i * 31 + 7);
    struct errs e;
    errs_init(&e);
    struct sql_desc d = { .backend = SQL_POSTGRESQL, .conninfo = ci };
    struct sql_conn *c = sql_open(&d, &e);
    if (!c) {
        fprintf(stderr, "bench_sqlgroup: %s\n", errs_first_msg(&e));
        errs_free(&e);
        return 1;
    }
    int rc = 1;
    /* service and target as the ledger's rows have them, by default */
    if (sql_exec(c, "DROP TABLE IF EXISTS g; CREATE TABLE g(id BIGINT "
                 "GENERATED ALWAYS AS IDENTITY PRIMARY KEY, ref TEXT NOT "
                 "NULL UNIQUE, service TEXT NOT NULL DEFAULT 'benefit', "
                 "target TEXT NOT NULL DEFAULT 'soap', payload BYTEA)")
        != 0) {
        fail(c, "table");
        goto out;
    }
    /* a warm-up group each, then the measured runs */
    if (run(c, group_each, 900000, 1) < 0
        || run(c, group_pipeline, 900000, 1) < 0
        || run(c, group_multirow, 900000, 1) < 0)
        goto out;
    /* rounds of groups/ROUNDS groups each way, the order turned every
     * round, so no way always runs first (or just after a checkpoint) */
    int (*const ways[3])(struct sql_conn *, long) = { group_each,
                                                      group_pipeline,
                                                      group_multirow };
    double secs[3] = { 0, 0, 0 };
    long per = groups / ROUNDS > 0 ? groups / ROUNDS : 1;
    for (int r = 0; r < ROUNDS; r++)
        for (int k = 0; k < 3; k++) {
            int w = (r + k) % 3;
            double t = run(c, ways[w], 0, per);
            if (t < 0)
                goto out;
            secs[w] += t;
        }
    double rows = (double)(per * ROUNDS * GROUP);
    double each = rows / secs[0], pipe = rows / secs[1],
           multi = rows / secs[2];
    printf("sqlgroup_each %.0f rows/s (baseline: one round trip a row, "
           "%d-row groups)\n", each, GROUP);
    printf("sqlgroup_pipeline %.0f rows/s  baseline %.0f  ratio %.2f\n",
           pipe, each, pipe / each);
    printf("sqlgroup_multirow %.0f rows/s  baseline %.0f  ratio %.2f\n",
           multi, each, multi / each);
    printf("sqlgroup_pipeline_vs_multirow %.2f ratio (%s faster)\n",
           pipe / multi, pipe >= multi ? "pipeline" : "multirow");
    rc = 0;
out:
    sql_close(c);
    errs_free(&e);
    return rc;
}
