#!/bin/bash
# 55_serve_reload - one bad target is refused by `ferry check` and by a live
# SIGHUP, with the adapter's own validation (the code the daemon runs to
# start the target), while the running configuration keeps serving: a
# healthy ODBC stream target (SQLite through its ODBC driver) goes on
# delivering.  Cases: SOAP endpoint with a non-HTTP scheme, a receipt XPath
# that does not compile, an ODBC table that is no identifier; each fails
# `ferry check` (exit 78, file:line), each SIGHUP is refused whole, logged
# with file:line and counted in ferry_config_reload_failures_total; then a
# good configuration is applied and counted in ferry_config_reloads_total.
set -eu
. "$(dirname "$0")/lib.sh"
DRIVE="${FERRY_BUILD:?}/tests/helpers/http_drive"
[ -x "$DRIVE" ] || { echo "no $DRIVE"; exit 1; }
for c in curl jq python3 sqlite3; do
    command -v $c >/dev/null || { echo "$c not installed"; exit 77; }
done
ls /usr/lib/*/odbc/libsqlite3odbc.so >/dev/null 2>&1 || { echo "no SQLite ODBC driver"; exit 77; }

PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    [ -n "${KEEP_LOG:-}" ] && cp "$T/main.log" "$KEEP_LOG"
    rm -rf "$T"
}
trap cleanup EXIT

example_config "$T/ex"
CFG="$T/ex/ferry.xml"
KEY="$T/ex/secrets/frontend.key"
ISS=heating-refund-frontend
SVC=change-of-address
python3 - "$CFG" <<'PY'
import re, sys
p = sys.argv[1]; s = open(p).read()
s = re.sub(r'\s*<job\b[^>]*/>', '', s, flags=re.S)
open(p, 'w').write(s)
PY
cp "$CFG" "$T/ferry.good"
cp "$T/ex/mappings/change-of-address.xml" "$T/coa.good"
head -1 "$T/ex/address-changes.ndjson" \
    | jq -c '.submission_reference="COA@N@" | .answers[0].answer_text="AB@N@C"' > "$T/tpl.json"
sub() { sed "s/@N@/$1/g" "$T/tpl.json"; }   # sub 6-DIGITS: a distinct mover
tok() { "$DRIVE" token "$KEY" "$ISS" 0 HS256; }
req() { curl -s -o "$T/body" -w '%{http_code}' --max-time 20 "$@"; }
post() {   # post TOKEN BODYFILE
    req -X POST -H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
        --data-binary @"$2" "$U/v1/services/$SVC/submissions"
}
want() { [ "$3" = "$2" ] || fail "$1" "status $3, wanted $2: $(head -c 600 "$T/body")"; }
rows() { sqlite3 "$T/ex/legacy.db" 'SELECT count(*) FROM ADDRESS_CHANGES'; }
# delivered N - until the legacy table holds N rows (at most 20 s)
delivered() {
    for _ in $(seq 200); do [ "$(rows)" -ge "$1" ] && return 0; sleep 0.1; done
    fail "delivered $1" "the table holds $(rows) rows"
}
metric() { req "$U/metrics" >/dev/null; sed -n "s/^$1 //p" "$T/body"; }

# broken NAME - write the broken configuration NAME over ferry.xml (and the
# mapping it uses); the healthy customer-db target stays beside it
broken() {
    cp "$T/ferry.good" "$CFG"
    cp "$T/coa.good" "$T/ex/mappings/change-of-address.xml"
    case $1 in
    soap-scheme|soap-xpath)
        local ep=http://127.0.0.1:9/claims xp=//c:Receipt
        [ "$1" = soap-scheme ] && ep=ftp://127.0.0.1/claims
        [ "$1" = soap-xpath ] && xp='//c:Receipt['
        python3 - "$CFG" "$ep" <<'PY'
import sys
p, ep = sys.argv[1], sys.argv[2]; s = open(p).read()
s = s.replace('  <service name="refund-claim"',
    '  <target name="claims-soap" type="soap" endpoint="%s"/>\n'
    '  <service name="claims-soap-svc" mapping="mappings/soap.xml" target="claims-soap"/>\n'
    '  <service name="refund-claim"' % ep, 1)
open(p, 'w').write(s)
PY
        cat > "$T/ex/mappings/soap.xml" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<mapping xmlns="urn:ferry:mapping:1" service="claims-soap-svc">
  <accept><field name="ref" path="reference" type="string" required="true"/></accept>
  <target name="claims-soap" operation="SubmitClaim" namespace="urn:x" prefix="c"
          receipt-xpath="$xp">
    <map to="Reference" from="ref"/>
  </target>
</mapping>
XML
        ;;
    odbc-table)
        sed -i 's|table="ADDRESS_CHANGES"|table="ADDRESS_CHANGES; DROP TABLE X"|' \
            "$T/ex/mappings/change-of-address.xml"
        ;;
    esac
}

# ---- ferry check runs every adapter's own validation -------------------------
for b in soap-scheme soap-xpath odbc-table; do
    broken $b
    expect_exit 78 "$FERRY_BIN" check --config "$CFG"
    case $b in
    soap-scheme) pat='ferry.xml:[0-9]*: target .claims-soap.*endpoint must be an http:// or https:// URL' ;;
    soap-xpath)  pat='ferry.xml:[0-9]*: target .claims-soap.*receipt-xpath' ;;
    odbc-table)  pat='ferry.xml:[0-9]*: target .customer-db.*is not a valid identifier' ;;
    esac
    grep -q "$pat" "$T/err" || fail "check-$b" "no file:line problem: $(cat "$T/err")"
    ok "ferry check refuses $b with file:line"
done
cp "$T/ferry.good" "$CFG"; cp "$T/coa.good" "$T/ex/mappings/change-of-address.xml"
expect_exit 0 "$FERRY_BIN" check --config "$CFG"
ok "ferry check passes the healthy configuration"

# ---- a live daemon refuses each broken SIGHUP whole ----------------------------
: > "$T/main.log"
"$FERRY_BIN" serve --config "$CFG" --spool "$T/spool" --listen 127.0.0.1:0 2>"$T/main.log" &
MAIN=$!
PIDS+=("$MAIN")
PORT=
for _ in $(seq 100); do
    PORT=$(sed -n 's/.*event=listening addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/main.log")
    [ -n "$PORT" ] && break
    kill -0 "$MAIN" 2>/dev/null || fail start "daemon exited: $(cat "$T/main.log")"
    sleep 0.1
done
[ -n "$PORT" ] || fail start "no listening line"
U="http://127.0.0.1:$PORT"
sub 900001 > "$T/a.json"
want first 202 "$(post "$(tok)" "$T/a.json")"
delivered 1
ok "the healthy ODBC target delivers before any reload"

n=0
for b in soap-scheme soap-xpath odbc-table; do
    broken $b
    n=$((n+1))
    kill -HUP "$MAIN"
    for _ in $(seq 100); do
        [ "$(grep -c 'event=config-reload-refused.*running configuration is kept' "$T/main.log")" -ge $n ] && break
        sleep 0.1
    done
    [ "$(grep -c 'event=config-reload-refused.*running configuration is kept' "$T/main.log")" -ge $n ] \
        || fail "hup-$b" "not refused: $(tail -5 "$T/main.log")"
    grep -q 'event=config-reload-refused where=[^ ]*ferry.xml:[0-9]' "$T/main.log" \
        || fail "hup-$b" "problem without file:line: $(grep reload-refused "$T/main.log" | tail -3)"
    [ "$(metric ferry_config_reload_failures_total)" = $n ] \
        || fail "hup-$b" "failures metric $(metric ferry_config_reload_failures_total), wanted $n"
    [ "$(metric ferry_config_reloads_total)" = 0 ] || fail "hup-$b" "counted as applied"
    sub "91000$n" > "$T/b.json"
    want "hup-$b-serving" 202 "$(post "$(tok)" "$T/b.json")"
    delivered $((n+1))
    ok "SIGHUP with $b refused whole, logged with file:line, counted; the old configuration keeps delivering"
done
grep -q 'event=config-reloaded' "$T/main.log" && fail hup "a broken configuration was applied"

cp "$T/ferry.good" "$CFG"; cp "$T/coa.good" "$T/ex/mappings/change-of-address.xml"
kill -HUP "$MAIN"
for _ in $(seq 100); do grep -q 'event=config-reloaded' "$T/main.log" && break; sleep 0.1; done
grep -q 'event=config-reloaded' "$T/main.log" || fail hup-good "not reloaded: $(tail -5 "$T/main.log")"
[ "$(metric ferry_config_reloads_total)" = 1 ] || fail hup-good "reloads metric"
[ "$(metric ferry_config_reload_failures_total)" = 3 ] || fail hup-good "failures metric moved"
sub 920001 > "$T/c.json"
want after-good 202 "$(post "$(tok)" "$T/c.json")"
delivered 5
ok "SIGHUP with the good configuration applied and counted; delivery goes on"

kill -TERM "$MAIN"
RC=0; wait "$MAIN" || RC=$?
[ $RC -eq 0 ] || fail stop "exit $RC"
ok "SIGTERM: clean stop"
echo "$CASES cases"
