# SPDX-License-Identifier: GPL-2.0-only
# attach-detach: scx_usched attaches within 30 s with our ops name,
# enable_seq steps by one; SIGINT detaches it and it exits 0. The decision
# trace (-d) is off by default and, asked for, shows in the kernel's trace
# buffer. --version names the version, git revision and target.
. /usched/lib.sh
v=$(scx_usched --version) || fail "--version failed"
info "$v"
echo "$v" | grep -qE '^scx_usched [0-9]+\.[0-9]+\.[0-9]+(-g[0-9a-f]+(-dirty)?)? [a-z0-9_]+-' \
    || fail "--version '$v' lacks the version, revision or target"
seq0=$(scx_seq)
start_usched
[ "$(scx_seq)" -eq $((seq0 + 1)) ] || fail "enable_seq $(scx_seq), expected $((seq0 + 1))"
sleep 2
user_dispatches
stop_usched
grep -q "detached" /tmp/usched.log || fail "no detach message"
check_dmesg

trace=/sys/kernel/tracing/trace
[ -r $trace ] || fail "no tracefs in the guest"
n=$(grep -c 'usched: pid' $trace)
[ "$n" -eq 0 ] || fail "$n decision traces without -d"
seq1=$(scx_seq)
start_usched -d
[ "$(scx_seq)" -eq $((seq1 + 1)) ] || fail "enable_seq $(scx_seq) after the second attach"
sleep 2
user_dispatches
stop_usched
n=$(grep -c 'usched: pid' $trace)
info "decision traces with -d: $n"
grep -m 2 'usched: pid' $trace
[ "$n" -gt 0 ] || fail "no decision trace with -d"
check_dmesg
