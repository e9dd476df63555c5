#!/bin/bash
# 42_batch_sftp.sh - `ferry batch` handing the file over by SFTP to a real
# OpenSSH sshd on a free 127.0.0.1 port (own host key, authorized key and
# known_hosts, all in a temp folder, as 40_sftp.sh does).  A copy of the
# example (ferry.xml, mappings, copybooks) is pointed at the sshd with
# <transport type="sftp">, and its mapping is switched to encoding="ascii"
# so that GnuCOBOL (tests/cobol/READCLM.cbl with the example copybook) can
# read the file from the sshd's folder the way the mainframe job would and
# check the trailer count and hash totals.
#
# Cases: the happy path; a second run sends nothing; sshd stopped -> exit
# 75 with the batch written and waiting in outbound/; sshd back -> a plain
# re-run sends that same file once; a wrong host key or a refused login ->
# the target stops (exit 78, ferry targets says why), its records wait
# queued, a healthy second target goes on, and the run after the fix sends
# them.  sshd is always stopped on exit.
set -u
: "${FERRY_ROOT:?}" "${FERRY_BIN:?}"
. "$FERRY_ROOT/tests/peers/sshd.sh"
sshd_have || { echo "skip: $SSHD_MISSING"; exit 77; }
command -v cobc >/dev/null || { echo "skip: cobc (gnucobol) not installed"; exit 77; }

T=$(mktemp -d "${TMPDIR:-/tmp}/ferry-batch-sftp.XXXXXX")
fails=0
DATE=2026-11-27
EXP=$FERRY_ROOT/tests/data/batch/refund-claim/expected-cobol.txt

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
ssh-keygen -q -t ed25519 -N '' -C impostor -f "$T/other_hk"
FP=$(ssh-keygen -lf "$T/hk.pub" | awk '{print $2}')
echo "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 "$T/other_hk.pub")" > "$T/known_hosts.wrong"

# setup NAME KNOWN_HOSTS - a copy of the example in $T/NAME with its own
# spool, the claims target sent by SFTP to $T/remote, ASCII mapping
setup() {
    local d=$T/$1
    mkdir -p "$d"
    cp -r "$FERRY_ROOT/examples/." "$d/"
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$d/secrets/frontend.key"
    chmod 600 "$d/secrets/frontend.key"
    sed -i "s|<spool dir=\"[^\"]*\"|<spool dir=\"$d/spool\"|" "$d/ferry.xml"
    sed -i "s|<transport type=\"local\" dir=\"../var/mainframe-drop\"[^>]*/>|<transport type=\"sftp\" host=\"127.0.0.1\" port=\"$PORT\" user=\"root\" key-file=\"$T/id\" known-hosts=\"$2\" remote-dir=\"$T/remote\" ack-dir=\"$T/remote-acks\" connect-timeout=\"5s\" timeout=\"20s\"/>|" "$d/ferry.xml"
    sed -i 's|encoding="IBM-285"|encoding="ascii"|' "$d/mappings/refund-claim.xml"
    grep -q 'type="sftp"' "$d/ferry.xml" || { echo "FAIL  setup: transport not replaced"; exit 1; }
}
f() { local d=$1; shift; "$FERRY_BIN" "$@" --config "$T/$d/ferry.xml"; }
nremote() { ls -A "$T/remote" | wc -l; }

cobc -x -I "$FERRY_ROOT/examples/copybooks" -o "$T/READCLM" \
    "$FERRY_ROOT/tests/cobol/READCLM.cbl" 2>"$T/cobc.err" ||
    { echo "FAIL  cobc: $(cat "$T/cobc.err")"; exit 1; }

# 1. happy path: the batch goes over SFTP; GnuCOBOL reads it from there
setup a "$T/known_hosts"
f a submit refund-claim "$T/a/submissions.ndjson" >/dev/null 2>&1
f a batch claims-nightly --date $DATE >"$T/out" 2>"$T/err"; rc=$?
file=$T/remote/CLM.D261127.S001
if [ $rc = 0 ] && [ "$(nremote)" = 1 ] && [ -f "$file" ] &&
   grep -q "records   8 written" "$T/out" && grep -q "sftp root@127.0.0.1:$PORT" "$T/out"; then
    pass "batch over SFTP: CLM.D261127.S001 in the sshd's folder, 8 records, no temporary name left, exit 0"
else fail "batch over SFTP" "rc=$rc $(ls -A "$T/remote") $(cat "$T/out" "$T/err")"; fi
CLMFILE=$file "$T/READCLM" > "$T/cobol.out"; crc=$?
sed 's/FRY-[0-9]\{8\}-/FRY-DATE-/; s/ *$//' "$T/cobol.out" > "$T/cobol.norm"
if [ $crc = 0 ] && grep -q "TRAILER OK 0000008" "$T/cobol.out" &&
   diff -u "$EXP" "$T/cobol.norm" >"$T/diff"; then
    pass "GnuCOBOL reads the transferred file: trailer count 8 and hash totals agree"
else fail "GnuCOBOL read" "rc=$crc $(cat "$T/cobol.out" "$T/diff")"; fi
sha=$(sha256sum "$file" | cut -d' ' -f1)
if f a batches --json | grep -q "\"sha256\": \"$sha\"" &&
   f a batches --json | grep -q '"state": "sent"'; then
    pass "ledger: batch sent, SHA-256 matches the remote file"
else fail "ledger sha" "$(f a batches)"; fi

# 2. a second run sends nothing
f a batch claims-nightly --date $DATE >"$T/out" 2>&1; rc=$?
if [ $rc = 0 ] && grep -q "nothing queued" "$T/out" && [ "$(nremote)" = 1 ] &&
   [ "$(sha256sum "$file" | cut -d' ' -f1)" = "$sha" ]; then
    pass "second run: nothing queued, nothing sent, exit 0"
else fail "second run" "rc=$rc $(cat "$T/out")"; fi

# 3. sshd stopped: exit 75, the batch is written and waits in outbound/
sed 's/"HCR0010\([0-9][0-9]\)X"/"HCR0020\1X"/' "$T/a/submissions.ndjson" > "$T/more.ndjson"
f a submit refund-claim "$T/more.ndjson" >/dev/null 2>&1
sshd_stop
f a batch claims-nightly --date $DATE >"$T/out" 2>"$T/err"; rc=$?
waiting=$T/a/spool/outbound/claims-mainframe/CLM.D261127.S002
wsha=$(sha256sum "$waiting" 2>/dev/null | cut -d' ' -f1)
if [ $rc = 75 ] && [ -f "$waiting" ] && [ "$(nremote)" = 1 ] &&
   f a batches --json | grep -q '"state": "written"' &&
   f a batches --json | grep -q "\"sha256\": \"$wsha\""; then
    pass "sshd stopped: exit 75, CLM.D261127.S002 written (ledger has its SHA-256), nothing sent"
else fail "sshd stopped" "rc=$rc $(cat "$T/out" "$T/err") $(f a batches 2>&1)"; fi

# 4. sshd back: the plain re-run sends that same file, once
sshd_start || exit 1
f a batch claims-nightly --date $DATE >"$T/out" 2>"$T/err"; rc=$?
file2=$T/remote/CLM.D261127.S002
if [ $rc = 0 ] && [ -f "$file2" ] && [ "$(nremote)" = 2 ] &&
   [ "$(sha256sum "$file2" | cut -d' ' -f1)" = "$wsha" ] &&
   [ "$(f a batches --json | grep -c '"id"')" = 2 ] &&
   [ "$(f a batches --json | grep -c '"state": "sent"')" = 2 ]; then
    pass "sshd back: the re-run sends the same CLM.D261127.S002 (same SHA-256) once, exit 0"
else fail "re-run after restart" "rc=$rc $(ls -A "$T/remote") $(cat "$T/out" "$T/err")"; fi
CLMFILE=$file2 "$T/READCLM" > "$T/cobol2.out"; crc=$?
if [ $crc = 0 ] && grep -q "TRAILER OK 0000008" "$T/cobol2.out" &&
   grep -q "HCR002001X" "$T/cobol2.out"; then
    pass "GnuCOBOL reads the resumed file: trailer count 8 and hash totals agree"
else fail "GnuCOBOL resumed file" "rc=$crc $(cat "$T/cobol2.out")"; fi
f a batch claims-nightly --date $DATE >"$T/out" 2>&1; rc=$?
if [ $rc = 0 ] && grep -q "nothing queued" "$T/out" && [ "$(nremote)" = 2 ]; then
    pass "a further run sends nothing again"
else fail "further run" "rc=$rc $(cat "$T/out")"; fi

# 5. a wrong host key stops that target with the reason (78): its records
# wait queued (none bound to a file, none failed), the target is "stopped"
# in ferry targets with the fingerprint; a second batch target with the
# right known_hosts on the same spool is delivered; once known_hosts is
# fixed, the next run clears the stop and sends the records
cp "$T/known_hosts.wrong" "$T/known_hosts.w"
setup w "$T/known_hosts.w"
mkdir -p "$T/remote-b"
sed "s|<target name=\"claims-mainframe\"|<target name=\"claims-b\"|" "$T/w/mappings/refund-claim.xml" > "$T/w/mappings/refund-claim-b.xml"
sed -i "s|</ferry>|  <target name=\"claims-b\" type=\"fixed-width\"><transport type=\"sftp\" host=\"127.0.0.1\" port=\"$PORT\" user=\"root\" key-file=\"$T/id\" known-hosts=\"$T/known_hosts\" remote-dir=\"$T/remote-b\" connect-timeout=\"5s\" timeout=\"20s\"/></target>\n  <service name=\"refund-claim-b\" mapping=\"mappings/refund-claim-b.xml\" target=\"claims-b\"/>\n</ferry>|" "$T/w/ferry.xml"
f w submit refund-claim "$T/w/submissions.ndjson" >/dev/null 2>&1
f w submit refund-claim-b "$T/w/submissions.ndjson" >/dev/null 2>&1
before=$(ls -A "$T/remote" | sort | tr '\n' ' ')
f w batch claims-nightly --date 2026-11-28 >"$T/out" 2>"$T/err"; rc=$?
nq=$(f w queue --json --state queued 2>/dev/null | jq '[.records[] | select(.target=="claims-mainframe")] | length')
nf=$(f w queue --json --state failed 2>/dev/null | jq .count)
tstate=$(f w targets --json 2>/dev/null | jq -r '.targets[] | select(.target=="claims-mainframe") | .breaker + " " + (.stopped // "")')
if [ $rc = 78 ] && grep -q "outcome   stopped (exit 78)" "$T/out" && grep -q "$FP" "$T/out" &&
   grep -q "8 record(s) wait queued (none failed)" "$T/out" &&
   [ "$(ls -A "$T/remote" | sort | tr '\n' ' ')" = "$before" ] &&
   [ -z "$(ls -A "$T/w/spool/outbound/claims-mainframe" 2>/dev/null)" ] &&
   [ "$nq/$nf" = 8/0 ] && [ -z "$(f w batches --json | jq -r '.batches[]? | select(.target=="claims-mainframe") | .id')" ] &&
   grep -q "^stopped .*HOST KEY CHANGED.*$FP" <<<"$tstate" &&
   [ "$(grep -c 'event=target-stopped' "$T/err")" = 1 ]; then
    pass "wrong host key: the target stops (exit 78) naming $FP; its 8 records wait queued, no file bound, none failed; ferry targets says stopped"
else fail "wrong host key" "rc=$rc q=$nq f=$nf state=$tstate $(cat "$T/out" "$T/err")"; fi
f w targets >"$T/out" 2>&1
grep -q "claims-mainframe stopped: HOST KEY CHANGED" "$T/out" || fail "targets text" "$(cat "$T/out")"
f w batch --target claims-b --date 2026-11-28 >"$T/out" 2>"$T/err"; rc=$?
if [ $rc = 0 ] && [ "$(ls -A "$T/remote-b" | wc -l)" = 1 ] && grep -q "records   8 written" "$T/out"; then
    pass "the healthy second target on the same spool is delivered (8 records) while the first is stopped"
else fail "healthy second target" "rc=$rc $(ls -A "$T/remote-b") $(cat "$T/out" "$T/err")"; fi
f w batch claims-nightly --date 2026-11-28 >"$T/out" 2>"$T/err"; rc=$?
[ $rc = 78 ] && [ "$(f w queue --json --state queued 2>/dev/null | jq .count)" = 8 ] ||
    fail "still stopped" "rc=$rc $(cat "$T/out")"
cp "$T/known_hosts" "$T/known_hosts.w"       # the operator fixes known_hosts
f w batch claims-nightly --date 2026-11-28 >"$T/out" 2>"$T/err"; rc=$?
tstate=$(f w targets --json 2>/dev/null | jq -r '.targets[] | select(.target=="claims-mainframe") | .breaker + " " + (.stopped // "")')
if [ $rc = 0 ] && [ -f "$T/remote/CLM.D261128.S001" ] && grep -q "records   8 written" "$T/out" &&
   [ "$(f w queue --json --state queued 2>/dev/null | jq .count)" = 0 ] &&
   [ "$tstate" = "closed " ] && grep -q "event=target-running" "$T/err"; then
    pass "known_hosts fixed: the next run clears the stop (ferry targets: closed) and sends the 8 records once"
else fail "after the fix" "rc=$rc state=$tstate $(cat "$T/out" "$T/err")"; fi

# 6. a login refused (key not authorized) stops the target the same way
setup u "$T/known_hosts"
sed -i "s|key-file=\"$T/id\"|key-file=\"$T/other_hk\"|" "$T/u/ferry.xml"
f u submit refund-claim "$T/u/submissions.ndjson" >/dev/null 2>&1
f u batch claims-nightly --date 2026-11-28 >"$T/out" 2>"$T/err"; rc=$?
if [ $rc = 78 ] && grep -q "authentication as root .* refused" "$T/out" &&
   [ "$(f u queue --json --state queued 2>/dev/null | jq .count)" = 8 ] &&
   [ "$(f u targets --json 2>/dev/null | jq -r '.targets[] | select(.target=="claims-mainframe") | .breaker')" = stopped ]; then
    pass "login refused: the target stops (exit 78), 8 records wait queued, ferry targets says stopped"
else fail "login refused" "rc=$rc $(cat "$T/out" "$T/err")"; fi
f u reconcile claims-mainframe >"$T/out" 2>"$T/err"; rc=$?
if [ $rc = 78 ] && grep -q "cannot be checked: acknowledgements cannot be fetched: .*authentication" "$T/out"; then
    pass "reconcile with the login refused: exit 78 naming the reason (not 'unavailable, try later')"
else fail "reconcile login refused" "rc=$rc $(cat "$T/out" "$T/err")"; fi

[ $fails = 0 ] || { echo "$fails case(s) failed"; exit 1; }
echo "all batch (sftp) cases passed"
