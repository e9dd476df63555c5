#!/bin/bash
# 85_cluster_night.sh - the night batch and reconcile on two ferry nodes
# sharing one PostgreSQL spool (issue 18: "the night batch killed on one
# node and finished by another: one file, sent once, GnuCOBOL reads it").
#
# Each trial: a fresh database on one PostgreSQL 15 (tests/peers/pg.sh),
# two nodes (each its own spool folder and ferry.xml, the example's
# claims target sent by SFTP to one OpenSSH sshd, tests/peers/sshd.sh,
# mapping in ASCII so GnuCOBOL reads the file), 8 claims submitted
# through each.  Node a runs `ferry batch` and is killed (SIGKILL,
# FERRY_CRASH_AT, SAN build) at a crash point; node b runs it and
# finishes: exactly one file in the sshd's folder, no temporary left,
# the ledger's one batch sent with that file's SHA-256, 16 distinct
# references, GnuCOBOL (tests/cobol/READCLM.cbl) checks its trailer and
# totals; where the file had reached its final name, b does not upload
# it again (same inode, "already present").  A further run on a sends
# nothing.
#
# Lock across nodes: node a is left holding the batch lock (its
# transport is a port that accepts and never answers, so it hangs after
# writing the file) and is paused with SIGSTOP; b's `ferry batch` says
# "already running on another node", exits 75 and changes nothing; a
# is then killed and b finishes a's written batch with the same bytes.
# The same for `ferry reconcile` (the lock reconcile-TARGET), then both
# nodes reconcile one ack file (written by tests/cobol/MAINFRAME.cbl) at
# once: it is applied once (one ack_files row, 16 confirmed).
#
# NIGHT_POINTS overrides the crash points (default: five, from bind to
# the sent mark).
. "$(dirname "$0")/lib.sh"
. "$FERRY_ROOT/tests/peers/pg.sh"
. "$FERRY_ROOT/tests/peers/sshd.sh"
pg_have || { echo "skip: $PG_MISSING"; exit 77; }
sshd_have || { echo "skip: $SSHD_MISSING"; exit 77; }
command -v cobc >/dev/null || { echo "skip: cobc (gnucobol) not installed"; exit 77; }
command -v jq >/dev/null || { echo "skip: jq not installed"; exit 77; }
HANG_PID=""
cleanup() {
    set +e
    [ -n "$HANG_PID" ] && kill -KILL "$HANG_PID" 2>/dev/null
    sshd_stop
    [ -n "${PG_DIR:-}" ] && pg_cleanup
    rm -rf "$T"
}
trap cleanup EXIT
chmod 0755 "$T"
DATE=2026-11-27
NAME=CLM.D261127.S001
POINTS=${NIGHT_POINTS:-"batch-bind-after-commit batch-ledger-written sftp-before-rename sftp-after-rename batch-sent-before-commit"}

sshd_start "$T" || exit 1
pg_start "$T/pg" night >/dev/null || { cat "$PG_DIR/log"; fail pg-start "postgres did not start"; }
export PGOPTIONS="-c client_min_messages=warning"
for p in READCLM MAINFRAME; do
    cobc -x -I "$FERRY_ROOT/examples/copybooks" -o "$T/$p" \
        "$FERRY_ROOT/tests/cobol/$p.cbl" 2>"$T/cobc.err" || fail cobc "$(cat "$T/cobc.err")"
done
# a port that accepts connections and never says a word
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
held = []
while True:
    c, _ = s.accept(); held.append(c)
' "$T/hang.port" &
HANG_PID=$!
for _ in $(seq 50); do [ -s "$T/hang.port" ] && break; sleep 0.1; done
HANG_PORT=$(cat "$T/hang.port")
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$T/frontend.key"
sed 's/"HCR0010\([0-9][0-9]\)X"/"HCR0030\1X"/' "$FERRY_ROOT/examples/submissions.ndjson" > "$T/more.ndjson"

# q DB SQL - one value from the trial's database
q() { psql -X -q -A -t -h 127.0.0.1 -p "$PGPORT" -U ferry "$1" -c "$2"; }
# node DIR DB REMOTE [PORT] - a node on database DB sending to REMOTE
# (its ack folder REMOTE-acks) through the sshd, or through PORT
node() {
    local d=$1 port=${4:-$SSHD_PORT}
    mkdir -p "$d"
    cp -r "$FERRY_ROOT/examples/." "$d/"
    cp "$T/frontend.key" "$d/secrets/frontend.key"; chmod 600 "$d/secrets/frontend.key"
    printf 'host=127.0.0.1 port=%s user=ferry dbname=%s\n' "$PGPORT" "$2" > "$d/ledger.conn"
    chmod 600 "$d/ledger.conn"
    sed -i "s|<spool dir=\"[^\"]*\"|<spool dir=\"$d/spool\" backend=\"postgresql\" connection-file=\"ledger.conn\"|" "$d/ferry.xml"
    sed -i "s|<transport type=\"local\" dir=\"../var/mainframe-drop\"[^>]*/>|<transport type=\"sftp\" host=\"127.0.0.1\" port=\"$port\" user=\"root\" key-file=\"$SSHD_KEY\" known-hosts=\"$SSHD_KNOWN_HOSTS\" remote-dir=\"$3\" ack-dir=\"$3-acks\" connect-timeout=\"30s\" timeout=\"30s\"/>|" "$d/ferry.xml"
    sed -i 's|encoding="IBM-285"|encoding="ascii"|' "$d/mappings/refund-claim.xml"
    grep -q 'type="sftp"' "$d/ferry.xml" && grep -q 'backend="postgresql"' "$d/ferry.xml" ||
        fail setup "example not rewritten"
}
fy() { local d=$1; shift; "$FERRY_BIN" "$@" --config "$d/ferry.xml"; }
# trial N - database ferry_N, nodes $T/N/a and $T/N/b, remote $T/N/remote,
# 8 claims submitted through each node
trial() {
    local w=$T/$1
    q postgres "CREATE DATABASE ferry_$1" >/dev/null || fail "$1 setup" "CREATE DATABASE"
    mkdir -p "$w/remote" "$w/remote-acks"
    node "$w/a" "ferry_$1" "$w/remote"
    node "$w/b" "ferry_$1" "$w/remote"
    # the example holds 8 good claims, a duplicate and 4 refused (exit 65)
    fy "$w/a" submit refund-claim "$FERRY_ROOT/examples/submissions.ndjson" >"$T/s.out" 2>&1
    fy "$w/b" submit refund-claim "$T/more.ndjson" >>"$T/s.out" 2>&1
    [ "$(grep -c "refund-claim: 8 accepted" "$T/s.out")" = 2 ] ||
        fail "$1 submit" "submissions not taken: $(tail -5 "$T/s.out")"
}
# unlocked DB - wait (up to 10 s) until no session holds an advisory lock:
# a killed node's session ends when the server sees its socket close
unlocked() {
    for _ in $(seq 100); do
        [ "$(q "$1" "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")" = 0 ] && return 0
        sleep 0.1
    done
    fail "$1 locks" "advisory locks still held: $(q "$1" "SELECT pid, objid FROM pg_locks WHERE locktype = 'advisory'")"
}
# held DB PID JOB - wait (up to 20 s) until the job lock JOB is held (the
# advisory key: the first 8 bytes of SHA-256 of "ferry:job:JOB", as
# spool/pg_cluster.c makes it; pg_locks shows its two halves)
held() {
    local k
    k=$(python3 -c 'import hashlib, sys
d = hashlib.sha256(b"ferry:job:" + sys.argv[1].encode()).digest()
print(int.from_bytes(d[0:4], "big"), int.from_bytes(d[4:8], "big"))' "$3")
    for _ in $(seq 200); do
        [ "$(q "$1" "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
            AND classid::bigint = ${k% *} AND objid::bigint = ${k#* }")" = 1 ] && return 0
        kill -0 "$2" 2>/dev/null || fail "$1 hold" "the holding run ended"
        sleep 0.1
    done
    fail "$1 hold" "no advisory lock taken"
}
# pause PID - SIGSTOP, and wait (up to 5 s) until the kernel says stopped
pause() {
    kill -STOP "$1"
    for _ in $(seq 50); do
        [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = T ] && return 0
        sleep 0.1
    done
    fail pause "PID $1 did not stop"
}
# one_file TAG DIR - exactly the batch file in the remote folder, sent
# once by the ledger's account, byte-identical to the ledger's SHA-256,
# 16 distinct references, read by GnuCOBOL
one_file() {
    local tag=$1 w=$2 f=$2/remote/$NAME
    [ "$(ls -A "$w/remote" | tr '\n' ' ')" = "$NAME " ] ||
        fail "$tag remote" "the sshd's folder holds [$(ls -A "$w/remote" | tr '\n' ' ')]"
    fy "$w/a" batches --json > "$T/b.json" 2>/dev/null
    [ "$(jq -r '[.batches[] | .state] | join(" ")' "$T/b.json")" = sent ] ||
        fail "$tag ledger" "batches: $(jq -c '[.batches[] | [.id, .state, .file]]' "$T/b.json")"
    local sha
    sha=$(sha256sum "$f" | cut -d' ' -f1)
    [ "$(jq -r '.batches[0].sha256' "$T/b.json")" = "$sha" ] ||
        fail "$tag sha256" "ledger $(jq -r '.batches[0].sha256' "$T/b.json"), remote file $sha"
    [ "$(jq -r '.batches[0].records' "$T/b.json")" = 16 ] ||
        fail "$tag records" "the batch holds $(jq -r '.batches[0].records' "$T/b.json")"
    [ "$(grep -ao 'FRY-[0-9]*-[0-9]*' "$f" | sort -u | wc -l)" = 16 ] &&
        [ "$(grep -ao 'FRY-[0-9]*-[0-9]*' "$f" | wc -l)" = 16 ] ||
        fail "$tag refs" "the file's references are not 16 distinct ones"
    [ "$(q "ferry_$3" "SELECT count(*) FROM records WHERE state = 'sent'")" = 16 ] ||
        fail "$tag sent" "records sent: $(q "ferry_$3" "SELECT state, count(*) FROM records GROUP BY state")"
    CLMFILE=$f "$T/READCLM" > "$T/cobol.out" 2>&1 && grep -q "TRAILER OK 0000016" "$T/cobol.out" ||
        fail "$tag cobol" "$(tail -5 "$T/cobol.out")"
}

# ---- killed on node a, finished by node b ----------------------------------
n=0
for p in $POINTS; do
    n=$((n+1)); w=$T/$n
    trial $n
    FERRY_CRASH_AT=$p fy "$w/a" batch claims-nightly --date $DATE >"$T/crash.out" 2>&1; crc=$?
    [ $crc = 137 ] || fail "$p crash" "node a's batch exit $crc, wanted SIGKILL (137): $(tail -5 "$T/crash.out")"
    ino1=$(stat -c %i "$w/remote/$NAME" 2>/dev/null || echo none)
    unlocked ferry_$n
    fy "$w/b" batch claims-nightly --date $DATE >"$T/b.out" 2>&1; rc=$?
    [ $rc = 0 ] || fail "$p finish" "node b's batch exit $rc: $(tail -8 "$T/b.out")"
    case $p in
    batch-bind-before-commit) ;;
    *)  grep -q "finishing a batch an earlier run left" "$T/b.out" ||
            fail "$p finish" "b did not finish a's batch: $(cat "$T/b.out")" ;;
    esac
    case $p in
    sftp-after-rename|batch-after-transfer|batch-sent-before-commit)
        [ "$ino1" != none ] && [ "$(stat -c %i "$w/remote/$NAME")" = "$ino1" ] &&
            grep -q "not uploaded: already present" "$T/b.out" ||
            fail "$p once" "the file a had handed over was sent again: $(grep 'sent to' "$T/b.out")" ;;
    *)  ! grep -q "already present" "$T/b.out" || fail "$p once" "already present before a sent it" ;;
    esac
    one_file "$p" "$w" $n
    fy "$w/a" batch claims-nightly --date $DATE >"$T/a2.out" 2>&1; rc=$?
    [ $rc = 0 ] && grep -q "nothing queued" "$T/a2.out" && [ "$(ls -A "$w/remote" | wc -l)" = 1 ] ||
        fail "$p again" "rc=$rc $(cat "$T/a2.out")"
    ok "killed at $p on node a, finished by node b: one $NAME over SFTP, sent once (ledger and sshd agree, SHA-256 $(jq -r '.batches[0].sha256' "$T/b.json" | cut -c1-12)...), GnuCOBOL reads 16 records; a rerun on a sends nothing"
done

# ---- the batch lock across nodes: a paused holding it ----------------------
n=$((n+1)); w=$T/$n
trial $n
# node a's twin whose transport hangs: the batch asks the transport first
# (5 s, then "cannot be reached now"), binds and writes the file, then
# hangs 5 s in the hand-over: it is paused there
node "$w/h" ferry_$n "$w/remote" "$HANG_PORT"
sed -i 's|connect-timeout="30s" timeout="30s"|connect-timeout="5s" timeout="5s"|' "$w/h/ferry.xml"
(exec "$FERRY_BIN" batch claims-nightly --date $DATE --config "$w/h/ferry.xml") >"$T/h.out" 2>&1 &
hpid=$!
for _ in $(seq 600); do
    [ "$(q ferry_$n "SELECT count(*) FROM batches WHERE state = 'written'")" = 1 ] && break
    kill -0 $hpid 2>/dev/null || fail "batch lock" "node a's run ended: $(tail -5 "$T/h.out")"
    sleep 0.1
done
[ "$(q ferry_$n "SELECT count(*) FROM batches WHERE state = 'written'")" = 1 ] ||
    fail "batch lock" "node a wrote no batch in 60 s"
held ferry_$n $hpid batch-claims-mainframe
pause $hpid
before=$(q ferry_$n "SELECT id, state, sha256, record_count FROM batches")
fy "$w/b" batch claims-nightly --date $DATE >"$T/b.out" 2>"$T/b.err"; rc=$?
after=$(q ferry_$n "SELECT id, state, sha256, record_count FROM batches")
[ $rc = 75 ] && grep -q "the night batch of claims-mainframe is already running on another node" "$T/b.err" &&
    [ "$before" = "$after" ] && [ -z "$(ls -A "$w/remote")" ] && [ -z "$(ls -A "$w/b/spool/outbound/claims-mainframe" 2>/dev/null)" ] ||
    fail "batch lock" "rc=$rc before=[$before] after=[$after] $(cat "$T/b.out" "$T/b.err")"
ok "node a (paused with SIGSTOP) holds the batch lock: node b's ferry batch says it runs on another node, exit 75, nothing built or sent"
kill -KILL $hpid; wait $hpid 2>/dev/null
unlocked ferry_$n
asha=$(q ferry_$n "SELECT sha256 FROM batches")
fy "$w/b" batch claims-nightly --date $DATE >"$T/b.out" 2>&1; rc=$?
[ $rc = 0 ] && grep -q "finishing a batch an earlier run left" "$T/b.out" ||
    fail "batch after the holder died" "rc=$rc $(cat "$T/b.out")"
one_file "written by a, hung and killed" "$w" $n
[ "$(sha256sum "$w/remote/$NAME" | cut -d' ' -f1)" = "$asha" ] ||
    fail "same bytes" "node a wrote $asha, node b sent another file"
ok "node a killed holding its written batch: node b rebuilds the same bytes (a's SHA-256) and sends them once"

# ---- reconcile across nodes ---------------------------------------------
ack=$w/remote-acks/CLMACK.D261127.S001
CLMFILE=$w/remote/$NAME ACKFILE=$w/remote-acks/.ack.tmp REJECTNINO=XX000000X \
    REJECTOVER=999999999 CASEBASE=500000000 "$T/MAINFRAME" >"$T/mf.out" 2>&1 || fail mainframe "$(cat "$T/mf.out")"
mv "$w/remote-acks/.ack.tmp" "$ack"
(exec "$FERRY_BIN" reconcile claims-mainframe --config "$w/h/ferry.xml") >"$T/h.out" 2>&1 &
hpid=$!
held ferry_$n $hpid reconcile-claims-mainframe
pause $hpid
fy "$w/b" reconcile claims-mainframe >"$T/b.out" 2>"$T/b.err"; rc=$?
[ $rc = 75 ] && grep -q "the reconcile of claims-mainframe is already running on another node" "$T/b.err" &&
    [ "$(q ferry_$n "SELECT count(*) FROM ack_files")" = 0 ] &&
    [ "$(q ferry_$n "SELECT count(*) FROM records WHERE state = 'sent'")" = 16 ] ||
    fail "reconcile lock" "rc=$rc acks=$(q ferry_$n "SELECT count(*) FROM ack_files") $(cat "$T/b.out" "$T/b.err")"
ok "node a (paused) holds the reconcile lock: node b's ferry reconcile says it runs on another node, exit 75, nothing applied"
kill -KILL $hpid; wait $hpid 2>/dev/null
unlocked ferry_$n
fy "$w/a" reconcile claims-mainframe >"$T/a.out" 2>"$T/a.err" & apid=$!
fy "$w/b" reconcile claims-mainframe >"$T/b.out" 2>"$T/b.err" & bpid=$!
wait $apid; arc=$?
wait $bpid; brc=$?
applied=$(cat "$T/a.out" "$T/b.out" | grep -c "CLMACK.D261127.S001: applied")
others=$(cat "$T/a.out" "$T/b.out" "$T/a.err" "$T/b.err" | grep -c "already applied\|already running on another node")
[ "$applied" = 1 ] && [ "$others" -ge 1 ] &&
    { [ "$arc/$brc" = 0/0 ] || [ "$arc/$brc" = 0/75 ] || [ "$arc/$brc" = 75/0 ]; } &&
    [ "$(q ferry_$n "SELECT count(*) FROM ack_files")" = 1 ] &&
    [ "$(q ferry_$n "SELECT count(*) FROM records WHERE state = 'confirmed'")" = 16 ] ||
    fail "reconcile at once" "exits $arc/$brc applied=$applied $(cat "$T/a.out" "$T/a.err" "$T/b.out" "$T/b.err")"
ok "both nodes reconcile one ack file at once: applied once (exits $arc/$brc), one ack_files row, 16 confirmed"
fy "$w/b" reconcile claims-mainframe >"$T/b.out" 2>&1; rc=$?
[ $rc = 0 ] && grep -q "already applied" "$T/b.out" ||
    fail "reconcile again" "rc=$rc $(cat "$T/b.out")"
ok "a later reconcile on b skips the file (already applied)"
echo "$CASES cases passed"
