# SPDX-License-Identifier: GPL-2.0-only
# class-flip: CPU-bound tasks are switched, while queued, between
# SCHED_OTHER, SCHED_FIFO and SCHED_IDLE 300 rounds each (then, in partial
# mode, between SCHED_EXT, SCHED_FIFO and SCHED_IDLE), then ordinary load
# runs. The scheduler stays attached, and the count of decided-but-not-yet-
# running tasks (nr_kqueued, "scheduled" in usched-stat) returns to 0 once
# the machine is idle: a task that leaves sched_ext from a DSQ must not keep
# its +1 (it used to, for good). A flip that catches a task whose record
# waits in the policy must replace that stale entry (counted, at least once
# over the run), and no task may overflow the policy. The same for the sum
# of the runnable tasks' load weights (runnable_weight, "weight" in
# usched-stat; the starvation guard's divisor): idle, it must come down to
# a few tasks' worth (usched-stat itself, the dispatcher, a kworker), never
# keep the weight of tasks that left.
. /usched/lib.sh
scheduled() { stat_field scheduled; }
# Idle, the count is 0 but for a task caught between its insertion and its
# start: it must read 0 at least once in 10 s.
settles_to_zero() {
    i=0
    while [ $i -lt 50 ]; do
        s=$(scheduled)
        [ "$s" = 0 ] && return 0
        sleep 0.2; i=$((i + 1))
    done
    fail "$1: nr_kqueued stuck at $s on an idle machine (leaked)"
}
weight() { stat_field weight; }
# Idle, at most four nice-0 tasks' worth, at least once in 10 s.
weight_settles() {
    i=0
    while [ $i -lt 50 ]; do
        w=$(weight)
        [ -n "$w" ] && [ "$w" -le 4096 ] && return 0
        sleep 0.2; i=$((i + 1))
    done
    fail "$1: runnable_weight stuck at ${w:-unreadable} on an idle machine (leaked)"
}
flip_and_check() { # MODE-ARGS... ; PROBE-ARGS in $probe_args
    start_usched "$@"
    usched-probe classflip --hogs 4 --rounds 300 $probe_args > /tmp/flip.txt 2>&1 \
        || { cat /tmp/flip.txt; fail "classflip failed"; }
    cat /tmp/flip.txt
    grep -q 'flips=2400' /tmp/flip.txt || fail "not every flip happened"
    [ "$(scx_state)" = enabled ] || { tail -20 /tmp/usched.log; fail "ejected during class flips"; }
    sleep 1
    settles_to_zero "after the flips"
    weight_settles "after the flips"
    info "after the flips: $(usched-stat | grep '^tasks')"
    # Ordinary load afterwards (what the leak used to break).
    timeout 60 stress-ng -c 4 -t 8 --quiet || fail "stress-ng after the flips failed ($?)"
    [ "$(scx_state)" = enabled ] || { tail -20 /tmp/usched.log; fail "ejected under load after the flips"; }
    sleep 1
    settles_to_zero "after the load"
    weight_settles "after the load"
    stop_usched
    # A flip of a task whose record waits in the policy makes the kernel
    # queue it anew: the new record must replace the stale entry, never
    # overflow to "any CPU" (a task pinned to one CPU would then wait in
    # the shared DSQ, #10 item 4).
    line=$(grep 'detached after' /tmp/usched.log) || fail "no detach line"
    info "$line"
    over=$(echo "$line" | sed -n 's/.*policy overflows \([0-9]*\).*/\1/p')
    repl=$(echo "$line" | sed -n 's/.*policy entries replaced \([0-9]*\).*/\1/p')
    [ -n "$over" ] && [ -n "$repl" ] || fail "cannot read the detach counters"
    [ "$over" -eq 0 ] || fail "$over tasks overflowed the policy (a stale entry was not replaced)"
    replaced_total=$((replaced_total + repl))
}
replaced_total=0
probe_args="" flip_and_check
probe_args="--ext" flip_and_check -p
info "stale policy entries replaced: $replaced_total"
[ "$replaced_total" -ge 1 ] || fail "no flip caught a task in the policy: the replacement path went untested"
check_dmesg
