#!/bin/bash
# 82_cluster_kill.sh - three `ferry serve` nodes on one PostgreSQL spool,
# one node SIGKILLed mid-delivery, trial after trial (issue 18's first
# "proven against a real PostgreSQL").
#
# One PostgreSQL 15 (tests/peers/pg.sh) holds the ledger of three nodes,
# each with its own config and spool folder, all with the same connection
# string, spool key (so the same search key beside it), audit key and
# front-end secret.  Every submission is one record with two deliveries:
# the real SOAP peer (tests/peers/soap.sh, ClaimStatus as the in-doubt
# probe) and a PostgreSQL table through psqlODBC (a marker
# table; the table itself has no unique key, so a second insert would
# show).  Each target's lease is 3 s (the SOAP timeout 2 s).
#
# A trial: the SOAP peer is stopped (SIGSTOP) and the ODBC table locked
# (a psql session) so calls and inserts hang in flight; intake over HTTP
# on every live node until the victim holds claims (read from the
# ledger: lease_owner HOST:PID:N); SIGKILL it with two submissions to it
# in flight, SIGCONT the peer, unlock the table, more intake on the other
# two; the victim is started again at once, or (one trial in three) at
# the start of the next trial; the last one stays dead until the other
# two have settled its claims.  At the end:
# - nothing lost: every submission answered 202 (those whose answer the
#   kill cut off are sent again: 200 duplicate with their first
#   reference when they had committed, else 202) has both deliveries in the ledger, each delivered
#   or counted in doubt;
# - nothing doubled: the SOAP peer's log and the ODBC table hold each
#   delivery identity at most once, except deliveries ferry itself marked
#   in doubt and resent by policy (counted; any second copy must be one);
# - every claim a dead node held came back after its lease (an `expired`
#   attempt naming that node's process) and was settled by a live process
#   (another node, or the victim's new one); the last victim's claims
#   while it is still dead, by the other two;
# - the keyed audit chain verifies; the nodes stop cleanly on SIGTERM.
# FERRY_CLUSTER_TRIALS sets the number of trials (default 30: 50-75 s on
# the shared two-core machine); KEEP=1 keeps the work folder.
set -u
export LC_ALL=C
. "$(dirname "$0")/lib.sh"
. "$FERRY_ROOT/tests/peers/pg.sh"
. "$FERRY_ROOT/tests/peers/soap.sh"
DRIVE=${FERRY_BUILD:?}/tests/helpers/http_drive
TRIALS=${FERRY_CLUSTER_TRIALS:-30}
pg_have || { echo "skip: $PG_MISSING"; exit 77; }
command -v jq >/dev/null || { echo "skip: jq not installed"; exit 77; }
command -v curl >/dev/null || { echo "skip: curl not installed"; exit 77; }
[ -x "$DRIVE" ] || fail setup "no $DRIVE"
soap_have "$T" || { echo "skip: $SOAP_MISSING"; exit 77; }
NODES=(a b c)
declare -A PID PORT
cleanup() {
    set +e
    for n in "${NODES[@]}"; do
        [ -n "${PID[$n]:-}" ] && { kill -9 "${PID[$n]}"; wait "${PID[$n]}"; } 2>/dev/null
    done
    soap_stop
    [ -n "${LOCKER_PID:-}" ] && { kill "$LOCKER_PID"; wait "$LOCKER_PID"; } 2>/dev/null
    [ -n "${PG_DIR:-}" ] && pg_cleanup
    [ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
[ -n "${KEEP:-}" ] && echo "work folder $T"
START=$(date +%s)

chmod 0755 "$T"
pg_start "$T" cluster || { cat "$PG_DIR/log" 2>/dev/null; fail setup "postgres did not start"; }
pg_odbc_env "$T"
psql_q "CREATE DATABASE ferry_cluster" > /dev/null
# the ODBC target's table: no unique key, so a doubled insert would stay
psql_q "CREATE TABLE claims (delivery_id VARCHAR(36) NOT NULL, ref VARCHAR(30) NOT NULL,
    id VARCHAR(30) NOT NULL, amount NUMERIC(9,2) NOT NULL)" > /dev/null
led() { psql -X -q -A -t -F ' ' -h 127.0.0.1 -p "$PGPORT" -U ferry ferry_cluster -c "$1"; }

SLOG=$T/soap-requests.log
: > "$SLOG"
soap_start "$T" --log "$SLOG" || fail setup "SOAP server did not start"

# shared secrets: one spool key (search.key is made beside it), one audit
# key, one front-end secret, one connection string
S=$T/secrets
mkdir -p "$S"
for k in spool audit frontend; do
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$S/$k.key"
done
printf 'host=127.0.0.1 port=%s user=ferry dbname=ferry_cluster\n' "$PGPORT" > "$S/ledger.conn"
chmod 600 "$S"/*
cat > "$T/map.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<mapping xmlns="urn:ferry:mapping:1" service="claim">
  <accept idempotency-field="id">
    <field name="id" path="id" type="string" required="true"/>
    <field name="amount" path="amount" type="decimal" scale="2" required="true"/>
  </accept>
  <target name="claims-ws" operation="SubmitClaim" namespace="urn:ferry:test:claims"
          prefix="c" ns-r="urn:ferry:test:claims"
          receipt-xpath="/soap:Envelope/soap:Body/r:SubmitClaimResponse/r:Receipt"
          status-operation="ClaimStatus"
          status-xpath="//r:ClaimStatusResponse/r:Status"
          status-found-value="FOUND"
          status-receipt-xpath="//r:ClaimStatusResponse/r:Receipt">
    <map to="Reference" from="$reference"/>
    <map to="Amount" from="amount"/>
  </target>
  <target name="claims-db" table="claims">
    <map to="delivery_id" from="$delivery-id"/>
    <map to="ref" from="$reference"/>
    <map to="id" from="id"/>
    <map to="amount" from="amount"/>
  </target>
</mapping>
XML
for n in "${NODES[@]}"; do
    mkdir -p "$T/$n"
    cat > "$T/$n/ferry.xml" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<ferry xmlns="urn:ferry:config:1">
  <spool dir="$T/$n/spool" backend="postgresql" connection-file="$S/ledger.conn"
         key-file="$S/spool.key" audit-key-file="$S/audit.key"/>
  <log format="logfmt" level="info"/>
  <intake listen="127.0.0.1:0" token-window="30s"/>
  <client id="fe" secret-file="$S/frontend.key"><service>claim</service></client>
  <target name="claims-ws" type="soap" endpoint="http://127.0.0.1:$SOAP_PORT/claims"
          timeout="2s" concurrency="2" lease="3s">
    <retry initial="200ms" factor="2" max-delay="1s" jitter="0%" max-attempts="20" max-age="1d"/>
  </target>
  <target name="claims-db" type="odbc" connection-file="env:FERRY_ODBC_CONN"
          batch-size="4" concurrency="2" lease="3s" marker-table="ferry_marker" create-marker="true">
    <retry initial="200ms" factor="2" max-delay="1s" jitter="0%" max-attempts="20" max-age="1d"/>
  </target>
  <service name="claim" mapping="$T/map.xml" target="claims-ws claims-db"/>
</ferry>
XML
done
"$FERRY_BIN" check --config "$T/a/ferry.xml" > "$T/check.out" 2>&1 || fail check "$(cat "$T/check.out")"

# start N - start node N's daemon; sets PID[N], PORT[N]
start() {
    local n=$1 port="" from
    touch "$T/$n.log"; from=$(wc -l < "$T/$n.log")
    "$FERRY_BIN" serve --config "$T/$n/ferry.xml" --listen 127.0.0.1:0 2>> "$T/$n.log" &
    PID[$n]=$!
    for _ in $(seq 300); do
        port=$(tail -n +$((from + 1)) "$T/$n.log" |
            sed -n 's/.*event=listening addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' | tail -1)
        [ -n "$port" ] && break
        kill -0 "${PID[$n]}" 2>/dev/null || fail "start $n" "daemon exited: $(tail -5 "$T/$n.log")"
        sleep 0.1
    done
    [ -n "$port" ] || fail "start $n" "no listening line: $(tail -5 "$T/$n.log")"
    PORT[$n]=$port
}
# kill9 N - SIGKILL node N and reap it
kill9() { kill -9 "${PID[$1]}"; wait "${PID[$1]}" 2>/dev/null; PID[$1]=""; }
TOKEN=""; TOKEN_AT=0
token() {
    if [ $(( $(date +%s) - TOKEN_AT )) -ge 10 ]; then
        TOKEN=$("$DRIVE" token "$S/frontend.key" fe 0 HS256); TOKEN_AT=$(date +%s)
    fi
}
# post N ID - one submission to node N; "ID STATUS REFERENCE" to subs.txt
post() {
    local code ref
    token
    code=$(curl -s -o "$T/body.$2" -w '%{http_code}' --max-time 10 -X POST \
        -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
        --data-binary "{\"id\":\"$2\",\"amount\":\"1.00\"}" \
        "http://127.0.0.1:${PORT[$1]}/v1/services/claim/submissions" 2>/dev/null)
    ref=$(jq -r '.reference // "-"' "$T/body.$2" 2>/dev/null)
    rm -f "$T/body.$2"
    echo "$2 ${code:-000} ${ref:--}" >> "$T/subs.txt"
}
# table_lock / table_unlock - a psql session (a coprocess) holds the ODBC
# target's table locked (ACCESS EXCLUSIVE) between the two, so every
# node's INSERT waits in its transaction
coproc LOCKER { psql -X -q -A -t -h 127.0.0.1 -p "$PGPORT" -U ferry postgres 2>&1; }
table_lock() {
    local line
    echo "BEGIN; LOCK TABLE claims IN ACCESS EXCLUSIVE MODE; SELECT 'locked';" >&"${LOCKER[1]}"
    read -r -t 10 line <&"${LOCKER[0]}"
    [ "$line" = locked ] || fail lock "the ODBC table was not locked: $line"
}
table_unlock() { echo "COMMIT;" >&"${LOCKER[1]}"; }
alive() { local n; for n in "${NODES[@]}"; do [ -n "${PID[$n]}" ] && echo "$n"; done; }
# held N - the deliveries node N's process holds, "REF TARGET OWNER" lines
held() {
    led "SELECT ref, target, lease_owner FROM records WHERE state = 'delivering'
         AND lease_owner LIKE '%:${PID[$1]}:%'"
}
: > "$T/subs.txt"; : > "$T/dead-claims.txt"

start a   # first alone: it builds the schema and the search key
for n in b c; do start "$n"; done
ok "three nodes up on one PostgreSQL spool (ports ${PORT[a]} ${PORT[b]} ${PORT[c]})"

SEQ=0
MID=0
LEFT_DEAD=""
for t in $(seq 1 "$TRIALS"); do
    if [ -n "$LEFT_DEAD" ]; then start "$LEFT_DEAD"; LEFT_DEAD=""; fi
    live=($(alive))
    v=${live[$((t % ${#live[@]}))]}
    # the SOAP peer stopped (SIGSTOP) and the ODBC table locked: calls
    # and inserts hang in flight, so claims stay held; intake on every
    # node until the victim holds some
    kill -STOP "$SOAP_PID"
    table_lock
    got=""
    for _ in $(seq 40); do
        for n in "${NODES[@]}"; do SEQ=$((SEQ + 1)); post "$n" "$(printf 'K%02d-%05d' "$t" "$SEQ")"; done
        got=$(held "$v")
        [ -n "$got" ] && break
    done
    [ -n "$got" ] || fail "trial $t" "node $v never held a claim"
    vpid=${PID[$v]}
    # two submissions to the victim in flight as it dies
    ida=$(printf 'K%02d-%05d' "$t" $((SEQ + 1))); idb=$(printf 'K%02d-%05d' "$t" $((SEQ + 2)))
    SEQ=$((SEQ + 2))
    ( post "$v" "$ida" & post "$v" "$idb"; wait ) & inflight=$!
    sleep "0.0$((t % 8))"   # 0-70 ms: before, while and after they land
    kill9 "$v"
    wait "$inflight"
    # what it held when it died (nothing can change them but a lease expiry)
    held_now=$(led "SELECT ref, target, lease_owner FROM records WHERE state = 'delivering'
                    AND lease_owner LIKE '%:$vpid:%'")
    kill -CONT "$SOAP_PID"
    table_unlock
    if [ -n "$held_now" ]; then
        MID=$((MID + 1))
        echo "$held_now" | sed "s/^/$t /" >> "$T/dead-claims.txt"
    fi
    # intake goes on on the other two
    for i in 1 2 3; do
        for n in $(alive); do SEQ=$((SEQ + 1)); post "$n" "$(printf 'K%02d-%05d' "$t" "$SEQ")"; done
    done
    if [ $((t % 3)) = 0 ] || [ "$t" = "$TRIALS" ]; then LEFT_DEAD=$v; else start "$v"; fi
done
NDEAD=$(wc -l < "$T/dead-claims.txt")
NDEAD_WS=$(awk '$3 == "claims-ws"' "$T/dead-claims.txt" | wc -l)
NDEAD_DB=$(awk '$3 == "claims-db"' "$T/dead-claims.txt" | wc -l)
# a victim seen holding claims may settle them in the instant before the
# kill lands; most trials must still kill it holding some
[ $((MID * 3)) -ge $((TRIALS * 2)) ] || fail trials "only $MID of $TRIALS victims died holding claims"
# which target's claims a victim holds at the kill is timing (a quiet
# machine settles one target's first): the run must catch dead claims,
# and says how many of each target it caught
[ "$NDEAD" -gt 0 ] || fail trials "no victim died holding a claim"
ok "$TRIALS trials: $MID victims SIGKILLed holding claims ($NDEAD deliveries held by dead nodes: $NDEAD_WS SOAP, $NDEAD_DB ODBC), intake going on on the others"

# the last victim stays dead: the other two must deliver its claims after
# the lease, then everything else
drained() {
    [ "$(led "SELECT count(*) FROM records WHERE state IN ('queued','deferred','delivering')")" = 0 ]
}
awk -v t="$TRIALS" '$1 == t' "$T/dead-claims.txt" > "$T/last.txt"
for _ in $(seq 600); do drained && break; sleep 0.2; done
drained || fail drain "left: $(led "SELECT state, target, count(*) FROM records GROUP BY 1, 2")"
while read -r _ ref tgt _; do
    st=$(led "SELECT state FROM records WHERE ref = '$ref' AND target = '$tgt'")
    [ "$st" = delivered ] || [ "$st" = confirmed ] || [ "$st" = indoubt ] ||
        fail "last victim" "$ref $tgt is $st with its node still dead"
done < "$T/last.txt"
ok "the last victim's $(wc -l < "$T/last.txt") claims taken back after the lease and settled by the other two while it stayed dead"
start "$LEFT_DEAD"

# answers the kill cut off: the same submission again gets its first
# reference (200 duplicate) or, if it never committed, a new one (202)
cut=$(awk '$2 != 202' "$T/subs.txt" | wc -l)
awk '$2 == 202 {print $1, $3}' "$T/subs.txt" > "$T/accepted.txt"
awk '$2 != 202 {print $1}' "$T/subs.txt" > "$T/cut.txt"
while read -r id; do post b "$id"; done < "$T/cut.txt"
NCUT_DUP=$(tail -n "$cut" "$T/subs.txt" | awk '$2 == 200' | wc -l)
tail -n "$cut" "$T/subs.txt" | awk '$2 != 200 && $2 != 202 {exit 1}' ||
    fail resend "a resent submission was refused: $(tail -n "$cut" "$T/subs.txt" | awk '$2 != 200 && $2 != 202' | head -3)"
tail -n "$cut" "$T/subs.txt" | awk '{print $1, $3}' >> "$T/accepted.txt"
for _ in $(seq 300); do drained && break; sleep 0.2; done
drained || fail drain "left after the resends: $(led "SELECT state, target, count(*) FROM records GROUP BY 1, 2")"
N=$(wc -l < "$T/accepted.txt")
[ "$(cut -d' ' -f1 "$T/accepted.txt" | sort -u | wc -l)" = "$N" ] || fail accepted "a submission answered twice"
[ "$(cut -d' ' -f2 "$T/accepted.txt" | sort -u | wc -l)" = "$N" ] ||
    fail accepted "two submissions share a reference: $(cut -d' ' -f2 "$T/accepted.txt" | sort | uniq -d | head -3)"
ok "$N submissions accepted across the nodes, one reference each ($cut answers cut off by a kill, sent again: $NCUT_DUP already in, answered 200 duplicate with their reference)"

# ---- nothing lost ------------------------------------------------------
led "SELECT ref, target, state, delivery_id FROM records ORDER BY ref, target" > "$T/ledger.txt"
[ "$(wc -l < "$T/ledger.txt")" = $((2 * N)) ] || fail lost "ledger has $(wc -l < "$T/ledger.txt") deliveries, wanted $((2 * N))"
cut -d' ' -f2 "$T/accepted.txt" | sort > "$T/refs.acc"
awk '{print $1}' "$T/ledger.txt" | sort -u > "$T/refs.led"
diff -q "$T/refs.acc" "$T/refs.led" > /dev/null || fail lost "accepted and ledger references differ: $(diff "$T/refs.acc" "$T/refs.led" | head -5)"
NIND=$(awk '$3 == "indoubt"' "$T/ledger.txt" | wc -l)
bad=$(awk '$3 != "delivered" && $3 != "confirmed" && $3 != "indoubt"' "$T/ledger.txt")
[ -z "$bad" ] || fail lost "deliveries not settled: $(echo "$bad" | head -3)"
ok "nothing lost: every accepted reference has both deliveries in the ledger, $((2 * N - NIND)) delivered, $NIND in doubt"

# ---- every in-doubt record counted; nothing doubled -------------------
# deliveries ferry itself marked in doubt: taken back after a lease ran
# out (an `expired` attempt), or a call of unknown outcome (`indoubt`)
led "SELECT DISTINCT r.ref, r.target FROM records r JOIN attempts a ON a.record_id = r.id
     WHERE a.outcome IN ('expired', 'indoubt')" | sort > "$T/expired.txt"
NEXP=$(led "SELECT count(DISTINCT record_id) FROM attempts WHERE outcome = 'expired'")
NUNK=$(led "SELECT count(DISTINCT record_id) FROM attempts WHERE outcome = 'indoubt'")
# kept for a reader (KEEP=1): every attempt of those deliveries
led "SELECT r.ref, r.target, r.state, a.outcome, a.started_at, a.message FROM records r
     JOIN attempts a ON a.record_id = r.id WHERE r.id IN (SELECT record_id FROM attempts
     WHERE outcome IN ('expired', 'indoubt')) ORDER BY r.id, a.id" > "$T/expired-attempts.txt"
# SOAP: the peer's log holds the reference of every SubmitClaim it got
# (the probe, ClaimStatus, is not logged); each delivered one once
sort "$SLOG" | uniq -c | awk '{print $2, $1}' > "$T/soap.count"
awk '$2 == "claims-ws" {print $1, $3}' "$T/ledger.txt" | sort > "$T/ws.byref"   # REF STATE
join -a1 -e 0 -o 1.1,1.2,2.2 "$T/ws.byref" "$T/soap.count" > "$T/ws.calls"   # REF STATE CALLS
awk '$2 == "delivered" && $3 == 0' "$T/ws.calls" | head -3 | grep . && fail soap "delivered but never called"
SOAP_RESENT=0
while read -r ref st calls; do
    grep -q "^$ref claims-ws$" "$T/expired.txt" || fail doubled "the SOAP peer got $ref $calls times, never marked in doubt"
    SOAP_RESENT=$((SOAP_RESENT + calls - 1))
done < <(awk '$3 > 1' "$T/ws.calls")
extra=$(cut -d' ' -f1 "$T/soap.count" | join -v1 - "$T/ws.byref")
[ -z "$extra" ] || fail soap "the peer got references no record has: $(echo "$extra" | head -3)"
# ODBC: the table's rows per delivery identity
psql_q "SELECT delivery_id, count(*) FROM claims GROUP BY 1" | tr '|' ' ' | sort > "$T/db.count"
awk '$2 == "claims-db" {print $4, $1, $3}' "$T/ledger.txt" | sort > "$T/db.byid"  # DID REF STATE
join -a1 -e 0 -o 1.1,1.2,1.3,2.2 "$T/db.byid" "$T/db.count" > "$T/db.rows"
while read -r did ref st rows; do
    grep -q "^$ref claims-db$" "$T/expired.txt" || fail doubled "$ref has $rows rows in the ODBC table, never marked in doubt"
done < <(awk '$4 > 1' "$T/db.rows")
DB_RESENT=$(awk '$4 > 1 {s += $4 - 1} END {print s + 0}' "$T/db.rows")
[ "$(awk '$4 == 0 && $3 == "delivered"' "$T/db.rows" | wc -l)" = 0 ] || fail lost "a delivered ODBC delivery has no row"
[ "$(wc -l < "$T/db.count")" -le "$N" ] || fail doubled "rows for delivery identities no record has"
ok "nothing doubled: the SOAP peer and the ODBC table hold each delivery once, except resends of deliveries ferry marked in doubt ($SOAP_RESENT SOAP, $DB_RESENT ODBC)"
ok "in doubt counted: $NEXP deliveries taken back after a lease ran out, $NUNK calls of unknown outcome, $NIND left in doubt for a person, $((SOAP_RESENT + DB_RESENT)) resent by policy"

# ---- the dead nodes' claims, after the lease ---------------------------
NOK=0
while read -r t ref tgt owner; do
    msg=$(led "SELECT count(*) FROM records r JOIN attempts a ON a.record_id = r.id
               WHERE r.ref = '$ref' AND r.target = '$tgt' AND a.outcome = 'expired'
               AND a.message LIKE '%$owner%'")
    [ "$msg" -ge 1 ] || fail "dead claims" "trial $t: $ref $tgt held by $owner has no expired attempt naming it"
    NOK=$((NOK + 1))
done < "$T/dead-claims.txt"
ok "each of the $NOK deliveries a dead node held came back after its lease (an expired attempt naming that process) and was settled by a live one"

"$FERRY_BIN" audit verify --config "$T/c/ferry.xml" > "$T/verify.out" 2>&1 || fail audit "$(tail -3 "$T/verify.out")"
ok "audit chain verifies after $TRIALS kills (keyed, one chain across the three nodes)"

# the three stop cleanly (SIGTERM: exit 0), and no sanitizer report in
# any node's log, the killed processes' included
for n in "${NODES[@]}"; do
    kill -TERM "${PID[$n]}"
    rc=0; wait "${PID[$n]}" || rc=$?
    PID[$n]=""
    [ "$rc" = 0 ] || fail stop "node $n exit $rc: $(tail -3 "$T/$n.log")"
done
grep -l "Sanitizer\|runtime error:" "$T"/[abc].log && fail sanitizer "$(grep -h -A5 "Sanitizer\|runtime error:" "$T"/[abc].log | head -20)"
ok "the three nodes stop on SIGTERM (exit 0); no sanitizer report in their logs"
echo "trials=$TRIALS submissions=$N seconds=$(( $(date +%s) - START ))"
echo "$CASES cases passed"
