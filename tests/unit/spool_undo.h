/* spool_undo.h - the schema-15 and -16 steps undone, for the downgrade tests of
 * check_spool.c and check_search.c: records rebuilt as schema 14 had it
 * (ref UNIQUE, one row per reference) with every index and view of v14.
 * No '%' in it, so it can stand in a format string.  Run with foreign
 * keys off (a raw connection has them off). */
#ifndef FERRY_TESTS_SPOOL_UNDO_H
#define FERRY_TESTS_SPOOL_UNDO_H

#define UNDO_V15_COLS "id, ref, service, target, client, fe_ref, idem_key," \
    " received_at, payload_enc, state, attempts, next_attempt_at," \
    " lease_owner, lease_until, claimed_at, last_error, batch_id, receipt," \
    " in_doubt, updated_at, closed_reason, payload_purged, delivery_id," \
    " channel, confirmed_at, ack_file, ack_record, ack_at, missing_at," \
    " marker_gen, receipt_data"

#define UNDO_V15 \
    "DROP VIEW records_full;" \
    "CREATE TABLE records_v14( id INTEGER PRIMARY KEY, ref TEXT NOT NULL" \
    " UNIQUE, service TEXT NOT NULL, target TEXT NOT NULL DEFAULT ''," \
    " client TEXT, fe_ref TEXT, idem_key TEXT, received_at INTEGER NOT NULL," \
    " payload_enc INTEGER NOT NULL DEFAULT 0, state TEXT NOT NULL," \
    " attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL" \
    " DEFAULT 0, lease_owner TEXT, lease_until INTEGER NOT NULL DEFAULT 0," \
    " claimed_at INTEGER NOT NULL DEFAULT 0, last_error TEXT, batch_id" \
    " INTEGER REFERENCES batches(id), receipt TEXT, in_doubt INTEGER NOT" \
    " NULL DEFAULT 0, updated_at INTEGER NOT NULL, closed_reason TEXT," \
    " payload_purged INTEGER NOT NULL DEFAULT 0, delivery_id TEXT, channel" \
    " TEXT NOT NULL DEFAULT 'unknown', confirmed_at INTEGER NOT NULL DEFAULT" \
    " 0, ack_file TEXT, ack_record INTEGER, ack_at INTEGER, missing_at" \
    " INTEGER NOT NULL DEFAULT 0, marker_gen INTEGER NOT NULL DEFAULT 0," \
    " receipt_data TEXT, UNIQUE(service, target, idem_key));" \
    "INSERT INTO records_v14(" UNDO_V15_COLS ") SELECT " UNDO_V15_COLS \
    " FROM records;" \
    "DROP TABLE records;" \
    "ALTER TABLE records_v14 RENAME TO records;" \
    "CREATE INDEX records_feref ON records(service, fe_ref);" \
    "CREATE INDEX records_due ON records(target, state, next_attempt_at)" \
    " WHERE state = 'queued' OR state = 'deferred'" \
    " OR state = 'delivering' OR state = 'indoubt';" \
    "CREATE INDEX records_batch ON records(batch_id) WHERE batch_id IS NOT" \
    " NULL;" \
    "CREATE UNIQUE INDEX records_delivery_id ON records(delivery_id);" \
    "CREATE INDEX records_work ON records(state, service, target)" \
    " WHERE state NOT IN ('confirmed','discarded');" \
    "CREATE INDEX records_received ON records(received_at);" \
    "CREATE INDEX records_final ON records(updated_at)" \
    " WHERE state IN ('confirmed','discarded');" \
    "CREATE VIEW records_full AS SELECT r.*, d.payload AS payload," \
    " d.original AS original, d.record_json AS record_json" \
    " FROM records r LEFT JOIN record_data d ON d.id = r.id;"

/* UNDO_V16 - the schema-16 addition (stored encodings) dropped */
#define UNDO_V16 "ALTER TABLE record_data DROP COLUMN encoded;"

#endif
