/* spool.h - the durable ledger: records, attempts, batches, job runs, audit.
 *
 * A spool is a folder holding ledger.db (SQLite, WAL, synchronous=FULL)
 * and the staging folders outbound/, inbound/, archive/ and locks/.  The
 * folder is 0700 and every file in it 0600.
 *
 * Everything that changes state is one transaction, and every record
 * state change goes through one transition table (spool_transition_ok).
 * Callers never write SQL: this API is the whole contract, so a
 * PostgreSQL backend can stand behind it later.
 *
 * Threads: a struct spool may be shared by any number of threads.
 * spool_enqueue() group-commits concurrent callers (one leader commits
 * every pending item in one transaction, then wakes the others); all
 * other calls are serialised on the one connection.
 *
 * Times are int64_t milliseconds since 1970-01-01 UTC.  Where a function
 * takes now_ms, 0 means "the current time".
 *
 * Ownership: every struct returned through an out-pointer belongs to the
 * caller and is freed with the matching *_free function named beside it;
 * each *_free(NULL) does nothing.  Strings inside returned structs belong
 * to the struct.  Pointers passed to callbacks are borrowed and valid only
 * during the call.
 *
 * Errors: functions return 0 on success and -1 with at least one entry
 * added to e (where = the reference or the spool folder) on failure,
 * unless stated otherwise. */
#ifndef FERRY_SPOOL_SPOOL_H
#define FERRY_SPOOL_SPOOL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct errs;
struct spool;

#define SPOOL_KEY_LEN 32          /* AES-256 */
#define SPOOL_REF_MAX 40          /* "FRY-20261127-000123" and wider */
#define SPOOL_ID_LEN 37           /* 128 random bits as 8-4-4-4-12 hex + NUL */
#define SPOOL_SCHEMA_VERSION 16
#define SPOOL_SEARCH_KEY_LEN 32   /* HMAC-SHA-256 key of the search index */

/* ---- opening ---------------------------------------------------------- */

struct spool_opts {
    bool encrypt;                  /* encrypt payloads with key */
    unsigned char key[SPOOL_KEY_LEN];
    int busy_timeout_ms;           /* 0 = 10000 */
    bool read_only;                /* inspection tools; never creates */
    /* The audit chain's key (HMAC-SHA-256), kept apart from the ledger:
     * entries written with it are keyed; without it a keyed chain can be
     * read and its links checked, but not added to. */
    bool audit_keyed;
    unsigned char audit_key[SPOOL_KEY_LEN];
    /* Where each new audit head is also written ("ID HASH KEYED\n"),
     * outside the ledger; NULL = DIR/audit.head.  Copied. */
    const char *audit_head_file;
    bool search;                   /* index searchable values (key below) */
    unsigned char search_key[SPOOL_SEARCH_KEY_LEN];
    /* The ledger's PostgreSQL database (a libpq connection string, a
     * secret: never logged), or NULL for the SQLite ledger.db in the
     * folder.  The folder still holds outbound/, inbound/, archive/,
     * locks/ and audit.head either way.  Borrowed: used by spool_open
     * only (a lost connection is made again from libpq's own copy). */
    const char *pg_conninfo;
};

/* spool_open - open (creating when missing) the spool folder dir with its
 * staging folders and ledger, and migrate the schema to
 * SPOOL_SCHEMA_VERSION (SQLite), or connect to o->pg_conninfo and create
 * or check its schema (PostgreSQL, spool/pg_schema.c).  o may be NULL
 * (no encryption, SQLite).  A key given in o
 * is also used to read encrypted payloads; without one, reading an
 * encrypted payload is an error naming the record.  Caller frees with
 * spool_close.  Sets umask 077 briefly while creating files: open spools
 * before starting threads that create files. */
struct spool *spool_open(const char *dir, const struct spool_opts *o,
                         struct errs *e);
void spool_close(struct spool *s);
const char *spool_dir(const struct spool *s);
/* spool_identity - the spool's own random identity, made when its ledger
 * was created (or first migrated to schema 4): 128 random bits written as
 * a UUID (8-4-4-4-12 lower-case hex; every bit random, no version bits).
 * Two spools, a rebuilt one or one restored from another's files never
 * share it... except a restored copy of the same ledger, which is the
 * same spool.  out holds SPOOL_ID_LEN. */
int spool_identity(struct spool *s, char out[SPOOL_ID_LEN], struct errs *e);
/* spool_id_new - 128 fresh random bits (OpenSSL RAND_bytes) as a UUID
 * into out; 0 ok, -1 when the generator fails (never a weaker fallback). */
int spool_id_new(char out[SPOOL_ID_LEN]);
/* ---- batch files at rest (spool_fcrypt.c) ----------------------------
 * With a key (spool_opts.encrypt) batch files in outbound/ and archive/
 * are sealed: "FRYFILE1" | nonce | AES-256-GCM ciphertext | tag, the
 * additional data naming the file.  Streamed in chunks of any size. */
#define SPOOL_FCRYPT_HEAD 20       /* magic (8) + nonce (12) */
#define SPOOL_FCRYPT_TAG  16
struct spool_fcrypt;
/* spool_files_sealed - are new batch files sealed (the spool has a key) */
bool spool_files_sealed(const struct spool *s);
/* spool_fcrypt_is_sealed - do the first n bytes of a file say sealed */
bool spool_fcrypt_is_sealed(const unsigned char *head, size_t n);
/* spool_fcrypt_seal - start sealing a file named aad: write head first,
 * then what spool_fcrypt_update makes, then the tag from final.  NULL
 * with e when the spool has no key. */
struct spool_fcrypt *spool_fcrypt_seal(const struct spool *s, const char *aad,
                                       unsigned char head[SPOOL_FCRYPT_HEAD],
                                       struct errs *e);
/* spool_fcrypt_open - start opening a sealed file from its head */
struct spool_fcrypt *spool_fcrypt_open(const struct spool *s, const char *aad,
                                       const unsigned char head[SPOOL_FCRYPT_HEAD],
                                       struct errs *e);
/* spool_fcrypt_update - n bytes in -> n bytes out; 0, or -1 */
int spool_fcrypt_update(struct spool_fcrypt *f, const void *in, size_t n,
                        void *out);
/* spool_fcrypt_final - sealing: the tag to append; opening: the file's
 * tag, checked (-1: wrong key, renamed or damaged file) */
int spool_fcrypt_final(struct spool_fcrypt *f,
                       unsigned char tag[SPOOL_FCRYPT_TAG]);
void spool_fcrypt_free(struct spool_fcrypt *f);

/* spool_conninfo_load - a PostgreSQL connection file (spool_opts
 * pg_conninfo): one libpq connection string, mode 0600 (refused when
 * group or others can read it, or when libpq cannot parse it; the
 * message never quotes it).  *out malloc'd: free it with
 * spool_conninfo_free, which wipes it first. */
int spool_conninfo_load(const char *path, char **out, struct errs *e);
void spool_conninfo_free(char *conninfo);

/* spool_key_load - key file: 32 raw bytes, or 64 hex characters (a
 * trailing newline allowed).  Refuses a file readable by group/other. */
int spool_key_load(const char *path, unsigned char key[SPOOL_KEY_LEN],
                   struct errs *e);

/* ---- states ----------------------------------------------------------- */

enum spool_state {
    SPOOL_RECEIVED = 0,
    SPOOL_QUEUED,
    SPOOL_DELIVERING,
    SPOOL_DEFERRED,
    SPOOL_DELIVERED,
    SPOOL_CONFIRMED,
    SPOOL_REJECTED,
    SPOOL_BATCHED,
    SPOOL_SENT,
    SPOOL_HELD,
    SPOOL_FAILED,
    SPOOL_DISCARDED,
    SPOOL_INDOUBT,
    SPOOL_NSTATES
};

/* spool_state_name - "queued"...; "?" for an out-of-range value */
const char *spool_state_name(enum spool_state st);
/* spool_state_parse - name to enum; 0 ok, -1 unknown */
int spool_state_parse(const char *name, enum spool_state *out);
/* spool_transition_ok - the one transition table (see docs/spool.md) */
bool spool_transition_ok(enum spool_state from, enum spool_state to);
/* spool_state_final - confirmed and discarded: nothing more will happen */
bool spool_state_final(enum spool_state st);

/* ---- intake ------------------------------------------------------------ */

/* How a record came in.  Kept per record (schema v4); a ledger migrated
 * from v3 derives it from the client column (docs/spool.md). */
enum spool_channel {
    SPOOL_CH_UNKNOWN = 0,          /* migrated row with nothing to tell by */
    SPOOL_CH_HTTP,                 /* HTTP intake (POST /v1/...) */
    SPOOL_CH_CLI,                  /* ferry submit: JSON / NDJSON */
    SPOOL_CH_CSV,                  /* ferry import: CSV keyed by staff */
    SPOOL_CH_ASSISTED,             /* the support console's form */
    SPOOL_NCHANNELS
};
/* spool_channel_name - "unknown", "http", "cli", "csv", "assisted";
 * "?" for an out-of-range value */
const char *spool_channel_name(enum spool_channel c);
/* spool_channel_parse - name to enum; 0 ok, -1 unknown name */
int spool_channel_parse(const char *name, enum spool_channel *out);

struct spool_item {
    const char *service;           /* required */
    const char *target;            /* may be NULL (no delivery yet) */
    /* A service with several targets: one delivery row per name, every
     * row sharing the reference, client, front-end reference, idem_key,
     * received time, payload and record JSON (the typed record: each
     * delivery encodes it through its own target's mapping section);
     * target above is then ignored.  0 = the one delivery to target. */
    char *const *targets;
    size_t ntargets;
    const char *client;            /* intake client id; may be NULL */
    enum spool_channel channel;    /* how it came in (0 = unknown) */
    const char *fe_ref;            /* front-end reference; may be NULL */
    const char *idem_key;          /* the submission's identity (the
                                      front-end's reference); NULL = none */
    const char *client_key;        /* the client's Idempotency-Key; NULL =
                                      none (see spool_enqueue) */
    const void *payload;           /* original submission bytes */
    size_t payload_len;
    const char *record_json;       /* mapped record (canonical JSON) */
    const void *encoded;           /* its stored encoding for target (the
                                      format's admit_stored); NULL = none */
    size_t encoded_len;
    int64_t received_at;           /* 0 = now */
    bool hold;                     /* enter as held instead of queued */
    /* search values as pairs {index, value, index, value, ...} (nsearch
     * pairs; map_search_values makes them): stored as keyed hashes in the
     * same transaction, never in clear.  Ignored without a search key. */
    char *const *search;
    size_t nsearch;
};

struct spool_result {
    char ref[SPOOL_REF_MAX];       /* new or existing reference */
    bool duplicate;                /* (service, idem_key) seen for any of
                                      the item's targets: nothing stored */
    bool replay;                   /* client_key seen with this payload:
                                      ref and duplicate are its first answer */
    bool conflict;                 /* client_key seen with another payload:
                                      nothing stored, ref names the first */
};

/* spool_enqueue - store n items durably in one transaction (group-
 * committed with concurrent callers); on return 0 every item is on disk
 * and results[i] names its reference.  An item whose idempotency key was
 * already stored (before, or earlier in the same call or group) gets the
 * existing reference with duplicate = true and is counted, never stored
 * twice.  A client_key is remembered per (service, client) with a digest
 * of the payload: the same key again with the same payload is a replay
 * (the first answer, counted as a duplicate); with another payload a
 * conflict (nothing stored).  A key never replaces idem_key, so a new key
 * on a known submission is still a duplicate.  On -1 nothing of this
 * call was stored. */
int spool_enqueue(struct spool *s, const struct spool_item *items, size_t n,
                  struct spool_result *results, struct errs *e);
/* spool_count_rejected_at_door - count n submissions to service refused
 * before the spool (validation, auth, size) for today's report. */
int spool_count_rejected_at_door(struct spool *s, const char *service,
                                 int64_t n, struct errs *e);
/* spool_ref_format - "FRY-YYYYMMDD-" + sequence: 6 digits up to 999999,
 * then a letter giving the width ('A' = 7 digits, 'B' = 8, ...) so that
 * references still sort as text.  out holds SPOOL_REF_MAX. */
void spool_ref_format(char *out, size_t outsz, int64_t day_ms, int64_t seq);

/* ---- records ----------------------------------------------------------- */

struct spool_attempt {
    int64_t id;
    char *target;
    int64_t started_at, ended_at;
    char *outcome;   /* ok | retry | fail | indoubt | expired | stopped */
    char *message;
};

struct spool_audit_entry {
    int64_t id;
    int64_t at;
    char *actor, *action, *ref, *reason;
    char *before, *after;          /* state names; "" when none */
    char *detail;
    char *prev_hash, *hash;        /* 64 hex */
    bool keyed;                    /* HMAC with the audit key; false:
                                      written before the key (SHA-256) */
};

struct spool_record {
    int64_t id;                    /* ledger row: received order */
    char *ref, *service, *target, *client, *fe_ref, *idem_key;
    /* delivery identity: 128 random bits (UUID form) given at intake,
     * unique across spools; what a target keeps to recognise a record
     * (marker rows, idempotency keys) must be this, never ref, which is
     * unique only within one spool. */
    char *delivery_id;
    enum spool_channel channel;
    int64_t received_at, updated_at;
    int64_t confirmed_at;          /* when it became confirmed; 0 = not */
    int64_t missing_at;            /* reconcile found it (delivered)
                                      missing at the target; 0 = not */
    int marker_gen;                /* requeues after such a finding: > 0,
                                      a marker an earlier send left at
                                      the target is void */
    enum spool_state state;
    int attempts;
    int64_t next_attempt_at;       /* 0 = none */
    char *lease_owner;
    int64_t lease_until;
    char *last_error;
    int64_t batch_id;              /* 0 = none */
    char *receipt;
    char *receipt_data;            /* the receipt's named parts: a JSON
                                      object {"name": "value"}, or NULL */
    bool in_doubt;                 /* last delivery's outcome unknown */
    char *closed_reason;
    bool payload_purged;
    bool encrypted;
    /* Filled only when asked for (SPOOL_WITH_PAYLOAD); decrypted. */
    unsigned char *payload;  size_t payload_len;
    unsigned char *original; size_t original_len;  /* NULL unless edited */
    char *record_json;
    char *crypt_error;             /* non-NULL: payload could not be read */
    /* Only spool_batch_foreach_mapped: the stored encoding (opened),
     * borrowed for the callback; NULL when the row has none. */
    const unsigned char *encoded;  size_t encoded_len;
    /* Filled only with SPOOL_WITH_HISTORY. */
    struct spool_attempt *att;     size_t natt;
    struct spool_audit_entry *aud; size_t naud;
};

enum {
    SPOOL_WITH_PAYLOAD = 1,        /* payload, original, record JSON */
    SPOOL_WITH_HISTORY = 2,        /* attempts and audit entries */
};

/* spool_get - one record by reference: its first delivery (the first
 * target of its service; a record has one delivery row per target, see
 * spool_deliveries).  Returns 0 and *out, 1 when no such reference
 * (*out NULL), -1 on error.  A payload that cannot be decrypted is an
 * error naming the reference.  Free with spool_record_free. */
int spool_get(struct spool *s, const char *ref, int flags,
              struct spool_record **out, struct errs *e);
/* spool_get_delivery - as spool_get, the delivery of ref to target
 * (NULL = its first); 1 when ref has no delivery to target. */
int spool_get_delivery(struct spool *s, const char *ref, const char *target,
                       int flags, struct spool_record **out, struct errs *e);
/* spool_get_editable - as spool_get, the delivery an edit of ref starts
 * from: its first that can take an edit (spool_edit_allowed), else its
 * first.  For the edit screens: what they show and check. */
int spool_get_editable(struct spool *s, const char *ref, int flags,
                       struct spool_record **out, struct errs *e);
/* spool_deliveries - every delivery of ref (one per target), in the
 * order they were stored (the service's target order), archived ones
 * included.  0, 1 when no such reference (out empty), -1.  Free with
 * spool_list_free. */
struct spool_list;
int spool_deliveries(struct spool *s, const char *ref, int flags,
                     struct spool_list *out, struct errs *e);
/* The record's overall state, derived from its deliveries (docs/spool.md
 * "Several targets"): the first of these that any delivery is in --
 * failed, rejected, in doubt, held -- then in progress while any delivery
 * is not yet delivered, sent or final; then delivered / sent while any is
 * still awaiting confirmation; then confirmed when every delivery is
 * confirmed or discarded (discarded when all are). */
enum spool_overall {
    SPOOL_ALL_FAILED = 0,
    SPOOL_ALL_REJECTED,
    SPOOL_ALL_INDOUBT,
    SPOOL_ALL_HELD,
    SPOOL_ALL_IN_PROGRESS,
    SPOOL_ALL_AWAITING,            /* delivered or sent, not all confirmed */
    SPOOL_ALL_CONFIRMED,
    SPOOL_ALL_DISCARDED,
};
/* spool_overall_state - the one rule behind the overall state: the
 * state of the delivery that decides it (failed, rejected, indoubt,
 * held; then the earliest state of work in hand; then sent, delivered;
 * then confirmed; discarded only when all are).  n = 0: received.  The
 * report counts a record once, by this state. */
enum spool_state spool_overall_state(const enum spool_state *st, size_t n);
/* spool_overall_of - the overall state of n delivery states */
enum spool_overall spool_overall_of(const enum spool_state *st, size_t n);
/* spool_overall_name - "failed", "rejected", "indoubt", "held",
 * "in progress", "awaiting confirmation", "confirmed", "discarded" */
const char *spool_overall_name(enum spool_overall o);
void spool_record_free(struct spool_record *r);

struct spool_filter {
    int nstates;                   /* 0 = any state */
    enum spool_state states[SPOOL_NSTATES];
    const char *service;           /* NULL = any */
    const char *target;            /* NULL = any */
    int64_t since, until;          /* received_at range [since, until); 0 = open */
    int64_t updated_before;        /* 0 = any */
    int64_t batch_id;              /* 0 = any */
    int64_t after_id;              /* paging: rows with id > after_id */
    size_t limit;                  /* 0 = no limit */
};

struct spool_list {
    struct spool_record **v;
    size_t n;
};

/* spool_list - records matching f in received (reference) order.  flags as
 * for spool_get; undecryptable payloads set crypt_error and are also
 * named in e (the call still returns 0).  Free with spool_list_free. */
int spool_list(struct spool *s, const struct spool_filter *f, int flags,
               struct spool_list *out, struct errs *e);
void spool_list_free(struct spool_list *l);
/* spool_foreach - as spool_list, streaming: cb gets each record (borrowed)
 * and returns 0 to go on, non-zero to stop (spool_foreach returns it).
 * Do not call other spool functions from cb (the connection is busy). */
int spool_foreach(struct spool *s, const struct spool_filter *f, int flags,
                  int (*cb)(void *ctx, const struct spool_record *r),
                  void *ctx, struct errs *e);

struct spool_count {
    char *service;
    char *target;                  /* "" when none */
    enum spool_state state;
    int64_t n;
};
struct spool_counts {
    struct spool_count *v;
    size_t n;
};
/* spool_counts - records by service, target and state, the archived
 * final records included (schema v13: the records not yet final are
 * counted from their own index, the final ones from totals kept at each
 * change, so the cost follows the work in hand, not the history).  Free
 * with spool_counts_free. */
int spool_counts(struct spool *s, struct spool_counts *out, struct errs *e);
void spool_counts_free(struct spool_counts *c);
/* spool_conservation - the two sides of the conservation check read in
 * ONE read transaction, so a commit between them cannot show a false
 * difference: *accepted = the deliveries accepted (the intake counters'
 * accepted total plus the fan-out: one per target of each submission),
 * *in_states = the delivery rows in any state (working, final or archived), as
 * spool_counts counts them.  spool_totals_check is the full count. */
int spool_conservation(struct spool *s, int64_t *accepted,
                       int64_t *in_states, struct errs *e);
/* What spool_totals_check found: the full count behind the cheap one. */
struct spool_totals_proof {
    int64_t accepted;              /* deliveries accepted (accepted +
                                      fanout counters) */
    int64_t rows;                  /* records in the working table */
    int64_t archived;              /* records moved to the archive */
    int64_t totals_off;            /* (service, target, final state) whose
                                      kept total differs from its rows, and
                                      (service, counter) whose all-days
                                      total differs from the daily ones */
};
/* spool_totals_check - count every row (working table and archive) and
 * check the kept final-state totals against them, in one read
 * transaction.  Reads the whole ledger: for spool_verify, not /metrics.
 * Conservation holds when accepted == rows + archived and totals_off
 * is 0. */
int spool_totals_check(struct spool *s, struct spool_totals_proof *p,
                       struct errs *e);
/* spool_oldest - received_at of the oldest record in state st (of service
 * when not NULL): *at = 0 when none. */
int spool_oldest(struct spool *s, enum spool_state st, const char *service,
                 int64_t *at, struct errs *e);
/* spool_size - bytes of ledger.db + -wal + -shm (on PostgreSQL: the
 * ledger database's, pg_database_size), and of the staging folders'
 * files. */
int spool_size(struct spool *s, uint64_t *ledger_bytes, uint64_t *files_bytes,
               struct errs *e);

struct spool_day_counts {
    char *service;
    char day[11];                  /* YYYY-MM-DD (UTC) */
    int64_t accepted, rejected_at_door, duplicates;
    int64_t fanout;                /* deliveries beyond one per accepted
                                      submission (several targets) */
};
struct spool_day_list {
    struct spool_day_counts *v;
    size_t n;
};
/* spool_day_counts - intake counters per service and day, days in
 * [from, to] as "YYYY-MM-DD" (NULL = open); service NULL = all.  Free with
 * spool_day_list_free. */
int spool_day_counts(struct spool *s, const char *service, const char *from,
                     const char *to, struct spool_day_list *out,
                     struct errs *e);
void spool_day_list_free(struct spool_day_list *l);

/* ---- management information (spool_mi.c) ----------------------------- */

/* Where a record stands for management information: every state is in
 * exactly one, so they add up to received (the report and /metrics both
 * count by these). */
enum spool_mi_outcome {
    SPOOL_MI_CONFIRMED = 0,        /* complete */
    SPOOL_MI_AWAITING,             /* delivered or sent */
    SPOOL_MI_IN_PROGRESS,          /* received..held, in doubt */
    SPOOL_MI_REJECTED,
    SPOOL_MI_FAILED,
    SPOOL_MI_DISCARDED,
    SPOOL_MI_NOUTCOMES
};
/* spool_mi_outcome_of - the outcome of a state (in progress for any the
 * table does not know) */
enum spool_mi_outcome spool_mi_outcome_of(enum spool_state st);
/* spool_mi_outcome_name - "confirmed", "awaiting_confirmation",
 * "in_progress", "rejected", "failed", "discarded" (the report's keys) */
const char *spool_mi_outcome_name(enum spool_mi_outcome o);

struct spool_channel_count {
    char *service;
    enum spool_channel channel;
    int64_t n;                     /* accepted, all days */
};
struct spool_channel_counts {
    struct spool_channel_count *v;
    size_t n;
};
/* spool_channel_counts - records accepted per service and channel, from
 * the intake counters (kept in the same transaction as the rows; a small
 * table, so /metrics can read it every scrape).  Free with
 * spool_channel_counts_free. */
int spool_channel_counts(struct spool *s, struct spool_channel_counts *out,
                         struct errs *e);
void spool_channel_counts_free(struct spool_channel_counts *c);

struct spool_mi_query {
    int64_t since, until;          /* received_at in [since, until) */
    const char *service;           /* NULL = all */
    const char *const *actions;    /* audit actions that make a record
                                      "touched"; NULL-terminated, <= 16 */
};

struct spool_mi_row {              /* strings borrowed: valid during cb */
    const char *service;
    enum spool_channel channel;
    enum spool_state state;
    bool state_known;              /* false: a state this ferry cannot name */
    int64_t received_at, confirmed_at;
    const char *last_error;        /* failed and rejected only; else NULL */
    bool touched;                  /* an audit entry of q->actions names it */
    /* its deliveries (one per target): targets[i] in dstates[i]; a
     * delivery in a state this ferry cannot name is left out */
    size_t ndeliveries;
    const char *const *targets;
    const enum spool_state *dstates;
};

/* spool_mi_foreach - every record received in the query's period, with
 * just what the report counts, in no particular order; cb returns
 * non-zero to stop (returned).  A record with several deliveries (one
 * per target) comes once, in its overall state (spool_overall_state),
 * confirmed when its last delivery was.  Reads no payload; copies only
 * a refused record's last error.  No other spool calls from cb. */
int spool_mi_foreach(struct spool *s, const struct spool_mi_query *q,
                     int (*cb)(void *ctx, const struct spool_mi_row *row),
                     void *ctx, struct errs *e);

struct spool_stats {
    uint64_t enqueue_calls;        /* spool_enqueue calls */
    uint64_t enqueue_items;        /* items passed in */
    uint64_t enqueue_commits;      /* transactions spent on them */
    uint64_t max_group_calls;      /* most calls in one commit */
    uint64_t duplicates;           /* items answered as duplicates */
    uint64_t commits;              /* every write transaction */
};
/* spool_stats_get - counters since spool_open (this process only) */
void spool_stats_get(struct spool *s, struct spool_stats *out);

/* ---- delivery engine (stream targets) --------------------------------- */

/* spool_claim - claim up to max due records of target for owner until
 * now + lease_ms: queued and deferred records whose next attempt is due,
 * delivering ones whose lease has expired (their earlier attempt is
 * recorded as "expired" and they come back in doubt), and in-doubt ones
 * only when allow_indoubt.  Claimed records are delivering, attempts
 * counted, with payload and record JSON.  A record that cannot be
 * decrypted is not claimed: it is named in e and left as it is (the call
 * still returns 0).  Oldest first.  Free with spool_list_free. */
int spool_claim(struct spool *s, const char *target, const char *owner,
                int64_t lease_ms, size_t max, bool allow_indoubt,
                int64_t now_ms, struct spool_list *out, struct errs *e);

enum spool_outcome_kind {
    SPOOL_OUT_OK = 0,              /* -> delivered (receipt) */
    SPOOL_OUT_RETRY,               /* -> deferred, or failed if exhausted */
    SPOOL_OUT_FAIL,                /* -> failed with message */
    SPOOL_OUT_INDOUBT,             /* -> indoubt */
    SPOOL_OUT_STOPPED,             /* target unusable, nothing sent: back to
                                      queued (or indoubt, if it was), the
                                      attempt not counted, message kept */
};

struct spool_outcome {
    const char *ref;
    const char *target;            /* the delivery's; NULL = the one of ref
                                      that owner is delivering */
    enum spool_outcome_kind kind;
    const char *message;           /* back end's own words; may be NULL */
    const char *receipt;           /* OK only; may be NULL */
    const char *receipt_data;      /* OK only: JSON object of the
                                      receipt's named parts; may be NULL */
    int64_t next_attempt_at;       /* RETRY: when to try again */
    bool exhausted;                /* RETRY: retries spent -> failed */
    int64_t started_at, ended_at;  /* 0 = lease start / now */
};

/* spool_outcomes - record n outcomes of owner's claims in one transaction:
 * one attempt row each and the state change.  An outcome for a record
 * owner no longer holds (lease expired and taken over) is refused and
 * named in e; the others are still recorded (returns 0 unless the
 * transaction itself failed). */
int spool_outcomes(struct spool *s, const char *owner,
                   const struct spool_outcome *o, size_t n, struct errs *e);
/* spool_claims_release - return owner's unfinished claims to queued (or
 * in doubt, if they were) without counting an attempt; *released = how
 * many (may be NULL).  For SIGTERM after in-flight calls finished. */
int spool_claims_release(struct spool *s, const char *owner,
                         size_t *released, struct errs *e);

/* ---- target state (breaker, stop) -------------------------------------- */

struct spool_target_state {
    char *target;
    char *breaker;                 /* closed / open / half-open */
    int64_t since;                 /* when it took that state */
    char *stopped;                 /* why the target stopped, or NULL */
    char *owner;                   /* engine that wrote it (host:pid:...) */
    int64_t updated_at;
};
struct spool_target_states {
    struct spool_target_state *v;
    size_t n;
};
/* spool_target_state_put - the engine's view of target now (one row per
 * target, replaced); stopped NULL = running.  One small transaction. */
int spool_target_state_put(struct spool *s, const char *target,
                           const char *breaker, int64_t since,
                           const char *stopped, const char *owner,
                           struct errs *e);
/* spool_target_state_list - every row, by target.  Free with
 * spool_target_states_free. */
int spool_target_state_list(struct spool *s, struct spool_target_states *out,
                            struct errs *e);
void spool_target_states_free(struct spool_target_states *l);
/* spool_target_state_get - one target's row into *out (free with
 * spool_target_state_clear).  0 found, 1 no row yet, -1 error. */
int spool_target_state_get(struct spool *s, const char *target,
                           struct spool_target_state *out, struct errs *e);
void spool_target_state_clear(struct spool_target_state *t);
/* spool_target_probe_claim - take the one half-open probe of a target's
 * breaker for the whole cluster: moves its row to half-open by owner
 * (since = now) if it is open, or half-open by a holder gone quiet,
 * and has been since no later than not_after (now less the cool-down).
 * One guarded UPDATE: of two nodes claiming at once, one wins.
 * 1 claimed, 0 not (another node holds it, it closed, or no row), -1
 * error. */
int spool_target_probe_claim(struct spool *s, const char *target,
                             const char *owner, int64_t now,
                             int64_t not_after, struct errs *e);
/* spool_node_config - on a shared ledger: record node's digest of the
 * configuration every node must share (meta 'node-config:NODE' = "DIGEST
 * MS"), forget entries older than forget_before, and put into differ
 * (comma-separated, cut at differ_sz) the other nodes that recorded a
 * different digest since since.  Returns how many differ, or -1. */
int spool_node_config(struct spool *s, const char *node, const char *digest,
                      int64_t now, int64_t since, int64_t forget_before,
                      char *differ, size_t differ_sz, struct errs *e);
/* spool_shared - may other nodes use this ledger at the same time (a
 * PostgreSQL spool)?  Then the breaker and stops are shared through
 * target_state; an SQLite spool is one node's. */
bool spool_shared(const struct spool *s);

/* ---- batches (fixed-width targets) ------------------------------------ */

enum spool_batch_state {
    SPOOL_BATCH_BUILT = 0,         /* records bound, file not yet recorded */
    SPOOL_BATCH_WRITTEN,           /* file written: name, count, sha256 */
    SPOOL_BATCH_SENT,              /* handed over; records sent */
    SPOOL_BATCH_CONFIRMED,         /* acknowledged */
};
const char *spool_batch_state_name(enum spool_batch_state st);

struct spool_batch {
    int64_t id;
    char *target;
    char business_date[11];        /* YYYY-MM-DD */
    int seq;                       /* per target per business date, from 1 */
    int64_t generation;            /* per target over every date, from 1,
                                      never reused ({gen}: G0001V00) */
    enum spool_batch_state state;
    char *file_name;               /* NULL until written */
    int64_t record_count;          /* bound records; file count once written */
    char *totals;                  /* hash totals as text, e.g. "AMOUNT=1234.50" */
    char *sha256;                  /* 64 hex; NULL until written */
    int64_t created_at, written_at, sent_at;
};
void spool_batch_free(struct spool_batch *b);

/* spool_batch_next_seq - the sequence the next batch of target on
 * business_date would get (nothing is reserved). */
int spool_batch_next_seq(struct spool *s, const char *target,
                         const char *business_date, int *seq, struct errs *e);
/* spool_batch_next_generation - the generation the next batch of target
 * would get (nothing is reserved). */
int spool_batch_next_generation(struct spool *s, const char *target,
                                int64_t *gen, struct errs *e);
/* spool_batch_bind - in one transaction: take the next sequence and the
 * next generation (the ledger's "gen:<target>" sequence, which purging
 * batches never lowers), create a
 * batch and bind target's queued records to it in received order (at most
 * max; 0 = all), moving them to batched.  Returns 0 with *out (record_count
 * may be 0: an empty batch, for targets that want a file every night), or
 * -1.  Free with spool_batch_free. */
int spool_batch_bind(struct spool *s, const char *target,
                     const char *business_date, size_t max,
                     struct spool_batch **out, struct errs *e);
/* spool_batch_get - by id; 1 when none. */
int spool_batch_get(struct spool *s, int64_t id, struct spool_batch **out,
                    struct errs *e);
/* spool_batch_unfinished - target's oldest batch still built or written
 * (a crashed run to finish before starting a new one); 1 when none. */
int spool_batch_unfinished(struct spool *s, const char *target,
                           struct spool_batch **out, struct errs *e);
/* spool_batch_list - target's batches (NULL = all), newest first, at most
 * limit (0 = all).  Free each with spool_batch_free and the array with
 * free(). */
int spool_batch_list(struct spool *s, const char *target, size_t limit,
                     struct spool_batch ***out, size_t *n, struct errs *e);
/* spool_batch_foreach - the batch's records in bound order with payload and
 * record JSON (r->crypt_error set when unreadable; the callback decides),
 * whatever their state now.  cb returns non-zero to stop.  Streams: a
 * million-record batch is never held in memory.  No other spool calls
 * from cb. */
int spool_batch_foreach(struct spool *s, int64_t batch_id,
                        int (*cb)(void *ctx, const struct spool_record *r),
                        void *ctx, struct errs *e);
/* spool_batch_foreach_mapped - spool_batch_foreach for building a file:
 * only id, ref, delivery_id, service, target, state, batch_id,
 * received_at, encrypted and either the stored encoding (encoded, opened)
 * or record_json (decrypted; crypt_error set when it cannot be) are
 * filled, and the strings are borrowed: valid only during cb.  A row with
 * a stored encoding comes with encoded set and no record_json; when cb
 * answers SPOOL_CB_NEED_JSON (the encoding is stale for it), the same
 * record comes again with record_json and no encoding.  The payload and
 * original are not read.  Same order, same stop rule. */
#define SPOOL_CB_NEED_JSON 3
int spool_batch_foreach_mapped(struct spool *s, int64_t batch_id,
                               int (*cb)(void *ctx,
                                         const struct spool_record *r),
                               void *ctx, struct errs *e);
/* spool_batch_written - record the file: built -> written (may be called
 * again on a written batch after a rebuild: the values must match, else
 * -1 naming what differs). */
int spool_batch_written(struct spool *s, int64_t batch_id,
                        const char *file_name, int64_t record_count,
                        const char *totals, const char *sha256_hex,
                        struct errs *e);
/* spool_batch_sent - written -> sent and its batched records -> sent. */
int spool_batch_sent(struct spool *s, int64_t batch_id, struct errs *e);
/* spool_batch_confirmed - sent -> confirmed (all acks in). */
int spool_batch_confirmed(struct spool *s, int64_t batch_id, struct errs *e);
/* spool_record_fail - a record that cannot be encoded or delivered goes to
 * failed (dead letter) with reason; from batched, queued, received,
 * delivering or deferred. */
int spool_record_fail(struct spool *s, const char *ref, const char *target,
                      const char *reason, struct errs *e);

/* ---- reconciliation ---------------------------------------------------- */

struct spool_ack {
    const char *key;               /* ferry reference, or fe_ref with service */
    const char *service;           /* non-NULL: key is the front-end reference */
    const char *target;            /* the target acknowledging: only that
                                      delivery of the record moves (NULL =
                                      any; reconcile always names it) */
    bool accepted;                 /* true -> confirmed, false -> rejected */
    const char *reason;            /* rejection words (code turned to text) */
    const char *receipt;           /* optional */
    const char *receipt_data;      /* optional: JSON object, the
                                      receipt's named parts */
    long record_no;                /* its record in the file (the line when
                                      the file has line ends); 0 unknown */
};

enum spool_ack_result {
    SPOOL_ACK_APPLIED = 0,
    SPOOL_ACK_ORPHAN,              /* no such record */
    SPOOL_ACK_NOT_SENT,            /* record in a state an ack cannot move */
    SPOOL_ACK_ALREADY,             /* already in the acknowledged state */
};

/* spool_ack_apply - apply n acknowledgements in one transaction: sent,
 * delivered or in-doubt records -> confirmed / rejected.  res[i] (may be
 * NULL) tells what happened to each; refs[i] (may be NULL) receives the
 * matched reference.  When file_name is not NULL the file (name, sha256) is
 * recorded as applied in the same transaction; applying a file already
 * recorded is refused (-1).  actor/reason non-NULL write one audit entry
 * "ack-apply" (e.g. --accept-mismatch). */
int spool_ack_apply(struct spool *s, const char *file_name,
                    const char *sha256_hex, const struct spool_ack *acks,
                    size_t n, enum spool_ack_result *res,
                    char (*refs)[SPOOL_REF_MAX], const char *actor,
                    const char *reason, struct errs *e);
/* spool_ack_file_seen - 1 if (name, sha256) was applied, 0 if not, -1 */
int spool_ack_file_seen(struct spool *s, const char *name,
                        const char *sha256_hex, struct errs *e);

/* ---- operator actions (each audited in the same transaction) ---------- */
/* Each acts on one delivery of ref: target's when target is not NULL;
 * without one, the record's only delivery, or the only one the action
 * could apply to.  A record with several deliveries the action could
 * apply to is refused, naming their targets (nothing is done to a
 * delivery nobody named).  The audit entry names the target when the
 * record has several deliveries. */

/* spool_retry - failed, rejected, in doubt, deferred, delivered or sent ->
 * queued (due now, attempts kept, in-doubt cleared).  A delivered record
 * that reconcile found missing at the target (spool_mark_missing) is
 * requeued to be written anew: its marker_gen goes up (a marker of an
 * earlier send is void), missing_at is cleared, and the audit entry says
 * so.  Any other delivered record keeps its marker's protection. */
int spool_retry(struct spool *s, const char *ref, const char *target,
                const char *actor, const char *reason, struct errs *e);
/* spool_mark_missing - reconcile found delivered record ref missing at
 * its target: stamp missing_at (when), so an operator's requeue writes it
 * anew.  0, 1 when ref is not a delivered record (nothing changed), -1. */
int spool_mark_missing(struct spool *s, const char *ref, const char *target,
                       int64_t when, struct errs *e);
/* spool_settle - an in-doubt record an operator checked with the back
 * end: delivered (receipt may be NULL) -> delivered; not delivered ->
 * queued, due now.  reason required; audited "settle" in the same
 * transaction.  Only in-doubt records: anything else is refused, named. */
int spool_settle(struct spool *s, const char *ref, const char *target,
                 bool delivered, const char *receipt, const char *actor,
                 const char *reason, struct errs *e);
/* spool_hold - queued, deferred, failed, rejected, in doubt -> held */
int spool_hold(struct spool *s, const char *ref, const char *target,
               const char *actor, const char *reason, struct errs *e);
/* spool_release - held -> queued */
int spool_release(struct spool *s, const char *ref, const char *target,
                  const char *actor, const char *reason, struct errs *e);
/* spool_discard - close for good; reason required */
int spool_discard(struct spool *s, const char *ref, const char *target,
                  const char *actor, const char *reason, struct errs *e);
/* spool_edit - replace payload and record JSON (the first original is
 * kept), requeue; from failed, rejected, held, in doubt, deferred, queued.
 * Every delivery of ref in one of those states takes the edit (each
 * encodes the new record through its own target's mapping section);
 * deliveries already delivered keep what they were sent.  One audit
 * entry, naming the targets moved when the record has several; detail
 * (may be NULL) goes in it, e.g. the difference.  Refused when no
 * delivery can take it. */
int spool_edit(struct spool *s, const char *ref, const void *payload,
               size_t payload_len, const char *record_json,
               const char *actor, const char *reason, const char *detail,
               struct errs *e);
/* spool_edit_allowed - spool_edit accepts a record in state st (callers
 * refuse early, before showing a difference) */
bool spool_edit_allowed(enum spool_state st);
/* spool_audit_add - an audited action that changes no record state
 * (resend of a batch, accept-mismatch...); ref may be NULL. */
int spool_audit_add(struct spool *s, const char *actor, const char *action,
                    const char *ref, const char *reason, const char *detail,
                    struct errs *e);

/* spool_audit_reveal - a person was shown record ref's personal data
 * (--reveal, or the console's reveal): action "reveal", what (e.g. "show",
 * "edit") as detail.  actor and a non-empty reason are required: UK GDPR
 * asks who looked and why.  Call it before showing anything, and show
 * nothing when it fails. */
int spool_audit_reveal(struct spool *s, const char *actor, const char *ref,
                       const char *reason, const char *what, struct errs *e);

struct spool_audit_list {
    struct spool_audit_entry *v;
    size_t n;
};
/* spool_audit_list - entries (of ref when not NULL) oldest first.  Free
 * with spool_audit_list_free. */
int spool_audit_list(struct spool *s, const char *ref,
                     struct spool_audit_list *out, struct errs *e);
void spool_audit_list_free(struct spool_audit_list *l);
/* What spool_audit_verify could prove, and what it could not. */
struct spool_audit_proof {
    size_t checked;                /* entries read */
    int64_t last_id;               /* the chain's newest entry; 0 = empty */
    char last_hash[65];
    size_t unkeyed;                /* entries written before the key:
                                      SHA-256 only, so their content is
                                      proven against damage, not against a
                                      rewrite by someone with the ledger */
    size_t keyed;                  /* HMAC entries */
    bool key_given;                /* keyed entries' HMACs were checked */
    int64_t head_file_id;          /* the head recorded outside the ledger;
                                      0 = no head file */
    bool head_file_behind;         /* it names an older entry (a writer
                                      could not update it): entries after
                                      it are not anchored */
    bool expected_checked;         /* the head given to verify matched */
    int64_t bad_id;                /* broken: the first entry named */
};
/* spool_audit_verify - walk the chain: every link; every unkeyed entry's
 * SHA-256; with the key, every keyed entry's HMAC, and no unkeyed entry
 * after a keyed one; the newest entry against the head kept in the
 * ledger, the head file outside it, and expect ("ID:HASH" as printed by
 * spool_audit_head; may be NULL), so a rewrite or a truncation is named.
 * Returns 0 when everything checked holds (p says what that covers), 1
 * when broken (p->bad_id, e says why), -1 on error. */
int spool_audit_verify(struct spool *s, const char *expect,
                       struct spool_audit_proof *p, struct errs *e);
/* spool_audit_head_file - the head file's path (borrowed) */
const char *spool_audit_head_file(const struct spool *s);
/* spool_audit_head - "ID:HASH" of the newest entry ("0:" + 64 zeros when
 * empty), to record somewhere the ledger's holders cannot write.  out
 * holds 96. */
int spool_audit_head(struct spool *s, char *out, size_t outsz,
                     struct errs *e);

/* spool_purge - drop payloads, originals and record JSON of confirmed and
 * discarded records last changed before before_ms; rows and audit stay.
 * One audit entry "purge" by actor.  *purged (may be NULL) = how many. */
int spool_purge(struct spool *s, int64_t before_ms, const char *actor,
                size_t *purged, struct errs *e);

/* What spool_archive_purge removed. */
struct spool_archive_purged {
    size_t files;
    uint64_t bytes;
};
/* spool_archive_purge - remove the files in archive/<target>/ (sent batch
 * files, applied ack files) last modified before before_ms.  0, or -1 with
 * each file that could not be removed in e (the others are removed). */
int spool_archive_purge(struct spool *s, int64_t before_ms,
                        struct spool_archive_purged *out, struct errs *e);

/* ---- a record's timeline ---------------------------------------------- */

enum spool_event_kind {
    SPOOL_EV_RECEIVED = 0,         /* client, channel */
    SPOOL_EV_ATTEMPT,              /* target, outcome, message */
    SPOOL_EV_BATCHED,              /* batch_id, target */
    SPOOL_EV_FILE_WRITTEN,         /* batch_id, file */
    SPOOL_EV_SENT,                 /* batch_id, file */
    SPOOL_EV_ACK,                  /* file, record_no, outcome (confirmed |
                                      rejected), message (the reason) */
    SPOOL_EV_ACTION,               /* an audit entry: what (edit, retry,
                                      discard, reveal...), actor, message
                                      (the reason), before -> after */
};

struct spool_event {
    int64_t at;
    enum spool_event_kind kind;
    char *what;                    /* received, attempt, batched, written,
                                      sent, ack, or the audited action */
    char *actor, *client, *channel, *target, *outcome, *message, *file;
    char *before, *after;
    int64_t batch_id;              /* 0 = none */
    long record_no;                /* ack: record (line) in the file; 0 */
};

struct spool_timeline {
    struct spool_event *v;         /* oldest first */
    size_t n;
};

/* spool_timeline - everything that happened to ref, oldest first: its
 * receipt, each delivery attempt, each batch it was in (bound, file
 * written, sent), each acknowledgement (file, record, reason), and each
 * audited action and reveal.  Earlier batches and rejections stay after
 * the record was requeued.  0, 1 when no such record, -1.  Free with
 * spool_timeline_free.  Nothing personal: messages are what the ledger
 * keeps (scrubbed at the door). */
int spool_timeline(struct spool *s, const char *ref,
                   struct spool_timeline *out, struct errs *e);
void spool_timeline_free(struct spool_timeline *t);

/* ---- search (spool_search.c) ------------------------------------------ */
/*
 * The search table holds HMAC-SHA-256(search key, service NUL index NUL
 * value) and the record it points at: no personal value in clear, and
 * without the key a hash cannot be tested against a guessed NINO.  The
 * key is a 0600 file outside the ledger (docs/security.md says where).
 */

/* spool_search_key_ensure - load the key at path (32 raw bytes or 64 hex,
 * refused when group/other can read it), or make a new random one there
 * (0600, temp name, fsync, rename) when the file does not exist.
 * *created (may be NULL) tells which. */
int spool_search_key_ensure(const char *path,
                            unsigned char key[SPOOL_SEARCH_KEY_LEN],
                            bool *created, struct errs *e);
/* spool_find - records of service whose index holds value (as
 * map_search_query made it), received order, at most limit (0 = 100).
 * -1 with e filled when the spool has no search key.  Free with
 * spool_list_free. */
int spool_find(struct spool *s, const char *service, const char *index,
               const char *value, size_t limit, struct spool_list *out,
               struct errs *e);
/* spool_find_ref - the record whose ferry reference is text, and the
 * records of the given services whose front-end reference is text. */
int spool_find_ref(struct spool *s, const char *text,
                   const char *const *services, size_t nservices,
                   struct spool_list *out, struct errs *e);
/* spool_search_set - replace ref's search entries by pairs (one
 * transaction; after spool_edit changed its record).  The index is
 * derived from the record: a crash between the two leaves entries that
 * `ferry find --reindex` puts right. */
int spool_search_set(struct spool *s, const char *ref, char *const *pairs,
                     size_t n, struct errs *e);
/* spool_search_reindex - rebuild service's search entries from the stored
 * records in one transaction: values(ctx, record JSON, &pairs, &n) gives
 * each record's pairs (0 ok; -1 fails the whole rebuild), released with
 * values_free.  Records whose payload was purged keep no entries.
 * *records (may be NULL) = records indexed.  Audited as "reindex". */
int spool_search_reindex(struct spool *s, const char *service,
                         int (*values)(void *ctx, const char *record_json,
                                       char ***pairs, size_t *n),
                         void (*values_free)(char **pairs, size_t n),
                         void *ctx, const char *actor, size_t *records,
                         struct errs *e);

/* ---- job runs ---------------------------------------------------------- */

struct spool_job_run {
    int64_t id;
    char *job;
    int64_t started_at, ended_at;  /* ended 0 = running or crashed */
    char *outcome;                 /* NULL while running */
    char *counts;                  /* free text, e.g. "records=10 failed=1" */
    char *message;
    long pid;
};
/* spool_job_start - a run of job begins; *run_id for spool_job_end */
int spool_job_start(struct spool *s, const char *job, int64_t *run_id,
                    struct errs *e);
int spool_job_end(struct spool *s, int64_t run_id, const char *outcome,
                  const char *counts, const char *message, struct errs *e);
/* spool_job_list - runs of job (NULL = all) newest first, at most limit
 * (0 = all).  Free with spool_job_runs_free(v, n). */
int spool_job_list(struct spool *s, const char *job, size_t limit,
                   struct spool_job_run **out, size_t *n, struct errs *e);
void spool_job_runs_free(struct spool_job_run *v, size_t n);
/* spool_joblock_take - the spool's part of a job lock (scheduler/joblock.c
 * takes the folder's lock file first, then this).  A PostgreSQL spool:
 * a session advisory lock on the spool's connection, so one node of
 * those sharing the ledger runs job at a time; it goes with the session,
 * so a node that dies lets the job go.  An SQLite spool: nothing (one
 * daemon holds a folder; the lock file is the lock).  0 taken, 1 held
 * by another node, -1 error (e filled). */
int spool_joblock_take(struct spool *s, const char *job, struct errs *e);
/* spool_joblock_release - let job go (a lock the session already lost
 * is logged, job-lock-lost) */
void spool_joblock_release(struct spool *s, const char *job);

/* ---- WAL checkpoints (daemon) ----------------------------------------- */

/* ---- backup and verification (spool_backup.c) ---------------------------- */

struct spool_backup_info {
    int64_t records;               /* records in the copy */
    size_t files;                  /* staging files copied */
};
/* spool_backup - a consistent copy of the spool in DEST (created 0700, or
 * an empty folder): the ledger through SQLite's online backup (one
 * snapshot, writers not held up), the staging folders, and MANIFEST (JSON:
 * format, taken_at, schema_version, records, states, audit_head, files
 * with path, size and sha256) read back from the copy.  0, or -1 with e.
 * An SQLite ledger only: a PostgreSQL spool is refused, the message
 * naming pg_dump and `ferry spool copy`. */
int spool_backup(struct spool *s, const char *dest,
                 struct spool_backup_info *info, struct errs *e);

struct spool_verify_info {
    bool integrity_ok;             /* PRAGMA integrity_check */
    bool conservation_ok;          /* accepted == records in states */
    int64_t accepted, in_states;
    bool audit_ok;
    size_t audit_entries;
    bool backup;                   /* a MANIFEST was there and checked */
    size_t files_checked;          /* files whose SHA-256 matched */
};
/* spool_verify - check the spool folder (or backup) DIR without changing
 * it: integrity, conservation, the audit chain and head, and for a backup
 * every file and count against MANIFEST.  0 all good, 1 problems (each in
 * e), -1 cannot be read (e). */
int spool_verify(const char *dir, struct spool_verify_info *info,
                 struct errs *e);

/* spool_checkpointer_start - stop checkpointing inside committing
 * transactions and run PASSIVE checkpoints every interval_ms from a
 * thread with its own connection (spool_checkpoint.c).  For the daemon,
 * where an intake request must never wait for a checkpoint.  Stop it
 * before spool_close.  NULL with e filled on failure (the spool then
 * keeps SQLite's own checkpoints).  A PostgreSQL spool has nothing to
 * checkpoint: an idle handle, stopped the same way. */
struct spool_checkpointer;
struct spool_checkpointer *spool_checkpointer_start(struct spool *s,
                                                    int interval_ms,
                                                    struct errs *e);
void spool_checkpointer_stop(struct spool_checkpointer *c);

/* ---- one daemon per spool (spool_hold.c) ------------------------------ */

/* spool_hold_take - hold the spool folder dir for this process: an
 * exclusive lock on dir/daemon.lock, which names the holder's PID.  The
 * kernel drops it when the process ends, however it ends.  NULL with e
 * naming the holder's PID when another process holds it (*held set), or
 * the reason when the file cannot be made (*held clear). */
struct spool_hold;
struct spool_hold *spool_hold_take(const char *dir, bool *held,
                                   struct errs *e);
/* spool_hold_release - let go (and close); NULL does nothing */
void spool_hold_release(struct spool_hold *h);

#endif
