# SPDX-License-Identifier: GPL-2.0-only
# affinity-pinned: two CPU hogs pinned to CPU 1 keep its run queue full
# while a worker's affinity flips between CPU 0 and CPU 1 (taskset, checked)
# until it finishes a fixed amount of work. The worker finishes within 120 s,
# at least 100 flips happen, and the scheduler stays attached: a task that
# may run on one CPU must never wait where that CPU does not look (it used
# to sit in the shared DSQ behind the hogs until the watchdog ejected us).
. /usched/lib.sh
start_usched
taskset 2 sh -c 'while :; do :; done' & h1=$!
taskset 2 sh -c 'while :; do :; done' & h2=$!
sleep 0.5
sh -c 'i=0; while [ $i -lt 150000 ]; do i=$((i+1)); done' & w=$!
flips=0; t0=$(cut -d. -f1 /proc/uptime)
while kill -0 $w 2>/dev/null; do
    for m in 1 2; do
        out=$(taskset -p $m $w 2>&1) || { kill -0 $w 2>/dev/null || break 2; fail "taskset -p $m $w: $out"; }
        flips=$((flips + 1))
    done
    [ $(( $(cut -d. -f1 /proc/uptime) - t0 )) -lt 120 ] || fail "worker not done after 120 s ($flips flips)"
done
wait $w || fail "worker failed"
kill $h1 $h2
info "worker done after $(( $(cut -d. -f1 /proc/uptime) - t0 )) s and $flips affinity flips"
[ $flips -ge 100 ] || fail "only $flips affinity flips: churn did not happen"
[ "$(scx_state)" = enabled ] || { tail -20 /tmp/usched.log; fail "scheduler ejected"; }
usched-stat | head -2
stop_usched
check_dmesg
