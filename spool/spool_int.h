/* spool_int.h - what the spool's own files share; never included outside
 * spool/.  The connection and its statement cache are guarded by db_mu;
 * the group-commit queue by q_mu. */
#ifndef FERRY_SPOOL_SPOOL_INT_H
#define FERRY_SPOOL_SPOOL_INT_H
#include <pthread.h>
#include <sqlite3.h>

#include "spool/spool.h"
#include "spool/sql.h"

#define SPOOL_NSTMT 64

struct spool_req;                  /* spool_enqueue.c */
struct sql_conn;                   /* sql.h */
struct sql_stmt;

struct spool {
    char *dir;
    char *db_path;                 /* ledger.db; on PostgreSQL a label for
                                      messages (never a file to open) */
    sqlite3 *db;
    struct sql_conn *sql;          /* the statement layer (sql.h): over db
                                      (SQLite), or the PostgreSQL ledger's
                                      connection (db is then NULL) */
    struct spool_opts opts;
    pthread_mutex_t db_mu;
    struct { const char *sql; sqlite3_stmt *st; } stmt[SPOOL_NSTMT];
    size_t nstmt;
    /* group commit */
    pthread_mutex_t q_mu;
    pthread_cond_t q_cv;
    struct spool_req *q_head, *q_tail;
    bool q_leader;
    struct spool_stats stats;      /* under q_mu (enqueue) / db_mu (commits) */
    char *audit_head_path;         /* the head file outside the ledger */
    char audit_pending[100];       /* head appended in the open transaction,
                                      anchored by spool_commit; "" = none */
    /* HMAC-SHA-256 of the search key, its inner and outer pads already
     * absorbed (made by spool_search.c on first use, under db_mu; freed
     * by spool_close) */
    struct evp_md_ctx_st *search_in, *search_out, *search_tmp;
    struct spool_tally *tally;     /* final-state totals of the open
                                      transaction (spool_totals.c) */
    size_t ntally, captally;
};

/* spool_page_rows - how many rows a long read asks for at a time: a
 * PostgreSQL result arrives whole, so a read that can be long goes in
 * keyset pages (WHERE key > ?last ORDER BY key LIMIT ?page); SQLite
 * steps a cursor, so there the page is unbounded and the read is one
 * pass, as it always was (a page would repeat any sort SQLite does for
 * the ORDER BY).  Where the engines differ, visibly. */
#define SPOOL_PAGE_ROWS 1000
static inline size_t spool_page_rows(const struct spool *s)
{
    return sql_backend(s->sql) == SQL_POSTGRESQL ? SPOOL_PAGE_ROWS
                                                 : (size_t)INT64_MAX;
}

/* The condition of the partial index records_work (schema v13), to paste
 * into a query that reads only records not yet final: SQLite uses a
 * partial index only when the query names its condition. */
#define SPOOL_WORK_TERM "state NOT IN ('confirmed','discarded')"

/* spool_db.c: the final records per service, target and state
 * (state_totals), kept in the same transaction as each move to a final
 * state.  tally_final notes one move of a record to the final state
 * named (in memory); spool_commit flushes the notes into state_totals
 * before COMMIT, spool_rollback forgets them.  Every path that makes a
 * record confirmed or discarded calls spool_tally_final. */
struct spool_tally {
    char *service, *target, *state;
    int64_t n;
};
int spool_tally_final(struct spool *s, const char *service,
                      const char *target, const char *state,
                      struct errs *e);
int spool_tally_flush(struct spool *s, struct errs *e);
void spool_tally_clear(struct spool *s);

/* spool_transition_need - 0 when from -> to is in the transition table,
 * else -1 with a problem at where (spool_state.c) */
int spool_transition_need(enum spool_state from, enum spool_state to,
                          const char *where, struct errs *e);

/* Helpers in spool_db.c; all expect db_mu held. */
/* spool_sql - the cached statement-layer statement (sql.h) for sql,
 * reset and unbound; NULL with the ledger's message in e.  The way every
 * spool file reaches the ledger, whichever engine holds it.  SQL made at
 * run time goes through sql_prepare_own(s->sql, ...) instead. */
struct sql_stmt *spool_sql(struct spool *s, const char *sql, struct errs *e);
/* spool_sqlerr - a problem at where (NULL: the spool folder) saying
 * what, with the statement layer's last message */
void spool_sqlerr(struct spool *s, struct errs *e, const char *where,
                  const char *what);
/* spool_stmt - the SQLite-only form, for the files not yet moved onto
 * the statement layer (issue 18); NULL with a problem on PostgreSQL */
sqlite3_stmt *spool_stmt(struct spool *s, const char *sql, struct errs *e);
int spool_exec(struct spool *s, const char *sql, struct errs *e);
int spool_begin(struct spool *s, struct errs *e);
int spool_commit(struct spool *s, struct errs *e);
void spool_rollback(struct spool *s);
/* spool_end - the one ending of a transaction under db_mu: commit when rc
 * is 0 (a failed commit rolls back, and rc becomes -1 with e filled), roll
 * back otherwise (a no-op when none is open), then release db_mu.
 * Returns the final rc: `return spool_end(s, rc, e);` */
int spool_end(struct spool *s, int rc, struct errs *e);
void spool_dberr(struct spool *s, struct errs *e, const char *where,
                 const char *what);
void spool_day_text(int64_t ms, char out[11]);      /* YYYY-MM-DD UTC */
char *spool_col_strdup(sqlite3_stmt *st, int col);   /* NULL for NULL */
void spool_lock(struct spool *s);
void spool_unlock(struct spool *s);
/* The intake counter of deliveries beyond one per accepted submission
 * (a service with several targets): accepted + fanout = delivery rows,
 * which is what conservation compares with the rows in states. */
#define SPOOL_COUNTER_FANOUT "fanout"
/* spool_counter_add - counters(service, day, name) += n */
int spool_counter_add(struct spool *s, const char *service, const char *day,
                      const char *name, int64_t n, struct errs *e);

/* spool_idem.c: clients' Idempotency-Keys (inside spool_enqueue's
 * transaction).  find: 1 known (res filled: replay or conflict), 0 not,
 * -1 error; save: remember the answer res gave. */
int spool_key_find(struct spool *s, const struct spool_item *it,
                   struct spool_result *res, struct errs *e);
int spool_key_save(struct spool *s, const struct spool_item *it,
                   const struct spool_result *res, int64_t now,
                   struct errs *e);
/* The same for many items at once (PostgreSQL's group commit: a
 * statement per 100 lookups).  keys_find_many: known[i] and res[i] as
 * spool_key_find's 1.  dups_find_many: refs[i] the reference already
 * holding (its[i]'s service, targets[i], idem_key), "" when none.
 * keys_save_many: *keep holds the digests until the statements have
 * been sent (caller frees, also on error). */
int spool_keys_find_many(struct spool *s, const struct spool_item *const *its,
                         struct spool_result *const *res, bool *known,
                         size_t n, struct errs *e);
int spool_dups_find_many(struct spool *s, const struct spool_item *const *its,
                         const char *const *targets,
                         char (*refs)[SPOOL_REF_MAX], size_t n,
                         struct errs *e);
int spool_keys_save_many(struct spool *s, const struct spool_item *const *its,
                         const struct spool_result *const *res, size_t n,
                         int64_t now, unsigned char **keep, struct errs *e);

/* spool_crypt.c: stored = nonce(12)|tag(16)|ciphertext; aad binds it to
 * the reference and column.  *out malloc'd. */
int spool_seal(const struct spool *s, const char *ref, const char *col,
               const void *in, size_t n, unsigned char **out, size_t *outn);
int spool_open_sealed(const struct spool *s, const char *ref, const char *col,
                      const void *in, size_t n, unsigned char **out,
                      size_t *outn, const char **why);
/* spool_bind_sealed - bind a payload column: sealed with the spool's key
 * when encryption is on (*owned then holds the sealed bytes until the
 * statement has run; caller frees), as is otherwise, NULL for NULL.
 * 0 ok, -1 sealing failed. */
int spool_bind_sealed(struct spool *s, struct sql_stmt *st, int col,
                      const char *ref, const char *name, const void *p,
                      size_t n, unsigned char **owned);
/* spool_col_opened - a payload column read back: opened with the
 * spool's key when enc, copied otherwise (*out malloc'd and
 * NUL-terminated; NULL for NULL).  0 ok, -1 with *why saying why. */
int spool_col_opened(struct spool *s, struct sql_stmt *st, int col, bool enc,
                     const char *ref, const char *name, unsigned char **out,
                     size_t *outn, const char **why);
/* SHA-256 hex of data; out holds 65 */
void spool_sha256_hex(const void *data, size_t n, char out[65]);

/* spool_row.c (a leaf): read a record row selected with SPOOL_REC_COLS */
#define SPOOL_REC_COLS "id, ref, service, target, client, fe_ref, idem_key, " \
    "received_at, updated_at, state, attempts, next_attempt_at, " \
    "lease_owner, lease_until, last_error, batch_id, receipt, in_doubt, " \
    "closed_reason, payload_purged, payload_enc, payload, original, " \
    "record_json, delivery_id, channel, confirmed_at, missing_at, " \
    "marker_gen, receipt_data"
void spool_record_clear(struct spool_record *r);
void spool_audit_entry_clear(struct spool_audit_entry *a);

/* spool_search.c: index record id's search pairs (the item's) inside the
 * caller's transaction; nothing when the spool has no search key. */
int spool_search_add(struct spool *s, int64_t id, const char *service,
                     char *const *pairs, size_t n, struct errs *e);

/* spool_audit.c: append one audit entry inside the caller's transaction */
int spool_audit_append(struct spool *s, int64_t at, const char *actor,
                       const char *action, const char *ref,
                       const char *reason, const char *before,
                       const char *after, const char *detail,
                       struct errs *e);

/* spool_audit_anchor (spool_anchor.c, a leaf) - after a commit: the head appended in it goes to
 * the head file (temp, fsync, rename) and the log.  Never fails the
 * commit: a head file that cannot be written is logged, and verify then
 * says it lags. */
void spool_audit_anchor(struct spool *s);
/* spool_audit_list_locked - spool_audit_list with db_mu already held */
int spool_audit_list_locked(struct spool *s, const char *ref,
                            struct spool_audit_list *out, struct errs *e);
/* spool_delivery_pick (spool_row.c) - the delivery of ref an action
 * works on: target's when given (refused, naming ref's targets, when it
 * has none to target); without one, the only delivery, or the only one
 * in a state of applies (a bit per state).  Several deliveries the
 * action could apply to are refused, listing their targets: nothing is
 * done to a delivery nobody named.  0 (out filled), 1 no such record,
 * -1 (e says why). */
struct spool_pick {
    int64_t id;
    enum spool_state state;
    char target[128];
    size_t ndeliveries;            /* rows of ref */
};
int spool_delivery_pick(struct spool *s, const char *ref, const char *target,
                        unsigned applies, const char *verb,
                        struct spool_pick *out, struct errs *e);

/* spool_state.c: set state of record id from -> to, checked against the
 * table; inside the caller's transaction. */
int spool_set_state(struct spool *s, int64_t id, const char *ref,
                    enum spool_state from, enum spool_state to,
                    struct errs *e);

#endif
