/* spool_ack.c - applying acknowledgements: sent, delivered or in-doubt
 * records move to confirmed or rejected, a whole file in one transaction,
 * the file recorded so it is never applied twice. */
#include "spool/spool_int.h"
#include "util/clock.h"
#include "util/crash.h"
#include "util/errs.h"

#include <pthread.h>
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
          "CASE WHEN ?1 = 'confirmed' THEN ?4 ELSE confirmed_at END, "
          "receipt_data = COALESCE(?9, receipt_data) "
          "WHERE id = (SELECT id FROM records WHERE "
          "service = ?6 AND fe_ref = ?5 AND (?10 IS NULL OR target = ?10) "
          "ORDER BY id DESC LIMIT 1) AND "
          "state IN ('sent', 'delivered', 'indoubt') "
          "RETURNING ref, service, target"
        : "UPDATE records SET state = ?1, last_error = ?2, "
          "receipt = COALESCE(?3, receipt), in_doubt = 0, updated_at = ?4, "
          "ack_file = ?7, ack_record = ?8, ack_at = ?4, confirmed_at = "
          "CASE WHEN ?1 = 'confirmed' THEN ?4 ELSE confirmed_at END, "
          "receipt_data = COALESCE(?9, receipt_data) "
          "WHERE ref = ?5 AND (?10 IS NULL OR target = ?10) AND "
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
    sqlite3_bind_text(st, 9, a->receipt_data, -1, SQLITE_STATIC);
    if (a->target)
        sqlite3_bind_text(st, 10, a->target, -1, SQLITE_STATIC);
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

/* A big file is applied ACK_CHUNK acknowledgements to a statement: one
 * UPDATE ... FROM (VALUES ...) moves every movable record of the chunk
 * exactly as ack_fast would one by one (same columns, same condition),
 * so the per-statement cost (bind, step, reset, cursors) is paid once per
 * chunk rather than once per record.  A chunk qualifies when its keys
 * are ferry references in strictly increasing order: each then names at
 * most one record, a returned reference finds its acknowledgement by
 * binary search, and an acknowledgement repeated later in the file finds
 * its record already moved and is told apart by ack_one, in file order,
 * as before.  Anything else goes one by one. */
#define ACK_CHUNK 256
/* per acknowledgement: key, state, reason, receipt, recno, receipt_data */
#define ACK_CHUNK_COLS 6

static char ack_chunk_text[ACK_CHUNK * 48 + 1024];
static pthread_once_t ack_chunk_once = PTHREAD_ONCE_INIT;

/* ack_chunk_build - the chunk statement's text, made once */
static void ack_chunk_build(void)
{
    size_t cap = sizeof ack_chunk_text, n = 0;
    n += (size_t)snprintf(ack_chunk_text + n, cap - n,
        "UPDATE records SET state = a.column2, last_error = a.column3, "
        "receipt = COALESCE(a.column4, receipt), in_doubt = 0, "
        "updated_at = ?1, ack_file = ?2, ack_record = a.column5, "
        "ack_at = ?1, confirmed_at = CASE WHEN a.column2 = 'confirmed' "
        "THEN ?1 ELSE confirmed_at END, receipt_data = "
        "COALESCE(a.column6, receipt_data) FROM (VALUES ");
    for (int k = 0; k < ACK_CHUNK && n < cap; k++) {
        int b = 3 + k * ACK_CHUNK_COLS;
        n += (size_t)snprintf(ack_chunk_text + n, cap - n,
                              "%s(?%d,?%d,?%d,?%d,?%d,?%d)", k ? "," : "",
                              b, b + 1, b + 2, b + 3, b + 4, b + 5);
    }
    if (n < cap)
        snprintf(ack_chunk_text + n, cap - n, ") AS a WHERE records.ref = "
                 "a.column1 AND records.state IN ('sent', 'delivered', "
                 "'indoubt') RETURNING ref, service, target");
}

/* chunk_ok - may a[0..ACK_CHUNK) go in one statement (see above) */
static bool chunk_ok(const struct spool_ack *a)
{
    for (size_t i = 0; i < ACK_CHUNK; i++)
        if (!a[i].key || a[i].service ||
            (i && strcmp(a[i - 1].key, a[i].key) >= 0))
            return false;
    return true;
}

/* chunk_find - the acknowledgement of a[0..ACK_CHUNK) whose key is ref;
 * -1 when none (keys strictly increasing) */
static long chunk_find(const struct spool_ack *a, const char *ref)
{
    size_t lo = 0, hi = ACK_CHUNK;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(a[mid].key, ref);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* ack_chunk - a[0..ACK_CHUNK) in one statement; moved[k] for each record
 * moved (and refs[k] its reference).  0, or -1 ledger error. */
static int ack_chunk(struct spool *s, const struct spool_ack *a,
                     const char *file, int64_t now, bool *moved,
                     char (*refs)[SPOOL_REF_MAX], struct errs *e)
{
    pthread_once(&ack_chunk_once, ack_chunk_build);
    sqlite3_stmt *st = spool_stmt(s, ack_chunk_text, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_text(st, 2, file, -1, SQLITE_STATIC);
    for (int k = 0; k < ACK_CHUNK; k++) {
        int b = 3 + k * ACK_CHUNK_COLS;
        sqlite3_bind_text(st, b, a[k].key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, b + 1, spool_state_name(a[k].accepted
                          ? SPOOL_CONFIRMED : SPOOL_REJECTED), -1,
                          SQLITE_STATIC);
        if (!a[k].accepted)
            sqlite3_bind_text(st, b + 2, a[k].reason ? a[k].reason
                              : "rejected", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, b + 3, a[k].receipt, -1, SQLITE_STATIC);
        if (a[k].record_no > 0)
            sqlite3_bind_int64(st, b + 4, a[k].record_no);
        sqlite3_bind_text(st, b + 5, a[k].receipt_data, -1, SQLITE_STATIC);
    }
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *ref = txt(st, 0);
        long k = ref ? chunk_find(a, ref) : -1;
        if (k < 0)
            continue;           /* cannot be: the key matched it */
        moved[k] = true;
        if (refs)
            snprintf(refs[k], SPOOL_REF_MAX, "%s", ref);
        /* confirmed is final: counted in this transaction, as ack_fast */
        if (a[k].accepted && spool_tally_final(s, txt(st, 1), txt(st, 2),
                                               spool_state_name(
                                                   SPOOL_CONFIRMED), e)) {
            sqlite3_reset(st);
            return -1;
        }
    }
    sqlite3_reset(st);
    if (r != SQLITE_DONE) {
        spool_dberr(s, e, file ? file : "", "applying acknowledgements");
        return -1;
    }
    return 0;
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
        ? "SELECT id, state, ref FROM records WHERE service = ?1 AND "
          "fe_ref = ?2 AND (?3 IS NULL OR target = ?3) "
          "ORDER BY id DESC LIMIT 1"
        : "SELECT id, state, ref FROM records WHERE ref = ?2 AND "
          "(?3 IS NULL OR target = ?3) ORDER BY id LIMIT 1", e);
    if (!st)
        return -1;
    if (a->service)
        sqlite3_bind_text(st, 1, a->service, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, a->key, -1, SQLITE_STATIC);
    if (a->target)
        sqlite3_bind_text(st, 3, a->target, -1, SQLITE_STATIC);
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
    bool moved[ACK_CHUNK];
    if (spool_begin(s, e) != 0)
        goto unlock;
    for (size_t i = 0; i < n;) {
        /* a whole chunk in one statement when it qualifies; what it did
         * not move (orphans, not sent, already) is told apart below */
        size_t k = 1;
        memset(moved, 0, sizeof moved);
        if (n - i >= ACK_CHUNK && chunk_ok(&acks[i])) {
            k = ACK_CHUNK;
            if (refs)
                for (size_t j = 0; j < k; j++)
                    refs[i + j][0] = '\0';
            if (ack_chunk(s, &acks[i], file_name, now, moved,
                          refs ? &refs[i] : NULL, e) != 0)
                goto rollback;
        }
        for (size_t j = 0; j < k; j++, i++) {
            enum spool_ack_result r1 = SPOOL_ACK_APPLIED;
            if (!acks[i].key) {
                errs_add(e, file_name ? file_name : "", "acknowledgement "
                         "%zu has no key", i + 1);
                goto rollback;
            }
            if (!moved[j]) {
                r1 = SPOOL_ACK_ORPHAN;
                if (refs)
                    refs[i][0] = '\0';
                if (ack_one(s, &acks[i], file_name, &r1, refs ? refs[i]
                            : NULL, now, e) != 0)
                    goto rollback;
            }
            if (res)
                res[i] = r1;
        }
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
