# SPDX-License-Identifier: GPL-2.0-only
# kept-key: a CPU hog the BPF side keeps running without a round trip holds
# a key no earlier than the policy's floor (Policy::vtime_floor), so a task
# woken beside it with a key from the policy is not kept waiting behind it.
# cyclictest's two threads (SCHED_OTHER, 1 ms, pinned one per CPU by
# rt-tests) beside one CPU hog per CPU, 4 rounds of 10 s, first under
# EEVDF, then under scx_usched. Asserted:
#   1. cyclictest's worst maximum over the rounds is at most 30 ms, or
#      twice EEVDF's worst when that is more (TCG stretches both);
#   2. attached throughout.
# Broken on purpose (next_key() without the floor): a hog keyed 14-76 ms
# before the woken thread was kept at each slice end while the thread
# waited; see docs/testing.md for the figures. Not in the default suite:
# its first CI run read 40 ms in one round of four (docs/testing.md).
. /usched/lib.sh
n=$(nproc); rounds=4
worst() { # worst NAME: the largest cyclictest Max over the rounds, us
    w=0
    for r in $(seq $rounds); do
        stress-ng --cpu "$n" -t 13 --quiet & hogs=$!; sleep 1
        cyclictest -q -t 2 -i 1000 -D 10 -m > /tmp/cyc.txt 2>&1
        wait $hogs
        m=$(cyclic_max /tmp/cyc.txt)
        [ -n "$m" ] || { cat /tmp/cyc.txt; fail "$1: no cyclictest maximum"; }
        info "$1 round $r: max ${m} us"
        [ "$m" -gt "$w" ] && w=$m
    done
}
worst eevdf; ew=$w
start_usched
worst scx_usched; uw=$w
[ "$(scx_state)" = enabled ] || fail_usched "scheduler ejected"
bound=$((ew * 2)); [ $bound -lt 30000 ] && bound=30000
info "worst wake-up latency: eevdf ${ew} us, scx_usched ${uw} us (bound ${bound} us)"
[ "$uw" -le "$bound" ] || fail_usched "cyclictest waited ${uw} us (bound ${bound} us)"
stop_usched
check_dmesg
