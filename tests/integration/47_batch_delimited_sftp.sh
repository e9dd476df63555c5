#!/bin/bash
# 47_batch_delimited_sftp.sh - the delimited file of 46_batch_delimited
# handed over by SFTP to a real OpenSSH sshd on a free 127.0.0.1 port
# (tests/peers/sshd.sh), then read from the sshd's folder by GnuCOBOL
# (tests/cobol/READCSV.cbl) and Python's csv module.  sshd stopped: exit
# 75, the file waits in outbound/; sshd back: the plain re-run sends that
# same file once.  Then the hand-over conventions over SFTP (throwaway
# GnuPG homes, tests/peers/gpg.sh): the uploaded NAME.pgp decrypts with
# gpg to the archived file with a good signature, NAME.pgp.sha256 passes
# sha256sum -c, and the trigger NAME.pgp.done is there (and no trigger for
# the checksum file).
set -u
: "${FERRY_ROOT:?}" "${FERRY_BIN:?}"
. "$FERRY_ROOT/tests/peers/sshd.sh"
. "$FERRY_ROOT/tests/peers/gpg.sh"
sshd_have || { echo "skip: $SSHD_MISSING"; exit 77; }
command -v cobc >/dev/null || { echo "skip: cobc (gnucobol) not installed"; exit 77; }
T=$(mktemp -d /tmp/fbds.XXXXXX)
cleanup() { sshd_stop; gpg_stop "$T/g"; rm -rf "$T"; }
trap cleanup EXIT
fails=0
pass() { echo "PASS  $1"; }
fail() { echo "FAIL  $1: $2"; fails=$((fails+1)); }
DATE=2026-11-27
EXP=$FERRY_ROOT/tests/data/batch/refund-claim-csv/expected-cobol.txt
. "$FERRY_ROOT/tests/integration/dl_setup.sh"
f() { local d=$1; shift; "$FERRY_BIN" "$@" --config "$T/$d/ferry.xml"; }
nremote() { ls -A "$T/remote" | wc -l; }

mkdir -p "$T/remote" "$T/remote-acks"
sshd_start "$T" || exit 1
cobc -x -o "$T/READCSV" "$FERRY_ROOT/tests/cobol/READCSV.cbl" 2>"$T/cobc.err" ||
    { echo "FAIL  cobc: $(cat "$T/cobc.err")"; exit 1; }
dl_setup a 'delimiter="|" quoting="none" line-end="LF"' \
    "<transport type=\"sftp\" host=\"127.0.0.1\" port=\"$SSHD_PORT\" user=\"root\" key-file=\"$T/id\" known-hosts=\"$T/known_hosts\" remote-dir=\"$T/remote\" ack-dir=\"$T/remote-acks\" connect-timeout=\"5s\" timeout=\"20s\"/>"

# 1. the file goes over SFTP; both peers read it from the sshd's folder
f a submit refund-claim "$T/a/submissions.ndjson" >/dev/null 2>&1
f a batch claims-nightly --date $DATE >"$T/out" 2>"$T/err"; rc=$?
file=$T/remote/CLM20261127.001.csv
if [ $rc = 0 ] && [ "$(nremote)" = 1 ] && [ -f "$file" ] &&
   grep -q "records   8 written" "$T/out" && grep -q "sftp root@127.0.0.1:$SSHD_PORT" "$T/out"; then
    pass "delimited file over SFTP: CLM20261127.001.csv in the sshd's folder, no temporary name left, exit 0"
else fail "batch over SFTP" "rc=$rc $(ls -A "$T/remote") $(cat "$T/out" "$T/err")"; fi
CSVFILE=$file "$T/READCSV" > "$T/cobol.out"; crc=$?
sed 's/FRY-[0-9]\{8\}-/FRY-DATE-/; s/ *$//' "$T/cobol.out" > "$T/cobol.norm"
if [ $crc = 0 ] && diff -u "$EXP" "$T/cobol.norm" >"$T/diff"; then
    pass "GnuCOBOL reads the transferred file: every field, trailer count and total agree"
else fail "GnuCOBOL read" "rc=$crc $(cat "$T/diff")"; fi
if python3 - "$file" <<'PY'
import csv, decimal, sys
rows = list(csv.reader(open(sys.argv[1], newline=""), delimiter="|", quoting=csv.QUOTE_NONE))
det, trl = rows[1:-1], rows[-1]
assert trl == ["T", str(len(det)), str(sum(decimal.Decimal(r[8]) for r in det))], trl
assert len(det) == 8
PY
then pass "Python csv reads the transferred file: 8 rows, trailer agrees"
else fail "python read" "see above"; fi
sha=$(sha256sum "$file" | cut -d' ' -f1)
f a batches --json | grep -q "\"sha256\": \"$sha\"" ||
    fail "ledger sha" "$(f a batches)"

# 2. sshd stopped: 75, the file waits; sshd back: the same file, once
sed 's/"HCR0010\([0-9][0-9]\)X"/"HCR0020\1X"/' "$T/a/submissions.ndjson" > "$T/more.ndjson"
f a submit refund-claim "$T/more.ndjson" >/dev/null 2>&1
sshd_stop
f a batch claims-nightly --date $DATE >"$T/out" 2>"$T/err"; rc=$?
waiting=$T/a/spool/outbound/claims-csv/CLM20261127.002.csv
wsha=$(sha256sum "$waiting" 2>/dev/null | cut -d' ' -f1)
if [ $rc = 75 ] && [ -f "$waiting" ] && [ "$(nremote)" = 1 ]; then
    pass "sshd stopped: exit 75, CLM20261127.002.csv written and waiting in outbound/"
else fail "sshd stopped" "rc=$rc $(cat "$T/out" "$T/err")"; fi
sshd_start || exit 1
f a batch claims-nightly --date $DATE >"$T/out" 2>"$T/err"; rc=$?
file2=$T/remote/CLM20261127.002.csv
if [ $rc = 0 ] && [ "$(nremote)" = 2 ] && [ -n "$wsha" ] &&
   [ "$(sha256sum "$file2" | cut -d' ' -f1)" = "$wsha" ] &&
   [ "$(f a batches --json | grep -c '"state": "sent"')" = 2 ] &&
   CSVFILE=$file2 "$T/READCSV" | grep -q "TRAILER OK 0000008"; then
    pass "sshd back: the re-run sends the same file (same SHA-256) once; GnuCOBOL reads it"
else fail "re-run after restart" "rc=$rc $(ls -A "$T/remote") $(cat "$T/out" "$T/err")"; fi

# 3. encrypted, signed, checksum and trigger over SFTP
if gpg_have && gpg_homes "$T/g"; then
    mkdir -p "$T/remote2"
    dl_setup h 'delimiter="|" quoting="none" line-end="LF"' \
        "<transport type=\"sftp\" host=\"127.0.0.1\" port=\"$SSHD_PORT\" user=\"root\" key-file=\"$T/id\" known-hosts=\"$T/known_hosts\" remote-dir=\"$T/remote2\" done-file=\"true\" checksum-file=\"true\" pgp-home=\"$T/g/ferry\" pgp-recipient=\"$MFPR\" pgp-signer=\"$FFPR\"/>"
    f h submit refund-claim "$T/h/submissions.ndjson" >/dev/null 2>&1
    f h batch claims-nightly --date $DATE >"$T/out" 2>"$T/err"; rc=$?
    N=CLM20261127.001.csv
    got=$(ls -A "$T/remote2" | tr '\n' ' ')
    if [ $rc = 0 ] && [ "$got" = "$N.pgp $N.pgp.done $N.pgp.sha256 " ] &&
       (cd "$T/remote2" && sha256sum -c --status "$N.pgp.sha256") &&
       gq "$T/g/mf" --status-fd 3 --decrypt "$T/remote2/$N.pgp" 3>"$T/status" >"$T/plain" 2>/dev/null &&
       grep -q "VALIDSIG $FFPR" "$T/status" &&
       cmp -s "$T/plain" "$T/h/spool/archive/claims-csv/$N" &&
       CSVFILE=$T/plain "$T/READCSV" | grep -q "TRAILER OK 0000008"; then
        pass "over SFTP: $N.pgp decrypts with gpg to the archived file (good signature by ferry), sha256sum -c accepts $N.pgp.sha256, trigger $N.pgp.done; GnuCOBOL reads the decrypted file"
    else fail "hand-over over SFTP" "rc=$rc remote=[$got] $(cat "$T/status" "$T/out" "$T/err" 2>/dev/null | tail -8)"; fi
else echo "skip  hand-over over SFTP: gpg not available"; fi

[ $fails = 0 ] || { echo "$fails case(s) failed"; exit 1; }
echo "all delimited batch (sftp) cases passed"
