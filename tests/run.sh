#!/bin/bash
# run.sh BUILD - run every test against the build in BUILD (e.g. build/san).
#
#   1. each Check unit-test binary BUILD/tests/check_*;
#   2. each tests/integration/NN_*.sh, with FERRY_BIN, FERRY_BUILD,
#      FERRY_ROOT and a private TMPDIR; exit 77 means skipped.
#
# Prints one line per test and a closing "N passed, N failed, N skipped".
# TESTS=pattern limits the run to matching names.
set -u
BUILD=${1:-build/san}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export FERRY_ROOT=$ROOT
export FERRY_BUILD=$ROOT/$BUILD
export FERRY_BIN=$ROOT/$BUILD/ferry
export CK_DEFAULT_TIMEOUT=${CK_DEFAULT_TIMEOUT:-60}
export CK_FORK=${CK_FORK:-yes}
pass=0; fail=0; skip=0; failed=()
logdir=$(mktemp -d "${TMPDIR:-/tmp}/ferry-tests.XXXXXX")

run_one() {
    local name=$1; shift
    case "$name" in *${TESTS:-}*) ;; *) return ;; esac
    local log="$logdir/$(basename "$name").log" start end rc
    start=$(date +%s)
    TMPDIR=$(mktemp -d "$logdir/tmp.XXXXXX") "$@" > "$log" 2>&1
    rc=$?
    end=$(date +%s)
    if [ $rc -eq 0 ]; then
        pass=$((pass+1)); printf 'PASS  %-40s %3ss\n' "$name" $((end-start))
    elif [ $rc -eq 77 ]; then
        skip=$((skip+1)); printf 'SKIP  %-40s (%s)\n' "$name" "$(tail -n1 "$log")"
    else
        fail=$((fail+1)); failed+=("$name")
        printf 'FAIL  %-40s %3ss (exit %d)\n' "$name" $((end-start)) $rc
        sed 's/^/    | /' "$log" | tail -n 60
    fi
}

for t in "$BUILD"/tests/check_*; do
    [ -x "$t" ] || continue
    run_one "unit/$(basename "$t")" "$t"
done
for t in tests/integration/[0-9]*.sh; do
    [ -f "$t" ] || continue
    run_one "integration/$(basename "$t" .sh)" bash "$t"
done

echo
if [ $fail -gt 0 ]; then
    echo "failed: ${failed[*]}"
    echo "logs kept in $logdir"
else
    rm -rf "$logdir"
fi
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ] && [ $pass -gt 0 ]
