#!/bin/bash
# 04_privacy_mask - the one masking rule seen from the CLI: show hides
# unmapped payload fields and personal list sub-fields, edit's difference
# and its audit entry never hold a personal sub-field's values, --reveal
# shows them.
set -eu
. "$(dirname "$0")/lib.sh"
trap 'rm -rf "$T"' EXIT
example_config "$T/ex"
CFG="$T/ex/ferry.xml"
SP="$T/spool"
F() { "$FERRY_BIN" "$@"; }
# items.code is personal in this department's mapping
sed -i 's|<field name="code" path="code" type="string" required="true"|<field name="code" path="code" type="string" personal="true" required="true"|' \
    "$T/ex/mappings/refund-claim.xml"
grep -q 'name="code" path="code" type="string" personal="true"' "$T/ex/mappings/refund-claim.xml" \
    || fail setup "items.code not marked personal"
head -n 1 "$T/ex/submissions.ndjson" > "$T/one.json"
grep -q '"address1": "1 High Street"' "$T/one.json" || fail setup "unmapped address1 in line 1"
grep -q '"code": "GS"' "$T/one.json" || fail setup "items[0].code GS in line 1"
expect_exit 0 F submit --config "$CFG" --spool "$SP" refund-claim "$T/one.json"
ref=$(awk '$2 == "accepted" {print $1}' "$T/out")
[ -n "$ref" ] || fail submit "no reference: $(cat "$T/out")"

expect_exit 0 F show --config "$CFG" --spool "$SP" --json "$ref"
cp "$T/out" "$T/show.json"
for v in '1 High Street' '"Town"' 'Jones' 'AB 12 34 56 C' '"GS"' 'What is your name'; do
    grep -qF "$v" "$T/show.json" && fail show "$v shown without --reveal"
done
[ "$(jq -r '.payload.answers[3].address1' "$T/show.json")" = '***' ] || fail show "unmapped address1 not masked"
[ "$(jq -r '.payload.answers[3].postcode' "$T/show.json")" = 'CF10 1AA' ] || fail show "mapped postcode hidden"
[ "$(jq -r '.payload.answers[6].items[0].amount' "$T/show.json")" = '25.00' ] || fail show "mapped items.amount hidden"
[ "$(jq -r '.mapped.items[0].code' "$T/show.json")" = '***' ] || fail show "mapped items.code not masked"
[ "$(jq -r '.timeline[0] | .what + " " + .channel + " " + .client' "$T/show.json")" = 'received cli cli' ] \
    || fail show "timeline starts with received, channel and client: $(jq -c '.timeline[0]' "$T/show.json")"
ok "show masks unmapped payload fields and a personal list sub-field; its timeline names the channel"

expect_exit 0 F edit --config "$CFG" --spool "$SP" --reason "typo in item code" \
    --set 'answers[question_id=7].items[0].code=EL' "$ref"
cp "$T/out" "$T/edit.txt"
grep -q '^-items\[0\]\.code: \*\*\*$' "$T/edit.txt" || fail edit "old sub-field value not masked: $(cat "$T/edit.txt")"
grep -q '^+items\[0\]\.code: \*\*\* (changed)$' "$T/edit.txt" || fail edit "new sub-field value not masked: $(cat "$T/edit.txt")"
grep -qE '(GS|EL)' "$T/edit.txt" && fail edit "personal sub-field value printed: $(cat "$T/edit.txt")"
expect_exit 0 F show --config "$CFG" --spool "$SP" --json "$ref"
detail=$(jq -r '.audit[] | select(.action == "edit") | .detail // empty' "$T/out")
jq -e '.audit[] | select(.action == "edit")' "$T/out" >/dev/null || fail audit "no edit entry"
sqlite3 "$SP/ledger.db" "SELECT detail FROM audit WHERE action = 'edit'" > "$T/audit.txt"
grep -q 'items\[0\]\.code (personal, changed)' "$T/audit.txt" || fail audit "edit entry does not name the field: $(cat "$T/audit.txt") $detail"
grep -qE "'(GS|EL)'" "$T/audit.txt" && fail audit "personal values in the audit: $(cat "$T/audit.txt")"
ok "edit of a personal list sub-field: masked difference, audit names it without values"

expect_exit 64 F show --config "$CFG" --spool "$SP" --reveal "$ref"
grep -q -- '--reason' "$T/err" || fail reveal "no word of --reason: $(cat "$T/err")"
grep -qF '1 High Street' "$T/out" && fail reveal "shown without a reason"
expect_exit 64 F edit --config "$CFG" --spool "$SP" --reveal --dry-run \
    --set 'answers[question_id=7].items[0].code=GS' "$ref"
[ "$(sqlite3 "$SP/ledger.db" "SELECT count(*) FROM audit WHERE action = 'reveal'")" = 0 ] \
    || fail reveal "a refused reveal was audited"
ok "--reveal without --reason is refused (64), nothing shown or audited"

expect_exit 0 F show --config "$CFG" --spool "$SP" --json --actor s.officer \
    --reveal --reason "citizen phoned, ticket 4711" "$ref"
grep -qF '1 High Street' "$T/out" || fail reveal "--reveal hides the unmapped address"
[ "$(jq -r '.mapped.items[0].code' "$T/out")" = 'EL' ] || fail reveal "--reveal hides items.code"
row=$(sqlite3 -separator '|' "$SP/ledger.db" "SELECT actor, ref, reason, detail, at > 0 FROM audit WHERE action = 'reveal'")
[ "$row" = "s.officer|$ref|citizen phoned, ticket 4711|show|1" ] || fail reveal "audit entry: $row"
expect_exit 0 F edit --config "$CFG" --spool "$SP" --actor s.officer --reveal --dry-run \
    --reason "check the code" --set 'answers[question_id=7].items[0].code=GS' "$ref"
grep -q '^+items\[0\]\.code: GS$' "$T/out" || fail reveal "edit --reveal: $(cat "$T/out")"
[ "$(sqlite3 "$SP/ledger.db" "SELECT count(*) FROM audit WHERE action = 'reveal' AND detail = 'edit'")" = 1 ] \
    || fail reveal "edit --reveal not audited"
expect_exit 0 F audit verify --config "$CFG" --spool "$SP"
ok "--reveal shows the payload and the sub-field; each reveal audited (who, record, when, why)"

# a record edit cannot requeue is refused before any difference is shown
sqlite3 "$SP/ledger.db" "UPDATE records SET state = 'confirmed' WHERE ref = '$ref'"
expect_exit 65 F edit --config "$CFG" --spool "$SP" --reason "late fix" \
    --set 'answers[question_id=6].answer_text=30.00' "$ref"
grep -q 'cannot edit a confirmed record' "$T/err" || fail confirmed "$(cat "$T/err")"
grep -q '^---\|^+\|^-' "$T/out" && fail confirmed "a difference was printed: $(cat "$T/out")"
expect_exit 65 F edit --config "$CFG" --spool "$SP" --json --reason "late fix" \
    --set 'answers[question_id=6].answer_text=30.00' "$ref"
jq -e '.result == "refused" and .changes == [] and (.problems[0].reason | test("confirmed"))' "$T/out" >/dev/null \
    || fail confirmed "--json: $(cat "$T/out")"
ok "edit refuses a confirmed record before it shows a difference (65)"
echo "$CASES cases"
