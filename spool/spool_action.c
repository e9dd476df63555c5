/* spool_action.c - operator actions on one record (retry, hold, release,
 * discard, edit): each state change, its side columns and its audit entry
 * in ONE transaction.  Which states each action takes is in one table
 * here (struct action). */
#include "spool/spool_int.h"
#include "util/clock.h"
#include "util/crash.h"
#include "util/errs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define B(st) (1u << (st))
/* deliveries one edit moves at most (one per target of a service) */
#define EDIT_MAX 16

struct action {
    const char *verb;
    unsigned from;                 /* states the action applies to */
    enum spool_state to;
    bool need_reason;
};

static const struct action act_retry = { "retry",
    B(SPOOL_FAILED) | B(SPOOL_REJECTED) | B(SPOOL_INDOUBT)
    | B(SPOOL_DEFERRED) | B(SPOOL_DELIVERED) | B(SPOOL_SENT),
    SPOOL_QUEUED, false };
static const struct action act_hold = { "hold",
    B(SPOOL_QUEUED) | B(SPOOL_DEFERRED) | B(SPOOL_FAILED)
    | B(SPOOL_REJECTED) | B(SPOOL_INDOUBT) | B(SPOOL_RECEIVED),
    SPOOL_HELD, false };
static const struct action act_release = { "release", B(SPOOL_HELD),
    SPOOL_QUEUED, false };
static const struct action act_discard = { "discard",
    ~0u, SPOOL_DISCARDED, true };
/* settle: an in-doubt record an operator checked with the back end */
static const struct action act_settle_delivered = { "settle",
    B(SPOOL_INDOUBT), SPOOL_DELIVERED, true };
static const struct action act_settle_requeue = { "settle",
    B(SPOOL_INDOUBT), SPOOL_QUEUED, true };
static const struct action act_edit = { "edit",
    B(SPOOL_FAILED) | B(SPOOL_REJECTED) | B(SPOOL_HELD) | B(SPOOL_INDOUBT)
    | B(SPOOL_DEFERRED) | B(SPOOL_QUEUED), SPOOL_QUEUED, false };

struct edit {
    const void *payload;
    size_t len;
    const char *record_json;
    const char *detail;
    const char *receipt;           /* settle --delivered: the back end's */
};

/* apply_edit - new payload and record JSON, the first original kept; all
 * three re-sealed under the current key setting. */
static int apply_edit(struct spool *s, int64_t id, const char *ref,
                      const struct edit *ed, struct errs *e)
{
    struct spool_record r;
    unsigned char *p1 = NULL, *p2 = NULL, *p3 = NULL;
    int rc = -1;
    memset(&r, 0, sizeof r);
    sqlite3_stmt *st = spool_stmt(s, "SELECT " SPOOL_REC_COLS
                                  " FROM records_full WHERE id = ?", e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        spool_dberr(s, e, ref, "reading record");
        return -1;
    }
    if (spool_row_fill(s, st, 1, &r) != 0) {
        sqlite3_reset(st);
        errs_add(e, ref, "out of memory");
        goto done;
    }
    sqlite3_reset(st);
    if (r.crypt_error) {
        errs_add(e, ref, "%s", r.crypt_error);
        goto done;
    }
    const void *orig = r.original ? (void *)r.original : (void *)r.payload;
    size_t orign = r.original ? r.original_len : r.payload_len;
    st = spool_stmt(s, "UPDATE records SET payload_enc = ?, "
                    "next_attempt_at = 0, in_doubt = 0 WHERE id = ?", e);
    if (!st)
        goto done;
    sqlite3_bind_int(st, 1, s->opts.encrypt ? 1 : 0);
    sqlite3_bind_int64(st, 2, id);
    int ustep = sqlite3_step(st);
    sqlite3_reset(st);
    if (ustep != SQLITE_DONE) {
        spool_dberr(s, e, ref, "saving edit");
        goto done;
    }
    st = spool_stmt(s, "INSERT INTO record_data(id, payload, original, "
                    "record_json) VALUES(?4, ?1, ?2, ?3) ON CONFLICT(id) DO "
                    "UPDATE SET payload = excluded.payload, original = "
                    "excluded.original, record_json = excluded.record_json, "
                    "encoded = NULL",
                    e);
    if (!st)
        goto done;
    if (spool_bind_sealed(s, st, 1, ref, "payload", ed->payload, ed->len,
                          &p1) != 0
        || spool_bind_sealed(s, st, 2, ref, "original", orig, orign,
                             &p2) != 0
        || spool_bind_sealed(s, st, 3, ref, "record", ed->record_json,
                             ed->record_json ? strlen(ed->record_json) : 0,
                             &p3) != 0) {
        sqlite3_reset(st);
        errs_add(e, ref, "cannot encrypt payload");
        goto done;
    }
    sqlite3_bind_int64(st, 4, id);
    int step = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (step != SQLITE_DONE) {
        spool_dberr(s, e, ref, "storing edit");
        goto done;
    }
    rc = 0;
done:
    free(p1);
    free(p2);
    free(p3);
    spool_record_clear(&r);
    return rc;
}

/* keep_history - before a record batched or acknowledged earlier is
 * requeued: what it had (state, batch, ack, error) becomes a row of
 * record_history, and the record starts afresh (no stale error) */
static int keep_history(struct spool *s, int64_t id, const char *ref,
                        struct errs *e)
{
    sqlite3_stmt *st = spool_stmt(s, "INSERT INTO record_history(record_id, "
        "at, state, batch_id, ack_file, ack_record, ack_at, last_error) "
        "SELECT id, ?2, state, batch_id, ack_file, ack_record, ack_at, "
        "last_error FROM records WHERE id = ?1 AND (batch_id IS NOT NULL OR "
        "ack_at IS NOT NULL)", e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, clock_wall_ms());
    int r = sqlite3_step(st);
    sqlite3_reset(st);
    if (r != SQLITE_DONE) {
        spool_dberr(s, e, ref, "keeping the record's history");
        return -1;
    }
    if (sqlite3_changes(s->db) == 0)
        return 0;
    st = spool_stmt(s, "UPDATE records SET last_error = NULL, ack_file = "
                    "NULL, ack_record = NULL, ack_at = NULL WHERE id = ?", e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    r = sqlite3_step(st);
    sqlite3_reset(st);
    if (r != SQLITE_DONE) {
        spool_dberr(s, e, ref, "keeping the record's history");
        return -1;
    }
    return 0;
}

/* void_marker - a delivered record being requeued: if reconcile found it
 * missing at the target, the marker its send left there is void: count a
 * new marker generation (the adapter replaces the old marker in the same
 * target transaction as the row) and say so in detail for the audit.  A
 * record not found missing is left alone: its marker still protects it. */
static int void_marker(struct spool *s, int64_t id, const char *ref,
                       char *detail, size_t detailsz, struct errs *e)
{
    sqlite3_stmt *st = spool_stmt(s, "UPDATE records SET marker_gen = "
                                  "marker_gen + 1, missing_at = 0 WHERE id = "
                                  "?1 AND missing_at > 0 RETURNING marker_gen",
                                  e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int r = sqlite3_step(st);
    int gen = r == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    if (r == SQLITE_ROW)
        r = sqlite3_step(st);
    sqlite3_reset(st);
    if (r != SQLITE_DONE) {
        spool_dberr(s, e, ref, "voiding the marker");
        return -1;
    }
    if (gen > 0)
        snprintf(detail, detailsz, "reconcile found it missing at the "
                 "target: written anew (marker generation %d; the earlier "
                 "marker is void)", gen);
    return 0;
}

/* spool_mark_missing - see spool.h */
int spool_mark_missing(struct spool *s, const char *ref, const char *target,
                       int64_t when, struct errs *e)
{
    int rc = -1;
    spool_lock(s);
    if (spool_begin(s, e) != 0)
        goto end;
    sqlite3_stmt *st = spool_stmt(s, "UPDATE records SET missing_at = ?2 "
                                  "WHERE ref = ?1 AND (?3 IS NULL OR target = ?3) "
                                  "AND state = 'delivered'", e);
    if (!st)
        goto end;
    sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
    if (target)
        sqlite3_bind_text(st, 3, target, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, when > 0 ? when : 1);
    int step = sqlite3_step(st);
    sqlite3_reset(st);
    if (step != SQLITE_DONE) {
        spool_dberr(s, e, ref, "marking it missing");
        goto end;
    }
    rc = sqlite3_changes(s->db) ? 0 : 1;
end:
    if (rc == 1) {
        rc = spool_end(s, 0, e);
        return rc == 0 ? 1 : rc;
    }
    return spool_end(s, rc, e);
}

/* detail_for - the audit detail: which target the action was for, and
 * what else the action says */
static const char *detail_for(char *buf, size_t n, const struct spool_pick *p,
                              const char *more)
{
    if (p->ndeliveries <= 1)
        return more && *more ? more : NULL;
    snprintf(buf, n, "target %s%s%s", p->target, more && *more ? "; " : "",
             more && *more ? more : "");
    return buf;
}

/* act_one - the action on one picked delivery, inside the transaction */
static int act_one(struct spool *s, const struct action *a, const char *ref,
                   const struct spool_pick *p, const char *actor,
                   const char *reason, const struct edit *ed, bool audit,
                   struct errs *e)
{
    int64_t id = p->id;
    enum spool_state from = p->state;
    if (!(a->from & B(from)) || !spool_transition_ok(from, a->to)) {
        if (p->ndeliveries > 1)
            errs_add(e, ref, "cannot %s a %s delivery (target %s)", a->verb,
                     spool_state_name(from), p->target);
        else
            errs_add(e, ref, "cannot %s a %s record", a->verb,
                     spool_state_name(from));
        return -1;
    }
    char lost[200] = "";
    if (a == &act_retry && from == SPOOL_DELIVERED &&
        void_marker(s, id, ref, lost, sizeof lost, e) != 0)
        return -1;
    if (a->to == SPOOL_QUEUED && keep_history(s, id, ref, e) != 0)
        return -1;
    if (spool_set_state(s, id, ref, from, a->to, e) != 0)
        return -1;
    bool settle = a == &act_settle_delivered || a == &act_settle_requeue;
    if (ed && !settle && apply_edit(s, id, ref, ed, e) != 0)
        return -1;
    sqlite3_stmt *st = NULL;
    if (a == &act_retry || a == &act_release || settle)
        st = spool_stmt(s, "UPDATE records SET next_attempt_at = 0, "
                        "in_doubt = 0, lease_owner = NULL, lease_until = 0, "
                        "receipt = COALESCE(?2, receipt) WHERE id = ?1", e);
    else if (a == &act_discard)
        st = spool_stmt(s, "UPDATE records SET closed_reason = ?2, "
                        "lease_owner = NULL, lease_until = 0 WHERE id = ?1",
                        e);
    if ((a == &act_retry || a == &act_release || a == &act_discard ||
         settle)) {
        if (!st)
            return -1;
        sqlite3_bind_int64(st, 1, id);
        if (a == &act_discard)
            sqlite3_bind_text(st, 2, reason, -1, SQLITE_STATIC);
        else if (settle && ed && ed->receipt && *ed->receipt)
            sqlite3_bind_text(st, 2, ed->receipt, -1, SQLITE_STATIC);
        int step = sqlite3_step(st);
        sqlite3_reset(st);
        if (step != SQLITE_DONE) {
            spool_dberr(s, e, ref, a->verb);
            return -1;
        }
    }
    char dbuf[600];
    if (audit && spool_audit_append(s, clock_wall_ms(), actor, a->verb, ref,
                                    reason, spool_state_name(from),
                                    spool_state_name(a->to),
                                    detail_for(dbuf, sizeof dbuf, p,
                                               lost[0] ? lost
                                               : ed ? ed->detail : NULL),
                                    e) != 0)
        return -1;
    return 0;
}

static int do_action(struct spool *s, const struct action *a,
                     const char *ref, const char *target, const char *actor,
                     const char *reason, const struct edit *ed,
                     struct errs *e)
{
    int rc = -1;
    if (!ref) {
        errs_add(e, "", "%s needs a reference", a->verb);
        return -1;
    }
    if (a->need_reason && (!reason || !*reason)) {
        errs_add(e, ref, "%s needs a reason", a->verb);
        return -1;
    }
    spool_lock(s);
    if (spool_begin(s, e) != 0)
        goto end;
    struct spool_pick p;
    int r = spool_delivery_pick(s, ref, target, a->from, a->verb, &p, e);
    if (r == 1)
        errs_add(e, ref, "no such record");
    if (r != 0)
        goto end;
    if (act_one(s, a, ref, &p, actor, reason, ed, true, e) != 0)
        goto end;
    crash_point("action-before-commit");
    rc = 0;
end:
    rc = spool_end(s, rc, e);
    return rc;
}

int spool_retry(struct spool *s, const char *ref, const char *target,
                const char *actor, const char *reason, struct errs *e)
{
    return do_action(s, &act_retry, ref, target, actor, reason, NULL, e);
}

int spool_hold(struct spool *s, const char *ref, const char *target,
               const char *actor, const char *reason, struct errs *e)
{
    return do_action(s, &act_hold, ref, target, actor, reason, NULL, e);
}

int spool_release(struct spool *s, const char *ref, const char *target,
                  const char *actor, const char *reason, struct errs *e)
{
    return do_action(s, &act_release, ref, target, actor, reason, NULL, e);
}

int spool_discard(struct spool *s, const char *ref, const char *target,
                  const char *actor, const char *reason, struct errs *e)
{
    return do_action(s, &act_discard, ref, target, actor, reason, NULL, e);
}

bool spool_edit_allowed(enum spool_state st)
{
    return st < SPOOL_NSTATES && (act_edit.from & B(st)) &&
           spool_transition_ok(st, act_edit.to);
}

int spool_settle(struct spool *s, const char *ref, const char *target,
                 bool delivered, const char *receipt, const char *actor,
                 const char *reason, struct errs *e)
{
    char detail[320];
    if (delivered)
        snprintf(detail, sizeof detail, "delivered%s%.256s",
                 receipt && *receipt ? "; receipt " : "",
                 receipt && *receipt ? receipt : "");
    else
        snprintf(detail, sizeof detail, "not delivered: requeued");
    struct edit how = { NULL, 0, NULL, detail, delivered ? receipt : NULL };
    return do_action(s, delivered ? &act_settle_delivered
                                  : &act_settle_requeue,
                     ref, target, actor, reason, &how, e);
}

int spool_edit(struct spool *s, const char *ref, const void *payload,
               size_t payload_len, const char *record_json,
               const char *actor, const char *reason, const char *detail,
               struct errs *e)
{
    int rc = -1;
    if (!ref || !payload) {
        errs_add(e, ref ? ref : "", "edit needs the new payload");
        return -1;
    }
    spool_lock(s);
    if (spool_begin(s, e) != 0)
        goto end;
    /* every delivery the edit can take gets the new payload and its own
     * target's record JSON; delivered ones keep what they were sent */
    sqlite3_stmt *st = spool_stmt(s, "SELECT id, state, target FROM records "
                                  "WHERE ref = ? ORDER BY id", e);
    if (!st)
        goto end;
    sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
    struct spool_pick picks[EDIT_MAX];
    size_t np = 0, nall = 0;
    int step;
    char targets[256] = "", states[256] = "";
    while ((step = sqlite3_step(st)) == SQLITE_ROW && nall < 1024) {
        nall++;
        enum spool_state stt;
        if (spool_state_parse((const char *)sqlite3_column_text(st, 1), &stt)
            != 0)
            stt = SPOOL_NSTATES;
        const char *t = (const char *)sqlite3_column_text(st, 2);
        size_t l = strlen(states);
        snprintf(states + l, sizeof states - l, "%s%s %s", nall > 1 ? ", " : "",
                 t, spool_state_name(stt));
        if (stt == SPOOL_NSTATES || !spool_edit_allowed(stt)
            || np == EDIT_MAX)
            continue;
        picks[np].id = sqlite3_column_int64(st, 0);
        picks[np].state = stt;
        snprintf(picks[np].target, sizeof picks[np].target, "%s", t);
        np++;
    }
    sqlite3_reset(st);
    if (step != SQLITE_DONE && step != SQLITE_ROW) {
        spool_dberr(s, e, ref, "reading record");
        goto end;
    }
    if (nall == 0) {
        errs_add(e, ref, "no such record");
        goto end;
    }
    if (np == 0) {
        errs_add(e, ref, nall > 1 ? "cannot edit: no delivery can take an "
                 "edit (%s)" : "cannot edit a %s record", nall > 1 ? states
                 : states + strcspn(states, " ") + 1);
        goto end;
    }
    enum spool_state first_from = picks[0].state;
    for (size_t i = 0; i < np; i++) {
        picks[i].ndeliveries = nall;
        struct edit ed = { payload, payload_len, record_json, detail, NULL };
        if (act_one(s, &act_edit, ref, &picks[i], actor, reason, &ed, false,
                    e) != 0)
            goto end;
        size_t l = strlen(targets);
        snprintf(targets + l, sizeof targets - l, "%s%s", i ? ", " : "",
                 picks[i].target);
    }
    /* one audit entry per action, naming the deliveries it moved */
    char dbuf[700];
    const char *d = detail;
    if (nall > 1) {
        snprintf(dbuf, sizeof dbuf, "targets %s%s%s", targets,
                 detail && *detail ? "; " : "", detail ? detail : "");
        d = dbuf;
    }
    if (spool_audit_append(s, clock_wall_ms(), actor, act_edit.verb, ref,
                           reason, spool_state_name(first_from),
                           spool_state_name(act_edit.to), d, e) != 0)
        goto end;
    crash_point("action-before-commit");
    rc = 0;
end:
    return spool_end(s, rc, e);
}
