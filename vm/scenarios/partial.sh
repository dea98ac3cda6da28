# SPDX-License-Identifier: GPL-2.0-only
# partial: with -p only tasks switched to SCHED_EXT are ours.
. /usched/lib.sh
start_usched -p
sleep 1000 & other=$!
usched-probe ext sleep 1000 & ours=$!
sleep 0.5
kill -0 $ours 2>/dev/null || fail "could not start a SCHED_EXT task"
grep -qE "^policy +: +7" /proc/$ours/sched || { head -20 /proc/$ours/sched; fail "SCHED_EXT task is not policy 7"; }
grep -qE "^policy +: +0" /proc/$other/sched || { head -20 /proc/$other/sched; fail "ordinary task left SCHED_OTHER"; }
info "ours: $(grep -E '^policy' /proc/$ours/sched) other: $(grep -E '^policy' /proc/$other/sched)"
kill $ours $other
stop_usched
check_dmesg
