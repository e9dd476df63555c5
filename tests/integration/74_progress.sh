#!/bin/bash
# 74_progress - long CLI work shows progress the way docs/operator-guide.md
# says: without a terminal, logfmt progress events (each 10%, rising to
# 100%, with rate and time left) and no escape codes; on a terminal (a
# pty from script(1)) a bar that reaches 100% in every phase, shows rate
# and time left, and is cleared before each log line so none runs into it.
set -eu
. "$(dirname "$0")/lib.sh"
command -v script >/dev/null || { echo "script(1) not installed"; exit 77; }
trap 'rm -rf "$T"' EXIT
example_config "$T/ex"
CFG=$T/ex/ferry.xml
# Progress says nothing for a phase's first 2 s, so reading the input must
# take longer than that: 30,000 records, and 100,000 when a faster
# build (or a quiet machine) read them sooner and said nothing.
python3 - "$T/ex/submissions.ndjson" > "$T/one.json" <<'PY'
import json, sys
print(json.dumps(json.loads(open(sys.argv[1]).readline())))
PY
for N in ${PROGRESS_RECORDS:-30000 100000}; do
    SP=$T/spool.$N
    [ -n "${SP0:-}" ] || { SP0=$SP; N0=$N; }   # the batch below needs no more
    python3 - "$T/one.json" "$N" > "$T/big.ndjson" <<'PY'
import json, sys
d = json.loads(open(sys.argv[1]).read())
for i in range(int(sys.argv[2])):
    d["submission_reference"] = "PRG%07d" % i
    print(json.dumps(d))
PY

    # ---- no terminal: logfmt lines -----------------------------------------------
    "$FERRY_BIN" submit --config "$CFG" --spool "$SP" --batch "$N" refund-claim "$T/big.ndjson" \
        > "$T/out" 2> "$T/err" || fail submit "$(tail -3 "$T/err")"
    grep -q 'event=progress' "$T/err" && break
done
grep 'event=progress' "$T/err" > "$T/prog" || fail logfmt "no progress lines in a run of $N: $(tail -3 "$T/err")"
grep -q $'\033' "$T/err" && fail logfmt "escape codes without a terminal"
grep -vq '^ts=[^ ]* level=info event=progress command=submit phase=input-bytes done=[0-9]* total=[0-9]* percent=[0-9]* rate_per_s=[0-9]* eta_s=[0-9]*$' "$T/prog" &&
    fail logfmt "not logfmt: $(grep -v 'rate_per_s' "$T/prog" | head -2)"
sed 's/.*percent=\([0-9]*\).*/\1/' "$T/prog" > "$T/pct"
sort -n -c "$T/pct" || fail logfmt "percent goes down: $(tr '\n' ' ' < "$T/pct")"
[ "$(tail -1 "$T/pct")" = 100 ] || fail logfmt "stops at $(tail -1 "$T/pct")%"
[ "$(grep -c 'percent=100' "$T/prog")" = 1 ] || fail logfmt "100% said twice"
ok "submit of $N records without a terminal: $(wc -l < "$T/prog") logfmt progress lines up to 100%, no escape codes"

# ---- a terminal: the bar -------------------------------------------------------
mkdir -p "$T/var/mainframe-drop"
script -qec "'$FERRY_BIN' batch --config '$CFG' --spool '$SP0' --target claims-mainframe" /dev/null \
    > "$T/tty" 2>&1 || fail tty "$(tail -5 "$T/tty")"
tr '\r' '\n' < "$T/tty" > "$T/lines"
for ph in build verify; do
    grep -q "$ph .*\] 100%  $N0/$N0  [0-9]*/s  0:00 done" "$T/lines" ||
        fail tty "$ph never reaches 100%: $(grep "$ph" "$T/lines" | tail -2)"
done
grep -q '[0-9]*/s  [0-9]*:[0-9][0-9] left' "$T/lines" || fail tty "no rate and time left"
grep -q 'left.*ts=\|done.*ts=' "$T/lines" && fail tty "a log line ran into the bar: $(grep 'left.*ts=' "$T/lines" | head -1)"
grep -q 'event=batch-written' "$T/lines" || fail tty "no log lines at all"
ok "batch on a terminal: build and verify bars reach 100% with rate and time left; log lines never run into them"
echo "$CASES cases"
