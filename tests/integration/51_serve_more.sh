#!/bin/bash
# 51_serve_more - `ferry serve` paths 50_serve does not reach: a client's
# own connection limit (429), a slow-loris sender closed after
# request-timeout while others are served, optional client certificates
# (TLS with client-ca-file), a scheduled job firing inside the daemon and
# recorded in the ledger, catch-up at start-up (run and skip), the exit
# 75 path when the SIGTERM deadline passes, and <log format="json">
# (every line JSON, no token, no personal values).  The scheduler's clock
# is shifted with FERRY_TEST_SCHED_OFFSET_S (test builds only) so no
# case waits for a real minute.
set -eu
. "$(dirname "$0")/lib.sh"
DRIVE="${FERRY_BUILD:?}/tests/helpers/http_drive"
[ -x "$DRIVE" ] || { echo "no $DRIVE"; exit 1; }
for c in curl jq python3 openssl; do
    command -v $c >/dev/null || { echo "$c not installed"; exit 77; }
done

PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$T"
}
trap cleanup EXIT

example_config "$T/ex"
KEY="$T/ex/secrets/frontend.key"
ISS=heating-refund-frontend
SVC=refund-claim
head -1 "$T/ex/submissions.ndjson" | jq -c '.submission_reference="@REF@"' > "$T/tpl.json"
sub() { sed "s/@REF@/$1/" "$T/tpl.json"; }

# config NAME PYTHON-EXPR - ferry.xml rewritten by a python expression over
# the text s (jobs removed first), written to $T/ex/NAME.xml
config() {
    python3 - "$T/ex/ferry.xml" "$T/ex/$1.xml" "$2" <<'PY'
import re, sys
s = open(sys.argv[1]).read()
s = re.sub(r'\s*<job\b[^>]*/>', '', s, flags=re.S)
s = eval(sys.argv[3])
open(sys.argv[2], 'w').write(s)
PY
}
start() {   # start NAME CONFIG SPOOL [ENV...]
    local name=$1 cfg=$2 spool=$3; shift 3
    : > "$T/$name.log"
    env "$@" "$FERRY_BIN" serve --config "$cfg" --spool "$spool" \
        --listen 127.0.0.1:0 2>"$T/$name.log" &
    PID=$!
    PIDS+=("$PID")
    PORT=""
    for _ in $(seq 100); do
        PORT=$(grep -o 'listening.*127\.0\.0\.1:[0-9]*' "$T/$name.log" | sed 's/.*://' | head -1)
        [ -n "$PORT" ] && break
        kill -0 "$PID" 2>/dev/null || { cat "$T/$name.log"; fail "start $name" "daemon exited"; }
        sleep 0.1
    done
    [ -n "$PORT" ] || fail "start $name" "no listening line: $(cat "$T/$name.log")"
    U="http://127.0.0.1:$PORT"
}
stop_term() { kill -TERM "$1"; RC=0; wait "$1" || RC=$?; }
tok() { "$DRIVE" token "$KEY" "$ISS" 0 HS256; }
req() { curl -s -o "$T/body" -w '%{http_code}' --max-time 20 "$@"; }
post() {
    local f=$1; shift
    req -X POST -H "Authorization: Bearer $(tok)" -H 'Content-Type: application/json' \
        --data-binary @"$f" "$@" "$U/v1/services/$SVC/submissions"
}
# hold PORT SECONDS [TOKEN] - a request whose head is complete but whose
# body never comes (Content-Length 500, 10 bytes sent); prints "held"
# once the head is sent, then keeps the socket for SECONDS
hold() {
    python3 - "$@" <<'PY' &
import socket, sys, time
port, secs = int(sys.argv[1]), float(sys.argv[2])
tok = sys.argv[3] if len(sys.argv) > 3 else ""
s = socket.create_connection(("127.0.0.1", port))
h = ("POST /v1/services/refund-claim/submissions HTTP/1.1\r\nHost: x\r\n"
     "Content-Type: application/json\r\nContent-Length: 500\r\n")
if tok:
    h += "Authorization: Bearer " + tok + "\r\n"
s.sendall((h + "\r\n" + '{"a":"0123').encode())
print("held", flush=True)
time.sleep(secs)
s.close()
PY
}

# ---- a client's own connection limit -------------------------------------
config limit 's.replace("secret-file=\"secrets/frontend.key\"", "secret-file=\"secrets/frontend.key\" max-connections=\"1\"")'
grep -q 'max-connections="1"' "$T/ex/limit.xml" || fail limit "config not rewritten"
start limit "$T/ex/limit.xml" "$T/sp-limit"
hold "$PORT" 4 "$(tok)" > "$T/hold.out"
HOLD=$!
for _ in $(seq 50); do grep -q held "$T/hold.out" && break; sleep 0.1; done
sleep 0.3
sub LIMT0001A > "$T/l1.json"
code=$(post "$T/l1.json")
[ "$code" = 429 ] || fail limit "second request while one is in flight: $code $(cat "$T/body")"
grep -q '^Retry-After\|retry' <(curl -s -D - -o /dev/null -X POST -H "Authorization: Bearer $(tok)" \
    -H 'Content-Type: application/json' --data-binary @"$T/l1.json" "$U/v1/services/$SVC/submissions") \
    || fail limit "no Retry-After on 429"
[ "$(req "$U/healthz")" = 200 ] || fail limit "healthz while limited"
kill "$HOLD" 2>/dev/null || true; wait "$HOLD" 2>/dev/null || true
sleep 0.5
code=$(post "$T/l1.json")
[ "$code" = 202 ] || fail limit "after the held request ended: $code"
curl -s "$U/metrics" | grep -q '^ferry_intake_busy_total [1-9]' || fail limit "busy counter"
ok "client over its max-connections -> 429 with Retry-After; accepted again once the other request ends"

# ---- slow-loris ----------------------------------------------------------
stop_term "$PID"
config slow 's.replace("<intake ", "<intake request-timeout=\"2s\" ")'
start slow "$T/ex/slow.xml" "$T/sp-slow"
python3 - "$PORT" > "$T/loris.out" <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(0.2)
t0 = time.time()
s.sendall(b"POST /v1/services/refund-claim/submissions HTTP/1.1\r\nHost: x\r\nX-Slow: ")
closed = None
while time.time() - t0 < 20:
    try:
        s.sendall(b"a")
        d = s.recv(100)
        if d == b"" or d:
            closed = time.time() - t0
            break
    except socket.timeout:
        pass
    except OSError:
        closed = time.time() - t0
        break
    time.sleep(0.3)
print("closed %.1f" % closed if closed is not None else "open")
PY
LORIS=$!
sleep 1
for i in 1 2 3; do
    [ "$(req "$U/healthz")" = 200 ] || fail slowloris "healthz while a slow sender is connected"
done
sub SLOW0001A > "$T/s1.json"
[ "$(post "$T/s1.json")" = 202 ] || fail slowloris "submission while a slow sender is connected"
wait "$LORIS" || true
read -r word secs < "$T/loris.out" || true
[ "$word" = closed ] || fail slowloris "slow sender still connected after 20 s ($(cat "$T/loris.out"))"
awk -v s="$secs" 'BEGIN { exit !(s >= 1.5 && s <= 6) }' \
    || fail slowloris "closed after $secs s, wanted about request-timeout (2 s)"
ok "slow-loris header sender closed after ${secs}s (request-timeout 2s); others served meanwhile"
stop_term "$PID"

# ---- client certificates -------------------------------------------------
mkdir -p "$T/ex/tls"
(
    cd "$T/ex/tls"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=ferry-test-ca
    openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 2 -subj /CN=127.0.0.1 \
        -addext subjectAltName=IP:127.0.0.1
    openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=frontend
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2
    openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.pem -days 2 -subj /CN=stranger
) > "$T/openssl.log" 2>&1 || { cat "$T/openssl.log"; fail mtls "openssl"; }
config mtls 's.replace("<intake ", "<intake cert-file=\"tls/cert.pem\" key-file=\"tls/key.pem\" client-ca-file=\"tls/ca.pem\" ")'
start mtls "$T/ex/mtls.xml" "$T/sp-mtls"
grep -q 'tls=on+client-certs' "$T/mtls.log" || fail mtls "listening line does not say client certs"
S="https://127.0.0.1:$PORT"
sub MTLS0001A > "$T/m1.json"
code=$(req --cacert "$T/ex/tls/cert.pem" --cert "$T/ex/tls/client.pem" --key "$T/ex/tls/client.key" \
    -X POST -H "Authorization: Bearer $(tok)" -H 'Content-Type: application/json' \
    --data-binary @"$T/m1.json" "$S/v1/services/$SVC/submissions")
[ "$code" = 202 ] || fail mtls "client with a CA-signed cert: $code"
sub MTLS0002A > "$T/m2.json"
code=$(req --cacert "$T/ex/tls/cert.pem" -X POST -H "Authorization: Bearer $(tok)" \
    -H 'Content-Type: application/json' --data-binary @"$T/m2.json" "$S/v1/services/$SVC/submissions")
[ "$code" = 202 ] || fail mtls "client without a cert (optional, token authenticates): $code"
code=$(req --cacert "$T/ex/tls/cert.pem" -X POST -H 'Content-Type: application/json' \
    --cert "$T/ex/tls/client.pem" --key "$T/ex/tls/client.key" \
    --data-binary @"$T/m2.json" "$S/v1/services/$SVC/submissions")
[ "$code" = 401 ] || fail mtls "a client cert without a token must not be enough: $code"
[ "$(req "$U/healthz")" = 000 ] || fail mtls "plain HTTP answered on the TLS listener"
ok "TLS with client-ca-file: CA-signed client cert accepted (202); cert optional; cert alone is not authentication (401)"
stop_term "$PID"

# ---- a job fires inside the daemon -----------------------------------------
JOB='s.replace("</ferry>", "  <job name=\"tick\" schedule=\"* * * * *\" tz=\"Europe/London\" action=\"purge\" older-than=\"90d\" catch-up=\"run\"/>\n</ferry>")'
config jobs "$JOB"
grep -q 'name="tick"' "$T/ex/jobs.xml" || fail job "config not rewritten"
now=$(date +%s)
off=$(( 60 - now % 60 - 2 ))          # the daemon's clock 2 s before a minute
start job "$T/ex/jobs.xml" "$T/sp-job" FERRY_TEST_SCHED_OFFSET_S=$off
for _ in $(seq 100); do grep -q 'job-finished.*tick' "$T/job.log" && break; sleep 0.1; done
grep -q 'job-finished.*job=tick.*outcome=ok' "$T/job.log" \
    || fail job "no job-finished line for tick: $(grep -i job "$T/job.log" | head -5)"
"$FERRY_BIN" jobs --json --config "$T/ex/jobs.xml" --spool "$T/sp-job" > "$T/jobs.json" \
    || fail job "ferry jobs"
jq -e '[.. | objects | select(.name? == "tick")][0].last_run.outcome == "ok"' \
    "$T/jobs.json" >/dev/null || fail job "ferry jobs --json shows no ok last run: $(cat "$T/jobs.json")"
stop_term "$PID"
[ "$RC" = 0 ] || fail job "SIGTERM exit $RC"
n=$(sqlite3 "$T/sp-job/ledger.db" "SELECT count(*) FROM job_runs WHERE job = 'tick' AND ended_at > 0" 2>/dev/null || echo err)
[ "$n" = 1 ] || fail job "ledger job runs for tick: $n"
ok "a * * * * * job fires inside the daemon; ferry jobs --json and the ledger record the run"

# ---- catch-up at start-up ----------------------------------------------------
# a yearly job whose last run (above) is over a year back on the shifted clock
YEAR='s.replace("</ferry>", "  <job name=\"tick\" schedule=\"0 0 1 1 *\" tz=\"Europe/London\" action=\"purge\" older-than=\"90d\" catch-up=\"@P@\"/>\n</ferry>")'
config catchrun "${YEAR/@P@/run}"
start catchrun "$T/ex/catchrun.xml" "$T/sp-job" FERRY_TEST_SCHED_OFFSET_S=$(( 400 * 86400 ))
for _ in $(seq 100); do grep -q 'job-finished.*tick' "$T/catchrun.log" && break; sleep 0.1; done
grep -q 'job-catch-up.*job=tick' "$T/catchrun.log" || fail catchup "no job-catch-up line"
grep -q 'job-finished.*job=tick' "$T/catchrun.log" || fail catchup "the caught-up run did not finish"
sleep 1.5
[ "$(grep -c 'job-started.*job=tick' "$T/catchrun.log")" = 1 ] || fail catchup "ran more than once"
stop_term "$PID"
n=$(sqlite3 "$T/sp-job/ledger.db" "SELECT count(*) FROM job_runs WHERE job = 'tick'")
[ "$n" = 2 ] || fail catchup "ledger runs $n, wanted 2"
config catchskip "${YEAR/@P@/skip}"
start catchskip "$T/ex/catchskip.xml" "$T/sp-job" FERRY_TEST_SCHED_OFFSET_S=$(( 800 * 86400 ))
sleep 2
grep -q 'job-catch-up-skipped.*job=tick' "$T/catchskip.log" || fail catchup "no job-catch-up-skipped line"
! grep -q 'job-started.*job=tick' "$T/catchskip.log" || fail catchup "skip policy ran the job"
stop_term "$PID"
ok "missed yearly run: catch-up=run runs it once at start-up, catch-up=skip logs and skips"

# ---- SIGTERM deadline passed -> 75 -----------------------------------------
config deadline 's.replace("<ferry xmlns", "<ferry shutdown-deadline=\"500ms\" xmlns")'
grep -q 'shutdown-deadline="500ms"' "$T/ex/deadline.xml" || fail deadline "config not rewritten"
start deadline "$T/ex/deadline.xml" "$T/sp-dl"
hold "$PORT" 10 "$(tok)" > "$T/hold2.out"
HOLD=$!
for _ in $(seq 50); do grep -q held "$T/hold2.out" && break; sleep 0.1; done
sleep 0.3
t0=$(date +%s%N)
stop_term "$PID"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
kill "$HOLD" 2>/dev/null || true; wait "$HOLD" 2>/dev/null || true
[ "$RC" = 75 ] || fail deadline "exit $RC, wanted 75: $(tail -3 "$T/deadline.log")"
grep -q 'shutdown-deadline-passed' "$T/deadline.log" || fail deadline "no log line"
[ "$ms" -lt 5000 ] || fail deadline "took $ms ms"
ok "SIGTERM with a request that never finishes and shutdown-deadline 500ms -> exit 75 in ${ms} ms, logged"

# ---- JSON logs -------------------------------------------------------------
config json 's.replace("<log format=\"logfmt\" level=\"info\"/>", "<log format=\"json\" level=\"debug\"/>")'
grep -q 'format="json"' "$T/ex/json.xml" || fail json "config not rewritten"
start json "$T/ex/json.xml" "$T/sp-json"
TOK=$(tok)
sub JSON0001A > "$T/j1.json"
[ "$(post "$T/j1.json")" = 202 ] || fail json "submission"
sed -n 5p "$T/ex/submissions.ndjson" > "$T/jbad.json"
[ "$(post "$T/jbad.json")" = 422 ] || fail json "invalid submission"
# a JSON array of submissions is refused whole, pointing at NDJSON
sub JSON0002A | jq -s . > "$T/jarr.json"
[ "$(post "$T/jarr.json")" = 422 ] || fail json "an array was not refused: $(cat "$T/body")"
grep -q 'not an array.*NDJSON' "$T/body" || fail json "array refusal does not say NDJSON: $(cat "$T/body")"
req -H "Authorization: Bearer ${TOK}x" "$U/v1/submissions/FRY-20260101-000001" >/dev/null
req "$U/metrics" >/dev/null
stop_term "$PID"
lines=$(wc -l < "$T/json.log")
[ "$lines" -ge 5 ] || fail json "only $lines lines"
jq -e . "$T/json.log" >/dev/null 2>&1 || fail json "a line is not JSON: $(head -3 "$T/json.log")"
while IFS= read -r l; do
    printf '%s' "$l" | jq -e 'type == "object"' >/dev/null || fail json "not an object: $l"
done < "$T/json.log"
grep -q '"auth-failed"' "$T/json.log" || fail json "no auth-failed event"
grep -qF "${TOK%%.*}" "$T/json.log" && fail json "the token is in the log"
# personal values of the two bodies never appear
for f in "$T/j1.json" "$T/jbad.json"; do
    jq -r '.. | strings | select(length >= 6)' "$f" | grep -v '^JSON0001A$' | while IFS= read -r v; do
        grep -qF -- "$v" "$T/json.log" && { echo "FAIL json: body value '$v' logged"; exit 1; }
        true
    done || exit 1
done
ok "<log format=\"json\">: $lines lines, each a JSON object; no token, no body values"

echo "$CASES cases passed"
