#!/bin/bash
# 76_console - the support console in a real browser (Debian's headless
# chromium, driven by playwright-core from tests/peers/browser, installed
# there by `npm ci` from its lockfile when missing).  A night of refund
# claims is batched and acknowledged (two rejected), then, in the browser:
# sign in (a wrong password refused), find the rejected claim by NINO,
# see the back end's reason with personal data masked, fix the NINO
# (an invalid value refused with the error summary; a masked diff),
# requeue it, see the audit entry, key in an assisted-digital form (errors
# summarised, then a reference), a forged POST without the CSRF token
# refused, sign out; a viewer cannot requeue; a supervisor verifies the
# audit chain and reads the report.  Around it, with curl: login
# throttling per account, idle timeout, a disabled account loses its
# session, TLS when the console has a certificate.  Screenshots go to the
# test's temp folder and to /work/wt/console-shots/ when that exists
# (SHOTS_COPY to change it).
set -eu
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || { echo "jq not installed"; exit 77; }
command -v curl >/dev/null || { echo "curl not installed"; exit 77; }
[ -x /usr/bin/chromium ] || { echo "chromium not installed (make deps)"; exit 77; }
command -v node >/dev/null || { echo "node not installed"; exit 77; }
PEER="$FERRY_ROOT/tests/peers/browser"
if [ ! -d "$PEER/node_modules/playwright-core" ]; then
    (cd "$PEER" && npm ci --no-audit --no-fund > "$T/npm.log" 2>&1) \
        || { tail -5 "$T/npm.log"; echo "npm ci failed in $PEER"; exit 77; }
fi
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$T"
}
trap cleanup EXIT
example_config "$T/ex"
CFG="$T/ex/ferry.xml"
SP="$T/spool"
F() { "$FERRY_BIN" "$@"; }
PW='correct horse battery staple'
sed -i 's|  <log format|  <console listen="127.0.0.1:0" staff-file="staff" idle-timeout="1m"/>\n  <log format|' "$CFG"

# accounts: one per role; a short password is refused
expect_exit 65 sh -c "printf 'short\n' | '$FERRY_BIN' staff add --config '$CFG' --spool '$SP' --role support alice"
for a in alice:support victor:viewer sam:supervisor; do
    printf '%s\n' "$PW" | F staff add --config "$CFG" --spool "$SP" --actor admin --role "${a#*:}" "${a%%:*}" >/dev/null
done
[ "$(stat -c %a "$T/ex/staff")" = 600 ] || fail staff "staff file 0600"
grep -q 'scrypt\$15\$8\$1\$' "$T/ex/staff" || fail staff "scrypt hashes"
if grep -q "$PW" "$T/ex/staff"; then fail staff "password in clear"; fi
F staff list --config "$CFG" --json | jq -e '.staff | length == 3' >/dev/null || fail staff "three accounts"
F audit --spool "$SP" --json | jq -e '[.audit[] | select(.action == "staff-add" and .actor == "admin")] | length == 3' >/dev/null \
    || fail staff "each account audited"
ok "ferry staff add: scrypt hashes in a 0600 file, short password refused, audited"

# a night: claims in, the batch out, the mainframe rejects two
expect_exit 65 F submit --config "$CFG" --spool "$SP" refund-claim "$T/ex/submissions.ndjson"
expect_exit 0 F batch --config "$CFG" --spool "$SP" claims-nightly
drop=$(ls "$T/var/mainframe-drop"/CLM.* | head -1)
bash "$FERRY_ROOT/examples/mainframe-ack.sh" "$drop" "$T/var/mainframe-acks/CLMACK.D$(date -u +%y%m%d).S001" >/dev/null
F reconcile --config "$CFG" --spool "$SP" claims-mainframe >/dev/null 2>&1 || true
F queue --config "$CFG" --spool "$SP" --state rejected --json | jq -e '.count == 2' >/dev/null || fail setup "two rejected"
ok "a night's claims batched, two rejected by the mainframe"

: > "$T/serve.log"
start_serve() {
    cat "$T/serve.log" >> "$T/serve.all" 2>/dev/null || true
    : > "$T/serve.log"
    "$FERRY_BIN" serve --config "$CFG" --spool "$SP" --listen 127.0.0.1:0 \
        --console-listen 127.0.0.1:0 2>>"$T/serve.log" &
    PID=$!; PIDS+=("$PID")
    PORT=
    for _ in $(seq 100); do
        PORT=$(sed -n 's/.*event=console-listening addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/serve.log" | tail -1)
        [ -n "$PORT" ] && break
        kill -0 "$PID" 2>/dev/null || { cat "$T/serve.log"; fail serve "daemon exited"; }
        sleep 0.1
    done
    [ -n "$PORT" ] || fail serve "no console-listening line: $(cat "$T/serve.log")"
}
start_serve
BASE="http://127.0.0.1:$PORT"
# the intake's page at / links the console where it is bound (--console-listen :0)
IPORT=
for _ in $(seq 100); do    # the console starts first, the intake just after
    IPORT=$(sed -n 's/.*event=listening addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/serve.log" | head -1)
    [ -n "$IPORT" ] && break
    sleep 0.1
done
[ -n "$IPORT" ] || fail index "no intake listening line: $(cat "$T/serve.log")"
curl -s --max-time 10 "http://127.0.0.1:$IPORT/" > "$T/index.html" || fail index "GET / failed"
grep -q "<a href=\"$BASE/\">" "$T/index.html" || fail index "no link to $BASE/: $(cat "$T/index.html")"
ok "the intake's GET / links the console at the port it bound"

# the browser
mkdir -p "$T/shots" "$T/profile"
set +e
(cd "$PEER" && BASE=$BASE SHOTS="$T/shots" PROFILE="$T/profile" PASSWORD="$PW" \
    NINO="CE 65 43 21 A" FIXED_NINO="CE 65 43 21 B" SERVICE=refund-claim \
    timeout 300 node console.test.js) > "$T/browser.log" 2>&1
brc=$?
set -e
cat "$T/browser.log"
copy=${SHOTS_COPY:-/work/wt/console-shots}
if [ -d "$(dirname "$copy")" ]; then
    mkdir -p "$copy" && rm -f "$copy"/*.png && cp "$T"/shots/*.png "$copy"/ 2>/dev/null || true
fi
[ $brc -eq 0 ] || fail browser "the browser test failed (log above; screenshots in $copy)"
ls "$T"/shots/*.png >/dev/null || fail browser "screenshots taken"
ok "in the browser: $(grep -c '^ok' "$T/browser.log") steps ($(ls "$T"/shots/*.png | wc -l) screenshots)"

# the ledger agrees with what the browser did
ref=$(F find --config "$CFG" --spool "$SP" --json "nino=CE654321B" | jq -r '.records[0].reference')
[ "$ref" != null ] || fail ledger "the fixed claim is found by its new NINO"
F show --config "$CFG" --spool "$SP" --json "$ref" | jq -e '.state == "queued"' >/dev/null || fail ledger "requeued"
F audit --spool "$SP" --json "$ref" | jq -e '[.audit[] | select(.action == "edit" and .actor == "alice")] | length == 1' >/dev/null \
    || fail ledger "edit audited with alice"
if F audit --spool "$SP" --json | grep -q "CE654321"; then fail ledger "a NINO in the audit log"; fi
F audit --spool "$SP" --json | jq -e '[.audit[] | select(.action == "console-find" and .actor == "alice")] | length >= 1' >/dev/null \
    || fail ledger "searches audited (by index, not value)"
aref=$(sed -n 's/.*assisted digital form: .*, \(FRY-[0-9]*-[0-9]*\) stored.*/\1/p' "$T/browser.log")
[ -n "$aref" ] || fail ledger "the assisted reference in the browser log"
F show --config "$CFG" --spool "$SP" --json "$aref" | jq -e '.client == "assisted" and .channel == "assisted"' >/dev/null \
    || fail ledger "the assisted record's channel: $(F show --config "$CFG" --spool "$SP" --json "$aref" | head -20)"
F audit --spool "$SP" --json "$aref" | jq -e '.audit[0].action == "assisted-intake" and .audit[0].actor == "alice"' >/dev/null \
    || fail ledger "assisted intake audited with alice"
expect_exit 0 F audit --spool "$SP" verify
ok "the ledger: requeued, found by the new NINO, edit audited as alice, no NINO in the audit, one assisted record"

# curl: sign-in throttling per account, not for the others
jar="$T/jar"
login() {   # login NAME PASSWORD -> HTTP status of the POST
    rm -f "$jar"
    local csrf
    csrf=$(curl -s -c "$jar" -b "$jar" "$BASE/login" | grep -o 'name="csrf" value="[0-9a-f]*"' | head -1 | sed 's/.*value="//;s/"//')
    curl -s -o /dev/null -w '%{http_code}' -c "$jar" -b "$jar" --data-urlencode "csrf=$csrf" \
        --data-urlencode "name=$1" --data-urlencode "password=$2" "$BASE/login"
}
for i in 1 2 3 4 5; do
    c=$(login victor wrong-password-$i)
    [ "$c" = 401 ] || fail throttle "attempt $i: 401 expected, got $c"
done
c=$(login victor "$PW")
[ "$c" = 429 ] || fail throttle "the sixth try, even with the right password, waits: got $c"
ok "five failed sign-ins for one account: the next waits (429)"
# (the address is throttled too: restart to clear it, then a disabled
# account loses its session at once)
kill -TERM "$PID"; wait "$PID" || true
start_serve
BASE="http://127.0.0.1:$PORT"
c=$(login alice "$PW")
[ "$c" = 303 ] || fail session "alice signs in: $c"
c=$(curl -s -o /dev/null -w '%{http_code}' -b "$jar" "$BASE/queue")
[ "$c" = 200 ] || fail session "signed in: $c"
F staff disable --config "$CFG" --spool "$SP" --actor admin alice >/dev/null
c=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -b "$jar" "$BASE/queue")
case "$c" in 303*/login) ;; *) fail session "a disabled account is signed out at once: $c" ;; esac
c=$(login alice "$PW")
[ "$c" = 401 ] || fail session "a disabled account cannot sign in: $c"
ok "ferry staff disable ends the account's session at once"

# a supervisor settles a record in doubt (the target confirmed it has it)
held=$(F queue --config "$CFG" --spool "$SP" --state held --json | jq -r '.records[0].reference')
[ "$held" != null ] || fail settle "the held record from the browser's bulk hold"
sqlite3 "$SP/ledger.db" "UPDATE records SET state = 'indoubt', in_doubt = 1 WHERE ref = '$held'"
c=$(login sam "$PW")
[ "$c" = 303 ] || fail settle "sam signs in: $c"
csrf=$(curl -s -b "$jar" "$BASE/record?ref=$held" | grep -o 'name="csrf" value="[0-9a-f]*"' | head -1 | sed 's/.*value="//;s/"//')
curl -s -b "$jar" "$BASE/record?ref=$held" | grep -q 'Settle: delivered' || fail settle "the settle buttons for a record in doubt"
c=$(curl -s -o "$T/settle.html" -w '%{http_code}' -b "$jar" --data-urlencode "csrf=$csrf" \
    --data-urlencode "ref=$held" --data-urlencode "action=settle-delivered" \
    --data-urlencode "reason=" "$BASE/record/action")
[ "$c" = 400 ] || fail settle "a settle without a reason is refused: $c"
c=$(curl -s -o "$T/settle.html" -w '%{http_code}' -b "$jar" --data-urlencode "csrf=$csrf" \
    --data-urlencode "ref=$held" --data-urlencode "action=settle-delivered" \
    --data-urlencode "reason=mainframe team: case 400000005 exists" "$BASE/record/action")
[ "$c" = 200 ] || fail settle "settled: $c"
F show --config "$CFG" --spool "$SP" --json "$held" | jq -e '.state == "confirmed"' >/dev/null || fail settle "now confirmed"
F audit --spool "$SP" --json "$held" | jq -e '[.audit[] | select(.actor == "sam" and (.reason | test("case 400000005")))] | length == 1' >/dev/null \
    || fail settle "audited with sam and the reason"
c=$(curl -s -o /dev/null -w '%{http_code}' -b "$jar" --data-urlencode "csrf=$csrf" \
    --data-urlencode "ref=$aref" --data-urlencode "action=settle-delivered" \
    --data-urlencode "reason=try it on a queued one" "$BASE/record/action")
[ "$c" = 400 ] || fail settle "a record not in doubt cannot be settled: $c"
F show --config "$CFG" --spool "$SP" --json "$aref" | jq -e '.state == "queued"' >/dev/null || fail settle "left queued"
ok "a supervisor settles a record in doubt as delivered (reason required, audited); a queued one cannot be"
kill -TERM "$PID"; wait "$PID" || true

# TLS when the console has a certificate
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -days 1 \
    -keyout "$T/ex/console.key" -out "$T/ex/console.pem" >/dev/null 2>&1
chmod 600 "$T/ex/console.key"
sed -i 's|staff-file="staff"|staff-file="staff" cert-file="console.pem" key-file="console.key"|' "$CFG"
start_serve
grep -q 'console-listening.*tls=on' "$T/serve.log" || fail tls "tls=on logged"
c=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/ex/console.pem" "https://127.0.0.1:$PORT/login")
[ "$c" = 200 ] || fail tls "the sign-in page over TLS: $c"
kill -TERM "$PID"; wait "$PID" || true
ok "TLS when <console cert-file key-file> are set"
echo "$CASES cases"
