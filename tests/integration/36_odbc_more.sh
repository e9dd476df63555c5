#!/bin/bash
# 36_odbc_more.sh - ODBC paths the other tests leave alone, through the real
# `ferry` binary into a real PostgreSQL 15 (psqlODBC), started here in a
# temp folder on a free loopback port as 34_deliver_odbc.sh does.
# Cases:
#  pool:    pool-size="4" concurrency="4": 3,000 records by two `ferry
#           deliver` processes at once on one spool -> rows == records, each
#           once, no errors; every row records the PostgreSQL backend (pid)
#           and the process (application_name) that wrote it, so the test
#           shows how many connections each process used.  The engine calls
#           the adapter one call at a time (deliver_pass is serial and
#           odbc_deliver takes ONE pool connection per call), so each process
#           uses a single connection however large the pool: the test checks
#           1..pool-size per process and prints the count.
#  timeout: statement mode whose INSERT calls a function that sleeps
#           (pg_sleep) past query-timeout="1" for one record -> that record
#           is deferred (RETRY, SQLSTATE 57014 or HYT00), not failed; the
#           next record goes in on the same connection (same backend pid);
#           no sleeping statement is left on the server; once the function
#           is fast again the deferred record is delivered, once.
set -u
: "${FERRY_ROOT:?}" "${FERRY_BIN:?}" "${TMPDIR:=/tmp}"
DATA=$FERRY_ROOT/tests/data/deliver
. "$FERRY_ROOT/tests/peers/pg.sh"
pg_have || { echo "skip: $PG_MISSING"; exit 77; }
command -v jq >/dev/null || { echo "skip: jq not installed"; exit 77; }

W=$(mktemp -d "$TMPDIR/odbc-more.XXXXXX")
chmod 0755 "$W"
P1=""; P2=""
cleanup() {
    [ -n "$P1" ] && kill "$P1" 2>/dev/null
    [ -n "$P2" ] && kill "$P2" 2>/dev/null
    pg_cleanup; rm -rf "$W"
}
trap cleanup EXIT
pg_start "$W" omore || { cat "$PG_DIR/log" 2>/dev/null; echo "postgres did not start"; exit 1; }

PGCONN="Driver=$PG_PSQLODBC;Server=127.0.0.1;Port=$PGPORT;Database=postgres;UID=ferry"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
echo "leak:psqlodbcw.so" > "$W/lsan.supp"      # the driver's, see 31_odbc_pg.sh
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$W/lsan.supp"
export PGOPTIONS="-c client_min_messages=warning"
psql_q() { psql -X -q -A -t -h 127.0.0.1 -p "$PGPORT" -U ferry postgres -c "$1"; }

CASES=0
ok()   { CASES=$((CASES+1)); echo "ok   $1"; }
fail() { echo "FAIL $1: ${2:-}"; exit 1; }

# mkcase NAME ATTRS CHILDREN [MAPPING] - folder $C with ferry.xml and map.xml
mkcase() {
    C=$W/$1
    mkdir -p "$C"
    if [ -n "${4:-}" ]; then printf '%s\n' "$4" > "$C/map.xml"
    else cp "$DATA/odbc-claims.xml" "$C/map.xml"; fi
    sed -e "s#@ATTRS@#$2#" -e "s#@CHILDREN@#$3#" -e "s#@LEVEL@#info#" \
        "$DATA/ferry-odbc.xml.in" > "$C/ferry.xml"
}
fy() { "$FERRY_BIN" "$1" --config "$C/ferry.xml" "${@:2}"; }
submit_n() {   # PREFIX N
    seq 1 "$2" | awk -v p="$1" \
        '{printf "{\"id\":\"%s%06d\",\"name\":\"N%d\",\"amount\":\"12.50\"}\n", p, $1, $1}' |
        fy submit claim - > "$C/submit.out" 2>&1 || { tail -3 "$C/submit.out"; fail submit "$1"; }
}
count_state() { fy queue --json --state "$1" 2>/dev/null | jq '.count'; }
ref_of() { fy queue --json 2>/dev/null | jq -r --arg i "$1" '.records[] | select(.frontend_reference == $i) | .reference'; }
state_of() { fy queue --json 2>/dev/null | jq -r --arg i "$1" '.records[] | select(.frontend_reference == $i) | .state'; }

# --- pool-size 4, two processes at once ------------------------------------
psql_q "DROP TABLE IF EXISTS claims;
  CREATE TABLE claims (ref CHAR(20) NOT NULL, name CHAR(10) NOT NULL,
    amount NUMERIC(9,2) NOT NULL CHECK (amount >= 0),
    pid INTEGER NOT NULL DEFAULT pg_backend_pid(),
    app TEXT NOT NULL DEFAULT current_setting('application_name'));"
mkcase pool 'pool-size="4" concurrency="4" batch-size="50"' ''
N=3000
submit_n P $N
# the process that wrote a row: application_name through psqlODBC's pqopt
FERRY_ODBC_CONN="$PGCONN;pqopt={application_name=ferryA}" fy deliver --wait 60s \
    > "$C/a.out" 2> "$C/a.err" & P1=$!
FERRY_ODBC_CONN="$PGCONN;pqopt={application_name=ferryB}" fy deliver --wait 60s \
    > "$C/b.out" 2> "$C/b.err" & P2=$!
wait "$P1"; ra=$?; P1=""
wait "$P2"; rb=$?; P2=""
[ "$ra" = 0 ] && [ "$rb" = 0 ] || { tail -n 5 "$C/a.err" "$C/b.err"; fail pool "exits $ra, $rb"; }
[ "$(count_state delivered)" = $N ] || fail pool "$(count_state delivered) of $N delivered"
[ "$(psql_q "SELECT count(*), count(DISTINCT ref) FROM claims")" = "$N|$N" ] ||
    fail pool "rows: $(psql_q "SELECT count(*), count(DISTINCT ref) FROM claims")"
! grep -q 'outcome=\(retry\|fail\|in-doubt\)\|level=error\|connection-dropped' "$C/a.err" "$C/b.err" ||
    fail pool "errors: $(grep -h 'outcome=\(retry\|fail\|in-doubt\)\|level=error\|connection-dropped' "$C/a.err" "$C/b.err" | head -3)"
per=$(psql_q "SELECT app || ':' || count(*) || ':' || count(DISTINCT pid) FROM claims GROUP BY app ORDER BY app" | tr '\n' ' ')
napps=$(psql_q "SELECT count(DISTINCT app) FROM claims")
maxc=$(psql_q "SELECT max(n) FROM (SELECT count(DISTINCT pid) n FROM claims GROUP BY app) x")
[ "$napps" = 2 ] || fail pool "only one process delivered ($per): no concurrency"
[ "$maxc" -ge 1 ] && [ "$maxc" -le 4 ] || fail pool "connections per process: $per"
[ "$(psql_q "SELECT count(*) FROM claims WHERE app NOT IN ('ferryA','ferryB')")" = 0 ] || fail pool "app tag"
ok "pool-size 4, two deliver processes at once: $N records, $N rows each once; per process app:rows:connections = $per"

# --- query-timeout: a sleeping INSERT is deferred, the connection recovers --
psql_q "DROP TABLE IF EXISTS claims;
  CREATE TABLE claims (ref CHAR(20) NOT NULL, name CHAR(10) NOT NULL,
    amount NUMERIC(9,2) NOT NULL, pid INTEGER NOT NULL DEFAULT pg_backend_pid());
  CREATE OR REPLACE FUNCTION slow_name(n text) RETURNS text LANGUAGE plpgsql AS
    \$\$ BEGIN IF n LIKE 'SLOW%' THEN PERFORM pg_sleep(4); END IF; RETURN n; END \$\$;"
MAP='<?xml version="1.0" encoding="UTF-8"?>
<mapping xmlns="urn:ferry:mapping:1" service="claim">
  <accept idempotency-field="id">
    <field name="id" path="id" type="string" required="true"/>
    <field name="name" path="name" type="string" required="true"/>
    <field name="amount" path="amount" type="decimal" scale="2" required="true"/>
  </accept>
  <target name="claims-db"
          statement="INSERT INTO claims (ref, name, amount) VALUES (?, slow_name(?), ?)">
    <map to="1" from="$reference"/>
    <map to="2" from="name"/>
    <map to="3" from="amount" scale="2"/>
  </target>
</mapping>'
mkcase timeout 'batch-size="1" query-timeout="1"' \
    '<retry initial="2s" factor="1" jitter="0%" max-attempts="5"/>' "$MAP"
export FERRY_ODBC_CONN=$PGCONN
printf '%s\n' '{"id":"G1","name":"G1","amount":"1.00"}' '{"id":"SLOW1","name":"SLOW1","amount":"2.00"}' \
    '{"id":"G2","name":"G2","amount":"3.00"}' | fy submit claim - > "$C/submit.out" 2>&1 ||
    fail timeout "submit: $(cat "$C/submit.out")"
t0=$(date +%s%3N)
fy deliver > "$C/deliver.out" 2> "$C/deliver.err"; rc=$?
t1=$(date +%s%3N)
[ "$rc" = 0 ] || { tail -n 5 "$C/deliver.err"; fail timeout "deliver exit $rc"; }
[ "$(state_of SLOW1)" = deferred ] || fail timeout "SLOW1 is $(state_of SLOW1): $(tail -n 3 "$C/deliver.err")"
err=$(fy show --json "$(ref_of SLOW1)" 2>/dev/null | jq -r .last_error)
case "$err" in *57014*|*HYT00*) ;; *) fail timeout "SLOW1 error: $err" ;; esac
[ "$(state_of G1)" = delivered ] && [ "$(state_of G2)" = delivered ] ||
    fail timeout "G1 $(state_of G1), G2 $(state_of G2)"
# the timeout did bite: the slow record did not wait out the 4s sleep twice
[ $((t1 - t0)) -lt 6000 ] || fail timeout "deliver took $((t1 - t0))ms"
[ "$(psql_q "SELECT count(DISTINCT pid) FROM claims")" = 1 ] ||
    fail timeout "G2 went in on another connection: the first one did not recover"
! grep -q connection-dropped "$C/deliver.err" || fail timeout "connection dropped on a timeout"
[ "$(psql_q "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%slow_name%' AND pid <> pg_backend_pid()
    AND state = 'active'")" = 0 ] || fail timeout "the sleeping statement was left running on the server"
[ "$(psql_q "SELECT count(*) FROM claims WHERE rtrim(name) = 'SLOW1'")" = 0 ] || fail timeout "timed-out row committed"
ok "query-timeout 1s, INSERT sleeping 4s -> deferred ('$(printf '%.60s' "$err")...'), G2 after it on the same connection"
psql_q "CREATE OR REPLACE FUNCTION slow_name(n text) RETURNS text LANGUAGE sql AS \$\$ SELECT n \$\$;"

fy deliver --wait 10s > "$C/deliver.out" 2> "$C/deliver.err" || { tail -n 5 "$C/deliver.err"; fail timeout "2nd deliver"; }
[ "$(state_of SLOW1)" = delivered ] || fail timeout "SLOW1 is $(state_of SLOW1) once fast"
[ "$(fy show --json "$(ref_of SLOW1)" 2>/dev/null | jq .attempts)" = 2 ] || fail timeout "attempts"
[ "$(psql_q "SELECT count(*), count(DISTINCT ref) FROM claims")" = "3|3" ] || fail timeout "rows"
ok "the back end fast again: the deferred record delivered on its 2nd attempt, 3 rows, each once"
echo "$CASES cases passed"
