# SPDX-License-Identifier: GPL-2.0-only
# overflow: more runnable threads than the ring buffer to user space holds
# (a 4 KiB ring: 30 tasks of 136 bytes; 2048 threads released at once by a barrier): the
# overflow is counted as congestion, every thread completes, and the
# scheduler stays attached; no record is dropped on its way from the ring
# buffer to the policy (the staging buffer's invariant; a guard: no
# workload here has made the ring hold more than a refill takes).
. /usched/lib.sh
start_usched --ring-kib 4
usched-probe burst --threads 2048 --spin-ms 20 || fail "not every thread completed"
[ "$(scx_state)" = enabled ] || fail "scheduler ejected"
usched-stat > /tmp/stat.txt
grep -E "dispatch:" /tmp/stat.txt
c=$(sed -n 's/.*congested=\([0-9]*\).*/\1/p' /tmp/stat.txt)
info "congested: $c"
[ "${c:-0}" -gt 0 ] || fail "the ring buffer never overflowed (congested=0)"
stop_usched
no_records_lost
check_dmesg
