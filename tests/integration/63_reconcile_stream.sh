#!/bin/bash
# 63_reconcile_stream.sh - `ferry reconcile` for a stream target: ODBC into
# SQLite (libsqliteodbc; a file database in a temp folder, no server).
# Records are delivered with `ferry deliver`; then one row is deleted in
# the target behind ferry's back, and `ferry reconcile claims-db` asks the
# target about every delivered record through the adapter's probe (the
# mapping's reconcile-query):
#   - rows found -> confirmed;
#   - the missing row is reported as "missing" (exit 65) and stays
#     delivered for support to decide (docs/reconcile.md);
#   - a second run confirms nothing new and still reports the one missing;
#   - the target unreachable (a database path that cannot be opened) ->
#     the probe cannot tell: exit 75, nothing changes.
# The table's ref is CHAR(20): the driver stores it space-padded, so the
# reconcile-query compares rtrim(ref), as a query against a legacy CHAR
# column must.
# Config and mapping: tests/data/deliver/ferry-odbc.xml.in and
# odbc-claims.xml with a reconcile-query added.
set -u
: "${FERRY_ROOT:?}" "${FERRY_BIN:?}" "${TMPDIR:=/tmp}"
DATA=$FERRY_ROOT/tests/data/deliver
SQLITEODBC=/usr/lib/x86_64-linux-gnu/odbc/libsqlite3odbc.so
[ -f "$SQLITEODBC" ] || { echo "skip: libsqliteodbc not installed"; exit 77; }
command -v sqlite3 >/dev/null || { echo "skip: sqlite3 not installed"; exit 77; }
command -v jq >/dev/null || { echo "skip: jq not installed"; exit 77; }

W=$(mktemp -d "$TMPDIR/recon-stream.XXXXXX")
trap 'rm -rf "$W"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
echo "leak:libsqlite3odbc.so" > "$W/lsan.supp"      # the driver's own
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$W/lsan.supp"
fails=0
pass() { echo "PASS  $1"; }
fail() { echo "FAIL  $1: $2"; fails=$((fails+1)); }

C=$W/case
mkdir -p "$C"
sed 's|<target name="claims-db" table="claims">|<target name="claims-db" table="claims" reconcile-query="SELECT ref FROM claims WHERE rtrim(ref) = ?" reconcile-params="$reference">|' \
    "$DATA/odbc-claims.xml" > "$C/map.xml"
grep -q reconcile-query "$C/map.xml" || { echo "FAIL  setup: mapping not rewritten"; exit 1; }
sed -e "s#@ATTRS@#batch-size=\"10\"#" -e "s#@CHILDREN@##" -e "s#@LEVEL@#info#" \
    "$DATA/ferry-odbc.xml.in" > "$C/ferry.xml"
DB=$W/legacy.db
sqlite3 "$DB" "CREATE TABLE claims (ref CHAR(20) NOT NULL UNIQUE, name CHAR(10) NOT NULL,
    amount NUMERIC(9,2) NOT NULL CHECK (amount >= 0));"
export FERRY_ODBC_CONN="Driver=$SQLITEODBC;Database=$DB;Timeout=5000"
fy() { "$FERRY_BIN" "$1" --config "$C/ferry.xml" "${@:2}"; }
count_state() { fy queue --json --state "$1" 2>/dev/null | jq '.count'; }
state_of() { fy show "$1" --json 2>/dev/null | jq -r '.state'; }

seq 1 12 | awk '{printf "{\"id\":\"R%06d\",\"name\":\"N%d\",\"amount\":\"1%d.00\"}\n", $1, $1, $1}' |
    fy submit claim - > "$W/submit.out" 2>&1
fy deliver > "$W/deliver.out" 2>&1; rc=$?
if [ $rc = 0 ] && [ "$(count_state delivered)" = 12 ] &&
   [ "$(sqlite3 "$DB" "SELECT count(*) FROM claims")" = 12 ]; then
    pass "12 records delivered into SQLite over ODBC"
else fail "deliver" "rc=$rc $(tail -5 "$W/deliver.out")"; fi

GONE=$(fy queue --json --state delivered 2>/dev/null | jq -r '.records[4].reference')
sqlite3 "$DB" "DELETE FROM claims WHERE rtrim(ref) = '$GONE'"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM claims")" = 11 ] || fail "delete behind ferry's back" "row not deleted"
fy reconcile claims-db --json > "$W/r1.json" 2>"$W/r1.err"; rc=$?
if [ $rc = 65 ] && [ "$(jq -r '.kind, .confirmed, .missing' "$W/r1.json" | tr '\n' ' ')" = "stream 11 1 " ] &&
   [ "$(jq -r '.items[] | select(.kind == "missing") | .ref' "$W/r1.json")" = "$GONE" ]; then
    pass "reconcile: 11 rows found -> confirmed; $GONE reported missing, exit 65"
else fail "reconcile" "rc=$rc $(cat "$W/r1.json" "$W/r1.err")"; fi
if [ "$(count_state confirmed)" = 11 ] && [ "$(state_of "$GONE")" = delivered ]; then
    pass "the missing record stays delivered for support to decide; the others are confirmed"
else fail "states" "confirmed=$(count_state confirmed) $GONE=$(state_of "$GONE")"; fi

fy reconcile claims-db > "$W/r2.out" 2>&1; rc=$?
if [ $rc = 65 ] && grep -q "missing" "$W/r2.out" && grep -q "$GONE" "$W/r2.out" &&
   [ "$(count_state confirmed)" = 11 ]; then
    pass "second run (text): confirmed records are not asked again; $GONE still reported missing"
else fail "second run" "rc=$rc $(cat "$W/r2.out")"; fi

# the target cannot answer: nothing changes, exit 75
seq 13 14 | awk '{printf "{\"id\":\"R%06d\",\"name\":\"N%d\",\"amount\":\"1.00\"}\n", $1, $1}' |
    fy submit claim - > /dev/null 2>&1
fy deliver > /dev/null 2>&1
mv "$DB" "$DB.away"
FERRY_ODBC_CONN="Driver=$SQLITEODBC;Database=$W/no/such/dir/x.db;Timeout=500" \
    fy reconcile claims-db --json > "$W/r4.json" 2>"$W/r4.err"; rc=$?
mv "$DB.away" "$DB"
if [ $rc = 75 ] && [ "$(count_state delivered)" = 3 ] && [ "$(count_state confirmed)" = 11 ] &&
   [ "$(jq '[.items[] | select(.kind == "unknown")] | length' "$W/r4.json")" = 3 ]; then
    pass "target unreachable: the probe cannot tell, exit 75, nothing changes"
else fail "unreachable" "rc=$rc delivered=$(count_state delivered) $(cat "$W/r4.json" | head -30) $(tail -3 "$W/r4.err")"; fi

if [ $fails -gt 0 ]; then echo "$fails sub-case(s) failed"; exit 1; fi
echo "all stream reconciliation sub-cases passed"
exit 0
