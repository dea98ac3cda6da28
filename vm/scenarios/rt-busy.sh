# SPDX-License-Identifier: GPL-2.0-only
# rt-busy: busy mode, the dispatcher pinned to CPU 1, and a SCHED_FIFO hog
# takes CPU 1. The dispatcher then runs only in the kernel's ext_server
# (50 ms a second, deferred: up to ~1 s late), so tasks on their way through
# user space would wait up to a second each time. It must notice the gap,
# run on CPU 0 while the hog lasts (and not spin there: CPU 0 is the only
# CPU left for everyone), and tasks stranded on CPU 1's local DSQ must move.
# Measured after the first second (the one stall the dispatcher cannot see
# coming): a periodic workload (2 threads, 10 ms period, 1 ms of work) beside
# a hog on CPU 0 completes at least half the periods it completes under
# EEVDF in the same boot, and no wake-up is later than 200 ms. Once the RT
# hog is gone, the dispatcher goes back to CPU 1 within 70 s (its longest
# stay away is 64 s). With --fast-wakeup-us 1000 (the default it was
# measured with): at 5 ms the periodic threads skip user space.
. /usched/lib.sh
field() { probe_field /tmp/per.txt "$1"; }
measure() { # LABEL: prints the probe's line
    taskset 1 sh -c 'while :; do :; done' &
    hog=$!
    timeout 20 taskset 2 chrt -f 50 sh -c 'while :; do :; done' &
    rt=$!
    sleep 2.5
    usched-probe periodic --threads 2 --period-us 10000 --work-us 1000 --secs 8 --label "$1" > /tmp/per.txt 2>&1
    back=$(grep -c 'back on CPU 1' /tmp/usched.log 2>/dev/null)
    kill $rt $hog; wait $rt $hog 2>/dev/null
    cat /tmp/per.txt
}
measure eevdf
n_eevdf=$(field n)
start_usched --poll busy --dispatcher-cpu 1 --fast-wakeup-us 1000
measure scx_usched
n=$(field n); max=$(field late_max_us)
[ "$(scx_state)" = enabled ] || { tail -20 /tmp/usched.log; fail "ejected while an RT hog held the dispatcher's CPU"; }
grep -E "kept off CPU|back on CPU" /tmp/usched.log
usched-stat | grep -E "^(tasks|dispatch)"
grep -q "kept off CPU 1" /tmp/usched.log || fail "the dispatcher never noticed it was kept off CPU 1"
info "periods: eevdf $n_eevdf, scx_usched $n; max lateness ${max} us"
[ $((n * 2)) -ge "$n_eevdf" ] || fail "$n periods, under half of EEVDF's $n_eevdf"
awk "BEGIN{exit !($max < 200000)}" || fail "a wake-up was ${max} us late (> 200 ms)"
i=0
until [ "$(grep -c 'back on CPU 1' /tmp/usched.log)" -gt "$back" ] || [ $i -ge 70 ]; do sleep 1; i=$((i + 1)); done
grep -E "kept off CPU|back on CPU" /tmp/usched.log | tail -2
[ $i -lt 70 ] || fail "the dispatcher did not go back to CPU 1 within 70 s of the RT hog's end"
grep "Cpus_allowed_list" /proc/$(pidof scx_usched)/task/*/status | sort | uniq -c
stop_usched
check_dmesg
