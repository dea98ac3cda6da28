# SPDX-License-Identifier: GPL-2.0-only
# deadline-modes: examples/deadline (usched-core's Deadline policy on the
# runtime) in each poll mode under stress-ng: it attaches, dispatches from
# user space, its loop allocates nothing (counting allocator) and takes no
# page fault (mlockall + pre-faulted stack), and it detaches cleanly. Prints
# the enqueue->dispatch latency histogram of each mode.
. /usched/lib.sh
n=$(nproc)
for mode in busy adaptive blocking; do
    deadline --poll $mode --secs ${MODE_SECS:-20} > /tmp/dl.log 2>&1 &
    pid=$!
    wait_state enabled 30 || { cat /tmp/dl.log; fail "$mode: not enabled"; }
    stress-ng --cpu "$n" --fork "$n" --switch "$n" -t $(( ${MODE_SECS:-20} - 3 )) --quiet
    wait $pid; rc=$?
    wait_state disabled 10 || fail "$mode: not disabled after exit"
    grep -E "loop|select_cpu|dispatch:|enq->dispatch|wake->run" /tmp/dl.log | sed "s/^/[$mode] /"
    [ $rc -eq 0 ] || { cat /tmp/dl.log; fail "$mode: exit $rc"; }
    grep -q "allocations=0 " /tmp/dl.log || fail "$mode: the dispatch loop allocated"
    grep -q "page_faults=0$" /tmp/dl.log || fail "$mode: the dispatcher took page faults"
    u=$(sed -n 's/.*dispatch: user=\([0-9]*\).*/\1/p' /tmp/dl.log)
    [ "${u:-0}" -gt 0 ] || fail "$mode: no user dispatches"
done
check_dmesg
