# SPDX-License-Identifier: GPL-2.0-only
# affinity: eight workers' CPU affinity flips between CPU 0 and CPU 1 while
# they run and wait in user space (every taskset call checked, at least 200
# flips counted); all finish, and the scheduler stays attached (moves are
# counted as bounces or cancels).
. /usched/lib.sh
start_usched
pids=""
for w in $(seq 1 8); do
    sh -c 'i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done' &
    pids="$pids $!"
done
flips=0
for round in $(seq 1 40); do
    for p in $pids; do
        kill -0 "$p" 2>/dev/null || continue
        out=$(taskset -p $(( (round % 2) + 1 )) "$p" 2>&1) \
            || { kill -0 "$p" 2>/dev/null && fail "taskset -p on $p: $out"; continue; }
        flips=$((flips + 1))
    done
done
for p in $pids; do wait "$p" || fail "worker $p failed"; done
info "$flips affinity changes"
[ $flips -ge 200 ] || fail "only $flips affinity changes: the workers finished before the churn"
[ "$(scx_state)" = enabled ] || fail "scheduler ejected by affinity churn"
user_dispatches
grep -E "dispatch:" /tmp/stat.txt
stop_usched
check_dmesg
