# SPDX-License-Identifier: GPL-2.0-only
# sigkill: SIGKILL the scheduler under load; sched_ext is disabled within
# 2 s, the shell still answers, and attaching again works.
. /usched/lib.sh
n=$(nproc)
stress-ng --cpu "$n" -t 60 --quiet &
load=$!
start_usched
sleep 3
kill -KILL "$USCHED_PID"
wait_state disabled 2 || fail "not disabled within 2s of SIGKILL (state $(scx_state))"
probe
start_usched
user_dispatches
stop_usched
kill $load; wait $load
check_dmesg
