/* spool_purge.c - retention: final records (confirmed, discarded) last
 * changed before the window leave the working tables, so the ledger
 * stays the size of the work in hand.
 *
 * Each goes to records_archive as a slim row (reference, identities,
 * service, target, channel, state, times, receipt, reason: what the
 * report counts, `ferry show` tells and the idempotency check finds),
 * and its payload, attempts, history, batch membership and search
 * entries are deleted.  The final-state totals do not change: they count
 * the archive too.  Chunks of PURGE_CHUNK records, each one transaction
 * (a crash leaves whole chunks moved, never half a record), found
 * through records_final so the cost follows what is moved, not the
 * ledger.  One audit entry "purge" says how many moved.
 *
 * Foreign keys are off for the purge's own transactions on SQLite:
 * batch_members has no index on record_id (binding a night's batch
 * should not pay for one), and SQLite would scan it for every record
 * deleted; the purge deletes the children itself, batch members by
 * their batches.  The SQL is the same on PostgreSQL. */
#include "spool/spool_int.h"
#include "spool/sql.h"
#include "util/clock.h"
#include "util/errs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PURGE_CHUNK 20000
#define PURGE_MAX_CHUNKS 100000        /* 2e9 records: a bound, not a goal */

/* the oldest final records first, through records_final (its condition
 * named); ?1 = before, ?2 = how many */
static const char pick_sql[] =
    "INSERT INTO purge_ids(id) SELECT id FROM records WHERE "
    "state IN ('confirmed','discarded') AND updated_at < ?1 "
    "ORDER BY updated_at LIMIT ?2";

static const char *const move_sql[] = {
    "INSERT INTO records_archive(record_id, ref, delivery_id, service, "
    "target, client, channel, fe_ref, idem_key, state, attempts, batch_id, "
    "receipt, receipt_data, last_error, closed_reason, received_at, "
    "updated_at, confirmed_at, archived_at) SELECT id, ref, delivery_id, "
    "service, target, client, channel, fe_ref, idem_key, state, attempts, "
    "batch_id, receipt, receipt_data, last_error, closed_reason, "
    "received_at, updated_at, "
    "confirmed_at, ?1 FROM records WHERE id IN (SELECT id FROM purge_ids)",
    "DELETE FROM batch_members WHERE batch_id IN (SELECT batch_id FROM "
    "records WHERE id IN (SELECT id FROM purge_ids) AND batch_id IS NOT NULL "
    "UNION SELECT batch_id FROM record_history WHERE record_id IN (SELECT id "
    "FROM purge_ids) AND batch_id IS NOT NULL) AND record_id IN (SELECT id "
    "FROM purge_ids)",
    "DELETE FROM search WHERE record_id IN (SELECT id FROM purge_ids)",
    "DELETE FROM attempts WHERE record_id IN (SELECT id FROM purge_ids)",
    "DELETE FROM record_history WHERE record_id IN (SELECT id FROM "
    "purge_ids)",
    "DELETE FROM record_data WHERE id IN (SELECT id FROM purge_ids)",
    "DELETE FROM records WHERE id IN (SELECT id FROM purge_ids)",
    NULL,
};

/* run - one statement with ?1 = v1 (when np >= 1), ?2 = v2 (np >= 2);
 * *changed (may be NULL) the rows it touched */
static int run(struct spool *s, const char *sql, int np, int64_t v1,
               int64_t v2, int64_t *changed, struct errs *e)
{
    struct sql_stmt *st = spool_sql(s, sql, e);
    if (!st)
        return -1;
    enum sql_step r = SQL_STEP_ERROR;
    if ((np < 1 || sql_bind_int64(st, 1, v1) == 0)
        && (np < 2 || sql_bind_int64(st, 2, v2) == 0))
        r = sql_step(st);
    if (changed)
        *changed = sql_changes(st);
    sql_reset(st);
    if (r != SQL_STEP_DONE) {
        spool_sqlerr(s, e, NULL, "retention");
        return -1;
    }
    return 0;
}

/* purge_chunk - move up to PURGE_CHUNK records: *moved how many.  Two
 * nodes purging one PostgreSQL ledger take turns chunk by chunk (the
 * lock "purge"), so a record is never archived twice; on SQLite the
 * write lock already does that. */
static int purge_chunk(struct spool *s, int64_t before_ms, int64_t now,
                       size_t *moved, struct errs *e)
{
    int64_t n = 0;
    *moved = 0;
    if (spool_begin(s, e) != 0)
        return -1;
    if (sql_lock_xact(s->sql, "purge") != 0) {
        spool_sqlerr(s, e, NULL, "retention");
        goto fail;
    }
    if (run(s, "DELETE FROM purge_ids", 0, 0, 0, NULL, e) != 0
        || run(s, pick_sql, 2, before_ms, PURGE_CHUNK, &n, e) != 0)
        goto fail;
    if (n > 0)
        for (const char *const *q = move_sql; *q; q++)
            if (run(s, *q, q == move_sql ? 1 : 0, now, 0, NULL, e) != 0)
                goto fail;
    if (spool_commit(s, e) != 0)
        return -1;
    *moved = (size_t)n;
    return 0;
fail:
    spool_rollback(s);
    return -1;
}

/* fks - foreign keys off (on) for the purge's transactions: SQLite
 * only, where it saves a scan of batch_members per record deleted.
 * PostgreSQL's foreign keys cannot be turned off by a client (nor need
 * to be: the purge deletes children before parents). */
static int fks(struct spool *s, bool on, struct errs *e)
{
    if (sql_backend(s->sql) != SQL_SQLITE)
        return 0;
    return spool_exec(s, on ? "PRAGMA foreign_keys=ON"
                            : "PRAGMA foreign_keys=OFF", e);
}

int spool_purge(struct spool *s, int64_t before_ms, const char *actor,
                size_t *purged, struct errs *e)
{
    int rc = -1;
    size_t total = 0;
    int64_t now = clock_wall_ms();
    if (purged)
        *purged = 0;
    spool_lock(s);
    /* the chunk's ids, in a table of this connection's own (a rowid
     * table on SQLite) */
    if (spool_exec(s, sql_backend(s->sql) == SQL_SQLITE
                   ? "CREATE TEMP TABLE IF NOT EXISTS purge_ids("
                     "id INTEGER PRIMARY KEY)"
                   : "CREATE TEMP TABLE IF NOT EXISTS purge_ids("
                     "id BIGINT PRIMARY KEY)", e) != 0
        || fks(s, false, e) != 0)
        goto unlock;
    for (size_t i = 0; i < PURGE_MAX_CHUNKS; i++) {
        size_t n = 0;
        if (purge_chunk(s, before_ms, now, &n, e) != 0)
            goto fks_on;
        total += n;
        if (n < PURGE_CHUNK)
            break;
    }
    if (fks(s, true, e) != 0)
        goto unlock;
    if (spool_begin(s, e) != 0)
        goto unlock;
    /* clients' Idempotency-Keys past the window go too: the submission's
     * own identity stays findable in the archive */
    if (run(s, "DELETE FROM client_keys WHERE created_at < ?1", 1, before_ms,
            0, NULL, e) != 0)
        goto end;
    char detail[128];
    snprintf(detail, sizeof detail, "archived=%zu before=%lld", total,
             (long long)before_ms);
    if (spool_audit_append(s, now, actor, "purge", NULL, "retention", "",
                           "", detail, e) != 0)
        goto end;
    rc = 0;
end:
    rc = spool_end(s, rc, e);
    if (rc == 0 && purged)
        *purged = total;
    return rc;
fks_on:
    fks(s, true, e);
unlock:
    spool_unlock(s);
    return rc;
}
