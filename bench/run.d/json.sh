#!/bin/bash
# json.sh - the packaged JSON parsers on the benchmark's documents: jansson
# (ferry's parser today) against simdjson 3 (libsimdjson-dev), DOM and
# On-Demand, pinned to one core, on 1,000 of bench/intake_gen.py's
# GOV.UK-style submissions and on bench/data/refund-claim.json.  Builds
# bench/json_eval.cc with g++ into the build folder (it is a measurement,
# not part of ferry).  Baseline: jansson in the same run; prints each
# rate and the ratio.  BENCH_SECONDS per figure (default 2).
set -eu
cd "$FERRY_ROOT"
command -v g++ >/dev/null || { echo "# json: g++ not installed, skipped"; exit 0; }
[ -f /usr/include/simdjson.h ] || { echo "# json: libsimdjson-dev not installed, skipped"; exit 0; }
B=$FERRY_BUILD/bench/json_eval
mkdir -p "$(dirname "$B")"
if [ ! -x "$B" ] || [ bench/json_eval.cc -nt "$B" ]; then
    g++ -std=c++17 -O2 -o "$B" bench/json_eval.cc -lsimdjson -ljansson
fi
cpu=${BENCH_CPU:-1}
[ "$(nproc --all)" -gt "$cpu" ] || cpu=0
pin=""
command -v taskset >/dev/null && pin="taskset -c $cpu"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
python3 bench/intake_gen.py ndjson 1000 "$T/docs.ndjson"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
$pin "$B" "$T/docs.ndjson" "${BENCH_SECONDS:-2}"
$pin "$B" bench/data/refund-claim.json "${BENCH_SECONDS:-2}" | sed 's/^json_/json_refund_claim_/'
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
