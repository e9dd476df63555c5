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
 * Foreign keys are off for the purge's own transactions: batch_members
 * has no index on record_id (binding a night's batch should not pay for
 * one), and SQLite would scan it for every record deleted; the purge
 * deletes the children itself, batch members by their batches. */
#include "spool/spool_int.h"
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

/* run - one statement with ?1 = v1 (when it has parameters), ?2 = v2 */
static int run(struct spool *s, const char *sql, int64_t v1, int64_t v2,
               struct errs *e)
{
    sqlite3_stmt *st = spool_stmt(s, sql, e);
    if (!st)
        return -1;
    int np = sqlite3_bind_parameter_count(st);
    if (np >= 1)
        sqlite3_bind_int64(st, 1, v1);
    if (np >= 2)
        sqlite3_bind_int64(st, 2, v2);
    int r = sqlite3_step(st);
    sqlite3_reset(st);
    if (r != SQLITE_DONE) {
        spool_dberr(s, e, NULL, "retention");
        return -1;
    }
    return 0;
}

/* purge_chunk - move up to PURGE_CHUNK records: *moved how many */
static int purge_chunk(struct spool *s, int64_t before_ms, int64_t now,
                       size_t *moved, struct errs *e)
{
    *moved = 0;
    if (spool_begin(s, e) != 0)
        return -1;
    if (run(s, "DELETE FROM purge_ids", 0, 0, e) != 0
        || run(s, pick_sql, before_ms, PURGE_CHUNK, e) != 0)
        goto fail;
    size_t n = (size_t)sqlite3_changes(s->db);
    if (n > 0)
        for (const char *const *q = move_sql; *q; q++)
            if (run(s, *q, now, 0, e) != 0)
                goto fail;
    if (spool_commit(s, e) != 0)
        return -1;
    *moved = n;
    return 0;
fail:
    spool_rollback(s);
    return -1;
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
    if (spool_exec(s, "CREATE TEMP TABLE IF NOT EXISTS purge_ids("
                   "id INTEGER PRIMARY KEY)", e) != 0
        || spool_exec(s, "PRAGMA foreign_keys=OFF", e) != 0)
        goto unlock;
    for (size_t i = 0; i < PURGE_MAX_CHUNKS; i++) {
        size_t n = 0;
        if (purge_chunk(s, before_ms, now, &n, e) != 0)
            goto fks;
        total += n;
        if (n < PURGE_CHUNK)
            break;
    }
    if (spool_exec(s, "PRAGMA foreign_keys=ON", e) != 0)
        goto unlock;
    if (spool_begin(s, e) != 0)
        goto unlock;
    /* clients' Idempotency-Keys past the window go too: the submission's
     * own identity stays findable in the archive */
    if (run(s, "DELETE FROM client_keys WHERE created_at < ?1", before_ms, 0,
            e) != 0)
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
fks:
    spool_exec(s, "PRAGMA foreign_keys=ON", e);
unlock:
    spool_unlock(s);
    return rc;
}
