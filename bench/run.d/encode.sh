#!/bin/bash
# encode.sh - map and encode one GOV.UK Forms-style refund claim through
# ferry's real path (bench/bench_encode.c: simdjson's parse as `ferry
# submit` takes it, and jansson's as every other caller) and through a straightforward
# Python 3 script (bench/encode_baseline.py), both pinned to the same one
# core, in the same run.  Checks the two produced the same 150 bytes, then
# prints both rates, the ratio and the load average at the time (the
# machine is shared: read the ratio, not the absolute figures, when it is
# busy).  BENCH_CPU picks the core (default 1, else 0 on one-core hosts);
# BENCH_SECONDS the time per measurement (default 2).
set -eu
cd "$FERRY_ROOT"
B=$FERRY_BUILD/bench/bench_encode
[ -x "$B" ] || { echo "# no $B (make bench builds it)"; exit 1; }
secs=${BENCH_SECONDS:-2}
cpu=${BENCH_CPU:-1}
[ "$(nproc --all)" -gt "$cpu" ] || cpu=0
pin=""
command -v taskset >/dev/null && pin="taskset -c $cpu"
map=examples/mappings/refund-claim.xml
sub=bench/data/refund-claim.json
out=$(mktemp)
trap 'rm -f "$out" "$out.py"' EXIT

echo "# pinned: ${pin:-no (taskset missing)}; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
$pin "$B" "$map" "$sub" "$secs" | tee "$out"
$pin python3 bench/encode_baseline.py "$sub" "$secs" > "$out.py"
grep -v '^# record' "$out.py"
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

c_rec=$(awk '$2=="record"{print $3}' "$out")
p_rec=$(awk '$2=="record"{print $3}' "$out.py")
if [ "$c_rec" != "$p_rec" ]; then
    echo "# the Python baseline's record differs from ferry's:"
    echo "#   python $p_rec"
    exit 1
fi
echo "# the Python baseline produced the same 150 bytes"
ferry=$(awk '$1=="encode_ferry_rate"{print $2}' "$out")
py=$(awk '$1=="encode_python_rate"{print $2}' "$out.py")
jan=$(awk '$1=="encode_jansson_path_rate"{print $2}' "$out")
me=$(awk '$1=="encode_map_and_encode_rate"{print $2}' "$out")
awk -v f="$ferry" -v p="$py" -v j="$jan" -v m="$me" 'BEGIN {
    printf "encode_ratio %.1f x\n", f / p;
    printf "encode_target_150k_with_json_parse %s (%.2f x the goal)\n", (f >= 150000 ? "pass" : "miss"), f / 150000;
    printf "encode_target_400k_map_and_encode %s (%.2f x the goal)\n", (m >= 400000 ? "pass" : "miss"), m / 400000;
    printf "encode_ratio_vs_jansson_path %.1f x (the same job parsed by jansson)\n", f / j }'
