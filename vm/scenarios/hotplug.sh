# SPDX-License-Identifier: GPL-2.0-only
# hotplug: CPU 1 (the dispatcher's) goes offline and online 20 times under
# load; scx_usched stays attached or restarts itself, and ends attached.
. /usched/lib.sh
[ -e /sys/devices/system/cpu/cpu1/online ] || fail "cpu1 cannot be hot-unplugged here"
stress-ng --cpu 2 -t 120 --quiet &
load=$!
start_usched --dispatcher-cpu 1
for i in $(seq 1 20); do
    echo 0 > /sys/devices/system/cpu/cpu1/online || fail "offline #$i failed"
    sleep 0.3
    echo 1 > /sys/devices/system/cpu/cpu1/online || fail "online #$i failed"
    sleep 0.3
done
kill -0 "$USCHED_PID" || { tail -20 /tmp/usched.log; fail "scx_usched died during hotplug"; }
wait_state enabled 30 || { tail -20 /tmp/usched.log; fail "not enabled again after hotplug"; }
info "restarts: $(grep -c restarting /tmp/usched.log)"
probe
stop_usched
kill $load; wait $load
check_dmesg
