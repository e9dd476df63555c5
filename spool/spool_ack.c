/* spool_ack.c - applying acknowledgements: sent, delivered or in-doubt
 * records move to confirmed or rejected, a whole file in one transaction,
 * the file recorded so it is never applied twice. */
#include "spool/spool_int.h"
#include "util/clock.h"
#include "util/crash.h"
#include "util/errs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *txt(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? (const char *)t : NULL;
}

/* ack_fast - the common case in one statement: the record named by the
 * ack is in a state an ack moves (sent, delivered, in doubt), found
 * through the UNIQUE ref index (or the newest record with that front-end
 * reference) and updated there.  1 applied (ref filled), 0 not movable
 * (ack_one then tells orphan / not-sent / already), -1 ledger error. */
static int ack_fast(struct spool *s, const struct spool_ack *a,
                    const char *file, char ref[SPOOL_REF_MAX], int64_t now,
                    struct errs *e)
{
    /* the confirmation or rejection is the current word: an earlier
     * error does not stay on a confirmed record */
    sqlite3_stmt *st = spool_stmt(s, a->service
        ? "UPDATE records SET state = ?1, last_error = ?2, "
          "receipt = COALESCE(?3, receipt), in_doubt = 0, updated_at = ?4, "
          "ack_file = ?7, ack_record = ?8, ack_at = ?4, confirmed_at = "
          "CASE WHEN ?1 = 'confirmed' THEN ?4 ELSE confirmed_at END "
          "WHERE id = (SELECT id FROM records WHERE "
          "service = ?6 AND fe_ref = ?5 ORDER BY id DESC LIMIT 1) AND "
          "state IN ('sent', 'delivered', 'indoubt') "
          "RETURNING ref, service, target"
        : "UPDATE records SET state = ?1, last_error = ?2, "
          "receipt = COALESCE(?3, receipt), in_doubt = 0, updated_at = ?4, "
          "ack_file = ?7, ack_record = ?8, ack_at = ?4, confirmed_at = "
          "CASE WHEN ?1 = 'confirmed' THEN ?4 ELSE confirmed_at END "
          "WHERE ref = ?5 AND "
          "state IN ('sent', 'delivered', 'indoubt') "
          "RETURNING ref, service, target", e);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, spool_state_name(a->accepted ? SPOOL_CONFIRMED
                                              : SPOOL_REJECTED), -1,
                      SQLITE_STATIC);
    if (!a->accepted)
        sqlite3_bind_text(st, 2, a->reason ? a->reason : "rejected", -1,
                          SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 2);
    sqlite3_bind_text(st, 3, a->receipt, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now);
    sqlite3_bind_text(st, 5, a->key, -1, SQLITE_STATIC);
    if (a->service)
        sqlite3_bind_text(st, 6, a->service, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, file, -1, SQLITE_STATIC);
    if (a->record_no > 0)
        sqlite3_bind_int64(st, 8, a->record_no);
    else
        sqlite3_bind_null(st, 8);
    int applied = 0;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {             /* RETURNING: the matched ref */
        if (ref)
            snprintf(ref, SPOOL_REF_MAX, "%s", txt(st, 0));
        applied = 1;
        /* confirmed is final: counted in this transaction (spool_db.c) */
        if (a->accepted && spool_tally_final(s, txt(st, 1), txt(st, 2),
                                             spool_state_name(SPOOL_CONFIRMED),
                                             e) != 0) {
            sqlite3_reset(st);
            return -1;
        }
        r = sqlite3_step(st);
    }
    sqlite3_reset(st);
    if (r != SQLITE_DONE) {
        spool_dberr(s, e, a->key, "applying acknowledgement");
        return -1;
    }
    return applied;
}

/* ack_one - one acknowledgement: the fast path, else why it did not move */
static int ack_one(struct spool *s, const struct spool_ack *a,
                   const char *file, enum spool_ack_result *res,
                   char ref[SPOOL_REF_MAX], int64_t now, struct errs *e)
{
    int fast = ack_fast(s, a, file, ref, now, e);
    if (fast < 0)
        return -1;
    if (fast == 1) {
        *res = SPOOL_ACK_APPLIED;
        return 0;
    }
    sqlite3_stmt *st = spool_stmt(s, a->service
        ? "SELECT id, state, ref FROM records WHERE service = ? AND "
          "fe_ref = ? ORDER BY id DESC LIMIT 1"
        : "SELECT id, state, ref FROM records WHERE ref = ?", e);
    if (!st)
        return -1;
    if (a->service) {
        sqlite3_bind_text(st, 1, a->service, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, a->key, -1, SQLITE_STATIC);
    } else {
        sqlite3_bind_text(st, 1, a->key, -1, SQLITE_STATIC);
    }
    int r = sqlite3_step(st);
    if (r == SQLITE_DONE) {
        sqlite3_reset(st);
        *res = SPOOL_ACK_ORPHAN;
        return 0;
    }
    if (r != SQLITE_ROW) {
        sqlite3_reset(st);
        spool_dberr(s, e, a->key, "matching acknowledgement");
        return -1;
    }
    enum spool_state from;
    int bad = spool_state_parse(txt(st, 1), &from);
    if (ref)
        snprintf(ref, SPOOL_REF_MAX, "%s", txt(st, 2));
    sqlite3_reset(st);
    enum spool_state to = a->accepted ? SPOOL_CONFIRMED : SPOOL_REJECTED;
    /* whatever is movable was moved by ack_fast: the rest only reports */
    *res = !bad && from == to ? SPOOL_ACK_ALREADY : SPOOL_ACK_NOT_SENT;
    return 0;
}

int spool_ack_file_seen(struct spool *s, const char *name,
                        const char *sha256_hex, struct errs *e)
{
    spool_lock(s);
    sqlite3_stmt *st = spool_stmt(s, "SELECT 1 FROM ack_files WHERE "
                                  "name = ? AND sha256 = ?", e);
    int rc = -1;
    if (st) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, sha256_hex, -1, SQLITE_STATIC);
        int r = sqlite3_step(st);
        rc = r == SQLITE_ROW ? 1 : r == SQLITE_DONE ? 0 : -1;
        if (rc < 0)
            spool_dberr(s, e, name, "reading applied files");
        sqlite3_reset(st);
    }
    spool_unlock(s);
    return rc;
}

/* ack_cache - a big page cache for the duration of one large apply:
 * a million-record file touches more pages than the default 2 MiB holds,
 * and pages spilled mid-transaction are written twice.  Returns the old
 * setting (0 when unknown: then nothing is changed). */
static int ack_cache(struct spool *s, int size_kib)
{
    sqlite3_stmt *st = NULL;
    int old = 0;
    if (sqlite3_prepare_v2(s->db, "PRAGMA cache_size", -1, &st, NULL)
        == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        old = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (old != 0 && size_kib != 0) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA cache_size = %d", -size_kib);
        sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    }
    return old;
}

/* ack_cache_restore - back to the setting ack_cache returned */
static void ack_cache_restore(struct spool *s, int old)
{
    if (old == 0)
        return;
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA cache_size = %d", old);
    sqlite3_exec(s->db, sql, NULL, NULL, NULL);
}

int spool_ack_apply(struct spool *s, const char *file_name,
                    const char *sha256_hex, const struct spool_ack *acks,
                    size_t n, enum spool_ack_result *res,
                    char (*refs)[SPOOL_REF_MAX], const char *actor,
                    const char *reason, struct errs *e)
{
    int rc = -1;
    int64_t now = clock_wall_ms();
    if (file_name && !sha256_hex) {
        errs_add(e, file_name, "acknowledgement file needs its SHA-256");
        return -1;
    }
    if (file_name) {
        int seen = spool_ack_file_seen(s, file_name, sha256_hex, e);
        if (seen != 0) {
            if (seen == 1)
                errs_add(e, file_name, "already applied (same name and "
                         "SHA-256)");
            return -1;
        }
    }
    spool_lock(s);
    /* half a KiB of page cache per ack, up to 512 MiB; small files keep
     * the default */
    size_t kib = n < 16384 ? 0 : n / 2 < 524288 ? n / 2 : 524288;
    int old_cache = ack_cache(s, (int)kib);
    if (spool_begin(s, e) != 0)
        goto unlock;
    for (size_t i = 0; i < n; i++) {
        enum spool_ack_result r1 = SPOOL_ACK_ORPHAN;
        if (!acks[i].key) {
            errs_add(e, file_name ? file_name : "", "acknowledgement %zu "
                     "has no key", i + 1);
            goto rollback;
        }
        if (refs)
            refs[i][0] = '\0';
        if (ack_one(s, &acks[i], file_name, &r1, refs ? refs[i] : NULL, now,
                    e) != 0)
            goto rollback;
        if (res)
            res[i] = r1;
    }
    if (file_name) {
        sqlite3_stmt *st = spool_stmt(s, "INSERT INTO ack_files(name, "
                                      "sha256, applied_at, records) "
                                      "VALUES(?,?,?,?)", e);
        if (!st)
            goto rollback;
        sqlite3_bind_text(st, 1, file_name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, sha256_hex, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, now);
        sqlite3_bind_int64(st, 4, (int64_t)n);
        int r = sqlite3_step(st);
        sqlite3_reset(st);
        if (r != SQLITE_DONE) {
            spool_dberr(s, e, file_name, "recording applied file");
            goto rollback;
        }
    }
    if (actor && reason) {
        char detail[512];
        snprintf(detail, sizeof detail, "file=%s sha256=%s records=%zu",
                 file_name ? file_name : "-", sha256_hex ? sha256_hex : "-",
                 n);
        if (spool_audit_append(s, now, actor, "ack-apply", NULL, reason, "",
                               "", detail, e) != 0)
            goto rollback;
    }
    crash_point("ack-before-commit");
    if (spool_commit(s, e) != 0)
        goto unlock;
    rc = 0;
    goto unlock;
rollback:
    spool_rollback(s);
unlock:
    ack_cache_restore(s, old_cache);
    spool_unlock(s);
    return rc;
}
