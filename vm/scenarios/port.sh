# SPDX-License-Identifier: GPL-2.0-only
# port: scx_rlfifo 1.1.4, a scheduler written for scx_rustland_core 2.4,
# ported by scripts/port-rustland.sh (docs/porting.md's recipe alone). It
# attaches under the name its init gives, keeps dispatching from user space
# through the stress line (31 s, as `stress`): its own per-second counters,
# read through usched::rustland's nr_*_mut(), grow over the run and
# usched-stat sees user-space dispatches; then it detaches on SIGINT with
# exit status 0 (the handler usched::rustland's init installs, as upstream's).
. /usched/lib.sh
command -v scx_rlfifo >/dev/null || fail "scx_rlfifo is not in the guest (scripts/port-rustland.sh)"
n=$(nproc)
scx_rlfifo > /tmp/port.log 2>&1 &
pid=$!
wait_state enabled 30 || { cat /tmp/port.log; fail "scx_rlfifo not enabled within 30s"; }
[ "$(scx_ops)" = rlfifo ] || fail "ops name '$(scx_ops)', want 'rlfifo' (init's name)"
# scx_rlfifo prints "user=N kernel=N cancel=N bounce=N fail=N cong=N" each second.
last_user() { grep -o 'user=[0-9]*' /tmp/port.log | tail -1 | cut -d= -f2; }
sleep 2
u0=$(last_user)
lines0=$(grep -c 'user=' /tmp/port.log)
stress-ng -t 31 --aggressive -M -c "$n" -f "$n" --affinity "$n" --quiet || fail "stress-ng failed (exit $?)"
[ "$(scx_state)" = enabled ] || { tail -30 /tmp/port.log; fail "scx_rlfifo ejected during stress"; }
u1=$(last_user)
lines1=$(grep -c 'user=' /tmp/port.log)
info "user-space dispatches by scx_rlfifo's own count: ${u0:-none} before, ${u1:-none} after; $((lines1 - lines0)) stats lines"
info "its last line: $(grep 'user=' /tmp/port.log | tail -1)"
# Its loop ran all along (a line a second) and dispatched during the run.
[ $((lines1 - lines0)) -ge 20 ] || fail "scx_rlfifo printed $((lines1 - lines0)) stats lines in 31 s: its loop stalled"
[ "${u1:-0}" -gt "${u0:-0}" ] || fail "scx_rlfifo's user-space dispatches did not grow during the run"
user_dispatches
kill -INT "$pid"
wait_state disabled 10 || fail "not disabled 10s after SIGINT"
i=0
while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
kill -0 "$pid" 2>/dev/null && fail "scx_rlfifo still running 10s after detaching"
wait "$pid"; rc=$?
[ $rc -eq 0 ] || { tail -20 /tmp/port.log; fail "scx_rlfifo exited $rc after SIGINT"; }
check_dmesg
