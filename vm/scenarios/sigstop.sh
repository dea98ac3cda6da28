# SPDX-License-Identifier: GPL-2.0-only
# sigstop: a stopped scheduler leaves tasks waiting in user space; the
# sched_ext watchdog (5 s) ejects it within 1.5x its timeout plus slack for
# TCG, the guest keeps answering, and after SIGCONT the process notices and
# exits with the reason.
. /usched/lib.sh
n=$(nproc)
stress-ng --cpu "$n" -t 60 --quiet &
load=$!
start_usched
sleep 2
kill -STOP "$USCHED_PID"
t0=$(cut -d' ' -f1 /proc/uptime)
wait_state disabled 15 || fail "watchdog did not eject the stopped scheduler within 15s"
t1=$(cut -d' ' -f1 /proc/uptime)
info "ejected after $(awk "BEGIN{print $t1-$t0}")s"
probe
kill -CONT "$USCHED_PID"
i=0; while kill -0 "$USCHED_PID" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
kill -0 "$USCHED_PID" 2>/dev/null && fail "scheduler still running 10s after SIGCONT"
wait "$USCHED_PID"; rc=$?
cat /tmp/usched.log | tail -5
[ $rc -ne 0 ] || fail "scheduler exited 0 after being ejected"
grep -qiE "stall|watchdog|runnable task" /tmp/usched.log || fail "exit message does not say why"
kill $load; wait $load
dmesg | grep -i sched_ext | tail -3
dmesg | grep -q 'failed to run for' || fail "the kernel log does not show the watchdog's ejection"
check_dmesg 'failed to run for'
