# SPDX-License-Identifier: GPL-2.0-only
# bpf-cost (not in the suite; a measurement, docs/benchmarks.md): what each
# of scx_usched's BPF programs costs under the demo's load (the probe's 2
# threads, 1 ms period, 50 us of work, beside as many CPU hogs as CPUs),
# two 4 s windows of `usched-stat --bpf-cost`, with the probe's figures
# under EEVDF first and under scx_usched. Run it with
#   vm/usched-vm run bpf-cost --cpus 2 --tcg multi
# The kernel's counting is switched on here, while the machine idles: a
# switch flips a static key, and that text patching under multi-threaded
# TCG oopsed when it ran beside busy vCPUs. Arguments: scx_usched's own.
. /usched/lib.sh
n=$(nproc)
echo 1 > /proc/sys/kernel/bpf_stats_enabled || fail "cannot switch on the kernel's BPF counting"
sleep 1
load() { # LABEL [cost]: the probe beside hogs, measuring the BPF side if asked
    stress-ng --cpu "$n" -t 16 --quiet &
    H=$!
    sleep 0.5
    usched-probe periodic --threads 2 --period-us 1000 --work-us 50 --secs 14 --label "$1" \
        > /tmp/probe.txt &
    P=$!
    if [ "${2:-}" = cost ]; then
        sleep 2
        for w in 1 2; do
            usched-stat --bpf-cost 4 > /tmp/cost.txt 2>&1 || { cat /tmp/cost.txt; fail "--bpf-cost failed"; }
            sed "s/^/[window $w] /" /tmp/cost.txt
        done
    fi
    wait $P || fail "the probe failed under $1"
    cat /tmp/probe.txt
    wait $H
}
load eevdf
start_usched "$@"
load scx_usched cost
[ "$(scx_state)" = enabled ] || fail "ejected"
stop_usched
echo 0 > /proc/sys/kernel/bpf_stats_enabled
check_dmesg
