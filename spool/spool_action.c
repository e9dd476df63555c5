/* spool_action.c - operator actions on one record (retry, hold, release,
 * discard, edit): each state change, its side columns and its audit entry
 * in ONE transaction.  Which states each action takes is in one table
 * here (struct action). */
#include "spool/spool_int.h"
#include "spool/sql.h"
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
    unsigned char *pay = NULL, *orig = NULL, *p1 = NULL, *p2 = NULL,
                  *p3 = NULL;
    size_t payn = 0, orign = 0;
    const char *why = NULL;
    int rc = -1;
    struct sql_stmt *st = spool_sql(s, "SELECT payload_enc, payload, "
                                    "original FROM records_full WHERE id = ?",
                                    e);
    if (!st)
        return -1;
    if (sql_bind_int64(st, 1, id) != 0 || sql_step(st) != SQL_STEP_ROW) {
        sql_reset(st);
        spool_sqlerr(s, e, ref, "reading record");
        return -1;
    }
    bool enc = sql_col_int64(st, 0) != 0;
    if (spool_col_opened(s, st, 1, enc, ref, "payload", &pay, &payn, &why)
        != 0
        || spool_col_opened(s, st, 2, enc, ref, "original", &orig, &orign,
                            &why) != 0) {
        sql_reset(st);
        errs_add(e, ref, "%s", why);
        goto done;
    }
    sql_reset(st);
    const void *first = orig ? (void *)orig : (void *)pay;
    size_t firstn = orig ? orign : payn;
    st = spool_sql(s, "UPDATE records SET payload_enc = ?, "
                   "next_attempt_at = 0, in_doubt = 0 WHERE id = ?", e);
    if (!st)
        goto done;
    enum sql_step ustep = SQL_STEP_ERROR;
    if (sql_bind_int64(st, 1, s->opts.encrypt ? 1 : 0) == 0
        && sql_bind_int64(st, 2, id) == 0)
        ustep = sql_step(st);
    sql_reset(st);
    if (ustep != SQL_STEP_DONE) {
        spool_sqlerr(s, e, ref, "saving edit");
        goto done;
    }
    st = spool_sql(s, "INSERT INTO record_data(id, payload, original, "
                   "record_json) VALUES(?4, ?1, ?2, ?3) ON CONFLICT(id) DO "
                   "UPDATE SET payload = excluded.payload, original = "
                   "excluded.original, record_json = excluded.record_json, "
                   "encoded = NULL",
                   e);
    if (!st)
        goto done;
    if (spool_bind_sealed(s, st, 1, ref, "payload", ed->payload, ed->len,
                          &p1) != 0
        || spool_bind_sealed(s, st, 2, ref, "original", first, firstn,
                             &p2) != 0
        || spool_bind_sealed(s, st, 3, ref, "record", ed->record_json,
                             ed->record_json ? strlen(ed->record_json) : 0,
                             &p3) != 0) {
        sql_reset(st);
        errs_add(e, ref, "cannot encrypt payload");
        goto done;
    }
    enum sql_step step = sql_bind_int64(st, 4, id) == 0 ? sql_step(st)
                                                        : SQL_STEP_ERROR;
    sql_reset(st);
    if (step != SQL_STEP_DONE) {
        spool_sqlerr(s, e, ref, "storing edit");
        goto done;
    }
    rc = 0;
done:
    if (pay)
        explicit_bzero(pay, payn);
    if (orig)
        explicit_bzero(orig, orign);
    free(pay);
    free(orig);
    free(p1);
    free(p2);
    free(p3);
    return rc;
}

/* run_id - one statement on record id (?1), with ?2 = at; *changed the
 * rows it touched */
static int run_id(struct spool *s, const char *sql, int64_t id, int64_t at,
                  int64_t *changed, const char *ref, const char *what,
                  struct errs *e)
{
    struct sql_stmt *st = spool_sql(s, sql, e);
    if (!st)
        return -1;
    enum sql_step r = SQL_STEP_ERROR;
    if (sql_bind_int64(st, 1, id) == 0
        && (at < 0 || sql_bind_int64(st, 2, at) == 0))
        r = sql_step(st);
    *changed = sql_changes(st);
    sql_reset(st);
    if (r != SQL_STEP_DONE) {
        spool_sqlerr(s, e, ref, what);
        return -1;
    }
    return 0;
}

/* keep_history - before a record batched or acknowledged earlier is
 * requeued: what it had (state, batch, ack, error) becomes a row of
 * record_history, and the record starts afresh (no stale error) */
static int keep_history(struct spool *s, int64_t id, const char *ref,
                        struct errs *e)
{
    static const char what[] = "keeping the record's history";
    int64_t kept = 0, n = 0;
    if (run_id(s, "INSERT INTO record_history(record_id, "
               "at, state, batch_id, ack_file, ack_record, ack_at, "
               "last_error) SELECT id, ?2, state, batch_id, ack_file, "
               "ack_record, ack_at, last_error FROM records WHERE id = ?1 "
               "AND (batch_id IS NOT NULL OR ack_at IS NOT NULL)", id,
               clock_wall_ms(), &kept, ref, what, e) != 0)
        return -1;
    if (kept == 0)
        return 0;
    return run_id(s, "UPDATE records SET last_error = NULL, ack_file = "
                  "NULL, ack_record = NULL, ack_at = NULL WHERE id = ?1",
                  id, -1, &n, ref, what, e);
}

/* void_marker - a delivered record being requeued: if reconcile found it
 * missing at the target, the marker its send left there is void: count a
 * new marker generation (the adapter replaces the old marker in the same
 * target transaction as the row) and say so in detail for the audit.  A
 * record not found missing is left alone: its marker still protects it. */
static int void_marker(struct spool *s, int64_t id, const char *ref,
                       char *detail, size_t detailsz, struct errs *e)
{
    struct sql_stmt *st = spool_sql(s, "UPDATE records SET marker_gen = "
                                    "marker_gen + 1, missing_at = 0 WHERE "
                                    "id = ?1 AND missing_at > 0 RETURNING "
                                    "marker_gen", e);
    if (!st)
        return -1;
    enum sql_step r = sql_bind_int64(st, 1, id) == 0 ? sql_step(st)
                                                     : SQL_STEP_ERROR;
    int64_t gen = r == SQL_STEP_ROW ? sql_col_int64(st, 0) : 0;
    if (r == SQL_STEP_ROW)
        r = sql_step(st);
    sql_reset(st);
    if (r != SQL_STEP_DONE) {
        spool_sqlerr(s, e, ref, "voiding the marker");
        return -1;
    }
    if (gen > 0)
        snprintf(detail, detailsz, "reconcile found it missing at the "
                 "target: written anew (marker generation %lld; the earlier "
                 "marker is void)", (long long)gen);
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
    struct sql_stmt *st = spool_sql(s, "UPDATE records SET missing_at = ?2 "
                                    "WHERE ref = ?1 AND (CAST(?3 AS TEXT) IS "
                                    "NULL OR target = ?3) AND state = "
                                    "'delivered'", e);
    if (!st)
        goto end;
    enum sql_step step = SQL_STEP_ERROR;
    if (sql_bind_text(st, 1, ref) == 0
        && sql_bind_int64(st, 2, when > 0 ? when : 1) == 0
        && sql_bind_text(st, 3, target) == 0)
        step = sql_step(st);
    int64_t changed = sql_changes(st);
    sql_reset(st);
    if (step != SQL_STEP_DONE) {
        spool_sqlerr(s, e, ref, "marking it missing");
        goto end;
    }
    rc = changed ? 0 : 1;
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
    struct sql_stmt *st = NULL;
    if (a == &act_retry || a == &act_release || settle)
        st = spool_sql(s, "UPDATE records SET next_attempt_at = 0, "
                       "in_doubt = 0, lease_owner = NULL, lease_until = 0, "
                       "receipt = COALESCE(?2, receipt) WHERE id = ?1", e);
    else if (a == &act_discard)
        st = spool_sql(s, "UPDATE records SET closed_reason = ?2, "
                       "lease_owner = NULL, lease_until = 0 WHERE id = ?1",
                       e);
    if ((a == &act_retry || a == &act_release || a == &act_discard ||
         settle)) {
        if (!st)
            return -1;
        const char *v2 = a == &act_discard ? reason
                         : settle && ed && ed->receipt && *ed->receipt
                         ? ed->receipt : NULL;
        enum sql_step step = SQL_STEP_ERROR;
        if (sql_bind_int64(st, 1, id) == 0 && sql_bind_text(st, 2, v2) == 0)
            step = sql_step(st);
        sql_reset(st);
        if (step != SQL_STEP_DONE) {
            spool_sqlerr(s, e, ref, a->verb);
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
    struct sql_stmt *st = spool_sql(s, "SELECT id, state, target FROM "
                                    "records WHERE ref = ? ORDER BY id "
                                    "LIMIT 1024", e);
    if (!st)
        goto end;
    struct spool_pick picks[EDIT_MAX];
    size_t np = 0, nall = 0;
    enum sql_step step = sql_bind_text(st, 1, ref) == 0 ? SQL_STEP_ROW
                                                        : SQL_STEP_ERROR;
    char targets[256] = "", states[256] = "";
    while (step == SQL_STEP_ROW
           && (step = sql_step(st)) == SQL_STEP_ROW) {
        nall++;
        enum spool_state stt;
        if (spool_state_parse(sql_col_text(st, 1), &stt) != 0)
            stt = SPOOL_NSTATES;
        const char *t = sql_col_text(st, 2);
        if (!t)
            t = "";
        size_t l = strlen(states);
        snprintf(states + l, sizeof states - l, "%s%s %s", nall > 1 ? ", " : "",
                 t, spool_state_name(stt));
        if (stt == SPOOL_NSTATES || !spool_edit_allowed(stt)
            || np == EDIT_MAX)
            continue;
        picks[np].id = sql_col_int64(st, 0);
        picks[np].state = stt;
        snprintf(picks[np].target, sizeof picks[np].target, "%s", t);
        np++;
    }
    sql_reset(st);
    if (step != SQL_STEP_DONE) {
        spool_sqlerr(s, e, ref, "reading record");
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
