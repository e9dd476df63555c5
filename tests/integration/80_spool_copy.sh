#!/bin/bash
# 80_spool_copy - `ferry spool copy` moves a ledger from SQLite into a real
# PostgreSQL 15 and back, and nothing is lost or changed on the way.
#
# A spool is filled through ferry's own commands (submit, ODBC delivery
# with a dead letter, a night batch, the mainframe's acknowledgements
# reconciled, an edit, retry, hold, discard, retention into the archive,
# then 1,200 more claims and a second batch, so tables run to several
# pages).  It is copied to PostgreSQL: every table's rows counted with
# psql against sqlite3, ids, payload bytes and the audit chain compared,
# the identity sequences past the highest id, the spool identity kept,
# the source's ledger.db not changed by a byte, and ferry's own `audit
# verify` and `audit` on the PostgreSQL ledger answering as on SQLite.  Copied back into a new
# folder: the whole ledger (`sqlite3 .dump`) is the original's, and `ferry
# queue`, `show`, `audit`, `audit verify`, `batches`, `spool verify` answer
# as they did; the copy goes on working (a new record, an audited hold).
# Refused: a destination that holds a ledger (both ways), a connection
# file others can read (its password never printed), a destination at
# another schema version (naming both), a source whose audit chain was
# tampered with, a table or column one engine has and the other not.  After a failure the destination holds no row: killed
# mid-copy and just before the commit (crash points), and PostgreSQL
# refusing a value (bytes that are not UTF-8); a second copy into it then
# works.
set -eu
. "$(dirname "$0")/lib.sh"
. "$FERRY_ROOT/tests/peers/pg.sh"
[ -x "$PG_BIN/postgres" ] || { echo "skip: PostgreSQL 15 not installed (make deps)"; exit 77; }
command -v jq >/dev/null || { echo "skip: jq not installed"; exit 77; }
trap 'pg_cleanup; rm -rf "$T"' EXIT
chmod 0755 "$T"
pg_start "$T" spoolcopy || { cat "$PG_DIR/log" 2>/dev/null; fail postgres "did not start"; }
PSQL() { local db=$1; shift; psql -X -q -At -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d "$db" "$@"; }
# newdb NAME - an empty database and its 0600 connection file $T/NAME.conn
# (with a password trust never asks for: it must never be printed)
newdb() {
    PSQL postgres -c "CREATE DATABASE $1"
    printf 'host=%s port=%s user=%s dbname=%s password=Hunter2pw\n' \
        "$PGHOST" "$PGPORT" "$PGUSER" "$1" > "$T/$1.conn"
    chmod 600 "$T/$1.conn"
}

# ---- a spool filled by ferry's own commands -----------------------------------
example_config "$T/ex"
CFG=$T/ex/ferry.xml
SP=$T/spool
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$T/ex/secrets/audit.key"
chmod 600 "$T/ex/secrets/audit.key"
sed -i "s|<spool dir=\"[^\"]*\"/>|<spool dir=\"$SP\" audit-key-file=\"secrets/audit.key\"/>|" "$CFG"
F() { "$FERRY_BIN" "$@" --config "$CFG"; }
DROP=$T/var/mainframe-drop ACKS=$T/var/mainframe-acks
expect_exit 65 F submit refund-claim "$T/ex/submissions.ndjson"
expect_exit 65 F submit change-of-address "$T/ex/address-changes.ndjson"
expect_exit 65 F deliver
expect_exit 0 F batch claims-nightly --date 2026-11-27
bash "$T/ex/mainframe-ack.sh" "$DROP/CLM.D261127.S001" "$ACKS/CLMACK.D261127.S001" > /dev/null
set +e; F reconcile claims-mainframe > "$T/rec.out" 2>&1; set -e
grep -q "confirmed=6 rejected=2" "$T/rec.out" || fail fill "reconcile: $(cat "$T/rec.out")"
F queue --state rejected --json > "$T/rej.json"
R1=$(jq -r '.records[0].reference' "$T/rej.json")
R2=$(jq -r '.records[1].reference' "$T/rej.json")
BAD=$(F queue --state failed --json | jq -r '.records[0].reference')
expect_exit 0 F edit "$R1" --set 'answers[question_id=2].answer_text=AB123456C' \
    --reason "the citizen corrected the NI number" --actor alice
expect_exit 0 F retry "$BAD" --actor bob --reason "the DB team fixed it"
expect_exit 0 F hold "$BAD" --actor bob --reason "the citizen asked to wait"
expect_exit 0 F discard "$R2" --actor bob --reason "withdrawn by the citizen"
expect_exit 0 F purge --older-than 0s --actor ops
# after retention, more claims (records past a page of 1,000, payloads
# past pages of 100) and a second night
python3 - "$T/ex/submissions.ndjson" "$T/more.ndjson" <<'EOF'
import json, sys
base = json.loads(open(sys.argv[1]).readline())
with open(sys.argv[2], "w") as f:
    for i in range(1200):
        base["submission_reference"] = "HCR%07dX" % i
        f.write(json.dumps(base, ensure_ascii=False) + "\n")
EOF
expect_exit 0 F submit refund-claim "$T/more.ndjson" --quiet
expect_exit 0 F batch claims-nightly --date 2026-11-28
ARCH=$(sqlite3 "$SP/ledger.db" "SELECT ref FROM records_archive LIMIT 1")
[ -n "$ARCH" ] || fail fill "retention archived nothing"
for t in records attempts batches record_data record_history \
         audit ack_files counters search records_archive state_totals job_runs; do
    [ "$(sqlite3 "$SP/ledger.db" "SELECT count(*) FROM $t")" -gt 0 ] || fail fill "table $t is empty"
done
ok "a spool filled by submit, deliver, batch, reconcile, edit, retry, hold, discard, purge and 1,200 more claims"

# what ferry answers about it, to compare after the round trip
answers() {     # answers DIR OUT
    local d=$1 o=$2
    "$FERRY_BIN" queue --config "$CFG" --spool "$d" --json > "$o.queue"
    "$FERRY_BIN" queue --config "$CFG" --spool "$d" --counts > "$o.counts"
    for r in "$R1" "$R2" "$BAD" "$ARCH"; do
        "$FERRY_BIN" show --config "$CFG" --spool "$d" --json "$r"
    done > "$o.show"
    "$FERRY_BIN" audit --config "$CFG" --spool "$d" --json > "$o.audit"
    "$FERRY_BIN" audit verify --config "$CFG" --spool "$d" 2>&1 | sed "s|$d|SPOOL|g" > "$o.verify"
    "$FERRY_BIN" batches --config "$CFG" --spool "$d" --json > "$o.batches"
    "$FERRY_BIN" spool verify --config "$CFG" --spool "$d" --json | jq 'del(.spool)' > "$o.sverify"
    sqlite3 "$d/ledger.db" .dump | sort > "$o.dump"
}
answers "$SP" "$T/before"
grep -q "intact" "$T/before.verify" || fail before "audit verify: $(cat "$T/before.verify")"
sha_before=$(sha256sum "$SP/ledger.db" | cut -d' ' -f1)

# ---- into PostgreSQL -------------------------------------------------------------
newdb pga
expect_exit 0 "$FERRY_BIN" spool copy --config "$CFG" --to "$T/pga.conn" --json
cp "$T/out" "$T/copy.json"
[ "$(sha256sum "$SP/ledger.db" | cut -d' ' -f1)" = "$sha_before" ] || fail readonly "ledger.db changed"
sqlite3 "$SP/ledger.db" .dump | sort | cmp -s - "$T/before.dump" || fail readonly "the source's rows changed"
if grep -q Hunter2pw "$T/out" "$T/err"; then fail password "the password was printed"; fi
jq -e '.audit_key_given and .audit_head_file_checked and .audit_entries > 4' "$T/copy.json" > /dev/null ||
    fail copy "$(cat "$T/copy.json")"
ntables=0
for t in $(sqlite3 "$SP/ledger.db" "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"); do
    lite=$(sqlite3 "$SP/ledger.db" "SELECT count(*) FROM $t")
    pg=$(PSQL pga -c "SELECT count(*) FROM $t")
    [ "$t" = meta ] && pg=$((pg - 1))          # PostgreSQL's schema_version
    said=$(jq ".tables.$t" "$T/copy.json")
    [ "$lite" = "$pg" ] && [ "$pg" = "$said" ] || fail counts "$t: sqlite $lite, psql $pg, ferry said $said"
    ntables=$((ntables + 1))
done
[ "$(jq '.tables | length' "$T/copy.json")" = "$ntables" ] || fail counts "ferry copied $(jq '.tables | length' "$T/copy.json") tables of $ntables"
ok "into PostgreSQL: every one of $ntables tables counted with psql against sqlite3 ($(jq .rows "$T/copy.json") rows); ledger.db unchanged; no password printed"

q_lite() { sqlite3 -separator '|' "$SP/ledger.db" "$1"; }
[ "$(q_lite "SELECT id, ref, target, state, delivery_id, attempts FROM records ORDER BY id")" = \
  "$(PSQL pga -c "SELECT id, ref, target, state, delivery_id, attempts FROM records ORDER BY id")" ] ||
    fail ids "records differ"
[ "$(q_lite "SELECT id, lower(hex(payload)), lower(hex(original)), lower(hex(record_json)), lower(hex(encoded)) FROM record_data ORDER BY id")" = \
  "$(PSQL pga -c "SELECT id, encode(payload, 'hex'), encode(original, 'hex'), encode(record_json, 'hex'), encode(encoded, 'hex') FROM record_data ORDER BY id")" ] ||
    fail blobs "payload bytes differ"
[ "$(q_lite "SELECT lower(hex(hash)), record_id FROM search ORDER BY 1, 2")" = \
  "$(PSQL pga -c "SELECT encode(hash, 'hex'), record_id FROM search ORDER BY 1, 2")" ] || fail blobs "search hashes differ"
[ "$(q_lite "SELECT id, prev_hash, hash, keyed FROM audit ORDER BY id")" = \
  "$(PSQL pga -c "SELECT id, prev_hash, hash, keyed FROM audit ORDER BY id")" ] || fail chain "audit rows differ"
[ "$(q_lite "SELECT value FROM meta WHERE name = 'spool_id'")" = "$(PSQL pga -c "SELECT value FROM meta WHERE name = 'spool_id'")" ] &&
  [ "$(jq -r .spool_id "$T/copy.json")" = "$(q_lite "SELECT value FROM meta WHERE name = 'spool_id'")" ] || fail identity "spool_id differs"
[ "$(jq -r .audit_head "$T/copy.json" | tr : ' ')" = "$(cut -d' ' -f1-2 "$SP/audit.head")" ] || fail chain "head differs from audit.head"
for t in records attempts batches job_runs record_history records_archive; do
    next=$(PSQL pga -c "SELECT nextval(pg_get_serial_sequence('$t', 'id'))")
    max=$(q_lite "SELECT max(id) FROM $t")
    [ "$next" = $((max + 1)) ] || fail identity "$t: PostgreSQL would number the next row $next, the highest is $max"
done
ok "ids, payload and search bytes, the audit chain (keyed, head = audit.head) and the spool identity are the source's; identity sequences go on past the highest id"

# ferry itself on the PostgreSQL ledger (the same folder, backend="postgresql")
sed "s|<spool dir=\"$SP\"|<spool dir=\"$SP\" backend=\"postgresql\" connection-file=\"$T/pga.conn\"|" "$CFG" > "$T/ex/pg.xml"
grep -q 'backend="postgresql"' "$T/ex/pg.xml" || fail pgcfg "$(grep '<spool' "$T/ex/pg.xml")"
"$FERRY_BIN" audit verify --config "$T/ex/pg.xml" 2>&1 | sed "s|$SP|SPOOL|g" > "$T/pg.verify"
cmp -s "$T/before.verify" "$T/pg.verify" || fail pg-verify "$(diff "$T/before.verify" "$T/pg.verify")"
"$FERRY_BIN" audit --config "$T/ex/pg.xml" --json > "$T/pg.audit"
cmp -s "$T/before.audit" "$T/pg.audit" || fail pg-audit "$(diff "$T/before.audit" "$T/pg.audit" | head)"
ok "ferry on the PostgreSQL ledger: audit verify (keyed chain, head file) and audit answer as on SQLite"

# ---- refused ------------------------------------------------------------------
before_n=$(PSQL pga -c "SELECT count(*) FROM records")
expect_exit 73 "$FERRY_BIN" spool copy --config "$CFG" --to "$T/pga.conn"
grep -q "holds a ferry ledger already" "$T/err" || fail refuse "$(cat "$T/err")"
[ "$(PSQL pga -c "SELECT count(*) FROM records")" = "$before_n" ] || fail refuse "the destination changed"
chmod 644 "$T/pga.conn"
expect_exit 78 "$FERRY_BIN" spool copy --config "$CFG" --to "$T/pga.conn"
grep -q "readable by group or others" "$T/err" || fail mode "$(cat "$T/err")"
if grep -q Hunter2pw "$T/out" "$T/err"; then fail password "printed"; fi
chmod 600 "$T/pga.conn"
newdb pgv
PSQL pgv -c "CREATE TABLE meta(name TEXT PRIMARY KEY, value TEXT NOT NULL)"
PSQL pgv -c "INSERT INTO meta VALUES('schema_version', '15')"
expect_exit 73 "$FERRY_BIN" spool copy --config "$CFG" --to "$T/pgv.conn"
grep -q "the source (SQLite) is at ledger schema version 16, the destination (PostgreSQL) at 15" "$T/err" ||
    fail version "$(cat "$T/err")"
cp -a "$SP" "$T/tampered"
sqlite3 "$T/tampered/ledger.db" "UPDATE audit SET reason = 'nothing to see' WHERE id = 2"
newdb pgt
expect_exit 65 "$FERRY_BIN" spool copy --config "$CFG" --spool "$T/tampered" --to "$T/pgt.conn"
grep -q "audit 2: entry was changed" "$T/err" && grep -q "the source's audit chain does not verify: nothing was copied" "$T/err" ||
    fail tamper "$(cat "$T/err")"
[ "$(PSQL pgt -c "SELECT count(*) FROM audit")" = 0 ] || fail tamper "rows were copied"
# the table list is SQLite's catalogue checked against PostgreSQL's: a
# table or a column on one side only stops the copy, named (70)
newdb pgx
PSQL pgx -c "CREATE TABLE extra_notes(id BIGINT PRIMARY KEY)"
expect_exit 70 "$FERRY_BIN" spool copy --config "$CFG" --to "$T/pgx.conn"
grep -q "extra_notes: a table PostgreSQL's ledger has and SQLite's has not" "$T/err" || fail drift "$(cat "$T/err")"
PSQL pgx -c "DROP TABLE extra_notes" -c "ALTER TABLE attempts ADD COLUMN node TEXT"
expect_exit 70 "$FERRY_BIN" spool copy --config "$CFG" --to "$T/pgx.conn"
grep -q "attempts: PostgreSQL's column 8 is node" "$T/err" || fail drift "$(cat "$T/err")"
[ "$(PSQL pgx -c "SELECT count(*) FROM records")" = 0 ] || fail drift "rows were copied"
expect_exit 64 "$FERRY_BIN" spool copy --spool "$SP"
expect_exit 64 "$FERRY_BIN" spool copy --spool "$SP" --to "$T/pga.conn" --from "$T/pga.conn" "$T/x"
expect_exit 64 "$FERRY_BIN" spool copy --spool "$SP" --from "$T/pga.conn"
ok "refused: a destination with a ledger (unchanged, 73), a connection file others can read (78, no password), another schema version naming both (73), a tampered source chain (65, nothing copied), a table or column on one engine only (70, named), usage (64)"

# ---- a failure leaves the destination without a row --------------------------
no_rows() {     # no_rows DB - every table empty but an empty ledger's meta
    local n
    n=$(PSQL "$1" -c "SELECT count(*) FROM meta WHERE name NOT IN ('spool_id', 'schema_version')")
    for t in $(PSQL "$1" -c "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'meta'"); do
        n=$((n + $(PSQL "$1" -c "SELECT count(*) FROM $t")))
    done
    [ "$n" = 0 ]
}
newdb pgk
for point in spool-copy-page@3 spool-copy-before-commit; do
    set +e
    FERRY_CRASH_AT=$point "$FERRY_BIN" spool copy --config "$CFG" --to "$T/pgk.conn" > "$T/out" 2>&1; rc=$?
    set -e
    [ $rc = 137 ] && grep -q "crash point reached" "$T/out" || fail crash "$point: exit $rc $(cat "$T/out")"
    no_rows pgk || fail crash "$point: rows were left behind"
done
cp -a "$SP" "$T/badtext"
sqlite3 "$T/badtext/ledger.db" "UPDATE records SET last_error = CAST(X'41FF42' AS TEXT) WHERE id = (SELECT max(id) FROM records)"
newdb pgu
expect_exit 74 "$FERRY_BIN" spool copy --config "$CFG" --spool "$T/badtext" --to "$T/pgu.conn"
grep -q "writing records: invalid byte sequence" "$T/err" || fail badtext "$(cat "$T/err")"
no_rows pgu || fail badtext "rows were left behind"
expect_exit 0 "$FERRY_BIN" spool copy --config "$CFG" --to "$T/pgk.conn"
[ "$(PSQL pgk -c "SELECT count(*) FROM records")" = "$(q_lite "SELECT count(*) FROM records")" ] || fail crash "the second copy"
ok "killed mid-copy or before the commit, or PostgreSQL refusing a value (74): no row left; a second copy into the empty ledger works"

# ---- and back into SQLite ------------------------------------------------------
BACK=$T/back
expect_exit 0 "$FERRY_BIN" spool copy --config "$CFG" --spool "$SP" --from "$T/pga.conn" "$BACK" --json
jq -e '.audit_head_file_checked and .audit_key_given' "$T/out" > /dev/null || fail back "$(cat "$T/out")"
[ "$(jq .rows "$T/out")" = "$(jq .rows "$T/copy.json")" ] || fail back "rows $(jq .rows "$T/out")"
cmp -s "$BACK/audit.head" "$SP/audit.head" || fail back "audit.head $(cat "$BACK/audit.head")"
answers "$BACK" "$T/after"
for a in dump queue counts show audit verify batches sverify; do
    cmp -s "$T/before.$a" "$T/after.$a" || fail back "$a differs: $(diff "$T/before.$a" "$T/after.$a" | head -20)"
done
ok "back into a new folder: the whole ledger (sqlite3 .dump) is the original's; queue, show (an edited, a discarded, a held and an archived record), audit, audit verify, batches and spool verify answer the same"

expect_exit 73 "$FERRY_BIN" spool copy --from "$T/pga.conn" "$BACK"
grep -q "holds a ferry ledger already" "$T/err" || fail back-refuse "$(cat "$T/err")"
set +e
FERRY_CRASH_AT=spool-copy-page@2 "$FERRY_BIN" spool copy --from "$T/pga.conn" "$T/back2" > "$T/out" 2>&1; rc=$?
set -e
[ $rc = 137 ] || fail back-crash "exit $rc $(cat "$T/out")"
[ "$(sqlite3 "$T/back2/ledger.db" "SELECT count(*) FROM records")" = 0 ] && [ ! -e "$T/back2/audit.head" ] ||
    fail back-crash "rows were left behind"
expect_exit 0 "$FERRY_BIN" spool copy --from "$T/pga.conn" "$T/back2"
sqlite3 "$T/back2/ledger.db" .dump | sort | cmp -s - "$T/before.dump" || fail back-crash "the second copy differs"
ok "back: a folder with a ledger refused (73); killed mid-copy, no row left, and the second copy is the original"

maxid=$(sqlite3 "$BACK/ledger.db" "SELECT max(id) FROM records")
sed 's/"HCR001001X"/"HCR009999X"/' "$T/ex/submissions.ndjson" | head -1 > "$T/new.ndjson"
expect_exit 0 F submit --spool "$BACK" refund-claim "$T/new.ndjson"
NEW=$(cut -f1 "$T/out")
[ "$(sqlite3 "$BACK/ledger.db" "SELECT id FROM records WHERE ref = '$NEW'")" = $((maxid + 1)) ] || fail after "new id"
! grep -qx "$NEW" <(jq -r '.records[].reference' "$T/before.queue") || fail after "reference $NEW reissued"
expect_exit 0 F hold --spool "$BACK" --actor carol --reason "checking" "$NEW"
expect_exit 0 F audit verify --spool "$BACK"
grep -q "intact" "$T/out" || fail after "$(cat "$T/out")"
ok "the copy goes on: a new record gets the next id and a new reference; a hold is audited and the keyed chain still verifies"
echo "$CASES passed, 0 failed"
