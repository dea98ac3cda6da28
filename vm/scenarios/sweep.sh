# SPDX-License-Identifier: GPL-2.0-only
# sweep (benchmark, not in the suite: benches/vm-bench.sh --sweep): game-like
# periodic threads across the space of load, under EEVDF and then scx_usched
# in one boot. Two threads with a 16.7 ms period (60 Hz) whose burst is 1/16,
# 1/4 or 1/2 of it, against 1x, 2x or 4x as many CPU hogs (stress-ng) as
# CPUs. For each point and scheduler: the frames done (% of the periods the
# run holds for both threads; a frame whose work overran skips the periods
# it covered), wake-up lateness p50/p99 (us), and the thread's fair share
# (n / (hogs + 2) of a CPU) against its demand, so one can tell the points
# where every frame is owed (demand below the share) from those where no
# fair scheduler can do them all.
# Arguments: [rounds=N] [mode=MODE]; each point runs N times (default 1) and
# the table gives medians. BENCH_SECS sets a run's length (default 6 s).
. /usched/lib.sh
n=$(nproc)
secs=${BENCH_SECS:-6}
rounds=1
mode=adaptive
for a in "$@"; do case $a in rounds=*) rounds=${a#rounds=};; mode=*) mode=${a#mode=};; esac; done
period=16667
out=/tmp/sweep.txt
: > $out

point() { # SCHED HOGS_PER_CPU DIV
    work=$((period / $3))
    stress-ng --cpu $(($2 * n)) -t $((secs + 3)) --quiet & hp=$!; sleep 1
    set -- "$1" "$2" "$3" $(usched-probe periodic --threads 2 --period-us $period --work-us $work --secs $secs --label sweep)
    wait $hp
    s=$1 h=$2 d=$3; shift 3
    for kv in "$@"; do case $kv in
        n=*) done_pct=$(awk "BEGIN { printf \"%.1f\", 100 * ${kv#n=} / (2 * $secs * 1000000 / $period) }");;
        late_p50_us=*) p50=${kv#*=};;
        late_p99_us=*) p99=${kv#*=};;
    esac; done
    echo "SWEEP $s $h $d $done_pct $p50 $p99" | tee -a $out
}

sweep() { # SCHED
    for r in $(seq $rounds); do
        for h in 1 2 4; do for d in 16 4 2; do point "$1" $h $d; done; done
    done
}

sweep eevdf
start_usched --poll "$mode"
sweep scx_usched
[ "$(scx_state)" = enabled ] || fail "scx_usched was ejected during the sweep"
stop_usched

echo
echo "SWEEP-TABLE ($n vCPUs, TCG, period 16.7 ms, 2 threads, $secs s a point, median of $rounds; done = % of frames done)"
printf 'SWEEP-TABLE %-6s %-6s %-7s %-7s | %-7s %-9s %-9s | %-7s %-9s %-9s\n' hogs burst share demand eevdf p50 p99 usched p50 p99
for h in 1 2 4; do for d in 16 4 2; do
    med() { awk -v s=$1 -v h=$h -v d=$d -v f=$2 '$1 == "SWEEP" && $2 == s && $3 == h && $4 == d { print $f }' $out | sort -n |
        awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }'; }
    share=$(awk "BEGIN { printf \"%.0f%%\", 100 * $n / ($h * $n + 2) }")
    demand=$(awk "BEGIN { printf \"%.0f%%\", 100 / $d }")
    printf 'SWEEP-TABLE %-6s %-6s %-7s %-7s | %-7s %-9s %-9s | %-7s %-9s %-9s\n' "${h}x" "1/$d" "$share" "$demand" \
        "$(med eevdf 5)" "$(med eevdf 6)" "$(med eevdf 7)" "$(med scx_usched 5)" "$(med scx_usched 6)" "$(med scx_usched 7)"
done; done
check_dmesg
