#!/bin/bash
# 70_systemd - ferry as systemd runs it, checked with systemd's own tools:
# the unit, sysusers.d and tmpfiles.d files agree (systemd-sysusers and
# systemd-tmpfiles build them into a root folder); `systemd-analyze
# security` rates the unit 2.5 or lower; RestartPreventExitStatus= holds
# the exits of a configuration and a usage error; `ferry serve` speaks
# sd_notify to a real NOTIFY_SOCKET (READY=1 after the listener, RELOADING=1
# and READY=1 around SIGHUP, STATUS= on a refused reload, WATCHDOG=1,
# STOPPING=1); log lines carry journald <N> prefixes only when stderr is
# the stream JOURNAL_STREAM names.
set -eu
. "$(dirname "$0")/lib.sh"
command -v systemd-analyze >/dev/null || { echo "systemd-analyze not installed"; exit 77; }
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$T"
}
trap cleanup EXIT
D=$FERRY_ROOT/dist
UNIT=$T/ferry.service
sed 's|@PREFIX@|/usr|g' "$D/ferry.service" > "$UNIT"
key() { sed -n "s/^$1=//p" "$UNIT"; }

# ---- the unit's security figure ---------------------------------------------
systemd-analyze security --offline=true --no-pager "$UNIT" > "$T/sec" 2>&1 || true
fig=$(sed -n 's/.*Overall exposure level for ferry.service: \([0-9.]*\).*/\1/p' "$T/sec")
[ -n "$fig" ] || fail security "no figure: $(tail -3 "$T/sec")"
awk -v f="$fig" 'BEGIN { exit !(f <= 2.5) }' || fail security "rated $fig, wanted <= 2.5"
ok "systemd-analyze security rates the unit $fig (<= 2.5)"
[ "$(key Type)" = notify ] || fail unit "Type=$(key Type), wanted notify"
[ -n "$(key WatchdogSec)" ] || fail unit "no WatchdogSec="
ok "Type=notify with WatchdogSec=$(key WatchdogSec)"

# ---- unit, sysusers and tmpfiles agree --------------------------------------
R=$T/root
mkdir -p "$R/etc"
systemd-sysusers --root="$R" "$D/ferry.sysusers" > "$T/su" 2>&1 || fail sysusers "$(cat "$T/su")"
systemd-tmpfiles --root="$R" --create "$D/ferry.tmpfiles" > "$T/tf" 2>&1 || fail tmpfiles "$(cat "$T/tf")"
user=$(key User) group=$(key Group)
uid=$(awk -F: -v u="$user" '$1 == u { print $3 }' "$R/etc/passwd")
gid=$(awk -F: -v g="$group" '$1 == g { print $3 }' "$R/etc/group")
[ -n "$uid" ] && [ -n "$gid" ] || fail sysusers "no $user:$group in $(cat "$R/etc/passwd")"
spool=$(key ReadWritePaths)
[ "$(stat -c '%a %u %g' "$R$spool")" = "700 $uid $gid" ] ||
    fail tmpfiles "$spool is $(stat -c '%a %u %g' "$R$spool"), wanted 700 $uid $gid"
home=$(awk -F: -v u="$user" '$1 == u { print $6 }' "$R/etc/passwd")
[ "$home" = "$spool" ] || fail sysusers "home $home is not the spool $spool"
cfg=$(key ExecStart | sed -n 's/.* --config \([^ ]*\).*/\1/p')
[ "$(key ExecStartPre | sed -n 's/.* --config \([^ ]*\).*/\1/p')" = "$cfg" ] ||
    fail unit "ExecStartPre checks another config than ExecStart serves"
cdir=$(dirname "$cfg")
[ "$(stat -c '%a %u %g' "$R$cdir")" = "750 0 $gid" ] ||
    fail tmpfiles "$cdir is $(stat -c '%a %u %g' "$R$cdir"), wanted 750 0 $gid"
ok "user $user ($uid:$gid), spool $spool 0700, config folder $cdir agree"

# ---- exits that must not restart the daemon ---------------------------------
mkdir -p "$T/ex"
cat > "$T/ex/ferry.xml" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<ferry xmlns="urn:ferry:config:1">
  <spool dir="$T/spool"/>
  <log format="logfmt" level="info"/>
  <intake listen="127.0.0.1:8480"/>
</ferry>
XML
sed 's|<intake |<intake no-such-attribute="1" |' "$T/ex/ferry.xml" > "$T/ex/bad.xml"
prevent=" $(key RestartPreventExitStatus) "
set +e
"$FERRY_BIN" serve --config "$T/ex/bad.xml" 2>/dev/null; cfg_rc=$?
"$FERRY_BIN" serve --no-such-option 2>/dev/null; use_rc=$?
set -e
for rc in $cfg_rc $use_rc; do
    case "$prevent" in *" $rc "*) ;; *) fail restart "exit $rc not in RestartPreventExitStatus=$prevent" ;; esac
done
ok "configuration error ($cfg_rc) and usage error ($use_rc) do not restart"

# ---- sd_notify through a real notification socket ---------------------------
NS=$T/notify.sock
python3 - "$NS" "$T/notes" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as out:
    while True:
        msg = s.recv(4096).decode()
        out.write(msg.replace("\n", "|") + "\n")
PY
PIDS+=($!)
for _ in $(seq 50); do [ -S "$NS" ] && break; sleep 0.1; done
[ -S "$NS" ] || fail notify "listener did not start"
: > "$T/notes"
# serve's stderr is a file; JOURNAL_STREAM names that file, as systemd
# names the journal's socket
: > "$T/serve.log"
js=$(stat -c '%d:%i' "$T/serve.log")
NOTIFY_SOCKET=$NS WATCHDOG_USEC=400000 JOURNAL_STREAM=$js \
    "$FERRY_BIN" serve --config "$T/ex/ferry.xml" --listen 127.0.0.1:0 2>>"$T/serve.log" &
PID=$!
PIDS+=($PID)
waitfor() {   # waitfor PATTERN FILE - at most 10 s
    for _ in $(seq 100); do grep -q "$1" "$2" && return 0; sleep 0.1; done
    return 1
}
waitfor '^READY=1' "$T/notes" || fail notify-ready "no READY=1: $(cat "$T/notes"; cat "$T/serve.log")"
grep -q 'event=listening' "$T/serve.log" || fail notify-ready "READY=1 before the listener is open"
ok "READY=1 once the spool and the listener are open"
sleep 1
[ "$(grep -c '^WATCHDOG=1' "$T/notes")" -ge 3 ] ||
    fail watchdog "$(grep -c '^WATCHDOG=1' "$T/notes") pings in 1 s with WatchdogSec=0.4s"
ok "WATCHDOG=1 pinged at half the watchdog interval"

cp "$T/ex/ferry.xml" "$T/ex/good.xml"
cp "$T/ex/bad.xml" "$T/ex/ferry.xml"
kill -HUP "$PID"
waitfor 'reload refused' "$T/notes" || fail notify-refused "no STATUS=: $(cat "$T/notes")"
grep 'reload refused' "$T/notes" | grep -q '^READY=1|STATUS=.*no-such-attribute' ||
    fail notify-refused "STATUS= does not say why: $(grep 'reload refused' "$T/notes")"
grep -B3 'reload refused' "$T/notes" | grep -q '^RELOADING=1' ||
    fail notify-refused "no RELOADING=1 before: $(cat "$T/notes")"
ok "a refused reload: RELOADING=1, then READY=1 with the problem in STATUS="
PORT=$(sed -n 's/.*event=listening addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/serve.log")
gauge() { curl -s "http://127.0.0.1:$PORT/metrics" | sed -n "s/^$1 //p"; }
if command -v curl >/dev/null; then
    [ "$(gauge ferry_config_last_reload_successful)" = 0 ] || fail reload-gauge "not 0 after a refusal"
fi
cp "$T/ex/good.xml" "$T/ex/ferry.xml"
kill -HUP "$PID"
waitfor 'configuration reloaded' "$T/notes" || fail notify-reload "$(cat "$T/notes")"
[ "$(grep -c '^RELOADING=1' "$T/notes")" = 2 ] || fail notify-reload "$(cat "$T/notes")"
if command -v curl >/dev/null; then
    [ "$(gauge ferry_config_last_reload_successful)" = 1 ] || fail reload-gauge "not 1 after a good reload"
    [ -n "$(gauge ferry_config_last_reload_success_timestamp_seconds)" ] || fail reload-gauge "no timestamp"
fi
ok "a good reload: RELOADING=1, then READY=1 (and the reload gauge follows: 0 refused, 1 applied)"

kill -TERM "$PID"
rc=0; wait "$PID" || rc=$?
[ $rc = 0 ] || fail stop "exit $rc"
grep -q '^STOPPING=1' "$T/notes" || fail notify-stop "no STOPPING=1: $(cat "$T/notes")"
ok "STOPPING=1 on SIGTERM, exit 0"

# ---- journald priority prefixes ----------------------------------------------
grep -q '^<6>ts=.* level=info event=listening' "$T/serve.log" ||
    fail journal "no <6> on info: $(head -3 "$T/serve.log")"
grep -q '^<3>ts=.* level=error event=config-reload-refused' "$T/serve.log" ||
    fail journal "no <3> on error: $(grep refused "$T/serve.log" | head -2)"
[ "$(grep -vc '^<[0-7]>' "$T/serve.log")" = 0 ] ||
    fail journal "lines without a prefix: $(grep -v '^<[0-7]>' "$T/serve.log" | head -3)"
JOURNAL_STREAM=1:1 "$FERRY_BIN" serve --config "$T/ex/bad.xml" 2>"$T/plain.log" || true
grep -q '^<' "$T/plain.log" && fail journal "prefix when stderr is not the journal's stream"
ok "journald <N> prefixes only when stderr is JOURNAL_STREAM"
echo "$CASES cases"
