#!/bin/bash
# 49_batch_handover.sh - the hand-over conventions of a transport
# (docs/batch.md, "Hand-over conventions"), on the example's claims file
# through the local transport, with throwaway GnuPG homes made here:
# ferry's (its own key, the mainframe's public key) and the mainframe's.
#   - the file goes encrypted for the mainframe's key and signed by
#     ferry's as NAME.pgp; gpg (the mainframe's home) decrypts it to the
#     exact file ferry archived and reports a good signature by ferry;
#   - NAME.pgp.sha256 is a sha256sum line that `sha256sum -c` accepts;
#   - NAME.pgp.done, the trigger, comes last: killed after the checksum,
#     the drop has the checksum only; killed after the data file's rename,
#     no trigger; each re-run completes the set with the same bytes
#     (nothing re-encrypted, nothing sent twice);
#   - an ack encrypted for ferry and signed by the mainframe is applied;
#     a tampered one and one signed by another key are refused with a
#     clear error and nothing of them is applied;
#   - ferry check refuses a GnuPG home that is not 0700 and a key the
#     home does not hold.
set -u
: "${FERRY_ROOT:?}" "${FERRY_BIN:?}"
. "$FERRY_ROOT/tests/peers/gpg.sh"
gpg_have || { echo "skip: gpg (gnupg) not installed"; exit 77; }
T=$(mktemp -d /tmp/fho.XXXXXX)
G=$T/g
cleanup() { gpg_stop "$G"; rm -rf "$T"; }
trap cleanup EXIT
fails=0
pass() { echo "PASS  $1"; }
fail() { echo "FAIL  $1: $2"; fails=$((fails+1)); }
DATE=2026-11-27
NAME=CLM.D261127.S001
gpg_homes "$G" || { echo "FAIL  gpg keys"; exit 1; }

# setup NAME - the example in $T/NAME, local transport with every convention
setup() {
    local d=$T/$1
    mkdir -p "$d/drop" "$d/acks"
    cp -r "$FERRY_ROOT/examples/." "$d/"
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$d/secrets/frontend.key"
    chmod 600 "$d/secrets/frontend.key"
    sed -i "s|<spool dir=\"[^\"]*\"|<spool dir=\"$d/spool\"|; s|<transport type=\"local\" dir=\"../var/mainframe-drop\" ack-dir=\"../var/mainframe-acks\"/>|<transport type=\"local\" dir=\"$d/drop\" ack-dir=\"$d/acks\" done-file=\"true\" checksum-file=\"true\" pgp-home=\"$G/ferry\" pgp-recipient=\"$MFPR\" pgp-signer=\"$FFPR\" ack-pgp=\"true\"/>|" "$d/ferry.xml"
    grep -q 'pgp-recipient' "$d/ferry.xml" || { echo "FAIL  setup: transport not replaced"; exit 1; }
}
f() { local d=$1; shift; "$FERRY_BIN" "$@" --config "$T/$d/ferry.xml"; }
drop() { ls -A "$T/$1/drop" | tr '\n' ' '; }

# 1. encrypted and signed, checksum beside it, trigger last
setup a
f a submit refund-claim "$T/a/submissions.ndjson" >/dev/null 2>&1
f a batch claims-nightly --date $DATE >"$T/out" 2>"$T/err"; rc=$?
arch=$T/a/spool/archive/claims-mainframe/$NAME
if [ $rc = 0 ] && [ "$(drop a)" = "$NAME.pgp $NAME.pgp.done $NAME.pgp.sha256 " ] &&
   [ ! -s "$T/a/drop/$NAME.pgp.done" ] && ! ls -A "$T/a/spool/outbound/claims-mainframe" | grep -q .; then
    pass "batch: $NAME.pgp, $NAME.pgp.sha256 and the trigger $NAME.pgp.done in the drop; no local copies left in outbound/"
else fail "batch" "rc=$rc drop=[$(drop a)] $(cat "$T/out" "$T/err")"; fi
if gq "$G/mf" --status-fd 3 --decrypt "$T/a/drop/$NAME.pgp" 3>"$T/status" >"$T/plain" 2>/dev/null &&
   cmp -s "$T/plain" "$arch" && grep -q "GOODSIG.*ferry" "$T/status" &&
   grep -q "VALIDSIG $FFPR" "$T/status" &&
   f a batches --json | grep -q "\"sha256\": \"$(sha256sum "$T/plain" | cut -d' ' -f1)\""; then
    pass "gpg (the mainframe's home) decrypts $NAME.pgp to the archived file (the ledger's SHA-256), good signature by ferry's key"
else fail "decrypt" "$(cat "$T/status") $(cmp "$T/plain" "$arch" 2>&1)"; fi
if (cd "$T/a/drop" && sha256sum -c --strict "$NAME.pgp.sha256" >"$T/sum" 2>&1) &&
   grep -q "^$NAME.pgp: OK" "$T/sum"; then
    pass "$NAME.pgp.sha256 is a sha256sum line: sha256sum -c says OK"
else fail "sha256sum -c" "$(cat "$T/sum")"; fi
if gq "$G/mf" --list-packets "$T/a/drop/$NAME.pgp" 2>/dev/null | grep -q "^:pubkey enc packet:" &&
   ! cmp -s "$T/a/drop/$NAME.pgp" "$arch"; then
    pass "the drop holds no plain record: $NAME.pgp is an OpenPGP public-key encrypted message"
else fail "plain in drop" "$(gq "$G/mf" --list-packets "$T/a/drop/$NAME.pgp" 2>&1 | head -3)"; fi

# 1b. a spool sealed at rest: the plain bytes are encrypted, no plain
# copy is left in outbound/
setup s
head -c 32 /dev/urandom > "$T/s/secrets/spool.key"; chmod 600 "$T/s/secrets/spool.key"
sed -i "s|<spool dir=\"$T/s/spool\"|<spool dir=\"$T/s/spool\" key-file=\"secrets/spool.key\"|" "$T/s/ferry.xml"
f s submit refund-claim "$T/s/submissions.ndjson" >/dev/null 2>&1
f s batch claims-nightly --date $DATE >"$T/out" 2>&1; rc=$?
sarch=$T/s/spool/archive/claims-mainframe/$NAME
if [ $rc = 0 ] && [ "$(head -c 8 "$sarch")" = FRYFILE1 ] &&
   gq "$G/mf" --decrypt "$T/s/drop/$NAME.pgp" >"$T/splain" 2>/dev/null &&
   f s batches --json | grep -q "\"sha256\": \"$(sha256sum "$T/splain" | cut -d' ' -f1)\"" &&
   ! ls -A "$T/s/spool/outbound/claims-mainframe" | grep -q .; then
    pass "spool sealed at rest: the archive is sealed, the far side's $NAME.pgp decrypts to the plain file (the ledger's SHA-256), no plain copy left"
else fail "sealed spool" "rc=$rc $(cat "$T/out" | tail -5) $(ls -A "$T/s/spool/outbound/claims-mainframe")"; fi

# 2. order and crash safety: killed after the checksum, after its rename,
# then after the data file's rename (before its trigger): never a trigger
# without both
# (local-after-rename fires once per file: @2 is the data file's)
for p in batch-after-checksum local-after-rename local-after-rename@2; do
    setup "c-$p"
    f "c-$p" submit refund-claim "$T/c-$p/submissions.ndjson" >/dev/null 2>&1
    FERRY_CRASH_AT=$p f "c-$p" batch claims-nightly --date $DATE >"$T/crash.out" 2>&1; crc=$?
    at_crash=$(drop "c-$p")
    sha1=$(sha256sum "$T/c-$p/drop/$NAME.pgp" 2>/dev/null | cut -d' ' -f1)
    f "c-$p" batch claims-nightly --date $DATE >"$T/rerun.out" 2>&1; rrc=$?
    sha2=$(sha256sum "$T/c-$p/drop/$NAME.pgp" 2>/dev/null | cut -d' ' -f1)
    case $p in
        *@2) want="$NAME.pgp $NAME.pgp.sha256 " ;;
        *) want="$NAME.pgp.sha256 " ;;
    esac
    if [ $crc = 137 ] && [ "$at_crash" = "$want" ] && [ $rrc = 0 ] &&
       [ "$(drop "c-$p")" = "$NAME.pgp $NAME.pgp.done $NAME.pgp.sha256 " ] &&
       { [ -z "$sha1" ] || [ "$sha1" = "$sha2" ]; } &&
       (cd "$T/c-$p/drop" && sha256sum -c --status "$NAME.pgp.sha256") &&
       [ "$(f "c-$p" batches --json | grep -c '"state": "sent"')" = 1 ]; then
        pass "killed at $p: the drop had [${at_crash% }] and no trigger; the re-run completed the set once (same encrypted bytes), trigger last"
    else fail "crash $p" "crc=$crc at_crash=[$at_crash] rrc=$rrc now=[$(drop "c-$p")] sha $sha1 $sha2 $(tail -5 "$T/rerun.out")"; fi
done

# 3. acknowledgements: encrypted for ferry and signed by the mainframe
"$FERRY_ROOT/examples/mainframe-ack.sh" "$T/plain" "$T/ack.plain" >/dev/null
gq "$G/mf" --trust-model always -u "$MFPR" -r "$FFPR" --sign --encrypt -o "$T/a/acks/CLMACK.D261127.S001" "$T/ack.plain"
f a reconcile claims-mainframe >"$T/out" 2>&1; rc=$?
if [ $rc = 0 ] && [ "$(f a queue --state confirmed 2>/dev/null | grep -c '^FRY')" = 6 ] &&
   [ "$(f a queue --state rejected 2>/dev/null | grep -c '^FRY')" = 2 ]; then
    pass "a signed, encrypted ack is decrypted, its signature checked, and applied: 6 confirmed, 2 rejected"
else fail "ack applied" "rc=$rc $(cat "$T/out")"; fi

# a tampered ack and one signed by another key: refused, nothing applied
setup b
f b submit refund-claim "$T/b/submissions.ndjson" >/dev/null 2>&1
f b batch claims-nightly --date $DATE >/dev/null 2>&1
gq "$G/mf" --decrypt "$T/b/drop/$NAME.pgp" >"$T/bplain" 2>/dev/null
"$FERRY_ROOT/examples/mainframe-ack.sh" "$T/bplain" "$T/back.plain" >/dev/null
gq "$G/mf" --trust-model always -u "$MFPR" -r "$FFPR" --sign --encrypt -o "$T/good.pgp" "$T/back.plain"
python3 - "$T/good.pgp" "$T/b/acks/CLMACK.D261127.S001" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[len(b) // 2] ^= 0x01
open(sys.argv[2], "wb").write(b)
PY
gq "$G/mf" --trust-model always -u "$IFPR" -r "$FFPR" --sign --encrypt -o "$T/b/acks/CLMACK.D261127.S002" "$T/back.plain"
f b reconcile claims-mainframe >"$T/out" 2>&1; rc=$?
if [ $rc != 0 ] && grep -q "ack file CLMACK.D261127.S001 cannot be decrypted" "$T/out" &&
   grep -q "ack file CLMACK.D261127.S002 is signed by key .*, not by the ack signer $MFPR: refused" "$T/out" &&
   [ "$(f b queue --state sent 2>/dev/null | grep -c '^FRY')" = 8 ]; then
    pass "a tampered ack (one bit flipped) and an ack signed by another key are refused with a clear error (exit $rc); all 8 records stay sent"
else fail "ack refused" "rc=$rc $(cat "$T/out")"; fi

# 4. ferry check: the home must be 0700 and hold the named keys
setup k
chmod 755 "$G/ferry"
f k check >"$T/out" 2>&1; rc=$?
chmod 700 "$G/ferry"
sed -i "s|pgp-recipient=\"$MFPR\"|pgp-recipient=\"nobody@test.invalid\"|" "$T/k/ferry.xml"
f k check >"$T/out2" 2>&1; rc2=$?
if [ $rc = 78 ] && grep -q "pgp-home must be mode 0700" "$T/out" &&
   [ $rc2 = 78 ] && grep -q "the GnuPG home has no key 'nobody@test.invalid'" "$T/out2"; then
    pass "ferry check refuses a GnuPG home that is not 0700 and a recipient the home does not hold (exit 78)"
else fail "check" "rc=$rc rc2=$rc2 $(cat "$T/out" "$T/out2")"; fi

[ $fails = 0 ] || { echo "$fails case(s) failed"; exit 1; }
echo "all hand-over cases passed"
