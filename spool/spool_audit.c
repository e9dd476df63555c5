/* spool_audit.c - the hash-chained audit log: appending (inside the
 * caller's transaction, or alone), listing and verifying.  Operator
 * actions are spool_action.c, acknowledgements spool_ack.c, retention
 * spool_purge.c, job runs spool_jobs.c.
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

int spool_audit_reveal(struct spool *s, const char *actor, const char *ref,
                       const char *reason, const char *what, struct errs *e)
{
    if (!ref || !*ref || !actor || !*actor || !reason || !*reason) {
        errs_add(e, ref ? ref : "", "a reveal needs the record, who looks "
                 "and why (--reason)");
        return -1;
    }
    return spool_audit_add(s, actor, "reveal", ref, reason, what, e);
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
        spool_audit_entry_clear(&l->v[i]);
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
