/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * --cpufreq: CPU performance targets through scx_bpf_cpuperf_set().
 *
 * Two rules, one owner each. How fast a CPU should run for the work it
 * carries is user space's (usched-core's cpuperf rule, applied by the
 * governor in src/cpufreq.rs to the time each CPU spends running our
 * tasks, measured here, and written into cpuperf_targets). Our tasks'
 * time, not the CPU's busy time: schedutil adds the other classes' load
 * (RT, and the fair class in --partial mode) to the target itself.
 *
 * That a latency-critical task - a fast waker, see fast_waker() - runs at
 * full speed whatever its CPU's target is this side's. The target is
 * applied, or the boost, when a task starts running and at each tick (the
 * kfunc may name only the CPU whose rq we hold, so each CPU sets its own);
 * the target again when a boosted task stops running, asleep or preempted
 * (by our tasks or another class's), so that no boost outlives its task's
 * run (on hardware where CPUs share a clock, it would hold up the
 * others'). cpuperf_cur[] keeps what each CPU was last asked, for the
 * statistics; a set happens only when that changes. Until a CPU's first
 * set, it keeps sched_ext's default target, full speed.
 *
 * Included once, by main.bpf.c.
 */
_Static_assert((u32)USCHED_CPUPERF_ONE == (u32)SCX_CPUPERF_ONE, "cpuperf scale");

/* Each CPU's performance target from user space (0: none yet). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, USCHED_MAX_CPUS);
	__type(key, u32);
	__type(value, u32);
} cpuperf_targets SEC(".maps");

/* Run-time accounting for the governor: @cpu starts (@running) or stops
 * running one of our tasks at @now (any task: the dispatcher's time is
 * load of this class too). */
static __always_inline void cpuperf_account_run(s32 cpu, bool running, u64 now)
{
	u32 c = cpu & (USCHED_MAX_CPUS - 1);	/* callers check the range */

	if (!cpufreq)
		return;
	if (running) {
		cpu_run_since[c] = now ?: 1;
	} else if (cpu_run_since[c]) {
		cpu_run_ns[c] += now - cpu_run_since[c];
		cpu_run_since[c] = 0;
	}
}

/*
 * Asks @cpu, whose rq we hold, for full speed (@boost: a latency-critical
 * task runs there) or for its target.
 */
static __always_inline void cpuperf_apply(s32 cpu, bool boost)
{
	u32 key = cpu, want, *target;

	if (!cpufreq || cpu < 0 || cpu >= USCHED_MAX_CPUS)
		return;
	if (boost) {
		want = USCHED_CPUPERF_ONE;
	} else {
		target = bpf_map_lookup_elem(&cpuperf_targets, &key);
		want = target ? *target : 0;
		if (!want)
			return;
		if (want > USCHED_CPUPERF_ONE)
			want = USCHED_CPUPERF_ONE;
	}
	if (cpuperf_cur[key & (USCHED_MAX_CPUS - 1)] == want)
		return;
	cpuperf_cur[key & (USCHED_MAX_CPUS - 1)] = want;
	scx_bpf_cpuperf_set(cpu, want);
	cnt_inc(nr_cpuperf_sets);
}
