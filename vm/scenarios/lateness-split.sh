# SPDX-License-Identifier: GPL-2.0-only
# lateness-split (not in the suite; a measurement, docs/benchmarks.md): where
# the demo's wake-up lateness goes, from the kernel's own trace events rather
# than schedstat (whose run-queue clock skips the time a preempting wake-up
# waits: see sched-bin/src/latency.rs). The demo's load (the probe's 2
# threads, 1 ms period, 50 us of work, beside as many CPU hogs as CPUs),
# under EEVDF, scx_usched and EEVDF again in one boot, each with ftrace on
# for 4 s. Each wake-up of the probe's threads is split into
#   expiry: the period's start (the timer's soft expiry) to the timer's
#           interrupt handler (hrtimer_start's softexpires to
#           hrtimer_expire_entry's now): timer slack and the emulator;
#   wake:   the handler to sched_wakeup (ops.select_cpu() and ops.enqueue()
#           under scx_usched, the class's enqueue under EEVDF);
#   switch: sched_wakeup to the sched_switch onto the thread;
# printed as p50/p90/p99 in microseconds (10 us buckets; ftrace's clock has
# 1 us resolution here), with the probe's own line. Run it with
#   vm/usched-vm run lateness-split --cpus 2 --tcg multi
# Arguments: scx_usched's own.
. /usched/lib.sh
n=$(nproc)
T=/sys/kernel/tracing
[ -w $T/tracing_on ] || fail "no tracefs at $T"
echo 8192 > $T/buffer_size_kb
for e in sched/sched_wakeup sched/sched_switch timer/hrtimer_start timer/hrtimer_expire_entry; do
    echo 1 > $T/events/$e/enable || fail "cannot enable trace event $e"
done
echo 0 > $T/tracing_on
split_run() { # LABEL
    stress-ng --cpu "$n" -t 8 --quiet &
    hog=$!
    sleep 1
    echo > $T/trace
    echo 1 > $T/tracing_on
    usched-probe periodic --threads 2 --period-us 1000 --work-us 50 --secs 4 --label "$1" \
        || fail "the probe failed under $1"
    echo 0 > $T/tracing_on
    wait $hog
    awk -v L="$1" '
    function add(h, v,   k) { k = int(v / 10); if (k < 0) k = 0; if (k > 5000) k = 5000; h[k]++ }
    function pct(h, n, p,   k, c) {
        c = 0; for (k = 0; k <= 5000; k++) { c += h[k]; if (c >= n * p / 100) return k * 10 }
        return -1 }
    function field(name,   v) { # the value of "name=..." on this line
        if (!match($0, " " name "=[^ ]+")) return ""
        v = substr($0, RSTART + length(name) + 2, RLENGTH - length(name) - 2); return v }
    {
        cpu = $0; sub(/^[^[]*\[/, "", cpu); cpu = substr(cpu, 1, 3) + 0
        ts = $0; sub(/^[^]]*\] [^ ]+ +/, "", ts); sub(/:.*/, "", ts); ts = ts * 1e6
    }
    / hrtimer_start:.*function=hrtimer_wakeup/ { soft[field("hrtimer")] = field("softexpires"); next }
    / hrtimer_expire_entry:.*function=hrtimer_wakeup/ {
        h = field("hrtimer"); exp_at[cpu] = ts
        if (h in soft) { late_exp[cpu] = (field("now") - soft[h]) / 1000; delete soft[h] }
        else late_exp[cpu] = -1
        next }
    / sched_wakeup: comm=usched-probe/ {
        pid = field("pid")
        if ((cpu in exp_at) && ts - exp_at[cpu] < 5000) {
            if (late_exp[cpu] >= 0) { add(e, late_exp[cpu]); ne++ }
            add(w, ts - exp_at[cpu]); nw++
            delete exp_at[cpu]
        }
        wk[pid] = ts; next }
    / sched_switch:.*next_comm=usched-probe/ {
        pid = field("next_pid")
        if (pid in wk) { add(s, ts - wk[pid]); ns++; delete wk[pid] } }
    END {
        printf "SPLIT %-10s expiry n=%d p50=%d p90=%d p99=%d | wake n=%d p50=%d p90=%d p99=%d | switch n=%d p50=%d p90=%d p99=%d\n",
            L, ne, pct(e, ne, 50), pct(e, ne, 90), pct(e, ne, 99), nw, pct(w, nw, 50), pct(w, nw, 90), pct(w, nw, 99),
            ns, pct(s, ns, 50), pct(s, ns, 90), pct(s, ns, 99)
        if (ne < 1000 || nw < 1000 || ns < 1000) exit 1 }' $T/trace > /tmp/split.txt \
        || { cat /tmp/split.txt; tail -20 $T/trace; fail "too few probe wake-ups traced under $1"; }
    cat /tmp/split.txt
}
split_run eevdf
start_usched "$@"
split_run scx_usched
stop_usched
split_run eevdf
check_dmesg
