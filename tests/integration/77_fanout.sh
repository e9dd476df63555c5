#!/bin/bash
# 77_fanout.sh - one service, two systems: the example's refund-claim
# delivers to the fixed-width batch target claims-mainframe (local drop
# folder, read back by the GnuCOBOL program of 41_batch_local.sh) AND to the
# stream target claims-ws (the real SOAP peer, tests/peers/soap/server.js).
#
# Each submission is one record with two deliveries: every delivery
# happens exactly once (the peer's log, the COBOL read of the file);
# show / queue / retry / hold / settle act per target and refuse to guess;
# a duplicate submission creates nothing; `ferry check` names a wrong or
# repeated target.  Crashes (SIGKILL, FERRY_CRASH_AT, test build): after
# the stream deliveries commit and before the batch binds; mid-batch after
# the stream deliveries; around the intake commit.  After each restart
# nothing is lost and nothing doubled.
set -u
. "$(dirname "$0")/lib.sh"
. "$FERRY_ROOT/tests/peers/soap.sh"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
trap 'soap_stop; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
command -v cobc >/dev/null || { echo "skip: cobc (gnucobol) not installed"; exit 77; }
command -v jq >/dev/null || { echo "skip: jq not installed"; exit 77; }
soap_have "$T" || { echo "skip: $SOAP_MISSING"; exit 77; }
DATE=2026-11-27
EXP=$FERRY_ROOT/tests/data/batch/refund-claim/expected-cobol.txt
LOG=$T/requests.log
: > "$LOG"
soap_start "$T" --log "$LOG" || fail setup "SOAP server did not start"
EP=http://127.0.0.1:$SOAP_PORT/claims

# setup NAME [TARGETS] - the example department in $T/NAME (ASCII, so
# GnuCOBOL reads it), refund-claim delivering to both targets
setup() {
    C=$T/$1
    mkdir -p "$C/drop"
    cp -r "$FERRY_ROOT/examples/." "$C/"
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$C/secrets/frontend.key"
    chmod 600 "$C/secrets/frontend.key"
    # change-of-address's database is not used here; its secret must exist
    echo "Driver=SQLite3;Database=$C/legacy.db" > "$C/secrets/customer-db.conn"
    chmod 600 "$C/secrets/customer-db.conn"
    sed -i "s|<spool dir=\"[^\"]*\"|<spool dir=\"$C/spool\"|; s|dir=\"../var/mainframe-drop\"|dir=\"$C/drop\"|; s|ack-dir=\"[^\"]*\"|ack-dir=\"$C/acks\"|" "$C/ferry.xml"
    sed -i "s|encoding=\"IBM-285\"|encoding=\"ascii\"|" "$C/mappings/refund-claim.xml"
    # the second system: a SOAP target, and the service names both
    sed -i "s|  <service name=\"refund-claim\"|  <target name=\"claims-ws\" type=\"soap\" endpoint=\"$EP\" timeout=\"2s\" concurrency=\"4\">\n    <retry initial=\"1s\" factor=\"2\" max-delay=\"1s\" jitter=\"0%\" max-attempts=\"3\" max-age=\"1d\"/>\n  </target>\n\n  <service name=\"refund-claim\"|" "$C/ferry.xml"
    sed -i "s|target=\"claims-mainframe\">|target=\"${2:-claims-mainframe claims-ws}\">|" "$C/ferry.xml"
    sed -i "/^<\/mapping>/e cat $FERRY_ROOT/tests/data/fanout/claims-ws-section.xml" "$C/mappings/refund-claim.xml"
    : > "$LOG"
}
fy() { "$FERRY_BIN" "$1" --config "$C/ferry.xml" "${@:2}"; }
ndeliv() { fy queue --json ${1:+--target "$1"} 2>/dev/null | jq '.count'; }
nstate() { fy queue --json --target "$1" --state "$2" 2>/dev/null | jq '.count'; }
refs() { fy queue --json --target claims-ws 2>/dev/null | jq -r '.records[].reference' | sort; }
# peer_once - every reference the peer was sent, once each; prints the count
peer_once() {
    [ "$(sort "$LOG" | uniq -d | wc -l)" = 0 ] || fail "$1" "the peer got $(sort "$LOG" | uniq -d | head -3) twice"
    wc -l < "$LOG"
}
cobc -x -I "$FERRY_ROOT/examples/copybooks" -o "$T/READCLM" \
    "$FERRY_ROOT/tests/cobol/READCLM.cbl" 2>"$T/cobc.err" || fail cobc "$(cat "$T/cobc.err")"
# cobol_reads NAME - the one file in the drop folder is what the COBOL
# program expects: the 8 claims, each once, trailer and totals agreeing
cobol_reads() {
    local files
    files=$(ls "$C/drop")
    [ "$(echo "$files" | wc -l)" = 1 ] || fail "$1" "drop folder holds: $files"
    CLMFILE=$C/drop/$files "$T/READCLM" > "$C/cobol.out" || fail "$1" "READCLM exit $?"
    sed 's/FRY-[0-9]\{8\}-/FRY-DATE-/; s/ *$//' "$C/cobol.out" > "$C/cobol.norm"
    diff -u "$EXP" "$C/cobol.norm" > "$C/cobol.diff" || fail "$1" "$(cat "$C/cobol.diff")"
}

# --- 1. ferry check: each name exists, a mapping section each, no name twice
setup check
fy check > "$C/out" 2>&1 || fail check "$(cat "$C/out")"
grep -q "service refund-claim.*-> target claims-mainframe,claims-ws" "$C/out" || fail check "$(cat "$C/out")"
sed -i 's|target="claims-mainframe claims-ws"|target="claims-mainframe claims-wz"|' "$C/ferry.xml"
fy check > "$C/out" 2>&1 && fail check "an unknown second target passed"
grep -q "unknown target 'claims-wz'; did you mean 'claims-ws'?" "$C/out" || fail check "$(cat "$C/out")"
sed -i 's|target="claims-mainframe claims-wz"|target="claims-mainframe claims-mainframe"|' "$C/ferry.xml"
fy check > "$C/out" 2>&1 && fail check "a target named twice passed"
grep -q "target 'claims-mainframe' named twice" "$C/out" || fail check "$(cat "$C/out")"
sed -i 's|target="claims-mainframe claims-mainframe"|target="claims-mainframe customer-db"|' "$C/ferry.xml"
fy check > "$C/out" 2>&1 && fail check "a target without a mapping section passed"
grep -q 'has no <target name="customer-db">' "$C/out" || fail check "$(cat "$C/out")"
ok "check: each target must exist (did you mean), have its mapping section, be named once"

# --- 2. one submission, two deliveries; a duplicate creates nothing -------
setup main
# (the example file also holds refused lines and one repeat: exit 65)
fy submit refund-claim "$C/submissions.ndjson" > "$C/sub1" 2> "$C/sub1.err"
grep -q "8 accepted, 1 duplicate" "$C/sub1.err" || fail submit "$(cat "$C/sub1.err")"
[ "$(ndeliv)" = 16 ] && [ "$(ndeliv claims-ws)" = 8 ] && [ "$(ndeliv claims-mainframe)" = 8 ] ||
    fail submit "deliveries: $(ndeliv) ws $(ndeliv claims-ws) mf $(ndeliv claims-mainframe)"
[ "$(fy queue --json | jq '[.records[].delivery_id] | unique | length')" = 16 ] || fail submit "delivery ids not one each"
fy submit refund-claim "$C/submissions.ndjson" > "$C/sub2" 2>&1
[ "$(cut -f1 "$C/sub1" | sort -u)" = "$(cut -f1 "$C/sub2" | grep '^FRY-' | sort -u)" ] ||
    fail duplicate "other references: $(cat "$C/sub1" "$C/sub2")"
grep -q "0 accepted, 9 duplicate" "$C/sub2" || fail duplicate "$(tail -1 "$C/sub2")"
[ "$(ndeliv)" = 16 ] || fail duplicate "$(ndeliv) deliveries after the same file again"
fy queue > "$C/q" 2>&1
grep -q "TARGET" "$C/q" && [ "$(grep -c ' claims-ws ' "$C/q")" = 8 ] || fail queue "$(cat "$C/q")"
ok "submit: 8 references, 16 deliveries with their own identities; the same file again is 8 duplicates, nothing new"
# a value one target cannot hold refuses the whole submission, naming it
head -1 "$C/submissions.ndjson" | jq -c '.submission_reference = "ADMIT0001" |
    (.answers[] | select(.question_id == 1) | .last_name) = "Jones\nSmith"' > "$C/bad.ndjson"
fy submit refund-claim "$C/bad.ndjson" > "$C/bad.out" 2> "$C/bad.err"; rc=$?
[ "$rc" = 65 ] && grep -q 'cannot be encoded for target claims-mainframe' "$C/bad.err" && [ "$(ndeliv)" = 16 ] ||
    fail admit "rc=$rc $(ndeliv) deliveries $(cat "$C/bad.err")"
ok "a submission the mainframe cannot encode is refused naming that target; nothing stored for either target"

# --- 3. the stream deliveries, then the batch: each exactly once ----------
fy deliver > "$C/d.out" 2> "$C/d.err" || fail deliver "exit $? $(tail -3 "$C/d.err")"
[ "$(nstate claims-ws delivered)" = 8 ] && [ "$(nstate claims-mainframe queued)" = 8 ] ||
    fail deliver "ws delivered $(nstate claims-ws delivered), mf queued $(nstate claims-mainframe queued)"
[ "$(peer_once deliver)" = 8 ] || fail deliver "peer logged $(wc -l < "$LOG")"
fy batch claims-nightly --date $DATE > "$C/b.out" 2>&1 || fail batch "$(cat "$C/b.out")"
cobol_reads batch
[ "$(nstate claims-mainframe sent)" = 8 ] && [ "$(peer_once batch)" = 8 ] || fail batch "mf sent $(nstate claims-mainframe sent)"
ok "deliver then batch: the peer got each claim once, GnuCOBOL reads each once in one file"

# --- 3b. the report counts each submission once, deliveries per target --
fy report --format json > "$C/mi.json" 2> "$C/mi.err" || fail report "$(cat "$C/mi.err")"
jq -e '.conservation.ok' "$C/mi.json" > /dev/null || fail report "conservation: $(jq -c .conservation "$C/mi.json")"
[ "$(jq -c '.services[] | select(.service == "refund-claim") | .period | [.received, .awaiting_confirmation]' "$C/mi.json")" = '[8,8]' ] ||
    fail report "refund-claim: $(jq -c '.services[] | select(.service == "refund-claim") | .period' "$C/mi.json")"
[ "$(jq -c '[.deliveries_by_target[] | select(.service == "refund-claim") | [.target, .deliveries, .awaiting_confirmation]]' "$C/mi.json")" = '[["claims-mainframe",8,8],["claims-ws",8,8]]' ] ||
    fail report "by target: $(jq -c .deliveries_by_target "$C/mi.json")"
fy report > "$C/mi.txt" 2>&1
grep -Eq "^  refund-claim +claims-ws +8" "$C/mi.txt" || fail report "text: $(cat "$C/mi.txt")"
fy report --format csv > "$C/mi.csv" 2>&1 || fail report "csv: $(cat "$C/mi.csv")"
grep -q '^"refund-claim",period,"deliveries\[claims-ws\]",8,count,' "$C/mi.csv" \
    || fail report "csv by target: $(grep deliveries "$C/mi.csv")"
fy spool verify > "$C/v.out" 2>&1 || fail report "verify: $(cat "$C/v.out")"
ok "report: 8 submissions received once each (not 16), 8 deliveries to each target (text, JSON and CSV); conservation and spool verify hold"

# --- 4. show: the record, its overall state, each delivery, the timeline -
R=$(head -1 "$C/sub1" | cut -f1)
fy show --json "$R" > "$C/show.json" 2>&1 || fail show "$(cat "$C/show.json")"
[ "$(jq -r '.state' "$C/show.json")" = "awaiting confirmation" ] || fail show "state $(jq -r .state "$C/show.json")"
[ "$(jq -c '[.deliveries[] | [.target, .state]]' "$C/show.json")" = '[["claims-mainframe","sent"],["claims-ws","delivered"]]' ] ||
    fail show "$(jq -c .deliveries "$C/show.json")"
[ "$(jq -r '.deliveries[1].receipt' "$C/show.json")" = "RCPT-$R" ] || fail show "receipt"
jq -e '[.timeline[] | select(.kind == "attempt") | .target] == ["claims-ws"]' "$C/show.json" >/dev/null &&
    jq -e '[.timeline[] | select(.kind == "batched") | .target] == ["claims-mainframe"]' "$C/show.json" >/dev/null ||
    fail show "timeline targets: $(jq -c .timeline "$C/show.json")"
fy show "$R" > "$C/show.txt" 2>&1
grep -q "state:         awaiting confirmation (overall, from 2 deliveries)" "$C/show.txt" &&
    grep -Eq "^  claims-ws +delivered +attempts 1, receipt RCPT-$R" "$C/show.txt" &&
    grep -Eq "^  claims-mainframe +sent" "$C/show.txt" || fail show "$(cat "$C/show.txt")"
ok "show: overall state, each delivery (target, state, attempts, receipt, id), timeline per target"

# --- 5. retry per target: refused without --target, moves only the named one
fy retry --reason "case system lost it" "$R" > "$C/r.out" 2> "$C/r.err"; rc=$?
[ "$rc" = 65 ] && grep -q "claims-mainframe, claims-ws" "$C/r.err" && grep -q -- "--target" "$C/r.err" ||
    fail retry "rc=$rc $(cat "$C/r.err")"
fy retry --target claims-ws --reason "case system lost it" "$R" > "$C/r.out" 2> "$C/r.err" ||
    fail retry "$(cat "$C/r.err")"
grep -q "$R	claims-ws	delivered -> queued" "$C/r.out" || fail retry "$(cat "$C/r.out")"
[ "$(fy show --json "$R" | jq -c '[.deliveries[].state]')" = '["sent","queued"]' ] || fail retry "$(fy show --json "$R" | jq -c .deliveries)"
fy audit --json "$R" 2>/dev/null | grep -q '"detail": "target claims-ws"' || fail retry "audit: $(fy audit --json "$R")"
fy deliver > "$C/d.out" 2> "$C/d.err" || fail retry "deliver exit $?"
[ "$(grep -c "^$R\$" "$LOG")" = 2 ] && [ "$(wc -l < "$LOG")" = 9 ] || fail retry "peer log $(sort "$LOG" | uniq -c | sort -rn | head -2)"
fy batch claims-nightly --date $DATE > "$C/b.out" 2>&1
grep -q "nothing queued" "$C/b.out" || fail retry "batch after a stream retry: $(cat "$C/b.out")"
ok "retry: refused without --target (lists both), --target claims-ws resends that one only, audited with its target"

# --- 6. hold / release / settle per target on a fresh claim --------------
head -1 "$C/submissions.ndjson" | sed 's/HCR001001X/HCR007001X/' > "$C/one.json"
fy submit refund-claim "$C/one.json" > "$C/s3" 2>&1
R2=$(cut -f1 "$C/s3" | head -1)
fy hold --reason "check" "$R2" > /dev/null 2> "$C/h.err" && fail hold "held without --target"
fy hold --target claims-mainframe --reason "check" "$R2" > /dev/null 2> "$C/h.err" || fail hold "$(cat "$C/h.err")"
fy release --reason "checked" "$R2" > "$C/h.out" 2> "$C/h.err" || fail release "$(cat "$C/h.err")"
grep -q "claims-mainframe	held -> queued" "$C/h.out" || fail release "$(cat "$C/h.out")"
# the case system answers too late: in doubt, then settled by an operator
kill -STOP "$SOAP_PID"
fy deliver > "$C/d.out" 2> "$C/d.err"
kill -CONT "$SOAP_PID"
[ "$(fy show --json "$R2" | jq -c '[.deliveries[].state]')" = '["queued","indoubt"]' ] || fail settle "$(fy show --json "$R2" | jq -c .deliveries)"
[ "$(fy show --json "$R2" | jq -r .state)" = indoubt ] || fail settle "overall $(fy show --json "$R2" | jq -r .state)"
fy settle --target claims-mainframe --delivered --reason "x" "$R2" > /dev/null 2> "$C/st.err" && fail settle "settled a queued delivery"
fy settle --delivered --receipt "RCPT-$R2" --reason "the case system has it" "$R2" > "$C/st.out" 2> "$C/st.err" ||
    fail settle "$(cat "$C/st.err")"
[ "$(fy show --json "$R2" | jq -c '[.deliveries[].state]')" = '["queued","delivered"]' ] || fail settle "$(fy show --json "$R2" | jq -c .deliveries)"
ok "hold/release/settle: per target; the only delivery an action fits needs no --target; in doubt shows as the overall state"

# --- 6b. the console: the deliveries per target, an action names its target
if command -v curl >/dev/null; then
    PW='correct horse battery staple'
    sed -i 's|  <log format|  <console listen="127.0.0.1:0" staff-file="staff" idle-timeout="1m"/>\n  <log format|' "$C/ferry.xml"
    printf '%s\n' "$PW" | fy staff add --actor admin --role supervisor sam > /dev/null 2>&1 || fail console "staff add"
    "$FERRY_BIN" serve --config "$C/ferry.xml" --listen 127.0.0.1:0 --console-listen 127.0.0.1:0 2> "$C/serve.log" &
    SPID=$!
    PORT=
    for _ in $(seq 100); do
        PORT=$(sed -n 's/.*event=console-listening addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$C/serve.log" | tail -1)
        [ -n "$PORT" ] && break
        kill -0 "$SPID" 2>/dev/null || fail console "daemon exited: $(cat "$C/serve.log")"
        sleep 0.1
    done
    [ -n "$PORT" ] || { kill "$SPID"; fail console "no console-listening line"; }
    BASE=http://127.0.0.1:$PORT jar=$C/jar
    csrf=$(curl -s -c "$jar" -b "$jar" "$BASE/login" | grep -o 'name="csrf" value="[0-9a-f]*"' | head -1 | sed 's/.*value="//;s/"//')
    curl -s -o /dev/null -c "$jar" -b "$jar" --data-urlencode "csrf=$csrf" \
        --data-urlencode "name=sam" --data-urlencode "password=$PW" "$BASE/login"
    curl -s -b "$jar" "$BASE/record?ref=$R2" > "$C/rec.html"
    grep -q 'Deliveries</h2>' "$C/rec.html" && grep -q 'Overall: in progress' "$C/rec.html" &&
        grep -q 'Actions: claims-mainframe' "$C/rec.html" && grep -q 'name="target" value="claims-mainframe"' "$C/rec.html" ||
        { kill "$SPID"; fail console "record page: $(grep -o 'Deliveries.\{0,300\}' "$C/rec.html")"; }
    csrf=$(grep -o 'name="csrf" value="[0-9a-f]*"' "$C/rec.html" | head -1 | sed 's/.*value="//;s/"//')
    c=$(curl -s -o "$C/act.html" -w '%{http_code}' -b "$jar" --data-urlencode "csrf=$csrf" \
        --data-urlencode "ref=$R2" --data-urlencode "target=claims-mainframe" --data-urlencode "action=hold" \
        --data-urlencode "reason=citizen asked us to wait" "$BASE/record/action")
    # the HTTP intake: one submission, one reference in the 202, two deliveries
    IPORT=$(sed -n 's/.*event=listening addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$C/serve.log" | head -1)
    DRIVE=${FERRY_BUILD:-}/tests/helpers/http_drive
    hc=skip
    if [ -n "$IPORT" ] && [ -x "$DRIVE" ]; then
        head -1 "$C/submissions.ndjson" | jq -c '.submission_reference = "HCR009001X"' > "$C/http.json"
        hpost() {
            curl -s -o "$C/hbody" -w '%{http_code}' --max-time 20 -X POST \
                -H "Authorization: Bearer $("$DRIVE" token "$C/secrets/frontend.key" heating-refund-frontend 0 HS256)" \
                -H "Content-Type: application/json" "$@" --data-binary @"$C/http.json" \
                "http://127.0.0.1:$IPORT/v1/services/refund-claim/submissions"
        }
        hc=$(hpost)
        HREF=$(jq -r .reference "$C/hbody")
        hc2=$(hpost -H "Idempotency-Key: k-77")
        hc="$hc $hc2 $(jq -r .reference "$C/hbody")/$(jq -r .status "$C/hbody")"
    fi
    kill -TERM "$SPID"; wait "$SPID"
    [ "$c" = 200 ] || fail console "hold: $c"
    if [ "$hc" != skip ]; then
        [ "$hc" = "202 200 $HREF/duplicate" ] || [ "$hc" = "202 202 $HREF/duplicate" ] || fail http "answers: $hc"
        [ "$(fy queue --json | jq --arg r "$HREF" '[.records[] | select(.reference == $r) | .target] | sort == ["claims-mainframe","claims-ws"]')" = true ] ||
            fail http "deliveries of $HREF: $(fy queue --json | jq -c --arg r "$HREF" '[.records[] | select(.reference == $r)]')"
        ok "HTTP intake: 202 with one reference, one delivery per target; the same submission again (new key) is that reference, nothing new"
    fi
    [ "$(fy show --json "$R2" | jq -c '[.deliveries[].state]')" = '["held","delivered"]' ] || fail console "$(fy show --json "$R2" | jq -c .deliveries)"
    fy audit --json "$R2" | jq -e '[.audit[] | select(.actor == "sam" and .detail == "target claims-mainframe")] | length == 1' > /dev/null ||
        fail console "audit: $(fy audit --json "$R2")"
    ok "console: the record page lists each delivery with its own actions; a hold names its target, audited as the staff member"
fi

# --- 7. crash after the stream deliveries commit, before the batch binds --
setup crash1
fy submit refund-claim "$C/submissions.ndjson" > /dev/null 2>&1
FERRY_CRASH_AT="outcome-after-commit" fy deliver > "$C/c.out" 2> "$C/c.err"; rc=$?
[ "$rc" = 137 ] && grep -q 'crash point reached' "$C/c.err" || fail crash1 "deliver exit $rc $(tail -2 "$C/c.err")"
sent_before=$(wc -l < "$LOG")
fy deliver --wait 30s > "$C/d.out" 2> "$C/d.err" || fail crash1 "rerun exit $? $(tail -3 "$C/d.err")"
fy batch claims-nightly --date $DATE > "$C/b.out" 2>&1 || fail crash1 "$(cat "$C/b.out")"
cobol_reads crash1
[ "$(nstate claims-ws delivered)" = 8 ] && [ "$(nstate claims-mainframe sent)" = 8 ] && [ "$(peer_once crash1)" = 8 ] ||
    fail crash1 "ws $(nstate claims-ws delivered) mf $(nstate claims-mainframe sent) peer $(wc -l < "$LOG") (before restart $sent_before)"
ok "SIGKILL after the stream deliveries committed: on restart nothing resent, the batch holds each claim once"

# --- 8. crash mid-batch, after the stream deliveries ----------------------
setup crash2
fy submit refund-claim "$C/submissions.ndjson" > /dev/null 2>&1
fy deliver > /dev/null 2>&1 || fail crash2 "deliver"
for point in batch-bind-after-commit batch-write batch-rename local-after-rename batch-ledger-sent; do
    FERRY_CRASH_AT=$point fy batch claims-nightly --date $DATE > "$C/c.out" 2> "$C/c.err"; rc=$?
    [ "$rc" = 137 ] || fail "crash2 $point" "batch exit $rc $(tail -2 "$C/c.err")"
done
fy batch claims-nightly --date $DATE > "$C/b.out" 2>&1 || fail crash2 "rerun: $(cat "$C/b.out")"
cobol_reads crash2
[ "$(nstate claims-mainframe sent)" = 8 ] && [ "$(nstate claims-ws delivered)" = 8 ] && [ "$(peer_once crash2)" = 8 ] ||
    fail crash2 "mf $(nstate claims-mainframe sent) ws $(nstate claims-ws delivered) peer $(wc -l < "$LOG")"
fy spool verify > "$C/v.out" 2>&1 || fail crash2 "verify: $(cat "$C/v.out")"
ok "SIGKILL mid-batch (bound, writing, renamed, sent) after the stream deliveries: one file, each claim once, ledger verifies"

# --- 9. crash around the intake commit: both deliveries or neither --------
setup crash3
FERRY_CRASH_AT=enqueue-before-commit fy submit refund-claim "$C/submissions.ndjson" > /dev/null 2>&1
[ "$(ndeliv)" = 0 ] || fail crash3 "$(ndeliv) deliveries after a crash before the commit"
FERRY_CRASH_AT=enqueue-after-commit fy submit refund-claim "$C/submissions.ndjson" > /dev/null 2>&1
n=$(ndeliv); [ $((n % 2)) = 0 ] && [ "$(ndeliv claims-ws)" = "$(ndeliv claims-mainframe)" ] || fail crash3 "$n deliveries"
fy submit refund-claim "$C/submissions.ndjson" > /dev/null 2>&1
[ "$(ndeliv claims-ws)" = 8 ] && [ "$(ndeliv claims-mainframe)" = 8 ] || fail crash3 "ws $(ndeliv claims-ws) mf $(ndeliv claims-mainframe)"
fy spool verify > "$C/v.out" 2>&1 || fail crash3 "verify: $(cat "$C/v.out")"
ok "SIGKILL at the intake commit: a submission has both deliveries or none; resubmitting adds only the missing ones"

echo "$CASES cases"
