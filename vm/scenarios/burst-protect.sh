# SPDX-License-Identifier: GPL-2.0-only
# burst-protect: a preemption held back by a fast waker's protected burst
# is sent when the protection ends (the protect timer), not when the burst
# does (issue #11: an audio period that came in a frame's first millisecond
# waited for the whole frame). Two frame loops (60 Hz, 2 ms of work: the
# fast path's bursts, protected for 1 ms) and one audio-like thread (1 ms
# period, 50 us of work) beside one CPU hog per CPU, 10 s, first under
# EEVDF, then under scx_usched with its defaults (and the scenario's
# arguments). Asserted:
#   1. the protect timer sent held-back preemptions (usched-stat's
#      protect count over the run: at least 20);
#   2. no more frames missed than EEVDF's plus 2.5 % of them: a burst that
#      gives way after its first millisecond resumes without a round trip;
#   3. attached throughout.
# The audio thread's figures and all lateness are logged, not asserted (the
# benchmark measures them on multi-threaded TCG: docs/benchmarks.md,
# "Held-back preemptions"). Here, with one host thread for both vCPUs, the
# audio thread woke 1281-1346 times in 10 s against EEVDF's 3880-4108, with
# the timer and without it alike. Broken on purpose (the timer never
# armed): see docs/testing.md.
. /usched/lib.sh
n=$(nproc)
mix() { # mix LABEL: frames and audio beside the hogs; PROBE lines in /tmp/{g,a}.txt
    stress-ng --cpu "$n" -t 14 --quiet & hogs=$!; sleep 1
    usched-probe periodic --threads 2 --period-us 16667 --work-us 2000 --secs 10 \
        --label "$1-game" > /tmp/g.txt 2>&1 & game=$!
    usched-probe periodic --threads 1 --period-us 1000 --work-us 50 --secs 10 \
        --label "$1-audio" > /tmp/a.txt 2>&1 || { cat /tmp/a.txt; fail "audio probe failed"; }
    wait $game || { cat /tmp/g.txt; fail "game probe failed"; }
    wait $hogs
    grep '^PROBE' /tmp/g.txt /tmp/a.txt || { cat /tmp/g.txt /tmp/a.txt; fail "no PROBE line"; }
}
mix eevdf
egn=$(probe_field /tmp/g.txt n); egm=$(probe_field /tmp/g.txt misses)
ean=$(probe_field /tmp/a.txt n); eam=$(probe_field /tmp/a.txt misses); ea99=$(probe_field /tmp/a.txt late_p99_us)
start_usched "$@"
k0=$(stat_field protect)
mix scx_usched
k1=$(stat_field protect)
[ "$(scx_state)" = enabled ] || fail_usched "scheduler ejected"
ugn=$(probe_field /tmp/g.txt n); ugm=$(probe_field /tmp/g.txt misses)
uan=$(probe_field /tmp/a.txt n); uam=$(probe_field /tmp/a.txt misses); ua99=$(probe_field /tmp/a.txt late_p99_us)
[ -n "$k0" ] && [ -n "$k1" ] && [ -n "$egm" ] && [ -n "$egn" ] && [ -n "$ugm" ] ||
    fail_usched "no counter or no PROBE figure"
nk=$((k1 - k0))
info "frames: eevdf $egn (missed $egm), scx_usched $ugn (missed $ugm)"
info "audio wake-ups: eevdf $ean ($eam overran, p99 ${ea99} us), scx_usched $uan ($uam overran, p99 ${ua99} us)"
info "held-back preemptions sent by the protect timer: $nk"
[ "$nk" -ge 20 ] || fail_usched "the protect timer sent $nk held-back preemptions (bound 20)"
[ "$ugm" -le $((egm + egn * 25 / 1000)) ] || fail_usched "$ugm frames missed, EEVDF $egm"
stop_usched
check_dmesg
