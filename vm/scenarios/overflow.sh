# SPDX-License-Identifier: GPL-2.0-only
# overflow: more runnable threads than the ring buffer to user space holds
# (a 64 KiB ring: ~745 tasks; 2048 threads): the overflow is counted as
# congestion, every thread completes, and the scheduler stays attached.
. /usched/lib.sh
start_usched --ring-kib 64
stress-ng --pthread 2 --pthread-max 1024 -t 15 --quiet || fail "stress-ng failed ($?)"
[ "$(scx_state)" = enabled ] || fail "scheduler ejected"
usched-stat > /tmp/stat.txt
grep -E "dispatch:" /tmp/stat.txt
c=$(sed -n 's/.*congested=\([0-9]*\).*/\1/p' /tmp/stat.txt)
info "congested: $c"
[ "${c:-0}" -gt 0 ] || fail "the ring buffer never overflowed (congested=0)"
stop_usched
check_dmesg
