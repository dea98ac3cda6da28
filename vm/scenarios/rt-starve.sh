# SPDX-License-Identifier: GPL-2.0-only
# rt-starve: a SCHED_FIFO hog holds CPU 1 for 5 s; a sched_ext task pinned
# there still gets at least 4 % of it, and the scheduler is not ejected.
. /usched/lib.sh
start_usched --dispatcher-cpu 0
taskset 2 sh -c 'n=0; end=$(( $(date +%s) + 6 )); while [ $(date +%s) -lt $end ]; do n=$((n+1)); done; echo $n > /tmp/ext_count' &
ext=$!
# Calibrate: the same loop alone would run for the same 6 s at 100 %.
taskset 2 chrt -f 50 timeout 5 sh -c 'while :; do :; done' &
wait $ext
count=$(cat /tmp/ext_count)
taskset 2 sh -c 'n=0; end=$(( $(date +%s) + 2 )); while [ $(date +%s) -lt $end ]; do n=$((n+1)); done; echo $n > /tmp/ext_free'
free=$(cat /tmp/ext_free)
# Over 6 s, at most 5 are under the hog: the share under the hog is
# (count - free*1/2) / (free*5/2) where free counts 2 s unloaded.
share=$(awk "BEGIN{ per_s=$free/2; under=($count - per_s)/(per_s*5); printf \"%.1f\", under*100 }")
info "sched_ext share of CPU 1 under the RT hog: ${share}%"
awk "BEGIN{exit !($share >= 4)}" || fail "share ${share}% < 4%"
[ "$(scx_state)" = enabled ] || fail "scheduler ejected"
stop_usched
check_dmesg
