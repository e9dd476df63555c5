#!/bin/bash
# 45_batch_at_rest.sh - batch files at rest.  With <spool key-file> the
# file waiting in outbound/ and the copy kept in archive/ are sealed
# (AES-256-GCM): a citizen's name and NINO cannot be grepped from them,
# while the drop folder and the SFTP server (OpenSSH's sshd on a loopback
# port, tests/peers/sshd.sh) receive the plain file, which GnuCOBOL
# (tests/cobol/READCLM.cbl) reads field by field.  Without a key the
# archived file is plain (and the docs say so).  A resend of a sealed
# archived batch sends the same bytes.
set -u
: "${FERRY_ROOT:?}" "${FERRY_BIN:?}"
command -v cobc >/dev/null || { echo "skip: cobc (gnucobol) not installed"; exit 77; }
. "$FERRY_ROOT/tests/peers/sshd.sh"
T=$(mktemp -d "${TMPDIR:-/tmp}/ferry-rest.XXXXXX")
cleanup() {
    sshd_stop
    rm -rf "$T"
}
trap cleanup EXIT
fails=0
pass() { echo "PASS  $1"; }
fail() { echo "FAIL  $1: $2"; fails=$((fails+1)); }
DATE=2026-11-27
EXP=$FERRY_ROOT/tests/data/batch/refund-claim/expected-cobol.txt

# setup NAME KEY - an ASCII copy of the example, with a spool key if KEY=1
setup() {
    local d=$T/$1
    mkdir -p "$d/drop"
    cp -r "$FERRY_ROOT/examples/." "$d/"
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$d/secrets/frontend.key"
    chmod 600 "$d/secrets/frontend.key"
    local k=""
    if [ "$2" = 1 ]; then
        head -c 32 /dev/urandom > "$d/secrets/spool.key"; chmod 600 "$d/secrets/spool.key"
        k=" key-file=\"secrets/spool.key\""
    fi
    sed -i "s|<spool dir=\"[^\"]*\"|<spool dir=\"$d/spool\"$k|; s|dir=\"../var/mainframe-drop\"|dir=\"$d/drop\"|; s|ack-dir=\"[^\"]*\"|ack-dir=\"$d/acks\"|" "$d/ferry.xml"
    sed -i 's|encoding="IBM-285"|encoding="ascii"|' "$d/mappings/refund-claim.xml"
    "$FERRY_BIN" submit refund-claim "$d/submissions.ndjson" --config "$d/ferry.xml" >/dev/null 2>&1
}
f() { local d=$1; shift; "$FERRY_BIN" "$@" --config "$T/$d/ferry.xml"; }

cobc -x -I "$FERRY_ROOT/examples/copybooks" -o "$T/READCLM" \
    "$FERRY_ROOT/tests/cobol/READCLM.cbl" 2>"$T/cobc.err" ||
    { echo "FAIL  cobc: $(cat "$T/cobc.err")"; exit 1; }

# 1. with a key: archive sealed, drop folder plain and read by COBOL
setup k 1
f k batch claims-nightly --date $DATE >"$T/out" 2>"$T/err"; rc=$?
arch=$T/k/spool/archive/claims-mainframe/CLM.D261127.S001
drop=$T/k/drop/CLM.D261127.S001
if [ $rc = 0 ] && [ -f "$arch" ] && [ -f "$drop" ] &&
   ! grep -aq "MACDONALD\|MacDonald\|CE654321A" "$arch" &&
   [ "$(head -c 8 "$arch")" = FRYFILE1 ] &&
   grep -aq "MACDONALD\|MacDonald" "$drop" &&
   [ -z "$(ls -A "$T/k/spool/outbound/claims-mainframe")" ]; then
    pass "key: archive/ holds the file sealed (no name, no NINO), the drop folder gets it plain"
else fail "key: sealed archive" "rc=$rc $(cat "$T/out" "$T/err")"; fi
sha=$(sha256sum "$drop" | cut -d' ' -f1)
if f k batches --json | grep -q "\"sha256\": \"$sha\""; then
    pass "key: the ledger's SHA-256 is the plain file's (what the far side has)"
else fail "key: sha" "$(f k batches --json)"; fi
CLMFILE=$drop "$T/READCLM" > "$T/cobol.out"; crc=$?
sed 's/FRY-[0-9]\{8\}-/FRY-DATE-/; s/ *$//' "$T/cobol.out" > "$T/cobol.norm"
if [ $crc = 0 ] && diff -u "$EXP" "$T/cobol.norm" >"$T/diff"; then
    pass "key: GnuCOBOL reads every field of the delivered file"
else fail "key: GnuCOBOL" "rc=$crc $(cat "$T/diff")"; fi
rm -f "$drop"
f k batch claims-nightly --resend CLM.D261127.S001 --reason "lost" --actor ops >"$T/out" 2>"$T/err"; rc=$?
if [ $rc = 0 ] && [ "$(sha256sum "$drop" | cut -d' ' -f1)" = "$sha" ] &&
   [ -z "$(ls -A "$T/k/spool/outbound/claims-mainframe")" ]; then
    pass "key: --resend rebuilds sealed, sends the same plain bytes, leaves no plain copy"
else fail "key: resend" "rc=$rc $(cat "$T/out" "$T/err")"; fi

# 2. without a key the archived file is plain
setup p 0
f p batch claims-nightly --date $DATE >"$T/out" 2>"$T/err"; rc=$?
parch=$T/p/spool/archive/claims-mainframe/CLM.D261127.S001
if [ $rc = 0 ] && grep -aq "MACDONALD\|MacDonald" "$parch"; then
    pass "no key: the archived file is plain (greppable), as docs/security.md says"
else fail "no key" "rc=$rc $(cat "$T/out" "$T/err")"; fi

# 2a. retention: purge removes archived files past the window, says so,
# and keeps the recent ones
old=$T/p/spool/archive/claims-mainframe/CLM.D260801.S001
cp "$parch" "$old"; touch -d "100 days ago" "$old"
f p purge --older-than 90d >"$T/out" 2>"$T/err"; rc=$?
if [ $rc = 0 ] && [ ! -e "$old" ] && [ -f "$parch" ] &&
   grep -q "removed 1 archived file (1500 bytes) from archive/" "$T/out"; then
    pass "purge --older-than 90d: the 100-day-old archived file removed and reported, today's kept"
else fail "archive retention" "rc=$rc $(cat "$T/out" "$T/err")"; fi

# 2b. ferry check warns once without a key, and not with one
nw=$(f p check 2>&1 | grep -c "^ferry check: warning: no <spool key-file>")
nk=$(f k check 2>&1 | grep -c "^ferry check: warning: no <spool key-file>")
if [ "$nw" = 1 ] && [ "$nk" = 0 ]; then
    pass "ferry check: one warning without a spool key, none with one"
else fail "check warning" "without=$nw with=$nk"; fi

# 3. SFTP with a key: the sshd receives the plain file, COBOL reads it
if sshd_have; then
    mkdir -p "$T/remote" "$T/sshd"
    sshd_start "$T/sshd" || exit 1
    setup s 1
    sed -i "s|<transport type=\"local\" dir=\"$T/s/drop\"[^>]*/>|<transport type=\"sftp\" host=\"127.0.0.1\" port=\"$SSHD_PORT\" user=\"root\" key-file=\"$SSHD_KEY\" known-hosts=\"$SSHD_KNOWN_HOSTS\" remote-dir=\"$T/remote\" connect-timeout=\"5s\" timeout=\"20s\"/>|" "$T/s/ferry.xml"
    grep -q 'type="sftp"' "$T/s/ferry.xml" || { echo "FAIL  setup: transport not replaced"; exit 1; }
    f s batch claims-nightly --date $DATE >"$T/out" 2>"$T/err"; rc=$?
    rf=$T/remote/CLM.D261127.S001
    sarch=$T/s/spool/archive/claims-mainframe/CLM.D261127.S001
    CLMFILE=$rf "$T/READCLM" > "$T/cobol.out"; crc=$?
    sed 's/FRY-[0-9]\{8\}-/FRY-DATE-/; s/ *$//' "$T/cobol.out" > "$T/cobol.norm"
    if [ $rc = 0 ] && [ $crc = 0 ] && diff -u "$EXP" "$T/cobol.norm" >"$T/diff" &&
       ! grep -aq "MACDONALD\|MacDonald" "$sarch" &&
       [ "$(ls -A "$T/remote" | wc -l)" = 1 ]; then
        pass "key + SFTP: sshd gets the plain file (GnuCOBOL reads it), archive/ stays sealed"
    else fail "key + SFTP" "rc=$rc crc=$crc $(ls -A "$T/remote") $(cat "$T/out" "$T/err" "$T/diff")"; fi
else
    echo "SKIP  key + SFTP: $SSHD_MISSING"
fi

[ $fails = 0 ] || { echo "$fails case(s) failed"; exit 1; }
echo "all at-rest cases passed"
