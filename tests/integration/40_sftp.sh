#!/bin/bash
# 40_sftp.sh - the sftp and local transports against a real OpenSSH sshd.
#
# Starts sshd as root on a free 127.0.0.1 port in a temp folder with its
# own host key, sshd_config and authorized key, then drives the adapters
# through tests/helpers/sftp_drive (exit 0 ok, 1 retry, 2 fail, 5 stop).  Covers
# the happy path, host key checks, auth, crash recovery, an existing final
# name, a server stopped mid-transfer, a full remote disk, chmod + .done,
# list/fetch, and the local transport.  sshd is always stopped on exit.
set -u
ROOT=${FERRY_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${FERRY_BUILD:-$ROOT/build/san}
DRIVE=$BUILD/tests/helpers/sftp_drive
. "$ROOT/tests/peers/sshd.sh"

sshd_have || { echo "skip: $SSHD_MISSING"; exit 77; }
[ -x "$DRIVE" ] || { echo "missing $DRIVE (build the helpers first)"; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/ferry-sftp.XXXXXX")
MOUNTED=""
fails=0

cleanup() {
    sshd_stop
    [ -n "$MOUNTED" ] && umount "$MOUNTED" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

pass() { echo "PASS  $1"; }
fail() { echo "FAIL  $1: $2"; fails=$((fails+1)); }
skip() { echo "SKIP  $1: $2"; }

mkdir -p "$T/remote" "$T/local" "$T/acks"
sshd_start "$T" "MaxStartups 64" || exit 1
PORT=$SSHD_PORT
DEAD_PORT=$(sshd_free_port)
ssh-keygen -q -t ed25519 -N '' -C impostor -f "$T/other_hk"
ssh-keygen -q -t ed25519 -N 'sesame open' -C ferry-client-pp -f "$T/id_pp"
ssh-keygen -q -t ed25519 -N '' -C stranger -f "$T/id_stranger"
printf 'sesame open\n' > "$T/passphrase"; chmod 600 "$T/passphrase"
cat "$T/id_pp.pub" >> "$T/authorized_keys"

FP=$(ssh-keygen -lf "$T/hk.pub" | awk '{print $2}')
echo "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 "$T/other_hk.pub")" > "$T/known_hosts.wrong"
echo "[127.0.0.2]:$PORT $(cut -d' ' -f1,2 "$T/hk.pub")" > "$T/known_hosts.other"
cp "$T/known_hosts" "$T/known_hosts.hashed"
ssh-keygen -q -H -f "$T/known_hosts.hashed" >/dev/null 2>&1
rm -f "$T/known_hosts.hashed.old"

# Option pieces; each case combines the ones it needs (kv_get returns the
# first match, so a case never repeats a key).
HOSTO=(-o host=127.0.0.1 -o "port=$PORT" -o user=root -o timeout=20s -o connect-timeout=5s)
KEYO=(-o "key-file=$T/id")
KHO=(-o "known-hosts=$T/known_hosts")
DIRO=(-o "remote-dir=$T/remote")
sd() { "$DRIVE" -b "$T" "$@"; }

head -c 5000000 /dev/urandom > "$T/local/small.dat"

# 1. happy path
out=$(sd "${HOSTO[@]}" "${KEYO[@]}" "${KHO[@]}" "${DIRO[@]}" transfer "$T/local/small.dat" CLM.D261127.S001 2>"$T/err"); rc=$?
if [ $rc = 0 ] && cmp -s "$T/local/small.dat" "$T/remote/CLM.D261127.S001" &&
   [ "$(ls -A "$T/remote")" = CLM.D261127.S001 ]; then
    pass "happy path: byte-identical, no temporary file left"
else fail "happy path" "rc=$rc out=$out $(ls -A "$T/remote") $(cat "$T/err")"; fi

# 2. hashed known_hosts entry, key with a passphrase file
out=$(sd "${HOSTO[@]}" -o "key-file=$T/id_pp" -o passphrase-file=passphrase -o "known-hosts=$T/known_hosts.hashed" "${DIRO[@]}" transfer "$T/local/small.dat" HASHED.DAT 2>"$T/err"); rc=$?
if [ $rc = 0 ] && cmp -s "$T/local/small.dat" "$T/remote/HASHED.DAT"; then
    pass "hashed known_hosts entry + passphrase-protected key"
else fail "hashed known_hosts + passphrase" "rc=$rc out=$out $(cat "$T/err")"; fi

# 3. wrong host key -> STOP (the target, not the file) naming the fingerprint, nothing sent
out=$(sd "${HOSTO[@]}" "${KEYO[@]}" -o "known-hosts=$T/known_hosts.wrong" "${DIRO[@]}" transfer "$T/local/small.dat" WRONG.DAT 2>&1); rc=$?
if [ $rc = 5 ] && grep -q "$FP" <<<"$out" && grep -q "CHANGED" <<<"$out" && [ ! -e "$T/remote/WRONG.DAT" ]; then
    pass "wrong host key: STOP with $FP"
else fail "wrong host key" "rc=$rc out=$out"; fi

# 4. no entry for this host -> STOP naming the fingerprint
out=$(sd "${HOSTO[@]}" "${KEYO[@]}" -o "known-hosts=$T/known_hosts.other" "${DIRO[@]}" transfer "$T/local/small.dat" MISSING.DAT 2>&1); rc=$?
if [ $rc = 5 ] && grep -q "$FP" <<<"$out" && grep -q "not in" <<<"$out" && [ ! -e "$T/remote/MISSING.DAT" ]; then
    pass "missing known_hosts entry: STOP with fingerprint"
else fail "missing known_hosts entry" "rc=$rc out=$out"; fi

# 5. known_hosts file that does not exist -> STOP
out=$(sd "${HOSTO[@]}" "${KEYO[@]}" -o "known-hosts=$T/nope" "${DIRO[@]}" transfer "$T/local/small.dat" NOKH.DAT 2>&1); rc=$?
if [ $rc = 5 ] && grep -q "cannot read known-hosts" <<<"$out"; then
    pass "unreadable known_hosts file: STOP"
else fail "unreadable known_hosts" "rc=$rc out=$out"; fi

# 6. accept-any-host-key: connects, and warns with the fingerprint
out=$(sd "${HOSTO[@]}" "${KEYO[@]}" -o accept-any-host-key=true "${DIRO[@]}" transfer "$T/local/small.dat" ANY.DAT 2>"$T/err"); rc=$?
if [ $rc = 0 ] && grep -q "sftp-host-key-not-checked" "$T/err" && grep -q "$FP" "$T/err" && grep -q "level=warn\|warn" "$T/err"; then
    pass "accept-any-host-key: OK with a warning naming $FP"
else fail "accept-any-host-key" "rc=$rc out=$out err=$(cat "$T/err")"; fi

# 7. no known-hosts and no accept-any -> refused at init
out=$(sd "${HOSTO[@]}" "${KEYO[@]}" "${DIRO[@]}" transfer "$T/local/small.dat" NOCHK.DAT 2>&1); rc=$?
if [ $rc = 4 ] && grep -q "known-hosts is required" <<<"$out"; then
    pass "no known-hosts setting: refused (no silent default)"
else fail "no known-hosts setting" "rc=$rc out=$out"; fi

# 8. key not authorized -> STOP with reason; reach (log in, send nothing) says the same
out=$(sd "${HOSTO[@]}" -o "key-file=$T/id_stranger" "${KHO[@]}" "${DIRO[@]}" transfer "$T/local/small.dat" AUTH.DAT 2>&1); rc=$?
if [ $rc = 5 ] && grep -q "authentication" <<<"$out"; then
    pass "unauthorized key: STOP ($(cut -f2 <<<"$out" | head -c 80))"
else fail "unauthorized key" "rc=$rc out=$out"; fi
out=$(sd "${HOSTO[@]}" -o "key-file=$T/id_stranger" "${KHO[@]}" "${DIRO[@]}" reach 2>&1); rc=$?
out2=$(sd "${HOSTO[@]}" "${KEYO[@]}" -o "known-hosts=$T/known_hosts.wrong" "${DIRO[@]}" reach 2>&1); rc2=$?
out3=$(sd "${HOSTO[@]}" "${KEYO[@]}" "${KHO[@]}" "${DIRO[@]}" reach 2>&1); rc3=$?
if [ $rc = 5 ] && grep -q "authentication" <<<"$out" && [ $rc2 = 5 ] && grep -q "$FP" <<<"$out2" &&
   [ $rc3 = 0 ] && grep -q "^ok" <<<"$out3"; then
    pass "reach: login refused and wrong host key STOP, the right key and known_hosts OK"
else fail "reach" "rc=$rc/$rc2/$rc3 out=$out $out2 $out3"; fi

# 9. nothing listening -> RETRY
out=$(sd -o host=127.0.0.1 -o "port=$DEAD_PORT" -o user=root "${KEYO[@]}" "${KHO[@]}" "${DIRO[@]}" transfer "$T/local/small.dat" REFUSED.DAT 2>&1); rc=$?
if [ $rc = 1 ] && grep -qi "refused" <<<"$out"; then
    pass "connection refused: RETRY"
else fail "connection refused" "rc=$rc out=$out"; fi

# 10. no such remote folder -> FAIL
out=$(sd "${HOSTO[@]}" "${KEYO[@]}" "${KHO[@]}" -o "remote-dir=$T/no/such/dir" transfer "$T/local/small.dat" X.DAT 2>&1); rc=$?
if [ $rc = 2 ]; then pass "no such remote folder: FAIL"
else fail "no such remote folder" "rc=$rc out=$out"; fi

# 11. rename done but reply lost: final already there with the same bytes
ino=$(stat -c %i "$T/remote/CLM.D261127.S001")
out=$(sd "${HOSTO[@]}" "${KEYO[@]}" "${KHO[@]}" "${DIRO[@]}" transfer "$T/local/small.dat" CLM.D261127.S001 2>&1); rc=$?
if [ $rc = 0 ] && grep -q "already present on the far side (same size and SHA-256)" <<<"$out" &&
   [ "$(stat -c %i "$T/remote/CLM.D261127.S001")" = "$ino" ]; then
    pass "final name already present with same content: OK, not re-sent"
else fail "already present" "rc=$rc out=$out"; fi

# 12. final name exists with different content -> FAIL, untouched
head -c 5000000 /dev/urandom > "$T/local/other.dat"
out=$(sd "${HOSTO[@]}" "${KEYO[@]}" "${KHO[@]}" "${DIRO[@]}" transfer "$T/local/other.dat" CLM.D261127.S001 2>&1); rc=$?
if [ $rc = 2 ] && grep -q "final name exists with different content" <<<"$out" &&
   cmp -s "$T/local/small.dat" "$T/remote/CLM.D261127.S001" && [ ! -e "$T/remote/.CLM.D261127.S001.part" ]; then
    pass "final name with different content (same size): FAIL, not overwritten"
else fail "different content" "rc=$rc out=$out"; fi

# 13. ... unless allow-overwrite
out=$(sd "${HOSTO[@]}" "${KEYO[@]}" "${KHO[@]}" "${DIRO[@]}" -o allow-overwrite=true transfer "$T/local/other.dat" CLM.D261127.S001 2>&1); rc=$?
if [ $rc = 0 ] && cmp -s "$T/local/other.dat" "$T/remote/CLM.D261127.S001"; then
    pass "allow-overwrite replaces a different final name"
else fail "allow-overwrite" "rc=$rc out=$out"; fi

# 14. chmod + done file
out=$(sd "${HOSTO[@]}" "${KEYO[@]}" "${KHO[@]}" "${DIRO[@]}" -o chmod=0640 -o done-file=true transfer "$T/local/small.dat" MODE.DAT 2>&1); rc=$?
if [ $rc = 0 ] && [ "$(stat -c %a "$T/remote/MODE.DAT")" = 640 ] && [ -f "$T/remote/MODE.DAT.done" ] &&
   [ ! -s "$T/remote/MODE.DAT.done" ]; then
    pass "chmod 0640 and .done trigger file"
else fail "chmod/.done" "rc=$rc out=$out $(stat -c %a "$T/remote/MODE.DAT" 2>&1)"; fi
out=$(sd "${HOSTO[@]}" "${KEYO[@]}" "${KHO[@]}" "${DIRO[@]}" -o done-file=.trg transfer "$T/local/small.dat" TRG.DAT 2>&1); rc=$?
if [ $rc = 0 ] && [ -f "$T/remote/TRG.DAT.trg" ]; then pass "done-file with a custom suffix"
else fail "done-file suffix" "rc=$rc out=$out"; fi

# 15. crashes at named points, then a plain re-run
if [ "$("$DRIVE" crash-points)" = yes ]; then
    head -c 40000000 /dev/urandom > "$T/local/crash.dat"
    for point in sftp-mid-upload sftp-before-rename sftp-after-rename; do
        name="CRASH.$point"
        FERRY_CRASH_AT=$point sd "${HOSTO[@]}" "${KEYO[@]}" "${KHO[@]}" "${DIRO[@]}" -o done-file=true transfer "$T/local/crash.dat" "$name" >/dev/null 2>&1; rc1=$?
        left_tmp=no; [ -e "$T/remote/.$name.part" ] && left_tmp=yes
        had_final=no; [ -e "$T/remote/$name" ] && had_final=yes
        ino1=$(stat -c %i "$T/remote/$name" 2>/dev/null)
        out=$(sd "${HOSTO[@]}" "${KEYO[@]}" "${KHO[@]}" "${DIRO[@]}" -o done-file=true transfer "$T/local/crash.dat" "$name" 2>&1); rc=$?
        ok=1
        [ $rc1 = 137 ] || ok=0
        case $point in
            sftp-after-rename)
                [ $had_final = yes ] && [ "$(stat -c %i "$T/remote/$name")" = "$ino1" ] &&
                    grep -q "already present" <<<"$out" || ok=0 ;;
            *)  [ $had_final = no ] && [ $left_tmp = yes ] || ok=0 ;;
        esac
        if [ $ok = 1 ] && [ $rc = 0 ] && cmp -s "$T/local/crash.dat" "$T/remote/$name" &&
           [ ! -e "$T/remote/.$name.part" ] && [ -e "$T/remote/$name.done" ]; then
            pass "crash at $point (tmp left: $left_tmp, final: $had_final), re-run: file arrives once"
        else fail "crash at $point" "rc1=$rc1 rc=$rc tmp=$left_tmp final=$had_final out=$out"; fi
    done
else
    skip "crash points" "driver not built with FERRY_TEST_BUILD (use the SAN build)"
fi

# 16. list and fetch acknowledgement files
printf 'ACK 0001 OK\n' > "$T/acks/ACK.D261127.S001"
printf 'ACK 0002 OK\n' > "$T/acks/ACK.D261127.S002"
printf 'partial' > "$T/acks/.ACK.D261127.S003.part"
printf 'other' > "$T/acks/README"
mkdir -p "$T/acks/ACK.dir"
out=$(sd "${HOSTO[@]}" "${KEYO[@]}" "${KHO[@]}" -o "ack-dir=$T/acks" list 'ACK*' 2>&1); rc=$?
names=$(grep '^name' <<<"$out" | cut -f2 | tr '\n' ' ')
if [ $rc = 0 ] && [ "$names" = "ACK.D261127.S001 ACK.D261127.S002 " ]; then
    pass "list ACK* in ack-dir: regular files only, no hidden temp files"
else fail "list" "rc=$rc out=$out"; fi
out=$(sd "${HOSTO[@]}" "${KEYO[@]}" "${KHO[@]}" -o "ack-dir=$T/acks" fetch ACK.D261127.S002 "$T/local/ack2" 2>&1); rc=$?
if [ $rc = 0 ] && cmp -s "$T/acks/ACK.D261127.S002" "$T/local/ack2" && ! compgen -G "$T/local/*part*" >/dev/null; then
    pass "fetch an ack file (tmp + fsync + rename)"
else fail "fetch" "rc=$rc out=$out"; fi
out=$(sd "${HOSTO[@]}" "${KEYO[@]}" "${KHO[@]}" -o "ack-dir=$T/acks" fetch NOPE "$T/local/nope" 2>&1); rc=$?
if [ $rc = 2 ] && [ ! -e "$T/local/nope" ]; then pass "fetch of a missing file: FAIL"
else fail "fetch missing" "rc=$rc out=$out"; fi

# 17. full remote disk -> RETRY, no final name
mkdir -p "$T/full"
if mount -t tmpfs -o size=1m ferrytest "$T/full" 2>"$T/mnt.err"; then
    MOUNTED=$T/full
    head -c 3000000 /dev/urandom > "$T/local/big3m.dat"
    out=$(sd "${HOSTO[@]}" "${KEYO[@]}" "${KHO[@]}" -o "remote-dir=$T/full" transfer "$T/local/big3m.dat" FULL.DAT 2>&1); rc=$?
    if [ $rc = 1 ] && [ ! -e "$T/full/FULL.DAT" ] && [ ! -e "$T/full/.FULL.DAT.part" ]; then
        pass "full remote filesystem: RETRY, temp removed ($(grep -E "^retry" <<<"$out" | cut -f2 | head -c 90))"
    else fail "full remote filesystem" "rc=$rc out=$out $(ls -la "$T/full")"; fi
    umount "$T/full" && MOUNTED=""
else
    skip "full remote filesystem" "cannot mount tmpfs here: $(head -c 120 "$T/mnt.err")"
fi

# 18. server stopped mid-transfer -> RETRY, no final name; re-run after restart
head -c 400000000 /dev/zero | openssl enc -aes-128-ctr -pass pass:x -nosalt 2>/dev/null > "$T/local/big.dat"
sd "${HOSTO[@]}" "${KEYO[@]}" "${KHO[@]}" "${DIRO[@]}" transfer "$T/local/big.dat" BIG.DAT > "$T/big.out" 2>&1 &
dpid=$!
killed=no
for _ in $(seq 1 600); do
    sz=$(stat -c %s "$T/remote/.BIG.DAT.part" 2>/dev/null || echo 0)
    if [ "$sz" -gt 20000000 ]; then sshd_stop; killed=yes; break; fi
    kill -0 $dpid 2>/dev/null || break
    sleep 0.02
done
wait $dpid; rc=$?
if [ $killed = yes ] && [ $rc = 1 ] && [ ! -e "$T/remote/BIG.DAT" ]; then
    pass "server stopped mid-transfer: RETRY, no final name ($(grep -E "^retry" "$T/big.out" | cut -f2 | head -c 80))"
else fail "server stopped mid-transfer" "killed=$killed rc=$rc $(cat "$T/big.out")"; fi
sshd_start || exit 1
out=$(sd "${HOSTO[@]}" "${KEYO[@]}" "${KHO[@]}" "${DIRO[@]}" transfer "$T/local/big.dat" BIG.DAT 2>&1); rc=$?
if [ $rc = 0 ] && cmp -s "$T/local/big.dat" "$T/remote/BIG.DAT" && [ ! -e "$T/remote/.BIG.DAT.part" ]; then
    pass "re-run after the server came back: complete file, temp replaced"
else fail "re-run after restart" "rc=$rc out=$out"; fi
rm -f "$T/local/big.dat" "$T/remote/BIG.DAT"

# 19. the local transport: same rules
L=(-t local -o "dir=$T/drop")
mkdir -p "$T/drop"
out=$(sd "${L[@]}" transfer "$T/local/small.dat" LOC.DAT 2>&1); rc=$?
if [ $rc = 0 ] && cmp -s "$T/local/small.dat" "$T/drop/LOC.DAT" && [ "$(ls -A "$T/drop")" = LOC.DAT ]; then
    pass "local: happy path, no temp left"
else fail "local happy" "rc=$rc out=$out"; fi
out=$(sd "${L[@]}" transfer "$T/local/small.dat" LOC.DAT 2>&1); rc=$?
if [ $rc = 0 ] && grep -q "already present" <<<"$out"; then pass "local: same content already there: OK"
else fail "local already present" "rc=$rc out=$out"; fi
out=$(sd "${L[@]}" transfer "$T/local/other.dat" LOC.DAT 2>&1); rc=$?
if [ $rc = 2 ] && cmp -s "$T/local/small.dat" "$T/drop/LOC.DAT"; then pass "local: different content: FAIL, not overwritten"
else fail "local different" "rc=$rc out=$out"; fi
if [ "$("$DRIVE" crash-points)" = yes ]; then
    FERRY_CRASH_AT=local-before-rename sd "${L[@]}" -o done-file=true transfer "$T/local/small.dat" LOC2.DAT >/dev/null 2>&1; rc1=$?
    out=$(sd "${L[@]}" -o done-file=true transfer "$T/local/small.dat" LOC2.DAT 2>&1); rc=$?
    if [ $rc1 = 137 ] && [ $rc = 0 ] && cmp -s "$T/local/small.dat" "$T/drop/LOC2.DAT" &&
       [ ! -e "$T/drop/.LOC2.DAT.part" ] && [ -e "$T/drop/LOC2.DAT.done" ]; then
        pass "local: crash before rename, re-run completes once"
    else fail "local crash" "rc1=$rc1 rc=$rc out=$out"; fi
fi

sshd_stop
if [ $fails -gt 0 ]; then echo "$fails sub-case(s) failed"; exit 1; fi
echo "all sftp sub-cases passed"
exit 0
