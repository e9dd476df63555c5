/* pg_schema.c - the PostgreSQL ledger's schema, at the SQLite ledger's
 * version (spool_db.c's migrations, v1..v16, as they end up:
 * SPOOL_PG_SCHEMA_VERSION).
 *
 * The same tables, columns (same names, same order), indexes, views and
 * triggers, spelled for PostgreSQL:
 * - INTEGER is BIGINT (times are ms since the epoch; SQLite's INTEGER is
 *   64-bit), BLOB is BYTEA, TEXT is TEXT;
 * - an INTEGER PRIMARY KEY the database numbers (records, batches,
 *   attempts, job_runs, record_history, records_archive) is BIGINT
 *   GENERATED ALWAYS AS IDENTITY.  audit.id is a plain BIGINT key: the
 *   chain numbers its entries itself (the hash covers the id), under an
 *   advisory lock (sql_lock_xact "audit").  record_data.id is the
 *   record's id;
 * - WITHOUT ROWID tables are ordinary tables (PostgreSQL has no rowid);
 * - the counter_totals triggers are plpgsql functions;
 * - the partial indexes keep their conditions (PostgreSQL proves them
 *   the same way);
 * - two indexes differ on purpose: records_batch is (batch_id, id), the
 *   keyset pages of a batch, and batch_members_rec exists here only,
 *   for the purge's foreign key checks (tests/unit/check_sql_pg.c,
 *   pg_only_indexes: the list of differences the drift check allows).
 * Built in one transaction with the version in meta (schema_version);
 * check_sql_pg compares every table's columns with SQLite's. */
#include "spool/pg_spool.h"
#include "util/errs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FINAL_IN "('confirmed','discarded')"

static const char *const pg_current[] = {
    "CREATE TABLE meta(name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE sequences(name TEXT PRIMARY KEY, value BIGINT NOT NULL)",
    "CREATE TABLE batches("
    " id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " target TEXT NOT NULL,"
    " business_date TEXT NOT NULL,"
    " seq BIGINT NOT NULL,"
    " state TEXT NOT NULL,"
    " file_name TEXT,"
    " record_count BIGINT NOT NULL DEFAULT 0,"
    " totals TEXT,"
    " sha256 TEXT,"
    " created_at BIGINT NOT NULL,"
    " written_at BIGINT,"
    " sent_at BIGINT,"
    " confirmed_at BIGINT,"
    " generation BIGINT,"
    " UNIQUE(target, business_date, seq))",
    "CREATE TABLE records("
    " id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " ref TEXT NOT NULL,"
    " service TEXT NOT NULL,"
    " target TEXT NOT NULL DEFAULT '',"
    " client TEXT,"
    " fe_ref TEXT,"
    " idem_key TEXT,"
    " received_at BIGINT NOT NULL,"
    " payload_enc BIGINT NOT NULL DEFAULT 0,"
    " state TEXT NOT NULL,"
    " attempts BIGINT NOT NULL DEFAULT 0,"
    " next_attempt_at BIGINT NOT NULL DEFAULT 0,"
    " lease_owner TEXT,"
    " lease_until BIGINT NOT NULL DEFAULT 0,"
    " claimed_at BIGINT NOT NULL DEFAULT 0,"
    " last_error TEXT,"
    " batch_id BIGINT REFERENCES batches(id),"
    " receipt TEXT,"
    " in_doubt BIGINT NOT NULL DEFAULT 0,"
    " updated_at BIGINT NOT NULL,"
    " closed_reason TEXT,"
    " payload_purged BIGINT NOT NULL DEFAULT 0,"
    " delivery_id TEXT,"
    " channel TEXT NOT NULL DEFAULT 'unknown',"
    " confirmed_at BIGINT NOT NULL DEFAULT 0,"
    " ack_file TEXT,"
    " ack_record BIGINT,"
    " ack_at BIGINT,"
    " missing_at BIGINT NOT NULL DEFAULT 0,"
    " marker_gen BIGINT NOT NULL DEFAULT 0,"
    " receipt_data TEXT,"
    /* v15: a row per delivery, one per target of the record */
    " UNIQUE(ref, target),"
    " UNIQUE(service, target, idem_key))",
    "CREATE INDEX records_feref ON records(service, fe_ref)",
    "CREATE TABLE attempts("
    " id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " record_id BIGINT NOT NULL REFERENCES records(id),"
    " target TEXT NOT NULL,"
    " started_at BIGINT NOT NULL,"
    " ended_at BIGINT NOT NULL,"
    " outcome TEXT NOT NULL,"
    " message TEXT)",
    "CREATE INDEX attempts_rec ON attempts(record_id)",
    "CREATE TABLE batch_members("
    " batch_id BIGINT NOT NULL REFERENCES batches(id),"
    " pos BIGINT NOT NULL,"
    " record_id BIGINT NOT NULL REFERENCES records(id),"
    " PRIMARY KEY(batch_id, pos))",
    /* PostgreSQL only (check_sql_pg's pg_only_indexes): deleting a record checks
     * this foreign key row by row, and a client cannot turn it off as
     * the purge does on SQLite */
    "CREATE INDEX batch_members_rec ON batch_members(record_id)",
    "CREATE TABLE job_runs("
    " id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " job TEXT NOT NULL,"
    " pid BIGINT NOT NULL,"
    " started_at BIGINT NOT NULL,"
    " ended_at BIGINT NOT NULL DEFAULT 0,"
    " outcome TEXT,"
    " counts TEXT,"
    " message TEXT)",
    "CREATE INDEX job_runs_job ON job_runs(job, id)",
    "CREATE TABLE audit("
    " id BIGINT PRIMARY KEY,"
    " at BIGINT NOT NULL,"
    " actor TEXT NOT NULL,"
    " action TEXT NOT NULL,"
    " ref TEXT,"
    " reason TEXT,"
    " before_state TEXT,"
    " after_state TEXT,"
    " detail TEXT,"
    " prev_hash TEXT NOT NULL,"
    " hash TEXT NOT NULL,"
    " keyed BIGINT NOT NULL DEFAULT 0)",
    "CREATE INDEX audit_ref ON audit(ref)",
    "CREATE TABLE ack_files("
    " name TEXT NOT NULL,"
    " sha256 TEXT NOT NULL,"
    " applied_at BIGINT NOT NULL,"
    " records BIGINT NOT NULL,"
    " PRIMARY KEY(name, sha256))",
    "CREATE TABLE counters("
    " service TEXT NOT NULL,"
    " day TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " value BIGINT NOT NULL,"
    " PRIMARY KEY(service, day, name))",
    "CREATE TABLE record_data("
    " id BIGINT PRIMARY KEY REFERENCES records(id),"
    " payload BYTEA,"
    " original BYTEA,"
    " record_json BYTEA,"
    " encoded BYTEA)",
    "CREATE VIEW records_full AS SELECT r.*, d.payload AS payload,"
    " d.original AS original, d.record_json AS record_json"
    " FROM records r LEFT JOIN record_data d ON d.id = r.id",
    "CREATE INDEX records_due ON records(target, state, next_attempt_at)"
    " WHERE state = 'queued' OR state = 'deferred'"
    " OR state = 'delivering' OR state = 'indoubt'",
    /* (batch_id, id): a keyset page of a big batch ("batch_id = ? AND
     * id > ? ORDER BY id LIMIT n") is one range; SQLite's index on
     * batch_id alone carries the rowid in order already */
    "CREATE INDEX records_batch ON records(batch_id, id)"
    " WHERE batch_id IS NOT NULL",
    "CREATE UNIQUE INDEX records_delivery_id ON records(delivery_id)",
    "CREATE TABLE client_keys("
    " service TEXT NOT NULL,"
    " client TEXT NOT NULL,"
    " key TEXT NOT NULL,"
    " digest BYTEA NOT NULL,"
    " ref TEXT NOT NULL,"
    " duplicate BIGINT NOT NULL,"
    " created_at BIGINT NOT NULL,"
    " PRIMARY KEY(service, client, key))",
    "CREATE TABLE target_state("
    " target TEXT PRIMARY KEY,"
    " breaker TEXT NOT NULL,"
    " since BIGINT NOT NULL,"
    " stopped TEXT,"
    " owner TEXT NOT NULL,"
    " updated_at BIGINT NOT NULL)",
    "CREATE TABLE record_history("
    " id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " record_id BIGINT NOT NULL REFERENCES records(id),"
    " at BIGINT NOT NULL,"
    " state TEXT NOT NULL,"
    " batch_id BIGINT,"
    " ack_file TEXT,"
    " ack_record BIGINT,"
    " ack_at BIGINT,"
    " last_error TEXT)",
    "CREATE INDEX record_history_rec ON record_history(record_id)",
    "CREATE TABLE search("
    " hash BYTEA NOT NULL,"
    " record_id BIGINT NOT NULL REFERENCES records(id),"
    " PRIMARY KEY(hash, record_id))",
    "CREATE INDEX search_rec ON search(record_id)",
    "CREATE INDEX records_work ON records(state, service, target)"
    " WHERE state NOT IN " FINAL_IN,
    "CREATE INDEX records_received ON records(received_at)",
    "CREATE INDEX audit_at ON audit(at)",
    "CREATE INDEX counters_day ON counters(day)",
    "CREATE TABLE counter_totals("
    " service TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " value BIGINT NOT NULL,"
    " PRIMARY KEY(service, name))",
    /* the triggers that keep counter_totals: one function each */
    "CREATE FUNCTION counters_total_ins() RETURNS trigger LANGUAGE plpgsql"
    " AS $$ BEGIN"
    " INSERT INTO counter_totals(service, name, value)"
    " VALUES(NEW.service, NEW.name, NEW.value)"
    " ON CONFLICT(service, name) DO UPDATE"
    " SET value = counter_totals.value + excluded.value;"
    " RETURN NULL; END $$",
    "CREATE TRIGGER counters_total_ins AFTER INSERT ON counters"
    " FOR EACH ROW EXECUTE FUNCTION counters_total_ins()",
    "CREATE FUNCTION counters_total_upd() RETURNS trigger LANGUAGE plpgsql"
    " AS $$ BEGIN"
    " UPDATE counter_totals SET value = value + NEW.value - OLD.value"
    " WHERE service = NEW.service AND name = NEW.name;"
    " RETURN NULL; END $$",
    "CREATE TRIGGER counters_total_upd AFTER UPDATE OF value ON counters"
    " FOR EACH ROW EXECUTE FUNCTION counters_total_upd()",
    "CREATE FUNCTION counters_total_del() RETURNS trigger LANGUAGE plpgsql"
    " AS $$ BEGIN"
    " UPDATE counter_totals SET value = value - OLD.value"
    " WHERE service = OLD.service AND name = OLD.name;"
    " RETURN NULL; END $$",
    "CREATE TRIGGER counters_total_del AFTER DELETE ON counters"
    " FOR EACH ROW EXECUTE FUNCTION counters_total_del()",
    "CREATE TABLE state_totals("
    " service TEXT NOT NULL,"
    " target TEXT NOT NULL,"
    " state TEXT NOT NULL,"
    " n BIGINT NOT NULL,"
    " PRIMARY KEY(service, target, state))",
    "CREATE TABLE records_archive("
    " id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " record_id BIGINT NOT NULL,"
    " ref TEXT NOT NULL,"
    " delivery_id TEXT,"
    " service TEXT NOT NULL,"
    " target TEXT NOT NULL,"
    " client TEXT,"
    " channel TEXT NOT NULL,"
    " fe_ref TEXT,"
    " idem_key TEXT,"
    " state TEXT NOT NULL,"
    " attempts BIGINT NOT NULL,"
    " batch_id BIGINT,"
    " receipt TEXT,"
    " receipt_data TEXT,"
    " last_error TEXT,"
    " closed_reason TEXT,"
    " received_at BIGINT NOT NULL,"
    " updated_at BIGINT NOT NULL,"
    " confirmed_at BIGINT NOT NULL,"
    " archived_at BIGINT NOT NULL)",
    "CREATE INDEX records_final ON records(updated_at)"
    " WHERE state IN " FINAL_IN,
    "CREATE VIEW records_archive_full AS SELECT record_id AS id, ref,"
    " service, target, client, fe_ref, idem_key, received_at, updated_at,"
    " state, attempts, 0::BIGINT AS next_attempt_at,"
    " NULL::TEXT AS lease_owner, 0::BIGINT AS lease_until, last_error,"
    " batch_id, receipt, 0::BIGINT AS in_doubt, closed_reason,"
    " 1::BIGINT AS payload_purged, 0::BIGINT AS payload_enc,"
    " NULL::BYTEA AS payload, NULL::BYTEA AS original,"
    " NULL::BYTEA AS record_json, delivery_id, channel, confirmed_at,"
    " 0::BIGINT AS missing_at, 0::BIGINT AS marker_gen, receipt_data"
    " FROM records_archive",
    "CREATE INDEX records_archive_received ON records_archive(received_at)",
    "CREATE INDEX records_archive_ref ON records_archive(ref)",
    "CREATE INDEX records_archive_idem ON records_archive(service, target,"
    " idem_key) WHERE idem_key IS NOT NULL",
    /* the spool's identity (schema v4's), from the server's CSPRNG */
    "INSERT INTO meta(name, value) VALUES('spool_id', gen_random_uuid()::TEXT)",
    NULL,
};

/* read_version - meta's schema_version; 0 when the database has no
 * ledger yet */
static int read_version(struct sql_conn *c, int *ver, struct errs *e)
{
    *ver = 0;
    struct sql_stmt *st = sql_prepare(c, "SELECT to_regclass('meta') "
                                      "IS NOT NULL");
    if (!st || sql_step(st) != SQL_STEP_ROW) {
        errs_add(e, "ledger", "reading schema version: %s", sql_errmsg(c));
        return -1;
    }
    bool have = sql_col_int64(st, 0) != 0;
    sql_reset(st);
    if (!have)
        return 0;
    st = sql_prepare(c, "SELECT value FROM meta WHERE name = "
                     "'schema_version'");
    enum sql_step r = st ? sql_step(st) : SQL_STEP_ERROR;
    if (r == SQL_STEP_ERROR) {
        errs_add(e, "ledger", "reading schema version: %s", sql_errmsg(c));
        return -1;
    }
    const char *v = r == SQL_STEP_ROW ? sql_col_text(st, 0) : NULL;
    char *end = NULL;
    long n = v ? strtol(v, &end, 10) : 0;
    if (!v || end == v || *end || n < 1 || n > 100000) {
        sql_reset(st);
        errs_add(e, "ledger", "the PostgreSQL database has a meta table but "
                 "no ferry schema version: not a ferry ledger");
        return -1;
    }
    sql_reset(st);
    *ver = (int)n;
    return 0;
}

int spool_pg_schema(struct sql_conn *c, struct errs *e)
{
    int ver = 0;
    if (sql_backend(c) != SQL_POSTGRESQL) {
        errs_add(e, "ledger", "not a PostgreSQL ledger");
        return -1;
    }
    if (sql_begin(c) != 0 || sql_lock_xact(c, "schema") != 0) {
        errs_add(e, "ledger", "schema: %s", sql_errmsg(c));
        sql_rollback(c);
        return -1;
    }
    if (read_version(c, &ver, e) != 0)
        goto fail;
    if (ver > SPOOL_PG_SCHEMA_VERSION) {
        errs_add(e, "ledger", "ledger schema version %d is newer than this "
                 "ferry understands (%d)", ver, SPOOL_PG_SCHEMA_VERSION);
        goto fail;
    }
    if (ver == SPOOL_PG_SCHEMA_VERSION) {
        sql_rollback(c);
        return 0;
    }
    if (ver != 0) {
        errs_add(e, "ledger", "ledger schema version %d: no PostgreSQL "
                 "migration to %d yet", ver, SPOOL_PG_SCHEMA_VERSION);
        goto fail;
    }
    for (const char *const *q = pg_current; *q; q++) {
        if (sql_exec(c, *q) != 0) {
            errs_add(e, "ledger", "creating the schema: %s (in: %.60s)",
                     sql_errmsg(c), *q);
            goto fail;
        }
    }
    char sql[96];
    snprintf(sql, sizeof sql, "INSERT INTO meta(name, value) "
             "VALUES('schema_version', '%d')", SPOOL_PG_SCHEMA_VERSION);
    if (sql_exec(c, sql) != 0 || sql_commit(c) != 0) {
        errs_add(e, "ledger", "creating the schema: %s", sql_errmsg(c));
        goto fail;
    }
    return 0;
fail:
    sql_rollback(c);
    return -1;
}
