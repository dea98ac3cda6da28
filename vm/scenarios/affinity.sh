# SPDX-License-Identifier: GPL-2.0-only
# affinity: workers change CPU affinity while they wait in user space; all
# finish, and the scheduler stays attached (moves are counted as bounces or
# cancels).
. /usched/lib.sh
start_usched
pids=""
for w in $(seq 1 8); do
    sh -c 'i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done' &
    pids="$pids $!"
done
for round in $(seq 1 40); do
    for p in $pids; do taskset -p $(( (round % 2) + 1 )) "$p" >/dev/null 2>&1; done
done
for p in $pids; do wait "$p" || fail "worker $p failed"; done
[ "$(scx_state)" = enabled ] || fail "scheduler ejected by affinity churn"
user_dispatches
grep -E "dispatch:" /tmp/stat.txt
stop_usched
check_dmesg
