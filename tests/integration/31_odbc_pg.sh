#!/bin/bash
# 31_odbc_pg.sh - the ODBC adapter against a real PostgreSQL 15 through
# psqlODBC: batch delivery into a legacy-style schema (CHAR, NUMERIC(9,2),
# DATE, TIMESTAMP, CHECK, UNIQUE), poison record, duplicate on retry,
# marker exactly-once, database stopped mid-flow and restarted, crash
# between execute and commit / after commit.
set -u
: "${FERRY_ROOT:?}" "${FERRY_BUILD:?}" "${TMPDIR:=/tmp}"
DRIVE=$FERRY_BUILD/tests/helpers/odbc_drive
. "$FERRY_ROOT/tests/peers/pg.sh"
[ -x "$DRIVE" ] || { echo "odbc_drive not built"; exit 1; }
pg_have || { echo "skip: $PG_MISSING"; exit 77; }

W=$(mktemp -d "$TMPDIR/odbcpg.XXXXXX")
chmod 0755 "$W"
cleanup() { pg_cleanup; rm -rf "$W"; }
trap cleanup EXIT
pg_start "$W" odbcpg || { cat "$PG_DIR/log" 2>/dev/null; echo "postgres did not start"; exit 1; }

export FERRY_ODBC_CONN="Driver=$PG_PSQLODBC;Server=127.0.0.1;Port=$PGPORT;Database=postgres;UID=ferry"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
# psqlODBC 13.02 leaks ~340 bytes when a statement that was described with
# SQLDescribeParam is freed unexecuted: the driver's, not ours
echo "leak:psqlodbcw.so" > "$W/lsan.supp"
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$W/lsan.supp"
export PGOPTIONS="-c client_min_messages=warning"
psql_q() { psql -X -q -A -t -h 127.0.0.1 -p "$PGPORT" -U ferry postgres -c "$1"; }

fails=0
ok()  { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails+1)); }
check() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: got [$2] want [$3]"; fi; }

schema() {
    psql_q "DROP TABLE IF EXISTS claims, ferry_marker;
      CREATE TABLE claims (ref CHAR(12) NOT NULL PRIMARY KEY,
        name CHAR(10) NOT NULL, amount NUMERIC(9,2) NOT NULL CHECK (amount >= 0),
        born DATE, at TIMESTAMP, qty INTEGER, note VARCHAR(20),
        UNIQUE (name, born));"
}
MAP=(-m table=claims -a to=ref,from=ref -a to=name,from=name
     -a to=amount,from=amount -a to=born,from=born -a to=at,from=at
     -a to=qty,from=qty -a to=note,from=note)
CONN=(-o connection-file=env:FERRY_ODBC_CONN)
outcomes() { awk '{print $2, $3}' "$1" | tr '\n' ' ' | sed 's/ $//'; }

# --- 1. a batch with one poison record -----------------------------------
schema
cat > "$W/r1" <<'EOF'
R1|ref=s:AB0001|name=s:Zoë|amount=d2:1234567.89|born=date:1980-02-29|at=dt:2026-07-01T12:34:56.789Z|qty=i:3|note=null
R2|ref=s:AB0002|name=s:Bob|amount=d2:-1.00|born=date:1981-01-02|at=dt:2026-01-01T00:00:00Z|qty=i:4|note=s:x
R3|ref=s:AB0003|name=s:Carol|amount=d2:0.05|born=date:1982-01-02|at=dt:2026-01-01T00:00:00Z|qty=i:5|note=s:y
R4|ref=s:AB0004|name=s:Dan|amount=d3:7.125|born=date:1983-01-02|qty=i:6
R5|ref=s:AB0005|name=s:Eve Toolongname|amount=d2:1.00|born=date:1984-01-02|qty=i:7
EOF
"$DRIVE" "${CONN[@]}" -o batch-size=100 "${MAP[@]}" -r "$W/r1" > "$W/o1" 2>"$W/e1"
check "poison record fails alone, rest delivered" "$(outcomes "$W/o1")" \
      "R1 ok R2 fail R3 ok R4 fail R5 fail"
grep -q "^call1 R2 fail .*SQLSTATE 23514" "$W/o1" && ok "CHECK violation reported with SQLSTATE 23514" \
    || bad "R2 message: $(grep R2 "$W/o1")"
grep -q "^call1 R4 fail amount.*never rounded" "$W/o1" && ok "3 decimal places into NUMERIC(9,2) refused, not rounded" \
    || bad "R4 message: $(grep R4 "$W/o1")"
grep -q "^call1 R5 fail name.*longer than the column" "$W/o1" && ok "too long for CHAR(10) refused" \
    || bad "R5 message: $(grep R5 "$W/o1")"
check "exact NUMERIC" "$(psql_q "SELECT amount::text FROM claims WHERE ref='AB0001'")" "1234567.89"
check "small NUMERIC" "$(psql_q "SELECT amount::text FROM claims WHERE ref='AB0003'")" "0.05"
check "CHAR padded to 10 characters" "$(psql_q "SELECT octet_length(name), char_length(name::varchar) FROM claims WHERE ref='AB0001'")" "11|3"
check "UTF-8 text" "$(psql_q "SELECT rtrim(name) FROM claims WHERE ref='AB0001'")" "Zoë"
check "DATE" "$(psql_q "SELECT born::text FROM claims WHERE ref='AB0001'")" "1980-02-29"
check "TIMESTAMP in UTC with ms" "$(psql_q "SELECT at::text FROM claims WHERE ref='AB0001'")" "2026-07-01 12:34:56.789"
check "absent value is NULL" "$(psql_q "SELECT note IS NULL FROM claims WHERE ref='AB0001'")" "t"
check "row count" "$(psql_q "SELECT count(*) FROM claims")" "2"

# --- 2. duplicate key on retry -------------------------------------------
head -1 "$W/r1" > "$W/r2"
"$DRIVE" "${CONN[@]}" "${MAP[@]}" -m key-columns=ref -r "$W/r2" --attempt 2 > "$W/o2" 2>>"$W/stderr"
grep -q "^call1 R1 ok already present (duplicate key on retry)" "$W/o2" \
    && ok "duplicate key on retry with matching row counts as delivered" || bad "dup: $(cat "$W/o2")"
sed 's/name=s:Zoë/name=s:Other/' "$W/r2" > "$W/r2b"
"$DRIVE" "${CONN[@]}" "${MAP[@]}" -m key-columns=ref -r "$W/r2b" --attempt 2 > "$W/o2b" 2>>"$W/stderr"
grep -q "^call1 R1 fail .*23505" "$W/o2b" && ok "duplicate key with a different row fails" || bad "dup-mismatch: $(cat "$W/o2b")"
"$DRIVE" "${CONN[@]}" "${MAP[@]}" -m key-columns=ref -r "$W/r2" > "$W/o2c" 2>>"$W/stderr"
grep -q "^call1 R1 fail .*23505" "$W/o2c" && ok "duplicate key on a first attempt fails" || bad "dup-first: $(cat "$W/o2c")"

# --- 3. marker exactly-once ----------------------------------------------
schema
MARK=(-o marker-table=ferry_marker -o create-marker=true)
seq 1 250 | awk '{printf "M%d|ref=s:M%07d|name=s:N%d|amount=d2:%d.%02d|born=date:1990-01-01|qty=i:%d\n",$1,$1,$1,$1,$1%100,$1}' > "$W/r3"
"$DRIVE" "${CONN[@]}" "${MARK[@]}" -o batch-size=100 "${MAP[@]}" -r "$W/r3" > "$W/o3" 2>>"$W/stderr"
check "marker: 250 delivered" "$(grep -c ' ok inserted' "$W/o3")" "250"
check "marker rows" "$(psql_q "SELECT count(*) FROM ferry_marker")" "250"
"$DRIVE" "${CONN[@]}" "${MARK[@]}" "${MAP[@]}" -r "$W/r3" --in-doubt > "$W/o3b" 2>>"$W/stderr"
check "in-doubt resend: marker says already delivered" "$(grep -c 'already delivered (marker present)' "$W/o3b")" "250"
check "no duplicate rows" "$(psql_q "SELECT count(*) FROM claims")" "250"
"$DRIVE" "${CONN[@]}" "${MARK[@]}" "${MAP[@]}" -r "$W/r1" --probe > "$W/o3c" 2>>"$W/stderr"
grep -q "^probe R1 fail not delivered" "$W/o3c" && ok "probe: absent ref is not delivered" || bad "probe: $(cat "$W/o3c")"
head -3 "$W/r3" > "$W/r3p"
"$DRIVE" "${CONN[@]}" "${MARK[@]}" "${MAP[@]}" -r "$W/r3p" --probe > "$W/o3d" 2>>"$W/stderr"
check "probe: delivered refs found" "$(grep -c 'ok already delivered (marker present)' "$W/o3d")" "3"

# --- 4. database stopped mid-flow, restarted ------------------------------
schema
seq 1 300 | awk '{printf "S%d|ref=s:S%07d|name=s:N%d|amount=d2:%d.00|born=date:1990-01-01|qty=i:%d\n",$1,$1,$1,$1,$1}' > "$W/r4"
mkdir -p "$W/sync"
"$DRIVE" "${CONN[@]}" "${MARK[@]}" -o batch-size=50 "${MAP[@]}" -r "$W/r4" \
    --calls 100 --sync "$W/sync" --redeliver > "$W/o4" 2>"$W/e4" &
DPID=$!
wait_file() { for _ in $(seq 1 600); do [ -e "$1" ] && return 0; sleep 0.05; done; return 1; }
wait_file "$W/sync/ready2" && touch "$W/sync/go2"
wait_file "$W/sync/ready3" && { pg_stop fast; touch "$W/sync/go3"; }
wait_file "$W/sync/ready-redeliver" && { pg_start; touch "$W/sync/go-redeliver"; }
wait "$DPID"
check "before the stop: 200 ok" "$(grep -c '^call[12] .* ok ' "$W/o4")" "200"
n_retry=$(grep -c '^call3 .* retry ' "$W/o4")
check "database down: all 100 RETRY" "$n_retry" "100"
grep -Eq '^call3 .*SQLSTATE (08...|57P0[123])' "$W/o4" && ok "lost connection reported as 08xxx/57P0x" || bad "call3: $(grep '^call3' "$W/o4" | head -2)"
check "after restart: reconnected and delivered" "$(grep -c '^again .* ok ' "$W/o4")" "100"
check "rows == records after restart" "$(psql_q "SELECT count(*) FROM claims")" "300"

# --- 5. crash between execute and commit / after commit (marker) ----------
if grep -q odbc-before-commit "$DRIVE" 2>/dev/null; then
    schema
    head -40 "$W/r4" > "$W/r5"
    { FERRY_CRASH_AT=odbc-before-commit "$DRIVE" "${CONN[@]}" "${MARK[@]}" -o batch-size=20 "${MAP[@]}" -r "$W/r5" >/dev/null 2>&1; } 2>/dev/null
    check "killed at odbc-before-commit" "$?" "137"
    check "crash before commit leaves nothing" "$(psql_q "SELECT count(*) FROM claims")" "0"
    "$DRIVE" "${CONN[@]}" "${MARK[@]}" "${MAP[@]}" -r "$W/r5" --in-doubt > "$W/o5" 2>>"$W/stderr"
    check "rerun after crash before commit: rows == records" "$(psql_q "SELECT count(*) FROM claims")" "40"
    schema
    { FERRY_CRASH_AT=odbc-after-commit "$DRIVE" "${CONN[@]}" "${MARK[@]}" -o batch-size=20 "${MAP[@]}" -r "$W/r5" >/dev/null 2>&1; } 2>/dev/null
    check "killed at odbc-after-commit" "$?" "137"
    check "crash after commit: first batch is in" "$(psql_q "SELECT count(*) FROM claims")" "20"
    "$DRIVE" "${CONN[@]}" "${MARK[@]}" -o batch-size=20 "${MAP[@]}" -r "$W/r5" --in-doubt > "$W/o5b" 2>>"$W/stderr"
    check "rerun after crash after commit: rows == records" "$(psql_q "SELECT count(*) FROM claims")" "40"
    check "rerun: 20 found by marker" "$(grep -c 'already delivered (marker present)' "$W/o5b")" "20"
else
    echo "skip crash points (not a FERRY_TEST_BUILD)"
fi

# --- 6. config errors ------------------------------------------------------
"$DRIVE" "${CONN[@]}" -m 'table=claims;drop' -a to=ref,from=ref -r "$W/r2" >/dev/null 2>"$W/e6"
[ $? = 2 ] && grep -q "not a valid identifier" "$W/e6" && ok "bad table name refused at init" || bad "ident: $(cat "$W/e6")"
"$DRIVE" "${CONN[@]}" -m table=nosuch -a to=ref,from=ref -r "$W/r2" > "$W/o6" 2>>"$W/stderr"
grep -Eq "^call1 R1 stop target unusable .*(42P01|42S02)" "$W/o6" && ok "undefined table stops the target (STOP, 42S02/42P01), no record failed" || bad "undef: $(cat "$W/o6")"
grep -q "Server=127.0.0.1;Port" "$W/o6" "$W/e6" && bad "connection string leaked" || ok "connection string never printed"

# --- 7. explicit statement with positional parameters, reconcile-query ----
schema
"$DRIVE" "${CONN[@]}" -m "statement=INSERT INTO claims (ref, name, amount, born) VALUES (?, ?, ?, ?)" \
    -m "reconcile-query=SELECT ref FROM claims WHERE ref = ?" -m "reconcile-params=ref" \
    -a to=1,from=ref -a to=2,from=name -a to=3,from=amount -a to=4,from=born \
    -r "$W/r2" > "$W/o7" 2>>"$W/stderr"
grep -q "^call1 R1 ok" "$W/o7" && ok "explicit statement" || bad "stmt: $(cat "$W/o7")"
check "explicit statement row" "$(psql_q "SELECT amount::text || ' ' || born::text FROM claims")" "1234567.89 1980-02-29"
"$DRIVE" "${CONN[@]}" -m "statement=INSERT INTO claims (ref) VALUES (?)" \
    -m "reconcile-query=SELECT ref FROM claims WHERE ref = ?" -m "reconcile-params=ref" \
    -a to=1,from=ref -r "$W/r2" --probe > "$W/o7b" 2>>"$W/stderr"
grep -q "^probe R1 ok already delivered (reconcile-query present)" "$W/o7b" && ok "probe by reconcile-query" || bad "recq: $(cat "$W/o7b")"

# --- 8. markers are keyed by the delivery identity, not the reference -----
# two spools number their records alike: spool b's records must go in
# although spool a's markers for the same references are there
schema
head -5 "$W/r3" > "$W/r8"
"$DRIVE" "${CONN[@]}" "${MARK[@]}" "${MAP[@]}" -r "$W/r8" --spool a > "$W/o8a" 2>>"$W/stderr"
check "spool a: 5 inserted" "$(grep -c ' ok inserted' "$W/o8a")" "5"
psql_q "DELETE FROM claims" >/dev/null          # the target's own key is ref: make room
"$DRIVE" "${CONN[@]}" "${MARK[@]}" "${MAP[@]}" -r "$W/r8" --spool b --attempt 2 > "$W/o8b" 2>>"$W/stderr"
check "spool b, same refs, retried: 5 inserted, none 'already delivered'" \
    "$(grep -c ' ok inserted' "$W/o8b")/$(grep -c 'already delivered' "$W/o8b")" "5/0"
check "marker rows: one per delivery identity" \
    "$(psql_q "SELECT count(*), count(DISTINCT delivery_id), count(DISTINCT ref) FROM ferry_marker")" "10|10|5"
"$DRIVE" "${CONN[@]}" "${MARK[@]}" "${MAP[@]}" -r "$W/r8" --spool a --in-doubt > "$W/o8c" 2>>"$W/stderr"
check "spool a in doubt again: its own markers answer" "$(grep -c 'already delivered (marker present)' "$W/o8c")" "5"
# probe: the target's own rows first; a deleted row is missing although
# its marker is there
psql_q "DELETE FROM claims WHERE ref = 'M0000001'" >/dev/null
"$DRIVE" "${CONN[@]}" "${MARK[@]}" "${MAP[@]}" -m "reconcile-query=SELECT 1 FROM claims WHERE ref = ?" \
    -m reconcile-params=ref -r "$W/r8" --spool b --probe > "$W/o8d" 2>>"$W/stderr"
check "probe with reconcile-query: deleted row reported not delivered despite its marker" \
    "$(grep -c 'fail not delivered (no reconcile-query row)' "$W/o8d")/$(grep -c 'ok already delivered (reconcile-query present)' "$W/o8d")" "1/4"
"$DRIVE" "${CONN[@]}" "${MAP[@]}" -r "$W/r8" --probe > "$W/o8e" 2>>"$W/stderr"
check "probe with no way to check: STOP (configuration), once per record asked" \
    "$(grep -c 'stop cannot be checked' "$W/o8e")" "5"

# --- 9. a marker table that is missing or not ours stops the target -----
schema
"$DRIVE" "${CONN[@]}" -o marker-table=ferry_marker "${MAP[@]}" -r "$W/r8" > "$W/o9a" 2>>"$W/stderr"
check "missing marker table: all 5 STOP, none failed, no row" \
    "$(grep -c ' stop marker table ferry_marker unusable' "$W/o9a")/$(grep -c ' fail ' "$W/o9a")/$(psql_q "SELECT count(*) FROM claims")" "5/0/0"
grep -q "needs columns delivery_id, ref, written_at and ferry needs SELECT and INSERT" "$W/o9a" &&
    ok "the message names the columns and the privileges" || bad "marker msg: $(head -1 "$W/o9a")"
# the same on a retried record (lookup first) as on a first attempt (insert)
"$DRIVE" "${CONN[@]}" -o marker-table=ferry_marker "${MAP[@]}" -r "$W/r8" --attempt 2 > "$W/o9b" 2>>"$W/stderr"
check "missing marker table on retry: STOP, same classification" "$(grep -c ' stop marker table ferry_marker unusable' "$W/o9b")" "5"
# a role that may write claims but not the marker table
psql_q "DROP ROLE IF EXISTS clerk; CREATE ROLE clerk LOGIN;
  CREATE TABLE ferry_marker (delivery_id VARCHAR(36) NOT NULL PRIMARY KEY,
    ref VARCHAR(64) NOT NULL, written_at TIMESTAMP NOT NULL);
  GRANT SELECT, INSERT ON claims TO clerk;" >/dev/null
CLERK=(-o "connection-file=env:FERRY_ODBC_CLERK")
FERRY_ODBC_CLERK="${FERRY_ODBC_CONN/UID=ferry/UID=clerk}" \
    "$DRIVE" "${CLERK[@]}" -o marker-table=ferry_marker "${MAP[@]}" -r "$W/r8" > "$W/o9c" 2>>"$W/stderr"
check "marker table not readable (42501): STOP, no row" \
    "$(grep -c ' stop marker table ferry_marker unusable.*42501' "$W/o9c")/$(psql_q "SELECT count(*) FROM claims")" "5/0"
# a role that may read the target table but not write it: no record can
# fix that either
psql_q "DROP ROLE IF EXISTS reader; CREATE ROLE reader LOGIN; GRANT SELECT ON claims TO reader;" >/dev/null
FERRY_ODBC_READER="${FERRY_ODBC_CONN/UID=ferry/UID=reader}" \
    "$DRIVE" -o "connection-file=env:FERRY_ODBC_READER" "${MAP[@]}" -r "$W/r8" > "$W/o9f" 2>>"$W/stderr"
check "no INSERT on the target table (42501): all 5 STOP, none failed" \
    "$(grep -c ' stop target unusable (insert).*42501' "$W/o9f")/$(grep -c ' fail ' "$W/o9f")" "5/0"
# the DDL in docs/adapters-odbc.md, run as written, is what ferry reads, with
# either quote-identifiers setting
for q in true false; do
    schema
    sed -n '/^```sql marker-ddl/,/^```$/p' "$FERRY_ROOT/docs/adapters-odbc.md" | sed '1d;$d' > "$W/ddl.sql"
    psql -X -q -h 127.0.0.1 -p "$PGPORT" -U ferry postgres -f "$W/ddl.sql" >/dev/null 2>>"$W/stderr"
    "$DRIVE" "${CONN[@]}" -o marker-table=ferry_marker -m quote-identifiers=$q "${MAP[@]}" -r "$W/r8" > "$W/o9d" 2>>"$W/stderr"
    check "documented marker DDL, quote-identifiers=$q: 5 inserted, 5 markers" \
        "$(grep -c ' ok inserted' "$W/o9d")/$(psql_q "SELECT count(*) FROM ferry_marker")" "5/5"
done
# a login the database refuses
FERRY_ODBC_NOBODY="${FERRY_ODBC_CONN/UID=ferry/UID=nobody}" \
    "$DRIVE" -o "connection-file=env:FERRY_ODBC_NOBODY" "${MAP[@]}" -r "$W/r8" > "$W/o9e" 2>>"$W/stderr"
check "login refused: all 5 STOP" "$(grep -c ' stop target unusable (connect)' "$W/o9e")" "5"

if grep -Eq "AddressSanitizer|LeakSanitizer|runtime error" "$W/stderr" 2>/dev/null; then
    bad "sanitizer report: $(grep -E -m3 'ERROR|SUMMARY|runtime error' "$W/stderr")"
else
    ok "no sanitizer reports"
fi
echo "$fails failure(s)"
[ "$fails" = 0 ]
