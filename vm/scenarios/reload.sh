# SPDX-License-Identifier: GPL-2.0-only
# reload: start and kill the scheduler 25 times; enabled each time,
# disabled at the end, kernel log clean.
. /usched/lib.sh
for i in $(seq 1 ${RELOADS:-25}); do
    start_usched
    kill -KILL "$USCHED_PID"
    wait "$USCHED_PID" 2>/dev/null
    wait_state disabled 10 || fail "round $i: not disabled after SIGKILL"
done
[ "$(scx_state)" = disabled ] || fail "still $(scx_state) at the end"
info "enable_seq=$(scx_seq)"
check_dmesg
