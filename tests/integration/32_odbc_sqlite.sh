#!/bin/bash
# 32_odbc_sqlite.sh - the ODBC adapter into SQLite through libsqliteodbc
# (the demo's embedded default): legacy schema with CHAR, NUMERIC(9,2),
# DATE, TIMESTAMP, CHECK and UNIQUE; poison record, CHAR padding done by
# ferry, duplicate on retry, marker exactly-once, London local time,
# crash before/after commit.
set -u
: "${FERRY_BUILD:?}" "${TMPDIR:=/tmp}"
DRIVE=$FERRY_BUILD/tests/helpers/odbc_drive
SQLITEODBC=/usr/lib/x86_64-linux-gnu/odbc/libsqlite3odbc.so
[ -x "$DRIVE" ] || { echo "odbc_drive not built"; exit 1; }
[ -f "$SQLITEODBC" ] || { echo "skip: libsqliteodbc not installed"; exit 77; }
command -v sqlite3 >/dev/null || { echo "skip: sqlite3 not installed"; exit 77; }

W=$(mktemp -d "$TMPDIR/odbcsqlite.XXXXXX")
trap 'rm -rf "$W"' EXIT
DB=$W/legacy.db
export FERRY_ODBC_CONN="Driver=$SQLITEODBC;Database=$DB;Timeout=5000"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
q() { sqlite3 "$DB" "$1"; }

fails=0
ok()  { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails+1)); }
check() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: got [$2] want [$3]"; fi; }
outcomes() { awk '{print $2, $3}' "$1" | tr '\n' ' ' | sed 's/ $//'; }

schema() {
    rm -f "$DB"
    q "CREATE TABLE CLAIMS (REF CHAR(12) NOT NULL PRIMARY KEY,
         NAME CHAR(10) NOT NULL, AMOUNT NUMERIC(9,2) NOT NULL CHECK (AMOUNT >= 0),
         BORN DATE, AT TIMESTAMP, QTY INTEGER, NOTE VARCHAR(20),
         UNIQUE (NAME, BORN));"
}
MAP=(-m table=CLAIMS -a to=REF,from=ref -a to=NAME,from=name
     -a to=AMOUNT,from=amount -a to=BORN,from=born -a to=AT,from=at
     -a to=QTY,from=qty -a to=NOTE,from=note)
CONN=(-o connection-file=env:FERRY_ODBC_CONN)
MARK=(-o marker-table=FERRY_MARKER -o create-marker=true)

# --- 1. batch with a poison record ---------------------------------------
schema
cat > "$W/r1" <<'EOF'
R1|ref=s:AB0001|name=s:Zoë|amount=d2:1234567.89|born=date:1980-02-29|at=dt:2026-07-01T12:34:56.789Z|qty=i:3|note=null
R2|ref=s:AB0002|name=s:Bob|amount=d2:-1.00|born=date:1981-01-02|qty=i:4
R3|ref=s:AB0003|name=s:Carol|amount=i:7|born=date:1982-01-02|qty=i:5|note=s:y
R4|ref=s:AB0004|name=s:Carol|amount=d2:1.00|born=date:1982-01-02|qty=i:6
EOF
"$DRIVE" "${CONN[@]}" "${MAP[@]}" -r "$W/r1" > "$W/o1" 2>>"$W/stderr"
check "CHECK and UNIQUE violations fail alone" "$(outcomes "$W/o1")" "R1 ok R2 fail R3 ok R4 fail"
grep -q "^call1 R2 fail .*CHECK constraint failed" "$W/o1" && ok "driver's words kept" || bad "R2: $(grep R2 "$W/o1")"
check "CHAR padded by ferry (SQLite keeps what it is given)" "$(q "SELECT '[' || NAME || ']' FROM CLAIMS WHERE REF LIKE 'AB0001%'")" "[Zoë       ]"
check "CHAR key padded" "$(q "SELECT length(REF) FROM CLAIMS WHERE REF LIKE 'AB0001%'")" "12"
check "NUMERIC at scale 2" "$(q "SELECT printf('%.2f', AMOUNT) FROM CLAIMS WHERE REF LIKE 'AB0001%'")" "1234567.89"
check "integer into NUMERIC(9,2)" "$(q "SELECT printf('%.2f', AMOUNT) FROM CLAIMS WHERE REF LIKE 'AB0003%'")" "7.00"
check "DATE" "$(q "SELECT BORN FROM CLAIMS WHERE REF LIKE 'AB0001%'")" "1980-02-29"
check "TIMESTAMP UTC" "$(q "SELECT AT FROM CLAIMS WHERE REF LIKE 'AB0001%'")" "2026-07-01 12:34:56.789"
check "NULL for absent" "$(q "SELECT NOTE IS NULL FROM CLAIMS WHERE REF LIKE 'AB0001%'")" "1"

# --- 2. London local time and text formats ---------------------------------
q "CREATE TABLE STAMPS (REF CHAR(8), LOCAL_AT TIMESTAMP, DAY CHAR(8));"
echo "T1|ref=s:T1|at=dt:2026-07-01T12:00:00Z|born=date:2026-03-05" > "$W/r2"
"$DRIVE" "${CONN[@]}" -m table=STAMPS -a to=REF,from=ref -a to=LOCAL_AT,from=at,local-time \
    -a to=DAY,from=born,format=CCYYMMDD -r "$W/r2" > "$W/o2" 2>>"$W/stderr"
check "local-time=true gives Europe/London (BST)" "$(q "SELECT LOCAL_AT FROM STAMPS")" "2026-07-01 13:00:00.000"
check "date format CCYYMMDD into CHAR" "$(q "SELECT DAY FROM STAMPS")" "20260305"

# --- 3. duplicate on retry --------------------------------------------------
head -1 "$W/r1" > "$W/r3"
"$DRIVE" "${CONN[@]}" "${MAP[@]}" -m key-columns=REF -r "$W/r3" --in-doubt > "$W/o3" 2>>"$W/stderr"
grep -q "^call1 R1 ok already present (duplicate key on retry)" "$W/o3" && ok "SQLite duplicate on retry counts as delivered" || bad "dup: $(cat "$W/o3")"
sed 's/qty=i:3/qty=i:4/' "$W/r3" > "$W/r3b"
"$DRIVE" "${CONN[@]}" "${MAP[@]}" -m key-columns=REF -r "$W/r3b" --in-doubt > "$W/o3b" 2>>"$W/stderr"
grep -q "^call1 R1 fail .*UNIQUE constraint" "$W/o3b" && ok "duplicate with a different row fails" || bad "dup-diff: $(cat "$W/o3b")"

# --- 4. marker exactly-once, and a 1000-row batch ---------------------------
schema
seq 1 1000 | awk '{printf "M%d|ref=s:M%07d|name=s:N%d|amount=d2:%d.%02d|born=date:1990-01-01|qty=i:%d\n",$1,$1,$1,$1,$1%100,$1}' > "$W/r4"
"$DRIVE" "${CONN[@]}" "${MARK[@]}" -o batch-size=1000 "${MAP[@]}" -r "$W/r4" > "$W/o4" 2>>"$W/stderr"
check "1000 in one batch" "$(grep -c 'ok inserted (batch of 1000)' "$W/o4")" "1000"
check "marker rows" "$(q "SELECT count(*) FROM FERRY_MARKER")" "1000"
"$DRIVE" "${CONN[@]}" "${MARK[@]}" "${MAP[@]}" -r "$W/r4" --attempt 2 > "$W/o4b" 2>>"$W/stderr"
check "resend: all found by marker" "$(grep -c 'already delivered (marker present)' "$W/o4b")" "1000"
check "rows == records" "$(q "SELECT count(*) FROM CLAIMS")" "1000"

# --- 5. crash between execute and commit, and after commit ------------------
if grep -q odbc-before-commit "$DRIVE" 2>/dev/null; then
    schema
    head -30 "$W/r4" > "$W/r5"
    { FERRY_CRASH_AT=odbc-before-commit "$DRIVE" "${CONN[@]}" "${MARK[@]}" -o batch-size=10 "${MAP[@]}" -r "$W/r5" >/dev/null 2>&1; } 2>/dev/null
    check "killed at odbc-before-commit" "$?" "137"
    check "crash before commit: nothing written" "$(q "SELECT count(*) FROM CLAIMS")" "0"
    "$DRIVE" "${CONN[@]}" "${MARK[@]}" -o batch-size=10 "${MAP[@]}" -r "$W/r5" --in-doubt > "$W/o5" 2>>"$W/stderr"
    check "rerun: rows == records" "$(q "SELECT count(*) FROM CLAIMS")" "30"
    schema
    { FERRY_CRASH_AT=odbc-after-commit "$DRIVE" "${CONN[@]}" "${MARK[@]}" -o batch-size=10 "${MAP[@]}" -r "$W/r5" >/dev/null 2>&1; } 2>/dev/null
    check "killed at odbc-after-commit" "$?" "137"
    check "crash after commit: first batch in" "$(q "SELECT count(*) FROM CLAIMS")" "10"
    "$DRIVE" "${CONN[@]}" "${MARK[@]}" -o batch-size=10 "${MAP[@]}" -r "$W/r5" --in-doubt > "$W/o5b" 2>>"$W/stderr"
    check "rerun: rows == records, none doubled" "$(q "SELECT count(*) FROM CLAIMS")" "30"
else
    echo "skip crash points (not a FERRY_TEST_BUILD)"
fi

# --- 6. truncate allowed by the mapping --------------------------------------
schema
echo "L1|ref=s:L1|name=s:Bartholomew-Smythe|amount=d2:1.00" > "$W/r6"
"$DRIVE" "${CONN[@]}" -m table=CLAIMS -a to=REF,from=ref -a to=NAME,from=name,truncate \
    -a to=AMOUNT,from=amount -r "$W/r6" > "$W/o6" 2>>"$W/stderr"
check "truncate=true cuts to the column" "$(q "SELECT NAME FROM CLAIMS")" "Bartholome"

if grep -Eq "AddressSanitizer|LeakSanitizer|runtime error" "$W/stderr" 2>/dev/null; then
    bad "sanitizer report: $(grep -E -m3 'ERROR|SUMMARY|runtime error' "$W/stderr")"
else
    ok "no sanitizer reports"
fi
echo "$fails failure(s)"
[ "$fails" = 0 ]
