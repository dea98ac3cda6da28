# SPDX-License-Identifier: GPL-2.0-only
# partial: with -p only tasks switched to SCHED_EXT are ours. A SCHED_EXT
# task (policy 7) does a fixed amount of work and finishes, through user
# space (the scheduler's enqueue count grows while it runs); an ordinary
# task stays SCHED_OTHER.
. /usched/lib.sh
enqueued() { usched-stat | sed -n 's/.*enqueued=\([0-9]*\).*/\1/p'; }
start_usched -p
sleep 1000 & other=$!
e0=$(enqueued)
usched-probe ext sh -c 'i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done; sleep 1' & ours=$!
sleep 0.5
kill -0 $ours 2>/dev/null || fail "the SCHED_EXT task is not running"
grep -qE "^policy +: +7" /proc/$ours/sched || { head -20 /proc/$ours/sched; fail "SCHED_EXT task is not policy 7"; }
grep -qE "^policy +: +0" /proc/$other/sched || { head -20 /proc/$other/sched; fail "ordinary task left SCHED_OTHER"; }
info "ours: $(grep -E '^policy' /proc/$ours/sched) other: $(grep -E '^policy' /proc/$other/sched)"
i=0; while kill -0 $ours 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
kill -0 $ours 2>/dev/null && fail "the SCHED_EXT task did not finish its work in 60 s"
wait $ours || fail "the SCHED_EXT task failed"
e1=$(enqueued)
info "tasks sent to user space while it ran: $((e1 - e0))"
[ $((e1 - e0)) -ge 2 ] || fail "the SCHED_EXT task never went through user space"
[ "$(scx_state)" = enabled ] || fail "scheduler ejected"
kill $other
stop_usched
check_dmesg
