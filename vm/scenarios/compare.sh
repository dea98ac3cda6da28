# SPDX-License-Identifier: GPL-2.0-only
# compare: `scx_usched --compare 4` against CPU hogs (one per CPU): the
# latency probe runs under EEVDF, then with scx_usched attached by a child
# process, and one before/after table is printed. Asserted: it exits 0;
# the table has every row with a number in both columns and the audio probe
# ran at least a tenth of its 2 x 4000 periods in each half (the property
# is that both halves measured, not how well: single-threaded TCG with a
# hog per CPU left scx_usched 1439 of them, EEVDF 3853);
# scx_usched really was attached for the second half (its attach and detach
# lines, with dispatcher rounds > 0, are relayed); sched_ext is disabled
# again afterwards; and --compare refuses to run while a scheduler is loaded.
. /usched/lib.sh
n=$(nproc)
stress-ng --cpu "$n" -t 40 --quiet & H=$!
timeout 120 scx_usched --compare 4 > /tmp/cmp.txt 2>&1
rc=$?
kill $H 2>/dev/null; wait $H 2>/dev/null
cat /tmp/cmp.txt
[ $rc -eq 0 ] || fail "--compare failed ($rc)"
for m in late_p50_us late_p99_us late_max_us miss_pct periods; do
    for w in audio game; do
        grep -qE "^${w}_$m +[0-9.]+ +[0-9.]+ " /tmp/cmp.txt || fail "no ${w}_$m row with two numbers"
    done
done
for col in 2 3; do
    p=$(awk -v c=$col '$1 == "audio_periods" { printf "%d", $c }' /tmp/cmp.txt)
    [ "${p:-0}" -ge 800 ] || fail "the audio probe ran ${p:-0} periods in column $col (at least 800 expected)"
done
grep -q "scx_usched attached" /tmp/cmp.txt || fail "scx_usched's attach line is missing: was it attached?"
rounds=$(sed -n 's/.*detached after .*dispatcher rounds \([0-9]*\).*/\1/p' /tmp/cmp.txt)
[ "${rounds:-0}" -gt 0 ] || fail "no detach line with dispatcher rounds > 0"
[ "$(scx_state)" = disabled ] || fail "sched_ext is $(scx_state) after --compare"
start_usched
out=$(scx_usched --compare 1 2>&1) && fail "--compare ran while a scheduler was loaded"
echo "$out" | grep -q "a sched_ext scheduler is loaded" || { echo "$out"; fail "unclear refusal: $out"; }
info "refused while loaded: $(echo "$out" | tail -1)"
stop_usched
check_dmesg
