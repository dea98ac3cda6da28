# SPDX-License-Identifier: GPL-2.0-only
# pack: --pack (on in --mode powersave) keeps whole cores idle. Run on 2
# cores x 2 threads (smt4), two CPU hogs under scx_usched --mode=powersave
# share one core in at least 70 % of placement's samples; spread (the
# default, placement@smt4), they share one in 0-10 %. placement.sh measures:
# this scenario is it with these bounds and flags.
exec sh /usched/scenarios/placement.sh PLACE_MIN_SAME_CORE=70 2 10 --mode=powersave
