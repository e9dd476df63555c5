#!/bin/bash
# 44_batch_io.sh - the night batch when the local disk says no.  One I/O
# error while building a file is one failure with one message (exit 74),
# never read as "dead letters recorded, write the file again": the build
# is not repeated, no record is dead-lettered, nothing is sent, and the
# next run, with the disk fixed, sends the same bound records.
#   1. the temporary file cannot be created (a folder stands in its name);
#   2. the disk fills mid-file (outbound/<target>/ on a 4 KiB tmpfs, the
#      file ~6 KiB): needs root for mount, else this case is skipped.
set -u
: "${FERRY_ROOT:?}" "${FERRY_BIN:?}"
T=$(mktemp -d "${TMPDIR:-/tmp}/ferry-batchio.XXXXXX")
MNT=""
cleanup() {
    [ -n "$MNT" ] && umount "$MNT" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
fails=0
pass() { echo "PASS  $1"; }
fail() { echo "FAIL  $1: $2"; fails=$((fails+1)); }
DATE=2026-11-27
TGT=claims-mainframe

setup() {
    local d=$T/$1
    mkdir -p "$d/drop"
    cp -r "$FERRY_ROOT/examples/." "$d/"
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$d/secrets/frontend.key"
    chmod 600 "$d/secrets/frontend.key"
    sed -i "s|<spool dir=\"[^\"]*\"|<spool dir=\"$d/spool\"|; s|dir=\"../var/mainframe-drop\"|dir=\"$d/drop\"|; s|ack-dir=\"[^\"]*\"|ack-dir=\"$d/acks\"|" "$d/ferry.xml"
    for k in 1 2 3 4 5; do
        sed "s/\"HCR0010\([0-9][0-9]\)X\"/\"HCR00${k}0\1X\"/" "$d/submissions.ndjson"
    done > "$d/forty.ndjson"
    "$FERRY_BIN" submit refund-claim "$d/forty.ndjson" --config "$d/ferry.xml" >/dev/null 2>&1
}
f() { local d=$1; shift; "$FERRY_BIN" "$@" --config "$T/$d/ferry.xml"; }
ndrop() { ls -A "$T/$1/drop" | wc -l; }
nfailed() { f "$1" queue --state failed --json 2>/dev/null | grep -c '"ref"'; }

# 1. the temporary file cannot be created
setup a
out=$T/a/spool/outbound/$TGT
mkdir -p "$out/.CLM.D261127.S001.tmp"
f a batch claims-nightly --date $DATE >"$T/out" 2>"$T/err"; rc=$?
rebuilds=$(grep -c "batch-rebuild" "$T/err")
if [ $rc = 74 ] && [ "$rebuilds" = 0 ] && [ "$(ndrop a)" = 0 ] &&
   [ "$(nfailed a)" = 0 ] && grep -q "cannot create" "$T/out" "$T/err" &&
   [ "$(grep -c "cannot create" "$T/out" "$T/err" | awk -F: '{s+=$2} END {print s}')" -le 2 ]; then
    pass "temporary file cannot be created: exit 74, one message, no rebuild, no dead letter"
else fail "cannot create" "rc=$rc rebuilds=$rebuilds $(head -c 2000 "$T/out" "$T/err")"; fi
rmdir "$out/.CLM.D261127.S001.tmp"
f a batch claims-nightly --date $DATE >"$T/out" 2>"$T/err"; rc=$?
if [ $rc = 0 ] && [ -f "$T/a/drop/CLM.D261127.S001" ] &&
   grep -Eq "records +40 written" "$T/out"; then
    pass "after the fix: the same batch is finished and sent, 40 records"
else fail "rerun after create" "rc=$rc $(cat "$T/out" "$T/err")"; fi

# 2. the disk fills mid-file
setup b
out=$T/b/spool/outbound/$TGT
mkdir -p "$out"
if mount -t tmpfs -o size=4k,mode=0700 tmpfs "$out" 2>/dev/null; then
    MNT=$out
    f b batch claims-nightly --date $DATE >"$T/out" 2>"$T/err"; rc=$?
    rebuilds=$(grep -c "batch-rebuild" "$T/err")
    if [ $rc = 74 ] && [ "$rebuilds" = 0 ] && [ "$(ndrop b)" = 0 ] &&
       [ "$(nfailed b)" = 0 ] && grep -q "No space left on device" "$T/out" &&
       [ -z "$(ls -A "$out")" ]; then
        pass "disk full mid-file: exit 74, 'No space left on device' once, no rebuild, no dead letter, no temporary file left"
    else fail "disk full" "rc=$rc rebuilds=$rebuilds $(ls -A "$out") $(head -c 2000 "$T/out" "$T/err")"; fi
    umount "$out"; MNT=""
    f b batch claims-nightly --date $DATE >"$T/out" 2>"$T/err"; rc=$?
    if [ $rc = 0 ] && [ -f "$T/b/drop/CLM.D261127.S001" ] &&
       [ "$(stat -c %s "$T/b/drop/CLM.D261127.S001")" -gt 4096 ]; then
        pass "with room again: the bound batch is written and sent"
    else fail "rerun after disk full" "rc=$rc $(cat "$T/out" "$T/err")"; fi
else
    echo "SKIP  disk full: cannot mount a tmpfs here (needs root)"
fi

[ $fails = 0 ] || { echo "$fails case(s) failed"; exit 1; }
echo "all batch I/O cases passed"
