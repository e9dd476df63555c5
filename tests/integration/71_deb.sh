#!/bin/bash
# 71_deb - `make deb` builds a package lintian finds no errors in; unpacked
# into a root folder (dpkg-deb -x) it holds every path the unit, the
# configuration and the man pages name, its binary checks the installed
# configuration and says the package's version; systemd-sysusers and
# systemd-tmpfiles make the user and folders from the package's own files.
# Then, as root on a machine without ferry installed, `apt-get install
# ./ferry_*.deb` installs it (user, 0700 spool, conffile) and `apt-get
# purge` removes it.  FERRY_TEST_INSTALL=0 stops before the install.
# Skips only when the packaging tools are missing.  Bounded: the build
# has 15 minutes.
set -eu
. "$(dirname "$0")/lib.sh"
for t in dpkg-buildpackage dh dpkg-deb lintian git; do
    command -v $t >/dev/null || { echo "$t not installed (make deps)"; exit 77; }
done
INSTALLED=0 USER_MADE=0 SPOOL_MADE=0
cleanup() {
    if [ $INSTALLED = 1 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq ferry >/dev/null 2>&1 || true
    fi
    if [ $USER_MADE = 1 ] && getent passwd ferry >/dev/null; then
        userdel ferry 2>/dev/null || true
        groupdel ferry 2>/dev/null || true
    fi
    [ $SPOOL_MADE = 0 ] || rmdir /var/spool/ferry 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT
cd "$FERRY_ROOT"
V=$(sed -n 's/^#define FERRY_VERSION "\(.*\)"/\1/p' cli/cli.h)

timeout 900 nice make deb DEBDIR="$T/deb" > "$T/build.log" 2>&1 ||
    { tail -40 "$T/build.log"; fail build "make deb failed"; }
DEB=$(ls "$T"/deb/ferry_"$V"_*.deb)
ok "make deb built $(basename "$DEB") (lintian: no errors)"
[ "$(dpkg-parsechangelog -l debian/changelog -S Version)" = "$V" ] ||
    fail version "debian/changelog is $(dpkg-parsechangelog -l debian/changelog -S Version), the binary $V"

R=$T/root
dpkg-deb -x "$DEB" "$R"
dpkg-deb -e "$DEB" "$T/ctl"
[ "$("$R/usr/bin/ferry" version | head -1)" = "ferry $V" ] ||
    fail version "packaged binary says $("$R/usr/bin/ferry" version | head -1)"
for m in "$R"/usr/share/man/man*/*.gz; do
    zcat "$m" | head -1 | grep -q "\"ferry $V\"" || fail man "$(basename "$m"): $(zcat "$m" | head -1)"
done
ok "binary, changelog and man pages all say $V"
grep -qx /etc/ferry/ferry.xml "$T/ctl/conffiles" || fail conffile "$(cat "$T/ctl/conffiles")"
ok "/etc/ferry/ferry.xml is a conffile"
# the licence: stated (MIT, Debian's "Expat"), the same in LICENSE and the package
C=$R/usr/share/doc/ferry/copyright
[ -f "$C" ] || fail licence "no /usr/share/doc/ferry/copyright"
grep -qx 'License: Expat' "$C" || fail licence "$(grep License "$C")"
grep -qi 'not-yet-stated\|do not state a licen' "$C" && fail licence "the licence is still undecided"
head -1 LICENSE | grep -qx 'MIT License' || fail licence "LICENSE: $(head -1 LICENSE)"
grep -q 'Permission is hereby granted, free of charge' "$C" || fail licence "no licence text in copyright"
ok "the licence is stated: MIT in LICENSE, Expat in the package's copyright file"

# every path the unit names
U=$R/lib/systemd/system/ferry.service
[ -f "$U" ] || fail unit "no unit in the package"
key() { sed -n "s/^$1=//p" "$U"; }
for k in ExecStart ExecStartPre; do
    bin=$(key $k | awk '{ print $1 }')
    [ -x "$R$bin" ] || fail unit "$k names $bin, not in the package"
    cfg=$(key $k | sed -n 's/.* --config \([^ ]*\).*/\1/p')
    [ -f "$R$cfg" ] || fail unit "$k names $cfg, not in the package"
done
for d in $(key Documentation); do
    case $d in
    file:*) [ -f "$R${d#file:}" ] || fail unit "Documentation= $d not in the package" ;;
    man:*)  p=${d#man:}; n=${p%%(*}; s=${p#*(}; s=${s%)}
            [ -f "$R/usr/share/man/man$s/$n.$s.gz" ] || fail unit "Documentation= $d not in the package" ;;
    esac
done
mkdir -p "$R/etc"
systemd-sysusers --root="$R" "$R/usr/lib/sysusers.d/ferry.conf" >/dev/null 2>&1
systemd-tmpfiles --root="$R" --create "$R/usr/lib/tmpfiles.d/ferry.conf" >"$T/tf" 2>&1 ||
    fail tmpfiles "$(cat "$T/tf")"
grep -q "^$(key User):" "$R/etc/passwd" || fail sysusers "no user $(key User)"
for p in $(key ReadWritePaths); do
    [ "$(stat -c %a "$R$p")" = 700 ] || fail unit "ReadWritePaths= $p is not made 0700"
done
ok "the unit's binary, config, docs, user and writable path are all there"

# every path the installed configuration and the man pages name
C=$R/etc/ferry/ferry.xml
spool=$(sed -n 's/.*<spool dir="\([^"]*\)".*/\1/p' "$C")
[ "$(stat -c %a "$R$spool")" = 700 ] || fail config "spool $spool not made 0700"
for p in $(grep -o '/usr/share/[a-z/._-]*[a-z/]' "$C" | sort -u); do
    [ -e "$R$p" ] || fail config "ferry.xml names $p, not in the package"
done
for m in "$R"/usr/share/man/man*/*.gz; do
    for p in $(zcat "$m" | grep -oE '/usr/share/(doc/)?ferry[a-z/._-]*[a-z/]' | sort -u); do
        [ -e "$R$p" ] || fail man "$(basename "$m") names $p, not in the package"
    done
    for p in $(zcat "$m" | sed -n 's/^\.IR* \([a-z-]*\.md\).*/\1/p' | sort -u); do
        [ -f "$R/usr/share/doc/ferry/$p" ] || fail man "$(basename "$m") names $p, not in /usr/share/doc/ferry"
    done
done
sed "s|dir=\"$spool\"|dir=\"$T/spool\"|" "$C" > "$T/ferry.xml"
"$R/usr/bin/ferry" check --config "$T/ferry.xml" > "$T/check" 2>&1 || fail config "$(cat "$T/check")"
for f in ferry.xml mappings/refund-claim.xml copybooks/CLAIMREC.cpy; do
    [ -f "$R/usr/share/doc/ferry/examples/$f" ] || fail examples "no $f"
done
ok "config, man pages and examples: every named path is in the package; ferry check passes"

# install and remove it for real
if [ "${FERRY_TEST_INSTALL:-1}" = 0 ] || [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "not installing (FERRY_TEST_INSTALL=0, not root or no apt-get)"
    echo "$CASES cases"; exit 0
fi
# one install at a time on this machine: another checkout may be running
# this same test (the lock is released when the test exits)
exec 9> /run/lock/ferry-test-71-deb.lock
if ! flock -w 300 9; then
    echo "another run holds /run/lock/ferry-test-71-deb.lock: not installing"
    echo "$CASES cases"; exit 0
fi
if dpkg-query -W -f='${Status}' ferry 2>/dev/null | grep -q "ok installed"; then
    echo "ferry is already installed here: not touching it"; echo "$CASES cases"; exit 0
fi
getent passwd ferry >/dev/null || USER_MADE=1
[ -e /var/spool/ferry ] || SPOOL_MADE=1
INSTALLED=1
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=120 \
    --no-install-recommends "$DEB" > "$T/apt" 2>&1 || fail install "$(tail -20 "$T/apt")"
[ "$(/usr/bin/ferry version | head -1)" = "ferry $V" ] || fail install "/usr/bin/ferry"
getent passwd ferry >/dev/null || fail install "no ferry user"
[ "$(stat -c '%a %U %G' /var/spool/ferry)" = "700 ferry ferry" ] ||
    fail install "/var/spool/ferry is $(stat -c '%a %U %G' /var/spool/ferry)"
[ "$(stat -c '%a %U %G' /etc/ferry)" = "750 root ferry" ] ||
    fail install "/etc/ferry is $(stat -c '%a %U %G' /etc/ferry)"
/usr/bin/ferry check --config /etc/ferry/ferry.xml > "$T/check" 2>&1 || fail install "$(cat "$T/check")"
ok "apt-get install ./$(basename "$DEB"): user, 0700 spool, config folder, ferry check passes"
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq -o DPkg::Lock::Timeout=120 ferry > "$T/apt" 2>&1 ||
    fail remove "$(tail -20 "$T/apt")"
INSTALLED=0
[ ! -e /usr/bin/ferry ] && [ ! -e /etc/ferry/ferry.xml ] && [ ! -e /lib/systemd/system/ferry.service ] ||
    fail remove "files left behind"
[ -d /var/spool/ferry ] || fail remove "purge removed the spool (it may hold undelivered records)"
ok "apt-get purge removes it, and keeps the spool"
echo "$CASES cases"
