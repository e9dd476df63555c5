/* spool_audit.c - the audit chain: appending (inside the caller's
 * transaction, or alone), listing, verifying, and anchoring its head
 * outside the ledger.  Operator actions are spool_action.c,
 * acknowledgements spool_ack.c, retention spool_purge.c, job runs
 * spool_jobs.c.
 *
 * Chain: each entry's hash covers the previous hash and the entry's
 * canonical text, every field as "<length>:<bytes>\n" so no value can
 * fake a field boundary; the first entry's prev_hash is 64 zeros.  With
 * the audit key (spool_opts.audit_key, a file apart from the ledger) the
 * hash is HMAC-SHA-256 under that key ("ferry-audit-v2"), so rewriting an
 * entry and recomputing the chain needs the key.  Entries written before a
 * key was configured stay plain SHA-256 ("ferry-audit-v1", keyed = 0), and
 * verify says they are proven only against damage.  Once an entry is
 * keyed, every later one must be: a writer without the key is refused.
 *
 * The head (newest id and hash) is kept in meta, and after each commit
 * also written to a head file outside the ledger and logged
 * (spool_anchor.c), so deleting the newest entries and fixing the stored
 * head is still caught; `ferry audit head` prints it to be recorded
 * elsewhere too.
 *
 * The chain runs on the statement layer (sql.h) through struct
 * spool_audit_chain (audit_chain.h), so the same code keeps it in the
 * SQLite ledger and in a PostgreSQL one; struct spool's functions below
 * only lend it their connection, key and head file. */
#include "spool/audit_chain.h"
#include "spool/spool_int.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/errs.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUDIT_COLS "id, at, actor, action, ref, reason, before_state, " \
    "after_state, detail, prev_hash, hash, keyed"

static const char zero_hash[] =
    "0000000000000000000000000000000000000000000000000000000000000000";

static void canon_field(struct buf *b, const char *v)
{
    v = v ? v : "";
    buf_printf(b, "%zu:", strlen(v));
    buf_puts(b, v);
    buf_putc(b, '\n');
}

struct entry {
    int64_t id, at;
    const char *actor, *action, *ref, *reason, *before, *after, *detail;
};

/* entry_hash - the chain rule, in one place for writing and verifying:
 * SHA-256 without a key (v1), HMAC-SHA-256 under key (v2) */
static int entry_hash(const struct entry *en, const char *prev,
                      const unsigned char *key, char out[65])
{
    struct buf b;
    buf_init(&b, 0);
    buf_puts(&b, prev);
    buf_puts(&b, key ? "ferry-audit-v2\n" : "ferry-audit-v1\n");
    buf_printf(&b, "%lld\n%lld\n", (long long)en->id, (long long)en->at);
    canon_field(&b, en->actor);
    canon_field(&b, en->action);
    canon_field(&b, en->ref);
    canon_field(&b, en->reason);
    canon_field(&b, en->before);
    canon_field(&b, en->after);
    canon_field(&b, en->detail);
    if (!b.data) {
        buf_free(&b);
        return -1;
    }
    int rc = 0;
    if (key) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        if (!HMAC(EVP_sha256(), key, SPOOL_KEY_LEN,
                  (const unsigned char *)b.data, b.len, mac, &n) || n != 32)
            rc = -1;
        for (unsigned i = 0; rc == 0 && i < n; i++)
            snprintf(out + 2 * i, 3, "%02x", mac[i]);
    } else {
        spool_sha256_hex(b.data, b.len, out);
    }
    buf_free(&b);
    return rc;
}

/* read_head - the newest entry: id (0 when empty), hash, keyed */
/* dberr - a ledger error with the backend's message (spool_dberr's
 * words) */
static void dberr(const struct spool_audit_chain *ac, struct errs *e,
                  const char *where, const char *what)
{
    errs_add(e, where ? where : ac->where, "%s: %s", what,
             sql_errmsg(ac->c));
}

/* prep - the cached statement, or NULL with e filled (spool_stmt's
 * words) */
static struct sql_stmt *prep(struct spool_audit_chain *ac, const char *sql,
                             struct errs *e)
{
    struct sql_stmt *st = sql_prepare(ac->c, sql);
    if (!st)
        dberr(ac, e, NULL, "ledger statement");
    return st;
}

/* chain_of - what struct spool lends the chain */
static struct spool_audit_chain chain_of(struct spool *s)
{
    return (struct spool_audit_chain){
        .c = s->sql, .keyed = s->opts.audit_keyed,
        .key = s->opts.audit_key, .head_path = s->audit_head_path,
        .pending = s->audit_pending, .pendingsz = sizeof s->audit_pending,
        .where = s->dir };
}

static int read_head(struct spool_audit_chain *ac, int64_t *id,
                     char hash[65], bool *keyed, struct errs *e)
{
    *id = 0;
    *keyed = false;
    snprintf(hash, 65, "%s", zero_hash);
    struct sql_stmt *st = prep(ac, "SELECT id, hash, keyed FROM audit "
                               "ORDER BY id DESC LIMIT 1", e);
    if (!st)
        return -1;
    enum sql_step r = sql_step(st);
    if (r == SQL_STEP_ROW) {
        *id = sql_col_int64(st, 0);
        const char *h = sql_col_text(st, 1);
        snprintf(hash, 65, "%s", h ? h : "");
        *keyed = sql_col_int64(st, 2) != 0;
    }
    sql_reset(st);
    if (r == SQL_STEP_ERROR) {
        dberr(ac, e, NULL, "reading audit head");
        return -1;
    }
    return 0;
}

int spool_audit_append(struct spool *s, int64_t at, const char *actor,
                       const char *action, const char *ref,
                       const char *reason, const char *before,
                       const char *after, const char *detail,
                       struct errs *e)
{
    struct spool_audit_chain ac = chain_of(s);
    return spool_audit_chain_append(&ac, at, actor, action, ref, reason,
                                    before, after, detail, e);
}

int spool_audit_chain_append(struct spool_audit_chain *ac, int64_t at,
                             const char *actor, const char *action,
                             const char *ref, const char *reason,
                             const char *before, const char *after,
                             const char *detail, struct errs *e)
{
    char prev[65], hash[65], head[96];
    int64_t last;
    bool head_keyed;
    /* one appender at a time across nodes (SQLite: BEGIN IMMEDIATE
     * already is) */
    if (sql_lock_xact(ac->c, "audit") != 0) {
        dberr(ac, e, ref, "locking the audit chain");
        return -1;
    }
    if (read_head(ac, &last, prev, &head_keyed, e) != 0)
        return -1;
    if (head_keyed && !ac->keyed) {
        errs_add(e, ref ? ref : "audit", "the audit chain is keyed: this "
                 "needs the audit key (<spool audit-key-file=...> in "
                 "ferry.xml; give --config) to add to it");
        return -1;
    }
    if (!actor || !*actor)
        actor = "unknown";
    struct entry en = { last + 1, at, actor, action, ref, reason, before,
                        after, detail };
    const unsigned char *key = ac->keyed ? ac->key : NULL;
    if (entry_hash(&en, prev, key, hash) != 0) {
        errs_add(e, ref ? ref : "", "out of memory");
        return -1;
    }
    struct sql_stmt *st = prep(ac, "INSERT INTO audit(" AUDIT_COLS ") "
                               "VALUES(?,?,?,?,?,?,?,?,?,?,?,?)", e);
    if (!st)
        return -1;
    sql_bind_int64(st, 1, en.id);
    sql_bind_int64(st, 2, at);
    sql_bind_text(st, 3, actor);
    sql_bind_text(st, 4, action);
    sql_bind_text(st, 5, ref);
    sql_bind_text(st, 6, reason);
    sql_bind_text(st, 7, before);
    sql_bind_text(st, 8, after);
    sql_bind_text(st, 9, detail);
    sql_bind_text(st, 10, prev);
    sql_bind_text(st, 11, hash);
    sql_bind_int64(st, 12, key ? 1 : 0);
    enum sql_step r = sql_step(st);
    sql_reset(st);
    if (r != SQL_STEP_DONE) {
        dberr(ac, e, ref, "writing audit entry");
        return -1;
    }
    snprintf(head, sizeof head, "%lld:%s", (long long)en.id, hash);
    st = prep(ac, "INSERT INTO meta(name, value) VALUES('audit_head', "
              "?) ON CONFLICT(name) DO UPDATE SET value = "
              "excluded.value", e);
    if (!st)
        return -1;
    sql_bind_text(st, 1, head);
    r = sql_step(st);
    sql_reset(st);
    if (r != SQL_STEP_DONE) {
        dberr(ac, e, ref, "writing audit head");
        return -1;
    }
    snprintf(ac->pending, ac->pendingsz, "%lld %s %d",
             (long long)en.id, hash, key ? 1 : 0);
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
    if (spool_begin(s, e) == 0)
        rc = spool_audit_append(s, clock_wall_ms(), actor, action, ref,
                                reason, "", "", detail, e);
    return spool_end(s, rc, e);
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
    struct spool_audit_chain ac = chain_of(s);
    return spool_audit_chain_list(&ac, ref, out, e);
}

int spool_audit_chain_list(struct spool_audit_chain *ac, const char *ref,
                           struct spool_audit_list *out, struct errs *e)
{
    size_t cap = 0;
    enum sql_step step;
    out->v = NULL;
    out->n = 0;
    struct sql_stmt *st = prep(ac, ref
        ? "SELECT " AUDIT_COLS " FROM audit WHERE ref = ? ORDER BY id"
        : "SELECT " AUDIT_COLS " FROM audit ORDER BY id", e);
    if (!st)
        return -1;
    if (ref)
        sql_bind_text(st, 1, ref);
    while ((step = sql_step(st)) == SQL_STEP_ROW) {
        if (out->n == cap) {
            cap = cap ? cap * 2 : 16;
            struct spool_audit_entry *v = realloc(out->v, cap * sizeof *v);
            if (!v) {
                sql_reset(st);
                errs_add(e, ref ? ref : "", "out of memory");
                spool_audit_list_free(out);
                return -1;
            }
            out->v = v;
        }
        struct spool_audit_entry *a = &out->v[out->n++];
        a->id = sql_col_int64(st, 0);
        a->at = sql_col_int64(st, 1);
        a->actor = sql_col_strdup(st, 2);
        a->action = sql_col_strdup(st, 3);
        a->ref = sql_col_strdup(st, 4);
        a->reason = sql_col_strdup(st, 5);
        a->before = sql_col_strdup(st, 6);
        a->after = sql_col_strdup(st, 7);
        a->detail = sql_col_strdup(st, 8);
        a->prev_hash = sql_col_strdup(st, 9);
        a->hash = sql_col_strdup(st, 10);
        a->keyed = sql_col_int64(st, 11) != 0;
    }
    sql_reset(st);
    if (step != SQL_STEP_DONE) {
        dberr(ac, e, ref, "reading audit");
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

const char *spool_audit_head_file(const struct spool *s)
{
    return s->audit_head_path;
}

int spool_audit_head(struct spool *s, char *out, size_t outsz,
                     struct errs *e)
{
    struct spool_audit_chain ac = chain_of(s);
    spool_lock(s);
    int rc = spool_audit_chain_head(&ac, out, outsz, e);
    spool_unlock(s);
    return rc;
}

int spool_audit_chain_head(struct spool_audit_chain *ac, char *out,
                           size_t outsz, struct errs *e)
{
    int64_t id;
    char hash[65];
    bool keyed;
    int rc = read_head(ac, &id, hash, &keyed, e);
    if (rc == 0)
        snprintf(out, outsz, "%lld:%s", (long long)id, hash);
    return rc;
}

/* parse_head - "ID:HASH" or "ID HASH[ KEYED]" into id and hash; 0 ok */
static int parse_head(const char *text, int64_t *id, char hash[65],
                      bool *keyed)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || v < 0 || (*end != ':' && *end != ' '))
        return -1;
    end++;
    size_t n = strspn(end, "0123456789abcdef");
    if (n != 64)
        return -1;
    memcpy(hash, end, 64);
    hash[64] = '\0';
    *id = v;
    *keyed = end[64] == ' ' && end[65] == '1';
    return 0;
}

/* read_head_file - the head recorded outside the ledger; 1 when none */
static int read_head_file(const struct spool_audit_chain *ac, int64_t *id,
                          char hash[65], bool *keyed, struct errs *e)
{
    FILE *f = fopen(ac->head_path, "r");
    if (!f)
        return errno == ENOENT ? 1 : (errs_add(e, ac->head_path,
                                      "cannot read the audit head file: %s",
                                      strerror(errno)), -1);
    char line[160] = "";
    bool got = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    if (!got || parse_head(line, id, hash, keyed) != 0) {
        errs_add(e, ac->head_path, "the audit head file is not "
                 "\"ID HASH KEYED\"");
        return -1;
    }
    return 0;
}

struct walk {
    char prev[65];
    int64_t last_id;
    bool seen_keyed;
};

/* check_entry - one row against the chain rule; 0 holds, 1 broken */
static int check_entry(struct spool_audit_chain *ac, struct sql_stmt *st,
                       struct walk *w, struct spool_audit_proof *p,
                       struct errs *e)
{
    char hash[65], where[32];
    struct entry en = { sql_col_int64(st, 0), sql_col_int64(st, 1),
                        sql_col_text(st, 2), sql_col_text(st, 3),
                        sql_col_text(st, 4), sql_col_text(st, 5),
                        sql_col_text(st, 6), sql_col_text(st, 7),
                        sql_col_text(st, 8) };
    const char *ph = sql_col_text(st, 9), *h = sql_col_text(st, 10);
    bool keyed = sql_col_int64(st, 11) != 0;
    snprintf(where, sizeof where, "audit %lld", (long long)en.id);
    p->checked++;
    p->bad_id = en.id;
    if (!ph || strcmp(ph, w->prev) != 0) {
        errs_add(e, where, "link broken: previous hash does not match "
                 "entry %lld (an entry was changed, removed or inserted "
                 "before it)", (long long)w->last_id);
        return 1;
    }
    if (!keyed && w->seen_keyed) {
        errs_add(e, where, "entry is not keyed although entries before it "
                 "are: it was written or rewritten without the audit key");
        return 1;
    }
    if (keyed) {
        p->keyed++;
        w->seen_keyed = true;
    } else {
        p->unkeyed++;
    }
    if (!keyed || ac->keyed) {
        if (entry_hash(&en, w->prev, keyed ? ac->key : NULL,
                       hash) != 0) {
            errs_add(e, where, "out of memory");
            return -1;
        }
        if (!h || CRYPTO_memcmp(h, hash, 65) != 0 || strlen(h) != 64) {
            errs_add(e, where, keyed
                     ? "entry was changed: its HMAC does not match its "
                       "content under the audit key (rewritten, or a "
                       "different key)"
                     : "entry was changed: its hash does not match its "
                       "content");
            return 1;
        }
    }
    snprintf(w->prev, sizeof w->prev, "%s", h ? h : "");
    w->last_id = en.id;
    p->bad_id = 0;
    return 0;
}

/* check_head - the newest entry against a head recorded elsewhere (the
 * ledger's meta, the head file, the caller's); 0 holds, 1 broken.
 * *behind: the head names an older entry, which holds. */
static int check_head(struct spool_audit_chain *ac, const char *what,
                      int64_t id,
                      const char *hash, const struct walk *w,
                      struct spool_audit_proof *p, bool *behind,
                      struct errs *e)
{
    *behind = false;
    if (id > w->last_id) {
        errs_add(e, "audit", "the chain ends at entry %lld but %s names "
                 "entry %lld: entries were removed from the end",
                 (long long)w->last_id, what, (long long)id);
        p->bad_id = w->last_id + 1;
        return 1;
    }
    if (id == w->last_id) {
        if (strcmp(hash, w->prev) != 0) {
            errs_add(e, "audit", "entry %lld does not match %s: the chain "
                     "was rewritten", (long long)id, what);
            p->bad_id = id;
            return 1;
        }
        return 0;
    }
    struct sql_stmt *st = prep(ac, "SELECT hash FROM audit WHERE id = ?", e);
    if (!st)
        return -1;
    sql_bind_int64(st, 1, id);
    enum sql_step r = sql_step(st);
    bool same = r == SQL_STEP_ROW && sql_col_text(st, 0)
                && strcmp(sql_col_text(st, 0), hash) == 0;
    sql_reset(st);
    if (!same && id > 0) {
        errs_add(e, "audit", "entry %lld does not match %s: the chain was "
                 "rewritten", (long long)id, what);
        p->bad_id = id;
        return 1;
    }
    *behind = true;
    return 0;
}

/* check_heads - meta's head, the head file and expect against the chain */
static int check_heads(struct spool_audit_chain *ac, const char *expect,
                       const struct walk *w, struct spool_audit_proof *p,
                       struct errs *e)
{
    int64_t id;
    char hash[65];
    bool keyed, behind;
    int rc = 0;
    struct sql_stmt *st = prep(ac, "SELECT value FROM meta WHERE name = "
                               "'audit_head'", e);
    if (!st)
        return -1;
    enum sql_step r = sql_step(st);
    const char *mh = r == SQL_STEP_ROW ? sql_col_text(st, 0) : NULL;
    bool meta_ok = mh && parse_head(mh, &id, hash, &keyed) == 0;
    sql_reset(st);
    if (w->last_id && !meta_ok) {
        errs_add(e, "audit", "audit head record is missing");
        p->bad_id = w->last_id;
        return 1;
    }
    if (meta_ok) {
        rc = check_head(ac, "the head kept in the ledger", id, hash, w, p,
                        &behind, e);
        if (rc == 0 && behind) {
            errs_add(e, "audit", "the head kept in the ledger names entry "
                     "%lld, the chain goes on to %lld", (long long)id,
                     (long long)w->last_id);
            p->bad_id = id + 1;
            rc = 1;
        }
        if (rc)
            return rc;
    }
    int hr = read_head_file(ac, &id, hash, &keyed, e);
    if (hr < 0)
        return 1;
    if (hr == 0) {
        p->head_file_id = id;
        if ((rc = check_head(ac, "the head file outside the ledger", id, hash,
                             w, p, &behind, e)) != 0)
            return rc;
        p->head_file_behind = behind;
        if (keyed && ac->keyed && !w->seen_keyed) {
            errs_add(e, "audit", "the head file names a keyed entry but no "
                     "entry is keyed: the chain was rewritten without the "
                     "key");
            p->bad_id = id;
            return 1;
        }
    }
    if (expect) {
        if (parse_head(expect, &id, hash, &keyed) != 0) {
            errs_add(e, "audit", "the expected head is not ID:HASH (as "
                     "'ferry audit head' prints it)");
            return -1;
        }
        if ((rc = check_head(ac, "the expected head", id, hash, w, p,
                             &behind, e)) != 0)
            return rc;
        p->expected_checked = true;
    }
    return 0;
}

int spool_audit_verify(struct spool *s, const char *expect,
                       struct spool_audit_proof *p, struct errs *e)
{
    struct spool_audit_chain ac = chain_of(s);
    spool_lock(s);
    int rc = spool_audit_chain_verify(&ac, expect, p, e);
    spool_unlock(s);
    return rc;
}

int spool_audit_chain_verify(struct spool_audit_chain *ac,
                             const char *expect,
                             struct spool_audit_proof *p, struct errs *e)
{
    struct walk w = { .last_id = 0 };
    int rc = 0;
    enum sql_step step;
    memset(p, 0, sizeof *p);
    snprintf(w.prev, sizeof w.prev, "%s", zero_hash);
    p->key_given = ac->keyed;
    struct sql_stmt *st = prep(ac, "SELECT " AUDIT_COLS " FROM audit "
                               "ORDER BY id", e);
    if (!st)
        return -1;
    while ((step = sql_step(st)) == SQL_STEP_ROW)
        if ((rc = check_entry(ac, st, &w, p, e)) != 0)
            break;
    if (rc == 0 && step != SQL_STEP_DONE) {
        dberr(ac, e, NULL, "reading audit");
        rc = -1;
    }
    sql_reset(st);
    if (rc == 0)
        rc = check_heads(ac, expect, &w, p, e);
    p->last_id = w.last_id;
    snprintf(p->last_hash, sizeof p->last_hash, "%s", w.prev);
    return rc;
}
