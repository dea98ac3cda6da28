# SPDX-License-Identifier: GPL-2.0-only
# policy-fault: the policy panics (--inject-fault panic), then, in a second
# run, hangs (--inject-fault hang), 2 s after attaching, under load. A panic
# detaches at once: sched_ext disabled within 10 s, the process exits
# non-zero saying it panicked. A hang is ejected by the kernel's watchdog
# (2 s here) and the process exits non-zero within 2 x watchdog + 5 s + slack
# instead of spinning on. After each, the shell answers. Then a policy that
# sends garbage (--inject-fault garbage: infinite slices, vtimes and keys
# 2^62 ahead) for 15 s under the same load: the BPF side clamps every such
# decision (nr_clamped grows), scx_usched stays enabled, the shell answers,
# no task waits 2.5 s (half the watchdog), and it detaches cleanly.
. /usched/lib.sh
n=$(nproc)
stress-ng --cpu "$n" -t 150 --quiet &
load=$!
for fault in panic hang; do
    start_usched --watchdog-ms 2000 --inject-fault $fault --inject-after-ms 2000
    t0=$(cut -d. -f1 /proc/uptime)
    wait_state disabled 30 || { tail -20 /tmp/usched.log; fail "$fault: still $(scx_state) 30 s after the fault"; }
    info "$fault: disabled after $(( $(cut -d. -f1 /proc/uptime) - t0 )) s"
    i=0; while kill -0 "$USCHED_PID" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
    kill -0 "$USCHED_PID" 2>/dev/null && { kill -9 "$USCHED_PID"; fail "$fault: process still running 30 s after the kernel detached it"; }
    wait "$USCHED_PID"; rc=$?
    info "$fault: exit status $rc after $(( $(cut -d. -f1 /proc/uptime) - t0 )) s"
    tail -3 /tmp/usched.log
    [ $rc -ne 0 ] || fail "$fault: scx_usched exited 0"
    case $fault in
        panic) grep -q "injected policy panic" /tmp/usched.log || fail "panic: the message does not say what happened" ;;
        hang) grep -q "no progress" /tmp/usched.log || fail "hang: the message does not say what happened" ;;
    esac
    probe
done
start_usched --inject-fault garbage --inject-after-ms 1000
sleep 16
[ "$(scx_state)" = enabled ] || { tail -20 /tmp/usched.log; fail "garbage: scx_usched was ejected"; }
probe
usched-stat > /tmp/stat.txt || fail "garbage: usched-stat failed"
clamped=$(sed -n 's/.* clamped=\([0-9]*\).*/\1/p' /tmp/stat.txt)
wmax=$(sed -n 's/.* wait_max_ms=\([0-9]*\).*/\1/p' /tmp/stat.txt)
info "garbage: clamped=$clamped wait_max_ms=$wmax"
[ "${clamped:-0}" -ge 10 ] || fail "garbage: only ${clamped:-0} decisions clamped"
[ "${wmax:-99999}" -lt 2500 ] || fail "garbage: a task waited $wmax ms"
stop_usched
kill $load; wait $load
check_dmesg 'failed to run for'
