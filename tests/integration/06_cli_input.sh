#!/bin/bash
# 06_cli_input - `ferry submit` and `ferry import` on input as people
# actually send it, against the real binary:
# - a pretty-printed document with one missing comma is ONE problem with
#   its real line and column (not one per line);
# - a UTF-8 byte-order mark on NDJSON is skipped; a JSON array of
#   submissions is taken element by element, problems named [i];
# - binary input stops after 100 refused lines, saying how many were not read;
# - a 200 MB NDJSON line is refused without being held (peak RSS measured
#   against a small run of the same binary);
# - a CSV without a required column is one problem at the header;
# - below <spool min-free> the CLI stores nothing and counts every record
#   not accepted (2,500 of 2,500, across three batches).
set -eu
. "$(dirname "$0")/lib.sh"
for c in jq python3 sqlite3; do
    command -v $c >/dev/null || { echo "$c not installed"; exit 77; }
done
[ -x /usr/bin/time ] || { echo "/usr/bin/time not installed"; exit 77; }
trap 'rm -rf "$T"' EXIT
example_config "$T/ex"
CFG="$T/ex/ferry.xml"
SVC=refund-claim
F() { "$FERRY_BIN" "$@"; }
count() { sqlite3 "$1/ledger.db" 'SELECT count(*) FROM records'; }

# ---- one document, one missing comma -------------------------------------
head -1 "$T/ex/submissions.ndjson" | jq '.submission_reference="PRETTY0001"' > "$T/p.json"
L=$(grep -n '"submitted_at"' "$T/p.json" | cut -d: -f1)
sed "$((L - 1))s/,\$//" "$T/p.json" > "$T/broken.json"
expect_exit 65 F submit --config "$CFG" --spool "$T/s1" "$SVC" "$T/broken.json"
[ "$(grep -c 'malformed JSON' "$T/err")" = 1 ] || fail comma "wanted one problem: $(cat "$T/err")"
grep -Eq "^ferry submit: line $L, column [0-9]+: malformed JSON" "$T/err" \
    || fail comma "problem not at line $L: $(cat "$T/err")"
grep -q '0 accepted, 0 duplicates, 1 rejected' "$T/err" || fail comma "summary: $(cat "$T/err")"
ok "pretty-printed document missing a comma -> one problem at line $L"
expect_exit 0 F submit --config "$CFG" --spool "$T/s1" "$SVC" "$T/p.json"
ok "the same document with its comma -> accepted"

# ---- byte-order mark, arrays ---------------------------------------------
{ printf '\357\273\277'; sed -n 2,3p "$T/ex/submissions.ndjson"; } > "$T/bom.ndjson"
expect_exit 0 F submit --config "$CFG" --spool "$T/s2" "$SVC" "$T/bom.ndjson"
[ "$(count "$T/s2")" = 2 ] || fail bom "2 records wanted"
ok "NDJSON with a UTF-8 byte-order mark -> both lines accepted"
sed -n 4,6p "$T/ex/submissions.ndjson" | jq -s . > "$T/arr.json"
GOOD=$(sed -n 4,6p "$T/ex/submissions.ndjson" | grep -c . )
set +e; F submit --config "$CFG" --spool "$T/s3" "$SVC" "$T/arr.json" >"$T/out" 2>"$T/err"; rc=$?; set -e
n=$(count "$T/s3")
[ "$n" -ge 1 ] || fail array "nothing accepted from the array: $(cat "$T/err")"
if [ "$rc" = 65 ]; then
    grep -Eq '^ferry submit: line 1: \[[0-9]+\]\.' "$T/err" || fail array "problems not named [i]: $(cat "$T/err")"
fi
[ "$(( n + $(grep -Eo '[0-9]+ rejected' "$T/err" | cut -d' ' -f1) ))" = "$GOOD" ] \
    || fail array "accepted + rejected is not the array's length"
ok "a JSON array of $GOOD submissions -> each element taken ($n accepted, problems named [i])"

# ---- binary input ---------------------------------------------------------
head -c 3000000 /dev/urandom > "$T/bin.dat"
expect_exit 65 F submit --config "$CFG" --spool "$T/s4" "$SVC" "$T/bin.dat"
grep -q 'stopped after 100 refused lines' "$T/err" || fail binary "no stop: $(tail -3 "$T/err")"
grep -Eq '[0-9]+ more lines? not read' "$T/err" || fail binary "no count of what was not read"
[ "$(wc -l < "$T/err")" -le 400 ] || fail binary "$(wc -l < "$T/err") lines of problems"
ok "3 MB of random bytes -> stops after 100 problems, says how much was not read"

# ---- a 200 MB line ---------------------------------------------------------
python3 - "$T/big.ndjson" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write('{"submission_reference":"')
    for _ in range(200):
        f.write("A" * (1 << 20))
    f.write('"}\n')
PY
sed -n 7p "$T/ex/submissions.ndjson" >> "$T/big.ndjson"
sed -n 7p "$T/ex/submissions.ndjson" > "$T/small.ndjson"
/usr/bin/time -f '%M' -o "$T/rss.small" "$FERRY_BIN" submit --config "$CFG" \
    --spool "$T/s5" "$SVC" "$T/small.ndjson" >/dev/null 2>&1 || true
set +e
/usr/bin/time -f '%M' -o "$T/rss.big" "$FERRY_BIN" submit --config "$CFG" \
    --spool "$T/s6" "$SVC" "$T/big.ndjson" >"$T/out" 2>"$T/err"; rc=$?
set -e
[ "$rc" = 65 ] || fail bigline "exit $rc: $(cat "$T/err")"
grep -q '^ferry submit: line 1: larger than the limit of 1048576 bytes' "$T/err" || fail bigline "$(cat "$T/err")"
[ "$(count "$T/s6")" = 1 ] || fail bigline "the line after the big one was not accepted"
small=$(tail -1 "$T/rss.small"); big=$(tail -1 "$T/rss.big")
[ "$big" -le $(( small + 65536 )) ] || fail bigline "peak RSS ${big} kB for a 200 MB line (small input: ${small} kB)"
ok "a 200 MB line refused as soon as it passes max-body; peak RSS ${big} kB (small input ${small} kB)"
rm -f "$T/big.ndjson"

# ---- CSV without a required column ----------------------------------------
cut -d, -f1-4,6- "$T/ex/assisted-digital.csv" > "$T/nonino.csv"
expect_exit 65 F import --config "$CFG" --spool "$T/s7" "$SVC" "$T/nonino.csv"
[ "$(grep -c "required field 'nino'" "$T/err")" = 1 ] \
    || fail csv "wanted one header problem: $(cat "$T/err")"
[ "$(wc -l < "$T/err")" = 1 ] || fail csv "more than one problem: $(cat "$T/err")"
grep -q '^ferry import: [^:]*: line 1: no column for the required field' "$T/err" || fail csv "not at the header: $(cat "$T/err")"
ok "CSV without the required nino column -> one problem at the header line"

# ---- below min-free ---------------------------------------------------------
sed 's|<spool dir="\([^"]*\)"|<spool dir="\1" min-free="1000000GiB"|' "$CFG" > "$T/ex/full.xml"
grep -q 'min-free="1000000GiB"' "$T/ex/full.xml" || fail minfree "config not rewritten"
python3 - "$T/ex/submissions.ndjson" "$T/many.ndjson" <<'PY'
import json, sys
d = json.loads(open(sys.argv[1]).readline())
with open(sys.argv[2], "w") as f:
    for i in range(2500):
        d["submission_reference"] = "FULL%06d" % i
        f.write(json.dumps(d) + "\n")
PY
expect_exit 74 F submit --config "$T/ex/full.xml" --spool "$T/s8" --batch 1000 "$SVC" "$T/many.ndjson"
grep -q 'free space below <spool min-free>' "$T/err" || fail minfree "no reason: $(cat "$T/err")"
grep -q '2500 valid records NOT accepted' "$T/err" || fail minfree "not every record counted: $(cat "$T/err")"
[ "$(count "$T/s8")" = 0 ] || fail minfree "records stored below min-free"
ok "below min-free: nothing stored, exit 74, all 2500 records counted as not accepted"

# ---- batches commit while the next is read (cli_intake.c) -------------------
# 2500 submissions in batches of 7: each batch commits on a second thread
# while the next is mapped.  Every record stored once, every reference
# printed once, after its commit, in line order; then the example file
# (refusals and a duplicate among them) in batches of 2, as JSON.
expect_exit 0 F submit --config "$CFG" --spool "$T/s9" --batch 7 "$SVC" "$T/many.ndjson"
[ "$(count "$T/s9")" = 2500 ] || fail pipeline "stored $(count "$T/s9") of 2500"
[ "$(grep -c '	accepted	line ' "$T/out")" = 2500 ] || fail pipeline "not 2500 references printed"
awk -F'\t' '{ sub(/^line /, "", $3); if ($3 != NR) { print "line " NR ": " $0; exit 1 } }' "$T/out" \
    || fail pipeline "references not in line order"
cut -f1 "$T/out" | sort -u | wc -l | grep -qx 2500 || fail pipeline "a reference printed twice"
cut -f1 "$T/out" | sort > "$T/printed"
python3 -c 'import sqlite3,sys; [print(r[0]) for r in sqlite3.connect(sys.argv[1]).execute("select ref from records order by ref")]' \
    "$T/s9/ledger.db" > "$T/stored"
cmp -s "$T/printed" "$T/stored" || fail pipeline "printed references are not the stored ones"
expect_exit 65 F submit --config "$CFG" --spool "$T/s10" --batch 2 --json "$SVC" "$T/ex/submissions.ndjson"
jq -e '.accepted == 8 and .duplicates == 1 and .not_accepted == 0' "$T/out" >/dev/null \
    || fail pipeline "batches of 2: $(cat "$T/out")"
[ "$(jq '[.results[] | select(.reference)] | length' "$T/out")" = 9 ] || fail pipeline "not 9 references in the JSON"
[ "$(count "$T/s10")" = 8 ] || fail pipeline "batches of 2 stored $(count "$T/s10")"
ok "batches commit behind the reading: 2500 in batches of 7 stored and printed once each, in order; JSON output whole"

echo "$CASES cases passed"
