# SPDX-License-Identifier: GPL-2.0-only
# frame-loop: issue #11's game-like threads wake without the round trip to
# user space. Two frame loops (2 ms of work every 16.7 ms, 60 Hz; not the
# benchmark's 4 ms, because single-threaded TCG stretches a burst: at 4 ms
# the average crossed the 5 ms threshold in a run, at 3 ms 940 of 1182
# periods took the path in a CI run) beside one CPU hog per CPU,
# 10 s, first under EEVDF, then under scx_usched with its defaults (and the
# scenario's arguments). Asserted:
#   1. at least 70 % of their periods were dispatched by the BPF side's
#      fast path (usched-stat's fast count over the run; the hogs never
#      sleep and never qualify). With the old default threshold (1 ms)
#      30 of 1141 were, and those periods woke 6.5 ms late at the median
#      (EEVDF 0.66 ms in the same boot);
#   2. no more periods missed than EEVDF's plus 2.5 % of them (0 of 1198
#      measured; 13 of 1182 with 3 ms frames in a CI run; 57 with the old
#      threshold);
#   3. attached throughout.
# The median lateness is logged, not asserted: on the path it read 1.0x
# (2 ms frames), 1.7x and 4.3x (3 ms) EEVDF's (EEVDF's wake-up stays on the timer's CPU; a
# cut-in elsewhere waits for an IPI, slow when one host thread runs every
# vCPU). The benchmark measures it (docs/benchmarks.md).
# Broken on purpose (--fast-wakeup-us 1000, the old default): see
# docs/testing.md.
. /usched/lib.sh
n=$(nproc)
game() { # game: the frame loops beside the hogs; PROBE line in /tmp/g.txt
    stress-ng --cpu "$n" -t 14 --quiet & hogs=$!; sleep 1
    usched-probe periodic --threads 2 --period-us 16667 --work-us 2000 --secs 10 --label "$1" > /tmp/g.txt 2>&1 ||
        { cat /tmp/g.txt; fail "probe failed"; }
    wait $hogs
    grep '^PROBE' /tmp/g.txt || { cat /tmp/g.txt; fail "no PROBE line"; }
}
field() { probe_field /tmp/g.txt "$1"; }
fast() { usched-stat | sed -n 's/.*(fast \([0-9]*\) pref.*/\1/p'; }
game eevdf
e50=$(field late_p50_us); emiss=$(field misses); en=$(field n)
start_usched "$@"
f0=$(fast)
game scx_usched
f1=$(fast)
[ "$(scx_state)" = enabled ] || fail_usched "scheduler ejected"
un=$(field n); u50=$(field late_p50_us); umiss=$(field misses)
[ -n "$f0" ] && [ -n "$f1" ] && [ -n "$un" ] && [ -n "$u50" ] && [ -n "$e50" ] ||
    fail_usched "no counter or no PROBE figure"
nf=$((f1 - f0))
info "periods: eevdf $en (missed $emiss, p50 ${e50} us), scx_usched $un (missed $umiss, p50 ${u50} us); fast dispatches $nf"
[ $((nf * 100)) -ge $((un * 70)) ] || fail_usched "only $nf fast dispatches for $un periods (bound 70 %)"
[ "$umiss" -le $((emiss + en * 25 / 1000)) ] || fail_usched "$umiss periods missed, EEVDF $emiss"
stop_usched
check_dmesg
