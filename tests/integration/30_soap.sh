#!/bin/bash
# 30_soap.sh - the SOAP adapter against a real SOAP server.
#
# The peer is tests/peers/soap/server.js: a claims service generated from
# claims.wsdl by the node `soap` package (SOAP 1.1 at /claims, 1.2 at
# /claims12), on a free 127.0.0.1 port in a temp folder.  Its behaviour is
# chosen by the reference (see server.js).  tests/helpers/soap_drive makes
# one adapter instance and prints "REF OUTCOME receipt=.. msg=.." per item.
# Covers: receipts (1.1, 1.2), Client/Sender faults, Server faults, the
# busy override, HTTP 503, 404, XXE refusal, size cap, timeout -> in-doubt
# then probe, WS-Security text and digest, 32 concurrent calls each logged
# once, calls really in parallel, server stopped -> retry, and TLS with a
# private CA (server verified, wrong CA refused, client certificate).
# Every server started is stopped on exit.
set -u
. "$(dirname "$0")/lib.sh"
BUILD=${FERRY_BUILD:-$FERRY_ROOT/build/san}
DRIVE=$BUILD/tests/helpers/soap_drive
. "$FERRY_ROOT/tests/peers/soap.sh"
trap 'soap_stop; rm -rf "$T"' EXIT

soap_have "$T" || { echo "skip: $SOAP_MISSING"; exit 77; }
[ -x "$DRIVE" ] || fail setup "missing $DRIVE (build the helpers first)"

# start_server ARGS... - node server on a free port; sets PORT, SOAP_PID
start_server() {
    soap_start "$T" "$@" || fail setup "SOAP server did not start"
    PORT=$SOAP_PORT
}

# drive ARGS... - run the driver into $T/out (stdout+stderr)
drive() {
    "$DRIVE" "$@" > "$T/out" 2>&1 || { cat "$T/out"; fail drive "driver exit $?"; }
}
# expect REF OUTCOME [PATTERN] - the line for REF has OUTCOME (and PATTERN)
expect() {
    local line
    line=$(grep "^$1 " "$T/out") || { cat "$T/out"; fail "$1" "no result"; }
    case "$line" in "$1 $2 "*) ;; *) fail "$1" "wanted $2: $line" ;; esac
    if [ $# -ge 3 ]; then
        printf '%s\n' "$line" | grep -q -- "$3" || fail "$1" "wanted /$3/: $line"
    fi
}

SECRET=$T/secret.txt
MARKER="FERRY-XXE-MARKER-$$-$RANDOM"
echo "$MARKER" > "$SECRET"
LOG=$T/requests.log
start_server --log "$LOG" --slow-ms 3000 --xxe-file "$SECRET"
E11=http://127.0.0.1:$PORT/claims
E12=http://127.0.0.1:$PORT/claims12

drive --endpoint "$E11" R1 R2:1.00
expect R1 ok 'receipt="RCPT-R1"'
expect R2 ok 'receipt="RCPT-R2"'
drive --endpoint "$E12" --version 1.2 R3
expect R3 ok 'receipt="RCPT-R3"'
ok "receipt taken by XPath (SOAP 1.1 and 1.2)"

drive --endpoint "$E11" BAD1 R4:0
expect BAD1 fail 'SOAP fault Client: reference BAD1 rejected: unknown claimant'
expect R4 fail 'Amount must be greater than zero'
drive --endpoint "$E12" --version 1.2 BAD2
expect BAD2 fail 'SOAP fault Sender: reference BAD2 rejected'
ok "Client / Sender fault -> fail with the back end's words"

drive --endpoint "$E11" SRV1
expect SRV1 retry 'Server: database unavailable'
drive --endpoint "$E12" --version 1.2 SRV2
expect SRV2 retry 'Receiver: database unavailable'
ok "Server / Receiver fault -> retry"

drive --endpoint "$E11" BUSY1
expect BUSY1 fail 'system busy'
drive --endpoint "$E11" --faults BUSY2 DUP1
expect BUSY2 retry 'mapping override'
expect DUP1 fail 'duplicate reference DUP1 (mapping override)'
ok "fault overrides: busy Client fault -> retry, duplicate Server fault -> fail"

drive --endpoint "$E11" H5031
expect H5031 retry 'HTTP 503 without a SOAP fault'
drive --endpoint "http://127.0.0.1:$PORT/nowhere" R5
expect R5 fail 'HTTP 404'
ok "HTTP 503 -> retry, HTTP 404 -> fail"

drive --endpoint "$E11" XXE1
expect XXE1 fail 'response contains a DOCTYPE; refused'
grep -q "$MARKER" "$T/out" && fail xxe "secret marker leaked"
curl -s -o "$T/raw" -H 'Content-Type: text/xml' -H 'SOAPAction: ""' \
    --data-binary "<e:Envelope xmlns:e='http://schemas.xmlsoap.org/soap/envelope/'><e:Body><SubmitClaim xmlns='urn:ferry:test:claims'><Reference>XXE2</Reference><Amount>1</Amount></SubmitClaim></e:Body></e:Envelope>" "$E11"
grep -q "ENTITY xxe SYSTEM \"file://$SECRET\"" "$T/raw" || fail xxe "the peer did not send an XXE payload"
ok "XXE response refused; the secret never appears"

drive --endpoint "$E11" --max-response 256 R6
expect R6 in-doubt 'larger than max-response (256 bytes)'
ok "response over max-response stopped -> in-doubt"

start=$(date +%s%N)
drive --endpoint "$E11" --timeout 1s SLOW1
ms=$(( ($(date +%s%N) - start) / 1000000 ))
expect SLOW1 in-doubt 'after the request was sent'
[ "$ms" -lt 2900 ] || fail slow "took ${ms}ms, timeout is 1s"
drive --endpoint "$E11" --probe SLOW1
expect SLOW1 fail 'not found by ClaimStatus'
sleep 2.5
drive --endpoint "$E11" --probe SLOW1 NEVER1
expect SLOW1 ok 'receipt="RCPT-SLOW1"'
expect NEVER1 fail 'not found'
ok "timeout after sending -> in-doubt; probe tells arrived / not arrived"

drive --endpoint "$E11" --concurrency 32 --count 32 --prefix CONC
[ "$(grep -c '^CONC[0-9]* ok receipt="RCPT-CONC' "$T/out")" = 32 ] ||
    { cat "$T/out"; fail concurrency "32 ok wanted"; }
[ "$(grep -c '^CONC' "$LOG")" = 32 ] || fail concurrency "server log: $(grep -c '^CONC' "$LOG") CONC requests"
dups=$(grep '^CONC' "$LOG" | sort | uniq -d | wc -l)
[ "$dups" = 0 ] || fail concurrency "$dups references logged twice"
ok "32 concurrent calls: all ok, each reference logged exactly once"

start_server --log "$LOG" --slow-ms 1500
E11=http://127.0.0.1:$PORT/claims
start=$(date +%s%N)
drive --endpoint "$E11" --concurrency 8 --timeout 10s SLOWA SLOWB SLOWC SLOWD SLOWE SLOWF SLOWG SLOWH
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$(grep -c ' ok ' "$T/out")" = 8 ] || { cat "$T/out"; fail parallel "8 ok wanted"; }
[ "$ms" -lt 4000 ] || fail parallel "8 x 1.5s calls took ${ms}ms: not in parallel"
ok "8 slow calls overlap (${ms}ms for 8 x 1500ms)"

start_server --user claims --password 's3cr&t pw'
E11=http://127.0.0.1:$PORT/claims
E12=http://127.0.0.1:$PORT/claims12
printf 's3cr&t pw\n' > "$T/pw"; chmod 600 "$T/pw"
printf 'wrong\n' > "$T/bad"; chmod 600 "$T/bad"
drive --endpoint "$E11" --user claims --password-file "$T/pw" --password-type digest W1
expect W1 ok
drive --endpoint "$E12" --version 1.2 --user claims --password-file "$T/pw" --password-type text W2
expect W2 ok
drive --endpoint "$E11" --user claims --password-file "$T/bad" --password-type digest W3
expect W3 stop 'authentication failed: bad digest'
drive --endpoint "$E11" W4
expect W4 stop 'no UsernameToken'
grep -q 's3cr&t' "$T/out" && fail wsse "password in output"
ok "WS-Security UsernameToken: digest and text accepted, wrong or missing password refused (STOP: the target stops)"

soap_stop
drive --endpoint "$E11" --connect-timeout 2s R7
expect R7 retry 'cannot connect'
ok "server stopped -> retry (connection refused)"

# TLS with a private CA; verification always on
if command -v openssl >/dev/null; then
    (
    cd "$T"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=ferry test CA" \
        -keyout ca.key -out ca.pem >/dev/null 2>&1
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=other CA" \
        -keyout other.key -out other.pem >/dev/null 2>&1
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
        -keyout srv.key -out srv.csr >/dev/null 2>&1
    printf 'subjectAltName=IP:127.0.0.1\n' > san.ext
    openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
        -days 2 -extfile san.ext -out srv.pem >/dev/null 2>&1
    openssl req -newkey rsa:2048 -nodes -subj "/CN=ferry client" \
        -keyout cli.key -out cli.csr >/dev/null 2>&1
    openssl x509 -req -in cli.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
        -days 2 -out cli.pem >/dev/null 2>&1
    ) || fail tls "openssl could not make the test CA"
    start_server --tls-cert "$T/srv.pem" --tls-key "$T/srv.key"
    S11=https://127.0.0.1:$PORT/claims
    drive --endpoint "$S11" --ca-file "$T/ca.pem" T1
    expect T1 ok 'receipt="RCPT-T1"'
    drive --endpoint "$S11" --ca-file "$T/other.pem" T2
    expect T2 stop 'TLS certificate'
    drive --endpoint "$S11" T3
    expect T3 stop 'TLS certificate'
    ok "https: verified against ca-file; wrong CA or system CAs refused (STOP: the target stops)"
    start_server --tls-cert "$T/srv.pem" --tls-key "$T/srv.key" --client-ca "$T/ca.pem"
    S11=https://127.0.0.1:$PORT/claims
    drive --endpoint "$S11" --ca-file "$T/ca.pem" --cert-file "$T/cli.pem" --key-file "$T/cli.key" T4
    expect T4 ok 'receipt="RCPT-T4"'
    drive --endpoint "$S11" --ca-file "$T/ca.pem" T5
    grep -q '^T5 ok ' "$T/out" && fail tls "no client certificate but ok"
    ok "client certificate required by the server: sent and accepted"
    soap_stop
fi
echo "$CASES cases passed"
