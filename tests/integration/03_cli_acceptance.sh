#!/bin/bash
# 03_cli_acceptance - the command line as operators, support staff and
# mapping authors meet it: every command refuses an unknown option with
# its usage and exit 64, every --json output parses, exit codes match the
# operator guide's table, listings stay aligned with long service names,
# and error messages say what is wrong, where, and what to do.
set -eu
. "$(dirname "$0")/lib.sh"
trap 'rm -rf "$T"' EXIT
example_config "$T/ex"
CFG="$T/ex/ferry.xml"
SP="$T/spool"
F() { "$FERRY_BIN" "$@"; }

# ---- unknown option: usage on stderr, exit 64, for every command --------
for cmd in serve jobs check submit import queue show map copybook batch \
           batches deliver reconcile edit report retry hold release \
           discard audit purge; do
    expect_exit 64 F "$cmd" --no-such-option
    grep -q 'usage: ferry' "$T/err" || fail "unknown option: $cmd" "no usage on stderr: $(cat "$T/err")"
done
ok "every command: unknown option prints usage and exits 64"

# ---- the shared options are taken everywhere ----------------------------
expect_exit 0 F copybook --config "$CFG" --spool "$SP" "$T/ex/copybooks/CLAIMREC.cpy"
expect_exit 0 F check --config "$CFG" --spool "$SP"
ok "copybook and check accept --config and --spool"

# ---- a day's data -------------------------------------------------------
expect_exit 65 F submit --config "$CFG" --spool "$SP" refund-claim "$T/ex/submissions.ndjson"
expect_exit 65 F submit --config "$CFG" --spool "$SP" change-of-address "$T/ex/address-changes.ndjson"
expect_exit 65 F deliver --config "$CFG" --spool "$SP"
failed=$(F queue --config "$CFG" --spool "$SP" --state failed --json | jq -r '.records[0].reference')
case "$failed" in FRY-*) ;; *) fail setup "no failed change of address: $failed" ;; esac
ok "setup: refund claims queued, one change of address failed"

# ---- every --json is valid JSON ------------------------------------------
json_ok() {   # NAME CODE CMD... : exit CODE and stdout parses with jq
    local name=$1 code=$2; shift 2
    expect_exit "$code" "$@"
    jq -e . "$T/out" >/dev/null 2>&1 || fail "json: $name" "not JSON: $(head -c 300 "$T/out")"
}
json_ok check 0 F check --config "$CFG" --json
json_ok copybook 0 F copybook "$T/ex/copybooks/CLAIMREC.cpy" --json
json_ok jobs 0 F jobs --config "$CFG" --spool "$SP" --json
json_ok queue 0 F queue --config "$CFG" --spool "$SP" --json
json_ok "queue --counts" 0 F queue --config "$CFG" --spool "$SP" --counts --json
[ "$(jq .total "$T/out")" -ge 13 ] || fail "queue --counts" "no total: $(cat "$T/out")"
json_ok show 0 F show --config "$CFG" --spool "$SP" --json "$failed"
json_ok batches 0 F batches --config "$CFG" --spool "$SP" --json
json_ok targets 0 F targets --config "$CFG" --spool "$SP" --json
json_ok audit 0 F audit --config "$CFG" --spool "$SP" --json
json_ok "audit verify" 0 F audit --config "$CFG" --spool "$SP" --json verify
json_ok report 0 F report --config "$CFG" --spool "$SP" --json
json_ok "batch --dry-run" 0 F batch --config "$CFG" --spool "$SP" --json --dry-run claims-nightly
json_ok "retry refused" 65 F retry --config "$CFG" --spool "$SP" --json "$(F queue --config "$CFG" --spool "$SP" --state queued --json | jq -r '.records[0].reference')"
ok "every listing's --json parses"

# ---- map --json and edit --json: one JSON document, personal data masked --
head -1 "$T/ex/submissions.ndjson" > "$T/claim.json"
expect_exit 0 F map --config "$CFG" --json --reveal refund-claim "$T/claim.json"
cp "$T/out" "$T/map-reveal.json"
nino=$(jq -r '.record.nino' "$T/map-reveal.json")
case "$nino" in [A-Z][A-Z][0-9]*) ;; *) fail "map --json --reveal" "no NINO: $nino" ;; esac
jq -e --arg n "$nino" '.target.fields[] | select(.name=="CLM-NINO")
    | .value == $n and (.hex | test("^[0-9A-F]{18}$")) and (.personal | not)' \
    "$T/map-reveal.json" >/dev/null || fail "map --json --reveal" "CLM-NINO: $(cat "$T/map-reveal.json")"
json_ok "map" 0 F map --config "$CFG" --json refund-claim "$T/claim.json"
jq -e '.service == "refund-claim" and .record.nino == "***"
    and .target.type == "fixed-width" and .target.record == "CLAIM-DETAIL"
    and .target.length == 150 and .target.encoding == "IBM-285"
    and ([.target.fields[] | select(.name=="CLM-NINO")][0]
         | .value == "***" and .hex == "***" and .personal == true
           and .start == .offset + 1 and .length == 9)
    and ([.target.fields[] | select(.name=="CLM-FORM-REF")][0].value
         == "HCR001001X")
    and ([.target.fields[].length] | add) == 150' "$T/out" >/dev/null \
    || fail "map --json" "$(cat "$T/out")"
grep -q "$nino" "$T/out" && fail "map --json" "personal value shown without --reveal"
[ "$(jq '.target.fields | length' "$T/out")" = "$(jq '.target.fields | length' "$T/map-reveal.json")" ] \
    || fail "map --json" "masked and revealed listings differ in length"
echo '{"form_ref":"x"}' > "$T/bad-claim.json"
json_ok "map refused" 65 F map --config "$CFG" --json refund-claim "$T/bad-claim.json"
jq -e '(.problems | length) > 0 and (.problems[0] | has("where") and has("reason"))
    and (has("target") | not)' "$T/out" >/dev/null || fail "map --json refused" "$(cat "$T/out")"
head -1 "$T/ex/address-changes.ndjson" > "$T/coa1.json"
json_ok "map odbc" 0 F map --config "$CFG" --json change-of-address "$T/coa1.json"
jq -e '.target.type == "odbc" and .record.nino == "***"
    and ([.target.slots[] | select(.to=="NINO")][0].value == "***")
    and ([.target.slots[] | select(.to=="REF")][0] | .from == "$reference" and (has("value") | not))
    and ([.target.slots[] | select(.to=="SOURCE")][0].value == "WEB")' "$T/out" >/dev/null \
    || fail "map --json odbc" "$(cat "$T/out")"
expect_exit 64 F map --config "$CFG" --json --decode refund-claim "$T/claim.json"
ok "map --json: fields with offsets and hex, personal values and bytes masked unless --reveal, refusals as problems (65)"

json_ok "edit dry run" 0 F edit --config "$CFG" --spool "$SP" --json --dry-run "$failed" \
    --set 'answers[question_id=3].town=SWANSEA' --set 'answers[question_id=1].answer_text=CE654321A'
jq -e --arg r "$failed" '.reference == $r and .result == "unchanged" and .dry_run == true
    and .before.town == "CARDIFF" and .after.town == "SWANSEA"
    and .before.nino == "***" and .after.nino == "***" and .problems == []
    and (.changes | map(select(.path=="town"))[0] | .old == "CARDIFF" and .new == "SWANSEA")
    and (.changes | map(select(.path=="nino"))[0] | .old == "***" and .new == "***")' \
    "$T/out" >/dev/null || fail "edit --json" "$(cat "$T/out")"
grep -q 'CE654321A' "$T/out" && fail "edit --json" "personal value shown without --reveal"
json_ok "edit dry run revealed" 0 F edit --config "$CFG" --spool "$SP" --json --reveal --reason "test: check the NINO" --dry-run "$failed" \
    --set 'answers[question_id=1].answer_text=CE654321A'
jq -e '(.changes | map(select(.path=="nino"))[0].new == "CE654321A") and .after.nino == "CE654321A"' \
    "$T/out" >/dev/null || fail "edit --json --reveal" "$(cat "$T/out")"
json_ok "edit refused" 65 F edit --config "$CFG" --spool "$SP" --json "$failed" \
    --set 'answers[question_id=4].answer_text=notadate'
jq -e '.result == "refused" and .changes == [] and
    (.problems[0] | .where == "answers[question_id=4].answer_text" and (.reason | test("date")))' \
    "$T/out" >/dev/null || fail "edit --json refused" "$(cat "$T/out")"
json_ok "edit unchanged" 0 F edit --config "$CFG" --spool "$SP" --json "$failed" --set 'form_name=Other'
jq -e '.result == "unchanged" and .changes == [] and (has("dry_run") | not)' "$T/out" >/dev/null \
    || fail "edit --json unchanged" "$(cat "$T/out")"
[ "$(F queue --config "$CFG" --spool "$SP" --state failed --json | jq -r '.records[0].reference')" = "$failed" ] \
    || fail "edit --json" "a dry run, refusal or no-op changed the record's state"
ok "edit --json: outcome, before/after and changes, personal values masked unless --reveal, refusals as problems (65)"

# ---- listings a person reads at 2am ---------------------------------------
F queue --config "$CFG" --spool "$SP" > "$T/q.txt"
# the RECEIVED column starts at the same place on every line, however
# long the service name
cols=$(awk 'NR > 1 && /^FRY-/ { print index($0, " 20") }' "$T/q.txt" | sort -u | wc -l)
[ "$cols" = 1 ] || fail "queue alignment" "columns move: $(cat "$T/q.txt")"
hdr=$(head -1 "$T/q.txt" | awk '{ print index($0, "RECEIVED") }')
row=$(grep change-of-address "$T/q.txt" | head -1 | awk '{ print index($0, " 20") + 1 }')
[ "$hdr" = "$row" ] || fail "queue alignment" "header RECEIVED at $hdr, values at $row"
grep -q 'RECEIVED (UTC)' "$T/q.txt" || fail "queue" "times without a zone"
grep -q '^-- [0-9]* records$' "$T/q.txt" || fail "queue" "no total line"
ok "queue: columns aligned with change-of-address, times in UTC, a total"

F queue --config "$CFG" --spool "$SP" --counts > "$T/c.txt"
grep -q '^-- [0-9]* records in total$' "$T/c.txt" || fail "queue --counts" "no total: $(cat "$T/c.txt")"
ok "queue --counts ends with the total"

F show --config "$CFG" --spool "$SP" "$failed" > "$T/s.txt"
grep -q '^timeline (UTC):' "$T/s.txt" || fail show "timeline times without a zone"
grep -Eq '^  [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}  received ' "$T/s.txt" || fail show "timeline without its receipt: $(cat "$T/s.txt")"
ok "show labels its timeline (attempts, audit) UTC"

# ---- exit codes from the operator guide ------------------------------------
expect_exit 67 F show --config "$CFG" --spool "$SP" FRY-20000101-999999
grep -q "no such record" "$T/err" && grep -q "ferry queue" "$T/err" || fail "show 67" "$(cat "$T/err")"
expect_exit 67 F audit --config "$CFG" --spool "$SP" FRY-20000101-999999
grep -q "no such record" "$T/err" || fail "audit 67" "$(cat "$T/err")"
expect_exit 67 F retry --config "$CFG" --spool "$SP" FRY-20000101-999999
ok "an unknown reference is 67 for show, audit and retry, with a hint"

expect_exit 66 F submit --config "$CFG" --spool "$SP" refund-claim "$T/nothere.json"
expect_exit 66 F copybook "$T/nothere.cpy"
grep -q 'give the path' "$T/err" || fail "copybook 66" "$(cat "$T/err")"
expect_exit 66 F check --config "$T/nothere.xml"
expect_exit 66 F reconcile --config "$CFG" --spool "$SP" claims-mainframe "$T/nothere.ack"
grep -q 'acknowledgement file' "$T/err" || fail "reconcile 66" "$(cat "$T/err")"
ok "a missing input or configuration is 66"

expect_exit 64 F submit --config "$CFG" --spool "$SP" no-such-service "$T/ex/submissions.ndjson"
grep -q 'services: refund-claim change-of-address' "$T/err" || fail "submit unknown service" "$(cat "$T/err")"
expect_exit 64 F map --config "$CFG" no-such-service "$T/ex/submissions.ndjson"
grep -q 'services: refund-claim' "$T/err" || fail "map unknown service" "$(cat "$T/err")"
ok "an unknown service is 64 and the message lists the services"

expect_exit 64 F batches --config "$CFG" --spool "$SP" --target no-such-target
grep -q 'targets: claims-mainframe customer-db' "$T/err" || fail "batches target" "$(cat "$T/err")"
ok "batches --target with an unknown target is 64 (usage), naming the targets"

expect_exit 64 F report --config "$CFG" --spool "$SP" --date 2026-13-45
grep -q -- "--date: '2026-13-45' is not a date" "$T/err" || fail "report --date" "$(cat "$T/err")"
expect_exit 64 F purge --config "$CFG" --spool "$SP" --older-than soon
grep -q "'soon' is not an age" "$T/err" || fail "purge" "$(cat "$T/err")"
expect_exit 64 F queue --config "$CFG" --spool "$SP" --state bogus
grep -q 'states are: received queued' "$T/err" || fail "queue --state" "$(cat "$T/err")"
ok "bad option values name the option, the value and what to give"

# ---- support: a refusal says what to do next -------------------------------
queued=$(F queue --config "$CFG" --spool "$SP" --state queued --json | jq -r '.records[0].reference')
expect_exit 65 F retry --config "$CFG" --spool "$SP" "$queued"
grep -q 'retry takes failed' "$T/err" || fail "retry hint" "$(cat "$T/err")"
expect_exit 0 F retry --config "$CFG" --spool "$SP" --reason "cleared" "$failed"
expect_exit 0 F audit --config "$CFG" --spool "$SP" "$failed"
grep -q '^-- 2 entries$' "$T/out" || fail "audit total" "$(cat "$T/out")"   # the reveal above, the retry
ok "retry of a queued record explains which states retry takes; audit counts its entries"

# ---- mapping authors: a target slot naming no field is caught by map ------
sed -i 's/from="town"/from="townn"/' "$T/ex/mappings/change-of-address.xml"
head -1 "$T/ex/address-changes.ndjson" > "$T/coa.json"
expect_exit 78 F map --config "$CFG" change-of-address "$T/coa.json"
grep -q "no field 'townn'" "$T/err" || fail "map unknown from" "$(cat "$T/err")"
grep -q '(null)' "$T/out" && fail "map unknown from" "prints (null): $(cat "$T/out")"
ok "map flags a <map from=...> that names no field (78), never prints (null)"

echo "$CASES passed, 0 failed"
