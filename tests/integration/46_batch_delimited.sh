#!/bin/bash
# 46_batch_delimited.sh - `ferry batch` writing a delimited file (the
# example's refund claims, tests/data/batch/refund-claim-csv/target.xml)
# through the local transport, read by two peers that did not come from
# ferry:
#   - a GnuCOBOL program (tests/cobol/READCSV.cbl: LINE SEQUENTIAL read,
#     one UNSTRING per line) for a pipe-delimited file with quoting off,
#     checking every field and the trailer's count and amount total;
#   - Python's csv module for a comma file quoted when needed (doubled
#     quotes, CRLF) and for an IBM-037 file quoted always with backslash
#     escapes, with a surname holding the delimiter and quotes.
# And the door: a submission the target cannot encode (the delimiter with
# quoting off, a control character, a character the code page lacks) is
# refused at intake with the column named and nothing is spooled; `ferry
# check` refuses a bad dialect and a total outside the trailer.
set -u
: "${FERRY_ROOT:?}" "${FERRY_BIN:?}"
command -v cobc >/dev/null || { echo "skip: cobc (gnucobol) not installed"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/ferry-bdl.XXXXXX")
trap 'rm -rf "$T"' EXIT
fails=0
pass() { echo "PASS  $1"; }
fail() { echo "FAIL  $1: $2"; fails=$((fails+1)); }
DATE=2026-11-27
EXP=$FERRY_ROOT/tests/data/batch/refund-claim-csv/expected-cobol.txt
. "$FERRY_ROOT/tests/integration/dl_setup.sh"
f() { local d=$1; shift; "$FERRY_BIN" "$@" --config "$T/$d/ferry.xml"; }
ndrop() { ls -A "$T/$1/drop" | wc -l; }
nspooled() { f "$1" queue 2>/dev/null | grep -c '^FRY'; }

cobc -x -o "$T/READCSV" "$FERRY_ROOT/tests/cobol/READCSV.cbl" 2>"$T/cobc.err" ||
    { echo "FAIL  cobc: $(cat "$T/cobc.err")"; exit 1; }

# 1. pipe-delimited, quoting off, LF: GnuCOBOL reads every field
dl_setup p 'delimiter="|" quoting="none" line-end="LF" encoding="ascii"'
f p submit refund-claim "$T/p/submissions.ndjson" >/dev/null 2>&1
f p batch claims-nightly --date $DATE >"$T/out" 2>"$T/err"; rc=$?
file=$T/p/drop/CLM20261127.001.csv
if [ $rc = 0 ] && [ "$(ndrop p)" = 1 ] && [ -f "$file" ] &&
   grep -q "records   8 written" "$T/out" && grep -q "amount=961.17" "$T/out"; then
    pass "batch: one delimited file CLM20261127.001.csv, 8 records, total amount=961.17, exit 0"
else fail "batch (pipe)" "rc=$rc $(cat "$T/out" "$T/err")"; fi
CSVFILE=$file "$T/READCSV" > "$T/cobol.out"; crc=$?
sed 's/FRY-[0-9]\{8\}-/FRY-DATE-/; s/ *$//' "$T/cobol.out" > "$T/cobol.norm"
if [ $crc = 0 ] && diff -u "$EXP" "$T/cobol.norm" >"$T/diff"; then
    pass "GnuCOBOL (LINE SEQUENTIAL + UNSTRING) reads every field; trailer count 8 and total 961.17 agree"
else fail "GnuCOBOL read" "rc=$crc $(cat "$T/diff" "$T/cobol.out")"; fi
sha=$(sha256sum "$file" | cut -d' ' -f1)
if f p batches --json | grep -q "\"sha256\": \"$sha\"" &&
   f p batches --json | grep -q '"state": "sent"'; then
    pass "ledger: batch sent with the file's SHA-256"
else fail "ledger sha" "$(f p batches)"; fi

# 2. the door refuses what this target cannot encode, naming the column
before=$(nspooled p)
head -1 "$T/p/submissions.ndjson" | sed 's/"HCR001001X"/"HCR004001X"/; s/"last_name": "[^"]*"/"last_name": "Smith|Jones"/' > "$T/pipe.json"
f p submit refund-claim "$T/pipe.json" >"$T/out" 2>&1; rc=$?
if [ $rc = 65 ] && grep -q "surname: cannot be encoded for target claims-csv: the value holds the delimiter '|' and the target quotes nothing" "$T/out" &&
   [ "$(nspooled p)" = "$before" ] && ! grep -q "Smith|Jones" "$T/out"; then
    pass "door: a surname holding the delimiter (quoting off) is refused at intake (65), column named, value not echoed, nothing spooled"
else fail "door: delimiter" "rc=$rc $(cat "$T/out")"; fi
head -1 "$T/p/submissions.ndjson" | sed 's/"HCR001001X"/"HCR004002X"/; s/"last_name": "[^"]*"/"last_name": "Smi\\u0007th"/' > "$T/ctl.json"
f p submit refund-claim "$T/ctl.json" >"$T/out" 2>&1; rc=$?
if [ $rc = 65 ] && grep -q "surname: cannot be encoded for target claims-csv: control character U+0007 not allowed" "$T/out" &&
   [ "$(nspooled p)" = "$before" ]; then
    pass "door: a control character is refused at intake (65), nothing spooled"
else fail "door: control" "rc=$rc $(cat "$T/out")"; fi

# 3. comma, quoted when needed, doubled quotes, CRLF: Python's csv reads it
dl_setup c 'delimiter="," quote="&quot;" quoting="needed" escape="double" line-end="CRLF" encoding="ascii"'
head -1 "$T/c/submissions.ndjson" | sed 's/"HCR001001X"/"HCR005001X"/; s/"last_name": "[^"]*"/"last_name": "Lee, \\"Ted\\""/' > "$T/quote.json"
f c submit refund-claim "$T/c/submissions.ndjson" >/dev/null 2>&1
f c submit refund-claim "$T/quote.json" >"$T/out" 2>&1 || fail "submit quoted" "$(cat "$T/out")"
f c batch claims-nightly --date $DATE >"$T/out" 2>"$T/err"; rc=$?
file=$T/c/drop/CLM20261127.001.csv
CHECK_PY='
import csv, decimal, sys
path, enc = sys.argv[1], sys.argv[2]
kw = dict(delimiter=",", quotechar="\"")
if sys.argv[3] == "backslash":
    kw.update(doublequote=False, escapechar="\\")
raw = open(path, "rb").read()
eol = sys.argv[4].encode(enc)
lines = raw.split(eol)
assert lines[-1] == b"", "file does not end with the line end"
assert all(eol[-1:] not in l for l in lines), "a stray line end"
rows = list(csv.reader(open(path, encoding=enc, newline=""), **kw))
head, det, trl = rows[0], rows[1:-1], rows[-1]
assert head == ["reference", "form_ref", "nino", "surname", "forename", "dob",
                "postcode", "claim_type", "amount", "received", "sort_code",
                "account_no"], head
assert all(len(r) == 12 for r in det), [len(r) for r in det]
total = sum(decimal.Decimal(r[8]) for r in det)
assert trl == ["T", str(len(det)), str(total)], (trl, len(det), total)
lee = [r for r in det if r[1] == "HCR005001X"]
assert lee and lee[0][3] == "LEE, \"TED\"", lee
if sys.argv[3] == "backslash":
    assert b"\\\"TED\\\"" in raw.decode(enc).encode("ascii"), "not backslash-escaped"
    assert all(l.startswith("\"".encode(enc)) for l in lines[:-1]), "not every cell quoted"
else:
    assert b"\"LEE, \"\"TED\"\"\"" in raw, "not quoted with doubled quotes"
    assert b",JONES," in raw, "a plain cell was quoted"
print(len(det), total)
'
if [ $rc = 0 ] && grep -q "records   9 written" "$T/out" &&
   python3 -c "$CHECK_PY" "$file" ascii double $'\r\n' >"$T/py" 2>&1 &&
   grep -q "^9 986.17$" "$T/py"; then
    pass "Python csv reads the CRLF file quoted when needed: header, 9 rows of 12 cells, LEE, \"TED\" intact, trailer 9 and 986.17 agree"
else fail "python (double)" "rc=$rc $(cat "$T/py" "$T/out" "$T/err")"; fi

# 4. IBM-037, every cell quoted, backslash escapes, LF
dl_setup e 'delimiter="," quoting="always" escape="backslash" line-end="LF" encoding="IBM-037"'
f e submit refund-claim "$T/e/submissions.ndjson" >/dev/null 2>&1
f e submit refund-claim "$T/quote.json" >/dev/null 2>&1
f e batch claims-nightly --date $DATE >"$T/out" 2>"$T/err"; rc=$?
file=$T/e/drop/CLM20261127.001.csv
if [ $rc = 0 ] && [ "$(head -c 1 "$file" | od -An -tx1 | tr -d ' ')" = 7f ] &&
   python3 -c "$CHECK_PY" "$file" cp037 backslash $'\n' >"$T/py" 2>&1 &&
   grep -q "^9 986.17$" "$T/py"; then
    pass "IBM-037 file (first byte 0x7F, an EBCDIC quote), every cell quoted, backslash escapes: Python (cp037) reads the same 9 rows and totals"
else fail "python (IBM-037)" "rc=$rc $(cat "$T/py" "$T/out" "$T/err")"; fi
head -1 "$T/e/submissions.ndjson" | sed 's/"HCR001001X"/"HCR006001X"/; s/"last_name": "[^"]*"/"last_name": "Smith€"/' > "$T/euro.json"
before=$(nspooled e)
f e submit refund-claim "$T/euro.json" >"$T/out" 2>&1; rc=$?
if [ $rc = 65 ] && grep -q "surname: cannot be encoded for target claims-csv: character '€' (U+20AC) cannot be written in IBM-037" "$T/out" &&
   [ "$(nspooled e)" = "$before" ]; then
    pass "door: a character IBM-037 cannot hold is refused at intake (65)"
else fail "door: code page" "rc=$rc $(cat "$T/out")"; fi

# 5. ferry check: a bad dialect, and a total outside the trailer
dl_setup k 'delimiter="ab" quoting="sometimes"'
sed -i 's|<map to="form_ref" from="form_ref"/>|<map to="form_ref" from="$count"/>|' "$T/k/mappings/refund-claim.xml"
f k check >"$T/out" 2>&1; rc=$?
if [ $rc = 78 ] && grep -q 'quoting="sometimes": use needed, always or none' "$T/out" &&
   grep -q 'delimiter="ab": one character, or tab' "$T/out" &&
   grep -q 'refund-claim.xml:[0-9]*: form_ref: \$count is known only when the file ends' "$T/out"; then
    pass "ferry check refuses a bad dialect and \$count outside the trailer (mapping line named), exit 78"
else fail "check" "rc=$rc $(cat "$T/out")"; fi

# 6. generation-style names: {gen} runs on over dates and runs, survives
# a restart (each run is a new process), a dry run uses none, and a
# header record line and the trailer can carry $generation
dl_setup g 'delimiter="|" quoting="none" line-end="LF"'
sed -i 's|file-name="CLM{yyyymmdd}.{seq:3}.csv"|file-name="CLAIMS.{gen}.csv"|; s|<map to="type" value="T"/>|<map to="type" value="T"/><map to="gen" from="$generation"/>|; s|<section name="trailer">|<section name="header"><map to="type" value="H"/><map to="date" from="$file-date" format="CCYYMMDD"/><map to="gen" from="$generation"/></section>\n    &|' "$T/g/mappings/refund-claim.xml"
sed 's/"HCR0010\([0-9][0-9]\)X"/"HCR0070\1X"/' "$T/g/submissions.ndjson" > "$T/g2.ndjson"
sed 's/"HCR0010\([0-9][0-9]\)X"/"HCR0080\1X"/' "$T/g/submissions.ndjson" > "$T/g3.ndjson"
f g submit refund-claim "$T/g/submissions.ndjson" >/dev/null 2>&1
f g batch claims-nightly --date 2026-11-27 >"$T/g1.out" 2>&1; r1=$?
f g submit refund-claim "$T/g2.ndjson" >/dev/null 2>&1
f g batch claims-nightly --date 2026-11-27 >"$T/g2.out" 2>&1; r2=$?
f g submit refund-claim "$T/g3.ndjson" >/dev/null 2>&1
f g batch claims-nightly --date 2026-11-28 --dry-run >"$T/g3d.out" 2>&1; r3d=$?
f g batch claims-nightly --date 2026-11-28 >"$T/g3.out" 2>&1; r3=$?
names=$(ls "$T/g/drop" | tr '\n' ' ')
if [ $r1 = 0 ] && [ $r2 = 0 ] && [ $r3d = 0 ] && [ $r3 = 0 ] &&
   [ "$names" = "CLAIMS.G0001V00.csv CLAIMS.G0002V00.csv CLAIMS.G0003V00.csv " ] &&
   grep -q "file      CLAIMS.G0003V00.csv" "$T/g3d.out" &&
   [ "$(tail -1 "$T/g/drop/CLAIMS.G0003V00.csv")" = "T|3|8|961.17" ] &&
   [ "$(head -1 "$T/g/drop/CLAIMS.G0003V00.csv")" = "H|20261128|3" ] &&
   [ "$(sed -n 2p "$T/g/drop/CLAIMS.G0003V00.csv" | cut -d'|' -f1)" = reference ]; then
    pass "{gen}: G0001V00, G0002V00 on one date, G0003V00 the next, one per run; the dry run previews G0003V00 without taking it; a header record line H|20261128|3 and the trailer carry \$generation"
else fail "generation names" "r=$r1/$r2/$r3d/$r3 names=[$names] $(tail -1 "$T/g/drop/CLAIMS.G0003V00.csv" 2>&1) $(cat "$T/g3d.out")"; fi

[ $fails = 0 ] || { echo "$fails case(s) failed"; exit 1; }
echo "all delimited batch cases passed"
