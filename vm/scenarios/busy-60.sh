# SPDX-License-Identifier: GPL-2.0-only
# busy-60: scx_usched in busy mode for 60 s under load: no RCU stall,
# hung-task or workqueue lockup, and a task pinned to the dispatcher's CPU
# keeps making progress: at least 25 of the 50 wake-ups it asks for in
# every 10 s (it writes a line every 0.2 s; ~41 in 10 s on the VM). Served
# only by the starvation guard (0.5 s waits) it would manage ~14.
. /usched/lib.sh
n=$(nproc)
last=$((n - 1))
start_usched --poll busy --dispatcher-cpu $last
stress-ng --cpu "$n" -t ${BUSY_SECS:-60} --quiet &
load=$!
: > /tmp/pinned
taskset $((1 << last)) sh -c 'while :; do echo x >> /tmp/pinned; sleep 0.2; done' &
pinned=$!
prev=0
for i in $(seq 1 $(( ${BUSY_SECS:-60} / 10 ))); do
    sleep 10
    now=$(wc -l < /tmp/pinned)
    info "t=$((i * 10))s pinned task progress: $now"
    [ "$((now - prev))" -ge 25 ] || fail "the task pinned to the dispatcher's CPU ran $((now - prev)) of 50 times in 10s"
    prev=$now
    [ "$(scx_state)" = enabled ] || fail "scheduler ejected"
done
kill $pinned; wait $load
user_dispatches
stop_usched
check_dmesg
