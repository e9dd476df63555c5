#!/bin/bash
# odbc.sh - ODBC into PostgreSQL: rows/s through the adapter (batch-size
# 1000, psqlODBC) against psql \copy of the same rows, in the same run on
# the same server, for each option measured: rows-per-insert 1 (array
# binding only, as before), 10, 1000, 100 with psqlODBC's
# UseServerSidePrepare=0, and 100 (the default)
# (BENCH_ODBC_VARIANTS="RPI:EXTRA ...").  Starts PostgreSQL 15 in a temp
# folder on a free loopback port and stops it.  Target: >= 20,000 rows/s.
#
#   bench/run.d/odbc.sh            (FERRY_BUILD from bench/run.sh, else
#                                   build/release)   ROWS=100000 to change
set -u
ROOT=${FERRY_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${FERRY_BUILD:-$ROOT/build/release}
BENCH=$BUILD/bench/bench_odbc
ROWS=${ROWS:-100000}
. "$ROOT/tests/peers/pg.sh"
[ -x "$BENCH" ] || { echo "# odbc: $BENCH not built"; exit 1; }
pg_have || { echo "# odbc: skipped (PostgreSQL 15 / psqlODBC missing)"; exit 0; }

W=$(mktemp -d "${TMPDIR:-/tmp}/benchodbc.XXXXXX")
chmod 0755 "$W"
cleanup() { pg_cleanup; rm -rf "$W"; }
trap cleanup EXIT
# fsync stays ON here: the figure is for a durable commit per batch
PG_DURABLE=1 pg_start "$W" benchpg || exit 1
export PGOPTIONS="-c client_min_messages=warning"
psql_q() { psql -X -q -A -t -h 127.0.0.1 -p "$PGPORT" -U ferry postgres -c "$1"; }
DDL="(ref CHAR(12) NOT NULL PRIMARY KEY, name CHAR(20) NOT NULL,
      amount NUMERIC(9,2) NOT NULL CHECK (amount >= 0), born DATE,
      at TIMESTAMP, qty INTEGER)"
psql_q "CREATE TABLE bench_claims $DDL; CREATE TABLE copy_claims $DDL;"

CONN="Driver=$PG_PSQLODBC;Server=127.0.0.1;Port=$PGPORT;Database=postgres;UID=ferry"
# the options measured side by side (rows-per-insert / psqlODBC's
# UseServerSidePrepare), each into an empty table; the default last, so
# bench_claims holds its rows for the comparison with \copy below
variants=${BENCH_ODBC_VARIANTS:-"1: 10: 1000: 100:;UseServerSidePrepare=0 100:"}
for v in $variants; do
    rpi=${v%%:*}; extra=${v#*:}
    psql_q "TRUNCATE bench_claims"
    FERRY_ODBC_CONN="$CONN$extra" BENCH_ODBC_ROWS_PER_INSERT=$rpi \
        "$BENCH" "$ROWS" "$W/rows.csv" > "$W/out" || { cat "$W/out"; exit 1; }
    r=$(awk '/^odbc_adapter_rate/{print $2}' "$W/out")
    echo "odbc_adapter_rate_rows_per_insert_${rpi}${extra:+_$(echo "$extra" | tr -c 'A-Za-z0-9\n' _)} $r rows/s"
    echo "$r" > "$W/rate.$rpi$extra"
done
cat "$W/out"
n=$(psql_q "SELECT count(*) FROM bench_claims")
[ "$n" = "$ROWS" ] || { echo "# odbc: table has $n rows, expected $ROWS"; exit 1; }

t0=$(date +%s.%N)
psql -X -q -h 127.0.0.1 -p "$PGPORT" -U ferry postgres \
    -c "\\copy copy_claims FROM '$W/rows.csv' WITH (FORMAT csv)" || exit 1
t1=$(date +%s.%N)
n=$(psql_q "SELECT count(*) FROM copy_claims")
[ "$n" = "$ROWS" ] || { echo "# odbc: copy table has $n rows"; exit 1; }
same=$(psql_q "SELECT count(*) FROM bench_claims b JOIN copy_claims c USING (ref)
               WHERE b.name = c.name AND b.amount = c.amount AND b.born = c.born
                 AND b.at = c.at AND b.qty = c.qty")
echo "odbc_rows_identical_to_copy $same rows"
awk -v n="$ROWS" -v a="$(awk '/^odbc_adapter_rate/{print $2}' "$W/out")" \
    -v t0="$t0" -v t1="$t1" 'BEGIN {
        c = n / (t1 - t0);
        printf "psql_copy_rate %.0f rows/s\n", c;
        printf "odbc_adapter_vs_copy_ratio %.3f ratio (rows-per-insert 100)\n", a / c;
        printf "odbc_adapter_target_20000 %s pass\n", (a >= 20000 ? "yes" : "no");
    }'
# every variant against the same \copy
for v in $variants; do
    rpi=${v%%:*}; extra=${v#*:}
    awk -v n="$ROWS" -v a="$(cat "$W/rate.$rpi$extra")" -v t0="$t0" -v t1="$t1" \
        -v name="rows-per-insert $rpi$extra" 'BEGIN {
        printf "odbc_adapter_vs_copy %s: %.0f rows/s, copy %.0f rows/s, ratio %.3f\n",
               name, a, n / (t1 - t0), a / (n / (t1 - t0)) }'
done
