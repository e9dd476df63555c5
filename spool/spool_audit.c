/* spool_audit.c - the hash-chained audit log, operator actions (retry,
 * hold, release, discard, edit: each state change and its audit entry in
 * ONE transaction), acknowledgements, retention purge and job runs.
 *
 * Chain: hash = SHA-256(prev_hash || canonical entry text), hex; the first
 * entry's prev_hash is 64 zeros.  The canonical text lists every field as
 * "<length>:<bytes>\n" so no value can fake a field boundary.  The head
 * (last id and hash) is also kept in meta, so dropping the newest entries
 * is noticed too. */
#include "spool/spool_int.h"
#include "util/clock.h"
#include "util/buf.h"
#include "util/errs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char zero_hash[] =
    "0000000000000000000000000000000000000000000000000000000000000000";

static void canon_field(struct buf *b, const char *v)
{
    v = v ? v : "";
    buf_printf(b, "%zu:", strlen(v));
    buf_puts(b, v);
    buf_putc(b, '\n');
}

/* entry_hash - the chain rule, in one place for writing and verifying */
static int entry_hash(int64_t id, int64_t at, const char *actor,
                      const char *action, const char *ref, const char *reason,
                      const char *before, const char *after,
                      const char *detail, const char *prev, char out[65])
{
    struct buf b;
    buf_init(&b, 0);
    buf_puts(&b, prev);
    buf_puts(&b, "ferry-audit-v1\n");
    buf_printf(&b, "%lld\n%lld\n", (long long)id, (long long)at);
    canon_field(&b, actor);
    canon_field(&b, action);
    canon_field(&b, ref);
    canon_field(&b, reason);
    canon_field(&b, before);
    canon_field(&b, after);
    canon_field(&b, detail);
    if (!b.data) {
        buf_free(&b);
        return -1;
    }
    spool_sha256_hex(b.data, b.len, out);
    buf_free(&b);
    return 0;
}

int spool_audit_append(struct spool *s, int64_t at, const char *actor,
                       const char *action, const char *ref,
                       const char *reason, const char *before,
                       const char *after, const char *detail,
                       struct errs *e)
{
    char prev[65], hash[65], head[96];
    int64_t id = 1;
    snprintf(prev, sizeof prev, "%s", zero_hash);
    sqlite3_stmt *st = spool_stmt(s, "SELECT id, hash FROM audit "
                                  "ORDER BY id DESC LIMIT 1", e);
    if (!st)
        return -1;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        id = sqlite3_column_int64(st, 0) + 1;
        snprintf(prev, sizeof prev, "%s",
                 (const char *)sqlite3_column_text(st, 1));
    }
    sqlite3_reset(st);
    if (r != SQLITE_ROW && r != SQLITE_DONE) {
        spool_dberr(s, e, ref, "reading audit head");
        return -1;
    }
    if (!actor || !*actor)
        actor = "unknown";
    if (entry_hash(id, at, actor, action, ref, reason, before, after, detail,
                   prev, hash) != 0) {
        errs_add(e, ref ? ref : "", "out of memory");
        return -1;
    }
    st = spool_stmt(s, "INSERT INTO audit(id, at, actor, action, ref, "
                    "reason, before_state, after_state, detail, prev_hash, "
                    "hash) VALUES(?,?,?,?,?,?,?,?,?,?,?)", e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, at);
    sqlite3_bind_text(st, 3, actor, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, action, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, ref, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, reason, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, before, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, after, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, detail, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 10, prev, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 11, hash, -1, SQLITE_STATIC);
    r = sqlite3_step(st);
    sqlite3_reset(st);
    if (r != SQLITE_DONE) {
        spool_dberr(s, e, ref, "writing audit entry");
        return -1;
    }
    snprintf(head, sizeof head, "%lld:%s", (long long)id, hash);
    st = spool_stmt(s, "INSERT INTO meta(name, value) VALUES('audit_head', "
                    "?) ON CONFLICT(name) DO UPDATE SET value = "
                    "excluded.value", e);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, head, -1, SQLITE_STATIC);
    r = sqlite3_step(st);
    sqlite3_reset(st);
    if (r != SQLITE_DONE) {
        spool_dberr(s, e, ref, "writing audit head");
        return -1;
    }
    return 0;
}

/* write_txn - run an audit-only action in its own transaction */
int spool_audit_add(struct spool *s, const char *actor, const char *action,
                    const char *ref, const char *reason, const char *detail,
                    struct errs *e)
{
    int rc = -1;
    if (!action || !*action) {
        errs_add(e, ref ? ref : "", "audit entry needs an action");
        return -1;
    }
    spool_lock(s);
    if (spool_begin(s, e) == 0) {
        if (spool_audit_append(s, clock_wall_ms(), actor, action, ref, reason,
                               "", "", detail, e) == 0
            && spool_commit(s, e) == 0)
            rc = 0;
        else
            spool_rollback(s);
    }
    spool_unlock(s);
    return rc;
}

static void audit_entry_clear(struct spool_audit_entry *a)
{
    free(a->actor); free(a->action); free(a->ref); free(a->reason);
    free(a->before); free(a->after); free(a->detail);
    free(a->prev_hash); free(a->hash);
}

int spool_audit_list_locked(struct spool *s, const char *ref,
                            struct spool_audit_list *out, struct errs *e)
{
    size_t cap = 0;
    int step;
    out->v = NULL;
    out->n = 0;
    sqlite3_stmt *st = spool_stmt(s, ref
        ? "SELECT id, at, actor, action, ref, reason, before_state, "
          "after_state, detail, prev_hash, hash FROM audit WHERE ref = ? "
          "ORDER BY id"
        : "SELECT id, at, actor, action, ref, reason, before_state, "
          "after_state, detail, prev_hash, hash FROM audit ORDER BY id", e);
    if (!st)
        return -1;
    if (ref)
        sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (out->n == cap) {
            cap = cap ? cap * 2 : 16;
            struct spool_audit_entry *v = realloc(out->v, cap * sizeof *v);
            if (!v) {
                sqlite3_reset(st);
                errs_add(e, ref ? ref : "", "out of memory");
                spool_audit_list_free(out);
                return -1;
            }
            out->v = v;
        }
        struct spool_audit_entry *a = &out->v[out->n++];
        a->id = sqlite3_column_int64(st, 0);
        a->at = sqlite3_column_int64(st, 1);
        a->actor = spool_col_strdup(st, 2);
        a->action = spool_col_strdup(st, 3);
        a->ref = spool_col_strdup(st, 4);
        a->reason = spool_col_strdup(st, 5);
        a->before = spool_col_strdup(st, 6);
        a->after = spool_col_strdup(st, 7);
        a->detail = spool_col_strdup(st, 8);
        a->prev_hash = spool_col_strdup(st, 9);
        a->hash = spool_col_strdup(st, 10);
    }
    sqlite3_reset(st);
    if (step != SQLITE_DONE) {
        spool_dberr(s, e, ref, "reading audit");
        spool_audit_list_free(out);
        return -1;
    }
    return 0;
}

int spool_audit_list(struct spool *s, const char *ref,
                     struct spool_audit_list *out, struct errs *e)
{
    spool_lock(s);
    int rc = spool_audit_list_locked(s, ref, out, e);
    spool_unlock(s);
    return rc;
}

void spool_audit_list_free(struct spool_audit_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        audit_entry_clear(&l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static const char *txt(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? (const char *)t : NULL;
}

int spool_audit_verify(struct spool *s, int64_t *bad_id, size_t *checked,
                       struct errs *e)
{
    char prev[65], hash[65], where[32];
    int64_t last_id = 0;
    size_t n = 0;
    int rc = 0, step;
    *bad_id = 0;
    snprintf(prev, sizeof prev, "%s", zero_hash);
    spool_lock(s);
    sqlite3_stmt *st = spool_stmt(s, "SELECT id, at, actor, action, ref, "
                                  "reason, before_state, after_state, "
                                  "detail, prev_hash, hash FROM audit "
                                  "ORDER BY id", e);
    if (!st) {
        spool_unlock(s);
        return -1;
    }
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        snprintf(where, sizeof where, "audit %lld", (long long)id);
        const char *ph = txt(st, 9), *h = txt(st, 10);
        n++;
        if (!ph || strcmp(ph, prev) != 0) {
            errs_add(e, where, "link broken: previous hash does not match "
                     "entry %lld (an entry was changed, removed or inserted "
                     "before it)", (long long)last_id);
            *bad_id = id;
            rc = 1;
            break;
        }
        if (entry_hash(id, sqlite3_column_int64(st, 1), txt(st, 2),
                       txt(st, 3), txt(st, 4), txt(st, 5), txt(st, 6),
                       txt(st, 7), txt(st, 8), prev, hash) != 0) {
            errs_add(e, where, "out of memory");
            rc = -1;
            break;
        }
        if (!h || strcmp(h, hash) != 0) {
            errs_add(e, where, "entry was changed: its hash does not match "
                     "its content");
            *bad_id = id;
            rc = 1;
            break;
        }
        snprintf(prev, sizeof prev, "%s", h);
        last_id = id;
    }
    if (rc == 0 && step != SQLITE_DONE) {
        spool_dberr(s, e, NULL, "reading audit");
        rc = -1;
    }
    sqlite3_reset(st);
    if (rc == 0) {
        st = spool_stmt(s, "SELECT value FROM meta WHERE name = "
                        "'audit_head'", e);
        if (!st) {
            rc = -1;
        } else {
            char want[96];
            snprintf(want, sizeof want, "%lld:%s", (long long)last_id, prev);
            if (sqlite3_step(st) == SQLITE_ROW) {
                const char *head = txt(st, 0);
                if (!head || strcmp(head, want) != 0) {
                    long long hid = head ? strtoll(head, NULL, 10) : 0;
                    errs_add(e, "audit", "the chain ends at entry %lld but "
                             "the recorded head is %s: entries were removed "
                             "from the end", (long long)last_id,
                             head ? head : "missing");
                    *bad_id = hid > last_id ? hid : last_id + 1;
                    rc = 1;
                }
            } else if (last_id != 0) {
                errs_add(e, "audit", "audit head record is missing");
                *bad_id = last_id;
                rc = 1;
            }
            sqlite3_reset(st);
        }
    }
    spool_unlock(s);
    if (checked)
        *checked = n;
    return rc;
}

/* ---- operator actions ---------------------------------------------- */

#define B(st) (1u << (st))

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
                    "excluded.original, record_json = excluded.record_json",
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

static int do_action(struct spool *s, const struct action *a,
                     const char *ref, const char *actor, const char *reason,
                     const struct edit *ed, struct errs *e)
{
    int64_t id;
    enum spool_state from;
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
        goto unlock;
    int r = spool_rec_lookup(s, ref, &id, &from, e);
    if (r == 1)
        errs_add(e, ref, "no such record");
    if (r != 0)
        goto rollback;
    if (!(a->from & B(from)) || !spool_transition_ok(from, a->to)) {
        errs_add(e, ref, "cannot %s a %s record", a->verb,
                 spool_state_name(from));
        goto rollback;
    }
    if (spool_set_state(s, id, ref, from, a->to, e) != 0)
        goto rollback;
    bool settle = a == &act_settle_delivered || a == &act_settle_requeue;
    if (ed && !settle && apply_edit(s, id, ref, ed, e) != 0)
        goto rollback;
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
            goto rollback;
        sqlite3_bind_int64(st, 1, id);
        if (a == &act_discard)
            sqlite3_bind_text(st, 2, reason, -1, SQLITE_STATIC);
        else if (settle && ed && ed->receipt && *ed->receipt)
            sqlite3_bind_text(st, 2, ed->receipt, -1, SQLITE_STATIC);
        int step = sqlite3_step(st);
        sqlite3_reset(st);
        if (step != SQLITE_DONE) {
            spool_dberr(s, e, ref, a->verb);
            goto rollback;
        }
    }
    if (spool_audit_append(s, clock_wall_ms(), actor, a->verb, ref, reason,
                           spool_state_name(from), spool_state_name(a->to),
                           ed ? ed->detail : NULL, e) != 0)
        goto rollback;
    spool_crashpoint("action-before-commit");
    if (spool_commit(s, e) != 0)
        goto unlock;
    rc = 0;
    goto unlock;
rollback:
    spool_rollback(s);
unlock:
    spool_unlock(s);
    return rc;
}

int spool_retry(struct spool *s, const char *ref, const char *actor,
                const char *reason, struct errs *e)
{
    return do_action(s, &act_retry, ref, actor, reason, NULL, e);
}

int spool_hold(struct spool *s, const char *ref, const char *actor,
               const char *reason, struct errs *e)
{
    return do_action(s, &act_hold, ref, actor, reason, NULL, e);
}

int spool_release(struct spool *s, const char *ref, const char *actor,
                  const char *reason, struct errs *e)
{
    return do_action(s, &act_release, ref, actor, reason, NULL, e);
}

int spool_discard(struct spool *s, const char *ref, const char *actor,
                  const char *reason, struct errs *e)
{
    return do_action(s, &act_discard, ref, actor, reason, NULL, e);
}

int spool_settle(struct spool *s, const char *ref, bool delivered,
                 const char *receipt, const char *actor, const char *reason,
                 struct errs *e)
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
                     ref, actor, reason, &how, e);
}

int spool_edit(struct spool *s, const char *ref, const void *payload,
               size_t payload_len, const char *record_json,
               const char *actor, const char *reason, const char *detail,
               struct errs *e)
{
    struct edit ed = { payload, payload_len, record_json, detail, NULL };
    if (!payload) {
        errs_add(e, ref ? ref : "", "edit needs the new payload");
        return -1;
    }
    return do_action(s, &act_edit, ref, actor, reason, &ed, e);
}

/* ---- acknowledgements ---------------------------------------------- */

/* ack_fast - the common case in one statement: the record named by the
 * ack is in a state an ack moves (sent, delivered, in doubt), found
 * through the UNIQUE ref index (or the newest record with that front-end
 * reference) and updated there.  1 applied (ref filled), 0 not movable
 * (ack_one then tells orphan / not-sent / already), -1 ledger error. */
static int ack_fast(struct spool *s, const struct spool_ack *a,
                    char ref[SPOOL_REF_MAX], int64_t now, struct errs *e)
{
    sqlite3_stmt *st = spool_stmt(s, a->service
        ? "UPDATE records SET state = ?1, last_error = COALESCE(?2, "
          "last_error), receipt = COALESCE(?3, receipt), in_doubt = 0, "
          "updated_at = ?4 WHERE id = (SELECT id FROM records WHERE "
          "service = ?6 AND fe_ref = ?5 ORDER BY id DESC LIMIT 1) AND "
          "state IN ('sent', 'delivered', 'indoubt') RETURNING ref"
        : "UPDATE records SET state = ?1, last_error = COALESCE(?2, "
          "last_error), receipt = COALESCE(?3, receipt), in_doubt = 0, "
          "updated_at = ?4 WHERE ref = ?5 AND "
          "state IN ('sent', 'delivered', 'indoubt')", e);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, spool_state_name(a->accepted ? SPOOL_CONFIRMED
                                              : SPOOL_REJECTED), -1,
                      SQLITE_STATIC);
    if (!a->accepted)
        sqlite3_bind_text(st, 2, a->reason ? a->reason : "rejected", -1,
                          SQLITE_STATIC);
    sqlite3_bind_text(st, 3, a->receipt, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now);
    sqlite3_bind_text(st, 5, a->key, -1, SQLITE_STATIC);
    if (a->service)
        sqlite3_bind_text(st, 6, a->service, -1, SQLITE_STATIC);
    int applied = 0;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {             /* RETURNING: the matched ref */
        if (ref)
            snprintf(ref, SPOOL_REF_MAX, "%s", txt(st, 0));
        applied = 1;
        r = sqlite3_step(st);
    } else if (r == SQLITE_DONE && !a->service
               && sqlite3_changes(s->db) > 0) {
        if (ref)
            snprintf(ref, SPOOL_REF_MAX, "%s", a->key);
        applied = 1;
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
                   enum spool_ack_result *res, char ref[SPOOL_REF_MAX],
                   int64_t now, struct errs *e)
{
    int fast = ack_fast(s, a, ref, now, e);
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
        if (ack_one(s, &acks[i], &r1, refs ? refs[i] : NULL, now, e) != 0)
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
    spool_crashpoint("ack-before-commit");
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

/* ---- retention ------------------------------------------------------- */

int spool_purge(struct spool *s, int64_t before_ms, const char *actor,
                size_t *purged, struct errs *e)
{
    int rc = -1;
    if (purged)
        *purged = 0;
    spool_lock(s);
    if (spool_begin(s, e) != 0)
        goto unlock;
    sqlite3_stmt *st = spool_stmt(s, "UPDATE record_data SET payload = NULL, "
                                  "original = NULL, record_json = NULL "
                                  "WHERE id IN (SELECT id FROM records WHERE "
                                  "state IN ('confirmed','discarded') AND "
                                  "updated_at < ? AND payload_purged = 0)", e);
    if (!st)
        goto rollback;
    sqlite3_bind_int64(st, 1, before_ms);
    int r = sqlite3_step(st);
    sqlite3_reset(st);
    if (r != SQLITE_DONE) {
        spool_dberr(s, e, NULL, "purging payloads");
        goto rollback;
    }
    st = spool_stmt(s, "UPDATE records SET payload_purged = 1 WHERE state IN "
                    "('confirmed','discarded') AND updated_at < ? AND "
                    "payload_purged = 0", e);
    if (!st)
        goto rollback;
    sqlite3_bind_int64(st, 1, before_ms);
    r = sqlite3_step(st);
    sqlite3_reset(st);
    if (r != SQLITE_DONE) {
        spool_dberr(s, e, NULL, "purging payloads");
        goto rollback;
    }
    size_t n = (size_t)sqlite3_changes(s->db);
    char detail[128];
    snprintf(detail, sizeof detail, "records=%zu before=%lld", n,
             (long long)before_ms);
    if (spool_audit_append(s, clock_wall_ms(), actor, "purge", NULL,
                           "retention", "", "", detail, e) != 0)
        goto rollback;
    if (spool_commit(s, e) != 0)
        goto unlock;
    if (purged)
        *purged = n;
    rc = 0;
    goto unlock;
rollback:
    spool_rollback(s);
unlock:
    spool_unlock(s);
    return rc;
}

/* ---- job runs -------------------------------------------------------- */

int spool_job_start(struct spool *s, const char *job, int64_t *run_id,
                    struct errs *e)
{
    int rc = -1;
    spool_lock(s);
    if (spool_begin(s, e) != 0)
        goto unlock;
    sqlite3_stmt *st = spool_stmt(s, "INSERT INTO job_runs(job, pid, "
                                  "started_at) VALUES(?,?,?) RETURNING id",
                                  e);
    if (!st)
        goto rollback;
    sqlite3_bind_text(st, 1, job, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)getpid());
    sqlite3_bind_int64(st, 3, clock_wall_ms());
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        spool_dberr(s, e, job, "recording job start");
        goto rollback;
    }
    *run_id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (spool_commit(s, e) != 0)
        goto unlock;
    rc = 0;
    goto unlock;
rollback:
    spool_rollback(s);
unlock:
    spool_unlock(s);
    return rc;
}

int spool_job_end(struct spool *s, int64_t run_id, const char *outcome,
                  const char *counts, const char *message, struct errs *e)
{
    int rc = -1;
    spool_lock(s);
    if (spool_begin(s, e) != 0)
        goto unlock;
    sqlite3_stmt *st = spool_stmt(s, "UPDATE job_runs SET ended_at = ?, "
                                  "outcome = ?, counts = ?, message = ? "
                                  "WHERE id = ?", e);
    if (!st)
        goto rollback;
    sqlite3_bind_int64(st, 1, clock_wall_ms());
    sqlite3_bind_text(st, 2, outcome ? outcome : "done", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, counts, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, message, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, run_id);
    int r = sqlite3_step(st);
    sqlite3_reset(st);
    if (r != SQLITE_DONE || sqlite3_changes(s->db) != 1) {
        errs_add(e, "job", "no job run %lld", (long long)run_id);
        goto rollback;
    }
    if (spool_commit(s, e) != 0)
        goto unlock;
    rc = 0;
    goto unlock;
rollback:
    spool_rollback(s);
unlock:
    spool_unlock(s);
    return rc;
}

int spool_job_list(struct spool *s, const char *job, size_t limit,
                   struct spool_job_run **out, size_t *n, struct errs *e)
{
    int rc = -1, step;
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    spool_lock(s);
    sqlite3_stmt *st = spool_stmt(s, "SELECT id, job, started_at, ended_at, "
                                  "outcome, counts, message, pid FROM "
                                  "job_runs WHERE (?1 IS NULL OR job = ?1) "
                                  "ORDER BY id DESC LIMIT ?2", e);
    if (!st)
        goto done;
    sqlite3_bind_text(st, 1, job, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, limit ? (int64_t)limit : -1);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            struct spool_job_run *v = realloc(*out, cap * sizeof *v);
            if (!v) {
                errs_add(e, "", "out of memory");
                goto done;
            }
            *out = v;
        }
        struct spool_job_run *j = &(*out)[(*n)++];
        j->id = sqlite3_column_int64(st, 0);
        j->job = spool_col_strdup(st, 1);
        j->started_at = sqlite3_column_int64(st, 2);
        j->ended_at = sqlite3_column_int64(st, 3);
        j->outcome = spool_col_strdup(st, 4);
        j->counts = spool_col_strdup(st, 5);
        j->message = spool_col_strdup(st, 6);
        j->pid = (long)sqlite3_column_int64(st, 7);
    }
    if (step != SQLITE_DONE) {
        spool_dberr(s, e, NULL, "listing job runs");
        goto done;
    }
    rc = 0;
done:
    if (st)
        sqlite3_reset(st);
    spool_unlock(s);
    if (rc != 0) {
        spool_job_runs_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

void spool_job_runs_free(struct spool_job_run *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++) {
        free(v[i].job);
        free(v[i].outcome);
        free(v[i].counts);
        free(v[i].message);
    }
    free(v);
}
