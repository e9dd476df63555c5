/* spool_ack.c - applying acknowledgements: sent, delivered or in-doubt
 * records move to confirmed or rejected, a whole file in one transaction,
 * the file recorded so it is never applied twice.  Runs on the statement
 * layer (sql.h): the same code on SQLite and PostgreSQL. */
#include "spool/spool_int.h"
#include "spool/sql.h"
#include "util/clock.h"
#include "util/crash.h"
#include "util/errs.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
     * error does not stay on a confirmed record.  The service, used by
     * one form only, is the last parameter: PostgreSQL wants no gap. */
    struct sql_stmt *st = spool_sql(s, a->service
        ? "UPDATE records SET state = ?1, last_error = ?2, "
          "receipt = COALESCE(?3, receipt), in_doubt = 0, updated_at = ?4, "
          "ack_file = ?6, ack_record = ?7, ack_at = ?4, confirmed_at = "
          "CASE WHEN ?1 = 'confirmed' THEN ?4 ELSE confirmed_at END, "
          "receipt_data = COALESCE(?8, receipt_data) "
          "WHERE id = (SELECT id FROM records WHERE "
          "service = ?10 AND fe_ref = ?5 AND "
          "(CAST(?9 AS TEXT) IS NULL OR target = ?9) "
          "ORDER BY id DESC LIMIT 1) AND "
          "state IN ('sent', 'delivered', 'indoubt') "
          "RETURNING ref, service, target"
        : "UPDATE records SET state = ?1, last_error = ?2, "
          "receipt = COALESCE(?3, receipt), in_doubt = 0, updated_at = ?4, "
          "ack_file = ?6, ack_record = ?7, ack_at = ?4, confirmed_at = "
          "CASE WHEN ?1 = 'confirmed' THEN ?4 ELSE confirmed_at END, "
          "receipt_data = COALESCE(?8, receipt_data) "
          "WHERE ref = ?5 AND (CAST(?9 AS TEXT) IS NULL OR target = ?9) "
          "AND state IN ('sent', 'delivered', 'indoubt') "
          "RETURNING ref, service, target", e);
    if (!st)
        return -1;
    sql_bind_text(st, 1, spool_state_name(a->accepted ? SPOOL_CONFIRMED
                                          : SPOOL_REJECTED));
    if (!a->accepted)
        sql_bind_text(st, 2, a->reason ? a->reason : "rejected");
    sql_bind_text(st, 3, a->receipt);
    sql_bind_int64(st, 4, now);
    sql_bind_text(st, 5, a->key);
    sql_bind_text(st, 6, file);
    if (a->record_no > 0)
        sql_bind_int64(st, 7, a->record_no);
    sql_bind_text(st, 8, a->receipt_data);
    sql_bind_text(st, 9, a->target);
    if (a->service)
        sql_bind_text(st, 10, a->service);
    int applied = 0;
    enum sql_step r = sql_step(st);
    if (r == SQL_STEP_ROW) {           /* RETURNING: the matched ref */
        if (ref)
            snprintf(ref, SPOOL_REF_MAX, "%s", sql_col_text(st, 0));
        applied = 1;
        /* confirmed is final: counted in this transaction (spool_db.c) */
        if (a->accepted && spool_tally_final(s, sql_col_text(st, 1),
                                             sql_col_text(st, 2),
                                             spool_state_name(SPOOL_CONFIRMED),
                                             e) != 0) {
            sql_reset(st);
            return -1;
        }
        r = sql_step(st);
    }
    sql_reset(st);
    if (r != SQL_STEP_DONE) {
        spool_sqlerr(s, e, a->key, "applying acknowledgement");
        return -1;
    }
    return applied;
}

/* A big file is applied ACK_CHUNK acknowledgements to a statement: one
 * UPDATE ... FROM (VALUES ...) moves every movable record of the chunk
 * exactly as ack_fast would one by one (same columns, same condition),
 * so the per-statement cost (bind, step, reset, cursors) is paid once per
 * chunk rather than once per record.  A chunk qualifies when its keys
 * are ferry references for one target (or all for none), no key twice,
 * and either the keys or the record numbers strictly increase: each key
 * then names at most one record, a returned reference (or ack_record, the
 * record number the statement just set) finds its acknowledgement by
 * binary search, and an acknowledgement repeated later in the file finds
 * its record already moved and is told apart by ack_one, in file order,
 * as before.  Anything else goes one by one. */
#define ACK_CHUNK 256
/* per acknowledgement: key, state, reason, receipt, recno, receipt_data */
#define ACK_CHUNK_COLS 6
#define ACK_CHUNK_BASE 4            /* ?1 now, ?2 file, ?3 target */

/* how a chunk's returned rows find their acknowledgements */
enum chunk_match {
    CHUNK_ONE_BY_ONE = 0,           /* the chunk does not qualify */
    CHUNK_BY_KEY,                   /* keys strictly increase */
    CHUNK_BY_RECNO,                 /* record numbers strictly increase */
};

static char ack_chunk_text[ACK_CHUNK * 48 + 1100];
static pthread_once_t ack_chunk_once = PTHREAD_ONCE_INIT;

/* ack_chunk_build - the chunk statement's text, made once */
static void ack_chunk_build(void)
{
    size_t cap = sizeof ack_chunk_text, n = 0;
    n += (size_t)snprintf(ack_chunk_text + n, cap - n,
        "UPDATE records SET state = a.column2, last_error = a.column3, "
        "receipt = COALESCE(a.column4, receipt), in_doubt = 0, "
        "updated_at = ?1, ack_file = ?2, "
        "ack_record = CAST(a.column5 AS BIGINT), "
        "ack_at = ?1, confirmed_at = CASE WHEN a.column2 = 'confirmed' "
        "THEN ?1 ELSE confirmed_at END, receipt_data = "
        "COALESCE(a.column6, receipt_data) FROM (VALUES ");
    for (int k = 0; k < ACK_CHUNK && n < cap; k++) {
        int b = ACK_CHUNK_BASE + k * ACK_CHUNK_COLS;
        n += (size_t)snprintf(ack_chunk_text + n, cap - n,
                              "%s(?%d,?%d,?%d,?%d,?%d,?%d)", k ? "," : "",
                              b, b + 1, b + 2, b + 3, b + 4, b + 5);
    }
    if (n < cap)
        snprintf(ack_chunk_text + n, cap - n, ") AS a WHERE records.ref = "
                 "a.column1 AND (CAST(?3 AS TEXT) IS NULL OR "
                 "records.target = ?3) "
                 "AND records.state IN ('sent', 'delivered', 'indoubt') "
                 "RETURNING ref, service, target, ack_record");
}

static int key_cmp(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static bool same_target(const char *x, const char *y)
{
    return x == y || (x && y && strcmp(x, y) == 0);
}

/* chunk_ok - may a[0..ACK_CHUNK) go in one statement, and how its rows
 * are matched (see above) */
static enum chunk_match chunk_ok(const struct spool_ack *a)
{
    bool keys_up = true, recs_up = true;
    for (size_t i = 0; i < ACK_CHUNK; i++) {
        if (!a[i].key || a[i].service || !same_target(a[0].target,
                                                      a[i].target))
            return CHUNK_ONE_BY_ONE;
        if (a[i].record_no <= 0 || (i && a[i - 1].record_no >= a[i].record_no))
            recs_up = false;
        if (i && strcmp(a[i - 1].key, a[i].key) >= 0)
            keys_up = false;
    }
    if (keys_up)
        return CHUNK_BY_KEY;        /* increasing: no key twice */
    if (!recs_up)
        return CHUNK_ONE_BY_ONE;
    const char *k[ACK_CHUNK];
    for (size_t i = 0; i < ACK_CHUNK; i++)
        k[i] = a[i].key;
    qsort(k, ACK_CHUNK, sizeof k[0], key_cmp);
    for (size_t i = 1; i < ACK_CHUNK; i++)
        if (strcmp(k[i - 1], k[i]) == 0)
            return CHUNK_ONE_BY_ONE;
    return CHUNK_BY_RECNO;
}

/* chunk_find - the acknowledgement of a[0..ACK_CHUNK) the returned row
 * (ref, recno) belongs to; -1 when none */
static long chunk_find(const struct spool_ack *a, enum chunk_match how,
                       const char *ref, long recno)
{
    size_t lo = 0, hi = ACK_CHUNK;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = how == CHUNK_BY_KEY ? strcmp(a[mid].key, ref)
              : a[mid].record_no < recno ? -1 : a[mid].record_no > recno;
        if (c == 0)
            return strcmp(a[mid].key, ref) == 0 ? (long)mid : -1;
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
                     enum chunk_match how, const char *file, int64_t now,
                     bool *moved,
                     char (*refs)[SPOOL_REF_MAX], struct errs *e)
{
    pthread_once(&ack_chunk_once, ack_chunk_build);
    struct sql_stmt *st = spool_sql(s, ack_chunk_text, e);
    if (!st)
        return -1;
    sql_bind_int64(st, 1, now);
    sql_bind_text(st, 2, file);
    sql_bind_text(st, 3, a[0].target);
    for (int k = 0; k < ACK_CHUNK; k++) {
        int b = ACK_CHUNK_BASE + k * ACK_CHUNK_COLS;
        sql_bind_text(st, b, a[k].key);
        sql_bind_text(st, b + 1, spool_state_name(a[k].accepted
                      ? SPOOL_CONFIRMED : SPOOL_REJECTED));
        if (!a[k].accepted)
            sql_bind_text(st, b + 2, a[k].reason ? a[k].reason : "rejected");
        sql_bind_text(st, b + 3, a[k].receipt);
        if (a[k].record_no > 0)
            sql_bind_int64(st, b + 4, a[k].record_no);
        sql_bind_text(st, b + 5, a[k].receipt_data);
    }
    enum sql_step r;
    while ((r = sql_step(st)) == SQL_STEP_ROW) {
        const char *ref = sql_col_text(st, 0);
        long k = ref ? chunk_find(a, how, ref, (long)sql_col_int64(st, 3))
                     : -1;
        if (k < 0)
            continue;           /* cannot be: the key matched it */
        moved[k] = true;
        if (refs)
            snprintf(refs[k], SPOOL_REF_MAX, "%s", ref);
        /* confirmed is final: counted in this transaction, as ack_fast */
        if (a[k].accepted && spool_tally_final(s, sql_col_text(st, 1),
                                               sql_col_text(st, 2),
                                               spool_state_name(
                                                   SPOOL_CONFIRMED), e)) {
            sql_reset(st);
            return -1;
        }
    }
    sql_reset(st);
    if (r != SQL_STEP_DONE) {
        spool_sqlerr(s, e, file ? file : "", "applying acknowledgements");
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
    struct sql_stmt *st = spool_sql(s, a->service
        ? "SELECT id, state, ref FROM records WHERE service = ?3 AND "
          "fe_ref = ?1 AND (CAST(?2 AS TEXT) IS NULL OR target = ?2) "
          "ORDER BY id DESC LIMIT 1"
        : "SELECT id, state, ref FROM records WHERE ref = ?1 AND "
          "(CAST(?2 AS TEXT) IS NULL OR target = ?2) ORDER BY id LIMIT 1",
        e);
    if (!st)
        return -1;
    sql_bind_text(st, 1, a->key);
    sql_bind_text(st, 2, a->target);
    if (a->service)
        sql_bind_text(st, 3, a->service);
    enum sql_step r = sql_step(st);
    if (r == SQL_STEP_DONE) {
        sql_reset(st);
        *res = SPOOL_ACK_ORPHAN;
        return 0;
    }
    if (r != SQL_STEP_ROW) {
        sql_reset(st);
        spool_sqlerr(s, e, a->key, "matching acknowledgement");
        return -1;
    }
    enum spool_state from;
    int bad = spool_state_parse(sql_col_text(st, 1), &from);
    if (ref)
        snprintf(ref, SPOOL_REF_MAX, "%s", sql_col_text(st, 2));
    sql_reset(st);
    enum spool_state to = a->accepted ? SPOOL_CONFIRMED : SPOOL_REJECTED;
    /* whatever is movable was moved by ack_fast: the rest only reports */
    *res = !bad && from == to ? SPOOL_ACK_ALREADY : SPOOL_ACK_NOT_SENT;
    return 0;
}

/* file_seen - 1 if (name, sha256) was applied, 0 if not, -1; under
 * db_mu */
static int file_seen(struct spool *s, const char *name,
                     const char *sha256_hex, struct errs *e)
{
    struct sql_stmt *st = spool_sql(s, "SELECT 1 FROM ack_files WHERE "
                                    "name = ? AND sha256 = ?", e);
    if (!st)
        return -1;
    sql_bind_text(st, 1, name);
    sql_bind_text(st, 2, sha256_hex);
    enum sql_step r = sql_step(st);
    int rc = r == SQL_STEP_ROW ? 1 : r == SQL_STEP_DONE ? 0 : -1;
    if (rc < 0)
        spool_sqlerr(s, e, name, "reading applied files");
    sql_reset(st);
    return rc;
}

int spool_ack_file_seen(struct spool *s, const char *name,
                        const char *sha256_hex, struct errs *e)
{
    spool_lock(s);
    int rc = file_seen(s, name, sha256_hex, e);
    spool_unlock(s);
    return rc;
}

/* file_once - inside the apply's transaction: refuse a file already
 * applied.  Nodes sharing a ledger apply one file one at a time (the
 * advisory lock "ack-file:NAME"; SQLite's BEGIN IMMEDIATE already lets
 * one writer in), so the second of two finds the first's row and says
 * so, rather than failing at the INSERT.  0 new, -1 (e says why). */
static int file_once(struct spool *s, const char *name,
                     const char *sha256_hex, struct errs *e)
{
    char lk[600];
    snprintf(lk, sizeof lk, "ack-file:%s", name);
    if (sql_lock_xact(s->sql, lk) != 0) {
        spool_sqlerr(s, e, name, "locking the acknowledgement file");
        return -1;
    }
    int seen = file_seen(s, name, sha256_hex, e);
    if (seen == 1)
        errs_add(e, name, "already applied (same name and SHA-256)");
    return seen == 0 ? 0 : -1;
}

/* ack_cache - a big page cache for the duration of one large apply:
 * a million-record file touches more pages than the default 2 MiB holds,
 * and pages spilled mid-transaction are written twice.  SQLite's own
 * setting: a PostgreSQL server keeps its shared buffers for every node.
 * Returns the old setting (0 when unknown, or PostgreSQL: then nothing
 * is changed). */
static int ack_cache(struct spool *s, int size_kib)
{
    if (sql_backend(s->sql) != SQL_SQLITE || size_kib == 0)
        return 0;
    struct sql_stmt *st = sql_prepare(s->sql, "PRAGMA cache_size");
    int old = st && sql_step(st) == SQL_STEP_ROW
              ? (int)sql_col_int64(st, 0) : 0;
    if (st)
        sql_reset(st);
    if (old != 0) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA cache_size = %d", -size_kib);
        sql_exec(s->sql, sql);
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
    sql_exec(s->sql, sql);
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
    spool_lock(s);
    /* half a KiB of page cache per ack, up to 512 MiB; small files keep
     * the default */
    size_t kib = n < 16384 ? 0 : n / 2 < 524288 ? n / 2 : 524288;
    int old_cache = ack_cache(s, (int)kib);
    bool moved[ACK_CHUNK];
    if (spool_begin(s, e) != 0)
        goto unlock;
    if (file_name && file_once(s, file_name, sha256_hex, e) != 0)
        goto rollback;
    for (size_t i = 0; i < n;) {
        /* a whole chunk in one statement when it qualifies; what it did
         * not move (orphans, not sent, already) is told apart below */
        size_t k = 1;
        memset(moved, 0, sizeof moved);
        enum chunk_match how = n - i >= ACK_CHUNK ? chunk_ok(&acks[i])
                               : CHUNK_ONE_BY_ONE;
        if (how != CHUNK_ONE_BY_ONE) {
            k = ACK_CHUNK;
            if (refs)
                for (size_t j = 0; j < k; j++)
                    refs[i + j][0] = '\0';
            if (ack_chunk(s, &acks[i], how, file_name, now, moved,
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
        struct sql_stmt *st = spool_sql(s, "INSERT INTO ack_files(name, "
                                        "sha256, applied_at, records) "
                                        "VALUES(?,?,?,?)", e);
        if (!st)
            goto rollback;
        sql_bind_text(st, 1, file_name);
        sql_bind_text(st, 2, sha256_hex);
        sql_bind_int64(st, 3, now);
        sql_bind_int64(st, 4, (int64_t)n);
        enum sql_step r = sql_step(st);
        sql_reset(st);
        if (r != SQL_STEP_DONE) {
            spool_sqlerr(s, e, file_name, "recording applied file");
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
