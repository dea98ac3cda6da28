# SPDX-License-Identifier: GPL-2.0-only
# bad-input: invalid CLI values, an unprivileged user and a second instance
# each get a clear error and leave the loaded scheduler alone. libbpf's
# options (--kconfig, --btf-custom-path, ...) reach libbpf: a missing file
# is named before anything loads, a file that is not BTF fails the load and
# leaves nothing attached, and real ones attach.
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
expect_err "fast CPU 99 does not exist" scx_usched --fast-cpus 0,99
expect_err "fast CPU 0 is listed twice" scx_usched --fast-cpus 0,0
expect_err "'x' is not a CPU id" scx_usched --fast-cpus 0,x
expect_err "seconds" scx_usched --stats 0
expect_err "watchdog" scx_usched --watchdog-ms 100
expect_err "kconfig /nonexistent/config: No such file" scx_usched --kconfig /nonexistent/config
expect_err "btf-custom-path /nonexistent/vmlinux: No such file" scx_usched --btf-custom-path /nonexistent/vmlinux
expect_err "loading the BPF program failed" scx_usched --btf-custom-path /usched/lib.sh --run-secs 3
[ "$(scx_state)" = disabled ] || fail "a failed load left sched_ext $(scx_state)"
start_usched
seq=$(scx_seq)
expect_err "already loaded.*usched" scx_usched
expect_err "sched_ext scheduler needs root.*CAP_BPF" su -s /bin/sh nobody -c scx_usched
[ "$(scx_state)" = enabled ] && [ "$(scx_seq)" = "$seq" ] || fail "the loaded scheduler was disturbed"
stop_usched
echo CONFIG_HZ=250 > /tmp/kconfig
start_usched --kconfig /tmp/kconfig --btf-custom-path /sys/kernel/btf/vmlinux --pin-root-path /tmp --relaxed-maps
[ "$(scx_state)" = enabled ] || fail "libbpf's options: not attached"
stop_usched
check_dmesg
