# SPDX-License-Identifier: GPL-2.0-only
# rt-starve: a SCHED_FIFO hog holds CPU 1 for 8 s; a task pinned there still
# gets a share of it through the kernel's deadline servers (fair_server under
# EEVDF, ext_server under sched_ext: 50 ms per 1 s, deferred), and the
# scheduler is not ejected. The share is measured under EEVDF first, then
# under scx_usched, in the same boot; ours must reach 4 %.
. /usched/lib.sh
# spin N: a busy loop pinned to CPU 1 counting for N seconds (no forks).
spin() { taskset 2 awk -v secs="$1" 'BEGIN { srand(); t0 = srand(); n = 0; while (srand() - t0 < secs) for (i = 0; i < 1000; i++) n++; print n }'; }
measure() { # measure LABEL -> prints the share in %
    free=$(spin 2)
    timeout 8 taskset 2 chrt -f 50 sh -c 'while :; do :; done' &
    hog=$!
    sleep 0.2
    under=$(spin 6)
    wait $hog
    awk "BEGIN{ printf \"%.1f\", 100 * ($under / 6) / ($free / 2) }"
}
eevdf=$(measure eevdf)
info "EEVDF: share of CPU 1 under the RT hog: ${eevdf}%"
start_usched --dispatcher-cpu 0
ours=$(measure usched)
info "scx_usched: share of CPU 1 under the RT hog: ${ours}%"
[ "$(scx_state)" = enabled ] || fail "scheduler ejected"
awk "BEGIN{exit !($ours >= 4)}" || fail "share ${ours}% < 4% (EEVDF: ${eevdf}%)"
stop_usched
check_dmesg
