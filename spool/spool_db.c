/* spool_db.c - opening the spool: folders, ledger, pragmas, schema and
 * its migrations; the statement cache and transaction helpers the other
 * spool files share; crash points; sizes and statistics.
 *
 * Two ledgers (spool_opts.pg_conninfo chooses): SQLite's ledger.db in
 * the folder, or a PostgreSQL database.  Everything here past the open
 * runs on the statement layer (sql.h) for both; what only SQLite has
 * (PRAGMAs, the migrations of older ledger.db files, the spool_stmt
 * cache for files not yet on the layer) is ledger_sqlite's, and
 * PostgreSQL's schema is pg_schema.c's.
 *
 * Contract: the folder is 0700, every file 0600.  The SQLite schema
 * version lives in PRAGMA user_version and spool_migrate() moves any
 * older ledger to SPOOL_SCHEMA_VERSION one step at a time, each step one
 * transaction. */
#include "spool/pg_spool.h"
#include "spool/spool_int.h"
#include "spool/sql.h"
#include "util/errs.h"
#include "util/fsutil.h"

#include <dirent.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Version 1.  Plain SQL that PostgreSQL also accepts (INTEGER PRIMARY KEY
 * would be BIGSERIAL there; BLOB would be BYTEA). */
static const char *const schema_v1[] = {
    "CREATE TABLE meta(name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE sequences(name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "CREATE TABLE batches("
    " id INTEGER PRIMARY KEY,"
    " target TEXT NOT NULL,"
    " business_date TEXT NOT NULL,"
    " seq INTEGER NOT NULL,"
    " state TEXT NOT NULL,"
    " file_name TEXT,"
    " record_count INTEGER NOT NULL DEFAULT 0,"
    " totals TEXT,"
    " sha256 TEXT,"
    " created_at INTEGER NOT NULL,"
    " written_at INTEGER,"
    " sent_at INTEGER,"
    " confirmed_at INTEGER,"
    " UNIQUE(target, business_date, seq))",
    "CREATE TABLE records("
    " id INTEGER PRIMARY KEY,"
    " ref TEXT NOT NULL UNIQUE,"
    " service TEXT NOT NULL,"
    " target TEXT NOT NULL DEFAULT '',"
    " client TEXT,"
    " fe_ref TEXT,"
    " idem_key TEXT,"
    " received_at INTEGER NOT NULL,"
    " payload_enc INTEGER NOT NULL DEFAULT 0,"
    " payload BLOB,"
    " original BLOB,"
    " record_json BLOB,"
    " state TEXT NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_attempt_at INTEGER NOT NULL DEFAULT 0,"
    " lease_owner TEXT,"
    " lease_until INTEGER NOT NULL DEFAULT 0,"
    " claimed_at INTEGER NOT NULL DEFAULT 0,"
    " last_error TEXT,"
    " batch_id INTEGER REFERENCES batches(id),"
    " receipt TEXT,"
    " in_doubt INTEGER NOT NULL DEFAULT 0,"
    " updated_at INTEGER NOT NULL,"
    " closed_reason TEXT,"
    " payload_purged INTEGER NOT NULL DEFAULT 0,"
    " UNIQUE(service, target, idem_key))",
    "CREATE INDEX records_due ON records(target, state, next_attempt_at)",
    "CREATE INDEX records_svc ON records(service, state)",
    "CREATE INDEX records_feref ON records(service, fe_ref)",
    "CREATE INDEX records_batch ON records(batch_id)",
    "CREATE TABLE attempts("
    " id INTEGER PRIMARY KEY,"
    " record_id INTEGER NOT NULL REFERENCES records(id),"
    " target TEXT NOT NULL,"
    " started_at INTEGER NOT NULL,"
    " ended_at INTEGER NOT NULL,"
    " outcome TEXT NOT NULL,"
    " message TEXT)",
    "CREATE INDEX attempts_rec ON attempts(record_id)",
    "CREATE TABLE batch_members("
    " batch_id INTEGER NOT NULL REFERENCES batches(id),"
    " pos INTEGER NOT NULL,"
    " record_id INTEGER NOT NULL REFERENCES records(id),"
    " PRIMARY KEY(batch_id, pos))",
    "CREATE TABLE job_runs("
    " id INTEGER PRIMARY KEY,"
    " job TEXT NOT NULL,"
    " pid INTEGER NOT NULL,"
    " started_at INTEGER NOT NULL,"
    " ended_at INTEGER NOT NULL DEFAULT 0,"
    " outcome TEXT,"
    " counts TEXT,"
    " message TEXT)",
    "CREATE INDEX job_runs_job ON job_runs(job, id)",
    "CREATE TABLE audit("
    " id INTEGER PRIMARY KEY,"
    " at INTEGER NOT NULL,"
    " actor TEXT NOT NULL,"
    " action TEXT NOT NULL,"
    " ref TEXT,"
    " reason TEXT,"
    " before_state TEXT,"
    " after_state TEXT,"
    " detail TEXT,"
    " prev_hash TEXT NOT NULL,"
    " hash TEXT NOT NULL)",
    "CREATE INDEX audit_ref ON audit(ref)",
    "CREATE TABLE ack_files("
    " name TEXT NOT NULL,"
    " sha256 TEXT NOT NULL,"
    " applied_at INTEGER NOT NULL,"
    " records INTEGER NOT NULL,"
    " PRIMARY KEY(name, sha256))",
    "CREATE TABLE counters("
    " service TEXT NOT NULL,"
    " day TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " value INTEGER NOT NULL,"
    " PRIMARY KEY(service, day, name))",
    NULL
};

/* v2: the big columns move to their own table.  A state change rewrites
 * the whole row in SQLite, so with the payload inline every claim, bind,
 * outcome and ack copied ~2 KB per record through the WAL; now it copies
 * the ~200-byte ledger row only.  records_full joins them back for the
 * readers that want the payload. */
static const char *const schema_v2[] = {
    "CREATE TABLE record_data("
    " id INTEGER PRIMARY KEY REFERENCES records(id),"
    " payload BLOB,"
    " original BLOB,"
    " record_json BLOB)",
    "INSERT INTO record_data(id, payload, original, record_json)"
    " SELECT id, payload, original, record_json FROM records",
    "ALTER TABLE records DROP COLUMN payload",
    "ALTER TABLE records DROP COLUMN original",
    "ALTER TABLE records DROP COLUMN record_json",
    "CREATE VIEW records_full AS SELECT r.*, d.payload AS payload,"
    " d.original AS original, d.record_json AS record_json"
    " FROM records r LEFT JOIN record_data d ON d.id = r.id",
    NULL,
};

/* v3: records_due holds only the records a delivery pass or a batch bind
 * can take.  Binding a night's records (queued -> batched), delivering
 * (delivering -> delivered) and acknowledging (sent -> confirmed) then
 * only remove index entries instead of moving them; the claim and bind
 * queries name one state each (state = 'queued', ...), which is how
 * SQLite proves the partial index applies. */
static const char *const schema_v3[] = {
    "DROP INDEX records_due",
    "CREATE INDEX records_due ON records(target, state, next_attempt_at)"
    " WHERE state = 'queued' OR state = 'deferred'"
    " OR state = 'delivering' OR state = 'indoubt'",
    /* and records_batch only the records bound to a batch: binding adds
     * an entry instead of moving one out of a million-long NULL run */
    "DROP INDEX records_batch",
    "CREATE INDEX records_batch ON records(batch_id) WHERE batch_id IS NOT NULL",
    NULL,
};

/* v4: identity beyond one spool.  Every record gets a delivery identity
 * (128 random bits in UUID form) and the spool its own (meta spool_id);
 * references stay for people and are unique only within a spool.  Records
 * already stored get theirs here from SQLite's randomblob (a CSPRNG seeded
 * by the OS); new ones get RAND_bytes at intake (spool_id_new).  The
 * unique index turns a collision into a failed step, never two records
 * sharing one identity. */
#define UUID_OF_HEX(h) \
    "substr(" h ",1,8)||'-'||substr(" h ",9,4)||'-'||substr(" h ",13,4)" \
    "||'-'||substr(" h ",17,4)||'-'||substr(" h ",21,12)"
static const char *const schema_v4[] = {
    "ALTER TABLE records ADD COLUMN delivery_id TEXT",
    "UPDATE records SET delivery_id = lower(hex(randomblob(16)))",
    "UPDATE records SET delivery_id = " UUID_OF_HEX("delivery_id"),
    "CREATE UNIQUE INDEX records_delivery_id ON records(delivery_id)",
    "INSERT INTO meta(name, value) SELECT 'spool_id', " UUID_OF_HEX("h")
    " FROM (SELECT lower(hex(randomblob(16))) AS h)"
    " WHERE NOT EXISTS (SELECT 1 FROM meta WHERE name = 'spool_id')",
    NULL,
};
#undef UUID_OF_HEX

/* v5: the audit chain is keyed (HMAC-SHA-256 with a key kept apart from
 * the ledger).  Entries already written keep their SHA-256 links and are
 * marked as written before the key (keyed = 0). */
static const char *const schema_v5[] = {
    "ALTER TABLE audit ADD COLUMN keyed INTEGER NOT NULL DEFAULT 0",
    NULL,
};

/* v6: clients' Idempotency-Keys, each with a digest of the payload it
 * came with and the answer it got, so a retry gets its first answer and
 * a key reused for another body is refused (spool_idem.c).  The
 * submission's own identity stays records.idem_key. */
static const char *const schema_v6[] = {
    "CREATE TABLE client_keys("
    " service TEXT NOT NULL,"
    " client TEXT NOT NULL,"
    " key TEXT NOT NULL,"
    " digest BLOB NOT NULL,"
    " ref TEXT NOT NULL,"
    " duplicate INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " PRIMARY KEY(service, client, key))",
    NULL,
};

/* v7: management information.  channel says how each record came in
 * (http, cli, csv, assisted); confirmed_at when it became confirmed (every
 * path to confirmed stamps it).  Existing rows: the channel is derived
 * from the client, which intake has always filled with "cli" for ferry
 * submit, "csv" for ferry import and the intake client's id for HTTP;
 * a row with no client stays 'unknown'.  A confirmed row's updated_at is
 * its confirmation time (confirmed is final: nothing changes it after),
 * so it becomes confirmed_at exactly.  The daily intake counters gain
 * one per channel, "accepted:<channel>", counted from the rows. */
static const char *const schema_v7[] = {
    "ALTER TABLE records ADD COLUMN channel TEXT NOT NULL DEFAULT 'unknown'",
    "ALTER TABLE records ADD COLUMN confirmed_at INTEGER NOT NULL DEFAULT 0",
    "UPDATE records SET channel = CASE"
    " WHEN client = 'cli' THEN 'cli'"
    " WHEN client = 'csv' THEN 'csv'"
    " WHEN client IS NOT NULL AND client <> '' THEN 'http'"
    " ELSE 'unknown' END",
    "UPDATE records SET confirmed_at = updated_at WHERE state = 'confirmed'",
    /* the intake counters by channel ("accepted:http", ...) that /metrics
     * reads, for the records already there */
    "INSERT INTO counters(service, day, name, value)"
    " SELECT service, strftime('%Y-%m-%d', received_at / 1000, 'unixepoch'),"
    " 'accepted:' || channel, count(*) FROM records GROUP BY 1, 2, 3",
    NULL,
};

/* v8: each stream target's breaker (and whether it stopped), written by
 * the delivery engine on every change, so `ferry targets` shows it beside
 * a running daemon. */
static const char *const schema_v8[] = {
    "CREATE TABLE target_state("
    " target TEXT PRIMARY KEY,"
    " breaker TEXT NOT NULL,"
    " since INTEGER NOT NULL,"
    " stopped TEXT,"
    " owner TEXT NOT NULL,"
    " updated_at INTEGER NOT NULL)",
    NULL,
};

/* v9: a record's whole story.  The acknowledgement that moved it (file,
 * record number in the file, when) sits on the record; when an operator
 * requeues a record that was batched or acknowledged, what it had (state,
 * batch, ack, error) is kept as a row of record_history before the record
 * starts afresh, so re-batching never loses the earlier file or reason
 * and no stale error stays on the record. */
static const char *const schema_v9[] = {
    "ALTER TABLE records ADD COLUMN ack_file TEXT",
    "ALTER TABLE records ADD COLUMN ack_record INTEGER",
    "ALTER TABLE records ADD COLUMN ack_at INTEGER",
    "CREATE TABLE record_history("
    " id INTEGER PRIMARY KEY,"
    " record_id INTEGER NOT NULL REFERENCES records(id),"
    " at INTEGER NOT NULL,"
    " state TEXT NOT NULL,"
    " batch_id INTEGER,"
    " ack_file TEXT,"
    " ack_record INTEGER,"
    " ack_at INTEGER,"
    " last_error TEXT)",
    "CREATE INDEX record_history_rec ON record_history(record_id)",
    NULL,
};

/* v10: the search index (spool_search.c): keyed hashes of searchable
 * values, never the values.  WITHOUT ROWID: the primary key is the
 * lookup, so one B-tree probe answers a find on a million records.
 * Existing records are indexed by `ferry find --reindex`. */
static const char *const schema_v10[] = {
    "CREATE TABLE search("
    " hash BLOB NOT NULL,"
    " record_id INTEGER NOT NULL REFERENCES records(id),"
    " PRIMARY KEY(hash, record_id)) WITHOUT ROWID",
    "CREATE INDEX search_rec ON search(record_id)",
    NULL,
};

/* v11: a delivered record the target lost.  missing_at is when reconcile
 * last found a delivered record missing at its target (0: never, or not
 * since); marker_gen counts the operator's requeues of such a record: a
 * target marker written by an earlier send is void from then on, and the
 * send after the Nth requeue writes its own (docs/reconcile.md). */
static const char *const schema_v11[] = {
    "ALTER TABLE records ADD COLUMN missing_at INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE records ADD COLUMN marker_gen INTEGER NOT NULL DEFAULT 0",
    NULL,
};

/* v12: a target's receipt in several named parts (a SOAP service's
 * receipt number and status...): a JSON object {"name": "value"}, NULL
 * when the target gives none.  The one-value receipt stays beside it. */
static const char *const schema_v12[] = {
    "ALTER TABLE records ADD COLUMN receipt_data TEXT",
    NULL,
};

/* v13: cost follows the work, not the history.
 * - records_svc (every record, every state) gives way to records_work,
 *   which holds only the records not yet final: counting or listing the
 *   work in hand (queue, batch, deliver, /metrics) reads that index, and
 *   a record becoming final only removes its entry.  Queries name its
 *   condition literally (SPOOL_WORK_TERM), which is how SQLite proves
 *   the partial index applies.
 * - state_totals counts the final records (confirmed, discarded) per
 *   service, target and state, in the working table and in the archive
 *   alike; it is kept in the same transaction as each record's move to
 *   a final state (spool_tally_final, flushed by spool_commit).
 * - records_archive: final records past the retention window leave the
 *   working tables (spool_purge) for a slim row the report still reads
 *   and the idempotency check still finds; their payloads, attempts,
 *   history, batch membership and search entries are deleted.
 * - records_received and audit_at: the report's period and the audit
 *   entries since its first day, read by range; counters_day likewise
 *   for the intake counters of the report's days.
 * - counter_totals: the intake counters summed over all days, kept by
 *   triggers on counters (a handful of counter writes per transaction,
 *   so a trigger costs nothing there, and it holds for every writer), so
 *   /metrics and the conservation check read one row per service and
 *   name instead of one per day of history. */
#define SPOOL_FINAL_IN "('confirmed','discarded')"
static const char *const schema_v13[] = {
    "DROP INDEX records_svc",
    "CREATE INDEX records_work ON records(state, service, target)"
    " WHERE state NOT IN " SPOOL_FINAL_IN,
    "CREATE INDEX records_received ON records(received_at)",
    "CREATE INDEX audit_at ON audit(at)",
    "CREATE INDEX counters_day ON counters(day)",
    "CREATE TABLE counter_totals("
    " service TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " value INTEGER NOT NULL,"
    " PRIMARY KEY(service, name)) WITHOUT ROWID",
    "INSERT INTO counter_totals(service, name, value)"
    " SELECT service, name, SUM(value) FROM counters GROUP BY 1, 2",
    "CREATE TRIGGER counters_total_ins AFTER INSERT ON counters BEGIN"
    " INSERT INTO counter_totals(service, name, value)"
    " VALUES(new.service, new.name, new.value)"
    " ON CONFLICT(service, name) DO UPDATE SET value = value + excluded.value;"
    " END",
    "CREATE TRIGGER counters_total_upd AFTER UPDATE OF value ON counters BEGIN"
    " UPDATE counter_totals SET value = value + new.value - old.value"
    " WHERE service = new.service AND name = new.name;"
    " END",
    "CREATE TRIGGER counters_total_del AFTER DELETE ON counters BEGIN"
    " UPDATE counter_totals SET value = value - old.value"
    " WHERE service = old.service AND name = old.name;"
    " END",
    "CREATE TABLE state_totals("
    " service TEXT NOT NULL,"
    " target TEXT NOT NULL,"
    " state TEXT NOT NULL,"
    " n INTEGER NOT NULL,"
    " PRIMARY KEY(service, target, state)) WITHOUT ROWID",
    "INSERT INTO state_totals(service, target, state, n)"
    " SELECT service, target, state, count(*) FROM records"
    " WHERE state IN " SPOOL_FINAL_IN " GROUP BY 1, 2, 3",
    "CREATE TABLE records_archive("
    " id INTEGER PRIMARY KEY,"
    " record_id INTEGER NOT NULL,"
    " ref TEXT NOT NULL,"
    " delivery_id TEXT,"
    " service TEXT NOT NULL,"
    " target TEXT NOT NULL,"
    " client TEXT,"
    " channel TEXT NOT NULL,"
    " fe_ref TEXT,"
    " idem_key TEXT,"
    " state TEXT NOT NULL,"
    " attempts INTEGER NOT NULL,"
    " batch_id INTEGER,"
    " receipt TEXT,"
    " receipt_data TEXT,"
    " last_error TEXT,"
    " closed_reason TEXT,"
    " received_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL,"
    " confirmed_at INTEGER NOT NULL,"
    " archived_at INTEGER NOT NULL)",
    /* the final records by age, for retention to find what it moves */
    "CREATE INDEX records_final ON records(updated_at)"
    " WHERE state IN " SPOOL_FINAL_IN,
    /* an archived record read as a record (ferry show): no payload */
    "CREATE VIEW records_archive_full AS SELECT record_id AS id, ref,"
    " service, target, client, fe_ref, idem_key, received_at, updated_at,"
    " state, attempts, 0 AS next_attempt_at, NULL AS lease_owner,"
    " 0 AS lease_until, last_error, batch_id, receipt, 0 AS in_doubt,"
    " closed_reason, 1 AS payload_purged, 0 AS payload_enc, NULL AS payload,"
    " NULL AS original, NULL AS record_json, delivery_id, channel,"
    " confirmed_at, 0 AS missing_at, 0 AS marker_gen, receipt_data"
    " FROM records_archive",
    "CREATE INDEX records_archive_received ON records_archive(received_at)",
    "CREATE INDEX records_archive_ref ON records_archive(ref)",
    "CREATE INDEX records_archive_idem ON records_archive(service, target,"
    " idem_key) WHERE idem_key IS NOT NULL",
    NULL,
};
#undef SPOOL_FINAL_IN

/* v14: generation-style file names ({gen}, G0001V00).  Every batch gets
 * a generation per target over all dates from the sequence "gen:<target>"
 * when it is bound, kept on the batch so a rebuild gets the same name.
 * Batches already there are numbered in the order they were made, and
 * each target's sequence starts after its last one. */
static const char *const schema_v14[] = {
    "ALTER TABLE batches ADD COLUMN generation INTEGER",
    "UPDATE batches SET generation = (SELECT count(*) FROM batches b"
    " WHERE b.target = batches.target AND b.id <= batches.id)",
    "INSERT INTO sequences(name, value) SELECT 'gen:' || target, max(generation)"
    " FROM batches GROUP BY target"
    " ON CONFLICT(name) DO UPDATE SET value = excluded.value",
    NULL,
};

/* v15: one submission, several systems.  A record row is one delivery:
 * a submission to a service with several targets is one row per target,
 * sharing ref, service, client, fe_ref, idem_key, received_at and the
 * payload, each with its own delivery identity, state, attempts, batch,
 * receipt and record JSON (that target's mapping section).  The v1 table
 * had ref UNIQUE, so records is rebuilt with UNIQUE(ref, target) in
 * SQLite's table-rebuild way (new table, copy, drop, rename, then every
 * index and view that names records again); spool_migrate runs this step
 * with foreign keys off and checks them before it commits.  Nothing else
 * changes: rows already there are each a submission's only delivery. */
#define REC_V15_COLS "id, ref, service, target, client, fe_ref, idem_key," \
    " received_at, payload_enc, state, attempts, next_attempt_at," \
    " lease_owner, lease_until, claimed_at, last_error, batch_id, receipt," \
    " in_doubt, updated_at, closed_reason, payload_purged, delivery_id," \
    " channel, confirmed_at, ack_file, ack_record, ack_at, missing_at," \
    " marker_gen, receipt_data"
static const char *const schema_v15[] = {
    "DROP VIEW records_full",
    "CREATE TABLE records_v15("
    " id INTEGER PRIMARY KEY,"
    " ref TEXT NOT NULL,"
    " service TEXT NOT NULL,"
    " target TEXT NOT NULL DEFAULT '',"
    " client TEXT,"
    " fe_ref TEXT,"
    " idem_key TEXT,"
    " received_at INTEGER NOT NULL,"
    " payload_enc INTEGER NOT NULL DEFAULT 0,"
    " state TEXT NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_attempt_at INTEGER NOT NULL DEFAULT 0,"
    " lease_owner TEXT,"
    " lease_until INTEGER NOT NULL DEFAULT 0,"
    " claimed_at INTEGER NOT NULL DEFAULT 0,"
    " last_error TEXT,"
    " batch_id INTEGER REFERENCES batches(id),"
    " receipt TEXT,"
    " in_doubt INTEGER NOT NULL DEFAULT 0,"
    " updated_at INTEGER NOT NULL,"
    " closed_reason TEXT,"
    " payload_purged INTEGER NOT NULL DEFAULT 0,"
    " delivery_id TEXT,"
    " channel TEXT NOT NULL DEFAULT 'unknown',"
    " confirmed_at INTEGER NOT NULL DEFAULT 0,"
    " ack_file TEXT,"
    " ack_record INTEGER,"
    " ack_at INTEGER,"
    " missing_at INTEGER NOT NULL DEFAULT 0,"
    " marker_gen INTEGER NOT NULL DEFAULT 0,"
    " receipt_data TEXT,"
    " UNIQUE(ref, target),"
    " UNIQUE(service, target, idem_key))",
    "INSERT INTO records_v15(" REC_V15_COLS ") SELECT " REC_V15_COLS
    " FROM records",
    "DROP TABLE records",
    "ALTER TABLE records_v15 RENAME TO records",
    "CREATE INDEX records_feref ON records(service, fe_ref)",
    "CREATE INDEX records_due ON records(target, state, next_attempt_at)"
    " WHERE state = 'queued' OR state = 'deferred'"
    " OR state = 'delivering' OR state = 'indoubt'",
    "CREATE INDEX records_batch ON records(batch_id) WHERE batch_id IS NOT NULL",
    "CREATE UNIQUE INDEX records_delivery_id ON records(delivery_id)",
    "CREATE INDEX records_work ON records(state, service, target)"
    " WHERE state NOT IN ('confirmed','discarded')",
    "CREATE INDEX records_received ON records(received_at)",
    "CREATE INDEX records_final ON records(updated_at)"
    " WHERE state IN ('confirmed','discarded')",
    "CREATE VIEW records_full AS SELECT r.*, d.payload AS payload,"
    " d.original AS original, d.record_json AS record_json"
    " FROM records r LEFT JOIN record_data d ON d.id = r.id",
    NULL,
};
#undef REC_V15_COLS

/* Steps that rebuild a table run with foreign keys off (SQLite cannot
 * drop a parent table with them on) and end with a foreign-key check. */
static bool migration_rebuilds(int to_version)
{
    return to_version == 15;
}

/* v16: a record's stored encoding for its target (the format's
 * admit_stored, adapters/adapter.h): the detail record the intake
 * already encoded to check the record against the layout, with the
 * layout's digest, so the night batch writes it without parsing the
 * record's JSON.  Sealed with the spool's key like the payload and the
 * record (personal data at rest).  NULL for rows stored before, rows
 * edited since, and formats that keep none: the batch encodes those from
 * record_json, as it does when the digest says the mapping or copybook
 * changed. */
static const char *const schema_v16[] = {
    "ALTER TABLE record_data ADD COLUMN encoded BLOB",
    NULL,
};

static const char *const *const migrations[] = { schema_v1, schema_v2,
                                                 schema_v3, schema_v4,
                                                 schema_v5, schema_v6,
                                                 schema_v7, schema_v8,
                                                 schema_v9, schema_v10,
                                                 schema_v11, schema_v12,
                                                 schema_v13, schema_v14,
                                                 schema_v15, schema_v16 };
_Static_assert(sizeof migrations / sizeof migrations[0]
               == SPOOL_SCHEMA_VERSION, "one migration step per version");

void spool_day_text(int64_t ms, char out[11])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    unsigned y = (unsigned)(tm.tm_year + 1900) % 10000u;
    unsigned m = (unsigned)(tm.tm_mon + 1) % 100u;
    unsigned d = (unsigned)tm.tm_mday % 100u;
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%04u-%02u-%02u", y, m, d);
    memcpy(out, tmp, 10);
    out[10] = '\0';
}

void spool_lock(struct spool *s)
{
    pthread_mutex_lock(&s->db_mu);
}

void spool_unlock(struct spool *s)
{
    pthread_mutex_unlock(&s->db_mu);
}

void spool_dberr(struct spool *s, struct errs *e, const char *where,
                 const char *what)
{
    errs_add(e, where ? where : s->dir, "%s: %s", what,
             s->db ? sqlite3_errmsg(s->db)
             : s->sql ? sql_errmsg(s->sql) : "no ledger");
}

void spool_sqlerr(struct spool *s, struct errs *e, const char *where,
                  const char *what)
{
    const char *m = s->sql ? sql_errmsg(s->sql) : "";
    errs_add(e, where ? where : s->dir, "%s: %s", what,
             *m ? m : s->db ? sqlite3_errmsg(s->db) : "no ledger");
}

struct sql_stmt *spool_sql(struct spool *s, const char *sql, struct errs *e)
{
    struct sql_stmt *st = sql_prepare(s->sql, sql);
    if (!st)
        spool_sqlerr(s, e, NULL, "ledger statement");
    return st;
}

/* spool_stmt - a cached prepared statement, reset and unbound.  Statements
 * are looked up by the text's address first (the same literal), then text. */
sqlite3_stmt *spool_stmt(struct spool *s, const char *sql, struct errs *e)
{
    if (!s->db) {
        errs_add(e, s->dir, "not yet on a PostgreSQL ledger: %.60s", sql);
        return NULL;
    }
    for (size_t i = 0; i < s->nstmt; i++) {
        if (s->stmt[i].sql == sql || strcmp(s->stmt[i].sql, sql) == 0) {
            sqlite3_reset(s->stmt[i].st);
            sqlite3_clear_bindings(s->stmt[i].st);
            return s->stmt[i].st;
        }
    }
    sqlite3_stmt *st = NULL;
    unsigned flags = s->nstmt < SPOOL_NSTMT ? SQLITE_PREPARE_PERSISTENT : 0;
    if (sqlite3_prepare_v3(s->db, sql, -1, flags, &st, NULL) != SQLITE_OK) {
        spool_dberr(s, e, NULL, "ledger statement");
        return NULL;
    }
    if (s->nstmt < SPOOL_NSTMT) {
        s->stmt[s->nstmt].sql = sql;
        s->stmt[s->nstmt].st = st;
        s->nstmt++;
        return st;
    }
    /* Cache full: a programming error; keep working, leak nothing. */
    sqlite3_finalize(st);
    errs_add(e, s->dir, "ledger statement cache full");
    return NULL;
}

int spool_exec(struct spool *s, const char *sql, struct errs *e)
{
    if (sql_exec(s->sql, sql) != 0) {
        errs_add(e, s->dir, "ledger: %s", sql_errmsg(s->sql));
        return -1;
    }
    return 0;
}

int spool_begin(struct spool *s, struct errs *e)
{
    /* SQLite: BEGIN IMMEDIATE, the write lock now, so another process's
     * writer makes us wait (busy timeout) instead of failing at commit.
     * PostgreSQL: a server that went away (restart, failover, a killed
     * session) is connected to again by the layer (sql_pg.c), once,
     * between transactions, where nothing of ours is lost: the BEGIN is
     * sent again on a new session.  A transaction the loss cut short
     * already failed for its caller (an intake whose commit failed got
     * an error, which HTTP answers 503): the layer never redoes it. */
    if (sql_begin(s->sql) != 0) {
        errs_add(e, s->dir, "ledger: %s", sql_errmsg(s->sql));
        return -1;
    }
    return 0;
}

int spool_commit(struct spool *s, struct errs *e)
{
    /* the final-state totals gathered in this transaction go in with it */
    if (spool_tally_flush(s, e) != 0) {
        spool_rollback(s);
        return -1;
    }
    if (sql_commit(s->sql) != 0) {
        errs_add(e, s->dir, "ledger: %s", sql_errmsg(s->sql));
        spool_rollback(s);
        return -1;
    }
    s->stats.commits++;
    if (s->audit_pending[0])
        spool_audit_anchor(s);
    return 0;
}

int spool_end(struct spool *s, int rc, struct errs *e)
{
    if (rc == 0 && spool_commit(s, e) != 0)
        rc = -1;
    else if (rc != 0)
        spool_rollback(s);
    spool_unlock(s);
    return rc;
}

void spool_rollback(struct spool *s)
{
    s->audit_pending[0] = '\0';
    spool_tally_clear(s);
    sql_rollback(s->sql);
}

char *spool_col_strdup(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    if (!t)
        return NULL;
    return strdup((const char *)t);
}

int spool_counter_add(struct spool *s, const char *service, const char *day,
                      const char *name, int64_t n, struct errs *e)
{
    static const char sql[] =
        "INSERT INTO counters(service, day, name, value) VALUES(?,?,?,?) "
        "ON CONFLICT(service, day, name) DO UPDATE SET value = "
        "counters.value + excluded.value";
    struct sql_stmt *st = spool_sql(s, sql, e);
    if (!st)
        return -1;
    sql_bind_text(st, 1, service);
    sql_bind_text(st, 2, day);
    sql_bind_text(st, 3, name);
    sql_bind_int64(st, 4, n);
    if (sql_step(st) != SQL_STEP_DONE) {
        spool_sqlerr(s, e, service, "counting");
        return -1;
    }
    return 0;
}

/* ---- final-state totals of the open transaction (schema 13) ----------
 * Noted in memory while the transaction runs (a million acknowledgements
 * make a handful of notes), written into state_totals by spool_commit
 * just before COMMIT, forgotten by spool_rollback: a rollback or a crash
 * loses the notes with the moves, so the totals never drift.  Here, with
 * the transaction helpers, so committing needs nothing above this file. */
#define TALLY_MAX 4096                /* distinct keys in one transaction */

int spool_tally_final(struct spool *s, const char *service,
                      const char *target, const char *state, struct errs *e)
{
    if (!service)
        service = "";
    if (!target)
        target = "";
    for (size_t i = s->ntally; i-- > 0;) {
        struct spool_tally *t = &s->tally[i];
        if (strcmp(t->state, state) == 0 && strcmp(t->service, service) == 0
            && strcmp(t->target, target) == 0) {
            t->n++;
            return 0;
        }
    }
    if (s->ntally >= TALLY_MAX) {
        errs_add(e, s->dir, "too many services and targets in one "
                 "transaction (%d)", TALLY_MAX);
        return -1;
    }
    if (s->ntally == s->captally) {
        size_t cap = s->captally ? s->captally * 2 : 8;
        struct spool_tally *v = realloc(s->tally, cap * sizeof *v);
        if (!v)
            goto nomem;
        s->tally = v;
        s->captally = cap;
    }
    struct spool_tally *t = &s->tally[s->ntally];
    t->service = strdup(service);
    t->target = strdup(target);
    t->state = strdup(state);
    if (!t->service || !t->target || !t->state) {
        free(t->service);
        free(t->target);
        free(t->state);
        goto nomem;
    }
    t->n = 1;
    s->ntally++;
    return 0;
nomem:
    errs_add(e, s->dir, "out of memory");
    return -1;
}

void spool_tally_clear(struct spool *s)
{
    for (size_t i = 0; i < s->ntally; i++) {
        free(s->tally[i].service);
        free(s->tally[i].target);
        free(s->tally[i].state);
    }
    s->ntally = 0;
}

int spool_tally_flush(struct spool *s, struct errs *e)
{
    static const char sql[] =
        "INSERT INTO state_totals(service, target, state, n) "
        "VALUES(?,?,?,?) ON CONFLICT(service, target, state) "
        "DO UPDATE SET n = state_totals.n + excluded.n";
    int rc = 0;
    for (size_t i = 0; i < s->ntally && rc == 0; i++) {
        struct spool_tally *t = &s->tally[i];
        struct sql_stmt *st = spool_sql(s, sql, e);
        if (!st) {
            rc = -1;
            break;
        }
        sql_bind_text(st, 1, t->service);
        sql_bind_text(st, 2, t->target);
        sql_bind_text(st, 3, t->state);
        sql_bind_int64(st, 4, t->n);
        if (sql_step(st) != SQL_STEP_DONE) {
            spool_sqlerr(s, e, t->service, "counting final records");
            rc = -1;
        }
        sql_reset(st);
    }
    spool_tally_clear(s);
    return rc;
}

/* fk_clean - PRAGMA foreign_key_check finds nothing */
static int fk_clean(struct spool *s, struct errs *e)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "PRAGMA foreign_key_check", -1, &st, NULL)
        != SQLITE_OK) {
        spool_dberr(s, e, s->db_path, "checking foreign keys");
        return -1;
    }
    int r = sqlite3_step(st);
    sqlite3_finalize(st);
    if (r == SQLITE_DONE)
        return 0;
    if (r == SQLITE_ROW)
        errs_add(e, s->db_path, "schema migration broke a foreign key");
    else
        spool_dberr(s, e, s->db_path, "checking foreign keys");
    return -1;
}

/* migrate_step - schema ver -> ver + 1 in one transaction */
static int migrate_step(struct spool *s, int ver, bool rebuild,
                        struct errs *e)
{
    if (spool_begin(s, e) != 0)
        return -1;
    for (const char *const *q = migrations[ver]; *q; q++) {
        if (spool_exec(s, *q, e) != 0) {
            spool_rollback(s);
            return -1;
        }
    }
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", ver + 1);
    if ((rebuild && fk_clean(s, e) != 0) || spool_exec(s, sql, e) != 0) {
        spool_rollback(s);
        return -1;
    }
    return spool_commit(s, e);
}

/* spool_migrate - bring the schema to SPOOL_SCHEMA_VERSION */
static int spool_migrate(struct spool *s, struct errs *e)
{
    sqlite3_stmt *st = NULL;
    int ver = 0;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL)
        != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        spool_dberr(s, e, s->db_path, "reading schema version");
        return -1;
    }
    ver = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (ver > SPOOL_SCHEMA_VERSION) {
        errs_add(e, s->db_path, "ledger schema version %d is newer than "
                 "this ferry understands (%d)", ver, SPOOL_SCHEMA_VERSION);
        return -1;
    }
    if (ver < SPOOL_SCHEMA_VERSION && s->opts.read_only) {
        errs_add(e, s->db_path, "ledger schema version %d needs migrating; "
                 "open it read-write once", ver);
        return -1;
    }
    while (ver < SPOOL_SCHEMA_VERSION) {
        bool rebuild = migration_rebuilds(ver + 1);
        if (rebuild && spool_exec(s, "PRAGMA foreign_keys=OFF", e) != 0)
            return -1;
        int rc = migrate_step(s, ver, rebuild, e);
        if (rebuild && spool_exec(s, "PRAGMA foreign_keys=ON", e) != 0)
            rc = -1;
        if (rc != 0)
            return -1;
        ver++;
    }
    return 0;
}

/* mkdir_0700 - create a private folder, or make sure an existing one is
 * private: a folder we own with group or other bits is tightened to 0700;
 * one owned by someone else, or that cannot be tightened, is refused. */
static int mkdir_0700(const char *path, struct errs *e)
{
    if (mkdir(path, 0700) == 0)
        return 0;
    if (errno != EEXIST) {
        errs_add(e, path, "cannot create folder: %s", strerror(errno));
        return -1;
    }
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        errs_add(e, path, "exists and is not a folder");
        return -1;
    }
    if (sb.st_uid != geteuid()) {
        errs_add(e, path, "spool folder is owned by uid %lu, not by this "
                 "user (uid %lu); refusing to use it",
                 (unsigned long)sb.st_uid, (unsigned long)geteuid());
        return -1;
    }
    if ((sb.st_mode & 077) != 0 && chmod(path, 0700) != 0) {
        errs_add(e, path, "folder mode is %04o (group or others have "
                 "access) and cannot be tightened to 0700: %s",
                 (unsigned)(sb.st_mode & 07777), strerror(errno));
        return -1;
    }
    return 0;
}

static void chmod_if_there(const char *base, const char *suffix)
{
    char p[PATH_MAX];
    if (snprintf(p, sizeof p, "%s%s", base, suffix) < (int)sizeof p)
        chmod(p, 0600);
}

static int pragma(struct spool *s, const char *sql, const char *want,
                  struct errs *e)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        spool_dberr(s, e, s->db_path, sql);
        return -1;
    }
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW && want) {
        const unsigned char *v = sqlite3_column_text(st, 0);
        if (!v || strcasecmp((const char *)v, want) != 0)
            errs_add(e, s->db_path, "%s: got %s, need %s", sql,
                     v ? (const char *)v : "nothing", want);
        else
            rc = 0;
    } else if (r == SQLITE_ROW || r == SQLITE_DONE) {
        rc = 0;
    } else {
        spool_dberr(s, e, s->db_path, sql);
    }
    sqlite3_finalize(st);
    return rc;
}

/* ledger_sqlite - the SQLite ledger: ledger.db in the folder, its
 * PRAGMAs, and the migrations of an older ledger (SQLite only) */
static int ledger_sqlite(struct spool *s, struct errs *e)
{
    int flags = SQLITE_OPEN_NOMUTEX | (s->opts.read_only
                ? SQLITE_OPEN_READONLY
                : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    if (sqlite3_open_v2(s->db_path, &s->db, flags, NULL) != SQLITE_OK) {
        spool_dberr(s, e, s->db_path, "cannot open ledger");
        return -1;
    }
    sqlite3_extended_result_codes(s->db, 1);
    if (!(s->sql = sql_wrap_sqlite(s->db))) {
        errs_add(e, s->db_path, "out of memory");
        return -1;
    }
    sqlite3_busy_timeout(s->db, s->opts.busy_timeout_ms > 0
                         ? s->opts.busy_timeout_ms : 10000);
    if (!s->opts.read_only
        && pragma(s, "PRAGMA journal_mode=WAL", "wal", e) != 0)
        return -1;
    /* secure_delete: purged payloads are overwritten with zeros, not left
     * in the file's free pages (Debian builds it on; others may not).
     * wal_autocheckpoint: a checkpoint every 32 MiB of WAL, not every
     * 4 MiB (SQLite's default), so a bulk intake of 1,000 one-kilobyte
     * records per commit does not copy pages back into ledger.db (and
     * fsync it) after nearly every commit: a fifth of `ferry submit`'s
     * wall time.  Durability is the WAL's fsync at each commit either
     * way (synchronous=FULL). */
    if (pragma(s, "PRAGMA synchronous=FULL", NULL, e) != 0
        || pragma(s, "PRAGMA foreign_keys=ON", NULL, e) != 0
        || pragma(s, "PRAGMA secure_delete=ON", NULL, e) != 0
        || pragma(s, "PRAGMA wal_autocheckpoint=8192", NULL, e) != 0)
        return -1;
    if (spool_migrate(s, e) != 0)
        return -1;
    if (!s->opts.read_only) {
        chmod(s->db_path, 0600);
        chmod_if_there(s->db_path, "-wal");
        chmod_if_there(s->db_path, "-shm");
    }
    return 0;
}

/* ledger_pg - the PostgreSQL ledger: a connection to conninfo, its
 * schema made or checked (spool_pg_schema: one transaction under an
 * advisory lock, so nodes starting together build it once), and the
 * spool's identity there.  s->db stays NULL, so a file still on
 * spool_stmt fails loudly instead of reaching a ledger it cannot see.
 * s->db_path names the database for messages (host, port, dbname,
 * user: never the password). */
static int ledger_pg(struct spool *s, const char *conninfo, struct errs *e)
{
    char desc[480];
    sql_conninfo_describe(conninfo, desc, sizeof desc);
    free(s->db_path);
    if (asprintf(&s->db_path, "PostgreSQL ledger (%s)", desc) < 0) {
        s->db_path = NULL;
        errs_add(e, s->dir, "out of memory");
        return -1;
    }
    struct sql_desc d = { .backend = SQL_POSTGRESQL, .conninfo = conninfo,
                          .busy_timeout_ms = s->opts.busy_timeout_ms };
    if (!(s->sql = sql_open(&d, e)))
        return -1;
    /* an inspection tool's session writes nothing, not even a schema */
    if (s->opts.read_only
        && sql_exec(s->sql, "SET SESSION CHARACTERISTICS AS TRANSACTION "
                    "READ ONLY") != 0) {
        spool_sqlerr(s, e, s->db_path, "read-only session");
        return -1;
    }
    if (spool_pg_schema(s->sql, e) != 0)
        return -1;
    char id[SPOOL_ID_LEN];
    return spool_identity(s, id, e);
}

struct spool *spool_open(const char *dir, const struct spool_opts *o,
                         struct errs *e)
{
    struct spool *s = calloc(1, sizeof *s);
    mode_t old_mask = umask(077);
    bool mu_init = false;
    const char *conninfo = o ? o->pg_conninfo : NULL;
    if (!s) {
        errs_add(e, dir, "out of memory");
        goto fail;
    }
    if (o)
        s->opts = *o;
    s->opts.pg_conninfo = NULL;            /* borrowed: not kept */
    pthread_mutex_init(&s->db_mu, NULL);
    pthread_mutex_init(&s->q_mu, NULL);
    pthread_cond_init(&s->q_cv, NULL);
    mu_init = true;
    s->dir = strdup(dir);
    if (!s->dir || asprintf(&s->db_path, "%s/ledger.db", dir) < 0) {
        s->db_path = NULL;
        errs_add(e, dir, "out of memory");
        goto fail;
    }
    s->audit_head_path = s->opts.audit_head_file
        ? strdup(s->opts.audit_head_file) : NULL;
    s->opts.audit_head_file = NULL;        /* borrowed: not kept */
    if (!s->audit_head_path &&
        asprintf(&s->audit_head_path, "%s/audit.head", dir) < 0)
        s->audit_head_path = NULL;
    if (!s->audit_head_path) {
        errs_add(e, dir, "out of memory");
        goto fail;
    }
    if (!s->opts.read_only) {
        static const char *const subs[] = { "outbound", "inbound", "archive",
                                            "locks" };
        if (fs_mkdirs(dir, 0700) != 0 && errno != EEXIST) {
            errs_add(e, dir, "cannot create spool folder: %s",
                     strerror(errno));
            goto fail;
        }
        if (mkdir_0700(dir, e) != 0)
            goto fail;
        for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
            char p[PATH_MAX];
            if (fs_join(p, sizeof p, dir, subs[i]) != 0) {
                errs_add(e, dir, "path too long");
                goto fail;
            }
            if (mkdir_0700(p, e) != 0)
                goto fail;
        }
    }
    if ((conninfo ? ledger_pg(s, conninfo, e) : ledger_sqlite(s, e)) != 0)
        goto fail;
    umask(old_mask);
    return s;
fail:
    umask(old_mask);
    if (s && !mu_init) {
        free(s);
        return NULL;
    }
    spool_close(s);
    return NULL;
}

void spool_close(struct spool *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nstmt; i++)
        sqlite3_finalize(s->stmt[i].st);
    sql_close(s->sql);             /* its statements, before the close */
    spool_tally_clear(s);
    free(s->tally);
    if (s->db)
        sqlite3_close(s->db);
    pthread_mutex_destroy(&s->db_mu);
    pthread_mutex_destroy(&s->q_mu);
    pthread_cond_destroy(&s->q_cv);
    explicit_bzero(s->opts.key, sizeof s->opts.key);
    explicit_bzero(s->opts.audit_key, sizeof s->opts.audit_key);
    free(s->audit_head_path);
    explicit_bzero(s->opts.search_key, sizeof s->opts.search_key);
    /* the search key's hash state (made by spool_search.c on first use) */
    EVP_MD_CTX_free(s->search_in);
    EVP_MD_CTX_free(s->search_out);
    EVP_MD_CTX_free(s->search_tmp);
    free(s->dir);
    free(s->db_path);
    free(s);
}

const char *spool_dir(const struct spool *s)
{
    return s->dir;
}

int spool_id_new(char out[SPOOL_ID_LEN])
{
    unsigned char b[16];
    static const char hex[] = "0123456789abcdef";
    if (RAND_bytes(b, (int)sizeof b) != 1)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < sizeof b; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[k++] = '-';
        out[k++] = hex[b[i] >> 4];
        out[k++] = hex[b[i] & 15];
    }
    out[k] = '\0';
    explicit_bzero(b, sizeof b);
    return 0;
}

int spool_identity(struct spool *s, char out[SPOOL_ID_LEN], struct errs *e)
{
    int rc = -1;
    spool_lock(s);
    struct sql_stmt *st = spool_sql(s, "SELECT value FROM meta WHERE name "
                                    "= 'spool_id'", e);
    if (st) {
        enum sql_step r = sql_step(st);
        const char *v = r == SQL_STEP_ROW ? sql_col_text(st, 0) : NULL;
        if (v && strlen(v) == SPOOL_ID_LEN - 1) {
            memcpy(out, v, SPOOL_ID_LEN);
            rc = 0;
        } else if (r != SQL_STEP_ERROR) {
            errs_add(e, s->db_path, "ledger has no spool identity");
        } else {
            spool_sqlerr(s, e, s->db_path, "reading spool identity");
        }
        sql_reset(st);
    }
    spool_unlock(s);
    return rc;
}

void spool_stats_get(struct spool *s, struct spool_stats *out)
{
    pthread_mutex_lock(&s->q_mu);
    pthread_mutex_lock(&s->db_mu);
    *out = s->stats;
    pthread_mutex_unlock(&s->db_mu);
    pthread_mutex_unlock(&s->q_mu);
}

static uint64_t file_size(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

static uint64_t folder_size(const char *dir, int depth)
{
    uint64_t total = 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char p[PATH_MAX];
        if (fs_join(p, sizeof p, dir, de->d_name) != 0)
            continue;
        struct stat sb;
        if (lstat(p, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode) && depth < 8)
            total += folder_size(p, depth + 1);
        else if (S_ISREG(sb.st_mode))
            total += (uint64_t)sb.st_size;
    }
    closedir(d);
    return total;
}

/* ledger_size - the ledger's bytes: ledger.db and its WAL files, or the
 * PostgreSQL database's (tables, indexes, TOAST; shared with nothing
 * else when the database is the spool's own) */
static int ledger_size(struct spool *s, uint64_t *out, struct errs *e)
{
    char p[PATH_MAX];
    if (sql_backend(s->sql) == SQL_POSTGRESQL) {
        int rc = -1;
        spool_lock(s);
        struct sql_stmt *st = spool_sql(s, "SELECT pg_database_size("
                                        "current_database())", e);
        if (st && sql_step(st) == SQL_STEP_ROW) {
            int64_t n = sql_col_int64(st, 0);
            *out = n > 0 ? (uint64_t)n : 0;
            rc = 0;
        } else if (st) {
            spool_sqlerr(s, e, s->db_path, "ledger size");
        }
        if (st)
            sql_reset(st);
        spool_unlock(s);
        return rc;
    }
    uint64_t l = file_size(s->db_path);
    if (snprintf(p, sizeof p, "%s-wal", s->db_path) < (int)sizeof p)
        l += file_size(p);
    if (snprintf(p, sizeof p, "%s-shm", s->db_path) < (int)sizeof p)
        l += file_size(p);
    *out = l;
    return 0;
}

int spool_size(struct spool *s, uint64_t *ledger_bytes, uint64_t *files_bytes,
               struct errs *e)
{
    char p[PATH_MAX];
    uint64_t l = 0;
    if (ledger_size(s, &l, e) != 0)
        return -1;
    uint64_t f = 0;
    static const char *const subs[] = { "outbound", "inbound", "archive" };
    for (size_t i = 0; i < 3; i++) {
        if (fs_join(p, sizeof p, s->dir, subs[i]) != 0) {
            errs_add(e, s->dir, "path too long");
            return -1;
        }
        f += folder_size(p, 0);
    }
    if (ledger_bytes)
        *ledger_bytes = l;
    if (files_bytes)
        *files_bytes = f;
    return 0;
}

int spool_conninfo_load(const char *path, char **out, struct errs *e)
{
    return sql_conninfo_load(path, out, e);
}

void spool_conninfo_free(char *conninfo)
{
    sql_conninfo_free(conninfo);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int spool_key_load(const char *path, unsigned char key[SPOOL_KEY_LEN],
                   struct errs *e)
{
    char *data = NULL;
    size_t len = 0;
    int rc = -1;
    if (!fs_secret_mode_ok(path)) {
        errs_add(e, path, "key file is readable by group or others "
                 "(chmod 600)");
        return -1;
    }
    if (fs_read_file(path, 4096, &data, &len, e) != 0)
        return -1;
    if (len == SPOOL_KEY_LEN) {
        memcpy(key, data, SPOOL_KEY_LEN);
        rc = 0;
        goto done;
    }
    size_t n = len;
    while (n > 0 && (data[n - 1] == '\n' || data[n - 1] == '\r'))
        n--;
    if (n != 2 * SPOOL_KEY_LEN) {
        errs_add(e, path, "key file must hold 32 raw bytes or 64 hex "
                 "characters (found %zu bytes)", len);
        goto done;
    }
    for (size_t i = 0; i < SPOOL_KEY_LEN; i++) {
        int hi = hexval((unsigned char)data[2 * i]);
        int lo = hexval((unsigned char)data[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            errs_add(e, path, "key file: not a hex character at offset %zu",
                     2 * i + (hi < 0 ? 0 : 1));
            goto done;
        }
        key[i] = (unsigned char)(hi << 4 | lo);
    }
    rc = 0;
done:
    if (data) {
        explicit_bzero(data, len);
        free(data);
    }
    return rc;
}

