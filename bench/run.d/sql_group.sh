#!/bin/bash
# sql_group.sh - group commit on the PostgreSQL ledger (bench_sqlgroup):
# 1,000-row groups one round trip each by pipeline and by multi-row
# INSERT, beside one round trip a row, against a durable PostgreSQL 15
# (fsync on) started here on a free loopback port.  BENCH_SQLGROUP_GROUPS
# (default 36).  Prints "name value unit" lines.
set -u
ROOT=${FERRY_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${FERRY_BUILD:-$ROOT/build/release}
BIN=$BUILD/bench/bench_sqlgroup
. "$ROOT/tests/peers/pg.sh"
[ -x "$PG_BIN/postgres" ] || { echo "# sql_group: PostgreSQL 15 not installed, skipped"; exit 0; }
[ -x "$BIN" ] || { echo "# sql_group: no $BIN"; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/ferry-bench-sqlgroup.XXXXXX")
chmod 0755 "$T"
cleanup() { pg_cleanup; rm -rf "$T"; }
trap cleanup EXIT
PG_DURABLE=1 pg_start "$T" bench-sqlgroup || { echo "# sql_group: postgres did not start"; exit 1; }
FERRY_PG_CONNINFO="host=127.0.0.1 port=$PGPORT user=ferry dbname=postgres" \
    "$BIN" "${BENCH_SQLGROUP_GROUPS:-36}"
