# SPDX-License-Identifier: GPL-2.0-only
# bad-input: invalid CLI values, an unprivileged user and a second instance
# each get a clear error and leave the loaded scheduler alone.
. /usched/lib.sh
expect_err() { # expect_err PATTERN CMD...
    pat=$1; shift
    out=$("$@" 2>&1) && fail "'$*' succeeded"
    echo "$out" | grep -qiE "$pat" || { echo "$out"; fail "'$*' error does not match '$pat'"; }
    info "ok: $* -> $(echo "$out" | grep -iE "$pat" | head -1)"
}
expect_err "slice|range" scx_usched --slice-us 0
expect_err "poll" scx_usched --poll sometimes
expect_err "mode|invalid value" scx_usched --mode turbo
expect_err "must not exceed.*--mode server" scx_usched --mode server -S 30000
expect_err "dispatcher CPU 99" scx_usched --dispatcher-cpu 99
expect_err "must not exceed" scx_usched -s 1000 -S 2000
expect_err "seconds" scx_usched --stats 0
expect_err "watchdog" scx_usched --watchdog-ms 100
start_usched
seq=$(scx_seq)
expect_err "already loaded.*usched" scx_usched
expect_err "sched_ext scheduler needs root.*CAP_BPF" su -s /bin/sh nobody -c scx_usched
[ "$(scx_state)" = enabled ] && [ "$(scx_seq)" = "$seq" ] || fail "the loaded scheduler was disturbed"
stop_usched
check_dmesg
