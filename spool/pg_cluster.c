/* pg_cluster.c - what several nodes on one PostgreSQL ledger need from
 * it: claims that never hand one record to two nodes, leases measured by
 * the database's clock (so nodes with skewed clocks agree when a lease
 * has run out), and job locks that die with the session holding them.
 * The rules are in pg_spool.h. */
#include "spool/pg_spool.h"
#include "util/errs.h"

#include <stdio.h>
#include <string.h>

#define CLAIM_MAX 1000

/* the database's clock in ms, as SQL (the claim and the tests read it) */
#define DB_NOW_MS "(extract(epoch FROM clock_timestamp()) * 1000)::BIGINT"

int spool_pg_now_ms(struct sql_conn *c, int64_t *ms, struct errs *e)
{
    struct sql_stmt *st = sql_prepare(c, "SELECT " DB_NOW_MS);
    if (!st || sql_step(st) != SQL_STEP_ROW) {
        errs_add(e, "ledger", "reading the database clock: %s",
                 sql_errmsg(c));
        return -1;
    }
    *ms = sql_col_int64(st, 0);
    sql_reset(st);
    return 0;
}

/* One statement: pick the due rows no other transaction holds (SKIP
 * LOCKED: a row another node is claiming is passed over, not waited
 * for), lock them, and move them to delivering under a lease that ends
 * lease_ms after the database's now.  The state read in `due` is the
 * one before the claim: delivering there means a lease ran out. */
static const char claim_sql[] =
    "WITH clock AS (SELECT " DB_NOW_MS " AS ms),"
    " due AS (SELECT r.id, r.state FROM records r, clock"
    "  WHERE r.target = ?1 AND ((r.state IN ('queued','deferred')"
    "   AND r.next_attempt_at <= clock.ms)"
    "   OR (r.state = 'delivering' AND r.lease_until <= clock.ms))"
    "  ORDER BY r.next_attempt_at, r.id LIMIT ?3"
    "  FOR UPDATE OF r SKIP LOCKED)"
    " UPDATE records SET state = 'delivering', lease_owner = ?2,"
    " lease_until = clock.ms + ?4, claimed_at = clock.ms,"
    " attempts = records.attempts + 1, updated_at = clock.ms"
    " FROM due, clock WHERE records.id = due.id"
    " RETURNING records.id, due.state = 'delivering'";

int spool_pg_claim(struct sql_conn *c, const char *target, const char *owner,
                   int64_t lease_ms, size_t max,
                   struct spool_pg_claimed *out, struct errs *e)
{
    if (!target || !owner || !*owner || max == 0 || max > CLAIM_MAX
        || lease_ms <= 0) {
        errs_add(e, target ? target : "", "claim needs a target, an owner, "
                 "1..%d records and a lease", CLAIM_MAX);
        return -1;
    }
    struct sql_stmt *st = sql_prepare(c, claim_sql);
    if (!st) {
        errs_add(e, target, "claiming: %s", sql_errmsg(c));
        return -1;
    }
    sql_bind_text(st, 1, target);
    sql_bind_text(st, 2, owner);
    sql_bind_int64(st, 3, (int64_t)max);
    sql_bind_int64(st, 4, lease_ms);
    size_t n = 0;
    enum sql_step r;
    while ((r = sql_step(st)) == SQL_STEP_ROW && n < max) {
        out[n].id = sql_col_int64(st, 0);
        out[n].expired = sql_col_int64(st, 1) != 0;
        n++;
    }
    sql_reset(st);
    if (r == SQL_STEP_ERROR) {
        errs_add(e, target, "claiming: %s", sql_errmsg(c));
        return -1;
    }
    return (int)n;
}

/* joblock_key - the advisory lock key of a job */
static int64_t joblock_key(const char *job)
{
    char name[300];
    snprintf(name, sizeof name, "job:%s", job);
    return sql_lock_key(name);
}

/* advisory - run sql (one bigint parameter, one boolean answer) on the
 * job's key; the answer, or -1 */
static int advisory(struct sql_conn *c, const char *sql, const char *job,
                    struct errs *e)
{
    struct sql_stmt *st = sql_prepare(c, sql);
    if (!st || sql_bind_int64(st, 1, joblock_key(job)) != 0
        || sql_step(st) != SQL_STEP_ROW) {
        errs_add(e, job, "job lock: %s", sql_errmsg(c));
        if (st)
            sql_reset(st);
        return -1;
    }
    int yes = sql_col_int64(st, 0) != 0;
    sql_reset(st);
    return yes;
}

int spool_pg_joblock_try(struct sql_conn *c, const char *job, struct errs *e)
{
    return advisory(c, "SELECT pg_try_advisory_lock(?1)", job, e);
}

int spool_pg_joblock_release(struct sql_conn *c, const char *job,
                             struct errs *e)
{
    int had = advisory(c, "SELECT pg_advisory_unlock(?1)", job, e);
    if (had == 0)
        errs_add(e, job, "job lock: this node did not hold it");
    return had == 1 ? 0 : -1;
}
