#!/bin/bash
# deliver_odbc.sh - stream delivery end to end into PostgreSQL WITH ledger
# updates: the real `ferry deliver` (claims of 1000, batch-size 1000, one
# transaction per batch in the target, outcomes committed per claim;
# rows-per-insert 1, array binding as before, then the default 100) via
# psqlODBC into a server started here on a free loopback port.  In the
# same run, `psql \copy` loads the very same rows into the same table
# shape: the raw rate; the ratio is ferry / copy.
# Prints "name value unit" lines.  BENCH_DELIVER_ODBC_N (default 100000);
# BENCH_WRAP="perf record -g -o /tmp/p.data" profiles the ferry run;
# BENCH_ODBC_CONN_EXTRA=";BatchSize=1000" adds psqlODBC options.
set -u
ROOT=${FERRY_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${FERRY_BUILD:-$ROOT/build/release}
FERRY=${FERRY_BIN:-$BUILD/ferry}
DATA=$ROOT/tests/data/deliver
N=${BENCH_DELIVER_ODBC_N:-100000}
. "$ROOT/tests/peers/pg.sh"
pg_have || { echo "# deliver_odbc: PostgreSQL 15 / psqlODBC not installed, skipped"; exit 0; }
[ -x "$FERRY" ] || { echo "# deliver_odbc: no $FERRY"; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/ferry-bench-dodbc.XXXXXX")
chmod 0755 "$T"
cleanup() { pg_cleanup; rm -rf "$T"; }
trap cleanup EXIT
PG_DURABLE=1 pg_start "$T" bench-dodbc || { echo "# deliver_odbc: postgres did not start"; exit 1; }
export FERRY_ODBC_CONN="Driver=$PG_PSQLODBC;Server=127.0.0.1;Port=$PGPORT;Database=postgres;UID=ferry${BENCH_ODBC_CONN_EXTRA:-}"
export PGOPTIONS="-c client_min_messages=warning"
psql_q() { psql -X -q -A -t -h 127.0.0.1 -p "$PGPORT" -U ferry postgres -c "$1"; }
psql_q "CREATE TABLE claims (ref CHAR(20) NOT NULL, name CHAR(10) NOT NULL,
          amount NUMERIC(9,2) NOT NULL CHECK (amount >= 0));
        CREATE TABLE claims_copy (LIKE claims INCLUDING ALL);"

# run_one RPI - a fresh spool of N records delivered with rows-per-insert
# RPI into an empty table; prints the rate (rows/s)
run_one() {
    local C=$T/run$1
    rm -rf "$C"; mkdir -p "$C"
    psql_q "TRUNCATE claims"
    cp "$DATA/odbc-claims.xml" "$C/map.xml"
    sed -e "s#@ATTRS@#batch-size=\"1000\" rows-per-insert=\"$1\"#" -e 's#@CHILDREN@##' -e 's#@LEVEL@#warn#' \
        "$DATA/ferry-odbc.xml.in" > "$C/ferry.xml"
    seq 1 "$N" | awk '{printf "{\"id\":\"B%07d\",\"name\":\"N%d\",\"amount\":\"%d.%02d\"}\n", $1, $1 % 100000, $1 % 1000, $1 % 100}' |
        "$FERRY" submit --config "$C/ferry.xml" claim - >/dev/null 2>&1 || { echo "# deliver_odbc: submit failed" >&2; return 1; }
    local s e rows
    s=$(date +%s%N)
    ${BENCH_WRAP:-} "$FERRY" deliver --config "$C/ferry.xml" > /dev/null 2> "$C/deliver.err" ||
        { tail -3 "$C/deliver.err" >&2; echo "# deliver_odbc: ferry deliver failed" >&2; return 1; }
    e=$(date +%s%N)
    rows=$(psql_q "SELECT count(*) FROM claims")
    [ "$rows" = "$N" ] || echo "# deliver_odbc: $rows rows for $N records" >&2
    awk -v n="$rows" -v ns=$((e - s)) 'BEGIN { printf "%.0f", n / (ns / 1e9) }'
}
# rows-per-insert 1 (array binding, as before) beside the default 100;
# the default last, so the table holds its rows for \copy
array=$(run_one 1) || exit 1
ours=$(run_one 100) || exit 1
rows=$(psql_q "SELECT count(*) FROM claims")

# the same rows, as psql \copy loads them
psql_q "\\copy (SELECT * FROM claims) TO '$T/rows.csv' WITH (FORMAT csv)"
s=$(date +%s%N)
psql_q "\\copy claims_copy FROM '$T/rows.csv' WITH (FORMAT csv)"
e=$(date +%s%N)
crows=$(psql_q "SELECT count(*) FROM claims_copy")
raw=$(awk -v n="$crows" -v ns=$((e - s)) 'BEGIN { printf "%.0f", n / (ns / 1e9) }')

echo "deliver_odbc_end_to_end_rows_per_insert_1 $array rows/s"
awk -v a="$array" -v b="$raw" 'BEGIN { printf "deliver_odbc_ratio_rows_per_insert_1_to_copy %.3f ratio\n", a / b }'
echo "deliver_odbc_end_to_end $ours rows/s"
echo "deliver_odbc_rows $rows rows"
echo "deliver_odbc_psql_copy $raw rows/s"
awk -v a="$ours" -v b="$raw" 'BEGIN { printf "deliver_odbc_ratio_ferry_to_copy %.3f ratio\n", a / b }'
awk -v a="$ours" -v b="$raw" 'BEGIN { printf "deliver_odbc_target_0.3_of_copy %s\n", (a / b >= 0.3 ? "met" : "missed") }'
