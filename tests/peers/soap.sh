# tests/peers/soap.sh - the node SOAP peer (tests/peers/soap/server.js) for
# test and bench scripts, on 127.0.0.1.  Sourced (bash), never run.
#
#   . "$FERRY_ROOT/tests/peers/soap.sh"
#   soap_have "$T"; case $? in 1|2) echo "skip: $SOAP_MISSING"; exit 77;; esac
#   trap 'soap_stop; rm -rf "$T"' EXIT
#   soap_start "$T" --log "$T/requests.log" || fail setup "SOAP server did not start"
#   curl http://127.0.0.1:$SOAP_PORT/claims ...
#   soap_start "$T" --port "$SOAP_PORT" --slow-ms 10    # restart, same port
#
# soap_have DIR    0 when node is installed and the peer's node_modules are
#                  there (runs `npm ci` in the peer when they are not, its
#                  output in DIR/npm.log, the last lines printed on failure);
#                  1 when node is missing, 2 when npm ci failed, with
#                  SOAP_MISSING saying which
# soap_start DIR [--port N] [ARGS...]
#                  stops a server this file started, then starts server.js
#                  on port N (default 0: a free one) with ARGS (see
#                  server.js: --log, --slow-ms, --tls-cert, ...); waits up
#                  to 10 s for the port it prints.  Sets SOAP_PORT, SOAP_PID
#                  (the script may kill -STOP/-CONT/-KILL it; after a KILL
#                  and wait, set SOAP_PID=""), SOAP_LOG (the server's stderr,
#                  DIR/server.err, appended to across restarts).  On failure
#                  prints SOAP_LOG and returns 1.
# soap_stop        continues (if stopped), kills and waits for the server;
#                  safe to call when none runs

SOAP_PEER=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/soap
SOAP_PID=""
SOAP_PORT=""
SOAP_LOG=""

# soap_have - node present, node_modules installed
soap_have() {
    SOAP_MISSING=""
    command -v node >/dev/null || { SOAP_MISSING="node not installed"; return 1; }
    if [ ! -d "$SOAP_PEER/node_modules/soap" ]; then
        if ! (cd "$SOAP_PEER" && npm ci --no-audit --no-fund >"$1/npm.log" 2>&1); then
            tail -n 5 "$1/npm.log"
            SOAP_MISSING="npm ci failed in $SOAP_PEER"
            return 2
        fi
    fi
    return 0
}

# soap_stop - stop the server started by soap_start
soap_stop() {
    if [ -n "$SOAP_PID" ]; then
        kill -CONT "$SOAP_PID" 2>/dev/null
        kill "$SOAP_PID" 2>/dev/null
        wait "$SOAP_PID" 2>/dev/null
        SOAP_PID=""
    fi
    return 0
}

# soap_start - (re)start the server; sets SOAP_PORT, SOAP_PID, SOAP_LOG
soap_start() {
    local dir=$1 want=0
    shift
    if [ "${1:-}" = --port ]; then want=$2; shift 2; fi
    soap_stop
    SOAP_LOG=$dir/server.err
    SOAP_PORT=""
    : > "$dir/port"
    node "$SOAP_PEER/server.js" "$want" "$@" > "$dir/port" 2>> "$SOAP_LOG" &
    SOAP_PID=$!
    for _ in $(seq 1 100); do
        SOAP_PORT=$(head -n1 "$dir/port")
        [ -n "$SOAP_PORT" ] && return 0
        kill -0 "$SOAP_PID" 2>/dev/null || break
        sleep 0.1
    done
    cat "$SOAP_LOG"
    return 1
}
