#!/bin/bash
# 66_reconcile_delimited.sh - `ferry reconcile` of a delimited target's
# acknowledgement files (scheduler/recon_delim.c): the example's refund
# claims go to a delimited target (dl_setup.sh, comma, quoted when
# needed, LF), and the back office answers with a delimited file too:
#   - a GnuCOBOL program (tests/cobol/ACKCSV.cbl: LINE SEQUENTIAL read of
#     ferry's file, one STRING per ack line) writes the ack with its
#     columns in its own order and a rejection's words quoted (holding the
#     delimiter and doubled quotes); reconcile fetches it from the ack
#     folder: confirmed with the case number as receipt, rejected with the
#     reason in words; applied once only;
#   - files written by the shell, each bad in one way (an unknown status,
#     a missing column, an unclosed quote, a short line, LF alone where the
#     dialect says CRLF), each refused naming the file, line and column,
#     and nothing changes;
#   - `ferry check` refuses an ack section a delimited file cannot have.
set -u
: "${FERRY_ROOT:?}" "${FERRY_BIN:?}"
command -v cobc >/dev/null || { echo "skip: cobc (gnucobol) not installed"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/ferry-rdl.XXXXXX")
trap 'rm -rf "$T"' EXIT
fails=0
pass() { echo "PASS  $1"; }
fail() { echo "FAIL  $1: $2"; fails=$((fails+1)); }
DATE=2026-11-27
. "$FERRY_ROOT/tests/integration/dl_setup.sh"
f() { local d=$1; shift; "$FERRY_BIN" "$@" --config "$T/$d/ferry.xml"; }
state_of() { f "$1" show "$2" --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])' 2>/dev/null; }
nstate() { f "$1" queue --json 2>/dev/null | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin)["records"] if r["state"] == sys.argv[1]))' "$2"; }
jget() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1" 2>/dev/null; }

cobc -x -o "$T/ACKCSV" "$FERRY_ROOT/tests/cobol/ACKCSV.cbl" 2>"$T/cobc.err" ||
    { echo "FAIL  cobc: $(cat "$T/cobc.err")"; exit 1; }

# 1. the night: a delimited file out, a GnuCOBOL-written delimited ack back
dl_setup c 'delimiter="," quote="&quot;" quoting="needed" escape="double" line-end="LF" encoding="ascii"'
echo 'DSN=none' > "$T/c/secrets/customer-db.conn"   # the example's other target
chmod 600 "$T/c/secrets/customer-db.conn"
if f c check >"$T/out" 2>&1; then
    pass "ferry check accepts the delimited target's ack section"
else fail "check" "$(cat "$T/out")"; fi
f c submit refund-claim "$T/c/submissions.ndjson" >/dev/null 2>&1
f c batch claims-nightly --date $DATE >"$T/out" 2>"$T/err" ||
    fail "batch" "$(cat "$T/out" "$T/err")"
file=$T/c/drop/CLM20261127.001.csv
BAD_REF=$(sed -n 2p "$file" | cut -d, -f1)
BAD_NINO=$(sed -n 2p "$file" | cut -d, -f3)
GOOD_REF=$(sed -n 3p "$file" | cut -d, -f1)
NSENT=$(($(wc -l < "$file") - 2))
CSVFILE=$file ACKFILE=$T/c/acks/CLMACK20261127.csv REJECTNINO=$BAD_NINO \
    CASEBASE=500 "$T/ACKCSV" >"$T/cobol.out" 2>&1; crc=$?
if [ $crc = 0 ] && grep -q "ACKS $(printf %07d "$NSENT")" "$T/cobol.out" &&
   head -1 "$T/c/acks/CLMACK20261127.csv" | grep -qx 'case_no,reference,reason_text,outcome,reason_code' &&
   grep -q "^,$BAD_REF,\"NINO NOT KNOWN, SEE \"\"LETTER 4\"\"\",R,E01$" "$T/c/acks/CLMACK20261127.csv"; then
    pass "GnuCOBOL read the $NSENT claims and wrote a delimited ack (its own column order, a quoted reason holding the delimiter)"
else fail "ACKCSV" "rc=$crc $(cat "$T/cobol.out" "$T/c/acks/CLMACK20261127.csv")"; fi
f c reconcile claims-csv --json >"$T/r1.json" 2>"$T/r1.err"; rc=$?
ACC=$((NSENT - 1))
if [ $rc = 0 ] && [ "$(jget "$T/r1.json" 'j["applied"], j["confirmed"], j["rejected"], j["orphans"]')" = "1 $ACC 1 0" ]; then
    pass "reconcile fetched the ack from the ack folder: $ACC confirmed, 1 rejected, no orphans, exit 0"
else fail "reconcile" "rc=$rc $(cat "$T/r1.json" "$T/r1.err")"; fi
f c show "$BAD_REF" >"$T/show.bad" 2>&1
f c show "$GOOD_REF" >"$T/show.good" 2>&1
if [ "$(state_of c "$BAD_REF")" = rejected ] &&
   grep -q "E01: National Insurance number not recognised" "$T/show.bad" &&
   grep -q "CLMACK20261127.csv, record 2" "$T/show.bad" &&
   [ "$(state_of c "$GOOD_REF")" = confirmed ] &&
   grep -Eq "receipt: +CASE0000501$" "$T/show.good"; then
    pass "rejected with the reason in words (line 2 of the file), confirmed with the case number CASE0000501 as receipt"
else fail "states" "$(cat "$T/show.bad" "$T/show.good")"; fi
if [ -f "$T/c/spool/archive/claims-csv/CLMACK20261127.csv" ] &&
   f c reconcile claims-csv --json >"$T/r2.json" 2>/dev/null &&
   [ "$(jget "$T/r2.json" 'j["applied"], j["already_applied"]')" = "0 1" ]; then
    pass "the applied ack is archived; the same file again (name + SHA-256) is not applied twice"
else fail "again" "$(cat "$T/r2.json")"; fi

# 2. bad files change nothing and say where
dl_setup b 'delimiter="," quote="&quot;" quoting="needed" escape="double" line-end="LF" encoding="ascii"'
f b submit refund-claim "$T/b/submissions.ndjson" >/dev/null 2>&1
f b batch claims-nightly --date $DATE >/dev/null 2>&1
bfile=$T/b/drop/CLM20261127.001.csv
NS=$(nstate b sent)
ack() {   # ack NAME HEADER [awk program over the sent file's details]
    local name=$1 hdr=$2 prog=${3:-'{ print $1 ",A,C" NR ",," }'}
    { printf '%s\n' "$hdr"; sed '1d;$d' "$bfile" | awk -F, "$prog"; } > "$T/$name"
}
bad() {   # bad NAME WHAT EXPECTED-MESSAGE
    f b reconcile claims-csv "$T/$1" >"$T/out" 2>&1; local rc=$?
    if [ $rc = 65 ] && grep -qF -- "$3" "$T/out" && [ "$(nstate b sent)" = "$NS" ]; then
        pass "$2: refused (65), \"$3\", nothing changed"
    else fail "$2" "rc=$rc $(cat "$T/out")"; fi
}
ack BAD1.csv 'reference,outcome,case_no,reason_code,reason_text' '{ print $1 "," (NR == 3 ? "X" : "A") ",C" NR ",," }'
bad BAD1.csv "an unknown status code" "BAD1.csv: line 4, column 2 (outcome): unknown status code 'X' (accepted: A; rejected: R)"
ack BAD2.csv 'reference,outcom,case_no,reason_code,reason_text'
bad BAD2.csv "a missing column" "BAD2.csv: line 1: the header row has no column 'outcome' (the ack section's status=); did you mean 'outcom'?"
ack BAD3.csv 'reference,outcome,case_no,reason_code,reason_text' '{ print $1 ",A," (NR == 2 ? "\"C2" : "C" NR) ",," }'
bad BAD3.csv "an unclosed quote" "BAD3.csv: line 3, column 3: the quote is not closed"
ack BAD4.csv 'reference,outcome,case_no,reason_code,reason_text' '{ print $1 (NR == 5 ? ",A" : ",A,C" NR ",,") }'
bad BAD4.csv "a short line" "BAD4.csv: line 6: 2 columns, the header row has 5"
ack BAD5.csv 'reference,outcome,case_no,reason_code,reason_text' '{ print (NR == 1 ? "" : $1) ",A,C" NR ",," }'
bad BAD5.csv "an empty key" "BAD5.csv: line 2, column 1 (reference): the key is empty"
# an awk-written good file (columns in ferry's order, nothing else) applies
ack GOOD.csv 'reference , OUTCOME,case_no,Reason_Code,reason_text'
f b reconcile claims-csv "$T/GOOD.csv" --json >"$T/r3.json" 2>"$T/r3.err"; rc=$?
if [ $rc = 0 ] && [ "$(jget "$T/r3.json" 'j["confirmed"], j["rejected"]')" = "$NS 0" ] &&
   [ "$(nstate b sent)" = 0 ]; then
    pass "a shell-written ack (header names matched whatever their case and spaces) confirms all $NS"
else fail "good awk ack" "rc=$rc $(cat "$T/r3.json" "$T/r3.err")"; fi

# 3. CRLF dialect: a line ending with LF alone is refused, naming it
dl_setup r 'delimiter="|" quoting="none" line-end="CRLF" encoding="ascii"'
f r submit refund-claim "$T/r/submissions.ndjson" >/dev/null 2>&1
f r batch claims-nightly --date $DATE >/dev/null 2>&1
rfile=$T/r/drop/CLM20261127.001.csv
NR_=$(nstate r sent)
{ printf 'reference|outcome|case_no|reason_code|reason_text\r\n'; sed '1d;$d' "$rfile" | tr -d '\r' | awk -F'|' '{ printf "%s|A|C%d||%s\n", $1, NR, (NR == 2 ? "" : "\r") }'; } > "$T/CRLF.csv"
f r reconcile claims-csv "$T/CRLF.csv" >"$T/out" 2>&1; rc=$?
if [ $rc = 65 ] && grep -qF "CRLF.csv: line 3: ends with LF alone; the target's line end is CRLF" "$T/out" &&
   [ "$(nstate r sent)" = "$NR_" ]; then
    pass "CRLF dialect: a line ending with LF alone is refused (65), naming line 3, nothing changed"
else fail "crlf" "rc=$rc $(cat "$T/out")"; fi

# 4. ferry check refuses what a delimited ack cannot have
sed -i 's|<section name="ack" name-pattern|<section name="ack" recfm="FB" name-pattern|; s| status="outcome"||' "$T/b/mappings/refund-claim.xml"
f b check >"$T/out" 2>&1; rc=$?
if [ $rc != 0 ] && grep -q "recfm=\"FB\": a delimited target's ack file is read by its header row" "$T/out" &&
   grep -q 'the ack section needs status="COLUMN"' "$T/out" &&
   grep -q "refund-claim.xml:[0-9]" "$T/out"; then
    pass "ferry check refuses a recfm and a missing status on a delimited ack section, naming the mapping line"
else fail "check bad ack" "rc=$rc $(cat "$T/out")"; fi

[ $fails = 0 ]
