# SPDX-License-Identifier: GPL-2.0-only
# attach-fifo: the FIFO example of scx_rustland_core's README (examples/fifo.rs, imports changed
# only) attaches with our ops name, survives stress-ng, and detaches when
# killed. Queued tasks carry their names (examples/names).
. /usched/lib.sh
seq0=$(scx_seq)
fifo > /tmp/fifo.log 2>&1 &
pid=$!
wait_state enabled 20 || { cat /tmp/fifo.log; fail "not enabled within 20s (state $(scx_state))"; }
ops=$(scx_ops)
info "enabled: ops=$ops seq $seq0 -> $(scx_seq)"
case "$ops" in usched*) ;; *) fail "ops name '$ops' is not ours";; esac
[ "$(scx_seq)" -eq $((seq0 + 1)) ] || fail "enable_seq did not step by one"
n=$(nproc)
stress-ng --cpu "$n" --fork "$n" --switch "$n" -t ${STRESS_S:-30} --quiet || fail "stress-ng failed (exit $?)"
[ "$(scx_state)" = enabled ] || { dmesg | tail -20; cat /tmp/fifo.log; fail "scheduler ejected under stress"; }
usched-stat || fail "usched-stat could not read the scheduler's counters"
usched-stat --check-user-dispatches || fail "no task went through user space"
# That example installs no signal handler (usched's init has no hidden
# side effects), and a background job of a script ignores SIGINT: end it with
# SIGTERM; the kernel detaches the scheduler when its link closes.
kill -TERM $pid
wait_state disabled 10 || fail "not disabled 10s after SIGTERM"
wait $pid
info "fifo exited with $? (143 = killed by SIGTERM)"
# Each queued task carries its name: examples/names counts the tasks that
# went through user space by name while stress-ng runs. Twice as many hogs as
# CPUs: with one hog per CPU, the BPF side keeps each hog on its CPU at every
# slice end and a hog may never be queued to user space in 4 s (CI saw 0, a
# local run 6). Oversubscribed, every slice end queues one. stress-ng runs
# until names has ended (its attach takes seconds under TCG), then is stopped.
stress-ng --cpu $((2 * n)) -t 60 --quiet &
sp=$!
names 4 > /tmp/names.txt 2>&1 || { kill -TERM $sp; cat /tmp/names.txt; fail "names failed"; }
kill -TERM $sp
wait $sp
cat /tmp/names.txt
hogs=$(awk '$3 == "\"stress-ng-cpu\"" { print $2 }' /tmp/names.txt)
info "stress-ng-cpu queued ${hogs:-0} times in 4 s"
[ "${hogs:-0}" -ge 20 ] || fail "the hogs were queued ${hogs:-0} times, not >= 20, or not by name (QueuedTask::comm)"
check_dmesg
