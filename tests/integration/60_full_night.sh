#!/bin/bash
# 60_full_night.sh - the whole night, end to end, against real peers:
#
#   1. the example submissions are accepted into a scratch spool;
#   2. `ferry batch` builds the claims file and sends it by SFTP to a real
#      OpenSSH sshd on a free 127.0.0.1 port (own host key, authorized key
#      and known_hosts in a temp folder, as 40_sftp.sh does);
#   3. a GnuCOBOL job (tests/cobol/MAINFRAME.cbl, CLAIMREC and CLAIMACK
#      copybooks) plays the mainframe: it reads the file from the sshd's
#      folder, accepts most claims, rejects one NINO (E01, words from the
#      mapping's code table) and one large amount (E77, a code not in the
#      table: the file's own text is kept), and writes the ack file with a
#      trailer of counts into the sshd's ack folder;
#   4. `ferry reconcile claims-mainframe` fetches the ack over SFTP and
#      reconciles: confirmed / rejected with the reason in words;
#   5. support fixes the rejected NINO with `ferry edit --set` (audited) and
#      it is requeued; the next night's batch sends it alone, the mainframe
#      accepts it, and reconcile confirms it (the first ack is not applied
#      twice);
#   6. `ferry report --format json` adds up to the ledger (every state
#      count equals `ferry queue --counts`), the conservation check is OK,
#      and `ferry audit verify` passes.
# A copy of the example is used with <transport type="sftp" ...> and the
# mapping switched to encoding="ascii" so that GnuCOBOL reads the file.
# sshd is always stopped on exit.
set -u
: "${FERRY_ROOT:?}" "${FERRY_BIN:?}"
. "$FERRY_ROOT/tests/peers/sshd.sh"
sshd_have || { echo "skip: $SSHD_MISSING"; exit 77; }
command -v cobc >/dev/null || { echo "skip: cobc (gnucobol) not installed"; exit 77; }
command -v python3 >/dev/null || { echo "skip: python3 not installed"; exit 77; }

T=$(mktemp -d "${TMPDIR:-/tmp}/ferry-night.XXXXXX")
fails=0

cleanup() {
    sshd_stop
    rm -rf "$T"
}
trap cleanup EXIT

pass() { echo "PASS  $1"; }
fail() { echo "FAIL  $1: $2"; fails=$((fails+1)); }

mkdir -p "$T/remote" "$T/remote-acks"
sshd_start "$T" || exit 1
PORT=$SSHD_PORT

# the example, pointed at the sshd, in ASCII for GnuCOBOL
D=$T/ex
mkdir -p "$D"
cp -r "$FERRY_ROOT/examples/." "$D/"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$D/secrets/frontend.key"
chmod 600 "$D/secrets/frontend.key"
sed -i "s|<spool dir=\"[^\"]*\"|<spool dir=\"$D/spool\"|" "$D/ferry.xml"
sed -i "s|<transport type=\"local\" dir=\"../var/mainframe-drop\"[^>]*/>|<transport type=\"sftp\" host=\"127.0.0.1\" port=\"$PORT\" user=\"root\" key-file=\"$T/id\" known-hosts=\"$T/known_hosts\" remote-dir=\"$T/remote\" ack-dir=\"$T/remote-acks\" connect-timeout=\"5s\" timeout=\"20s\"/>|" "$D/ferry.xml"
sed -i 's|encoding="IBM-285"|encoding="ascii"|' "$D/mappings/refund-claim.xml"
grep -q 'type="sftp"' "$D/ferry.xml" && grep -q 'encoding="ascii"' "$D/mappings/refund-claim.xml" ||
    { echo "FAIL  setup: example not rewritten"; exit 1; }
f() { "$FERRY_BIN" "$@" --config "$D/ferry.xml"; }

cobc -x -I "$FERRY_ROOT/examples/copybooks" -o "$T/MAINFRAME" \
    "$FERRY_ROOT/tests/cobol/MAINFRAME.cbl" 2>"$T/cobc.err" ||
    { echo "FAIL  cobc MAINFRAME.cbl: $(cat "$T/cobc.err")"; exit 1; }

# mainframe CLAIMS ACK CASEBASE - the COBOL job; the ack is written under a
# hidden name and renamed, as a careful mainframe transfer would
mainframe() {
    local ack=$T/remote-acks/$2
    CLMFILE=$T/remote/$1 ACKFILE=$T/remote-acks/.$2.tmp REJECTNINO=$BAD_NINO \
        REJECTOVER=$OVER CASEBASE=$3 "$T/MAINFRAME" > "$T/mainframe.out" 2>&1 || return 1
    mv "$T/remote-acks/.$2.tmp" "$ack"
}
# jget FILE EXPR - a value from a JSON file (python3; EXPR sees j)
jget() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1" 2>/dev/null; }
state_of() { f show "$1" --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])' 2>/dev/null; }

# ---- night 1 ---------------------------------------------------------------
f submit refund-claim "$D/submissions.ndjson" --json >"$T/submit.json" 2>"$T/submit.err"
f queue --json --state queued > "$T/q1.json"
NQ=$(jget "$T/q1.json" 'len(j["records"])')
if [ "${NQ:-0}" -ge 3 ]; then pass "submitted: $NQ records queued for the night"
else fail "submit" "$(cat "$T/submit.err") $(cat "$T/q1.json")"; fi

f batch claims-nightly --date 2026-11-27 >"$T/b1.out" 2>"$T/b1.err"; rc=$?
F1=CLM.D261127.S001
if [ $rc = 0 ] && [ -f "$T/remote/$F1" ]; then
    pass "night 1: ferry batch sent $F1 over SFTP to the loopback sshd"
else fail "night 1 batch" "rc=$rc $(cat "$T/b1.out" "$T/b1.err")"; fi

# choose the rejections from what was really sent: the mainframe's view
python3 - "$T/remote/$F1" > "$T/sent.txt" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
for i in range(0, len(data), 150):
    r = data[i:i+150]
    if r[:1] == b"D":
        ref = r[1:21].decode().strip(); nino = r[33:42].decode()
        # CLM-AMOUNT: S9(7)V99 COMP-3 at offset 95, 5 bytes
        p = r[95:100].hex(); amt = int(p[:-1]) * (-1 if p[-1] == "d" else 1)
        print(ref, nino, amt)
PY
NSENT=$(wc -l < "$T/sent.txt")
BAD_REF=$(sed -n 1p "$T/sent.txt" | cut -d' ' -f1)
BAD_NINO=$(sed -n 1p "$T/sent.txt" | cut -d' ' -f2)
read -r BIG_REF _ BIG_AMT < <(sed 1d "$T/sent.txt" | sort -k3,3n | tail -1)
OVER=$((BIG_AMT - 1))
if [ "$NSENT" -ge 3 ] && [ -n "$BAD_REF" ] && [ -n "$BIG_REF" ] &&
   [ "$(sort -k3,3n "$T/sent.txt" | awk -v o=$OVER '$3>o' | wc -l)" = 1 ]; then
    pass "the file holds $NSENT claims; the mainframe will reject $BAD_REF (NINO) and $BIG_REF (amount $BIG_AMT pence)"
else fail "file contents" "$(cat "$T/sent.txt")"; fi

if mainframe $F1 CLMACK.D261127 500000 && [ -f "$T/remote-acks/CLMACK.D261127" ] &&
   grep -q "REJECTED 0000002" "$T/mainframe.out"; then
    pass "GnuCOBOL mainframe read $F1 with CLAIMREC and wrote CLMACK.D261127 ($(tr -s ' ' < "$T/mainframe.out"))"
else fail "mainframe night 1" "$(cat "$T/mainframe.out")"; fi

f reconcile claims-mainframe --json >"$T/r1.json" 2>"$T/r1.err"; rc=$?
ACC=$((NSENT - 2))
if [ $rc = 0 ] && [ "$(jget "$T/r1.json" 'j["applied"], j["confirmed"], j["rejected"], j["orphans"]')" = "1 $ACC 2 0" ]; then
    pass "reconcile fetched the ack over SFTP: $ACC confirmed, 2 rejected, no orphans, exit 0"
else fail "reconcile night 1" "rc=$rc $(cat "$T/r1.json" "$T/r1.err")"; fi
f show "$BAD_REF" > "$T/show.bad" 2>&1
f show "$BIG_REF" > "$T/show.big" 2>&1
if [ "$(state_of "$BAD_REF")" = rejected ] &&
   grep -q "E01: National Insurance number not recognised" "$T/show.bad" &&
   [ "$(state_of "$BIG_REF")" = rejected ] &&
   grep -q "E77: AMOUNT OVER THE AUTOMATIC LIMIT" "$T/show.big"; then
    pass "rejections carry the reason in words (code table E01; E77 keeps the mainframe's own text)"
else fail "rejection reasons" "$(state_of "$BAD_REF") $(state_of "$BIG_REF") $(cat "$T/show.bad" "$T/show.big")"; fi
GOOD_REF=$(sed -n 2p "$T/sent.txt" | cut -d' ' -f1)
[ "$GOOD_REF" = "$BIG_REF" ] && GOOD_REF=$(sed -n 3p "$T/sent.txt" | cut -d' ' -f1)
f show "$GOOD_REF" > "$T/show.good" 2>&1
if [ "$(state_of "$GOOD_REF")" = confirmed ] && grep -Eq "receipt: +5000[0-9][0-9]$" "$T/show.good"; then
    pass "an accepted claim is confirmed with the mainframe's case number as receipt"
else fail "confirmed receipt" "$(cat "$T/show.good")"; fi

f reconcile claims-mainframe --json >"$T/r1b.json" 2>&1; rc=$?
if [ $rc = 0 ] && [ "$(jget "$T/r1b.json" 'j["applied"], j["already_applied"], j["confirmed"]')" = "0 1 0" ]; then
    pass "reconcile again: the same ack file (name + SHA-256) is not applied twice"
else fail "idempotent fetch" "rc=$rc $(cat "$T/r1b.json")"; fi

# ---- support fixes the NINO --------------------------------------------------
NEW_NINO=AB987654C
[ "$BAD_NINO" = "$NEW_NINO" ] && NEW_NINO=CE123456A
f edit "$BAD_REF" --set "answers[question_id=2].answer_text=$NEW_NINO" \
    --reason "NINO corrected after a call with the claimant" --actor support1 >"$T/edit.out" 2>&1; rc=$?
if [ $rc = 0 ] && [ "$(state_of "$BAD_REF")" = queued ] && grep -q "nino" "$T/edit.out" &&
   ! grep -q "$NEW_NINO" "$T/edit.out"; then
    pass "ferry edit --set fixed the NINO (shown masked), revalidated and requeued $BAD_REF"
else fail "edit" "rc=$rc state=$(state_of "$BAD_REF") $(cat "$T/edit.out")"; fi
f audit "$BAD_REF" --json > "$T/audit.json" 2>&1
if grep -q '"edit"' "$T/audit.json" && grep -q support1 "$T/audit.json" &&
   grep -q "NINO corrected" "$T/audit.json" && ! grep -q "$NEW_NINO" "$T/audit.json"; then
    pass "the edit is audited: actor, reason, no personal value"
else fail "edit audit" "$(cat "$T/audit.json")"; fi

# ---- night 2 -----------------------------------------------------------------
f batch claims-nightly --date 2026-11-28 >"$T/b2.out" 2>"$T/b2.err"; rc=$?
F2=CLM.D261128.S001
if [ $rc = 0 ] && [ -f "$T/remote/$F2" ] &&
   [ "$(grep -c '^D' <(fold -w 150 "$T/remote/$F2"))" = 1 ] &&
   grep -q "$BAD_REF" "$T/remote/$F2" && grep -q "$NEW_NINO" "$T/remote/$F2" &&
   [ "$(state_of "$BAD_REF")" = sent ]; then
    pass "night 2 (--date 2026-11-28): $F2 carries only the fixed claim"
else fail "night 2 batch" "rc=$rc $(cat "$T/b2.out" "$T/b2.err")"; fi
# the whole story of the fixed claim, now sent again: both batches, the
# rejecting ack with its file, record and reason, the edit, no stale error
f show "$BAD_REF" --json > "$T/tl.json" 2>&1
f show "$BAD_REF" > "$T/tl.txt" 2>&1
steps=$(jget "$T/tl.json" '" ".join(e["what"] for e in j["timeline"] if e["kind"] != "attempt" and e["what"] != "reveal")')
acks=$(jget "$T/tl.json" '[(e["outcome"], e["file"], e["record_in_file"] > 0, "E01" in e["message"]) for e in j["timeline"] if e["kind"] == "ack"]')
files=$(jget "$T/tl.json" '" ".join(e["file"] for e in j["timeline"] if e["what"] == "sent")')
edit=$(jget "$T/tl.json" '[(e["actor"], e["before"], e["after"]) for e in j["timeline"] if e["what"] == "edit"]')
if [ "$steps" = "received batched written sent ack edit batched written sent" ] &&
   [ "$acks" = "[('rejected', 'CLMACK.D261127', True, True)]" ] &&
   [ "$files" = "$F1 $F2" ] &&
   [ "$edit" = "[('support1', 'rejected', 'queued')]" ] &&
   [ "$(jget "$T/tl.json" 'j.get("last_error")')" = None ] &&
   ! grep -q '^last error:' "$T/tl.txt" &&
   grep -q "ack  *rejected by CLMACK.D261127, record [0-9]*: E01" "$T/tl.txt"; then
    pass "show: one timeline (received, batch 1 sent, rejected by the ack with file, record and reason, edited, batch 2 sent) and no stale last error"
else fail "timeline" "steps=[$steps] acks=$acks files=[$files] edit=$edit $(cat "$T/tl.txt")"; fi
if mainframe $F2 CLMACK.D261128 600000 && grep -q "ACCEPTED 0000001 REJECTED 0000000" "$T/mainframe.out"; then
    pass "the mainframe accepts the fixed claim"
else fail "mainframe night 2" "$(cat "$T/mainframe.out")"; fi
f reconcile claims-mainframe --json >"$T/r2.json" 2>"$T/r2.err"; rc=$?
if [ $rc = 0 ] && [ "$(jget "$T/r2.json" 'j["applied"], j["already_applied"], j["confirmed"], j["rejected"]')" = "1 1 1 0" ] &&
   [ "$(state_of "$BAD_REF")" = confirmed ]; then
    pass "reconcile night 2: $BAD_REF confirmed; night 1's ack skipped as already applied"
else fail "reconcile night 2" "rc=$rc $(cat "$T/r2.json" "$T/r2.err")"; fi
f batches --json > "$T/batches.json" 2>&1
if [ "$(jget "$T/batches.json" 'sorted(b["state"] for b in (j["batches"] if isinstance(j, dict) else j))')" = "['confirmed', 'confirmed']" ]; then
    pass "both batches are confirmed (nothing left outstanding)"
else fail "batches confirmed" "$(cat "$T/batches.json")"; fi

# ---- the figures add up --------------------------------------------------------
f report --format json > "$T/report.json" 2>"$T/report.err"; rrc=$?
f queue --counts --json > "$T/counts.json" 2>&1
python3 - "$T/report.json" "$T/counts.json" > "$T/cmp.out" 2>&1 <<'PY'
import json, sys
rep = json.load(open(sys.argv[1])); cnt = json.load(open(sys.argv[2]))["counts"]
group = {"received": "in_progress", "queued": "in_progress", "delivering": "in_progress",
         "deferred": "in_progress", "batched": "in_progress", "held": "in_progress",
         "indoubt": "in_progress", "delivered": "awaiting_confirmation",
         "sent": "awaiting_confirmation", "confirmed": "confirmed", "rejected": "rejected",
         "failed": "failed", "discarded": "discarded"}
outcomes = ("in_progress", "awaiting_confirmation", "confirmed", "rejected", "failed", "discarded")
want = {}
for c in cnt:
    k = (c["service"], group[c["state"]])
    want[k] = want.get(k, 0) + c["count"]
bad = []
for s in rep["services"]:
    p = s["period"]
    for st in outcomes:
        if p[st] != want.get((s["service"], st), 0):
            bad.append("%s %s: report %d, ledger %d" % (s["service"], st, p[st], want.get((s["service"], st), 0)))
    recv = sum(v for (svc, _), v in want.items() if svc == s["service"])
    if p["received"] != recv or sum(p[st] for st in outcomes) != recv:
        bad.append("%s received: report %d, ledger %d" % (s["service"], p["received"], recv))
t = rep["total"]
if t["received"] != sum(c["count"] for c in cnt):
    bad.append("total received %d != %d" % (t["received"], sum(c["count"] for c in cnt)))
for st in outcomes:
    if t[st] != sum(v for (_, g), v in want.items() if g == st):
        bad.append("total " + st)
if not rep["conservation"]["ok"]:
    bad.append("conservation not ok")
print("; ".join(bad) if bad else "ok received=%d confirmed=%d rejected=%d" % (t["received"], t["confirmed"], t["rejected"]))
sys.exit(1 if bad else 0)
PY
crc=$?
if [ $rrc = 0 ] && [ $crc = 0 ]; then
    pass "report --format json adds up to queue --counts, conservation OK ($(cat "$T/cmp.out"))"
else fail "report figures" "rc=$rrc $(cat "$T/cmp.out" "$T/report.err")"; fi
if [ "$(jget "$T/report.json" '[s["period"]["confirmed"] for s in j["services"] if s["service"]=="refund-claim"][0]')" = "$((ACC + 1))" ] &&
   [ "$(jget "$T/report.json" '[s["period"]["rejected"] for s in j["services"] if s["service"]=="refund-claim"][0]')" = 1 ]; then
    pass "refund-claim: $((ACC + 1)) confirmed, 1 rejected (the amount referral) in the report"
else fail "report refund-claim" "$(cat "$T/report.json")"; fi
f report > "$T/report.txt" 2>&1; rc=$?
if [ $rc = 0 ] && grep -q "Conservation: OK" "$T/report.txt"; then
    pass "text report: Conservation: OK"
else fail "text report" "rc=$rc $(tail -5 "$T/report.txt")"; fi
f audit verify > "$T/verify.out" 2>&1; rc=$?
if [ $rc = 0 ]; then pass "ferry audit verify: the chain holds ($(head -1 "$T/verify.out"))"
else fail "audit verify" "rc=$rc $(cat "$T/verify.out")"; fi

sshd_stop
if [ $fails -gt 0 ]; then echo "$fails sub-case(s) failed"; exit 1; fi
echo "all full-night sub-cases passed"
exit 0
