#!/bin/bash
# deliver_pg.sh - stream delivery on a PostgreSQL spool, end to end
# (`ferry deliver`: claim with lease, SOAP calls, outcomes and receipts
# committed per claim), against the node SOAP peer answering every call
# after a fixed 20 ms (--delay-ms), PostgreSQL durable (fsync on).
#   1. claim-and-settle: one node, concurrency 32, the same records into a
#      PostgreSQL spool and into an SQLite spool in the same run (rounds
#      alternate); goal PostgreSQL / SQLite >= 0.8.
#   2. nodes: 1, 2 and 3 `ferry deliver` nodes (concurrency 8 each, one
#      spool folder each) on one PostgreSQL ledger, N records a node;
#      goals 2 nodes >= 1.8x one node, 3 >= 2.5x.
# Prints "name value unit" lines.  BENCH_DELIVER_PG_N (default 4000)
# records for part 1, BENCH_DELIVER_PG_ROUNDS (default 2) its rounds,
# BENCH_DELIVER_PG_NODE_N (default 2000) records a node for part 2.
set -u
ROOT=${FERRY_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${FERRY_BUILD:-$ROOT/build/release}
FERRY=${FERRY_BIN:-$BUILD/ferry}
. "$ROOT/tests/peers/soap.sh"
. "$ROOT/tests/peers/pg.sh"
DATA=$ROOT/tests/data/deliver
N=${BENCH_DELIVER_PG_N:-4000}
ROUNDS=${BENCH_DELIVER_PG_ROUNDS:-2}
NODE_N=${BENCH_DELIVER_PG_NODE_N:-2000}
DELAY=20
command -v node >/dev/null || { echo "# deliver_pg: node not installed, skipped"; exit 0; }
[ -x "$PG_BIN/postgres" ] || { echo "# deliver_pg: PostgreSQL 15 not installed, skipped"; exit 0; }
[ -x "$FERRY" ] || { echo "# deliver_pg: no $FERRY"; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/ferry-bench-dpg.XXXXXX")
chmod 0755 "$T"
cleanup() { soap_stop; pg_cleanup; rm -rf "$T"; }
trap cleanup EXIT
soap_have "$T" >/dev/null || { echo "# deliver_pg: npm ci failed"; exit 1; }
soap_start "$T" --delay-ms "$DELAY" >/dev/null || { echo "# deliver_pg: SOAP peer did not start"; exit 1; }
URL=http://127.0.0.1:$SOAP_PORT/claims
PG_DURABLE=1 pg_start "$T" bench-dpg >/dev/null || { echo "# deliver_pg: postgres did not start"; exit 1; }
DBN=0

# newdb - a fresh ledger database; its name in DB
newdb() {
    DBN=$((DBN + 1))
    DB=ferry_b$DBN
    psql -X -q -h 127.0.0.1 -p "$PGPORT" -U ferry postgres -c "CREATE DATABASE $DB" >/dev/null
}
# node DIR CONC [DB] - a node's configuration in DIR (SQLite spool without
# DB, else a PostgreSQL one on DB)
node() {
    local attrs=""
    mkdir -p "$1"
    cp "$DATA/soap-by-ref.xml" "$1/map.xml"
    if [ -n "${3:-}" ]; then
        attrs=' backend="postgresql" connection-file="ledger.conn"'
        printf 'host=127.0.0.1 port=%s user=ferry dbname=%s\n' "$PGPORT" "$3" > "$1/ledger.conn"
        chmod 600 "$1/ledger.conn"
    fi
    sed -e "s#@ENDPOINT@#$URL#" -e "s#@ATTRS@#concurrency=\"$2\" timeout=\"10s\"#" \
        -e 's#@CHILDREN@##' -e 's#@MAPPING@#map.xml#' -e 's#level="info"#level="warn"#' \
        -e "s#<spool dir=\"spool\"/>#<spool dir=\"spool\"$attrs/>#" \
        "$DATA/ferry-soap.xml.in" > "$1/ferry.xml"
}
# submit DIR N TAG - N records through DIR's node
submit() {
    seq 1 "$2" | awk -v t="$3" '{printf "{\"id\":\"%s%07d\",\"amount\":\"12.50\"}\n", t, $1}' |
        "$FERRY" submit --config "$1/ferry.xml" claim - >/dev/null 2>&1
}
# delivered DIR - how many records DIR's ledger holds delivered
delivered() {
    "$FERRY" queue --config "$1/ferry.xml" --json --state delivered 2>/dev/null |
        sed -n 's/.*"count":\([0-9]*\).*/\1/p'
}
# run_nodes DIR... - `ferry deliver` on every DIR at once; elapsed ns in NS
run_nodes() {
    local s e pids=() d
    s=$(date +%s%N)
    for d in "$@"; do
        "$FERRY" deliver --config "$d/ferry.xml" > /dev/null 2> "$d/deliver.err" &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || echo "# deliver_pg: a ferry deliver failed"; done
    e=$(date +%s%N)
    NS=$((e - s))
}
rate() { awk -v n="$1" -v ns="$2" 'BEGIN { printf "%.0f", n / (ns / 1e9) }'; }

echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
node "$T/warm" 32
submit "$T/warm" 1000 W
"$FERRY" deliver --config "$T/warm/ferry.xml" >/dev/null 2>&1     # warm the peer's JIT

# ---- 1. claim-and-settle, PostgreSQL spool beside SQLite -----------------
lite_ns=0; pg_ns=0; lite_n=0; pg_n=0
for r in $(seq 1 "$ROUNDS"); do
    node "$T/lite$r" 32
    submit "$T/lite$r" "$N" L
    newdb
    node "$T/pg$r" 32 "$DB"
    submit "$T/pg$r" "$N" P
    for which in lite pg; do
        run_nodes "$T/$which$r"
        got=$(delivered "$T/$which$r")
        [ "$got" = "$N" ] || echo "# deliver_pg: $which round $r: only $got of $N delivered"
        if [ $which = lite ]; then lite_ns=$((lite_ns + NS)); lite_n=$((lite_n + got))
        else pg_ns=$((pg_ns + NS)); pg_n=$((pg_n + got)); fi
    done
done
lite=$(rate "$lite_n" "$lite_ns")
pg=$(rate "$pg_n" "$pg_ns")
echo "deliver_pg_claim_settle_sqlite $lite records/s"
echo "deliver_pg_claim_settle_postgresql $pg records/s"
awk -v a="$pg" -v b="$lite" 'BEGIN { r = a / b; printf "deliver_pg_claim_settle_ratio %.2f ratio (goal >= 0.8: %s)\n", r, (r >= 0.8 ? "pass" : "miss") }'

# ---- 2. one, two and three nodes on one PostgreSQL ledger ----------------
for k in 1 2 3; do
    newdb
    dirs=()
    for i in $(seq 1 "$k"); do
        node "$T/n$k-$i" 8 "$DB"
        dirs+=("$T/n$k-$i")
    done
    submit "$T/n$k-1" $((NODE_N * k)) "N$k"
    run_nodes "${dirs[@]}"
    got=$(delivered "$T/n$k-1")
    [ "$got" = $((NODE_N * k)) ] || echo "# deliver_pg: $k nodes: only $got of $((NODE_N * k)) delivered"
    eval "r$k=$(rate "$got" "$NS")"
    echo "deliver_pg_nodes_$k $(eval echo \$r$k) records/s"
done
awk -v a="$r2" -v b="$r1" 'BEGIN { r = a / b; printf "deliver_pg_nodes_2_to_1 %.2f ratio (goal >= 1.8: %s)\n", r, (r >= 1.8 ? "pass" : "miss") }'
awk -v a="$r3" -v b="$r1" 'BEGIN { r = a / b; printf "deliver_pg_nodes_3_to_1 %.2f ratio (goal >= 2.5: %s)\n", r, (r >= 2.5 ? "pass" : "miss") }'
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
