# SPDX-License-Identifier: GPL-2.0-only
# fifo-affinity: the FIFO example of scx_rustland_core's README places every
# task with select_cpu(); here 4 vCPUs run workers allowed on one, two or
# three CPUs each (fixed masks, none containing CPU 0), waking every 10 ms,
# next to one unrestricted CPU hog. select_cpu() must keep within each
# task's affinity: no decision is bounced for a CPU the task may not use
# (nr_bounce_dispatches stays 0 from 2 s after the workers started - a
# worker's affinity changes once, when taskset sets it, possibly while a
# decision for it is on its way - to their end; nothing here is hotplugged).
# It used to pick the previous or the lowest idle CPU whatever the task's
# affinity.
. /usched/lib.sh
[ "$(nproc)" -ge 4 ] || fail "needs 4 CPUs (got $(nproc))"
fifo > /tmp/fifo.log 2>&1 &
pid=$!
wait_state enabled 20 || { cat /tmp/fifo.log; fail "not enabled within 20s (state $(scx_state))"; }
pids=""
for mask in 2 4 8 6 c a e 2 4 8; do
    taskset "$mask" sh -c 'end=$(($(date +%s) + 12)); while [ $(date +%s) -lt $end ]; do i=0; while [ $i -lt 200 ]; do i=$((i+1)); done; sleep 0.01; done' &
    pids="$pids $!"
done
sh -c 'end=$(($(date +%s) + 12)); while [ $(date +%s) -lt $end ]; do :; done' &
pids="$pids $!"
sleep 2
usched-stat > /tmp/stat0.txt || { cat /tmp/stat0.txt; fail "usched-stat could not read the counters"; }
user0=$(sed -n 's/.*dispatch: user=\([0-9]*\).*/\1/p' /tmp/stat0.txt)
bounce0=$(sed -n 's/.* bounce=\([0-9]*\).*/\1/p' /tmp/stat0.txt)
for p in $pids; do wait "$p" || fail "worker $p failed"; done
[ "$(scx_state)" = enabled ] || { cat /tmp/fifo.log; fail "scheduler ejected"; }
usched-stat > /tmp/stat.txt || { cat /tmp/stat.txt; fail "usched-stat could not read the counters"; }
grep -E "dispatch:|placed:" /tmp/stat.txt
user=$(( $(sed -n 's/.*dispatch: user=\([0-9]*\).*/\1/p' /tmp/stat.txt) - user0 ))
bounce=$(( $(sed -n 's/.* bounce=\([0-9]*\).*/\1/p' /tmp/stat.txt) - bounce0 ))
info "in the measured 10 s: user dispatches $user, bounced $bounce (before: $bounce0)"
[ "$user" -ge 1000 ] || fail "only $user decisions: the workers did not go through select_cpu()"
[ "$bounce" = 0 ] || fail "$bounce decisions named a CPU outside their task's affinity"
kill -TERM $pid
wait_state disabled 10 || fail "not disabled 10s after SIGTERM"
wait $pid
check_dmesg
