# SPDX-License-Identifier: GPL-2.0-only
# cgroup: cgroups are created, tasks moved between them and the cgroups
# removed, under load; the scheduler stays attached.
. /usched/lib.sh
start_usched
stress-ng --cpu 2 -t 40 --quiet &
load=$!
cd /sys/fs/cgroup || fail "no cgroup2 mount"
echo "+cpu" > cgroup.subtree_control 2>/dev/null
for i in $(seq 1 30); do
    mkdir -p "t$i"
    sh -c 'i=0; while [ $i -lt 500 ]; do i=$((i+1)); done' &
    echo $! > "t$i/cgroup.procs" 2>/dev/null
    wait $!
    rmdir "t$i" || fail "rmdir t$i"
done
cd /
[ "$(scx_state)" = enabled ] || fail "scheduler ejected by cgroup churn"
kill $load; wait $load
stop_usched
check_dmesg
