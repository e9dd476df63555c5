#!/bin/bash
# 21_batch_header_totals.sh - control totals in the header as well as the
# trailer.  The example service, in ASCII, with a header that carries the
# record count and the amount total ($count, $sum:CLM-AMOUNT): `ferry
# batch` writes the file twice into its temporary name (the header needs
# the figures of a finished pass) and renames only the second.  A GnuCOBOL
# program (tests/cobol/READHDR.cbl) reads the file as a receiving job that
# checks the header first: the header's count and total must equal what
# the details add up to and the trailer's.  Then the same program must
# refuse a copy whose header count is one off (the check can fail), and a
# detail section carrying $count is refused by `ferry batch` (exit 78).
set -u
: "${FERRY_ROOT:?}" "${FERRY_BIN:?}"
command -v cobc >/dev/null || { echo "skip: cobc (gnucobol) not installed"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/ferry-hdrtot.XXXXXX")
trap 'rm -rf "$T"' EXIT
fails=0
pass() { echo "PASS  $1"; }
fail() { echo "FAIL  $1: $2"; fails=$((fails+1)); }
d=$T/h
mkdir -p "$d/drop"
cp -r "$FERRY_ROOT/examples/." "$d/"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$d/secrets/frontend.key"
chmod 600 "$d/secrets/frontend.key"
sed -i "s|<spool dir=\"[^\"]*\"|<spool dir=\"$d/spool\"|; s|dir=\"../var/mainframe-drop\"|dir=\"$d/drop\"|; s|ack-dir=\"[^\"]*\"|ack-dir=\"$d/acks\"|" "$d/ferry.xml"
sed -i 's|encoding="IBM-285"|encoding="ascii"|' "$d/mappings/refund-claim.xml"
# the header gains a count and a packed total in place of 14 FILLER bytes
python3 - "$d/copybooks/CLAIMREC.cpy" "$d/mappings/refund-claim.xml" <<'PY'
import sys
cpy, xml = sys.argv[1], sys.argv[2]
s = open(cpy).read()
old = "001200     05  FILLER                PIC X(124) VALUE SPACES."
assert old in s
s = s.replace(old,
    "001200     05  HDR-RECORD-COUNT      PIC 9(07).\n"
    "001210     05  HDR-AMOUNT-TOTAL      PIC S9(11)V99 COMP-3.\n"
    "001220     05  FILLER                PIC X(110) VALUE SPACES.")
open(cpy, "w").write(s)
m = open(xml).read()
old = '      <map to="HDR-CREATED-TIME" from="$created-time" format="HHMMSS"/>\n'
assert old in m
m = m.replace(old, old +
    '      <map to="HDR-RECORD-COUNT" from="$count"/>\n'
    '      <map to="HDR-AMOUNT-TOTAL" from="$sum:CLM-AMOUNT"/>\n')
open(xml, "w").write(m)
PY
f() { "$FERRY_BIN" "$@" --config "$d/ferry.xml"; }

cobc -x -I "$d/copybooks" -o "$T/READHDR" "$FERRY_ROOT/tests/cobol/READHDR.cbl" \
    2>"$T/cobc.err" || { echo "FAIL  cobc: $(cat "$T/cobc.err")"; exit 1; }

f submit refund-claim "$d/submissions.ndjson" >/dev/null 2>&1
f batch claims-nightly --date 2026-11-27 >"$T/out" 2>"$T/err"; rc=$?
file=$d/drop/CLM.D261127.S001
if [ $rc = 0 ] && [ -f "$file" ] && grep -q "records   8 written" "$T/out" &&
   [ "$(ls -A "$d/drop" | wc -l)" = 1 ]; then
    pass "batch: one file, 8 records, exit 0 (no temporary file left)"
else fail "batch" "rc=$rc $(cat "$T/out" "$T/err")"; fi
CLMFILE=$file "$T/READHDR" > "$T/cobol.out"; crc=$?
if [ $crc = 0 ] && grep -q "^HEADER OK 0000008 00000000961.17$" "$T/cobol.out"; then
    pass "GnuCOBOL: the header says 8 records and 961.17, as the details and the trailer do"
else fail "GnuCOBOL header check" "rc=$crc $(cat "$T/cobol.out")"; fi
if [ "$(head -c 33 "$file" | tail -c 7)" = 0000008 ]; then
    pass "the header's count is at bytes 27-33, in the header record itself"
else fail "header bytes" "$(head -c 40 "$file" | od -c | head -3)"; fi

# a header one off is caught by the receiving program
python3 - "$file" "$T/bad.dat" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[32] = ord("9")                      # HDR-RECORD-COUNT 0000008 -> 0000009
open(sys.argv[2], "wb").write(bytes(b))
PY
CLMFILE=$T/bad.dat "$T/READHDR" > "$T/cobol.bad"; crc=$?
if [ $crc = 8 ] && grep -q "HEADER COUNT 0000009 READ 0000008" "$T/cobol.bad"; then
    pass "a header count one off is refused by the receiving program (rc 8)"
else fail "bad header" "rc=$crc $(cat "$T/cobol.bad")"; fi

# a detail record cannot carry the totals
sed -i 's|<map to="CLM-FERRY-REF" from="\$reference"/>|<map to="CLM-FERRY-REF" from="$count"/>|' \
    "$d/mappings/refund-claim.xml"
if grep -q 'CLM-FERRY-REF" from="\$count"' "$d/mappings/refund-claim.xml"; then
    f submit refund-claim "$d/submissions.ndjson" >/dev/null 2>&1
    f batch claims-nightly --date 2026-11-28 >"$T/out" 2>&1; rc=$?
    if [ $rc = 78 ] && grep -q "a detail record cannot carry the file's totals" "$T/out"; then
        pass "ferry batch refuses \$count in a detail record (78)"
    else fail "check detail totals" "rc=$rc $(cat "$T/out")"; fi
else fail "setup" "no CLM-FERRY-REF from \$reference in the example mapping"; fi
[ $fails = 0 ]
