# SPDX-License-Identifier: GPL-2.0-only
# linger: issue #11's wake-up behind a waker that goes on running. A pair
# (usched-probe pingpong --linger-us 20000: the first thread writes, then
# runs 20 ms more before it reads; the second wakes, does 10 µs of work and
# answers) beside one CPU hog on 2 CPUs, 10 s under EEVDF, then under
# scx_usched in one boot. The pipe's wake-up is sync, but its waker does
# not sleep: believed, the wakee waited behind it or for a round trip
# through the policy and a slice end. Asserted under scx_usched: attached;
# the wakee's wake-up p50 at most 2.5x EEVDF's and its p99 at most 5x, in
# the same boot. Measured on single-threaded TCG: p50 412 µs, p99 1614 µs
# against EEVDF's 330 / 1057 (1.25x / 1.53x); with the sync hint always
# believed (the code before sync_waker_sleeps() in bpf/main.bpf.c) 1335 /
# 7176 against 309 / 1011 (4.3x / 7.1x: FAIL). Arguments: SECS (10), then
# scx_usched's own.
. /usched/lib.sh
SECS=${1:-10}
[ $# -ge 1 ] && shift
phase() { pingpong_phase "$1" --secs "$SECS" --hogs 1 --linger-us 20000; }
phase eevdf
e50=$(pingpong_val wake_p50_us); e99=$(pingpong_val wake_p99_us)
start_usched "$@"
phase usched
u50=$(pingpong_val wake_p50_us); u99=$(pingpong_val wake_p99_us)
[ "$(scx_state)" = enabled ] || { tail -20 /tmp/usched.log; fail "ejected"; }
usched-stat | head -1
stop_usched
[ -n "$e50" ] && [ -n "$e99" ] && [ -n "$u50" ] && [ -n "$u99" ] || fail "no PINGPONG line"
info "wakee's wake-up, p50 / p99 us: scx_usched $u50 / $u99, EEVDF $e50 / $e99"
[ $((u50 * 10)) -le $((e50 * 25)) ] || fail "wake-up p50 $u50 us, over 2.5x EEVDF's $e50 us"
[ "$u99" -le $((e99 * 5)) ] || fail "wake-up p99 $u99 us, over 5x EEVDF's $e99 us"
check_dmesg
