# tests/peers/gpg.sh - throwaway GnuPG homes for the hand-over tests:
# ferry's and the receiving system's ("mf"), each 0700, each holding its
# own key (no passphrase) and the other's public key; the mf home also
# has an impostor key.  Sourced (bash), never run.
#
#   . "$FERRY_ROOT/tests/peers/gpg.sh"
#   gpg_have || { echo "skip: gpg (gnupg) not installed"; exit 77; }
#   gpg_homes DIR        makes DIR/ferry and DIR/mf; sets FFPR (ferry's
#                        fingerprint), MFPR (the receiver's), IFPR (the
#                        impostor's, in DIR/mf only)
#   gq HOME ARGS...      gpg --homedir HOME --batch --quiet ARGS
#   gpg_stop DIR         stops the agents of DIR's homes
# Keep DIR short (/tmp/x.XXXXXX): gpg-agent's socket path is limited.
gpg_have() { command -v gpg >/dev/null && command -v gpgconf >/dev/null; }
gq() { gpg --homedir "$1" --batch --quiet --no-tty "${@:2}"; }
gpg_fpr() {
    gpg --homedir "$1" --with-colons --list-keys "$2" 2>/dev/null |
        awk -F: '$1=="fpr"{print $10; exit}'
}
gpg_homes() {
    local g=$1
    mkdir -p "$g/ferry" "$g/mf" && chmod 700 "$g/ferry" "$g/mf"
    gq "$g/ferry" --passphrase '' --quick-gen-key 'ferry <ferry@test.invalid>' default default never 2>/dev/null
    gq "$g/mf" --passphrase '' --quick-gen-key 'mainframe <mf@test.invalid>' default default never 2>/dev/null
    gq "$g/mf" --passphrase '' --quick-gen-key 'impostor <imp@test.invalid>' default default never 2>/dev/null
    FFPR=$(gpg_fpr "$g/ferry" ferry@test.invalid)
    MFPR=$(gpg_fpr "$g/mf" mf@test.invalid)
    IFPR=$(gpg_fpr "$g/mf" imp@test.invalid)
    gq "$g/ferry" --export "$FFPR" | gq "$g/mf" --import 2>/dev/null
    gq "$g/mf" --export "$MFPR" "$IFPR" | gq "$g/ferry" --import 2>/dev/null
    [ -n "$FFPR" ] && [ -n "$MFPR" ] && [ -n "$IFPR" ]
}
gpg_stop() {
    local h
    for h in "$1"/ferry "$1"/mf; do
        [ -d "$h" ] && gpgconf --homedir "$h" --kill gpg-agent 2>/dev/null
    done
    return 0
}
