# SPDX-License-Identifier: GPL-2.0-only
# llc-pair: issue #13's LLC placement and the sync hand-off. A communicating
# pair (usched-probe pingpong: two threads bouncing a byte over two pipes,
# 10 µs of work a turn) beside two CPU hogs, on a machine of two last-level
# caches (the suite runs it on llc4: 2 sockets x 2 cores, one NUMA node),
# under EEVDF and then scx_usched in one boot. Every 250 ms the CPU each
# thread last ran on is sampled. Asserted under scx_usched: attached; the
# pair in one LLC in at least 80 % of the samples and no less than EEVDF's
# share minus 10 points; its round trips at least 0.4x EEVDF's in the same
# boot (sync wake-ups run at once when nobody waits: 9.3-12.7k a second
# against EEVDF's 6.0-9.7k in the same boots; each through the policy,
# --no-sync-handoff, 1.4-1.5k, 0.23x: FAIL). Reported: the share of samples with the two hogs in different
# LLCs. Arguments: SECS (12), then scx_usched's own.
. /usched/lib.sh
SECS=${1:-12}
[ $# -ge 1 ] && shift
llcs=$(cat /sys/devices/system/cpu/cpu*/cache/index3/shared_cpu_list | sort -u | wc -l)
info "$(nproc) CPUs, $llcs last-level caches"
[ "$llcs" -ge 2 ] || fail "this scenario needs at least two LLCs (topology llc4, llc8, numa4)"
phase() { pingpong_phase "$1" --secs "$SECS" --hogs 2; }
phase eevdf
e_llc=$(pingpong_val same_llc_pct); e_rounds=$(pingpong_val rounds_per_s)
start_usched "$@"
phase usched
u_llc=$(pingpong_val same_llc_pct); u_rounds=$(pingpong_val rounds_per_s)
[ "$(scx_state)" = enabled ] || { tail -20 /tmp/usched.log; fail "ejected"; }
info "pair in one LLC: scx_usched ${u_llc} % of samples, EEVDF ${e_llc} %; round trips a second: ${u_rounds} against ${e_rounds}"
usched-stat | head -1
[ -n "$u_llc" ] && [ -n "$e_llc" ] && [ -n "$u_rounds" ] && [ -n "$e_rounds" ] || fail "no PINGPONG line"
[ "$u_llc" -ge 80 ] || fail "the pair shared an LLC in only $u_llc % of the samples (bound 80 %)"
[ "$u_llc" -ge $((e_llc - 10)) ] || fail "the pair shared an LLC in $u_llc % of the samples, EEVDF $e_llc %"
[ $((u_rounds * 10)) -ge $((e_rounds * 4)) ] || fail "round trips: $u_rounds a second, under 0.4x EEVDF's $e_rounds"
stop_usched
check_dmesg
