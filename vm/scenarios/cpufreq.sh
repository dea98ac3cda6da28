# SPDX-License-Identifier: GPL-2.0-only
# cpufreq: with --cpufreq, scx_usched asks each CPU for the speed its
# utilisation needs (usched-core's cpuperf rule, applied by the governor
# thread) and runs latency-critical tasks (fast wakers) at full speed
# (scx_bpf_cpuperf_set). The VM has no cpufreq driver: the kernel takes the
# targets and no clock changes, so the scenario checks what was asked, per
# CPU, in usched-stat's "cpuperf:" line.
# Everything but the periodic thread of step 2 runs on CPU 0 (the scenario's
# shell, the scheduler and usched-stat included), so that the last CPU is
# quiet and its target is not the observers'.
#   1. A CPU hog on CPU 0: CPU 0 is asked for full speed (at least 960 of
#      1024: its utilisation; schedutil adds the headroom), the quiet last
#      CPU for less than half of it, and for something (0: never set).
#   2. The hog gone, a periodic thread (50 us of work every 10 ms) free to
#      run on any CPU: at least half its runs start at full speed, counted
#      in "boosts". (With a hog on the other vCPU, single-threaded TCG
#      stretches a 50 us burst to milliseconds of wall time, and the thread
#      no longer looks latency-critical: hence no hog here.)
#   3. Once it is gone, no CPU but CPU 0 (the observers') is asked for full
#      speed: a boost ends when its task sleeps.
. /usched/lib.sh
n=$(nproc)
[ "$n" -ge 2 ] || fail "needs at least 2 CPUs"
last=$((n - 1))
target() { # target CPU: CPU's target in /tmp/stat.txt
    sed -n "s/^cpuperf:.* target:.* $1=\([0-9]*\).*/\1/p" /tmp/stat.txt
}
counter() { # counter NAME: sets= or boosts= in /tmp/stat.txt
    sed -n "s/^cpuperf: .*$1=\([0-9]*\).*/\1/p" /tmp/stat.txt
}
snap() {
    usched-stat > /tmp/stat.txt || { cat /tmp/stat.txt; fail "usched-stat failed"; }
    grep '^cpuperf:' /tmp/stat.txt || { cat /tmp/stat.txt; fail "$1: no cpuperf line (no target was set)"; }
}
taskset -p -c 0 $$ > /dev/null || fail "cannot pin the scenario to CPU 0"
start_usched --cpufreq --poll blocking
grep -q 'cpufreq=on' /tmp/usched.log || { cat /tmp/usched.log; fail "--cpufreq not on in the mode line"; }

usched-probe hogs --spec 0 --secs 6 > /tmp/hog.txt 2>&1 &
hog=$!
sleep 6
snap "hog"
t0=$(target 0) tq=$(target $last)
info "hog on CPU 0: targets CPU 0 = $t0, CPU $last = $tq"
[ -n "$t0" ] && [ "$t0" -ge 960 ] || fail "CPU 0 runs a hog but was asked for '$t0' (want >= 960 of 1024)"
[ -n "$tq" ] && [ "$tq" -ge 1 ] && [ "$tq" -lt 512 ] || fail "CPU $last is quiet but was asked for '$tq' (want 1-511; 0: never set)"
wait $hog || { cat /tmp/hog.txt; fail "the hog failed"; }

b0=$(counter boosts)
taskset -c 0-$last usched-probe periodic --threads 1 --period-us 10000 --work-us 50 --secs 4 > /tmp/per.txt 2>&1 \
    || { cat /tmp/per.txt; fail "periodic failed"; }
snap "periodic"
b1=$(counter boosts)
cat /tmp/per.txt
runs=$(sed -n 's/^PROBE periodic n=\([0-9]*\).*/\1/p' /tmp/per.txt)
info "boosted runs: $((b1 - b0)) of $runs"
[ $((b1 - b0)) -ge $((runs / 2)) ] || fail "only $((b1 - b0)) of $runs latency-critical runs were boosted (want half)"

sleep 2
snap "after"
for c in $(seq 1 $last); do
    t=$(target $c)
    [ -n "$t" ] && [ "$t" -lt 1024 ] || fail "CPU $c is asked for '$t' on a quiet machine: a boost outlived its task"
done
[ "$(scx_state)" = enabled ] || fail "not enabled at the end"
stop_usched
no_records_lost
check_dmesg
