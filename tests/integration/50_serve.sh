#!/bin/bash
# 50_serve - `ferry serve` driven by curl and a libcurl client
# (tests/helpers/http_drive, whose JWT signer is independent of ferry's):
# every status code of the intake, tokens expired / future / tampered /
# alg none / wrong service, idempotency by front-end reference, a key's
# replay and conflict (52_serve_idempotency has the rest),
# another client's reference is 404, failed logins rate limited (429),
# 503 when the spool is below min-free, /metrics with conservation at 0,
# SIGHUP with a broken then a good config, 1,000 concurrent submissions
# with SIGKILL in the middle (every 202 durable), SIGTERM under load
# (exit 0, every 202 durable), `ferry jobs`.
set -eu
. "$(dirname "$0")/lib.sh"
DRIVE="${FERRY_BUILD:?}/tests/helpers/http_drive"
[ -x "$DRIVE" ] || { echo "no $DRIVE (make SAN=1 build/san/tests/helpers/http_drive)"; exit 1; }
command -v curl >/dev/null || { echo "curl not installed"; exit 77; }
command -v jq >/dev/null || { echo "jq not installed"; exit 77; }

PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$T"
}
trap cleanup EXIT

example_config "$T/ex"
CFG="$T/ex/ferry.xml"
SP="$T/spool"
KEY="$T/ex/secrets/frontend.key"
ISS=heating-refund-frontend
SVC=refund-claim
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$T/ex/secrets/second.key"
chmod 600 "$T/ex/secrets/second.key"
# a submission template: "@REF@" becomes the front-end reference
head -1 "$T/ex/submissions.ndjson" | jq -c '.submission_reference="@REF@"' > "$T/tpl.json"
sub() { sed "s/@REF@/$1/" "$T/tpl.json"; }   # sub REF -> a valid body

# start NAME CONFIG SPOOL [ENV...] - start a daemon, set PORT and PID
start() {
    local name=$1 cfg=$2 spool=$3; shift 3
    : > "$T/$name.log"
    env "$@" "$FERRY_BIN" serve --config "$cfg" --spool "$spool" \
        --listen 127.0.0.1:0 2>"$T/$name.log" &
    PID=$!
    PIDS+=("$PID")
    for _ in $(seq 100); do
        PORT=$(sed -n 's/.*event=listening addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/$name.log")
        [ -n "$PORT" ] && break
        kill -0 "$PID" 2>/dev/null || { cat "$T/$name.log"; fail "start $name" "daemon exited"; }
        sleep 0.1
    done
    [ -n "$PORT" ] || fail "start $name" "no listening line: $(cat "$T/$name.log")"
    U="http://127.0.0.1:$PORT"
}
# stop_term PID - SIGTERM, wait; the exit status in RC
stop_term() {
    kill -TERM "$1"
    RC=0
    wait "$1" || RC=$?
}
# wait_lines FILE N - until FILE has N lines (at most 20 s)
wait_lines() {
    for _ in $(seq 200); do
        [ "$(cat "$1" 2>/dev/null | wc -l)" -ge "$2" ] && return 0
        sleep 0.1
    done
}
tok() { "$DRIVE" token "${2:-$KEY}" "${1:-$ISS}" "${3:-0}" "${4:-HS256}"; }
# req ARGS... - curl, body to $T/body, prints the status
req() { curl -s -o "$T/body" -w '%{http_code}' --max-time 20 "$@"; }
post() {   # post TOKEN BODYFILE [curl args]
    local t=$1 f=$2; shift 2
    req -X POST -H "Authorization: Bearer $t" -H 'Content-Type: application/json' \
        --data-binary @"$f" "$@" "$U/v1/services/$SVC/submissions"
}
want() {   # want NAME EXPECTED GOT
    [ "$3" = "$2" ] || fail "$1" "status $3, wanted $2: $(head -c 600 "$T/body")"
}

start main "$CFG" "$SP"
MAIN=$PID

# ---- health ------------------------------------------------------------
want healthz 200 "$(req "$U/healthz")"
want readyz 200 "$(req "$U/readyz")"
ok "healthz and readyz answer 200 on a fresh spool"

# ---- accepted, duplicates ----------------------------------------------
sub HTTP0001A > "$T/a.json"
want accept 202 "$(post "$(tok)" "$T/a.json")"
REF=$(jq -r .reference "$T/body")
[ "$(jq -r .status "$T/body")" = accepted ] || fail accept "status word"
echo "$REF" | grep -Eq '^FRY-[0-9]{8}-[0-9]{6}$' || fail accept "reference $REF"
ok "POST valid submission -> 202 with reference $REF"

want dup-feref 200 "$(post "$(tok)" "$T/a.json")"
[ "$(jq -r .reference "$T/body")" = "$REF" ] || fail dup-feref "other reference"
[ "$(jq -r .status "$T/body")" = duplicate ] || fail dup-feref "status word"
ok "same front-end reference again -> 200 with the original reference"

sub HTTP0002B > "$T/b.json"; sub HTTP0003C > "$T/c.json"
want idem-first 202 "$(post "$(tok)" "$T/b.json" -H 'Idempotency-Key: key-42')"
REFB=$(jq -r .reference "$T/body")
want idem-replay 202 "$(post "$(tok)" "$T/b.json" -H 'Idempotency-Key: key-42')"
[ "$(jq -r .reference "$T/body")" = "$REFB" ] || fail idem-replay "other reference"
ok "replayed Idempotency-Key (same body) -> its first answer, 202 with the original reference"
want idem-conflict 422 "$(post "$(tok)" "$T/c.json" -H 'Idempotency-Key: key-42')"
[ "$(jq -r .status "$T/body")" = conflict ] || fail idem-conflict "status word"
jq -e '.problems[0].where == "header:Idempotency-Key"' "$T/body" >/dev/null \
    || fail idem-conflict "problem does not name the key: $(cat "$T/body")"
ok "Idempotency-Key reused with another body -> 422 conflict naming the key"

# ---- refusals ------------------------------------------------------------
sed -n 5p "$T/ex/submissions.ndjson" > "$T/bad.json"
want invalid 422 "$(post "$(tok)" "$T/bad.json")"
[ "$(jq -r .status "$T/body")" = rejected ] || fail invalid "status word"
jq -e '.problems | map(.where) | index("answers[question_id=2].answer_text")' "$T/body" >/dev/null \
    || fail invalid "NINO path missing: $(cat "$T/body")"
jq -e '.problems | map(.where) | index("answers[question_id=6].answer_text")' "$T/body" >/dev/null \
    || fail invalid "amount path missing"
jq -e '.problems | all(.reason | length > 0)' "$T/body" >/dev/null || fail invalid "reasons"
# the one shape every command uses (util/errs_json.c): where, reason[, message]
jq -e '.problems | all((keys - ["message"]) == ["reason", "where"])' "$T/body" >/dev/null \
    || fail invalid "problem shape: $(cat "$T/body")"
ok "invalid submission -> 422 listing every problem by JSON path"

printf '{"a":' > "$T/broken.json"
want malformed 422 "$(post "$(tok)" "$T/broken.json")"
ok "malformed JSON -> 422"

head -c 1100000 /dev/zero | tr '\0' ' ' > "$T/big.json"
want too-big 413 "$(post "$(tok)" "$T/big.json")"
want too-big-chunked 413 "$(post "$(tok)" "$T/big.json" -H 'Transfer-Encoding: chunked')"
ok "body over max-body -> 413 (Content-Length checked up front, chunked counted)"

want media 415 "$(req -X POST -H "Authorization: Bearer $(tok)" -H 'Content-Type: text/plain' \
    --data-binary @"$T/a.json" "$U/v1/services/$SVC/submissions")"
ok "wrong Content-Type -> 415"

want no-token 401 "$(req -X POST -H 'Content-Type: application/json' --data-binary @"$T/a.json" \
    "$U/v1/services/$SVC/submissions")"
want expired 401 "$(post "$(tok "$ISS" "$KEY" -120)" "$T/a.json")"
[ "$(jq -r .error "$T/body")" = expired ] || fail expired "reason $(cat "$T/body")"
want future 401 "$(post "$(tok "$ISS" "$KEY" 120)" "$T/a.json")"
[ "$(jq -r .error "$T/body")" = future-dated ] || fail future "reason"
good=$(tok)
h=${good%%.*}; rest=${good#*.}; p=${rest%%.*}; s=${rest#*.}
evilp=$(printf '{"iss":"%s","iat":%d,"x":1}' "$ISS" "$(date +%s)" | base64 -w0 | tr '+/' '-_' | tr -d '=')
want tampered 401 "$(post "$h.$evilp.$s" "$T/a.json")"
[ "$(jq -r .error "$T/body")" = bad-signature ] || fail tampered "reason"
want alg-none 401 "$(post "$(tok "$ISS" "$KEY" 0 none)" "$T/a.json")"
[ "$(jq -r .error "$T/body")" = bad-algorithm ] || fail alg-none "reason"
grep -q 'event=auth-failed.*reason=expired.*remote=127.0.0.1' "$T/main.log" || fail auth-log "no auth-failed line"
grep -q "$s" "$T/main.log" && fail auth-log "a token was logged"
ok "missing, expired, future-dated, tampered and alg-none tokens -> 401, logged without the token"

want wrong-service 403 "$(req -X POST -H "Authorization: Bearer $(tok)" -H 'Content-Type: application/json' \
    --data-binary @"$T/a.json" "$U/v1/services/not-my-service/submissions")"
ok "service not listed for the client -> 403"

# ---- status lookup ---------------------------------------------------------
want status 200 "$(req -H "Authorization: Bearer $(tok)" "$U/v1/submissions/$REF")"
[ "$(jq -r .state "$T/body")" = queued ] || fail status "state $(cat "$T/body")"
[ "$(jq -r .service "$T/body")" = "$SVC" ] || fail status "service"
grep -qi 'jones\|answers\|payload' "$T/body" && fail status "payload leaked: $(cat "$T/body")"
want status-none 404 "$(req -H "Authorization: Bearer $(tok)" "$U/v1/submissions/FRY-20000101-000001")"
want status-noauth 401 "$(req "$U/v1/submissions/$REF")"
ok "GET own reference -> 200 with state and no payload; unknown -> 404"

# ---- rate limit of failed logins (from a second loopback address) --------
for i in $(seq 10); do
    code=$(req --interface 127.0.0.2 -X POST -H "Authorization: Bearer bad.token.$i" \
        -H 'Content-Type: application/json' --data-binary @"$T/a.json" "$U/v1/services/$SVC/submissions")
    [ "$code" = 401 ] || [ "$code" = 429 ] || fail ratelimit "attempt $i: $code"
done
want ratelimit 429 "$(req --interface 127.0.0.2 -X POST -H "Authorization: Bearer bad.token.11" \
    -H 'Content-Type: application/json' --data-binary @"$T/a.json" "$U/v1/services/$SVC/submissions")"
sub HTTP0004D > "$T/d.json"
want ratelimit-good-token 202 "$(post "$(tok)" "$T/d.json" --interface 127.0.0.2)"
sub HTTP0004E > "$T/e.json"
want ratelimit-other-addr 202 "$(post "$(tok)" "$T/e.json")"
ok "10 failed logins from one address -> its bad tokens get 429; a good token from it still gets in"

# ---- NDJSON -------------------------------------------------------------------
for r in ND000001 ND000002; do sub $r; done > "$T/batch.ndjson"
sed -n 5p "$T/ex/submissions.ndjson" >> "$T/batch.ndjson"
want ndjson 202 "$(req -X POST -H "Authorization: Bearer $(tok)" -H 'Content-Type: application/x-ndjson' \
    --data-binary @"$T/batch.ndjson" "$U/v1/services/$SVC/submissions")"
[ "$(jq -r '.accepted,.rejected' "$T/body" | tr '\n' ' ')" = "2 1 " ] || fail ndjson "$(cat "$T/body")"
[ "$(jq -r '.results[2].line' "$T/body")" = 3 ] || fail ndjson "line numbers"
ok "NDJSON batch -> per-line results (2 accepted, line 3 rejected)"

# ---- SIGHUP: broken config refused, good config applied ----------------------
cp "$CFG" "$T/ferry.good"
sed 's|<intake |<intake no-such-attribute="1" |' "$T/ferry.good" > "$CFG"
kill -HUP "$MAIN"
for _ in $(seq 50); do grep -q 'event=config-reload-refused' "$T/main.log" && break; sleep 0.1; done
grep -q 'event=config-reload-refused.*no-such-attribute' "$T/main.log" || fail hup-bad "problem not logged: $(tail -5 "$T/main.log")"
sub HTTP0005E > "$T/e.json"
want hup-bad-serving 202 "$(post "$(tok)" "$T/e.json")"
ok "SIGHUP with a broken config: refused, problem logged, still serving"

want second-before 401 "$(post "$(tok second-frontend "$T/ex/secrets/second.key")" "$T/e.json")"
sed 's|<target name="claims-mainframe"|<client id="second-frontend" secret-file="secrets/second.key"><service>refund-claim</service></client>\n  &|' \
    "$T/ferry.good" > "$CFG"
"$FERRY_BIN" check --config "$CFG" >/dev/null 2>&1 || fail hup-good "test config does not check: $("$FERRY_BIN" check --config "$CFG" 2>&1 | head -5)"
kill -HUP "$MAIN"
for _ in $(seq 50); do grep -q 'event=config-reloaded' "$T/main.log" && break; sleep 0.1; done
grep -q 'event=config-reloaded' "$T/main.log" || fail hup-good "not reloaded: $(tail -5 "$T/main.log")"
sub HTTP0006F > "$T/f.json"
want second-after 202 "$(post "$(tok second-frontend "$T/ex/secrets/second.key")" "$T/f.json")"
ok "SIGHUP with a good config: a new client can post at once"

want other-clients-ref 404 "$(req -H "Authorization: Bearer $(tok second-frontend "$T/ex/secrets/second.key")" \
    "$U/v1/submissions/$REF")"
ok "another client's reference -> 404 (not 403: references cannot be probed)"

# ---- metrics --------------------------------------------------------------------
want metrics 200 "$(req "$U/metrics")"
grep -v '^#' "$T/body" | grep -Ev '^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? -?[0-9.+eInf]+$' \
    && fail metrics "lines not in Prometheus text format"
grep -q '^ferry_conservation_difference 0$' "$T/body" || fail metrics "conservation: $(grep conservation "$T/body")"
for m in ferry_records ferry_intake_accepted_total ferry_intake_rejected_total \
         ferry_intake_duplicates_total ferry_spool_size_bytes ferry_oldest_queued_age_seconds \
         ferry_job_runs_total ferry_auth_failures_total; do
    grep -q "^$m" "$T/body" || fail metrics "no $m"
done
grep -q "^ferry_records{service=\"$SVC\",target=\"claims-mainframe\",state=\"queued\"} 8$" "$T/body" \
    || fail metrics "8 queued expected: $(grep '^ferry_records' "$T/body")"
ok "/metrics parses as Prometheus text, conservation difference 0, 7 queued"

# ---- GET /: a page linking the endpoints, /metrics' policy (no token) ----------
st=$(curl -s -o "$T/body" -D "$T/head" -w '%{http_code}' --max-time 20 "$U/")
want index 200 "$st"
grep -qi '^content-type: text/html; charset=utf-8' "$T/head" || fail index "$(cat "$T/head")"
for h in /healthz /readyz /metrics; do
    grep -q "<a href=\"$h\">" "$T/body" || fail index "no link to $h: $(cat "$T/body")"
    want "index-link $h" 200 "$(req "$U$h")"
    req "$U/" > /dev/null
done
grep -q "/v1/services/$SVC/submissions" "$T/body" || fail index "no intake path: $(cat "$T/body")"
grep -q '/v1/mi' "$T/body" || fail index "no /v1/mi"
grep -q 'FRY-[0-9]' "$T/body" && fail index "a record reference on the page"
grep -qi '<script\|https\?://[a-z]' "$T/body" && fail index "script or outside resource on the page"
python3 -c 'import sys, html.parser; p = html.parser.HTMLParser(); p.feed(open(sys.argv[1]).read()); p.close()' "$T/body" \
    || fail index "not HTML"
want index-post 405 "$(req -X POST "$U/")"
ok "GET / is a small HTML page linking /healthz, /readyz, /metrics, /v1/mi and the intake path, no token, no records"

# ---- SIGTERM under load --------------------------------------------------------
"$DRIVE" burst "$U/v1/services/$SVC/submissions" "$KEY" "$ISS" "$T/tpl.json" TA 3000 64 "$T/term.refs" > "$T/term.out" &
BP=$!
wait_lines "$T/term.refs" 50
stop_term "$MAIN"; rc=$RC
wait "$BP"
[ "$rc" = 0 ] || fail sigterm "exit $rc: $(tail -20 "$T/main.log")"
grep -q 'event=stopped' "$T/main.log" || fail sigterm "no stopped line"
n202=$(awk '$3==202' "$T/term.refs" | wc -l)
[ "$n202" -gt 0 ] || fail sigterm "nothing was accepted before SIGTERM: $(cat "$T/term.out")"
ok "SIGTERM under load: exit 0 ($(cat "$T/term.out"))"

check_durable() {   # check_durable NAME REFS_FILE
    "$FERRY_BIN" queue --spool "$SP" --json > "$T/q.json"
    jq -r '.records[] | "\(.reference)\t\(.frontend_reference)"' "$T/q.json" | sort > "$T/ledger.txt"
    awk -F'\t' '$3==202 {print $1"\t"$2}' "$2" | sort > "$T/answered.txt"
    missing=$(comm -23 "$T/answered.txt" "$T/ledger.txt" | wc -l)
    [ "$missing" = 0 ] || fail "$1" "$missing answered 202 but not in the ledger: $(comm -23 "$T/answered.txt" "$T/ledger.txt" | head -3)"
}
check_durable sigterm-durable "$T/term.refs"
ok "every submission answered 202 before SIGTERM is in the ledger ($n202)"

# ---- 1,000 concurrent submissions, SIGKILL in the middle --------------------------
# test builds crash at the 300th answered enqueue; release builds get kill -9
start crash "$CFG" "$SP" FERRY_CRASH_AT=http-after-enqueue@300
CRASH=$PID
"$DRIVE" burst "$U/v1/services/$SVC/submissions" "$KEY" "$ISS" "$T/tpl.json" KB 1000 64 "$T/kill.refs" > "$T/kill.out" &
BP=$!
wait_lines "$T/kill.refs" 100
kill -9 "$CRASH" 2>/dev/null || true
wait "$BP"
wait "$CRASH" 2>/dev/null || true
n202=$(awk '$3==202' "$T/kill.refs" | wc -l)
[ "$n202" -gt 0 ] || fail sigkill "nothing accepted before the kill: $(cat "$T/kill.out")"
[ "$n202" -lt 1000 ] || fail sigkill "the kill came after the burst: $(cat "$T/kill.out")"
start after "$CFG" "$SP"
AFTER=$PID
check_durable sigkill-durable "$T/kill.refs"
want after-metrics 200 "$(req "$U/metrics")"
grep -q '^ferry_conservation_difference 0$' "$T/body" || fail sigkill "conservation after crash"
ok "SIGKILL during 1,000 concurrent submissions: all $n202 answered 202 are in the ledger after restart ($(cat "$T/kill.out"))"

# ---- ferry jobs -----------------------------------------------------------------
"$FERRY_BIN" jobs --config "$CFG" --spool "$SP" --json > "$T/jobs.json" || fail jobs "exit $?"
[ "$(jq '.jobs | length' "$T/jobs.json")" = 3 ] || fail jobs "3 jobs expected"
jq -e '.jobs[] | select(.name=="claims-nightly") | .next_run_utc | test("T0[01]:30:00\\.000Z$")' "$T/jobs.json" >/dev/null \
    || fail jobs "claims-nightly next run: $(cat "$T/jobs.json")"
ok "ferry jobs --json lists 3 jobs with their next run"
stop_term "$AFTER"; rc=$RC
[ "$rc" = 0 ] || fail after-stop "exit $rc"

# ---- 503 when the spool is below min-free -----------------------------------------
sed 's|<spool dir="\([^"]*\)"/>|<spool dir="\1" min-free="100000000G"/>|' "$T/ferry.good" > "$T/ex/full.xml"
grep -q 'min-free' "$T/ex/full.xml" || fail full "could not set min-free"
start full "$T/ex/full.xml" "$T/spool2"
FULL=$PID
sub HTTP0007G > "$T/g.json"
req -D "$T/hdr" -X POST -H "Authorization: Bearer $(tok)" -H 'Content-Type: application/json' \
    --data-binary @"$T/g.json" "$U/v1/services/$SVC/submissions" > "$T/code"
want full 503 "$(cat "$T/code")"
grep -qi '^Retry-After: [0-9]' "$T/hdr" || fail full "no Retry-After"
want full-ready 503 "$(req "$U/readyz")"
stop_term "$FULL"; rc=$RC
[ "$rc" = 0 ] || fail full-stop "exit $rc"
n=$("$FERRY_BIN" queue --spool "$T/spool2" --json | jq '.records | length')
[ "$n" = 0 ] || fail full "a refused submission was stored"
ok "spool below min-free -> 503 with Retry-After, readyz 503, nothing stored"

# ---- TLS ----------------------------------------------------------------------------
if command -v openssl >/dev/null; then
    mkdir -p "$T/ex/tls"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/ex/tls/key.pem" -out "$T/ex/tls/cert.pem" \
        -days 1 -subj /CN=127.0.0.1 -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
    chmod 600 "$T/ex/tls/key.pem"
    sed 's|<intake |<intake cert-file="tls/cert.pem" key-file="tls/key.pem" |' "$T/ferry.good" > "$T/ex/tls.xml"
    start tls "$T/ex/tls.xml" "$T/spool3"
    TLS=$PID
    grep -q 'event=listening.*tls=on' "$T/tls.log" || fail tls "not on"
    sub HTTP0008H > "$T/h.json"
    want tls-post 202 "$(req --cacert "$T/ex/tls/cert.pem" -X POST -H "Authorization: Bearer $(tok)" \
        -H 'Content-Type: application/json' --data-binary @"$T/h.json" "https://127.0.0.1:$PORT/v1/services/$SVC/submissions")"
    [ "$(req --max-time 3 "http://127.0.0.1:$PORT/healthz")" = 200 ] && fail tls "plain HTTP answered"
    stop_term "$TLS"; [ "$RC" = 0 ] || fail tls-stop "exit $RC"
    ok "listener with cert and key speaks HTTPS only"
fi

echo "$CASES cases passed"
