# SPDX-License-Identifier: GPL-2.0-only
# modes: each --mode preset attaches, survives a few seconds of load and
# runs with the knobs it documents (docs/tuning.md): the attach line shows
# the configuration the scheduler was built with, not the preset table. A
# flag given explicitly wins over the preset.
. /usched/lib.sh
n=$(nproc)
try_mode() { # try_mode EXPECTED-POLL EXPECTED-SLICE-US ARGS...
    poll=$1 slice=$2; shift 2
    start_usched "$@"
    timeout 60 stress-ng --cpu "$n" --switch 2 -t 4 --quiet || fail "$*: stress-ng failed ($?)"
    [ "$(scx_state)" = enabled ] || { tail -20 /tmp/usched.log; fail "$*: ejected"; }
    stop_usched
    m=$(grep -o 'mode [a-z]*: poll=[a-z]* slice=[0-9]*us spin=[0-9]*us fast-wakeup=[0-9]*us' /tmp/usched.log)
    a=$(grep -o 'attached (poll=[a-z]*, dispatcher CPU [A-Za-z0-9()]*' /tmp/usched.log)
    info "$*: $m | $a"
    echo "$a" | grep -q "poll=$poll," || fail "$*: attached with '$a', expected poll=$poll"
    echo "$m" | grep -q "slice=${slice}us" || fail "$*: '$m', expected slice=${slice}us"
}
try_mode adaptive 5000 --mode auto
try_mode adaptive 5000 --mode gaming
try_mode busy 2000 --mode lowlatency
try_mode blocking 20000 --mode powersave
try_mode adaptive 20000 --mode server
# An explicit flag wins over the preset.
try_mode adaptive 3000 --mode powersave --poll adaptive --slice-us 3000
grep -q 'spin=0us' /tmp/usched.log || fail "powersave's spin (0) was not kept beside the explicit flags"
check_dmesg
