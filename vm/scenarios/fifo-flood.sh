# SPDX-License-Identifier: GPL-2.0-only
# fifo-flood: the seed's FIFO example decides every task the moment it sees
# it and unwraps dispatch_task()'s result, as the seed's README does. 4096
# threads released at once mean more decisions outstanding than the user
# ring buffer holds at once: dispatch_task() must not fail where the BPF side
# only needs a moment to drain, the example must keep running, every thread
# must complete, and the scheduler must stay attached. usched-stat's
# ring_full counts the decisions that found the ring full: it must be > 0,
# or the scenario did not test what it says.
. /usched/lib.sh
fifo > /tmp/fifo.log 2>&1 &
pid=$!
wait_state enabled 20 || { cat /tmp/fifo.log; fail "not enabled within 20s (state $(scx_state))"; }
# Three rounds, and more (up to eight) until a decision has found the ring
# full: how often it fills depends on TCG's timing (1 to 8 times in three
# rounds of 4096 threads).
full=0
round=0
while [ $round -lt 3 ] || { [ "${full:-0}" -eq 0 ] && [ $round -lt 8 ]; }; do
    round=$((round + 1))
    timeout 120 usched-probe burst --threads 4096 --spin-ms 5 || { cat /tmp/fifo.log; fail "round $round: not every thread completed"; }
    [ "$(scx_state)" = enabled ] || { cat /tmp/fifo.log; fail "round $round: scheduler ejected"; }
    kill -0 $pid 2>/dev/null || { cat /tmp/fifo.log; fail "round $round: the FIFO example died"; }
    full=$(usched-stat | sed -n 's/.* ring_full=\([0-9]*\).*/\1/p')
done
info "$round rounds, ring_full=$full"
usched-stat > /tmp/stat.txt
grep -E "^(tasks|dispatch)" /tmp/stat.txt
full=$(sed -n 's/.* ring_full=\([0-9]*\).*/\1/p' /tmp/stat.txt)
[ "${full:-0}" -gt 0 ] || fail "the user ring buffer never filled (ring_full=${full:-?})"
kill -TERM $pid
wait_state disabled 10 || fail "not disabled 10s after SIGTERM"
check_dmesg
