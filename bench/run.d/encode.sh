#!/bin/bash
# encode.sh - ferry's fixed-width encoder against the Python baseline on
# the same submission; prints both rates and their ratio.
set -eu
cd "$FERRY_ROOT"
B=$FERRY_BUILD/bench/bench_encode
[ -x "$B" ] || { echo "# no $B (make bench builds it)"; exit 1; }
secs=${BENCH_SECONDS:-2}
"$B" bench/data/submission.json "$secs" | tee "${TMPDIR:-/tmp}/bench_encode.$$"
ferry=$(awk '$1=="encode_ferry_rate"{print $2}' "${TMPDIR:-/tmp}/bench_encode.$$")
enc=$(awk '$1=="encode_ferry_encoder_only_rate"{print $2}' "${TMPDIR:-/tmp}/bench_encode.$$")
rm -f "${TMPDIR:-/tmp}/bench_encode.$$"
py=$(python3 bench/encode_baseline.py bench/data/submission.json "$secs" | awk '{print $2}')
echo "encode_python_rate $py records/s"
# the 200,000/s target: for JSON parse + map + encode, and for the encoder
awk -v f="$ferry" -v p="$py" -v e="$enc" 'BEGIN {
    printf "encode_ratio %.1f x\n", f / p;
    printf "encode_target_200k_with_json %s\n", (f >= 200000 ? "met" : "missed");
    printf "encode_target_200k_encoder %s\n", (e >= 200000 ? "met" : "missed") }'
