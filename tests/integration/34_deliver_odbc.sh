#!/bin/bash
# 34_deliver_odbc.sh - the delivery engine through the real `ferry` binary
# into real databases over ODBC: PostgreSQL 15 (psqlODBC; started here in
# a temp folder on a free loopback port, as 31_odbc_pg.sh does) and SQLite
# (libsqliteodbc).  Config and mapping: tests/data/deliver/ferry-odbc.xml.in
# and odbc-claims.xml, submitted with `ferry submit`.
# Cases (PostgreSQL): happy path with the exactly-once marker; a CHECK
# violation fails that record alone with SQLSTATE and the driver's words;
# the database stopped while records flow and restarted -> every record
# delivered, target rows == records (no unique key on the table, so a
# duplicate would show).  SQLite: happy path and the CHECK poison record.
set -u
: "${FERRY_ROOT:?}" "${FERRY_BIN:?}" "${TMPDIR:=/tmp}"
DATA=$FERRY_ROOT/tests/data/deliver
SQLITEODBC=/usr/lib/x86_64-linux-gnu/odbc/libsqlite3odbc.so
. "$FERRY_ROOT/tests/peers/pg.sh"
pg_have || { echo "skip: $PG_MISSING"; exit 77; }
command -v jq >/dev/null || { echo "skip: jq not installed"; exit 77; }

W=$(mktemp -d "$TMPDIR/deliver-odbc.XXXXXX")
chmod 0755 "$W"
DPID=""
cleanup() {
    [ -n "$DPID" ] && kill "$DPID" 2>/dev/null
    pg_cleanup; rm -rf "$W"
}
trap cleanup EXIT
pg_start "$W" dodbc || { cat "$PG_DIR/log" 2>/dev/null; echo "postgres did not start"; exit 1; }

PGCONN="Driver=$PG_PSQLODBC;Server=127.0.0.1;Port=$PGPORT;Database=postgres;UID=ferry"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
echo "leak:psqlodbcw.so" > "$W/lsan.supp"      # the driver's, see 31_odbc_pg.sh
echo "leak:libsqlite3odbc.so" >> "$W/lsan.supp"
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$W/lsan.supp"
export PGOPTIONS="-c client_min_messages=warning"
psql_q() { psql -X -q -A -t -h 127.0.0.1 -p "$PGPORT" -U ferry postgres -c "$1"; }

CASES=0
ok()   { CASES=$((CASES+1)); echo "ok   $1"; }
fail() { echo "FAIL $1: ${2:-}"; exit 1; }

# mkcase NAME ATTRS CHILDREN - folder $C with ferry.xml and map.xml
mkcase() {
    C=$W/$1
    mkdir -p "$C"
    cp "$DATA/odbc-claims.xml" "$C/map.xml"
    sed -e "s#@ATTRS@#$2#" -e "s#@CHILDREN@#$3#" -e "s#@LEVEL@#info#" \
        "$DATA/ferry-odbc.xml.in" > "$C/ferry.xml"
}
fy() { "$FERRY_BIN" "$1" --config "$C/ferry.xml" "${@:2}"; }
submit_n() {   # PREFIX N [AMOUNT]
    seq 1 "$2" | awk -v p="$1" -v a="${3:-12.50}" \
        '{printf "{\"id\":\"%s%06d\",\"name\":\"N%d\",\"amount\":\"%s\"}\n", p, $1, $1, a}' |
        fy submit claim - > "$C/submit.out" 2>&1 || { tail -3 "$C/submit.out"; fail submit "$1"; }
}
deliver() {
    local want=$1; shift
    fy deliver "$@" > "$C/deliver.out" 2> "$C/deliver.err"
    local got=$?
    [ "$got" = "$want" ] || { tail -n 20 "$C/deliver.err"; fail deliver "exit $got, wanted $want"; }
}
count_state() { fy queue --json --state "$1" 2>/dev/null | jq '.count'; }
pg_schema() {
    psql_q "DROP TABLE IF EXISTS claims, ferry_marker;
      CREATE TABLE claims (ref CHAR(20) NOT NULL, name CHAR(10) NOT NULL,
        amount NUMERIC(9,2) NOT NULL CHECK (amount >= 0));"
}

# --- PostgreSQL: happy path with the marker --------------------------------
export FERRY_ODBC_CONN=$PGCONN
pg_schema
mkcase pg-happy 'batch-size="100" marker-table="ferry_marker" create-marker="true"' ''
submit_n A 250
deliver 0
[ "$(count_state delivered)" = 250 ] || fail pg-happy "$(count_state delivered) of 250 delivered"
[ "$(psql_q "SELECT count(*), count(DISTINCT ref) FROM claims")" = "250|250" ] || fail pg-happy "rows"
[ "$(psql_q "SELECT count(*) FROM ferry_marker")" = 250 ] || fail pg-happy "marker rows"
r=$(fy queue --json --limit 1 2>/dev/null | jq -r '.records[0].reference')
[ "$(psql_q "SELECT amount::text || '|' || rtrim(name) FROM claims WHERE ref = '$r'")" = "12.50|N1" ] ||
    fail pg-happy "row of $r"
grep -q "claims-db: 250 delivered, 0 to retry, 0 failed" "$C/deliver.err" || fail pg-happy "summary"
ok "PostgreSQL: 250 delivered in batches of 100, rows and marker rows 250, exit 0"

# --- PostgreSQL: CHECK violation is a poison record ------------------------
pg_schema
mkcase pg-poison 'batch-size="50"' ''
submit_n B 20
printf '{"id":"BAD","name":"Neg","amount":"-1.00"}\n' | fy submit claim - >/dev/null 2>&1
submit_n C 20
deliver 65
[ "$(count_state delivered)" = 40 ] || fail pg-poison "$(count_state delivered) of 40 delivered"
[ "$(count_state failed)" = 1 ] || fail pg-poison "failed count"
err=$(fy queue --json --state failed 2>/dev/null | jq -r '.records[0].last_error')
case "$err" in *23514*check*|*23514*CHECK*) ;; *) fail pg-poison "message: $err" ;; esac
[ "$(psql_q "SELECT count(*) FROM claims")" = 40 ] || fail pg-poison "rows"
# the row's values (name "Neg", amount -1.00) never reach last_error, the
# log or the listing: PostgreSQL's DETAIL "Failing row contains (...)" is
# withheld, the constraint name kept (issue 12 §2)
case "$err" in *"Failing row contains (values withheld)"*) ;; *) fail pg-poison "DETAIL not withheld: $err" ;; esac
case "$err" in *claims_amount_check*) ;; *) fail pg-poison "constraint name lost: $err" ;; esac
fy queue --state failed > "$C/queue.txt" 2>&1
for v in Neg -1.00; do
    grep -F -- "$v" "$C/deliver.err" "$C/queue.txt" >/dev/null &&
        fail pg-poison "the value $v leaked: $(grep -hF -- "$v" "$C/deliver.err" "$C/queue.txt" | head -2)"
    fy queue --json --state failed 2>/dev/null | grep -qF -- "$v" && fail pg-poison "the value $v in queue --json"
done
ok "PostgreSQL: CHECK violation fails alone with '$(printf '%.60s' "$err")...', 40 delivered, exit 65; no row value in last_error, log or queue"

# --- PostgreSQL: the full message is kept nowhere ---------------------------
# ferry discards the driver's unscrubbed text (docs/security.md "Back-end
# messages"): with a spool key (so the payload itself is sealed) and the
# name marked personal, the values PostgreSQL echoed in "Failing row
# contains (...)" are in no byte of the spool folder (ledger, WAL, search
# index), the log, `ferry queue` (text, JSON) or `ferry show` (text, JSON)
# without --reveal.  The control: --reveal does show the name, and without
# a key the ledger holds it, so the greps can find what they look for.
pg_schema
mkcase pg-echo 'batch-size="50"' ''
sed -i 's|<field name="name" path="name"|<field name="name" path="name" personal="true"|' "$C/map.xml"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$C/spool.key"
chmod 600 "$C/spool.key"
sed -i 's|<spool dir="spool"/>|<spool dir="spool" key-file="spool.key"/>|' "$C/ferry.xml"
grep -q 'key-file="spool.key"' "$C/ferry.xml" || fail pg-echo "spool key set"
printf '{"id":"ECHO1","name":"Qzxwvkjq","amount":"-7.77"}\n' | fy submit claim - >/dev/null 2>&1 ||
    fail pg-echo "submit"
deliver 65
ref=$(fy queue --json --state failed 2>/dev/null | jq -r '.records[0].reference')
[ -n "$ref" ] && [ "$ref" != null ] || fail pg-echo "no failed record"
err=$(fy queue --json --state failed 2>/dev/null | jq -r '.records[0].last_error')
case "$err" in *23514*claims_amount_check*"(values withheld)"*) ;; *) fail pg-echo "message: $err" ;; esac
fy queue --state failed > "$C/q.txt" 2>&1
fy queue --json --state failed > "$C/q.json" 2>&1
fy show "$ref" > "$C/show.txt" 2>&1 || fail pg-echo "show: $(cat "$C/show.txt")"
fy show --json "$ref" > "$C/show.json" 2>&1 || fail pg-echo "show --json"
grep -q claims_amount_check "$C/show.txt" || fail pg-echo "show lost the message: $(cat "$C/show.txt")"
fy show --reveal --reason "test 34 control" "$ref" > "$C/reveal.txt" 2>&1
grep -qF Qzxwvkjq "$C/reveal.txt" || fail pg-echo "control: --reveal does not show the name"
for f in "$C"/spool/* "$C/deliver.err" "$C/q.txt" "$C/q.json" "$C/show.txt" "$C/show.json"; do
    [ -f "$f" ] || continue
    grep -aqF Qzxwvkjq "$f" && fail pg-echo "the echoed name is in $f: $(grep -aoF -m1 -- Qzxwvkjq "$f")"
done
for f in "$C"/spool/* "$C/deliver.err" "$C/q.txt" "$C/q.json"; do
    [ -f "$f" ] || continue
    grep -aqF -- -7.77 "$f" && fail pg-echo "the echoed amount is in $f"
done
# the control without a key: the same grep finds the payload in the ledger
C0=$C
pg_schema
mkcase pg-echo-plain 'batch-size="50"' ''
printf '{"id":"ECHO1","name":"Qzxwvkjq","amount":"-7.77"}\n' | fy submit claim - >/dev/null 2>&1
deliver 65
cat "$C"/spool/* 2>/dev/null | grep -aqF Qzxwvkjq || fail pg-echo "control: no key, yet the name is not in the ledger"
C=$C0
ok "PostgreSQL: a CHECK failure's echoed values (name, amount) are in no spool file, log, queue or show output (the full text is discarded)"

# --- PostgreSQL: the poison record inside many-row INSERTs -----------------
# rows-per-insert 10: the group of 41 goes as statements of 10 rows (and
# marker statements of 10); the one CHECK violation fails its statement,
# the batch is rolled back and retried row by row, so only that row is
# dead-lettered and the 40 others land once, each with its marker
pg_schema
mkcase pg-poison-many 'batch-size="50" rows-per-insert="10" marker-table="ferry_marker" create-marker="true"' ''
submit_n D 20
printf '{"id":"BADM","name":"Neg","amount":"-1.00"}\n' | fy submit claim - >/dev/null 2>&1
submit_n E 20
deliver 65
[ "$(count_state delivered)" = 40 ] || fail pg-poison-many "$(count_state delivered) of 40 delivered"
[ "$(count_state failed)" = 1 ] || fail pg-poison-many "failed count"
err=$(fy queue --json --state failed 2>/dev/null | jq -r '.records[0].last_error')
case "$err" in *23514*) ;; *) fail pg-poison-many "message: $err" ;; esac
[ "$(psql_q "SELECT count(*), count(DISTINCT ref) FROM claims")" = "40|40" ] || fail pg-poison-many "rows"
[ "$(psql_q "SELECT count(*) FROM ferry_marker")" = 40 ] || fail pg-poison-many "marker rows"
ok "PostgreSQL: many-row INSERTs of 10: the CHECK violation dead-letters its row alone, 40 rows and 40 markers once"

# --- PostgreSQL: stopped while records flow, restarted ---------------------
pg_schema
mkcase pg-flow 'batch-size="100" marker-table="ferry_marker" create-marker="true" login-timeout="2"' \
    '<retry initial="500ms" factor="1" jitter="20%" max-attempts="100"/><breaker threshold="5" cooldown="1s"/>'
N=20000
submit_n F $N
fy deliver --wait 90s > "$C/deliver.out" 2> "$C/deliver.err" &
DPID=$!
for _ in $(seq 1 400); do
    n=$(psql_q "SELECT count(*) FROM claims" 2>/dev/null || echo 0)
    [ "${n:-0}" -ge 2000 ] && break; sleep 0.05
done
pg_stop fast
sleep 2
pg_start || fail pg-flow "postgres did not restart"
wait "$DPID"; rc=$?; DPID=""
[ "$rc" = 0 ] || { tail -n 5 "$C/deliver.err"; fail pg-flow "deliver exit $rc"; }
[ "${n:-0}" -lt "$N" ] || fail pg-flow "stopped too late ($n rows)"
grep -q 'outcome=retry\|outcome=in-doubt' "$C/deliver.err" || fail pg-flow "the stop did not bite"
[ "$(count_state delivered)" = "$N" ] || fail pg-flow "$(count_state delivered) of $N delivered"
[ "$(psql_q "SELECT count(*), count(DISTINCT ref) FROM claims")" = "$N|$N" ] ||
    fail pg-flow "rows: $(psql_q "SELECT count(*), count(DISTINCT ref) FROM claims")"
ok "PostgreSQL stopped at $n rows and restarted: $N records, $N rows, each once"

# --- SQLite ----------------------------------------------------------------
if [ -f "$SQLITEODBC" ] && command -v sqlite3 >/dev/null; then
    DB=$W/legacy.db
    sqlite3 "$DB" "CREATE TABLE claims (ref CHAR(20) NOT NULL UNIQUE, name CHAR(10) NOT NULL,
        amount NUMERIC(9,2) NOT NULL CHECK (amount >= 0));"
    export FERRY_ODBC_CONN="Driver=$SQLITEODBC;Database=$DB;Timeout=5000"
    mkcase sqlite 'batch-size="25"' ''
    submit_n S 30
    printf '{"id":"BAD","name":"Neg","amount":"-1.00"}\n' | fy submit claim - >/dev/null 2>&1
    submit_n T 30
    deliver 65
    [ "$(count_state delivered)" = 60 ] || fail sqlite "$(count_state delivered) of 60 delivered"
    [ "$(sqlite3 "$DB" "SELECT count(*) FROM claims")" = 60 ] || fail sqlite "rows"
    err=$(fy queue --json --state failed 2>/dev/null | jq -r '.records[0].last_error')
    case "$err" in *CHECK*|*constraint*) ;; *) fail sqlite "message: $err" ;; esac
    ok "SQLite: 60 delivered, the CHECK violation failed alone ('$(printf '%.50s' "$err")...')"
else
    echo "skip sqlite: libsqliteodbc or sqlite3 missing"
fi
echo "$CASES cases passed"
