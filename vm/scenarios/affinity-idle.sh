# SPDX-License-Identifier: GPL-2.0-only
# affinity-idle (4 CPUs): a periodic thread allowed on CPUs 2-3 only (5 ms
# period, 1 ms of work: too long for the fast path at --fast-wakeup-us 1000,
# the default when this was written and set here, so every wake-up goes
# through the policy as an any-CPU decision) on an otherwise idle machine.
# Its wake-up lateness stays far below the starvation guard's 0.5 s, and
# the guard never fires: the CPU that can run a decided task is woken when
# the task is queued (it used to be "an idle CPU", CPU 0, which may not run
# it, so the task waited for the guard).
. /usched/lib.sh
field() { probe_field /tmp/p.txt "$1"; }
starved() { stat_field starved; }
[ "$(nproc)" -ge 4 ] || fail "needs 4 CPUs"
run() {
    taskset -c 2,3 usched-probe periodic --threads 1 --period-us 5000 --work-us 1000 --secs 6 --label "$1" > /tmp/p.txt \
        || fail "probe failed"
    cat /tmp/p.txt
}
run eevdf
start_usched --fast-wakeup-us 1000
s0=$(starved)
run scx_usched
s1=$(starved)
p99=$(field late_p99_us)
[ -n "$s0" ] && [ -n "$s1" ] && [ -n "$p99" ] || fail "no starved count (usched-stat) or no p99 (probe)"
info "scx_usched: lateness p99 ${p99} us, starvation-guard rescues $((s1 - s0))"
[ "$(scx_state)" = enabled ] || fail "scheduler ejected"
awk "BEGIN{exit !($p99 < 100000)}" || fail "lateness p99 ${p99} us: tasks wait for the guard, not for a CPU"
[ $((s1 - s0)) -eq 0 ] || fail "the starvation guard had to rescue $((s1 - s0)) tasks on an idle machine"
stop_usched
check_dmesg
