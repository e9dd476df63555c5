/* spool_batch.c - the ledger side of the night batch: per target per day
 * sequences, binding queued records to a batch before any file is written
 * (so a rebuild yields the same records in the same order), recording the
 * written file and the hand-over, and finding an unfinished batch after a
 * crash.  Batch states: built -> written -> sent -> confirmed.
 *
 * Everything a batch is lives in the ledger: its state, its members
 * (records.batch_id, and record_history for one requeued since) and,
 * once written, its file's name, count, totals and SHA-256.  So any node
 * on a shared ledger that finds a batch left built or written (its node
 * died) rebuilds the identical file from the ledger and sends it; the
 * moves below are conditional on the state they leave, so the batch is
 * recorded sent once.  Runs on the statement layer (sql.h): the same
 * code on SQLite and PostgreSQL. */
#include "spool/spool_int.h"
#include "spool/spool_row.h"
#include "spool/sql.h"
#include "util/clock.h"
#include "util/crash.h"
#include "util/errs.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const bnames[] = { "built", "written", "sent",
                                      "confirmed" };

const char *spool_batch_state_name(enum spool_batch_state st)
{
    if ((unsigned)st >= sizeof bnames / sizeof bnames[0])
        return "?";
    return bnames[st];
}

static enum spool_batch_state bstate_parse(const char *s)
{
    for (unsigned i = 0; s && i < sizeof bnames / sizeof bnames[0]; i++)
        if (strcmp(bnames[i], s) == 0)
            return (enum spool_batch_state)i;
    return SPOOL_BATCH_BUILT;
}

void spool_batch_free(struct spool_batch *b)
{
    if (!b)
        return;
    free(b->target);
    free(b->file_name);
    free(b->totals);
    free(b->sha256);
    free(b);
}

#define BATCH_COLS "id, target, business_date, seq, state, file_name, " \
    "record_count, totals, sha256, created_at, written_at, sent_at, " \
    "generation"

static struct spool_batch *batch_row(struct sql_stmt *st)
{
    struct spool_batch *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->id = sql_col_int64(st, 0);
    b->target = sql_col_strdup(st, 1);
    const char *d = sql_col_text(st, 2);
    snprintf(b->business_date, sizeof b->business_date, "%s", d ? d : "");
    b->seq = (int)sql_col_int64(st, 3);
    b->state = bstate_parse(sql_col_text(st, 4));
    b->file_name = sql_col_strdup(st, 5);
    b->record_count = sql_col_int64(st, 6);
    b->totals = sql_col_strdup(st, 7);
    b->sha256 = sql_col_strdup(st, 8);
    b->created_at = sql_col_int64(st, 9);
    b->written_at = sql_col_int64(st, 10);
    b->sent_at = sql_col_int64(st, 11);
    b->generation = sql_col_int64(st, 12);
    if (!b->target) {
        spool_batch_free(b);
        return NULL;
    }
    return b;
}

/* one_batch - run a query with one int64 or text parameter; 1 when none */
static int one_batch(struct spool *s, const char *sql, int64_t id,
                     const char *text, struct spool_batch **out,
                     struct errs *e)
{
    int rc = -1;
    *out = NULL;
    struct sql_stmt *st = spool_sql(s, sql, e);
    if (!st)
        return -1;
    if (text)
        sql_bind_text(st, 1, text);
    else
        sql_bind_int64(st, 1, id);
    enum sql_step r = sql_step(st);
    if (r == SQL_STEP_DONE) {
        rc = 1;
    } else if (r == SQL_STEP_ROW) {
        *out = batch_row(st);
        if (*out)
            rc = 0;
        else
            errs_add(e, "", "out of memory");
    } else {
        spool_sqlerr(s, e, NULL, "reading batch");
    }
    sql_reset(st);
    return rc;
}

static int seq_read(struct spool *s, const char *key, int64_t *seq,
                    struct errs *e)
{
    struct sql_stmt *st = spool_sql(s, "SELECT value FROM sequences "
                                    "WHERE name = ?", e);
    if (!st)
        return -1;
    sql_bind_text(st, 1, key);
    enum sql_step r = sql_step(st);
    *seq = r == SQL_STEP_ROW ? sql_col_int64(st, 0) : 0;
    sql_reset(st);
    if (r == SQL_STEP_ERROR) {
        spool_sqlerr(s, e, key, "reading batch sequence");
        return -1;
    }
    return 0;
}

static int date_ok(const char *d)
{
    if (!d || strlen(d) != 10 || d[4] != '-' || d[7] != '-')
        return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (d[i] < '0' || d[i] > '9'))
            return 0;
    return 1;
}

int spool_batch_next_seq(struct spool *s, const char *target,
                         const char *business_date, int *seq, struct errs *e)
{
    char key[512];
    if (!date_ok(business_date)) {
        errs_add(e, target, "business date must be YYYY-MM-DD");
        return -1;
    }
    snprintf(key, sizeof key, "batch:%s:%s", target, business_date);
    int64_t v = 0;
    spool_lock(s);
    int rc = seq_read(s, key, &v, e);
    spool_unlock(s);
    if (rc == 0 && v >= INT_MAX) {
        errs_add(e, target, "the batch sequence is exhausted");
        rc = -1;
    }
    if (rc == 0)
        *seq = (int)v + 1;
    return rc;
}

int spool_batch_next_generation(struct spool *s, const char *target,
                                int64_t *gen, struct errs *e)
{
    char key[512];
    snprintf(key, sizeof key, "gen:%s", target);
    spool_lock(s);
    int rc = seq_read(s, key, gen, e);
    spool_unlock(s);
    if (rc == 0)
        (*gen)++;
    return rc;
}

/* step_done - step st once (its rows, if any, unwanted) and reset it */
static int step_done(struct spool *s, struct sql_stmt *st, const char *what,
                     struct errs *e)
{
    enum sql_step r = sql_step(st);
    sql_reset(st);
    if (r == SQL_STEP_ERROR) {
        spool_sqlerr(s, e, NULL, what);
        return -1;
    }
    return 0;
}

/* seq_take - the next value of sequence key, saved (inside the caller's
 * transaction); -1 with e */
static int seq_take(struct spool *s, const char *key, int64_t *out,
                    struct errs *e)
{
    int64_t v = 0;
    if (seq_read(s, key, &v, e) != 0)
        return -1;
    if (v >= INT_MAX) {
        errs_add(e, key, "the sequence is exhausted");
        return -1;
    }
    v++;
    struct sql_stmt *st = spool_sql(s, "INSERT INTO sequences(name, value) "
                                    "VALUES(?, ?) ON CONFLICT(name) DO UPDATE "
                                    "SET value = excluded.value", e);
    if (!st)
        return -1;
    sql_bind_text(st, 1, key);
    sql_bind_int64(st, 2, v);
    if (step_done(s, st, "saving batch sequence", e) != 0)
        return -1;
    *out = v;
    return 0;
}

int spool_batch_bind(struct spool *s, const char *target,
                     const char *business_date, size_t max,
                     struct spool_batch **out, struct errs *e)
{
    char key[512], gkey[512];
    int64_t seq = 0, gen = 0;
    int rc = -1;
    int64_t now = clock_wall_ms(), bid = 0;
    *out = NULL;
    if (!target || !*target || !date_ok(business_date)) {
        errs_add(e, target ? target : "", "batch needs a target and a "
                 "business date YYYY-MM-DD");
        return -1;
    }
    if (spool_transition_need(SPOOL_QUEUED, SPOOL_BATCHED, target, e) != 0)
        return -1;
    snprintf(key, sizeof key, "batch:%s:%s", target, business_date);
    snprintf(gkey, sizeof gkey, "gen:%s", target);
    spool_lock(s);
    if (spool_begin(s, e) != 0)
        goto unlock;
    /* nodes sharing a ledger bind one target's batches one at a time:
     * the second waits here and then takes the next sequence (a no-op
     * on SQLite, where BEGIN IMMEDIATE already lets one writer in) */
    char lkey[520];
    snprintf(lkey, sizeof lkey, "batch-bind:%s", target);
    if (sql_lock_xact(s->sql, lkey) != 0) {
        spool_sqlerr(s, e, target, "locking the batch sequence");
        goto rollback;
    }
    if (seq_take(s, key, &seq, e) != 0 || seq_take(s, gkey, &gen, e) != 0)
        goto rollback;
    struct sql_stmt *st = spool_sql(s, "INSERT INTO batches(target, "
                    "business_date, seq, state, created_at, generation) "
                    "VALUES(?, ?, ?, 'built', ?, ?) RETURNING id", e);
    if (!st)
        goto rollback;
    sql_bind_text(st, 1, target);
    sql_bind_text(st, 2, business_date);
    sql_bind_int64(st, 3, seq);
    sql_bind_int64(st, 4, now);
    sql_bind_int64(st, 5, gen);
    if (sql_step(st) != SQL_STEP_ROW) {
        sql_reset(st);
        spool_sqlerr(s, e, target, "creating batch");
        goto rollback;
    }
    bid = sql_col_int64(st, 0);
    sql_reset(st);
    st = spool_sql(s, max
        ? "UPDATE records SET state = 'batched', batch_id = ?1, "
          "updated_at = ?2 WHERE id IN (SELECT id FROM records WHERE "
          "target = ?3 AND state = 'queued' ORDER BY id LIMIT ?4)"
        : "UPDATE records SET state = 'batched', batch_id = ?1, "
          "updated_at = ?2 WHERE target = ?3 AND state = 'queued'", e);
    if (!st)
        goto rollback;
    sql_bind_int64(st, 1, bid);
    sql_bind_int64(st, 2, now);
    sql_bind_text(st, 3, target);
    if (max)
        sql_bind_int64(st, 4, (int64_t)max);
    if (sql_step(st) == SQL_STEP_ERROR) {
        spool_sqlerr(s, e, NULL, "binding records");
        goto rollback;
    }
    /* The batch's members are its records' batch_id, in id order (and,
     * for one requeued since, its record_history row): no second copy of
     * a million ids is written at bind.  batch_members stays for older
     * ledgers' batches and is no longer filled. */
    int64_t count = sql_changes(st);
    sql_reset(st);
    st = spool_sql(s, "UPDATE batches SET record_count = ? WHERE id = ?", e);
    if (!st)
        goto rollback;
    sql_bind_int64(st, 1, count);
    sql_bind_int64(st, 2, bid);
    if (step_done(s, st, "counting batch", e) != 0)
        goto rollback;
    crash_point("batch-bind-before-commit");
    if (spool_commit(s, e) != 0)
        goto unlock;
    crash_point("batch-bind-after-commit");
    rc = one_batch(s, "SELECT " BATCH_COLS " FROM batches WHERE id = ?",
                   bid, NULL, out, e) == 0 ? 0 : -1;
    goto unlock;
rollback:
    spool_rollback(s);
unlock:
    spool_unlock(s);
    return rc;
}

int spool_batch_get(struct spool *s, int64_t id, struct spool_batch **out,
                    struct errs *e)
{
    spool_lock(s);
    int rc = one_batch(s, "SELECT " BATCH_COLS " FROM batches WHERE id = ?",
                       id, NULL, out, e);
    spool_unlock(s);
    return rc;
}

int spool_batch_unfinished(struct spool *s, const char *target,
                           struct spool_batch **out, struct errs *e)
{
    spool_lock(s);
    int rc = one_batch(s, "SELECT " BATCH_COLS " FROM batches WHERE "
                       "target = ? AND state IN ('built','written') "
                       "ORDER BY id LIMIT 1", 0, target, out, e);
    spool_unlock(s);
    return rc;
}

int spool_batch_list(struct spool *s, const char *target, size_t limit,
                     struct spool_batch ***out, size_t *n, struct errs *e)
{
    int rc = -1;
    enum sql_step step;
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    spool_lock(s);
    struct sql_stmt *st = spool_sql(s, "SELECT " BATCH_COLS " FROM batches "
                                    "WHERE (CAST(?1 AS TEXT) IS NULL "
                                    "OR target = ?1) "
                                    "ORDER BY id DESC LIMIT ?2", e);
    if (!st)
        goto done;
    sql_bind_text(st, 1, target);
    sql_bind_int64(st, 2, limit ? (int64_t)limit : INT64_MAX);
    while ((step = sql_step(st)) == SQL_STEP_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            struct spool_batch **v = realloc(*out, cap * sizeof *v);
            if (!v)
                goto nomem;
            *out = v;
        }
        struct spool_batch *b = batch_row(st);
        if (!b)
            goto nomem;
        (*out)[(*n)++] = b;
    }
    if (step != SQL_STEP_DONE) {
        spool_sqlerr(s, e, NULL, "listing batches");
        goto done;
    }
    rc = 0;
    goto done;
nomem:
    errs_add(e, "", "out of memory");
done:
    if (st)
        sql_reset(st);
    spool_unlock(s);
    if (rc != 0) {
        for (size_t i = 0; i < *n; i++)
            spool_batch_free((*out)[i]);
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

/* A batch is read in keyset pages (spool_page_rows): its rows by id
 * after the last row of the page before.  PostgreSQL hands a statement's
 * rows over whole, so a million-record batch must not be one answer
 * there; SQLite's page is unbounded, one pass as before. */
typedef int (*batch_row_fn)(struct spool *s, struct sql_stmt *st, void *arg,
                            struct errs *e);

/* batch_pages - every row of sql (?1 batch_id, ?2 the last id, ?3 the
 * page; the row's id its first column) to row, which returns 0 to go
 * on, non-zero to stop (returned), -1 with e filled.  Under db_mu. */
static int batch_pages(struct spool *s, const char *sql, int64_t batch_id,
                       batch_row_fn row, void *arg, struct errs *e)
{
    int rc = 0;
    int64_t last = 0;
    size_t page = spool_page_rows(s), rows = page;
    spool_lock(s);
    while (rc == 0 && rows == page) {
        struct sql_stmt *st = spool_sql(s, sql, e);
        if (!st) {
            rc = -1;
            break;
        }
        sql_bind_int64(st, 1, batch_id);
        sql_bind_int64(st, 2, last);
        sql_bind_int64(st, 3, (int64_t)page);
        enum sql_step step = SQL_STEP_DONE;
        for (rows = 0; rc == 0 && (step = sql_step(st)) == SQL_STEP_ROW;
             rows++) {
            last = sql_col_int64(st, 0);
            rc = row(s, st, arg, e);
        }
        if (rc == 0 && step == SQL_STEP_ERROR) {
            spool_sqlerr(s, e, NULL, "reading batch records");
            rc = -1;
        }
        sql_reset(st);
    }
    spool_unlock(s);
    return rc;
}

struct full_arg {
    int (*cb)(void *ctx, const struct spool_record *r);
    void *ctx;
};

/* full_row - one whole record to the caller's callback */
static int full_row(struct spool *s, struct sql_stmt *st, void *arg,
                    struct errs *e)
{
    const struct full_arg *a = arg;
    struct spool_record r;
    int stop = -1;
    if (spool_row_fill_sql(s, st, 1, &r) != 0)
        errs_add(e, "", "out of memory");
    else
        stop = a->cb(a->ctx, &r);
    spool_record_clear(&r);
    return stop;
}

int spool_batch_foreach(struct spool *s, int64_t batch_id,
                        int (*cb)(void *ctx, const struct spool_record *r),
                        void *ctx, struct errs *e)
{
    /* Records were bound in id order, so id order is bound order.  A
     * member requeued since keeps the batch in its record_history row
     * (and, until it is bound again, in batch_id); batches bound by
     * earlier versions also listed their members in batch_members. */
    static const char sql[] = "SELECT " SPOOL_REC_COLS " FROM records_full "
        "WHERE (batch_id = ?1 OR id IN (SELECT record_id FROM "
        "record_history WHERE batch_id = ?1) OR id IN (SELECT record_id "
        "FROM batch_members WHERE batch_id = ?1)) AND id > ?2 ORDER BY id "
        "LIMIT ?3";
    struct full_arg a = { cb, ctx };
    return batch_pages(s, sql, batch_id, full_row, &a, e);
}

/* json_text - the plain record JSON of a mapped row as a string: SQLite
 * gives its text terminated, in place; PostgreSQL's BYTEA comes back
 * unescaped and unterminated, so it is copied into *buf (grown, kept
 * between rows; the caller frees).  NULL when out of memory. */
static const char *json_text(struct spool *s, struct sql_stmt *st, int col,
                             char **buf, size_t *cap)
{
    if (sql_backend(s->sql) == SQL_SQLITE)
        return sql_col_text(st, col);
    size_t n = 0;
    const char *p = sql_col_blob(st, col, &n);
    if (!p)
        return NULL;
    if (n + 1 > *cap) {
        char *v = realloc(*buf, n + 1);
        if (!v)
            return NULL;
        *buf = v;
        *cap = n + 1;
    }
    memcpy(*buf, p, n);
    (*buf)[n] = '\0';
    return *buf;
}

struct mapped_arg {
    int (*cb)(void *ctx, const struct spool_record *r);
    void *ctx;
    char *jbuf;                    /* json_text's copy (PostgreSQL) */
    size_t jcap;
};

/* mapped_row - one row of spool_batch_foreach_mapped's query to cb (the
 * stored encoding first, then the JSON if cb asks); cb's answer, or -1
 * with e filled */
static int mapped_row(struct spool *s, struct sql_stmt *st, void *arg,
                      struct errs *e)
{
    struct mapped_arg *a = arg;
    struct spool_record r;
    unsigned char *plain = NULL, *enc = NULL;
    size_t plainn = 0, encn = 0;
    const char *why = NULL;
    memset(&r, 0, sizeof r);
    r.id = sql_col_int64(st, 0);
    /* borrowed from the row: valid until the next step */
    r.ref = (char *)sql_col_text(st, 1);
    r.service = (char *)sql_col_text(st, 2);
    r.target = (char *)sql_col_text(st, 3);
    if (spool_state_parse(sql_col_text(st, 4), &r.state) != 0)
        r.state = SPOOL_RECEIVED;
    r.batch_id = sql_col_int64(st, 5);
    r.received_at = sql_col_int64(st, 6);
    r.encrypted = sql_col_int64(st, 7) != 0;
    r.delivery_id = (char *)sql_col_text(st, 9);
    if (!r.ref || !r.service || !r.target || !r.delivery_id) {
        errs_add(e, "", "out of memory");
        return -1;
    }
    int stop = SPOOL_CB_NEED_JSON;
    /* the stored encoding first: no JSON is read for a record that has
     * one its format still takes.  One that does not open is treated as
     * absent (the JSON says why, if it cannot open too). */
    size_t n = 0;
    const unsigned char *p = sql_col_blob(st, 10, &n);
    if (p && n) {
        if (!r.encrypted) {
            r.encoded = p;
            r.encoded_len = n;
        } else if (spool_open_sealed(s, r.ref, "encoded", p, n, &enc, &encn,
                                     &why) == 0) {
            r.encoded = enc;
            r.encoded_len = encn;
        }
        why = NULL;
        if (r.encoded)
            stop = a->cb(a->ctx, &r);
        r.encoded = NULL;
        r.encoded_len = 0;
        if (enc) {
            explicit_bzero(enc, encn);
            free(enc);
        }
    }
    if (stop != SPOOL_CB_NEED_JSON)
        return stop;
    if (!sql_col_null(st, 8)) {
        if (!r.encrypted) {
            r.record_json = (char *)json_text(s, st, 8, &a->jbuf,
                                              &a->jcap);
            if (!r.record_json) {
                errs_add(e, "", "out of memory");
                return -1;
            }
        } else {
            p = sql_col_blob(st, 8, &n);
            if (spool_open_sealed(s, r.ref, "record", p, n, &plain, &plainn,
                                  &why) != 0)
                r.crypt_error = (char *)(why ? why : "cannot be decrypted");
            else
                r.record_json = (char *)plain;
        }
    }
    stop = a->cb(a->ctx, &r);
    if (plain) {
        explicit_bzero(plain, plainn);
        free(plain);
    }
    return stop == SPOOL_CB_NEED_JSON ? 0 : stop;
}

int spool_batch_foreach_mapped(struct spool *s, int64_t batch_id,
                               int (*cb)(void *ctx,
                                         const struct spool_record *r),
                               void *ctx, struct errs *e)
{
    /* Bound records carry batch_id; records_batch gives them in id order,
     * which is bound order.  A record that left the batch since (dead
     * letter, requeued and bound elsewhere) is still passed on with its
     * state and batch_id, as spool_batch_foreach does for the members,
     * and the caller decides. */
    static const char sql[] = "SELECT r.id, r.ref, r.service, r.target, "
        "r.state, r.batch_id, r.received_at, r.payload_enc, d.record_json, "
        "r.delivery_id, d.encoded FROM records r LEFT JOIN record_data d "
        "ON d.id = r.id WHERE r.batch_id = ?1 AND r.id > ?2 ORDER BY r.id "
        "LIMIT ?3";
    struct mapped_arg a = { cb, ctx, NULL, 0 };
    int rc = batch_pages(s, sql, batch_id, mapped_row, &a, e);
    free(a.jbuf);
    return rc;
}

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int spool_batch_written(struct spool *s, int64_t batch_id,
                        const char *file_name, int64_t record_count,
                        const char *totals, const char *sha256_hex,
                        struct errs *e)
{
    struct spool_batch *b = NULL;
    int rc = -1;
    char where[32];
    snprintf(where, sizeof where, "batch %lld", (long long)batch_id);
    spool_lock(s);
    if (spool_begin(s, e) != 0)
        goto unlock;
    /* FOR UPDATE on PostgreSQL: a second node recording the same
     * rebuilt file waits for the first and then compares with it */
    int r = one_batch(s, sql_backend(s->sql) == SQL_POSTGRESQL
                      ? "SELECT " BATCH_COLS " FROM batches WHERE id = ? "
                        "FOR UPDATE"
                      : "SELECT " BATCH_COLS " FROM batches WHERE id = ?",
                      batch_id, NULL, &b, e);
    if (r == 1)
        errs_add(e, where, "no such batch");
    if (r != 0)
        goto rollback;
    if (b->state != SPOOL_BATCH_BUILT) {
        /* A rebuild must give the very same file. */
        if (!same(b->file_name, file_name) || b->record_count != record_count
            || !same(b->totals, totals) || !same(b->sha256, sha256_hex)) {
            errs_add(e, where, "rebuilt file differs from the one recorded "
                     "(%s, %lld records, sha256 %s)",
                     b->file_name ? b->file_name : "?",
                     (long long)b->record_count,
                     b->sha256 ? b->sha256 : "?");
            goto rollback;
        }
        spool_rollback(s);
        rc = 0;
        goto unlock;
    }
    struct sql_stmt *st = spool_sql(s, "UPDATE batches SET state = 'written',"
                                    " file_name = ?, record_count = ?, "
                                    "totals = ?, sha256 = ?, written_at = ? "
                                    "WHERE id = ? AND state = 'built'", e);
    if (!st)
        goto rollback;
    sql_bind_text(st, 1, file_name);
    sql_bind_int64(st, 2, record_count);
    sql_bind_text(st, 3, totals);
    sql_bind_text(st, 4, sha256_hex);
    sql_bind_int64(st, 5, clock_wall_ms());
    sql_bind_int64(st, 6, batch_id);
    if (step_done(s, st, "recording batch file", e) != 0)
        goto rollback;
    crash_point("batch-written-before-commit");
    if (spool_commit(s, e) != 0)
        goto unlock;
    rc = 0;
    goto unlock;
rollback:
    spool_rollback(s);
unlock:
    spool_unlock(s);
    spool_batch_free(b);
    return rc;
}

/* A batch's moves after written: the batch from one state to the next
 * (only from that state: of two nodes finishing one batch, one moves
 * it), stamped, with its records when they move too. */
struct batch_step {
    const char *from, *to;
    const char *sql;                 /* ?1 to, ?2 now, ?3 id, ?4 from */
    enum spool_state rfrom, rto;
    bool move_records;
    const char *crash;
};

static const struct batch_step step_sent = {
    "written", "sent", "UPDATE batches SET state = ?1, sent_at = ?2 "
    "WHERE id = ?3 AND state = ?4", SPOOL_BATCHED, SPOOL_SENT, true,
    "batch-sent-before-commit"
};
static const struct batch_step step_confirmed = {
    "sent", "confirmed", "UPDATE batches SET state = ?1, confirmed_at = ?2 "
    "WHERE id = ?3 AND state = ?4", SPOOL_SENT, SPOOL_SENT, false,
    "batch-confirmed-before-commit"
};

/* batch_move - batch_id through step m, in one transaction */
static int batch_move(struct spool *s, int64_t batch_id,
                      const struct batch_step *m, struct errs *e)
{
    char where[32];
    int rc = -1;
    int64_t now = clock_wall_ms();
    snprintf(where, sizeof where, "batch %lld", (long long)batch_id);
    if (m->move_records && spool_transition_need(m->rfrom, m->rto, where,
                                                 e) != 0)
        return -1;
    spool_lock(s);
    if (spool_begin(s, e) != 0)
        goto end;
    struct sql_stmt *st = spool_sql(s, m->sql, e);
    if (!st)
        goto end;
    sql_bind_text(st, 1, m->to);
    sql_bind_int64(st, 2, now);
    sql_bind_int64(st, 3, batch_id);
    sql_bind_text(st, 4, m->from);
    if (sql_step(st) == SQL_STEP_ERROR) {
        spool_sqlerr(s, e, where, "updating batch");
        goto end;
    }
    int64_t moved = sql_changes(st);
    sql_reset(st);
    if (moved != 1) {
        errs_add(e, where, "batch is not %s", m->from);
        goto end;
    }
    if (m->move_records) {
        st = spool_sql(s, "UPDATE records SET state = ?1, updated_at = ?2, "
                       "confirmed_at = CASE WHEN ?1 = 'confirmed' THEN ?2 "
                       "ELSE confirmed_at END "
                       "WHERE batch_id = ?3 AND state = ?4", e);
        if (!st)
            goto end;
        sql_bind_text(st, 1, spool_state_name(m->rto));
        sql_bind_int64(st, 2, now);
        sql_bind_int64(st, 3, batch_id);
        sql_bind_text(st, 4, spool_state_name(m->rfrom));
        if (step_done(s, st, "moving batch records", e) != 0)
            goto end;
    }
    crash_point(m->crash);
    rc = 0;
end:
    rc = spool_end(s, rc, e);
    return rc;
}

int spool_batch_sent(struct spool *s, int64_t batch_id, struct errs *e)
{
    return batch_move(s, batch_id, &step_sent, e);
}

int spool_batch_confirmed(struct spool *s, int64_t batch_id, struct errs *e)
{
    return batch_move(s, batch_id, &step_confirmed, e);
}
