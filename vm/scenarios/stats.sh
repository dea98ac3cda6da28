# SPDX-License-Identifier: GPL-2.0-only
# stats: scx_usched serves its statistics through scx_stats. --stats prints
# them from inside the running scheduler (a client of its own server),
# --monitor reads the same socket from a second process and loads nothing,
# --help-stats describes every field. The socket is mode 0600 whatever the
# umask (the guest's is 022). The server holds at most 4 connections (the
# --stats printer is one of them: 3 of 8 new clients are served, 5 refused
# with EBUSY), answers a 64 KiB request with E2BIG and closes that
# connection, and serves new clients once the others have gone.
# usched-stat --bpf-cost measures each of the scheduler's BPF programs
# while load runs: select_cpu, enqueue, dispatch, running and stopping
# each ran and took time, and the state does not change (the kernel's
# counting is switched on and off while the scheduler runs; single-threaded
# TCG only: under multi-threaded TCG that text patching can oops).
. /usched/lib.sh
scx_usched --help-stats > /tmp/help.txt || fail "--help-stats failed"
for f in nr_user_dispatches cpu_pct enq_dispatch_p99_us wake_run_p99_us nr_page_faults; do
    grep -q "^ *$f " /tmp/help.txt || { cat /tmp/help.txt; fail "--help-stats does not describe $f"; }
done
start_usched --stats 1
seq=$(scx_seq)
stress-ng --cpu 2 --switch 2 -t 6 --quiet &
S=$!
sleep 1
usched-stat --bpf-cost 2 > /tmp/cost.txt 2>&1 || { cat /tmp/cost.txt; fail "usched-stat --bpf-cost failed"; }
cat /tmp/cost.txt
for prog in usched_select_c usched_enqueue usched_dispatch usched_running usched_stopping; do
    awk -v p=$prog '$1 == p && $2 > 0 && $4 > 0 { ok = 1 } END { exit !ok }' /tmp/cost.txt \
        || fail "--bpf-cost shows no runs or no time for $prog"
done
grep -qE '^BPFCOST secs=[0-9.]+ runs=[1-9][0-9]* cpu_pct=[0-9.]+ ns_per_run=[1-9]' /tmp/cost.txt \
    || fail "--bpf-cost printed no total"
wait $S
[ -S /var/run/scx/root/stats ] || fail "no stats socket at /var/run/scx/root/stats"
mode=$(stat -c %a /var/run/scx/root/stats)
[ "$mode" = 600 ] || fail "the stats socket is mode $mode, not 600 (umask $(umask))"
usched-probe statsock --clients 8 --request-bytes 65536 > /tmp/sock.txt 2>&1 || { cat /tmp/sock.txt; fail "statsock failed"; }
cat /tmp/sock.txt
grep -q "served=3 refused=5 closed=0 errnos=\[16, 16, 16, 16, 16\]" /tmp/sock.txt || fail "the connection cap does not hold (want 3 served, 5 refused with EBUSY)"
grep -q "answer=errno=7 after=closed" /tmp/sock.txt || fail "a 64 KiB request was not refused with E2BIG and the connection closed"
grep -q "again=errno=0" /tmp/sock.txt || fail "no client served after the others closed"
timeout 5 scx_usched --monitor 1 > /tmp/mon.txt 2>&1
cat /tmp/mon.txt
[ "$(grep -c '^\[scx_usched\] tasks' /tmp/mon.txt)" -ge 2 ] || fail "--monitor printed fewer than 2 lines"
[ "$(scx_seq)" = "$seq" ] || fail "--monitor changed enable_seq ($seq -> $(scx_seq))"
[ "$(scx_state)" = enabled ] || fail "not enabled after --monitor"
grep "^\[scx_usched\] tasks" /tmp/usched.log
n=$(grep -c '^\[scx_usched\] tasks' /tmp/usched.log)
[ "$n" -ge 4 ] || { cat /tmp/usched.log; fail "--stats 1 printed $n lines in ~8 s"; }
grep '^\[scx_usched\] tasks' /tmp/usched.log | grep -qE 'dispatch u [1-9]' || fail "no interval shows user dispatches"
grep '^\[scx_usched\] tasks' /tmp/usched.log | grep -qE 'wake->run p50/p99/max [0-9]+/[0-9]+/[1-9]' || fail "no interval shows wake-up latency"
stop_usched
check_dmesg
