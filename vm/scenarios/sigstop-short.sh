# SPDX-License-Identifier: GPL-2.0-only
# sigstop-short: SIGSTOP for 2 s under load, shorter than the 5 s watchdog,
# then SIGCONT (sent from a SCHED_FIFO shell: every sched_ext task waits
# while the dispatcher is stopped): the scheduler is not ejected (state enabled, enable_seq
# unchanged), goes on dispatching from user space, and exits 0 on SIGINT.
. /usched/lib.sh
enqueued() { usched-stat | sed -n 's/.*enqueued=\([0-9]*\).*/\1/p'; }
n=$(nproc)
stress-ng --cpu "$n" -t 30 --quiet &
load=$!
start_usched --exit-dump-len 262144
seq=$(scx_seq)
sleep 2
# While the dispatcher is stopped every sched_ext task waits, this shell
# too: the stop and the continue come from a SCHED_FIFO shell.
chrt -f 50 sh -c "kill -STOP $USCHED_PID; sleep 2; kill -CONT $USCHED_PID" || fail "chrt failed"
sleep 3
[ "$(scx_state)" = enabled ] || { grep -v "SCX_EV_" /tmp/usched.log | head -150; fail "ejected by a 2 s stop (watchdog 5 s)"; }
[ "$(scx_seq)" = "$seq" ] || fail "the scheduler was re-attached ($seq -> $(scx_seq))"
e0=$(enqueued); sleep 2; e1=$(enqueued)
info "after SIGCONT: $((e1 - e0)) tasks through user space in 2 s"
[ $((e1 - e0)) -gt 0 ] || fail "no task went through user space after SIGCONT"
kill $load; wait $load
stop_usched
check_dmesg
