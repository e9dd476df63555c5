/* spool_deliver.c - the ledger side of stream delivery: claiming due
 * records under a lease, recording outcomes (attempt row + state change in
 * one transaction), releasing claims, and the dead letter for a record that
 * cannot be encoded.  Each target's breaker and stop state (a row per
 * target, read by every node on a shared ledger) is in spool_state.c.
 *
 * On the statement layer (sql.h): the same code runs on SQLite and on
 * PostgreSQL.  Where several nodes share a PostgreSQL ledger, a claim
 * locks the rows it takes FOR UPDATE SKIP LOCKED (another node's claim in
 * progress is passed over, never waited for, never taken twice) and
 * leases are measured by the database's clock (spool_pg_now_ms), so nodes
 * with skewed clocks agree when one has run out; an outcome locks its row
 * before it judges who holds the claim.  On SQLite, BEGIN IMMEDIATE lets
 * one writer in at a time and the caller's clock is the lease clock.
 *
 * Policy (delays, maximums, windows, breaker) belongs to the caller; the
 * spool only keeps what the caller decided, durably. */
#include "spool/pg_spool.h"
#include "spool/spool_int.h"
#include "spool/spool_row.h"
#include "spool/sql.h"
#include "util/clock.h"
#include "util/crash.h"
#include "util/errs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int add_attempt(struct spool *s, int64_t rec_id, const char *target,
                       int64_t started, int64_t ended, const char *outcome,
                       const char *msg, struct errs *e)
{
    struct sql_stmt *st = spool_sql(s, "INSERT INTO attempts(record_id, "
                                    "target, started_at, ended_at, outcome, "
                                    "message) VALUES(?,?,?,?,?,?)", e);
    if (!st)
        return -1;
    sql_bind_int64(st, 1, rec_id);
    sql_bind_text(st, 2, target ? target : "");
    sql_bind_int64(st, 3, started);
    sql_bind_int64(st, 4, ended);
    sql_bind_text(st, 5, outcome);
    sql_bind_text(st, 6, msg);
    enum sql_step r = sql_step(st);
    sql_reset(st);
    if (r != SQL_STEP_DONE) {
        spool_sqlerr(s, e, NULL, "recording attempt");
        return -1;
    }
    return 0;
}

/* expired_attempt - the attempt row of a claim whose lease ran out
 * (started at the lease's end, ended at lease_now, on the lease clock),
 * naming the node that held it; its message goes to msg */
static int expired_attempt(struct spool *s, const struct spool_record *r,
                           int64_t lease_now, char *msg, size_t msgsz,
                           struct errs *e)
{
    snprintf(msg, msgsz, "lease of %s expired; outcome unknown",
             r->lease_owner ? r->lease_owner : "?");
    return add_attempt(s, r->id, r->target, r->lease_until, lease_now,
                       "expired", msg, e);
}

/* expire_to_indoubt - a lease ran out and the target does not allow a
 * second call of unknown outcome: record it and park it in doubt. */
static int expire_to_indoubt(struct spool *s, struct spool_record *r,
                             int64_t now, int64_t lease_now, struct errs *e)
{
    char msg[256];
    if (expired_attempt(s, r, lease_now, msg, sizeof msg, e) != 0)
        return -1;
    if (spool_transition_need(SPOOL_DELIVERING, SPOOL_INDOUBT, r->ref, e) != 0)
        return -1;
    struct sql_stmt *st = spool_sql(s, "UPDATE records SET state = "
                                    "'indoubt', in_doubt = 1, lease_owner = "
                                    "NULL, lease_until = 0, last_error = ?, "
                                    "updated_at = ? WHERE id = ? AND "
                                    "state = 'delivering'", e);
    if (!st)
        return -1;
    sql_bind_text(st, 1, msg);
    sql_bind_int64(st, 2, now);
    sql_bind_int64(st, 3, r->id);
    int rc = sql_step(st) == SQL_STEP_DONE ? 0 : -1;
    sql_reset(st);
    if (rc)
        spool_sqlerr(s, e, r->ref, "parking expired claim");
    return rc;
}

/* Up to CLAIM_CHUNK plain claims (queued, deferred or in-doubt rows, not
 * expired leases) are moved by one statement: per-row UPDATEs spent as
 * much in statement start and finish as in the row itself.  Unbound
 * places are NULL and match nothing. */
#define CLAIM_CHUNK 64
#define Q8 "?,?,?,?,?,?,?,?"
static const char claim_many_sql[] = "UPDATE records SET "
    "state = 'delivering', lease_owner = ?1, lease_until = ?2, "
    "claimed_at = ?3, attempts = attempts + 1, updated_at = ?3 "
    "WHERE state IN ('queued','deferred','indoubt') AND id IN ("
    Q8 "," Q8 "," Q8 "," Q8 "," Q8 "," Q8 "," Q8 "," Q8 ")";
#undef Q8

/* claim_many - claim the n (<= CLAIM_CHUNK) records ids for owner; every
 * one must still be claimable, or nothing is (-1, e says why) */
static int claim_many(struct spool *s, const char *target, const char *owner,
                      int64_t lease_until, int64_t now, const int64_t *ids,
                      size_t n, struct errs *e)
{
    struct sql_stmt *u = spool_sql(s, claim_many_sql, e);
    if (!u)
        return -1;
    sql_bind_text(u, 1, owner);
    sql_bind_int64(u, 2, lease_until);
    sql_bind_int64(u, 3, now);
    for (size_t i = 0; i < n; i++)
        sql_bind_int64(u, 4 + (int)i, ids[i]);
    enum sql_step ur = sql_step(u);
    size_t changed = (size_t)sql_changes(u);
    sql_reset(u);
    if (ur != SQL_STEP_DONE) {
        spool_sqlerr(s, e, target, "claiming");
        return -1;
    }
    if (changed != n) {
        errs_add(e, target, "claim: %zu of %zu records changed under it",
                 n - changed, n);
        return -1;
    }
    return 0;
}

/* append_rows - every SPOOL_REC_COLS row st gives (with payload),
 * appended to out (growing it; *cap its room); st is reset */
static int append_rows(struct spool *s, struct sql_stmt *st,
                       const char *target, struct spool_list *out,
                       size_t *cap, struct errs *e)
{
    enum sql_step step;
    while ((step = sql_step(st)) == SQL_STEP_ROW) {
        struct spool_record *r = calloc(1, sizeof *r);
        if (!r || out->n == *cap) {
            size_t nc = *cap ? *cap * 2 : 16;
            struct spool_record **v = r ? realloc(out->v, nc * sizeof *v)
                                        : NULL;
            if (!v) {
                free(r);
                sql_reset(st);
                errs_add(e, target, "out of memory");
                return -1;
            }
            out->v = v;
            *cap = nc;
        }
        if (spool_row_fill_sql(s, st, 1, r) != 0) {
            spool_record_free(r);
            sql_reset(st);
            errs_add(e, target, "out of memory");
            return -1;
        }
        out->v[out->n++] = r;
    }
    sql_reset(st);
    if (step != SQL_STEP_DONE) {
        spool_sqlerr(s, e, target, "finding due records");
        return -1;
    }
    return 0;
}

/* read_due - the records of target a claim may take now, up to max, in
 * id order, into out (growing it); SQLite, where the claim's transaction
 * already holds the only write lock */
static int read_due(struct spool *s, const char *target, int64_t now,
                    size_t max, bool allow_indoubt, struct spool_list *out,
                    struct errs *e)
{
    /* One index range per state, each read in records_due order and cut
     * at the limit, so a claim costs O(max) however many records wait:
     * a single ORDER BY id over every due row sorted all of them on each
     * claim (100,000 queued rows: 100 claims x 50,000 rows).  Queued rows
     * all have next_attempt_at 0, so they come oldest (lowest id) first;
     * deferred and in-doubt rows come most overdue first; the union is
     * then taken in id order. */
    static const char sel[] = "SELECT " SPOOL_REC_COLS " FROM records_full "
        "WHERE id IN ("
        "SELECT id FROM (SELECT id FROM records WHERE target = ?1 AND "
        "state = 'queued' AND next_attempt_at <= ?2 "
        "ORDER BY next_attempt_at, id LIMIT ?4) "
        "UNION ALL SELECT id FROM (SELECT id FROM records WHERE "
        "target = ?1 AND state = 'deferred' AND next_attempt_at <= ?2 "
        "ORDER BY next_attempt_at, id LIMIT ?4) "
        "UNION ALL SELECT id FROM (SELECT id FROM records WHERE "
        "target = ?1 AND state = 'delivering' AND lease_until <= ?2 "
        "ORDER BY id LIMIT ?4) "
        "UNION ALL SELECT id FROM (SELECT id FROM records WHERE ?3 = 1 "
        "AND target = ?1 AND state = 'indoubt' AND next_attempt_at <= ?2 "
        "ORDER BY next_attempt_at, id LIMIT ?4)) "
        "ORDER BY id LIMIT ?4";
    size_t cap = 0;
    struct sql_stmt *st = spool_sql(s, sel, e);
    if (!st)
        return -1;
    sql_bind_text(st, 1, target);
    sql_bind_int64(st, 2, now);
    sql_bind_int64(st, 3, allow_indoubt ? 1 : 0);
    sql_bind_int64(st, 4, (int64_t)max);
    return append_rows(s, st, target, out, &cap, e);
}

/* Up to CLAIM_CHUNK whole rows by id, for the PostgreSQL claim (unbound
 * places are NULL and match nothing). */
#define Q8 "?,?,?,?,?,?,?,?"
static const char rows_by_id_sql[] = "SELECT " SPOOL_REC_COLS
    " FROM records_full WHERE id IN ("
    Q8 "," Q8 "," Q8 "," Q8 "," Q8 "," Q8 "," Q8 "," Q8 ") ORDER BY id";
#undef Q8

/* lock_due_pg - read_due on a PostgreSQL ledger several nodes share:
 * lock the due rows no other transaction holds (spool_pg_lock_due), then
 * read the locked rows whole.  Two statements, so the rows read are the
 * ones locked as they are after the lock.  Due by now (the caller's
 * clock wrote next_attempt_at); a lease ran out by lease_now (the
 * database's clock). */
static int lock_due_pg(struct spool *s, const char *target, int64_t now,
                       int64_t lease_now, size_t max, bool allow_indoubt,
                       struct spool_list *out, struct errs *e)
{
    int64_t *ids = malloc(max * sizeof *ids);
    size_t cap = 0;
    int rc = -1;
    if (!ids) {
        errs_add(e, target, "out of memory");
        return -1;
    }
    int n = spool_pg_lock_due(s->sql, target, now, lease_now, allow_indoubt,
                              max, ids, e);
    for (int i = 0; i < n; i += CLAIM_CHUNK) {
        struct sql_stmt *rd = spool_sql(s, rows_by_id_sql, e);
        if (!rd)
            goto done;
        for (int j = i; j < n && j < i + CLAIM_CHUNK; j++)
            sql_bind_int64(rd, 1 + (j - i), ids[j]);
        if (append_rows(s, rd, target, out, &cap, e) != 0)
            goto done;
    }
    rc = n < 0 ? -1 : 0;
done:
    free(ids);
    return rc;
}

/* claim_expired - take over one record whose lease ran out (its attempt
 * row is already written): one UPDATE guarded by its state */
static int claim_expired(struct spool *s, const struct spool_record *r,
                         const char *owner, int64_t lease_until, int64_t now,
                         struct errs *e)
{
    static const char upd[] = "UPDATE records SET state = 'delivering', "
        "lease_owner = ?, lease_until = ?, claimed_at = ?, "
        "attempts = attempts + 1, in_doubt = ?, updated_at = ? "
        "WHERE id = ? AND state = ?";
    struct sql_stmt *u = spool_sql(s, upd, e);
    if (!u)
        return -1;
    sql_bind_text(u, 1, owner);
    sql_bind_int64(u, 2, lease_until);
    sql_bind_int64(u, 3, now);
    sql_bind_int64(u, 4, r->in_doubt ? 1 : 0);
    sql_bind_int64(u, 5, now);
    sql_bind_int64(u, 6, r->id);
    sql_bind_text(u, 7, spool_state_name(r->state));
    enum sql_step ur = sql_step(u);
    size_t changed = (size_t)sql_changes(u);
    sql_reset(u);
    if (ur != SQL_STEP_DONE) {
        spool_sqlerr(s, e, r->ref, "claiming");
        return -1;
    }
    if (changed != 1) {
        errs_add(e, r->ref, "claim: the record changed under it");
        return -1;
    }
    return 0;
}

int spool_claim(struct spool *s, const char *target, const char *owner,
                int64_t lease_ms, size_t max, bool allow_indoubt,
                int64_t now_ms, struct spool_list *out, struct errs *e)
{
    int64_t now = now_ms ? now_ms : clock_wall_ms();
    int rc = -1;
    out->v = NULL;
    out->n = 0;
    if (!owner || !target || max == 0) {
        errs_add(e, target ? target : "", "claim needs target, owner, max");
        return -1;
    }
    spool_lock(s);
    if (spool_begin(s, e) != 0)
        goto end;
    /* the lease clock: the database's where nodes share the ledger */
    int64_t lease_now = now;
    bool shared = sql_backend(s->sql) == SQL_POSTGRESQL;
    if (shared && spool_pg_now_ms(s->sql, &lease_now, e) != 0)
        goto end;
    if ((shared ? lock_due_pg(s, target, now, lease_now, max, allow_indoubt,
                              out, e)
                : read_due(s, target, now, max, allow_indoubt, out, e)) != 0)
        goto end;
    int64_t lease_until = lease_now + lease_ms;
    /* Now move them; the select's cursor is closed, so updates are safe.
     * Expired leases one by one (each gets its attempt row); the rest in
     * chunks of CLAIM_CHUNK, flushed as they fill and at the end. */
    size_t kept = 0;
    int64_t ids[CLAIM_CHUNK];
    size_t nids = 0;
    for (size_t i = 0; i < out->n; i++) {
        struct spool_record *r = out->v[i];
        if (r->crypt_error) {
            errs_add(e, r->ref, "%s; not delivered", r->crypt_error);
            spool_record_free(r);
            continue;
        }
        bool expired = r->state == SPOOL_DELIVERING;
        if (expired && !allow_indoubt) {
            if (expire_to_indoubt(s, r, now, lease_now, e) != 0)
                goto rollback_kept;
            spool_record_free(r);
            continue;
        }
        if (expired) {
            char msg[256];
            if (expired_attempt(s, r, lease_now, msg, sizeof msg, e) != 0)
                goto rollback_kept;
            r->in_doubt = true;
        }
        if (!spool_transition_ok(r->state, SPOOL_DELIVERING)) {
            errs_add(e, r->ref, "a %s record cannot be claimed",
                     spool_state_name(r->state));
            goto rollback_kept;
        }
        if (expired) {
            if (claim_expired(s, r, owner, lease_until, now, e) != 0)
                goto rollback_kept;
        } else {
            ids[nids++] = r->id;
        }
        r->state = SPOOL_DELIVERING;
        r->attempts++;
        free(r->lease_owner);
        r->lease_owner = strdup(owner);
        r->lease_until = lease_until;
        out->v[kept++] = r;
        if (nids == CLAIM_CHUNK) {
            if (claim_many(s, target, owner, lease_until, now, ids, nids,
                           e) != 0) {
                for (size_t j = i + 1; j < out->n; j++)
                    spool_record_free(out->v[j]);
                out->n = kept;
                goto end;
            }
            nids = 0;
        }
        continue;
rollback_kept:
        /* free what was not yet moved to the kept prefix */
        spool_record_free(r);
        for (size_t j = i + 1; j < out->n; j++)
            spool_record_free(out->v[j]);
        out->n = kept;
        goto end;
    }
    out->n = kept;
    if (nids && claim_many(s, target, owner, lease_until, now, ids, nids,
                           e) != 0)
        goto end;
    crash_point("claim-before-commit");
    rc = 0;
end:
    rc = spool_end(s, rc, e);
    if (rc != 0)
        spool_list_free(out);
    return rc;
}

static const char *outcome_name(enum spool_outcome_kind k)
{
    switch (k) {
    case SPOOL_OUT_OK: return "ok";
    case SPOOL_OUT_RETRY: return "retry";
    case SPOOL_OUT_FAIL: return "fail";
    case SPOOL_OUT_INDOUBT: return "indoubt";
    case SPOOL_OUT_STOPPED: return "stopped";
    }
    return "?";
}

/* Plain successes (OK without a receipt: every ODBC row) all end the
 * same way, so their state changes go CLAIM_CHUNK at a time. */
#define Q8 "?,?,?,?,?,?,?,?"
static const char delivered_many_sql[] = "UPDATE records SET "
    "state = 'delivered', last_error = NULL, next_attempt_at = 0, "
    "in_doubt = 0, lease_owner = NULL, lease_until = 0, updated_at = ?2 "
    "WHERE state = 'delivering' AND lease_owner = ?1 AND id IN ("
    Q8 "," Q8 "," Q8 "," Q8 "," Q8 "," Q8 "," Q8 "," Q8 ")";
#undef Q8

struct ok_chunk {
    int64_t id[CLAIM_CHUNK];
    size_t n;
};

/* ok_flush - move the chunk's records to delivered; each must still be
 * owner's (judged on its row, locked in this transaction).  Inside a
 * pipeline the count changed is not seen (check false). */
static int ok_flush(struct spool *s, const char *owner, int64_t now,
                    struct ok_chunk *c, bool check, struct errs *e)
{
    if (!c->n)
        return 0;
    if (spool_transition_need(SPOOL_DELIVERING, SPOOL_DELIVERED, owner, e) != 0)
        return -1;
    struct sql_stmt *u = spool_sql(s, delivered_many_sql, e);
    if (!u)
        return -1;
    sql_bind_text(u, 1, owner);
    sql_bind_int64(u, 2, now);
    for (size_t i = 0; i < c->n; i++)
        sql_bind_int64(u, 3 + (int)i, c->id[i]);
    enum sql_step r = sql_step(u);
    size_t changed = (size_t)sql_changes(u);
    sql_reset(u);
    if (r != SQL_STEP_DONE) {
        spool_sqlerr(s, e, owner, "recording outcomes");
        return -1;
    }
    if (check && changed != c->n) {
        errs_add(e, owner, "outcomes: %zu of %zu records changed under it",
                 c->n - changed, c->n);
        return -1;
    }
    c->n = 0;
    return 0;
}

/* A chunk of outcomes costs a few statements whatever its size: its
 * rows are read (and on PostgreSQL locked) by one SELECT, each claim is
 * judged here, and the attempt rows and state changes are written
 * together (one multi-row INSERT, one UPDATE for the plain successes,
 * one UPDATE for each other outcome), pipelined on PostgreSQL: four
 * round trips for CLAIM_CHUNK outcomes where there were two a record.
 * Unbound places in the IN list are NULL and match nothing. */
#define Q8 "?,?,?,?,?,?,?,?"
#define OUT_ROWS_SEL "SELECT id, ref, target, state, lease_owner, " \
    "claimed_at FROM records WHERE ref IN (" \
    Q8 "," Q8 "," Q8 "," Q8 "," Q8 "," Q8 "," Q8 "," Q8 ") ORDER BY id"
static const char out_rows_sql[] = OUT_ROWS_SEL;
/* a node taking over an expired claim at the same moment waits for the
 * outcome, or the outcome sees the claim taken over; rows are locked in
 * id order, so two nodes' chunks never wait on each other in a ring */
static const char out_rows_locked_sql[] = OUT_ROWS_SEL " FOR UPDATE";
#undef OUT_ROWS_SEL
#undef Q8

/* one delivery row of a chunk's references, as read */
struct out_row {
    int64_t id, claimed;
    char *ref, *target;
    bool mine;           /* delivering under this owner's claim */
};

/* one attempt row to write */
struct out_att {
    int64_t rec_id, started, ended;
    const char *target, *outcome, *msg;
};

struct out_chunk {
    struct out_row *row;
    size_t nrow, cap;
    struct out_att att[CLAIM_CHUNK];
    size_t natt;
    /* outcomes other than a plain success: o and its row's id */
    const struct spool_outcome *upd[CLAIM_CHUNK];
    int64_t upd_id[CLAIM_CHUNK];
    size_t nupd;
    struct ok_chunk ok;
};

static void out_chunk_clear(struct out_chunk *c)
{
    for (size_t i = 0; i < c->nrow; i++) {
        free(c->row[i].ref);
        free(c->row[i].target);
    }
    c->nrow = c->natt = c->nupd = c->ok.n = 0;
}

/* out_rows_read - the rows of the n outcomes' references into c (in id
 * order); 0, or -1 with e filled */
static int out_rows_read(struct spool *s, const char *owner,
                         const struct spool_outcome *o, size_t n,
                         struct out_chunk *c, struct errs *e)
{
    struct sql_stmt *st = spool_sql(s, sql_backend(s->sql) == SQL_POSTGRESQL
                                    ? out_rows_locked_sql : out_rows_sql, e);
    if (!st)
        return -1;
    for (size_t i = 0; i < n; i++)
        sql_bind_text(st, 1 + (int)i, o[i].ref);
    enum sql_step r;
    int rc = 0;
    /* one row per target of each reference (UNIQUE(ref, target)): a
     * handful each, bounded by the configured targets */
    while ((r = sql_step(st)) == SQL_STEP_ROW) {
        if (c->nrow == c->cap) {
            size_t nc = c->cap ? c->cap * 2 : 2 * CLAIM_CHUNK;
            struct out_row *v = realloc(c->row, nc * sizeof *v);
            if (!v) {
                errs_add(e, owner, "out of memory");
                rc = -1;
                break;
            }
            c->row = v;
            c->cap = nc;
        }
        struct out_row *w = &c->row[c->nrow];
        w->id = sql_col_int64(st, 0);
        w->ref = sql_col_strdup(st, 1);
        w->target = sql_col_strdup(st, 2);
        const char *stn = sql_col_text(st, 3);
        const char *lo = sql_col_text(st, 4);
        w->mine = stn && strcmp(stn, "delivering") == 0 && lo
                  && strcmp(lo, owner) == 0;
        w->claimed = sql_col_int64(st, 5);
        c->nrow++;
        if (!w->ref || !w->target) {
            errs_add(e, owner, "out of memory");
            rc = -1;
            break;
        }
    }
    sql_reset(st);
    if (rc == 0 && r != SQL_STEP_DONE) {
        spool_sqlerr(s, e, owner, "reading records");
        rc = -1;
    }
    return rc;
}

/* out_pick - the delivery of o->ref to o->target (without a target, the
 * one this owner is delivering), as one statement a record picked it:
 * the row owner holds first, else the oldest; NULL when none */
static struct out_row *out_pick(struct out_chunk *c,
                                const struct spool_outcome *o)
{
    struct out_row *first = NULL;
    if (!o->ref)
        return NULL;
    for (size_t i = 0; i < c->nrow; i++) {
        struct out_row *w = &c->row[i];
        if (strcmp(w->ref, o->ref) != 0
            || (o->target && strcmp(w->target, o->target) != 0))
            continue;
        if (w->mine)
            return w;
        if (!first)
            first = w;
    }
    return first;
}

/* out_judge - decide o against its row, noting what to write in c;
 * 0 noted, 1 refused (named in e) */
static int out_judge(const char *owner, const struct spool_outcome *o,
                     int64_t now, struct out_chunk *c, struct errs *e)
{
    struct out_row *w = out_pick(c, o);
    if (!w) {
        errs_add(e, o->ref, "no such record");
        return 1;
    }
    if (!w->mine) {
        errs_add(e, o->ref, "outcome refused: %s no longer holds the claim",
                 owner);
        return 1;
    }
    enum spool_state to = SPOOL_DELIVERED;
    switch (o->kind) {
    case SPOOL_OUT_OK: break;
    case SPOOL_OUT_RETRY: to = o->exhausted ? SPOOL_FAILED : SPOOL_DEFERRED;
        break;
    case SPOOL_OUT_FAIL: to = SPOOL_FAILED; break;
    case SPOOL_OUT_INDOUBT: to = SPOOL_INDOUBT; break;
    case SPOOL_OUT_STOPPED:
        /* back to where it was before the claim: queued or in doubt */
        if (!spool_transition_ok(SPOOL_DELIVERING, SPOOL_QUEUED) ||
            !spool_transition_ok(SPOOL_DELIVERING, SPOOL_INDOUBT))
            return 1;
        to = SPOOL_QUEUED;
        break;
    default:
        errs_add(e, o->ref, "unknown outcome %d", (int)o->kind);
        return 1;
    }
    if (!spool_transition_ok(SPOOL_DELIVERING, to)) {
        errs_add(e, o->ref, "a delivering record cannot become %s",
                 spool_state_name(to));
        return 1;
    }
    w->mine = false;            /* the same reference again is refused */
    struct out_att *a = &c->att[c->natt++];
    a->rec_id = w->id;
    a->target = w->target;
    a->started = o->started_at ? o->started_at : w->claimed;
    a->ended = o->ended_at ? o->ended_at : now;
    a->outcome = outcome_name(o->kind);
    a->msg = o->message;
    if (o->kind == SPOOL_OUT_OK && !o->receipt && !o->receipt_data)
        c->ok.id[c->ok.n++] = w->id;
    else {
        c->upd[c->nupd] = o;
        c->upd_id[c->nupd++] = w->id;
    }
    return 0;
}

static int att_bind(void *arg, struct sql_stmt *st, int p, size_t row)
{
    const struct out_att *a = &((const struct out_att *)arg)[row];
    if (sql_bind_int64(st, p, a->rec_id) != 0
        || sql_bind_text(st, p + 1, a->target) != 0
        || sql_bind_int64(st, p + 2, a->started) != 0
        || sql_bind_int64(st, p + 3, a->ended) != 0
        || sql_bind_text(st, p + 4, a->outcome) != 0
        || sql_bind_text(st, p + 5, a->msg) != 0)
        return -1;
    return 0;
}

/* out_update - the state change of one outcome that is not a plain
 * success */
static int out_update(struct spool *s, const char *owner,
                      const struct spool_outcome *o, int64_t id, int64_t now,
                      struct errs *e)
{
    /* the target could not be used at all (login refused, marker table
     * missing...): nothing reached it, so the record goes back to where
     * it was before the claim, the attempt uncounted; the attempt row
     * and last_error say why it waits */
    static const char stopped[] = "UPDATE records SET state = CASE WHEN "
        "in_doubt = 1 THEN 'indoubt' ELSE 'queued' END, "
        "attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, "
        "last_error = ?, next_attempt_at = 0, lease_owner = NULL, "
        "lease_until = 0, updated_at = ? "
        "WHERE id = ? AND state = 'delivering' AND lease_owner = ?";
    static const char upd[] = "UPDATE records SET state = ?, "
        "receipt = COALESCE(?, receipt), last_error = ?, "
        "next_attempt_at = ?, in_doubt = ?, lease_owner = NULL, "
        "lease_until = 0, updated_at = ?, "
        "receipt_data = COALESCE(?, receipt_data) "
        "WHERE id = ? AND state = 'delivering' AND lease_owner = ?";
    struct sql_stmt *st;
    if (o->kind == SPOOL_OUT_STOPPED) {
        if (!(st = spool_sql(s, stopped, e)))
            return -1;
        sql_bind_text(st, 1, o->message ? o->message : "");
        sql_bind_int64(st, 2, now);
        sql_bind_int64(st, 3, id);
        sql_bind_text(st, 4, owner);
    } else {
        enum spool_state to = SPOOL_DELIVERED;
        int in_doubt = 0;
        int64_t next = 0;
        if (o->kind == SPOOL_OUT_RETRY) {
            to = o->exhausted ? SPOOL_FAILED : SPOOL_DEFERRED;
            next = o->exhausted ? 0 : o->next_attempt_at;
        } else if (o->kind == SPOOL_OUT_FAIL) {
            to = SPOOL_FAILED;
        } else if (o->kind == SPOOL_OUT_INDOUBT) {
            /* rest before anyone asks or resends: a slow back end may
             * still be working on the call */
            to = SPOOL_INDOUBT;
            in_doubt = 1;
            next = o->next_attempt_at;
        }
        if (!(st = spool_sql(s, upd, e)))
            return -1;
        sql_bind_text(st, 1, spool_state_name(to));
        if (o->kind == SPOOL_OUT_OK && o->receipt)
            sql_bind_text(st, 2, o->receipt);
        if (o->kind != SPOOL_OUT_OK)
            sql_bind_text(st, 3, o->message ? o->message : "");
        sql_bind_int64(st, 4, next);
        sql_bind_int64(st, 5, in_doubt);
        sql_bind_int64(st, 6, now);
        if (o->kind == SPOOL_OUT_OK && o->receipt_data)
            sql_bind_text(st, 7, o->receipt_data);
        sql_bind_int64(st, 8, id);
        sql_bind_text(st, 9, owner);
    }
    enum sql_step r = sql_step(st);
    sql_reset(st);
    if (r != SQL_STEP_DONE) {
        spool_sqlerr(s, e, o->ref, "recording outcome");
        return -1;
    }
    return 0;
}

/* out_write - the chunk's attempt rows and state changes; on PostgreSQL
 * sent as one pipeline (its rows are locked: nothing can change them
 * under it) */
static int out_write(struct spool *s, const char *owner, int64_t now,
                     struct out_chunk *c, struct errs *e)
{
    static const char att_head[] = "INSERT INTO attempts(record_id, target, "
        "started_at, ended_at, outcome, message)";
    bool piped = sql_backend(s->sql) == SQL_POSTGRESQL;
    if (!c->natt)
        return 0;
    if (piped && sql_pipeline_begin(s->sql) != 0) {
        spool_sqlerr(s, e, owner, "recording outcomes");
        return -1;
    }
    int rc = 0;
    if (sql_insert_rows(s->sql, att_head, 6, c->natt, att_bind, c->att) != 0) {
        spool_sqlerr(s, e, owner, "recording attempts");
        rc = -1;
    }
    if (rc == 0)
        rc = ok_flush(s, owner, now, &c->ok, !piped, e);
    for (size_t i = 0; rc == 0 && i < c->nupd; i++)
        rc = out_update(s, owner, c->upd[i], c->upd_id[i], now, e);
    if (piped && sql_pipeline_end(s->sql) != 0 && rc == 0) {
        spool_sqlerr(s, e, owner, "recording outcomes");
        rc = -1;
    }
    return rc;
}

int spool_outcomes(struct spool *s, const char *owner,
                   const struct spool_outcome *o, size_t n, struct errs *e)
{
    int64_t now = clock_wall_ms();
    int rc = -1;
    if (!owner) {
        errs_add(e, "", "outcome needs an owner");
        return -1;
    }
    struct out_chunk *c = calloc(1, sizeof *c);
    if (!c) {
        errs_add(e, owner, "out of memory");
        return -1;
    }
    spool_lock(s);
    if (spool_begin(s, e) != 0)
        goto done;
    for (size_t at = 0; at < n; at += CLAIM_CHUNK) {
        size_t k = n - at < CLAIM_CHUNK ? n - at : CLAIM_CHUNK;
        int w = out_rows_read(s, owner, o + at, k, c, e);
        for (size_t i = 0; w == 0 && i < k; i++)
            (void)out_judge(owner, &o[at + i], now, c, e);
        if (w == 0)
            w = out_write(s, owner, now, c, e);
        out_chunk_clear(c);
        if (w != 0) {
            spool_rollback(s);
            goto done;
        }
    }
    crash_point("outcome-before-commit");
    if (spool_commit(s, e) != 0)
        goto done;
    crash_point("outcome-after-commit");
    rc = 0;
done:
    spool_unlock(s);
    free(c->row);
    free(c);
    return rc;
}

int spool_claims_release(struct spool *s, const char *owner,
                         size_t *released, struct errs *e)
{
    static const char sql[] = "UPDATE records SET state = CASE WHEN "
        "in_doubt = 1 THEN 'indoubt' ELSE 'queued' END, "
        "attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, "
        "lease_owner = NULL, lease_until = 0, updated_at = ? "
        "WHERE state = 'delivering' AND lease_owner = ?";
    int rc = -1;
    if (released)
        *released = 0;
    if (spool_transition_need(SPOOL_DELIVERING, SPOOL_QUEUED, owner, e) != 0
        || spool_transition_need(SPOOL_DELIVERING, SPOOL_INDOUBT, owner,
                                 e) != 0)
        return -1;
    spool_lock(s);
    if (spool_begin(s, e) != 0)
        goto done;
    struct sql_stmt *st = spool_sql(s, sql, e);
    if (!st) {
        spool_rollback(s);
        goto done;
    }
    sql_bind_int64(st, 1, clock_wall_ms());
    sql_bind_text(st, 2, owner);
    enum sql_step r = sql_step(st);
    size_t n = (size_t)sql_changes(st);
    sql_reset(st);
    if (r != SQL_STEP_DONE) {
        spool_sqlerr(s, e, owner, "releasing claims");
        spool_rollback(s);
        goto done;
    }
    if (spool_commit(s, e) != 0)
        goto done;
    if (released)
        *released = n;
    rc = 0;
done:
    spool_unlock(s);
    return rc;
}

int spool_record_fail(struct spool *s, const char *ref, const char *target,
                      const char *reason, struct errs *e)
{
    int rc = -1;
    spool_lock(s);
    if (spool_begin(s, e) != 0)
        goto end;
    struct spool_pick p;
    int r = spool_delivery_pick(s, ref, target,
                                (1u << SPOOL_BATCHED) | (1u << SPOOL_QUEUED)
                                | (1u << SPOOL_RECEIVED)
                                | (1u << SPOOL_DELIVERING)
                                | (1u << SPOOL_DEFERRED), "fail", &p, e);
    if (r == 1)
        errs_add(e, ref, "no such record");
    if (r != 0)
        goto end;
    int64_t id = p.id;
    enum spool_state st = p.state;
    if (st != SPOOL_BATCHED && st != SPOOL_QUEUED && st != SPOOL_RECEIVED
        && st != SPOOL_DELIVERING && st != SPOOL_DEFERRED) {
        errs_add(e, ref, "a %s record cannot be failed here",
                 spool_state_name(st));
        goto end;
    }
    if (spool_set_state(s, id, ref, st, SPOOL_FAILED, e) != 0)
        goto end;
    struct sql_stmt *u = spool_sql(s, "UPDATE records SET last_error = ?, "
                                   "lease_owner = NULL, lease_until = 0 "
                                   "WHERE id = ?", e);
    if (!u)
        goto end;
    sql_bind_text(u, 1, reason ? reason : "");
    sql_bind_int64(u, 2, id);
    enum sql_step ur = sql_step(u);
    sql_reset(u);
    if (ur != SQL_STEP_DONE) {
        spool_sqlerr(s, e, ref, "recording failure");
        goto end;
    }
    rc = 0;
end:
    rc = spool_end(s, rc, e);
    return rc;
}
