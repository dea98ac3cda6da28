# SPDX-License-Identifier: GPL-2.0-only
# package: the Debian package (scripts/build-deb.sh) installs with dpkg, the
# command line of its systemd unit attaches the scheduler with the flags of
# /etc/default/scx_usched, the unit's KillSignal detaches it cleanly, and
# removing the package takes the binary away. The guest has busybox's dpkg
# and no systemd: the unit's ExecStart is run as systemd runs it (its
# EnvironmentFile read, $SCX_USCHED_FLAGS split into words), not by systemd.
. /usched/lib.sh
deb=$(ls /usched/pkg/scx-usched_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || fail "no package in /usched/pkg (scripts/build-deb.sh)"
# The guest has the libraries the package depends on (copied in with the
# test binaries) but no dpkg database: record them as installed, as on a
# Debian system, rather than forcing dpkg past its dependency check.
mkdir -p /var/lib/dpkg/info /var/lib/dpkg/updates
for p in libc6 libelf1 zlib1g libgcc-s1; do
    printf 'Package: %s\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\n\n' "$p"
done > /var/lib/dpkg/status
dpkg -i "$deb" > /tmp/dpkg.txt 2>&1 || { cat /tmp/dpkg.txt; fail "dpkg -i $deb failed"; }
unit=/lib/systemd/system/scx_usched.service
for f in /usr/bin/scx_usched /usr/bin/usched-stat $unit /etc/default/scx_usched; do
    [ -e "$f" ] || fail "$f not installed"
done
grep -q '^Package: scx-usched' /var/lib/dpkg/status || fail "dpkg does not record scx-usched as installed"
info "installed: $(/usr/bin/scx_usched --version)"

exec_start=$(sed -n 's/^ExecStart=//p' $unit)
[ "${exec_start%% *}" = /usr/bin/scx_usched ] || fail "the unit's ExecStart '$exec_start' does not run the packaged binary"
env_file=$(sed -n 's/^EnvironmentFile=-\{0,1\}//p' $unit)
[ "$env_file" = /etc/default/scx_usched ] || fail "the unit reads its flags from '$env_file', not the packaged /etc/default/scx_usched"
sig=$(sed -n 's/^KillSignal=SIG//p' $unit)
[ -n "$sig" ] || fail "the unit names no KillSignal"
sed -i 's/^SCX_USCHED_FLAGS=.*/SCX_USCHED_FLAGS="--mode gaming --stats 2"/' "$env_file"
( . "$env_file"; eval "exec $exec_start" ) > /tmp/usched.log 2>&1 &
USCHED_PID=$!
wait_state enabled 30 || { cat /tmp/usched.log; fail "the unit's command line did not attach within 30 s"; }
case "$(scx_ops)" in usched*) ;; *) fail "ops '$(scx_ops)' is not ours";; esac
timeout 60 stress-ng --cpu "$(nproc)" --switch 2 -t 4 --quiet || fail "stress-ng failed ($?)"
[ "$(scx_state)" = enabled ] || { cat /tmp/usched.log; fail "ejected under load"; }
grep -q 'mode gaming:' /tmp/usched.log || { cat /tmp/usched.log; fail "the flags of $env_file were not applied"; }
kill -"$sig" "$USCHED_PID"
wait_state disabled 10 || fail "not disabled 10 s after SIG$sig"
wait "$USCHED_PID"; rc=$?
[ $rc -eq 0 ] || { cat /tmp/usched.log; fail "scx_usched exited $rc after SIG$sig"; }
no_records_lost

dpkg -r scx-usched > /tmp/dpkg.txt 2>&1 || { cat /tmp/dpkg.txt; fail "dpkg -r failed"; }
[ ! -e /usr/bin/scx_usched ] || fail "/usr/bin/scx_usched left behind after dpkg -r"
info "installed, started by its unit's command line, stopped with SIG$sig, removed"
check_dmesg
