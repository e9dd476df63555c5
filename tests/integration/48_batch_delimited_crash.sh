#!/bin/bash
# 48_batch_delimited_crash.sh - 43_batch_crash.sh for the delimited
# format: kill `ferry batch` with SIGKILL at each named point
# (FERRY_CRASH_AT, test builds only) while it builds and hands over a
# delimited file, re-run it plainly, and check that the file was sent
# once: one file in the drop folder, every record in it exactly once, the
# ledger says sent, outbound/ is empty, the rebuilt file is byte for byte
# the one recorded (its SHA-256 is the ledger's) and Python's csv module
# reads it with a trailer that agrees.  The file name carries the
# generation ({gen}): the re-run sends CLAIMS.G0001V00.csv, the batch the
# killed run bound, and the next batch is G0002V00 (a generation is never
# taken twice).
set -u
: "${FERRY_ROOT:?}" "${FERRY_BIN:?}"
T=$(mktemp -d "${TMPDIR:-/tmp}/ferry-bdlcrash.XXXXXX")
trap 'rm -rf "$T"' EXIT
fails=0
pass() { echo "PASS  $1"; }
fail() { echo "FAIL  $1: $2"; fails=$((fails+1)); }
DATE=2026-11-27
. "$FERRY_ROOT/tests/integration/dl_setup.sh"

POINTS="batch-bind-after-commit batch-write batch-fsync batch-rename
batch-written-before-commit batch-ledger-written batch-upload
local-before-rename local-after-rename batch-after-transfer
batch-sent-before-commit batch-ledger-sent"

for p in $POINTS; do
    d=$T/$p
    dl_setup "$p" 'delimiter="," quoting="needed" line-end="CRLF"'
    sed -i 's|file-name="[^"]*"|file-name="CLAIMS.{gen}.csv"|' "$d/mappings/refund-claim.xml"
    F() { "$FERRY_BIN" "$@" --config "$d/ferry.xml"; }
    F submit refund-claim "$d/submissions.ndjson" >/dev/null 2>&1
    FERRY_CRASH_AT=$p F batch claims-nightly --date $DATE >"$d/crash.out" 2>&1; crc=$?
    F batch claims-nightly --date $DATE >"$d/rerun.out" 2>&1; rrc=$?
    nfiles=$(ls -A "$d/drop" | grep -vc '^\.')
    leftovers=$(ls -A "$d/drop" | grep -c '^\.')
    file=$d/drop/CLAIMS.G0001V00.csv
    refs=$(grep -ao 'FRY-[0-9]*-[0-9]*' "$file" 2>/dev/null | sort)
    nrefs=$(echo "$refs" | grep -c FRY)
    nuniq=$(echo "$refs" | sort -u | grep -c FRY)
    sent=$(F queue --state sent 2>/dev/null | grep -c '^FRY')
    sha=$(sha256sum "$file" 2>/dev/null | cut -d' ' -f1)
    outb=$(ls -A "$d/spool/outbound/claims-csv" 2>/dev/null | wc -l)
    py=$(python3 - "$file" 2>&1 <<'PY'
import csv, decimal, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
det, trl = rows[1:-1], rows[-1]
assert trl == ["T", str(len(det)), str(sum(decimal.Decimal(r[8]) for r in det))], trl
print("ok", len(det))
PY
)
    why="crash rc=$crc rerun rc=$rrc files=$nfiles leftovers=$leftovers refs=$nrefs uniq=$nuniq sent=$sent outbound=$outb python=[$py]"
    if [ $crc = 137 ] && [ $rrc = 0 ] && [ "$nfiles" = 1 ] && [ "$leftovers" = 0 ] &&
       [ "$nrefs" = 8 ] && [ "$nuniq" = 8 ] && [ "$sent" = 8 ] && [ "$outb" = 0 ] &&
       F batches --json | grep -q "\"sha256\": \"$sha\"" &&
       [ "$(F batches --json | grep -c '"state": "sent"')" = 1 ] &&
       [ "$py" = "ok 8" ]; then
        sed 's/"HCR0010\([0-9][0-9]\)X"/"HCR0030\1X"/' "$d/submissions.ndjson" > "$d/more.ndjson"
        F submit refund-claim "$d/more.ndjson" >/dev/null 2>&1
        F batch claims-nightly --date $DATE >"$d/next.out" 2>&1; nrc=$?
        if [ $nrc = 0 ] && [ "$(ls "$d/drop" | tr '\n' ' ')" = "CLAIMS.G0001V00.csv CLAIMS.G0002V00.csv " ]; then
            pass "$p: killed, the re-run sent the same delimited file (G0001V00) once; the next is G0002V00"
        else fail "$p (next batch)" "rc=$nrc $(ls "$d/drop") $(cat "$d/next.out")"; fi
    else
        fail "$p" "$why
$(cat "$d/crash.out" "$d/rerun.out" | tail -20)"
    fi
    rm -rf "$d"
done

[ $fails = 0 ] || { echo "$fails crash point(s) failed"; exit 1; }
echo "all delimited batch crash points passed"
