#!/bin/bash
# 61_audit_tamper - the audit log is a hash chain: change one row of the
# audit table behind ferry's back (sqlite3 UPDATE) and `ferry audit verify`
# must name that entry and exit 65; an untouched chain verifies (exit 0).
# Then the chain is keyed (<spool audit-key-file>): entries from before
# the key are marked so; a rewrite with the chain recomputed (SHA-256, as
# anyone without the key can) is caught, and so is a truncation with the
# stored head fixed (the head file outside the ledger, and `audit head`
# recorded elsewhere, still name the old head); verify without the key
# says what it could not prove.
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

# ---- keyed chain -------------------------------------------------------
sqlite3 "$SP/ledger.db" "DELETE FROM audit"
sqlite3 "$SP/ledger.db" "DELETE FROM meta WHERE name = 'audit_head'"
rm -f "$SP/audit.head"
for r in $refs; do
    expect_exit 0 F hold --spool "$SP" --actor alice --reason "before key $r" "$r"
    expect_exit 0 F release --spool "$SP" --actor alice --reason "before key" "$r"
done
[ "$(sqlite3 "$SP/ledger.db" 'SELECT count(*) FROM audit WHERE keyed = 0')" = 6 ] \
    || fail keyed "six entries before the key"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$T/ex/secrets/audit.key"
chmod 600 "$T/ex/secrets/audit.key"
sed -i "s|<spool dir=\"../var/ferry\"/>|<spool dir=\"$SP\" audit-key-file=\"secrets/audit.key\"/>|" "$CFG"
grep -q 'audit-key-file' "$CFG" || fail keyed "config not keyed"
for r in $refs; do
    expect_exit 0 F hold --config "$CFG" --actor carol --reason "keyed $r" "$r"
    expect_exit 0 F release --config "$CFG" --actor carol --reason "keyed" "$r"
done
expect_exit 0 F audit --config "$CFG" --json verify
jq -e '.ok and .unkeyed == 6 and .keyed == 6 and .keyed_proven and .head_file.id == 12
       and (.not_proven[0] | test("before the audit key"))' "$T/out" >/dev/null \
    || fail keyed "verify with the key: $(cat "$T/out")"
expect_exit 0 F audit --config "$CFG" head
HEAD=$(cat "$T/out")
echo "$HEAD" | grep -Eq '^12:[0-9a-f]{64}$' || fail head "audit head: $HEAD"
expect_exit 0 F audit --config "$CFG" verify --head "$HEAD"
grep -q 'matches the expected head' "$T/out" || fail head "$(cat "$T/out")"
ok "keyed chain: 6 entries before the key marked, 6 keyed and proven, head printed and matched"

expect_exit 0 F audit --spool "$SP" verify
grep -q 'not proven: entries 7-12 are keyed but no audit key was given' "$T/out" \
    || fail nokey "verify without the key must say what it did not prove: $(cat "$T/out")"
expect_exit 65 F hold --spool "$SP" --actor mallory --reason "no key" "$(echo "$refs" | head -1)"
grep -q 'audit key' "$T/err" || fail nokey "a writer without the key: $(cat "$T/err")"
ok "without the key: links checked, keyed entries reported not proven; no entry can be added"

cp "$SP/ledger.db" "$T/ledger.good"
cp "$SP/audit.head" "$T/audit.head.good"
# rewrite entry 9's actor and recompute every hash after it, as anyone
# without the key can (SHA-256), fixing the stored head too
recompute() {   # recompute DB FIRST_ID MARK_UNKEYED
    python3 - "$@" <<'PY'
import hashlib, sqlite3, sys
db, first, unkeyed = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
c = sqlite3.connect(db)
rows = c.execute("SELECT id, at, actor, action, ref, reason, before_state, after_state, detail, prev_hash FROM audit ORDER BY id").fetchall()
prev = None
for r in rows:
    if r[0] < first:
        prev = c.execute("SELECT hash FROM audit WHERE id = ?", (r[0],)).fetchone()[0]
        continue
    prev = prev or r[9]
    b = (prev + "ferry-audit-v1\n" + "%d\n%d\n" % (r[0], r[1])).encode()
    for v in r[2:9]:
        v = (v or "").encode()
        b += b"%d:" % len(v) + v + b"\n"
    h = hashlib.sha256(b).hexdigest()
    c.execute("UPDATE audit SET prev_hash = ?, hash = ?" + (", keyed = 0" if unkeyed else "") + " WHERE id = ?", (prev, h, r[0]))
    prev = h
last = rows[-1][0]
c.execute("UPDATE meta SET value = ? WHERE name = 'audit_head'", ("%d:%s" % (last, prev),))
c.commit()
PY
}
sqlite3 "$SP/ledger.db" "UPDATE audit SET actor = 'mallory' WHERE id = 9"
recompute "$SP/ledger.db" 9 0
expect_exit 65 F audit --config "$CFG" verify
grep -q 'AUDIT CHAIN BROKEN at entry 9: .*HMAC' "$T/out" || fail rewrite "recomputed chain not caught at 9: $(cat "$T/out")"
# the same rewrite marked "before the key", head file replaced too: the
# key still tells (a keyed chain cannot lose its key), and --head does
cp "$T/ledger.good" "$SP/ledger.db"
sqlite3 "$SP/ledger.db" "UPDATE audit SET actor = 'mallory' WHERE id = 9"
recompute "$SP/ledger.db" 1 1
expect_exit 65 F audit --config "$CFG" verify
grep -q 'BROKEN' "$T/out" || fail rewrite "unkeyed recomputation not caught: $(cat "$T/out")"
last=$(sqlite3 "$SP/ledger.db" "SELECT id || ' ' || hash || ' 0' FROM audit ORDER BY id DESC LIMIT 1")
echo "$last" > "$SP/audit.head"
expect_exit 65 F audit --config "$CFG" verify --head "$HEAD"
grep -q 'expected head: the chain was rewritten' "$T/out" || fail rewrite "--head: $(cat "$T/out")"
ok "a rewrite with the chain recomputed without the key is caught and named"

# truncation: the newest two entries deleted and the stored head fixed
cp "$T/ledger.good" "$SP/ledger.db"
cp "$T/audit.head.good" "$SP/audit.head"
expect_exit 0 F audit --config "$CFG" verify
sqlite3 "$SP/ledger.db" "DELETE FROM audit WHERE id > 10; UPDATE meta SET value = (SELECT id || ':' || hash FROM audit WHERE id = 10) WHERE name = 'audit_head'"
expect_exit 65 F audit --config "$CFG" verify
grep -q 'chain ends at entry 10 but the head file outside the ledger names entry 12' "$T/out" \
    || fail truncate "$(cat "$T/out")"
rm -f "$SP/audit.head"
expect_exit 65 F audit --config "$CFG" verify --head "$HEAD"
grep -q 'chain ends at entry 10 but the expected head names entry 12' "$T/out" \
    || fail truncate "--head: $(cat "$T/out")"
ok "a truncation with the stored head fixed is caught by the head file and by --head"
echo "61_audit_tamper: $CASES cases passed"
