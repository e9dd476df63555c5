#!/bin/bash
# report.sh - management information over 1,000,000 records: builds the
# ledger once with tests/helpers/mi_ledger (30 days, three services,
# every channel and outcome; kept in BENCH_MI_DIR between runs when set),
# then times `ferry report --format json` over it, best of BENCH_RUNS
# (default 3) by wall clock, with its CPU time.  Same-run baseline: the
# plainest SQL over the same rows, sqlite3's own
#   SELECT service, channel, state, day, count(*) ... GROUP BY
# which counts less than the report does (no times, no percentiles, no
# interventions).  Prints both, the ratio and the load average (the
# machine is shared: read the ratio when it is busy).
set -eu
cd "$FERRY_ROOT"
H=$FERRY_BUILD/tests/helpers/mi_ledger
[ -x "$H" ] || { echo "# no $H (make bench builds it)"; exit 1; }
command -v sqlite3 >/dev/null || { echo "# sqlite3 (the CLI) is needed for the baseline"; exit 1; }
N=${BENCH_MI_RECORDS:-1000000}
runs=${BENCH_RUNS:-3}
dir=${BENCH_MI_DIR:-}
tmp=""
if [ -z "$dir" ]; then
    tmp=$(mktemp -d); dir=$tmp
fi
trap '[ -n "$tmp" ] && rm -rf "$tmp"' EXIT
if [ ! -s "$dir/sp/ledger.db" ]; then
    t0=$(date +%s.%N)
    "$H" "$dir/sp" "$N" 30 >/dev/null
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" -v n="$N" 'BEGIN { printf "report_ledger_build %.1f s (%d records)\n", b - a, n }'
fi
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
# best - best of $runs wall times of "$@" (stdout dropped); prints "wall cpu"
best() {
    local b="" c=""
    for _ in $(seq "$runs"); do
        local out
        out=$( { /usr/bin/time -f '%e %U %S' "$@" >/dev/null; } 2>&1 | tail -1)
        read -r w u s <<<"$out"
        if [ -z "$b" ] || awk -v w="$w" -v b="$b" 'BEGIN { exit !(w < b) }'; then
            b=$w; c=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
        fi
    done
    echo "$b $c"
}
read -r rw rc <<<"$(best "$FERRY_BIN" report --spool "$dir/sp" --format json)"
read -r bw bc <<<"$(best sqlite3 "$dir/sp/ledger.db" "SELECT service, channel, state, received_at / 86400000, count(*) FROM records GROUP BY 1, 2, 3, 4")"
n=$("$FERRY_BIN" report --spool "$dir/sp" --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"]["received"])')
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "report_records $n"
echo "report_1m_wall $rw s (cpu $rc s)"
echo "report_baseline_sqlite_group_by $bw s (cpu $bc s)"
awk -v r="$rw" -v b="$bw" 'BEGIN {
    printf "report_ratio_vs_baseline %.2f x (below 1: faster than the bare GROUP BY)\n", r / b;
    printf "report_target_under_1s %s\n", (r < 1.0 ? "met" : "missed") }'
