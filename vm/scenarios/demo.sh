# SPDX-License-Identifier: GPL-2.0-only
# demo: the README's first command. Audio-like periodic threads (1 ms period,
# 50 us of work) against CPU hogs, first under the kernel's EEVDF, then under
# scx_usched with live statistics; prints a before/after latency line.
. /usched/lib.sh
n=$(nproc)
probe_run() { # probe_run LABEL
    stress-ng --cpu "$n" -t 12 --quiet &
    hog=$!
    sleep 1
    usched-probe periodic --threads 2 --period-us 1000 --work-us 50 --secs 10 --label "$1" | tee -a /tmp/probe.txt
    wait $hog
}
info "audio-like probe under the kernel's scheduler (EEVDF)"
probe_run eevdf
info "starting scx_usched --stats 2"
start_usched --stats 2
probe_run scx_usched
cat /tmp/usched.log
stop_usched
echo
echo "before/after (wake-up lateness of 1 ms periodic threads against $n CPU hogs, us):"
awk '/^PROBE/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
      printf "  %-12s p50=%8s  p99=%8s  max=%9s  misses=%s%%\n", $2, v["late_p50_us"], v["late_p99_us"], v["late_max_us"], v["miss_pct"] }' /tmp/probe.txt
check_dmesg
