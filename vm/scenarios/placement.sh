# SPDX-License-Identifier: GPL-2.0-only
# placement: issue #13's work conservation and SMT placement. N CPU hogs
# (first argument, default: one per core) run SECS seconds (second, default
# 15) under EEVDF, scx_usched, and EEVDF again, in one boot; every 250 ms the
# CPU each hog last ran on is sampled (/proc/PID/stat field 39). Printed per
# phase: the share of samples in which two hogs sat on one CPU and on one
# core (SMT siblings), the hogs' CPU time as a share of the machine, the
# machine's idle time and the scheduler process's CPU time. Further
# arguments go to scx_usched (as --flag=value). Use with a topology, e.g.
#   vm/usched-vm run placement --topology smt4 --args 2,15
#   vm/usched-vm run placement --topology numa4 --args 4,15,--slice-us=20000
# The suite runs it with bounds in the environment of the guest's command
# line (usched.args): PLACE_MIN_SHARE (scx_usched's share of the machine
# in % of the mean of the two EEVDF phases' shares) and PLACE_MAX_SAME_CORE
# (% of samples with two hogs on one core), asserted after the phases,
# PLACE_MIN_SAME_CORE (the same share at least: --pack, which fills partly
# busy cores first), and PLACE_CHURN, short processes started at each
# sample beside the hogs.
. /usched/lib.sh
while case "$1" in PLACE_*=*) true;; *) false;; esac; do export "$1"; shift; done
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

cputime() { t=0; for p in $pids; do t=$((t + $(proc_ticks $p))); done; echo $t; }
# Idle ticks of the whole machine; the scheduler process's CPU time (0 under EEVDF).
idletime() { awk '/^cpu /{print $5 + $6}' /proc/stat; }
schedtime() { if [ -n "$USCHED_PID" ]; then proc_ticks $USCHED_PID; else echo 0; fi; }

# Each CPU's core, read once: the sampler must stay light, since every
# process it forks runs on an idle CPU next to the hogs it measures (it
# forked ~12 a sample, and scx_usched's hogs shared a core in 11-35 % of
# its samples; a move off a busy core waits for the next slice's end).
coremap=$(for c in $(seq 0 $((ncpu - 1))); do printf '%s ' "$(core_of $c)"; done)

measure() {
    label=$1; pids=""; stats=""
    for i in $(seq 1 "$N"); do sh -c 'while :; do :; done' & pids="$pids $!"; stats="$stats /proc/$!/stat"; done
    sleep 1
    t0=$(cputime); i0=$(idletime); u0=$(schedtime); s0=$(date +%s); st0=$(head -1 /proc/stat)
    n=0; samecpu=0; samecore=0
    while [ $(($(date +%s) - s0)) -lt "$SECS" ]; do
        # One process a sample: "1 0" = two hogs last ran on one CPU, none on one core.
        set -- $(awk -v map="$coremap" 'BEGIN { split(map, core, " ") }
            { c = $39; if (cpu[c]++) dc = 1; if (k[core[c + 1]]++) dk = 1 }
            END { print dc + 0, dk + 0 }' $stats)
        n=$((n + 1)); samecpu=$((samecpu + $1)); samecore=$((samecore + $2))
        # Short-lived processes beside the hogs (PLACE_CHURN a sample), each
        # a round trip through user space: what a desktop adds to its hogs.
        j=0; while [ $j -lt "${PLACE_CHURN:-0}" ]; do cat /proc/loadavg > /dev/null; j=$((j + 1)); done
        sleep 0.25
    done
    t1=$(cputime); i1=$(idletime); u1=$(schedtime); s1=$(date +%s); st1=$(head -1 /proc/stat)
    echo "$st0" "$st1" | awk '{printf "CPUSTAT"; n=split("user nice system idle iowait irq softirq steal", f, " "); for (i = 1; i <= n; i++) printf " %s=%d", f[i], $(i + 12) - $(i + 1); print ""}'
    kill $pids; wait $pids 2>/dev/null
    share=$(( (t1 - t0) * 100 / (hz * (s1 - s0) * ncpu) )); same_core=$((100 * samecore / n))
    echo "PLACE $label hogs=$N cpus=$ncpu samples=$n same_cpu=$((100 * samecpu / n))% same_core=$same_core% machine_share=$share% idle=$(( (i1 - i0) * 100 / (hz * (s1 - s0) * ncpu) ))% scheduler=$(( (u1 - u0) * 100 / (hz * (s1 - s0) * ncpu) ))%"
}

measure eevdf
eevdf1=$share
start_usched "$@"
measure "scx_usched${*:+ $*}"
ushare=$share; ucore=$same_core
usched-stat > /tmp/stat.txt 2>&1 && sed 's/^/STAT /' /tmp/stat.txt
for t in /proc/$USCHED_PID/task/*; do echo "THREAD $(cat $t/comm) $(awk '{print "utime=" $14 " stime=" $15}' $t/stat)"; done
[ "$(scx_state)" = enabled ] || fail "scx_usched was ejected during the measurement"
stop_usched
USCHED_PID=
measure eevdf
eevdf_mean=$(( (eevdf1 + share) / 2 ))
ratio=$(( 100 * ushare / (eevdf_mean > 0 ? eevdf_mean : 1) ))
info "scx_usched's share ${ushare}% = ${ratio}% of EEVDF's ${eevdf_mean}%; two hogs on one core in ${ucore}% of samples"
if [ -n "$PLACE_MIN_SHARE" ] && [ "$ratio" -lt "$PLACE_MIN_SHARE" ]; then
    fail "the hogs got ${ratio}% of EEVDF's share of the machine (bound ${PLACE_MIN_SHARE}%): CPUs idle or busy elsewhere while hogs wait"
fi
if [ -n "$PLACE_MIN_SAME_CORE" ] && [ "$ucore" -lt "$PLACE_MIN_SAME_CORE" ]; then
    fail "two hogs shared a core in only ${ucore}% of samples (bound ${PLACE_MIN_SAME_CORE}%): work was not packed"
fi
if [ -n "$PLACE_MAX_SAME_CORE" ] && [ "$ucore" -gt "$PLACE_MAX_SAME_CORE" ]; then
    fail "two hogs shared a core in ${ucore}% of samples (bound ${PLACE_MAX_SAME_CORE}%) while a whole core was free"
fi
check_dmesg
