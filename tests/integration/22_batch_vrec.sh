#!/bin/bash
# 22_batch_vrec.sh - the night batch in RECFM=V and VB.  The example
# service, in ASCII, with recfm="V" and then recfm="VB" block-size="400":
# every record (header, 8 details, trailer) follows its 4-byte RDW (length
# including the RDW: 154 for the 150-byte records), in VB two records to a
# block after its BDW (4 + 2 x 154 = 312; a third would pass 400).  The
# batch's own read-back walks the descriptors and checks the totals (exit
# 0).  The descriptors, parsed here, must be exactly that; with them taken
# away the records are the FB file's, which GnuCOBOL (tests/cobol/
# READCLM.cbl) reads with its trailer check.  A block too small for a
# record is refused before anything is written (exit 78).
set -u
: "${FERRY_ROOT:?}" "${FERRY_BIN:?}"
command -v cobc >/dev/null || { echo "skip: cobc (gnucobol) not installed"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/ferry-vrec.XXXXXX")
trap 'rm -rf "$T"' EXIT
fails=0
pass() { echo "PASS  $1"; }
fail() { echo "FAIL  $1: $2"; fails=$((fails+1)); }
cobc -x -I "$FERRY_ROOT/examples/copybooks" -o "$T/READCLM" \
    "$FERRY_ROOT/tests/cobol/READCLM.cbl" 2>"$T/cobc.err" ||
    { echo "FAIL  cobc: $(cat "$T/cobc.err")"; exit 1; }
# setup NAME RECFM-ATTRIBUTES
setup() {
    local d=$T/$1
    mkdir -p "$d/drop"
    cp -r "$FERRY_ROOT/examples/." "$d/"
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$d/secrets/frontend.key"
    chmod 600 "$d/secrets/frontend.key"
    sed -i "s|<spool dir=\"[^\"]*\"|<spool dir=\"$d/spool\"|; s|dir=\"../var/mainframe-drop\"|dir=\"$d/drop\"|; s|ack-dir=\"[^\"]*\"|ack-dir=\"$d/acks\"|" "$d/ferry.xml"
    sed -i "s|encoding=\"IBM-285\"|encoding=\"ascii\"|; s|recfm=\"FB\"|$2|" "$d/mappings/refund-claim.xml"
    grep -q "$2" "$d/mappings/refund-claim.xml" ||
        fail "setup $1" "no recfm=\"FB\" in the example mapping"
}
f() { local d=$1; shift; "$FERRY_BIN" "$@" --config "$T/$d/ferry.xml"; }

# walk FILE BLOCKED OUT: the descriptors as "B len" / "R len type" lines,
# the records without them (an FB file) in OUT
walk() {
    python3 - "$@" <<'PY'
import sys
data, blocked, out = open(sys.argv[1], "rb").read(), sys.argv[2] == "1", sys.argv[3]
pos, fb, lines = 0, bytearray(), []
def dw(p):
    n = data[p] << 8 | data[p + 1]
    assert data[p + 2:p + 4] == b"\0\0", "reserved bytes at %d" % p
    return n
while pos < len(data):
    end = len(data)
    if blocked:
        bl = dw(pos); lines.append("B %d" % bl); end = pos + bl; pos += 4
    while pos < end:
        rl = dw(pos); rec = data[pos + 4:pos + rl]
        lines.append("R %d %s" % (rl, chr(rec[0]))); fb += rec; pos += rl
open(out, "wb").write(bytes(fb))
print("\n".join(lines))
PY
}

for mode in V VB; do
    if [ $mode = V ]; then setup v 'recfm="V"'; blocked=0
    else setup vb 'recfm="VB" block-size="400"'; blocked=1; fi
    d=$(echo $mode | tr A-Z a-z)
    f $d submit refund-claim "$T/$d/submissions.ndjson" >/dev/null 2>&1
    f $d batch claims-nightly --date 2026-11-27 >"$T/out" 2>"$T/err"; rc=$?
    file=$T/$d/drop/CLM.D261127.S001
    if [ $rc = 0 ] && [ -f "$file" ] && grep -q "records   8 written" "$T/out"; then
        pass "RECFM=$mode: batch written, read back through its descriptors, 8 records, exit 0"
    else fail "RECFM=$mode batch" "rc=$rc $(cat "$T/out" "$T/err")"; continue; fi
    walk "$file" $blocked "$T/$d.fb" > "$T/$d.walk" || { fail "RECFM=$mode walk" "$(cat "$T/$d.walk")"; continue; }
    if [ $mode = V ]; then
        want=$(printf 'R 154 H\n'; for i in 1 2 3 4 5 6 7 8; do printf 'R 154 D\n'; done; printf 'R 154 T')
    else
        want=$(printf 'B 312\nR 154 H\nR 154 D\nB 312\nR 154 D\nR 154 D\nB 312\nR 154 D\nR 154 D\nB 312\nR 154 D\nR 154 D\nB 312\nR 154 D\nR 154 T')
    fi
    if [ "$(cat "$T/$d.walk")" = "$want" ]; then
        pass "RECFM=$mode: descriptors as z/OS writes them (RDW 154 = 150 + 4$( [ $mode = VB ] && echo ', BDW 312: two records a block'))"
    else fail "RECFM=$mode descriptors" "$(cat "$T/$d.walk")"; fi
    CLMFILE=$T/$d.fb "$T/READCLM" > "$T/$d.cobol"; crc=$?
    if [ $crc = 0 ] && grep -q "TRAILER OK 0000008" "$T/$d.cobol"; then
        pass "RECFM=$mode: the records inside are what GnuCOBOL reads, trailer count and totals agree"
    else fail "RECFM=$mode GnuCOBOL" "rc=$crc $(tail -3 "$T/$d.cobol")"; fi
done

# a block that cannot hold one record is refused before anything is written
setup small 'recfm="VB" block-size="100"'
f small submit refund-claim "$T/small/submissions.ndjson" >/dev/null 2>&1
f small batch claims-nightly --date 2026-11-27 >"$T/out" 2>&1; rc=$?
if [ $rc = 78 ] && grep -q "does not fit the block-size" "$T/out" &&
   [ -z "$(ls -A "$T/small/drop")" ]; then
    pass "a 100-byte block for 150-byte records is refused (78), nothing written"
else fail "small block" "rc=$rc $(cat "$T/out")"; fi
[ $fails = 0 ]
