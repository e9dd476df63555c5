/* pg_cluster.c - what several nodes on one PostgreSQL ledger need from
 * it: claims that never hand one record to two nodes, leases measured by
 * the database's clock (so nodes with skewed clocks agree when a lease
 * has run out), and job locks that die with the session holding them.
 * The rules are in pg_spool.h; spool_claim (spool_deliver.c) claims
 * through spool_pg_lock_due and spool_pg_now_ms. */
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

/* What is due for a claim of target ?1, in one place for both claims
 * below: queued or deferred and due by ?2, delivering with a lease that
 * ran out by ?3 (the database's clock), and in doubt and due by ?2 when
 * ?4 = 1. */
#define DUE_WHERE "target = ?1 AND ((state IN ('queued','deferred')" \
    " AND next_attempt_at <= ?2) OR (state = 'delivering'" \
    " AND lease_until <= ?3) OR (?4 = 1 AND state = 'indoubt'" \
    " AND next_attempt_at <= ?2))"

/* The due rows no other transaction holds, locked (SKIP LOCKED: a row
 * another node is claiming is passed over, not waited for; one it
 * claimed and committed meanwhile is judged again as it now is, and is
 * no longer due), oldest first. */
#define DUE_LOCKED "SELECT id, state FROM records WHERE " DUE_WHERE \
    " ORDER BY id LIMIT ?5 FOR UPDATE SKIP LOCKED"

static const char lock_sql[] = DUE_LOCKED;

/* spool_pg_claim's one statement: lock the due rows and move them to
 * delivering under a lease that ends lease_ms after the database's now
 * (?3).  The state read in `due` is the one before the claim:
 * delivering there means a lease ran out. */
static const char claim_sql[] =
    "WITH due AS (" DUE_LOCKED ")"
    " UPDATE records SET state = 'delivering', lease_owner = ?6,"
    " lease_until = ?3 + ?7, claimed_at = ?3,"
    " attempts = records.attempts + 1, updated_at = ?3"
    " FROM due WHERE records.id = due.id"
    " RETURNING records.id, due.state = 'delivering'";

int spool_pg_lock_due(struct sql_conn *c, const char *target, int64_t due_by,
                      int64_t lease_now, bool with_indoubt, size_t max,
                      int64_t *ids, struct errs *e)
{
    struct sql_stmt *st = sql_prepare(c, lock_sql);
    if (!st) {
        errs_add(e, target, "finding due records: %s", sql_errmsg(c));
        return -1;
    }
    sql_bind_text(st, 1, target);
    sql_bind_int64(st, 2, due_by);
    sql_bind_int64(st, 3, lease_now);
    sql_bind_int64(st, 4, with_indoubt ? 1 : 0);
    sql_bind_int64(st, 5, (int64_t)max);
    size_t n = 0;
    enum sql_step r;
    while ((r = sql_step(st)) == SQL_STEP_ROW && n < max)
        ids[n++] = sql_col_int64(st, 0);
    sql_reset(st);
    if (r == SQL_STEP_ERROR) {
        errs_add(e, target, "finding due records: %s", sql_errmsg(c));
        return -1;
    }
    return (int)n;
}

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
    int64_t now;
    if (spool_pg_now_ms(c, &now, e) != 0)
        return -1;
    struct sql_stmt *st = sql_prepare(c, claim_sql);
    if (!st) {
        errs_add(e, target, "claiming: %s", sql_errmsg(c));
        return -1;
    }
    sql_bind_text(st, 1, target);
    sql_bind_int64(st, 2, now);
    sql_bind_int64(st, 3, now);
    sql_bind_int64(st, 4, 0);
    sql_bind_int64(st, 5, (int64_t)max);
    sql_bind_text(st, 6, owner);
    sql_bind_int64(st, 7, lease_ms);
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
