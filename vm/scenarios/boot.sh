# SPDX-License-Identifier: GPL-2.0-only
# boot: the guest kernel has sched_ext and it is idle.
. /usched/lib.sh
state=$(cat /sys/kernel/sched_ext/state) || fail "no /sys/kernel/sched_ext: kernel lacks CONFIG_SCHED_CLASS_EXT"
[ "$state" = disabled ] || fail "sched_ext state is '$state' at boot, expected disabled"
info "sched_ext state=$state enable_seq=$(cat /sys/kernel/sched_ext/enable_seq)"
check_dmesg
