# SPDX-License-Identifier: GPL-2.0-only
# attach-detach: scx_usched attaches within 30 s with our ops name,
# enable_seq steps by one; SIGINT detaches it and it exits 0.
. /usched/lib.sh
seq0=$(scx_seq)
start_usched
[ "$(scx_seq)" -eq $((seq0 + 1)) ] || fail "enable_seq $(scx_seq), expected $((seq0 + 1))"
sleep 2
user_dispatches
stop_usched
grep -q "detached" /tmp/usched.log || fail "no detach message"
check_dmesg
