#!/bin/bash
# 43_batch_crash.sh - kill `ferry batch` with SIGKILL at each named point
# (FERRY_CRASH_AT, test builds only), re-run it plainly, and check that
# nothing was lost or doubled: every record is in exactly one file in the
# drop folder, no file was sent twice (the local transport never
# overwrites a final name), the ledger says sent, and the record the code
# page cannot hold is dead-lettered and in no file.  Then a further run
# with new records makes a second file holding only those.  After every
# point outbound/ is empty (a file the ledger holds as sent is moved to
# archive/ by the next run), and where the crash came after the file
# reached its final name the re-run says "not uploaded: already present".
set -u
: "${FERRY_ROOT:?}" "${FERRY_BIN:?}"
T=$(mktemp -d "${TMPDIR:-/tmp}/ferry-bcrash.XXXXXX")
trap 'rm -rf "$T"' EXIT
fails=0
pass() { echo "PASS  $1"; }
fail() { echo "FAIL  $1: $2"; fails=$((fails+1)); }
DATE=2026-11-27

POINTS="batch-bind-before-commit batch-bind-after-commit batch-write
batch-fsync batch-rename batch-written-before-commit batch-ledger-written
batch-upload local-before-rename local-after-rename batch-after-transfer
batch-sent-before-commit batch-ledger-sent"

# the example submissions plus one whose name IBM-285/ASCII cannot hold
head -1 "$FERRY_ROOT/examples/submissions.ndjson" |
    sed 's/"HCR001001X"/"HCR009999X"/; s/"first_name": "[^"]*"/"first_name": "Ωmega"/' > "$T/omega.json"
sed 's/"HCR0010\([0-9][0-9]\)X"/"HCR0030\1X"/' "$FERRY_ROOT/examples/submissions.ndjson" > "$T/more.ndjson"

# setup DIR [KEY] - KEY=1: the spool has a key, so outbound/ and archive/
# hold sealed files and the transport gets a plain copy for each transfer
setup() {
    local d=$1 k=""
    mkdir -p "$d/drop"
    cp -r "$FERRY_ROOT/examples/." "$d/"
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$d/secrets/frontend.key"
    chmod 600 "$d/secrets/frontend.key"
    if [ "${2:-0}" = 1 ]; then
        head -c 32 /dev/urandom > "$d/secrets/spool.key"; chmod 600 "$d/secrets/spool.key"
        k=" key-file=\"secrets/spool.key\""
    fi
    sed -i "s|<spool dir=\"[^\"]*\"|<spool dir=\"$d/spool\"$k|; s|dir=\"../var/mainframe-drop\"|dir=\"$d/drop\"|; s|ack-dir=\"[^\"]*\"|ack-dir=\"$d/acks\"|" "$d/ferry.xml"
    sed -i 's|encoding="IBM-285"|encoding="ascii"|' "$d/mappings/refund-claim.xml"
}

# every point plain, and the points around the hand-over with a key
KEYED="batch-rename batch-ledger-written local-before-rename local-after-rename
batch-after-transfer batch-ledger-sent"
for run in $POINTS $(for k in $KEYED; do echo "key:$k"; done); do
    p=${run#key:}
    key=0; [ "$p" != "$run" ] && key=1
    d=$T/$run
    setup "$d" $key
    F() { "$FERRY_BIN" "$@" --config "$d/ferry.xml"; }
    F submit refund-claim "$d/submissions.ndjson" >/dev/null 2>&1
    # taken while the mapping sends no forename (the door refuses what a
    # target cannot encode), then the layout sends it again: the batch
    # must dead-letter it
    cp "$d/mappings/refund-claim.xml" "$d/m.orig"
    sed -i '/to="CLM-FORENAME"/d' "$d/mappings/refund-claim.xml"
    F submit refund-claim "$T/omega.json" >"$d/omega.ref" 2>&1
    mv "$d/m.orig" "$d/mappings/refund-claim.xml"
    oref=$(cut -f1 "$d/omega.ref" | head -1)
    FERRY_CRASH_AT=$p F batch claims-nightly --date $DATE >"$d/crash.out" 2>&1; crc=$?
    F batch claims-nightly --date $DATE >"$d/rerun.out" 2>&1; rrc=$?
    nfiles=$(ls -A "$d/drop" | grep -vc '^\.' )
    leftovers=$(ls -A "$d/drop" | grep -c '^\.')
    refs=$(cat "$d"/drop/CLM.* 2>/dev/null | grep -ao 'FRY-[0-9]*-[0-9]*' | sort)
    nrefs=$(echo "$refs" | grep -c FRY)
    nuniq=$(echo "$refs" | sort -u | grep -c FRY)
    sent=$(F queue --state sent 2>/dev/null | grep -c '^FRY')
    failed=$(F queue --state failed 2>/dev/null | grep -c "^$oref")
    states=$(F batches --json 2>/dev/null | grep -o '"state": "[a-z]*"' | sort | uniq -c | tr -s ' ')
    outb=$(ls -A "$d/spool/outbound/claims-mainframe" 2>/dev/null | wc -l)
    present=ok
    plain=$(ls -A "$d/spool/outbound/claims-mainframe" 2>/dev/null | grep -c '\.send$')
    if [ $key = 1 ] && { [ "$(head -c 8 "$d/spool/archive/claims-mainframe/CLM.D261127.S001" 2>/dev/null)" != FRYFILE1 ] || [ "$plain" != 0 ]; }; then
        outb="$outb (archive not sealed or a plain copy left)"
    fi
    case $p in local-after-rename|batch-after-transfer|batch-sent-before-commit)
        grep -q "(not uploaded: already present)" "$d/rerun.out" || present=missing ;;
    *)  ! grep -q "already present" "$d/rerun.out" || present=unexpected ;;
    esac
    why="crash rc=$crc rerun rc=$rrc files=$nfiles leftovers=$leftovers refs=$nrefs uniq=$nuniq sent=$sent failed=$failed batches=[$states] outbound=$outb already-present=$present"
    if [ $crc = 137 ] && { [ $rrc = 0 ] || [ $rrc = 65 ]; } && [ "$nfiles" = 1 ] &&
       [ "$leftovers" = 0 ] && [ "$nrefs" = 8 ] && [ "$nuniq" = 8 ] && [ "$sent" = 8 ] &&
       [ "$failed" = 1 ] && [ "$states" = " 1 \"state\": \"sent\"" ] &&
       [ "$outb" = 0 ] && [ "$present" = ok ] &&
       ! grep -q "$oref" "$d"/drop/CLM.*; then
        # and the next batch holds only the new records
        F submit refund-claim "$T/more.ndjson" >/dev/null 2>&1
        F batch claims-nightly --date $DATE >"$d/next.out" 2>&1; nrc=$?
        n2=$(grep -ao 'FRY-[0-9]*-[0-9]*' "$d/drop/CLM.D261127.S002" 2>/dev/null | sort -u | wc -l)
        dup=$(cat "$d"/drop/CLM.* | grep -ao 'FRY-[0-9]*-[0-9]*' | sort | uniq -d | wc -l)
        if [ $nrc = 0 ] && [ "$n2" = 8 ] && [ "$dup" = 0 ]; then
            pass "$run: killed, re-run finished the same batch once; next batch holds only new records"
        else fail "$run (next batch)" "rc=$nrc n2=$n2 dup=$dup $(cat "$d/next.out")"; fi
    else
        fail "$run" "$why
$(cat "$d/crash.out" "$d/rerun.out" | tail -20)"
    fi
    rm -rf "$d"
done

[ $fails = 0 ] || { echo "$fails crash point(s) failed"; exit 1; }
echo "all batch crash points passed"
