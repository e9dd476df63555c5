#!/bin/bash
# 75_readme_tour - the README's five-minute tour, replayed as written from
# a fresh copy of the tree: `make demo`'s script first (its output carries
# no escape codes when it is not a terminal), then every command of the
# tour's sh block, in order, in examples/.  What the harness changes, and
# only that: each FRY-... placeholder becomes a reference `ferry queue`
# shows (step 6: the first record; step 8: the row of step 7), the tour's
# port 8480 becomes a free port (the machine is shared).  Commands run in
# one shell, as a reader's would (TOKEN=... stays set, %1 is the daemon).  Every command must exit 0, or the code its comment or
# the tour's text gives (65 for a submission with invalid records); step
# 7's failed row must be there; the daemon must stop on `kill %1`.
set -eu
. "$(dirname "$0")/lib.sh"
for t in git jq curl python3 sqlite3 less; do
    command -v $t >/dev/null || { echo "$t not installed"; exit 77; }
done
trap 'kill %1 2>/dev/null || true; rm -rf "$T"' EXIT
S=$T/src
mkdir -p "$S/bin"
(cd "$FERRY_ROOT" && git ls-files -z | tar --null -T - -cf -) | tar -C "$S" -xf -
cp "$FERRY_BIN" "$S/bin/ferry"
(cd "$S" && FERRY_BIN="$S/bin/ferry" bash examples/demo.sh) > "$T/demo.out" 2>&1 ||
    fail demo "$(tail -20 "$T/demo.out")"
grep -q $'\033' "$T/demo.out" && fail demo "escape codes in a non-terminal demo: $(grep -c $'\033' "$T/demo.out") lines"
ok "make demo's script runs from a fresh copy, no escape codes off a terminal"

# the tour's block, as written
awk '/^## A five-minute tour/ { t = 1 } t && /^```sh/ { on = 1; next } on && /^```/ { exit } on' \
    "$S/README.md" > "$T/tour.sh"
[ "$(grep -c "^\.\./bin/ferry" "$T/tour.sh")" -ge 18 ] || fail tour "block not found: $(head -5 "$T/tour.sh")"
PORT=$(free_port)
cd "$S"
F=bin/ferry
step=0 n=0
while IFS= read -r line; do
    case $line in
    '# '[0-9]*) step=${line#\# }; step=${step%%.*}; continue ;;
    ''|'#'*|'    '*|'  '*) continue ;;
    esac
    cmd=$line
    # a command continued on the next lines
    while [ "${cmd%\\}" != "$cmd" ]; do IFS= read -r more; cmd="${cmd%\\} ${more#"${more%%[! ]*}"}"; done
    cmd=${cmd%%  #*}                      # a trailing comment
    cmd=${cmd//8480/$PORT}
    if [[ $cmd == *FRY-...* ]]; then
        case $step in
        6) ref=$(../bin/ferry queue --json | jq -r '.records[0].reference') ;;
        8) ref=$(../bin/ferry queue --service change-of-address --json |
                 jq -r '[.records[] | select(.state == "failed" or .state == "queued")][0].reference') ;;
        esac
        [ -n "$ref" ] && [ "$ref" != null ] || fail tour "step $step: no reference for: $cmd"
        cmd=${cmd//FRY-.../$ref}
    fi
    n=$((n+1))
    case $cmd in
    'cd '*) eval "$cmd"; continue ;;
    *'&')   eval "${cmd% &} > \"$T/serve.log\" 2>&1 &"
            for _ in $(seq 100); do grep -q event=listening "$T/serve.log" && break; sleep 0.1; done
            grep -q event=listening "$T/serve.log" || fail tour "step $step: $cmd: $(cat "$T/serve.log")"
            continue ;;
    esac
    # in this shell, as a reader's: TOKEN=... stays set, %1 is the daemon
    set +e
    eval "$cmd" > "$T/out.$n" 2> "$T/err.$n" < /dev/null
    rc=$?
    set -e
    want=0
    case $cmd in
    *' submit '*|*' import '*) want="0 65" ;;   # "invalid ones are listed ... (exit 65)"
    *' deliver'*) want="0 65" ;;                # the refused row goes to failed
    *'kill %1'*) want=0 ;;
    esac
    case " $want " in *" $rc "*) ;; *)
        fail tour "step $step: '$cmd' exit $rc (wanted $want): $(tail -5 "$T/err.$n")" ;;
    esac
    echo "     step $step exit $rc: $cmd"
    if [[ $cmd == *'/metrics'* ]]; then      # and the whole page, once
        curl -s "http://127.0.0.1:$PORT/metrics" > "$T/metrics"
    fi
    if [[ $cmd == *'/submissions'* ]]; then
        jq -e '.reference' "$T/out.$n" > /dev/null || fail tour "step 11: not accepted: $(cat "$T/out.$n")"
    fi
    if [[ $cmd == *'--state failed'* ]]; then
        grep -q 'UNIQUE' "$T/out.$n" || fail tour "step 7: no row the UNIQUE constraint refused: $(cat "$T/out.$n")"
    fi
done < "$T/tour.sh"
[ $n -ge 20 ] || fail tour "only $n commands ran"
for _ in $(seq 50); do jobs -r | grep -q . || break; sleep 0.1; done
jobs -r | grep -q . && fail tour "the daemon did not stop on kill %1"
grep -q 'event=stopped' "$T/serve.log" || fail tour "daemon: $(tail -3 "$T/serve.log")"
grep -q '^ferry_conservation_difference 0' "$T"/out.* || fail tour "no conservation 0 in /metrics"
ok "README tour: $n commands as written, each exit as documented; step 7's failed row is there"
# /metrics of the tour's daemon: what the batch run from the command line
# left in the ledger shows up, with the process and build series
m() { grep "^$1" "$T/metrics" | awk '{ print $2 }'; }
[ "$(m 'ferry_build_info{version="'"$(sed -n 's/^#define FERRY_VERSION "\(.*\)"/\1/p' "$FERRY_ROOT/cli/cli.h")"'"}')" = 1 ] ||
    fail metrics "ferry_build_info: $(grep build_info "$T/metrics")"
for k in process_resident_memory_bytes process_open_fds process_cpu_seconds_total; do
    awk -v v="$(m "$k ")" 'BEGIN { exit !(v > 0) }' || fail metrics "$k: $(grep "^$k" "$T/metrics")"
done
now=$(date +%s)
for k in 'ferry_job_last_success_timestamp_seconds{job="claims-nightly"}' \
         'ferry_batch_last_success_timestamp_seconds{target="claims-mainframe"}'; do
    v=$(m "$k")
    awk -v v="$v" -v now="$now" 'BEGIN { exit !(v > now - 3600 && v <= now + 1) }' ||
        fail metrics "$k is '$v' (now $now)"
done
[ "$(m 'ferry_config_last_reload_successful ')" = 1 ] || fail metrics "reload gauge"
ok "/metrics: build info, process RSS/fds/CPU, last success of the CLI's batch job and target from the ledger"
echo "$CASES cases"
