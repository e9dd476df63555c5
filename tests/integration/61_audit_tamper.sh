#!/bin/bash
# 61_audit_tamper - the audit log is a hash chain: change one row of the
# audit table behind ferry's back (sqlite3 UPDATE) and `ferry audit verify`
# must name that entry and exit 65; an untouched chain verifies (exit 0).
set -eu
. "$(dirname "$0")/lib.sh"
trap 'rm -rf "$T"' EXIT
command -v sqlite3 >/dev/null || { echo "skip: sqlite3 CLI missing"; exit 77; }
mkdir -p "$T/ex"
cp -r "$FERRY_ROOT/examples/." "$T/ex/"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$T/ex/secrets/frontend.key"
chmod 600 "$T/ex/secrets/frontend.key"
CFG="$T/ex/ferry.xml"
SP="$T/spool"
F() { "$FERRY_BIN" "$@"; }

set +e
F submit --config "$CFG" --spool "$SP" refund-claim "$T/ex/submissions.ndjson" >/dev/null 2>&1
set -e
refs=$(F queue --spool "$SP" --json | jq -r '.records[].reference' | head -3)
[ "$(echo "$refs" | wc -l)" = 3 ] || fail setup "expected records to act on"
for r in $refs; do
    expect_exit 0 F hold --spool "$SP" --actor alice --reason "checking $r" "$r"
    expect_exit 0 F release --spool "$SP" --actor bob --reason "checked" "$r"
done
n=$(sqlite3 "$SP/ledger.db" 'SELECT count(*) FROM audit')
[ "$n" -ge 6 ] || fail setup "expected 6 audit entries, got $n"
ok "six audited actions recorded"

expect_exit 0 F audit --spool "$SP" verify
ok "untouched chain verifies (exit 0)"

# tamper: change who released the second record (entry 4)
sqlite3 "$SP/ledger.db" "UPDATE audit SET actor = 'mallory' WHERE id = 4"
expect_exit 65 F audit --spool "$SP" verify
grep -Eq '(^|[^0-9])4([^0-9]|$)' "$T/out" "$T/err" || fail tamper "entry 4 not named: $(cat "$T/out" "$T/err")"
ok "changed actor of entry 4 is named (exit 65)"

# put it back: the chain holds again; then change a reason instead
sqlite3 "$SP/ledger.db" "UPDATE audit SET actor = 'bob' WHERE id = 4"
expect_exit 0 F audit --spool "$SP" verify
sqlite3 "$SP/ledger.db" "UPDATE audit SET reason = 'nothing to see' WHERE id = 2"
expect_exit 65 F audit --spool "$SP" verify
grep -Eq '(^|[^0-9])2([^0-9]|$)' "$T/out" "$T/err" || fail tamper "entry 2 not named: $(cat "$T/out" "$T/err")"
ok "changed reason of entry 2 is named; restoring entry 4 restored its link"

# deleting a row (after restoring entry 2) breaks the chain at the next
sqlite3 "$SP/ledger.db" "UPDATE audit SET reason = 'checked' WHERE id = 2"
expect_exit 0 F audit --spool "$SP" verify
sqlite3 "$SP/ledger.db" "DELETE FROM audit WHERE id = 5"
expect_exit 65 F audit --spool "$SP" verify
grep -Eq '(^|[^0-9])6([^0-9]|$)' "$T/out" "$T/err" || fail delete "entry 6 not named: $(cat "$T/out" "$T/err")"
ok "deleted entry breaks the chain (exit 65)"
echo "61_audit_tamper: $CASES cases passed"
