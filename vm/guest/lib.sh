# SPDX-License-Identifier: GPL-2.0-only
# Helpers shared by the guest scenarios (sourced, POSIX sh / busybox).

info() { echo "[scenario] $*"; }
fail() { echo "[scenario] FAIL: $*"; exit 1; }

# fail_usched MESSAGE: fail, after printing scx_usched's counters and the
# tail of its log (what a reader of the failure needs first).
fail_usched() { usched-stat; tail -5 /tmp/usched.log; fail "$@"; }

# proc_ticks PID: the CPU time PID has used so far, user + system, in clock
# ticks (USER_HZ: 100 a second).
proc_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# probe_field FILE NAME: field NAME of the PROBE line usched-probe wrote
# into FILE (a number; empty if there is none).
probe_field() { sed -n "s/^PROBE.* $2=\([0-9.]*\).*/\1/p" "$1"; }

# cyclic_max FILE: the largest of the Max: figures (µs) cyclictest wrote
# into FILE (empty if there is none).
cyclic_max() { awk '/Max:/ { for (i = 1; i < NF; i++) if ($i == "Max:" && $(i + 1) + 0 > m + 0) m = $(i + 1) } END { if (m != "") printf "%d", m }' "$1"; }

# stat_field NAME: usched-stat's counter NAME (its first NAME=N; empty if
# there is none).
stat_field() { usched-stat | tr ' ' '\n' | sed -n "s/^$1=\([0-9]*\)\$/\1/p" | head -n 1; }

scx_state() { cat /sys/kernel/sched_ext/state; }
scx_ops() { cat /sys/kernel/sched_ext/root/ops 2>/dev/null; }
scx_seq() { cat /sys/kernel/sched_ext/enable_seq; }

# wait_state STATE TIMEOUT_S: poll sched_ext's state every 100 ms.
wait_state() {
    want=$1; limit=$(( $2 * 10 )); i=0
    while [ $i -lt $limit ]; do
        [ "$(scx_state)" = "$want" ] && return 0
        sleep 0.1; i=$((i + 1))
    done
    return 1
}

# check_dmesg [EXPECTED-PATTERN]: fail on any sign that the kernel was hurt,
# except lines matching EXPECTED-PATTERN (an ejection the scenario caused).
check_dmesg() {
    bad=$(dmesg | grep -E 'BUG:|WARNING:|failed to run for|rcu_sched detected stall|rcu: INFO|self-detected stall|blocked for more than|workqueue lockup|Kernel panic|Oops' \
        | grep -vE "${1:-^\$}" | head -5)
    if [ -n "$bad" ]; then
        echo "$bad"
        fail "kernel log shows trouble"
    fi
}

# start_usched [ARGS...]: start scx_usched in the background (log in
# /tmp/usched.log, pid in $USCHED_PID) and wait until sched_ext is enabled.
start_usched() {
    scx_usched "$@" > /tmp/usched.log 2>&1 &
    USCHED_PID=$!
    if ! wait_state enabled 30; then
        cat /tmp/usched.log
        fail "scx_usched not enabled within 30s (state $(scx_state))"
    fi
    case "$(scx_ops)" in usched*) ;; *) fail "ops name '$(scx_ops)' is not ours";; esac
}

# stop_usched: SIGINT, then expect sched_ext disabled and exit status 0.
stop_usched() {
    kill -INT "$USCHED_PID"
    wait_state disabled 10 || fail "not disabled 10s after SIGINT"
    wait "$USCHED_PID"; rc=$?
    [ $rc -eq 0 ] || { cat /tmp/usched.log; fail "scx_usched exited $rc after SIGINT"; }
}

# no_records_lost: after stop_usched, the detach line reports no ring-buffer
# record dropped for want of staging room (each would be a task left in user
# space with no decision coming).
no_records_lost() {
    l=$(grep -o 'records lost [0-9]*' /tmp/usched.log) || fail "no 'records lost' in the detach line"
    info "$l"
    [ "${l##* }" -eq 0 ] || fail "$l: tasks were left in user space with no decision coming"
}

# probe: a trivial command must complete within 10 s (the guest responds).
probe() {
    timeout 10 sh -c 'echo probe > /tmp/probe && cat /tmp/probe >/dev/null' || fail "shell probe did not complete"
}

# user_dispatches: the running scheduler dispatched decisions from user space.
user_dispatches() {
    usched-stat --check-user-dispatches > /tmp/stat.txt || { cat /tmp/stat.txt; fail "no user-space dispatches"; }
    grep -E 'dispatch:|enq->dispatch|wake->run' /tmp/stat.txt
}

# pingpong_phase LABEL ARGS...: run `usched-probe pingpong ARGS...` into
# /tmp/pp.txt (fail with its output if it fails), print it labelled.
pingpong_phase() {
    label=$1; shift
    usched-probe pingpong "$@" > /tmp/pp.txt 2>&1 || { cat /tmp/pp.txt; fail "pingpong $label failed"; }
    sed "s/^/[$label] /" /tmp/pp.txt
}

# pingpong_val NAME: the last PINGPONG line's field NAME (the integer part).
pingpong_val() { sed -n "s/^PINGPONG .* $1=\([0-9-]*\).*/\1/p" /tmp/pp.txt; }
