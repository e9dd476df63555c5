#!/bin/bash
# submit.sh - command-line intake: `ferry submit` of BENCH_SUBMIT_RECORDS
# (default 100,000) GOV.UK Forms-style ~1 KB NDJSON submissions and
# `ferry import` of the same claims as CSV, each into a fresh spool,
# against two same-run baselines:
#   - bench/submit_baseline.py: a plain Python 3 script doing the same
#     work (parse, the mapping's checks, decimal.Decimal, the idempotency
#     check, reference, keyed search hashes, payload and record in SQLite
#     WAL with synchronous=FULL, 1,000 per transaction);  goal >= 5x
#   - the spool's own batched insert rate (bench_intake, 1 KB records,
#     1,000 per spool_enqueue: the floor under any intake);  goal: ferry
#     within 2x of it (ratio >= 0.5)
# The input is made by bench/intake_gen.py from the record number alone,
# so every run reads the same bytes.  Every accepted record is durable
# (committed with synchronous=FULL) before ferry prints its reference,
# as in production; the counts are checked from the ledger afterwards.
set -eu
cd "$FERRY_ROOT"
N=${BENCH_SUBMIT_RECORDS:-100000}
BIN=$FERRY_BIN
BI=$FERRY_BUILD/bench/bench_intake
[ -x "$BIN" ] || { echo "# no $BIN"; exit 1; }
[ -x "$BI" ] || { echo "# no $BI (make bench builds it)"; exit 1; }
command -v python3 >/dev/null || { echo "# submit: python3 not installed, skipped"; exit 0; }
T=$(mktemp -d "${TMPDIR:-/tmp}/ferry-bench-submit.XXXXXX")
trap 'rm -rf "$T"' EXIT
cp -r examples/. "$T/ex/"
python3 bench/intake_gen.py ndjson "$N" "$T/in.ndjson"
python3 bench/intake_gen.py csv "$N" "$T/in.csv"

# secs CMD... - wall seconds of CMD (stdout dropped, stderr kept in $T/err)
secs() {
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>"$T/err" || { echo "# failed: $*"; cat "$T/err"; return 1; }
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}
# ledger_count SPOOL - records the ledger holds
ledger_count() {
    python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from records").fetchone()[0])' "$1/ledger.db"
}
# a spool made before timing, so the key files and schema are not timed
fresh() {
    "$BIN" submit --config "$T/ex/ferry.xml" --spool "$1" --quiet refund-claim /dev/null 2>/dev/null || true
}

echo "# $N records; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
spool_rate=$("$BI" "$N" | awk '$1=="intake_batched_rate"{print $2}')
fresh "$T/sub"
ts=$(secs "$BIN" submit --config "$T/ex/ferry.xml" --spool "$T/sub" --quiet refund-claim "$T/in.ndjson")
ns=$(ledger_count "$T/sub")
fresh "$T/imp"
ti=$(secs "$BIN" import --config "$T/ex/ferry.xml" --spool "$T/imp" --quiet refund-claim "$T/in.csv")
ni=$(ledger_count "$T/imp")
py_s=$(python3 bench/submit_baseline.py "$T/in.ndjson" "$T/py.db" | awk '$1=="submit_python_rate"{print $2}')
py_i=$(python3 bench/submit_baseline.py "$T/in.csv" "$T/pyc.db" | awk '$1=="submit_python_rate"{print $2}')
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
[ "$ns" = "$N" ] || { echo "# submit stored $ns of $N"; exit 1; }
[ "$ni" = "$N" ] || { echo "# import stored $ni of $N"; exit 1; }
awk -v n="$N" -v ts="$ts" -v ti="$ti" -v ps="$py_s" -v pi="$py_i" -v sp="$spool_rate" 'BEGIN {
    s = n / ts; i = n / ti;
    printf "submit_ferry_rate %.0f records/s (%.2f s)\n", s, ts;
    printf "submit_python_rate %.0f records/s\n", ps;
    printf "submit_ratio_vs_python %.2f x (goal >= 5: %s)\n", s / ps, (s >= 5 * ps ? "pass" : "miss");
    printf "submit_spool_batched_rate %.0f records/s\n", sp;
    printf "submit_ratio_vs_spool %.2f x (goal >= 0.5, within 2x: %s)\n", s / sp, (2 * s >= sp ? "pass" : "miss");
    printf "import_ferry_rate %.0f records/s (%.2f s)\n", i, ti;
    printf "import_python_rate %.0f records/s\n", pi;
    printf "import_ratio_vs_python %.2f x (goal >= 5: %s)\n", i / pi, (i >= 5 * pi ? "pass" : "miss");
    printf "import_ratio_vs_spool %.2f x (goal >= 0.5, within 2x: %s)\n", i / sp, (2 * i >= sp ? "pass" : "miss");
}'
