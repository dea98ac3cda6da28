# SPDX-License-Identifier: GPL-2.0-only
# stress: the scx CI stress line (stress-ng --aggressive -M, CPU and fork
# stressors, plus affinity churn) for 31 s under scx_usched; the scheduler
# stays attached, exits 0, and the kernel log stays clean.
. /usched/lib.sh
n=$(nproc)
start_usched --stats 1 --exit-dump-len 262144
stress-ng -t 31 --aggressive -M -c "$n" -f "$n" --affinity "$n" --quiet || fail "stress-ng failed (exit $?)"
[ "$(scx_state)" = enabled ] || { tail -30 /tmp/usched.log; fail "scheduler ejected during stress"; }
user_dispatches
stop_usched
no_records_lost
check_dmesg
