# SPDX-License-Identifier: GPL-2.0-only
# cgroup: 30 times a cgroup is created, a waiting task moved into it (the
# move is checked in /proc/PID/cgroup before the task may finish), the task
# works and exits, and the cgroup is removed, under load; the scheduler stays
# attached.
. /usched/lib.sh
start_usched
stress-ng --cpu 2 -t 60 --quiet &
load=$!
cd /sys/fs/cgroup || fail "no cgroup2 mount"
echo "+cpu" > cgroup.subtree_control 2>/dev/null
for i in $(seq 1 30); do
    mkdir "t$i" || fail "mkdir t$i"
    rm -f /tmp/go
    sh -c 'while [ ! -e /tmp/go ]; do sleep 0.01; done; i=0; while [ $i -lt 500 ]; do i=$((i+1)); done' &
    pid=$!
    echo $pid > "t$i/cgroup.procs" || fail "moving $pid into t$i failed"
    grep -q "/t$i\$" /proc/$pid/cgroup || fail "task $pid is not in t$i: $(cat /proc/$pid/cgroup)"
    touch /tmp/go
    wait $pid || fail "task in t$i failed"
    rmdir "t$i" || fail "rmdir t$i"
done
cd /
info "30 cgroups created, used and removed"
[ "$(scx_state)" = enabled ] || fail "scheduler ejected by cgroup churn"
kill $load; wait $load
stop_usched
check_dmesg
