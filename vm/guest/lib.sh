# SPDX-License-Identifier: GPL-2.0-only
# Helpers shared by the guest scenarios (sourced, POSIX sh / busybox).

info() { echo "[scenario] $*"; }
fail() { echo "[scenario] FAIL: $*"; exit 1; }

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

# check_dmesg: fail on any sign that the kernel was hurt.
check_dmesg() {
    bad=$(dmesg | grep -E 'BUG:|WARNING:|failed to run for|rcu_sched detected stall|rcu: INFO|self-detected stall|blocked for more than|workqueue lockup|Kernel panic|Oops' | head -5)
    if [ -n "$bad" ]; then
        echo "$bad"
        fail "kernel log shows trouble"
    fi
}
