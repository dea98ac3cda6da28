# SPDX-License-Identifier: GPL-2.0-only
# fork-storm: 1024 short-lived children, all reaped with status 0; the
# scheduler stays attached.
. /usched/lib.sh
start_usched
ok=0
for batch in $(seq 1 16); do
    pids=""
    for i in $(seq 1 64); do
        sh -c 'x=0; while [ $x -lt 20 ]; do x=$((x+1)); done; exit 0' &
        pids="$pids $!"
    done
    for p in $pids; do wait $p && ok=$((ok + 1)); done
done
info "$ok of 1024 children exited 0"
[ $ok -eq 1024 ] || fail "only $ok of 1024 children exited 0"
[ "$(scx_state)" = enabled ] || fail "scheduler ejected by the fork storm"
user_dispatches
stop_usched
check_dmesg
