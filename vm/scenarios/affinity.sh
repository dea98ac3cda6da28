# SPDX-License-Identifier: GPL-2.0-only
# affinity: eight CPU-bound workers' affinity flips between CPU 0 and CPU 1,
# 40 rounds, while they run and wait in user space. The workers spin until
# the churn is over (a stop file), so every one of the 320 taskset calls
# must succeed; then all finish with status 0, and the scheduler stays
# attached (moves are counted as bounces or cancels). (The workers used to
# count to a fixed number: on a fast run they finished before the churn.)
. /usched/lib.sh
start_usched
rm -f /tmp/stop
pids=""
for w in $(seq 1 8); do
    sh -c 'while [ ! -e /tmp/stop ]; do i=0; while [ $i -lt 200 ]; do i=$((i+1)); done; done' &
    pids="$pids $!"
done
flips=0
for round in $(seq 1 40); do
    for p in $pids; do
        out=$(taskset -p $(( (round % 2) + 1 )) "$p" 2>&1) || fail "taskset -p on $p: $out"
        flips=$((flips + 1))
    done
done
touch /tmp/stop
for p in $pids; do wait "$p" || fail "worker $p failed"; done
info "$flips affinity changes"
[ $flips -eq 320 ] || fail "$flips affinity changes of 320"
[ "$(scx_state)" = enabled ] || fail "scheduler ejected by affinity churn"
user_dispatches
grep -E "dispatch:" /tmp/stat.txt
stop_usched
check_dmesg
