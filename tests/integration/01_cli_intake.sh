#!/bin/bash
# 01_cli_intake - ferry check / submit / import / queue / show on the
# example service: accepted records, every refusal listed by line and path,
# idempotency, masking, bad input changes nothing, spool modes.
set -eu
. "$(dirname "$0")/lib.sh"
trap 'rm -rf "$T"' EXIT
example_config "$T/ex"
CFG="$T/ex/ferry.xml"
SP="$T/spool"
F() { "$FERRY_BIN" "$@"; }

expect_exit 0 F check --config "$CFG"
ok "example config checks clean"

expect_exit 65 F submit --config "$CFG" --spool "$SP" refund-claim "$T/ex/submissions.ndjson"
grep -c accepted "$T/out" | grep -qx 8 || fail submit "expected 8 accepted: $(cat "$T/out")"
grep -q 'duplicate	line 13' "$T/out" || fail submit "line 13 is a duplicate of line 1"
ok "submit accepts 8 valid records, marks the repeat duplicate"

grep -q '^ferry submit: line 5: answers\[question_id=2\]\.answer_text: ' "$T/err" || fail paths "no path for bad NINO: $(cat "$T/err")"
grep -q '^ferry submit: line 5: answers\[question_id=6\]\.answer_text: .*decimal places' "$T/err" || fail paths "no decimal-places problem"
grep -q '^ferry submit: line 12, column [0-9]*: ' "$T/err" || fail paths "truncated JSON should give line and column: $(cat "$T/err")"
n5=$(grep -c '^ferry submit: line 5:' "$T/err")
[ "$n5" -ge 2 ] || fail paths "every problem of line 5 listed, got $n5"
ok "refusals name line, JSON path and reason, all of them"

F queue --spool "$SP" --json > "$T/q.json"
[ "$(jq '.records | length' "$T/q.json")" = 8 ] || fail queue "8 records expected"
jq -r '.records[].reference' "$T/q.json" | sort -c || fail queue "references sort in order"
jq -r '.records[].reference' "$T/q.json" | grep -Eqv '^FRY-[0-9]{8}-[0-9]{6}$' && fail queue "reference format"
ok "queue lists 8 records with sortable FRY- references"

ref=$(jq -r '.records[0].reference' "$T/q.json")
F show --config "$CFG" --spool "$SP" "$ref" > "$T/show.txt"
grep -q 'Jones' "$T/show.txt" && fail show "personal surname shown without --reveal"
grep -q '\*\*\*' "$T/show.txt" || fail show "no masking marker"
F show --config "$CFG" --spool "$SP" --reveal --reason "test: check the surname" "$ref" | grep -q 'JONES' || fail show "--reveal shows the mapped surname"
# a personal value sent as a JSON number is masked too
sed -n 2p "$T/ex/submissions.ndjson" | sed 's/"HCR001002X"/"HCR007002X"/; s/"account_number": "87654321"/"account_number": 87654321/' > "$T/num.json"
grep -q '"account_number": 87654321' "$T/num.json" || fail setup "number substitution"
F submit --config "$CFG" --spool "$SP" refund-claim "$T/num.json" > "$T/num.out" 2>"$T/num.err" || true
nref=$(awk '$2 == "accepted" {print $1}' "$T/num.out")
[ -n "$nref" ] || fail show "numeric account number accepted: $(cat "$T/num.out")"
F show --config "$CFG" --spool "$SP" "$nref" | grep -q 87654321 && fail show "numeric personal value shown"
F show --config "$CFG" --spool "$SP" --reveal --reason "test: check the number" "$nref" | grep -q 87654321 || fail show "--reveal shows it"
ok "show masks personal fields unless --reveal (strings and numbers)"

# bad input changes nothing
before=$(F queue --spool "$SP" --json | jq '.count')
printf '{"a":1}\n{"b":\n' > "$T/bad1.ndjson"
expect_exit 65 F submit --config "$CFG" --spool "$SP" refund-claim "$T/bad1.ndjson"
printf '{"submission_reference":"AB\0CD"}\n' > "$T/nul.json"
expect_exit 65 F submit --config "$CFG" --spool "$SP" refund-claim "$T/nul.json"
grep -qi 'nul' "$T/err" || fail nul "NUL byte named: $(cat "$T/err")"
printf '{"submission_reference":"\xff\xfe"}\n' > "$T/utf8.json"
expect_exit 65 F submit --config "$CFG" --spool "$SP" refund-claim "$T/utf8.json"
grep -qi 'utf-8' "$T/err" || fail utf8 "invalid UTF-8 named: $(cat "$T/err")"
python3 -c 'print("["*100 + "]"*100)' > "$T/deep.json"
expect_exit 65 F submit --config "$CFG" --spool "$SP" refund-claim "$T/deep.json"
grep -qi 'deep\|depth\|nest' "$T/err" || fail deep "nesting named: $(cat "$T/err")"
python3 -c 'import json; print(json.dumps({"x":"a"*(2<<20)}))' > "$T/big.json"
expect_exit 65 F submit --config "$CFG" --spool "$SP" refund-claim "$T/big.json"
grep -qi 'large\|size\|bytes' "$T/err" || fail big "size named: $(cat "$T/err")"
after=$(F queue --spool "$SP" --json | jq '.count')
[ "$before" = "$after" ] || fail nochange "bad input changed the spool: $before -> $after"
ok "malformed JSON, NUL, invalid UTF-8, too deep, too big: refused, spool unchanged"

expect_exit 65 F import --config "$CFG" --spool "$SP" refund-claim "$T/ex/assisted-digital.csv"
[ "$(grep -c accepted "$T/out")" = 2 ] || fail import "2 rows accepted: $(cat "$T/out")"
grep -q '^ferry import: line 4: nino: ' "$T/err" || fail import "bad NINO on CSV line 4 named: $(cat "$T/err")"
ok "import: 2 rows accepted, bad row named by line and field"

{ head -1 "$T/ex/assisted-digital.csv"; printf '"BROKEN,x\n'; } > "$T/broken.csv"
expect_exit 65 F import --config "$CFG" --spool "$SP" refund-claim "$T/broken.csv"
grep -qi 'quote' "$T/err" || fail csv "broken quote named: $(cat "$T/err")"
printf 'form_ref,nosuchfield\nA,B\n' > "$T/badcol.csv"
expect_exit 65 F import --config "$CFG" --spool "$SP" refund-claim "$T/badcol.csv"
grep -q "nosuchfield" "$T/err" || fail csv "unknown column named"
head -1 "$T/ex/assisted-digital.csv" > "$T/short.csv"; echo 'PAPER9,2026-11-26T10:02:00Z,A' >> "$T/short.csv"
expect_exit 65 F import --config "$CFG" --spool "$SP" refund-claim "$T/short.csv"
grep -qi 'column' "$T/err" || fail csv "missing column named: $(cat "$T/err")"
ok "CSV with broken quote, unknown column, missing columns: refused with line"

[ "$(stat -c %a "$SP")" = 700 ] || fail modes "spool folder $(stat -c %a "$SP")"
for f in "$SP"/ledger.db*; do
    [ "$(stat -c %a "$f")" = 600 ] || fail modes "$f is $(stat -c %a "$f")"
done
ok "spool folder 0700, ledger files 0600"

cat "$T/ex/submissions.ndjson" | F submit --config "$CFG" --spool "$SP" refund-claim - > "$T/again" 2>/dev/null || true
grep -c duplicate "$T/again" | grep -qx 9 || fail idem "resubmitting the file gives 9 duplicates: $(cat "$T/again")"
[ "$(F queue --spool "$SP" --json | jq '.count')" = 11 ] || fail idem "count changed"
ok "resubmitting from stdin: all duplicates, nothing stored twice"
echo "$CASES passed, 0 failed"
