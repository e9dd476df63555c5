#!/bin/bash
# 02_support_tools - deliver to the legacy SQLite database through ODBC,
# then the support tools: retry, hold, release, discard (reason required),
# references from stdin, audit with actor/reason/before/after, audit
# verify, purge moving the final record to the archive (payload gone, a
# slim row left that show still finds), keeping the audit.
set -eu
. "$(dirname "$0")/lib.sh"
trap 'rm -rf "$T"' EXIT
example_config "$T/ex"
CFG="$T/ex/ferry.xml"
SP="$T/spool"
F() { "$FERRY_BIN" "$@"; }

expect_exit 65 F submit --config "$CFG" --spool "$SP" change-of-address "$T/ex/address-changes.ndjson"
expect_exit 65 F deliver --config "$CFG" --spool "$SP"
rows=$(sqlite3 "$T/ex/legacy.db" 'SELECT count(*) FROM ADDRESS_CHANGES')
[ "$rows" = 4 ] || fail deliver "4 rows expected, got $rows"
F queue --spool "$SP" --state failed --json > "$T/failed.json"
[ "$(jq '.count' "$T/failed.json")" = 1 ] || fail deliver "one failed record"
bad=$(jq -r '.records[0].reference' "$T/failed.json")
jq -r '.records[0].last_error' "$T/failed.json" | grep -q 'UNIQUE' || fail deliver "back end's words kept"
F queue --spool "$SP" --state delivered --json | jq -e '.count == 4' >/dev/null || fail deliver "4 delivered"
ok "ODBC delivery: 4 rows written, the UNIQUE violation dead-lettered with the driver's words"

expect_exit 0 F retry --spool "$SP" --actor alice --reason "asked the DB team" "$bad"
grep -q "failed -> queued" "$T/out" || fail retry "before/after shown: $(cat "$T/out")"
expect_exit 0 F hold --spool "$SP" --actor alice --reason "citizen asked to wait" "$bad"
expect_exit 65 F hold --spool "$SP" --actor alice "$bad"
grep -qi "held" "$T/err" || fail hold "holding a held record is refused with a reason: $(cat "$T/err")"
expect_exit 0 F release --spool "$SP" --actor bob "$bad"
expect_exit 64 F discard --spool "$SP" "$bad"
grep -q -- "--reason is required" "$T/err" || fail discard "reason required"
echo "$bad" | F discard --spool "$SP" --actor bob --reason "withdrawn by the citizen" - > "$T/d.out" 2>&1 \
    || fail discard "discard from stdin failed: $(cat "$T/d.out")"
F show --config "$CFG" --spool "$SP" --json "$bad" > "$T/show.json"
[ "$(jq -r '.state' "$T/show.json")" = discarded ] || fail discard "state discarded"
jq -r '.closed_reason' "$T/show.json" | grep -q withdrawn || fail discard "reason kept"
expect_exit 67 F retry --spool "$SP" FRY-19990101-000001
ok "retry, hold, release, discard (stdin, reason required), unknown reference 67"

F audit --spool "$SP" --json "$bad" > "$T/audit.json"
[ "$(jq '.audit | length' "$T/audit.json")" = 4 ] || fail audit "4 entries for the record: $(cat "$T/audit.json")"
jq -e '.audit[0].actor == "alice" and .audit[0].before == "failed" and .audit[0].after == "queued" and .audit[0].reason == "asked the DB team"' "$T/audit.json" >/dev/null \
    || fail audit "first entry: who, before, after, why"
jq -e '.audit[3].actor == "bob" and .audit[3].after == "discarded"' "$T/audit.json" >/dev/null || fail audit "last entry"
expect_exit 0 F audit --spool "$SP" verify
grep -q "intact" "$T/out" || fail verify "chain intact"
ok "audit names actor, reason, before and after; chain verifies"

expect_exit 0 F purge --spool "$SP" --actor ops --older-than 0s
grep -q "moved 1 final record to the archive" "$T/out" || fail purge "1 discarded record archived (delivered ones are not closed): $(cat "$T/out")"
[ "$(sqlite3 "$SP/ledger.db" "SELECT count(*) FROM records WHERE ref = '$bad'")" = 0 ] || fail purge "the archived record left the working table"
F show --config "$CFG" --spool "$SP" --json "$bad" > "$T/show2.json"
jq -e '.payload == null and .state == "discarded"' "$T/show2.json" >/dev/null || fail purge "payload gone, archived row still shown"
F audit --spool "$SP" --json | jq -e '[.audit[] | select(.action == "purge")] | length == 1' >/dev/null || fail purge "purge audited"
expect_exit 0 F audit --spool "$SP" verify
# the full count after the move: rows, archive and kept totals agree
expect_exit 0 F spool verify --spool "$SP"
sqlite3 "$SP/ledger.db" "UPDATE state_totals SET n = n + 1 WHERE state = 'discarded'"
expect_exit 65 F spool verify --spool "$SP"
grep -q "final-state totals differ" "$T/err" "$T/out" || fail purge "a drifted total is not named: $(cat "$T/out" "$T/err")"
sqlite3 "$SP/ledger.db" "UPDATE state_totals SET n = n - 1 WHERE state = 'discarded'"
ok "purge archives the final record (payload gone, show still finds it), is audited; chain intact; spool verify counts the archive and names a drifted total"
echo "$CASES passed, 0 failed"
