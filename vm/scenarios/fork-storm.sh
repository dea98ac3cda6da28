# SPDX-License-Identifier: GPL-2.0-only
# fork-storm: 1024 short-lived children, all reaped with status 0, while two
# hogs keep the dispatcher busy and pid_max is 400, so pids are reused while
# decisions for their previous owners may still be in flight (issue #10,
# item 5: a decision matches a task by pid and a sequence number drawn from
# one global counter, never by a per-task count that restarts at 0). The
# pids must really wrap; the scheduler stays attached, and once the machine
# is idle no task is left counted as queued in user space or decided
# (usched-stat's queued/scheduled read 0).
# What it cannot show is the seq rule itself: a stale decision can meet a
# pid's new owner only if the pids wrap (some 300 forks here) within one
# round trip (about a millisecond), and if it did, the new owner would run
# on a decision much like its own, no counter telling the two apart. The
# rule rests on reading send_to_user() and the decision path; this scenario
# is the load test around it (children lost, counters left, an ejection).
. /usched/lib.sh
settles_to_zero() { # FIELD: must read 0 at least once in 10 s
    i=0
    while [ $i -lt 50 ]; do
        v=$(stat_field "$1")
        [ "$v" = 0 ] && return 0
        sleep 0.2; i=$((i + 1))
    done
    usched-stat
    fail "$1 stuck at $v on an idle machine"
}
old_max=$(cat /proc/sys/kernel/pid_max)
echo 400 > /proc/sys/kernel/pid_max || fail "cannot set pid_max"
start_usched
timeout 120 stress-ng -c 2 -t 100 --quiet &
hogs=$!
ok=0
: > /tmp/pids
for batch in $(seq 1 16); do
    pids=""
    for i in $(seq 1 64); do
        sh -c 'x=0; while [ $x -lt 20 ]; do x=$((x+1)); done; exit 0' &
        pids="$pids $!"
    done
    for p in $pids; do echo $p >> /tmp/pids; wait $p && ok=$((ok + 1)); done
done
kill $hogs; wait $hogs 2>/dev/null
echo "$old_max" > /proc/sys/kernel/pid_max
distinct=$(sort -u /tmp/pids | wc -l)
info "$ok of 1024 children exited 0; $distinct distinct pids"
[ $ok -eq 1024 ] || fail "only $ok of 1024 children exited 0"
[ "$distinct" -lt 700 ] || fail "pids did not wrap ($distinct distinct of 1024)"
[ "$(scx_state)" = enabled ] || fail "scheduler ejected by the fork storm"
sleep 1
settles_to_zero scheduled
settles_to_zero queued
usched-stat | grep -E "^(tasks|dispatch)"
user_dispatches
stop_usched
check_dmesg
