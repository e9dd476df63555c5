# tests/peers/sshd.sh - a real OpenSSH sshd for test and bench scripts, as
# root, on a free 127.0.0.1 port, everything in a temp folder.  Sourced
# (bash), never run.
#
#   . "$FERRY_ROOT/tests/peers/sshd.sh"
#   sshd_have || { echo "skip: $SSHD_MISSING"; exit 77; }
#   trap 'sshd_stop; rm -rf "$T"' EXIT
#   sshd_start "$T" "MaxStartups 64" || exit 1
#   ... port "$SSHD_PORT", key "$SSHD_KEY", known hosts "$SSHD_KNOWN_HOSTS"
#   sshd_stop; sshd_start          # stop / start the same server again
#
# sshd_have        0 when /usr/sbin/sshd is installed and we are root, else
#                  1 with SSHD_MISSING saying which
# sshd_free_port   prints a free 127.0.0.1 port
# sshd_start DIR [CONFIG-LINE...]
#                  first call: a free port (SSHD_PORT); host key DIR/hk
#                  (SSHD_HOST_KEY, .pub beside it); client key DIR/id
#                  (SSHD_KEY, no passphrase) in DIR/authorized_keys (append
#                  more keys there at will: sshd reads it per login);
#                  DIR/known_hosts (SSHD_KNOWN_HOSTS) naming the host key
#                  for [127.0.0.1]:PORT; DIR/sshd_config (root login, keys
#                  only, no PAM, no StrictModes, internal-sftp, LogLevel
#                  INFO, plus each CONFIG-LINE); the server's stderr goes
#                  to DIR/sshd.log (SSHD_LOG).  Every call then starts sshd
#                  and waits up to 5 s for its port; on failure prints
#                  "sshd did not start:" and the log, and returns 1.
# sshd_stop        kills sshd and all its children (sessions), waits; safe
#                  to call when none runs

SSHD_BIN=/usr/sbin/sshd
SSHD_PID=""
SSHD_DIR=""

# sshd_have - sshd installed and root
sshd_have() {
    SSHD_MISSING=""
    if [ ! -x "$SSHD_BIN" ]; then SSHD_MISSING="$SSHD_BIN not installed"
    elif [ "$(id -u)" != 0 ]; then SSHD_MISSING="sshd test needs root"
    fi
    [ -z "$SSHD_MISSING" ]
}

# sshd_free_port - a free loopback port
sshd_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# sshd_kill_tree_ - stop a process and all its descendants, by pid
sshd_kill_tree_() {
    local p=$1 c
    for c in $(pgrep -P "$p" 2>/dev/null); do sshd_kill_tree_ "$c"; done
    kill -KILL "$p" 2>/dev/null
}

# sshd_stop - stop the server started by sshd_start
sshd_stop() {
    if [ -n "$SSHD_PID" ]; then
        sshd_kill_tree_ "$SSHD_PID"
        wait "$SSHD_PID" 2>/dev/null
        SSHD_PID=""
    fi
    return 0
}

# sshd_setup_ - first sshd_start: port, keys, known_hosts, sshd_config
sshd_setup_() {
    local d=$1 line
    shift
    mkdir -p /run/sshd || return 1
    chmod 0755 /run/sshd
    SSHD_PORT=$(sshd_free_port) || return 1
    SSHD_HOST_KEY=$d/hk
    SSHD_KEY=$d/id
    SSHD_KNOWN_HOSTS=$d/known_hosts
    SSHD_LOG=$d/sshd.log
    ssh-keygen -q -t ed25519 -N '' -C ferry-test-host -f "$SSHD_HOST_KEY" || return 1
    ssh-keygen -q -t ed25519 -N '' -C ferry-client -f "$SSHD_KEY" || return 1
    cp "$SSHD_KEY.pub" "$d/authorized_keys"
    echo "[127.0.0.1]:$SSHD_PORT $(cut -d' ' -f1,2 "$SSHD_HOST_KEY.pub")" > "$SSHD_KNOWN_HOSTS"
    {
        cat <<EOF
Port $SSHD_PORT
ListenAddress 127.0.0.1
HostKey $SSHD_HOST_KEY
PidFile $d/sshd.pid
AuthorizedKeysFile $d/authorized_keys
StrictModes no
UsePAM no
PermitRootLogin yes
PasswordAuthentication no
KbdInteractiveAuthentication no
Subsystem sftp internal-sftp
LogLevel INFO
EOF
        for line in "$@"; do printf '%s\n' "$line"; done
    } > "$d/sshd_config"
    SSHD_DIR=$d
}

# sshd_start - set up on the first call, then start sshd
sshd_start() {
    if [ -z "$SSHD_DIR" ]; then
        [ -n "${1:-}" ] || { echo "sshd_start: no folder"; return 1; }
        sshd_setup_ "$@" || { echo "sshd setup failed"; return 1; }
    fi
    sshd_stop
    "$SSHD_BIN" -D -e -f "$SSHD_DIR/sshd_config" 2>>"$SSHD_LOG" &
    SSHD_PID=$!
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$SSHD_PORT") 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    echo "sshd did not start:"; cat "$SSHD_LOG"
    return 1
}
