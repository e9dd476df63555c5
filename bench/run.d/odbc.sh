#!/bin/bash
# odbc.sh - ODBC into PostgreSQL: rows/s through the adapter (batch-size
# 1000, psqlODBC, array binding) against psql \copy of the same rows, in the
# same run on the same server.  Starts PostgreSQL 15 in a temp folder on a
# free loopback port and stops it.  Target: >= 20,000 rows/s.
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

export FERRY_ODBC_CONN="Driver=$PG_PSQLODBC;Server=127.0.0.1;Port=$PGPORT;Database=postgres;UID=ferry"
"$BENCH" "$ROWS" "$W/rows.csv" > "$W/out" || { cat "$W/out"; exit 1; }
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
        printf "odbc_adapter_vs_copy_ratio %.3f ratio\n", a / c;
        printf "odbc_adapter_target_20000 %s pass\n", (a >= 20000 ? "yes" : "no");
    }'
