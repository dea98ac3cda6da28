# SPDX-License-Identifier: GPL-2.0-only
# overflow: thousands of runnable threads at once; every one completes and
# the scheduler stays attached (tasks beyond what the ring buffer or the
# policy holds bypass user space and are counted).
. /usched/lib.sh
start_usched
stress-ng --pthread 4 --pthread-max 2048 -t 20 --quiet || info "stress-ng exit $?"
[ "$(scx_state)" = enabled ] || fail "scheduler ejected"
usched-stat | grep -E "dispatch:"
stop_usched
check_dmesg
