# SPDX-License-Identifier: GPL-2.0-only
# pack: --pack (on in --mode powersave) keeps whole cores idle. Run on 2
# cores x 2 threads (smt4), two CPU hogs under scx_usched --mode=powersave
# share one core in at least 70 % of placement's samples (spread, the
# default, placement@smt4, they share one in 0-10 %) and get at least 85 %
# of EEVDF's share of the machine: two hogs stacked on one CPU would also
# count as sharing a core, at half the throughput. placement.sh measures:
# this scenario is it with these bounds and flags.
exec sh /usched/scenarios/placement.sh PLACE_MIN_SAME_CORE=70 PLACE_MIN_SHARE=85 2 10 --mode=powersave
