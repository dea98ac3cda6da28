# SPDX-License-Identifier: GPL-2.0-only
# nice-fair: CPU hogs of mixed weights, each measuring its CPU time and its
# longest wait off-CPU (usched-probe hogs), under scx_usched (and first
# under EEVDF in the same boot with NICE_EEVDF=1, for reference):
#   A: four nice-0 hogs, one nice-19, one SCHED_IDLE;
#   B: eight nice -20 hogs and one nice-0.
# Mix A runs 60 s: SCHED_IDLE's fair share is 1.4 ms of CPU a second, and
# single-threaded TCG ends a slice only at a 4 ms tick, so 10 s hold 3-4 of
# its turns (one turn is 0.3x of its share).
# SCHED_IDLE is allowed 1.5x here, the others 1.2x: its fair share of
# half the watchdog (the longest it is kept waiting) is 3.7 ms, and under
# single-threaded TCG its runs end at ticks, 3.7-5.7 ms, so its rescues
# overrun by more than it can pay back within that wait: 0.96-1.12x in
# nine runs, 1.24x, 1.31x and 1.41x (a fresh-clone CI run) in three
# (bpf_printk at each run: every turn the guard's, at 2.58 s, its debt
# growing). Where a timer ends a slice on time the share at that wait is
# 3.6x the 1 ms floor and the ledger holds (multi-threaded TCG: 1.19x).
# Under scx_usched a task waiting watchdog/10 = 0.5 s goes first in the
# policy's queue (aging); in the DSQs the starvation guard moves it once its
# weight has earned 1 ms of CPU over the wait, plus what its earlier rescues
# ran past their shares (the guard's ledger): a light one waits on, as its
# weight says, up to half the watchdog. Asserted: the scheduler stays
# attached; every hog's CPU time within 20 % of its weights' share
# (SCHED_IDLE and B's nice 0: at most 1.5x, see below), the heavy hogs' (nice 0 in A, nice -20
# in B) within 10 %; the heavy hogs wait at most 300 ms (measured 52-148 ms
# in 15 runs of mix B, 50-90 ms in A; EEVDF 17-60 ms); no task waits over 3.5 s
# by the scheduler's count (half the watchdog plus a heartbeat and TCG's
# slack; the light hogs' own gaps, which TCG can double or triple, are
# reported only); and
# the slice timer ended at least one light task's slice.
# B's nice-0 hog is allowed 1.5x, like SCHED_IDLE in A: its share is
# 2.7 ms a second, under one 4 ms tick, so one run's overshoot in 10 s is
# 15 %. Measured 1.00-1.17x in 8 runs, 1.04-1.33x in scenario runs (1.33x
# failed a fresh-clone CI run against a 1.3x bound), and 1.63x once in
# 10 s (a fresh-clone CI run of efb0b35: 44 ms for 27, four overshoots).
# So mix B runs 20 s, which halves what each overshoot weighs, rather than
# a wider bound (before the guard's ledger this hog got 2.0-2.8x). usched-probe's hogs are released together after sleeping and
# measured after a one-second warm-up: spinning until the release, the
# nice -20 ones kept the main thread from spawning the last hogs (up to
# seconds late, 0.5-0.8x, under EEVDF as well); without the warm-up the
# nice-0 hog's first runs, as a task that slept (the policy's sleeper
# credit), were 11-15 ms of its 27 ms (1.09-1.54x, once 2.78x).
# The heavy hogs' bounds catch a kept key that went stale (see key_fresh()
# in bpf/main.bpf.c): two of eight nice -20 hogs at 2.15-3.2x, the others
# 0.55-0.8x waiting ~0.5 s, in a fresh-clone CI run and 3 of 15 traced runs
# of mix B; untraced, 0.92-1.20x with waits up to 632 ms (6 of 14 runs out
# of these bounds). With key_fresh(): 0.94-1.03x in 29 runs (and 14 with
# an experiment since reverted), waits 52-148 ms in the 15 that printed them.
# Measured (single-threaded TCG): A's nice 19 1.00-1.08x (waits up to
# 1.0-2.3 s: its debt from tick-ended runs holds it back), SCHED_IDLE 0.96-1.41x (above; 2.7 s by the scheduler's
# count, gaps up to 5.3 s); B's nice -20 hogs 0.94-1.03x, its nice 0
# 1.00-1.17x (above; gaps up to 1.3-2.6 s, debts from 4 ms ticks). EEVDF in
# the same boots: 0.99-1.03x (its SCHED_IDLE hog's gaps 3.2-4.8 s), B's
# 0.96-1.02x (its nice 0 hog was 0.35-0.73x while the probe started hogs
# late). Before the ledger: SCHED_IDLE 3.2-5.3x, B's nice 0
# 2.0-2.8x; with the guard's deferral disabled, SCHED_IDLE 5.22x (FAIL).
. /usched/lib.sh
A=0,0,0,0,19,idle
B=-20,-20,-20,-20,-20,-20,-20,-20,0
mix() { # SPEC LABEL SECS
    usched-probe hogs --spec "$1" --secs $3 > /tmp/hogs.txt 2>&1 || { cat /tmp/hogs.txt; fail "hogs $2 failed"; }
    sed "s/^/[$2] /" /tmp/hogs.txt
}
val() { sed -n "s/^HOGS .*$1=\([0-9.]*\).*/\1/p" /tmp/hogs.txt; }
# EEVDF's shares in the same boot, for reference (nothing is asserted on
# them; 85 s of the suite's time): with NICE_EEVDF=1 on the command line
# (usched-vm test nice-fair:500:::NICE_EEVDF=1).
while case "${1:-}" in NICE_*=*) true;; *) false;; esac; do export "$1"; shift; done
if [ "${NICE_EEVDF:-0}" = 1 ]; then
    mix $A eevdf-A 60
    mix $B eevdf-B 20
fi
start_usched
# Mix B twice: with stale kept keys (key_fresh() off) the first mix B of
# a boot stayed within these bounds (in both break runs too), and 6 of
# the 13 after it in one boot did not.
run=0
for m in A B B; do
    run=$((run + 1))
    eval spec=\$$m
    # Labelled by mix and run (usched-A1, usched-B2, usched-B3): the two
    # mix B runs are told apart in the log.
    mix "$spec" usched-$m$run $([ $m = A ] && echo 60 || echo 20)
    [ "$(scx_state)" = enabled ] || { tail -20 /tmp/usched.log; fail "ejected during mix $m"; }
    # Every hog's share within 20 %, the heavy ones' within 10 %. Heavy hogs
    # (nice 0 in A, nice -20 in B) wait tens of ms (52-148 measured); light ones (nice 19 and SCHED_IDLE
    # in A, nice 0 in B) up to half the watchdog plus a heartbeat and TCG's
    # slack: that is asserted on the scheduler's own count (wait_max_ms,
    # runnable to running, what the kernel's watchdog watches too). The
    # hogs' own gaps say more under single-threaded TCG: a run of a few ms
    # can pass with the vCPU never executed (the emulator runs the other
    # one), so a light hog's gap can span two or three of its turns (4.8-
    # 5.3 s seen with the scheduler's count at 2.69 s, bpf_printk at each
    # run; 7.7 s in a fresh-clone run whose EEVDF mix showed gaps of 3.6 s
    # for nice 19 and 4.0 s for SCHED_IDLE); they are reported, not asserted.
    awk -v m=$m '/^HOG [0-9]/ {
            split($6, r, "="); ratio = r[2]; split($7, w, "="); wait = w[2]; split($8, l, "="); long = l[2]
            heavy = (m == "A" && $3 == "nice0") || $3 == "nice-20"
            hi = $3 == "idle" ? 1.5 : 1.2
            if (m == "B" && $3 == "nice0") hi = 1.5
            if (ratio < 0.8 || ratio > hi) bad = bad " share:" $3 "=" ratio
            if (heavy && (ratio < 0.9 || ratio > 1.1)) bad = bad " heavy-share:" $3 "=" ratio
            if (heavy && wait > 300) bad = bad " wait:" $3 "=" wait "ms" 
            if (!heavy) printf "mix %s: %s hog'"'"'s longest own gap %s ms (not asserted: TCG)\n", m, $3, wait
        }
        END { if (bad != "") { print "mix " m ":" bad; exit 1 } }' /tmp/hogs.txt \
        || fail "mix $m (run $run): CPU shares or waits do not follow the weights"
    wmax=$(stat_field wait_max_ms)
    info "mix $m: longest wait by the scheduler's count so far: ${wmax:-?} ms"
    [ -n "$wmax" ] && [ "$wmax" -le 3500 ] || fail "mix $m: a task waited ${wmax:-?} ms runnable (bound 3.5 s)"
done
usched-stat | head -2
# The slice timer ran: light tasks' slices were ended on time.
kicks=$(usched-stat | sed -n 's/.*kicks(preempt\/idle\/slice)=[0-9]*\/[0-9]*\/\([0-9]*\).*/\1/p')
info "slices ended by the slice timer: ${kicks:-none}"
[ "${kicks:-0}" -gt 0 ] || fail "the slice timer never ended a light task's slice"
stop_usched
check_dmesg
