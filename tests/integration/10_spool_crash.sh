#!/bin/sh
# 10_spool_crash.sh - SIGKILL the spool at each named crash point, reopen,
# and prove that everything acknowledged before the kill is there, the
# ledger passes integrity_check, and nothing is stored twice (re-running
# the same submissions finds them as duplicates).
set -u
: "${FERRY_BUILD:?}" "${TMPDIR:=/tmp}"
H="${FERRY_ROOT:-.}/$FERRY_BUILD/tests/helpers/spool_crash"
[ -x "$H" ] || H="$FERRY_BUILD/tests/helpers/spool_crash"
[ -x "$H" ] || { echo "spool_crash helper not built"; exit 1; }
W=$(mktemp -d "$TMPDIR/spool_crash.XXXXXX")
trap 'rm -rf "$W"' EXIT
N=200 PER=20 fails=0

# A release build has no crash points: nothing to test here.
FERRY_CRASH_AT=enqueue-before-commit "$H" "$W/probe" enqueue 1 1 \
    >/dev/null 2>&1
if [ $? -ne 137 ]; then
    echo "skip: $H has no crash points (not a FERRY_TEST_BUILD)"
    exit 77
fi

# crashed CASE POINT CMD... - run CMD with the crash point; must die by -9
crashed() {
    name=$1 point=$2; shift 2
    FERRY_CRASH_AT=$point "$H" "$@" >>"$W/$name.out" 2>"$W/$name.err"
    st=$?
    if [ $st -ne 137 ]; then
        echo "FAIL $name: expected SIGKILL at $point, exit $st"
        return 1
    fi
    return 0
}

verify() {
    name=$1
    if "$H" "$W/$name" verify $N <"$W/$name.out" >"$W/$name.v" \
        2>"$W/$name.verr"; then
        return 0
    fi
    echo "FAIL $name: $(cat "$W/$name.v" "$W/$name.verr" | tr '\n' ' ')"
    return 1
}

# case NAME POINT - an intake crash: kill, check, re-run all, check again
intake_case() {
    name=$1 point=$2
    : >"$W/$name.out"
    crashed "$name" "$point" "$W/$name" enqueue $N $PER || return 1
    acked=$(wc -l <"$W/$name.out")
    verify "$name" || return 1
    before=$(cat "$W/$name.v")
    "$H" "$W/$name" enqueue $N $PER >"$W/$name.again" 2>>"$W/$name.err" \
        || { echo "FAIL $name: re-run failed"; return 1; }
    # every acknowledged reference comes back identical on re-run
    sort "$W/$name.out" >"$W/$name.s1"
    sort "$W/$name.again" >"$W/$name.s2"
    if [ -n "$(comm -23 "$W/$name.s1" "$W/$name.s2")" ]; then
        echo "FAIL $name: re-run gave other references"
        return 1
    fi
    cat "$W/$name.again" >"$W/$name.out"
    verify "$name" || return 1
    total=$(sed -n 's/^records=\([0-9]*\).*/\1/p' "$W/$name.v")
    [ "$total" -eq $N ] || { echo "FAIL $name: $total records after re-run"; return 1; }
    echo "ok $name: $acked acknowledged before kill ($before); $total after re-run"
}

run() { "$@" || fails=$((fails + 1)); }

run intake_case enqueue-before-commit enqueue-before-commit@3
run intake_case enqueue-after-commit enqueue-after-commit@3

# delivery crashes: on a full spool
deliver_case() {
    name=$1 point=$2
    "$H" "$W/$name" enqueue $N $PER >"$W/$name.out" 2>"$W/$name.err" \
        || { echo "FAIL $name: setup"; return 1; }
    crashed "$name" "$point" "$W/$name" deliver || return 1
    verify "$name" || return 1
    echo "ok $name: $(cat "$W/$name.v")"
}
run deliver_case claim-before-commit claim-before-commit@2
run deliver_case outcome-before-commit outcome-before-commit@3
run deliver_case outcome-after-commit outcome-after-commit@3

bind_case() {
    name=$1 point=$2 want=$3
    "$H" "$W/$name" enqueue $N $PER >"$W/$name.out" 2>"$W/$name.err" \
        || { echo "FAIL $name: setup"; return 1; }
    crashed "$name" "$point" "$W/$name" bind || return 1
    verify "$name" || return 1
    bound=$(sed -n 's/.*bound=\([0-9]*\).*/\1/p' "$W/$name.v")
    [ "$bound" -eq "$want" ] || { echo "FAIL $name: bound $bound, want $want"; return 1; }
    echo "ok $name: $(cat "$W/$name.v")"
}
run bind_case batch-bind-before-commit batch-bind-before-commit 0
run bind_case batch-bind-after-commit batch-bind-after-commit $((N / 2))

[ $fails -eq 0 ] || { echo "$fails crash case(s) failed"; exit 1; }
exit 0
