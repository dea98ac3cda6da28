# SPDX-License-Identifier: GPL-2.0-only
# fast-cpus: issue #13's preference for the biggest cores, for latency-
# critical tasks. Hybrid P/E cores cannot be emulated, so the preferred set
# is given (--fast-cpus 2,3: what a hybrid machine's CPU capacities choose
# by default, unit-tested in src/topology.rs). Two audio-like periodic
# threads (2 ms period, 50 µs of work) start on CPU 0 (the probe is
# started there, then allowed every CPU) of 4 idle CPUs, 8 s. Asserted:
#   1. at least 90 % of their wake-ups ran on CPUs 2-3;
#   2. with CPU hogs pinned to CPUs 2 and 3, at least 75 % ran on CPUs 0-1
#      (an idle CPU of another kind before cutting in on a busy preferred
#      one; measured 90 %). Misses are reported, not asserted: with two
#      vCPUs spinning, single-threaded TCG stretches the threads' 50 µs
#      bursts (39 % missed in the first run; EEVDF in the same set-up, one
#      boot, 48 %);
#   3. attached throughout, and the counter of preferred picks moved.
# Beside the idle phase's share, its misses and the scheduler's CPU time are
# logged, and a failure prints the scheduler's counters: a starved emulator
# (22 % misses on the idle machine in one fresh-clone CI run that saw 81 %)
# is told apart from a wrong placement. The period was 1 ms until
# 2026-11-29: on a slower host (single-threaded TCG runs all 4 vCPUs on one
# host thread) a burst stretched past a third of its period stops being a
# fast waker's (fast_waker()), its wake-up goes through the dispatcher,
# whose CPU time stretches the next bursts: one host read 60-79 % on CPUs
# 2-3 with 27-60 % of the periods missed (the binary of the day before
# alike; EEVDF in the same boot missed 1.5 %), a fresh-clone CI run 88 %
# (FAIL). At 2 ms, in the same boot: 99.8 %, 0.35 % missed. That spiral
# is an emulation limit measured in docs/testing.md, not a placement one;
# it still came at 2 ms once (a fresh-clone CI run: 84 %, 23.7 % missed),
# so a short idle phase with 5 % or more missed runs again (3 tries).
# Broken on purpose (the pick disabled in ops.select_cpu()): see
# docs/testing.md.
. /usched/lib.sh
[ "$(nproc)" -ge 4 ] || fail "this scenario needs 4 CPUs"
start_usched --fast-cpus 2,3 "$@"
grep -q "fast wakers prefer CPUs \[2, 3\]" /tmp/usched.log || { cat /tmp/usched.log; fail "no preferred CPUs logged"; }
# share A B: % of the PROBE line's wake-ups that ran on CPUs A and B.
share() { sed -n 's/^PROBE.* runs_by_cpu=\([0-9,]*\).*/\1/p' /tmp/fc.txt |
    awk -F, -v a="$1" -v b="$2" '{ for (i = 1; i <= NF; i++) t += $i; print int(100 * ($(a + 1) + $(b + 1)) / (t ? t : 1)) }'; }
run() { # LABEL
    taskset -c 0 sh -c 'taskset -p -c 0-3 $$ >/dev/null && exec usched-probe periodic --threads 2 --period-us 2000 --work-us 50 --secs 8 --label '"$1" > /tmp/fc.txt 2>&1 ||
        { cat /tmp/fc.txt; fail "probe $1 failed"; }
    cat /tmp/fc.txt
}
# The idle phase runs again (3 tries at most) only when it fell short with
# 5 % of the periods or more missed: the emulator's spiral (see above; a
# fresh-clone CI run of the 2 ms probe read 84 % with 23.7 % missed, where
# runs outside it miss 0.4-1.6 %). A short share with few misses is a
# placement fault and fails at once (the pick disabled: 9 %, 3.8 % missed).
try=0
while :; do
    try=$((try + 1))
    p0=$(usched-stat | sed -n 's/.*(fast [0-9]* pref \([0-9]*\)).*/\1/p')
    t0=$(proc_ticks $USCHED_PID)
    run idle
    t1=$(proc_ticks $USCHED_PID)
    s23=$(share 2 3)
    imiss=$(probe_field /tmp/fc.txt miss_pct)
    p1=$(usched-stat | sed -n 's/.*(fast [0-9]* pref \([0-9]*\)).*/\1/p')
    info "idle machine, try $try: ${s23} % of the wake-ups on CPUs 2-3, misses ${imiss} %, scheduler CPU $(( (t1 - t0) * 10 )) ms in 8 s; preferred picks ${p0} -> ${p1}"
    [ -n "$s23" ] && [ -n "$imiss" ] || break
    [ "$s23" -lt 90 ] && [ "${imiss%.*}" -ge 5 ] && [ $try -lt 3 ] || break
    info "short, with ${imiss} % missed: the emulator's spiral, not a placement fault; again"
done
taskset -c 2 usched-probe hogs --spec 0 --secs 12 > /dev/null 2>&1 & h2=$!
taskset -c 3 usched-probe hogs --spec 0 --secs 12 > /dev/null 2>&1 & h3=$!
sleep 1
run busy
s01=$(share 0 1)
miss=$(probe_field /tmp/fc.txt miss_pct)
wait $h2 $h3
info "CPUs 2-3 busy: ${s01} % of the wake-ups on CPUs 0-1, misses ${miss} %"
[ "$(scx_state)" = enabled ] || { tail -20 /tmp/usched.log; fail "ejected"; }
[ -n "$s23" ] && [ -n "$s01" ] && [ -n "$miss" ] && [ -n "$p0" ] && [ -n "$p1" ] || fail_usched "no PROBE line or no counter"
[ "$s23" -ge 90 ] || fail_usched "only $s23 % of the wake-ups ran on the preferred CPUs 2-3 (bound 90 %)"
[ "$p1" -gt "$p0" ] || fail_usched "no preferred pick counted"
[ "$s01" -ge 75 ] || fail_usched "with CPUs 2-3 busy, only $s01 % of the wake-ups ran on the idle CPUs 0-1 (bound 75 %)"
stop_usched
check_dmesg
