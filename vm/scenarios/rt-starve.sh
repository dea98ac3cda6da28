# SPDX-License-Identifier: GPL-2.0-only
# rt-starve: a SCHED_FIFO hog holds CPU 1; a CPU-bound task pinned there
# still gets a share of it through the kernel's deadline servers (fair_server
# under EEVDF, ext_server under sched_ext: 50 ms per 1 s), and the scheduler
# is not ejected. The share is the pinned task's CPU time (se.sum_exec_runtime,
# ns-exact) over 10 s of wall time, measured under EEVDF first for reference,
# then under scx_usched, in the same boot; ours must reach 4 % (the servers
# lend 5 %; a 10 s window is off by at most one 50 ms burst, 0.5 %).
. /usched/lib.sh
exec_ms() { awk '/se.sum_exec_runtime/ { printf "%d", $3 }' /proc/$1/sched; }
now_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }
measure() { # -> the pinned task's share of CPU 1 under the RT hog, in %
    timeout 14 taskset 2 chrt -f 50 sh -c 'while :; do :; done' &
    hog=$!
    sleep 0.5
    taskset 2 sh -c 'while :; do :; done' &
    sp=$!
    sleep 1
    r0=$(exec_ms $sp); t0=$(now_ms)
    sleep 10
    r1=$(exec_ms $sp); t1=$(now_ms)
    kill $sp; wait $sp 2>/dev/null
    wait $hog
    awk "BEGIN{ printf \"%.1f\", 100 * ($r1 - $r0) / ($t1 - $t0) }"
}
eevdf=$(measure)
info "EEVDF: share of CPU 1 under the RT hog: ${eevdf}%"
start_usched --dispatcher-cpu 0
ours=$(measure)
info "scx_usched: share of CPU 1 under the RT hog: ${ours}%"
[ "$(scx_state)" = enabled ] || fail "scheduler ejected"
awk "BEGIN{exit !($ours >= 4)}" || fail "share ${ours}% < 4% (EEVDF: ${eevdf}%)"
stop_usched
check_dmesg
