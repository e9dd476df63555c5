#!/bin/bash
# intake_pg.sh - durable batched intake into a PostgreSQL spool beside an
# SQLite spool in the same run (bench_intake_pg), against a durable
# PostgreSQL 15 (fsync on) started here on a free loopback port.
# BENCH_INTAKE_PG_RECORDS (default 20,000 a round).  Prints "name value
# unit" lines.
set -u
ROOT=${FERRY_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${FERRY_BUILD:-$ROOT/build/release}
BIN=$BUILD/bench/bench_intake_pg
. "$ROOT/tests/peers/pg.sh"
[ -x "$PG_BIN/postgres" ] || { echo "# intake_pg: PostgreSQL 15 not installed, skipped"; exit 0; }
[ -x "$BIN" ] || { echo "# intake_pg: no $BIN"; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/ferry-bench-intakepg.XXXXXX")
chmod 0755 "$T"
cleanup() { pg_cleanup; rm -rf "$T"; }
trap cleanup EXIT
PG_DURABLE=1 pg_start "$T" bench-intakepg || { echo "# intake_pg: postgres did not start"; exit 1; }
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
FERRY_PG_CONNINFO="host=127.0.0.1 port=$PGPORT user=ferry dbname=postgres" \
    TMPDIR="$T" "$BIN" "${BENCH_INTAKE_PG_RECORDS:-20000}"
