#!/bin/bash
# 37_odbc_identity.sh - identity beyond one spool, through the real `ferry`
# binary into a real PostgreSQL 15 (psqlODBC), started here on a free
# loopback port.  Two spools (two config folders) write to ONE table and ONE
# marker table; their references collide (both number FRY-<day>-000001...).
# Cases: every record of both spools lands once (rows = markers = records,
# none "already delivered"); a row deleted at the target is reported missing
# by reconcile although its marker is there, and when an operator requeues
# it, it is written anew (its old marker void) while a requeued record that
# was not reported missing stays protected by its marker; a marker table
# that is missing
# stops that target (exit 78, one message, records queued, none failed)
# while a healthy target beside it delivers.
set -u
: "${FERRY_ROOT:?}" "${FERRY_BIN:?}" "${TMPDIR:=/tmp}"
DATA=$FERRY_ROOT/tests/data/deliver
. "$FERRY_ROOT/tests/peers/pg.sh"
pg_have || { echo "skip: $PG_MISSING"; exit 77; }
command -v jq >/dev/null || { echo "skip: jq not installed"; exit 77; }

W=$(mktemp -d "$TMPDIR/odbc-identity.XXXXXX")
chmod 0755 "$W"
trap 'pg_cleanup; rm -rf "$W"' EXIT
pg_start "$W" odbcid || { cat "$PG_DIR/log" 2>/dev/null; echo "postgres did not start"; exit 1; }
pg_odbc_env "$W"

CASES=0
ok()   { CASES=$((CASES+1)); echo "ok   $1"; }
fail() { echo "FAIL $1: ${2:-}"; exit 1; }

# mkspool NAME MARKER - a config folder with its own spool
mkspool() {
    mkdir -p "$W/$1"
    cp "$DATA/odbc-identity.xml" "$W/$1/map.xml"
    cat > "$W/$1/ferry.xml" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<ferry xmlns="urn:ferry:config:1">
  <spool dir="spool"/>
  <log format="logfmt" level="info"/>
  <target name="claims-db" type="odbc" connection-file="env:FERRY_ODBC_CONN"
          batch-size="50" marker-table="$2" create-marker="${3:-true}"/>
  ${4:-}
  <service name="claim" mapping="map.xml" target="claims-db"/>
  ${5:-}
</ferry>
XML
}
fy() { local d=$1; shift; "$FERRY_BIN" "$1" --config "$W/$d/ferry.xml" "${@:2}"; }
submit_n() {   # SPOOL N
    seq 1 "$2" | awk -v p="$1" '{printf "{\"id\":\"%s%05d\",\"name\":\"N%d\",\"amount\":\"1.00\"}\n", p, $1, $1}' |
        fy "$1" submit claim - > "$W/$1.submit" 2>&1 || { tail -3 "$W/$1.submit"; fail submit "$1"; }
}
count_state() { fy "$1" queue --json --state "$2" 2>/dev/null | jq '.count'; }

psql_q "CREATE TABLE claims (delivery_id VARCHAR(36) NOT NULL UNIQUE,
    ref CHAR(20) NOT NULL, name CHAR(10) NOT NULL, amount NUMERIC(9,2) NOT NULL);"

# --- two spools, one table, one marker table --------------------------------
N=200
mkspool a ferry_marker
mkspool b ferry_marker
submit_n a $N
submit_n b $N
ra=$(fy a queue --json --limit 1 2>/dev/null | jq -r '.records[0].reference')
rb=$(fy b queue --json --limit 1 2>/dev/null | jq -r '.records[0].reference')
[ "$ra" = "$rb" ] || fail identity "the two spools' references should collide ($ra / $rb)"
da=$(fy a queue --json --limit 1 2>/dev/null | jq -r '.records[0].delivery_id')
db=$(fy b show "$rb" --json 2>/dev/null | jq -r '.delivery_id')
[ "${#da}" = 36 ] && [ "${#db}" = 36 ] && [ "$da" != "$db" ] ||
    fail identity "delivery ids [$da] [$db]"
fy a deliver > "$W/a.out" 2> "$W/a.err" || { tail "$W/a.err"; fail deliver-a "exit $?"; }
fy b deliver > "$W/b.out" 2> "$W/b.err" || { tail "$W/b.err"; fail deliver-b "exit $?"; }
grep -q 'already delivered' "$W/a.err" "$W/b.err" && fail identity "a record was taken as already delivered"
[ "$(count_state a delivered)/$(count_state b delivered)" = "$N/$N" ] ||
    fail identity "delivered $(count_state a delivered)/$(count_state b delivered)"
got=$(psql_q "SELECT count(*), count(DISTINCT delivery_id), count(DISTINCT ref) FROM claims")
[ "$got" = "$((2*N))|$((2*N))|$N" ] || fail identity "rows $got"
got=$(psql_q "SELECT count(*), count(DISTINCT delivery_id) FROM ferry_marker")
[ "$got" = "$((2*N))|$((2*N))" ] || fail identity "markers $got"
[ "$(psql_q "SELECT count(*) FROM claims WHERE delivery_id = '$db' AND ref = '$rb'")" = 1 ] ||
    fail identity "spool b's row of $rb"
ok "two spools, colliding references ($ra), one marker table: $((2*N)) records, $((2*N)) rows, $((2*N)) markers, none lost"

# --- reconcile asks the target's rows first ----------------------------------
psql_q "DELETE FROM claims WHERE delivery_id = '$da'"
fy a reconcile claims-db > "$W/rec.out" 2> "$W/rec.err"; rc=$?
[ "$rc" = 65 ] || { cat "$W/rec.out" "$W/rec.err" | tail; fail reconcile "exit $rc, wanted 65"; }
grep -q "^missing *$ra" "$W/rec.out" || fail reconcile "$(head -5 "$W/rec.out")"
fy a show "$ra" 2>/dev/null | grep -q '^missing: *reconcile found it missing' || fail reconcile "ferry show does not say missing"

grep -q "confirmed=$((N-1)) missing=1" "$W/rec.out" || fail reconcile "$(tail -2 "$W/rec.out")"
[ "$(psql_q "SELECT count(*) FROM ferry_marker WHERE ref = '$ra'")" = 2 ] || fail reconcile "marker of $ra gone"
ok "row deleted at the target: reconcile reports $ra missing although its marker is there (exit 65)"

# --- requeued after missing: written anew; a record not missing stays protected
fy a retry "$ra" --reason "reconcile: missing at the target" > "$W/retry.out" 2>&1 || { cat "$W/retry.out"; fail requeue "retry $ra"; }
fy a audit --json "$ra" > "$W/audit.out" 2>&1
jq -r '.audit[].detail // empty' "$W/audit.out" | grep -q "written anew (marker generation 1" || fail requeue "audit: $(cat "$W/audit.out")"
[ "$(fy a show --json "$ra" 2>/dev/null | jq -r '.marker_generation')" = 1 ] || fail requeue "show: marker generation"

fy a deliver > "$W/a2.out" 2> "$W/a2.err" || { tail "$W/a2.err"; fail requeue "deliver exit $?"; }
[ "$(psql_q "SELECT count(*) FROM claims WHERE delivery_id = '$da'")" = 1 ] ||
    fail requeue "row of $ra after the requeue: $(psql_q "SELECT count(*) FROM claims WHERE delivery_id = '$da'")"
[ "$(psql_q "SELECT ref FROM ferry_marker WHERE delivery_id = '$da'")" = "$ra/1" ] ||
    fail requeue "marker of $ra: $(psql_q "SELECT ref FROM ferry_marker WHERE delivery_id = '$da'")"
grep -q "ref=$ra .*already delivered\|already delivered.*ref=$ra" "$W/a2.err" && fail requeue "$ra taken as already delivered"
[ "$(fy a show --json "$ra" 2>/dev/null | jq -r .state)" = delivered ] || fail requeue "$ra state"
# the same record requeued again without a new missing finding: its new
# marker protects it, nothing doubled
fy a retry "$ra" --reason "again, by mistake" > /dev/null 2>&1 || fail requeue "second retry"
fy a deliver > "$W/a3.out" 2> "$W/a3.err" || { tail "$W/a3.err"; fail requeue "deliver 3 exit $?"; }
grep -q 'already' "$W/a3.err" || fail requeue "second requeue: $(grep "$ra" "$W/a3.err" | tail -2)"
[ "$(psql_q "SELECT count(*) FROM claims WHERE delivery_id = '$da'")/$(psql_q "SELECT count(*) FROM ferry_marker WHERE delivery_id = '$da'")" = 1/1 ] ||
    fail requeue "doubled after a second requeue"
fy a reconcile claims-db > "$W/rec2.out" 2> "$W/rec2.err"; rc=$?
[ "$rc" = 0 ] && grep -q "confirmed=1 missing=0" "$W/rec2.out" || fail requeue "reconcile after: exit $rc $(tail -2 "$W/rec2.out")"
ok "missing $ra requeued: written anew once (row back, marker $ra/1, audited), a second requeue is protected by the new marker (1 row), reconcile confirms it"

# a delivered record never reported missing, requeued: its marker still
# protects it (no second row) on a table without a unique key
mkspool d ferry_marker
sed -i -e 's/table="claims"/table="plain"/' -e 's/ key-columns="delivery_id"//' -e 's/FROM claims/FROM plain/' "$W/d/map.xml"
psql_q "CREATE TABLE plain (delivery_id VARCHAR(36) NOT NULL,
    ref CHAR(20) NOT NULL, name CHAR(10) NOT NULL, amount NUMERIC(9,2) NOT NULL);"
submit_n d 3
fy d deliver > /dev/null 2> "$W/d.err" || { tail "$W/d.err"; fail protect "deliver exit $?"; }
rd=$(fy d queue --json --state delivered --limit 1 2>/dev/null | jq -r '.records[0].reference')
dd=$(fy d show --json "$rd" 2>/dev/null | jq -r .delivery_id)
fy d retry "$rd" --reason "not reported missing" > /dev/null 2>&1 || fail protect "retry"
fy d deliver > /dev/null 2> "$W/d2.err" || { tail "$W/d2.err"; fail protect "deliver 2 exit $?"; }
grep -q 'already delivered (marker present)' "$W/d2.err" || fail protect "$(tail -3 "$W/d2.err")"
[ "$(psql_q "SELECT count(*) FROM plain WHERE delivery_id = '$dd'")" = 1 ] || fail protect "doubled: $(psql_q "SELECT count(*) FROM plain WHERE delivery_id = '$dd'")"
psql_q "DELETE FROM plain WHERE delivery_id = '$dd'"
fy d reconcile claims-db > "$W/d3.out" 2>&1; [ $? = 65 ] || fail protect "reconcile: $(tail -2 "$W/d3.out")"
fy d retry "$rd" --reason "reconcile: missing" > /dev/null 2>&1 || fail protect "retry after missing"
fy d deliver > /dev/null 2> "$W/d4.err" || { tail "$W/d4.err"; fail protect "deliver 4 exit $?"; }
[ "$(psql_q "SELECT count(*) FROM plain WHERE delivery_id = '$dd'")" = 1 ] || fail protect "not written anew on a keyless table"
ok "keyless table: a requeued record never reported missing is kept out by its marker (1 row, 'already delivered'); once reported missing and requeued it is written again, once"

# --- a marker table that is not there stops only its target ------------------
psql_q "CREATE TABLE other (delivery_id VARCHAR(36) NOT NULL UNIQUE,
    ref CHAR(20) NOT NULL, name CHAR(10) NOT NULL, amount NUMERIC(9,2) NOT NULL);"
sed -e 's/name="claim"/name="other"/' -e 's/"claims-db"/"other-db"/' \
    -e 's/table="claims"/table="other"/' -e 's/FROM claims/FROM other/' "$DATA/odbc-identity.xml" > "$W/other.xml"
mkspool c no_such_marker false \
    '<target name="other-db" type="odbc" connection-file="env:FERRY_ODBC_CONN"/>' \
    '<service name="other" mapping="other.xml" target="other-db"/>'
cp "$W/other.xml" "$W/c/other.xml"
submit_n c 30
seq 1 20 | awk '{printf "{\"id\":\"O%05d\",\"name\":\"O%d\",\"amount\":\"2.00\"}\n", $1, $1}' |
    fy c submit other - > /dev/null 2>&1 || fail stop "submit other"
fy c deliver > "$W/c.out" 2> "$W/c.err"; rc=$?
[ "$rc" = 78 ] || { tail "$W/c.err"; fail stop "exit $rc, wanted 78"; }
[ "$(grep -c 'event=target-stopped' "$W/c.err")" = 1 ] || fail stop "target-stopped said $(grep -c 'event=target-stopped' "$W/c.err") times"
grep -q 'claims-db: STOPPED: .*marker table no_such_marker unusable' "$W/c.err" || fail stop "$(grep STOPPED "$W/c.err")"
q=$(fy c queue --json --state queued 2>/dev/null | jq '[.records[] | select(.service=="claim")] | length')
[ "$q/$(count_state c failed)" = "30/0" ] || fail stop "claim records queued $q, failed $(count_state c failed)"
a=$(fy c queue --json --state queued 2>/dev/null | jq -r '[.records[] | select(.service=="claim")][0].reference')
[ "$(fy c show "$a" --json 2>/dev/null | jq '.attempts')" = 0 ] || fail stop "attempt counted"
[ "$(psql_q "SELECT count(*) FROM other")" = 20 ] || fail stop "healthy target rows $(psql_q "SELECT count(*) FROM other")"
grep -q 'other-db: 20 delivered' "$W/c.err" || fail stop "$(grep other-db "$W/c.err")"
ok "missing marker table: claims-db stopped once with the reason, 30 records wait (0 failed, attempts 0), other-db delivered 20, exit 78"
# fixed at the target: the next run delivers them all
psql_q "CREATE TABLE no_such_marker (delivery_id VARCHAR(36) NOT NULL PRIMARY KEY,
    ref VARCHAR(64) NOT NULL, written_at TIMESTAMP NOT NULL);"
fy c deliver > "$W/c2.out" 2> "$W/c2.err" || { tail "$W/c2.err"; fail stop "second run exit $?"; }
[ "$(psql_q "SELECT count(*) FROM claims WHERE ref LIKE 'FRY-%'")" = $((2*N + 30)) ] ||
    fail stop "rows after the fix"
ok "marker table created: the waiting 30 delivered on the next run, exit 0"
if grep -Eq "AddressSanitizer|LeakSanitizer|runtime error" "$W"/*.err 2>/dev/null; then
    fail sanitizer "$(grep -h -A5 -E 'AddressSanitizer|LeakSanitizer|runtime error' "$W"/*.err | head -20)"
fi
echo "$CASES cases passed"
