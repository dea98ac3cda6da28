# SPDX-License-Identifier: GPL-2.0-only
# hotplug: CPU 1 goes offline and online 10 times under load, first with
# scx_usched in adaptive mode with its dispatcher on CPU 1, then in busy mode
# with CPU 1 reserved for the dispatcher. Each offline makes the kernel ask
# for a restart; scx_usched restarts itself (at least once per phase,
# counted in its log), re-pins its dispatcher (to another CPU while CPU 1 is
# away, to CPU 1 again at the end: checked in the thread's status; a life
# that loaded while CPU 1 came back restarts itself to get there, since
# that online event asked for no restart: a CI run found the dispatcher
# left on CPU 0 before), and ends attached with the shell answering.
. /usched/lib.sh
[ -e /sys/devices/system/cpu/cpu1/online ] || fail "cpu1 cannot be hot-unplugged here"
stress-ng --cpu 2 -t 200 --quiet &
load=$!
for mode in adaptive busy; do
    start_usched --poll $mode --dispatcher-cpu 1
    for i in $(seq 1 10); do
        echo 0 > /sys/devices/system/cpu/cpu1/online || fail "$mode: offline #$i failed"
        sleep 0.5
        echo 1 > /sys/devices/system/cpu/cpu1/online || fail "$mode: online #$i failed"
        sleep 0.5
    done
    kill -0 "$USCHED_PID" || { tail -20 /tmp/usched.log; fail "$mode: scx_usched died during hotplug"; }
    wait_state enabled 30 || { tail -20 /tmp/usched.log; fail "$mode: not enabled again after hotplug"; }
    restarts=$(grep -c restarting /tmp/usched.log)
    info "$mode: restarts $restarts, dispatcher moves $(grep -c 'cannot pin' /tmp/usched.log), restarts to re-pin $(grep -c 'online again' /tmp/usched.log)"
    [ "$restarts" -ge 1 ] || { tail -20 /tmp/usched.log; fail "$mode: no restart after 10 hotplugs"; }
    sleep 2
    [ "$(scx_state)" = enabled ] || { tail -20 /tmp/usched.log; fail "$mode: ejected after hotplug"; }
    # The kernel breaks a thread's affinity when its only CPU goes away: the
    # dispatcher must be pinned to CPU 1 again once it is back.
    tid=$(grep -l usched-dispatch /proc/$USCHED_PID/task/*/comm | head -1 | cut -d/ -f5)
    cpus=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/$USCHED_PID/task/$tid/status)
    info "$mode: dispatcher thread $tid may run on CPUs $cpus"
    [ "$cpus" = 1 ] || fail "$mode: the dispatcher is not pinned to CPU 1 again (CPUs $cpus)"
    probe
    stop_usched
done
kill $load; wait $load
check_dmesg
