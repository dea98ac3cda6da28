# SPDX-License-Identifier: GPL-2.0-only
# placement: a measurement for issue #13, not part of the suite. N CPU hogs
# (first argument, default: one per core) run SECS seconds (second, default
# 15) under EEVDF, scx_usched, and EEVDF again, in one boot; every 250 ms the
# CPU each hog last ran on is sampled (/proc/PID/stat field 39). Printed per
# phase: the share of samples in which two hogs sat on one CPU and on one
# core (SMT siblings), and the hogs' CPU time as a share of the machine.
# Further arguments go to scx_usched (as --flag=value). Use with a
# topology, e.g.
#   vm/usched-vm run placement --topology smt4 --args 2,15
#   vm/usched-vm run placement --topology numa4 --args 4,15,--slice-us=20000
. /usched/lib.sh
ncpu=$(grep -c ^processor /proc/cpuinfo)
topo=/sys/devices/system/cpu
core_of() { echo "$(cat $topo/cpu$1/topology/physical_package_id)-$(cat $topo/cpu$1/topology/core_id)"; }
ncores=$(for c in $(seq 0 $((ncpu - 1))); do core_of $c; done | sort -u | wc -l)
N=${1:-$ncores}; SECS=${2:-15}
[ $# -ge 2 ] && shift 2
hz=$(getconf CLK_TCK 2>/dev/null || echo 100)
for c in $(seq 0 $((ncpu - 1))); do
    info "cpu$c core $(core_of $c) node $(ls -d $topo/cpu$c/node* 2>/dev/null | sed 's/.*node//') llc $(cat $topo/cpu$c/cache/index3/shared_cpu_list 2>/dev/null)"
done

cputime() { t=0; for p in $pids; do t=$((t + $(awk '{print $14 + $15}' /proc/$p/stat))); done; echo $t; }

measure() {
    pids=""
    for i in $(seq 1 "$N"); do sh -c 'while :; do :; done' & pids="$pids $!"; done
    sleep 1
    t0=$(cputime); s0=$(date +%s)
    n=0; samecpu=0; samecore=0
    while [ $(($(date +%s) - s0)) -lt "$SECS" ]; do
        cpus=""; cores=""
        for p in $pids; do
            c=$(awk '{print $39}' /proc/$p/stat); cpus="$cpus $c"; cores="$cores $(core_of $c)"
        done
        n=$((n + 1))
        [ "$(echo $cpus | tr ' ' '\n' | sort | uniq -d | wc -l)" -gt 0 ] && samecpu=$((samecpu + 1))
        [ "$(echo $cores | tr ' ' '\n' | sort | uniq -d | wc -l)" -gt 0 ] && samecore=$((samecore + 1))
        sleep 0.25
    done
    t1=$(cputime); s1=$(date +%s)
    kill $pids; wait $pids 2>/dev/null
    echo "PLACE $1 hogs=$N cpus=$ncpu samples=$n same_cpu=$((100 * samecpu / n))% same_core=$((100 * samecore / n))% machine_share=$(( (t1 - t0) * 100 / (hz * (s1 - s0) * ncpu) ))%"
}

measure eevdf
start_usched "$@"
measure "scx_usched${*:+ $*}"
[ "$(scx_state)" = enabled ] || fail "scx_usched was ejected during the measurement"
stop_usched
measure eevdf
check_dmesg
