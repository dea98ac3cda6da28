# SPDX-License-Identifier: GPL-2.0-only
# sysrq: SysRq-S disables sched_ext; the scheduler exits with the reason.
. /usched/lib.sh
start_usched
echo 1 > /proc/sys/kernel/sysrq
echo S > /proc/sysrq-trigger
wait_state disabled 10 || fail "SysRq-S did not disable sched_ext"
i=0; while kill -0 "$USCHED_PID" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
kill -0 "$USCHED_PID" 2>/dev/null && fail "scheduler still running 10s after SysRq-S"
wait "$USCHED_PID"
tail -5 /tmp/usched.log
grep -qi "sysrq" /tmp/usched.log || fail "exit reason does not mention SysRq"
check_dmesg
