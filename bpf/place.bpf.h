/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Where work runs: the topology questions (a busy SMT sibling, how far a
 * move goes, a whole idle core), the one rule for claiming an idle CPU
 * (claim_idle_cpu()), the CPUs fast wakers prefer (pick_idle_fast_cpu():
 * a hybrid machine's big cores) and the one rule for waking an idle CPU for
 * work (pick_idle_cpu_for_work(), used by every kick): spread over whole
 * idle cores by default, packed onto partly busy ones with --pack.
 * Included once, by main.bpf.c, after the helpers it uses.
 */
/* Another thread of @cpu's core is busy (a CPU hog there takes half the
 * core's throughput from the task on @cpu). */
static __always_inline bool smt_sibling_busy(s32 cpu)
{
	s32 c = cpu;
	u32 i;

	bpf_for(i, 0, USCHED_MAX_SMT) {
		c = cpu_smt_next[c & (USCHED_MAX_CPUS - 1)];
		if (c == cpu || c < 0 || c >= USCHED_MAX_CPUS)
			return false;
		if (!cpu_idle[c & (USCHED_MAX_CPUS - 1)])
			return true;
	}
	return false;
}

/* How far @to lies from @from: USCHED_PLACE_*. */
static __always_inline u32 place_level(s32 from, s32 to)
{
	s32 c = from;
	u32 i;

	if (from == to)
		return USCHED_PLACE_SAME_CPU;
	bpf_for(i, 0, USCHED_MAX_SMT) {
		c = cpu_smt_next[c & (USCHED_MAX_CPUS - 1)];
		if (c == to)
			return USCHED_PLACE_SMT;
		if (c == from)
			break;
	}
	if (cpu_llc[from & (USCHED_MAX_CPUS - 1)] == cpu_llc[to & (USCHED_MAX_CPUS - 1)])
		return USCHED_PLACE_LLC;
	if (cpu_node[from & (USCHED_MAX_CPUS - 1)] == cpu_node[to & (USCHED_MAX_CPUS - 1)])
		return USCHED_PLACE_NODE;
	return USCHED_PLACE_REMOTE;
}

/* A whole core that @p may use is idle. */
static __always_inline bool idle_core_for(struct task_struct *p)
{
	const struct cpumask *smt = scx_bpf_get_idle_smtmask();
	bool found = bpf_cpumask_intersects(smt, p->cpus_ptr);

	scx_bpf_put_idle_cpumask(smt);
	return found;
}

/*
 * Claims @cpu for @p if it idles, @p may run there and busy mode does not
 * reserve it for the dispatcher (for @p's previous CPU: warm, and no other
 * CPU woken).
 */
static __always_inline bool claim_idle_cpu(struct task_struct *p, s32 cpu)
{
	return bpf_cpumask_test_cpu(cpu, p->cpus_ptr) && !cpu_reserved(cpu) &&
	       scx_bpf_test_and_clear_cpu_idle(cpu);
}

/*
 * An idle CPU among those fast wakers prefer (fast_cpus[]) that @p may use,
 * claimed: @prev_cpu if it is one (warm), else the first idle one in the
 * list's order, on a whole idle core before one beside a busy SMT sibling.
 * -1 if none idles: the caller's own choice follows, an idle CPU of any
 * kind before cutting in on a busy preferred one.
 */
static s32 pick_idle_fast_cpu(struct task_struct *p, s32 prev_cpu)
{
	const struct cpumask *smt;
	u32 i, n = nr_fast_cpus;
	s32 found = -1;

	if (!n)
		return -1;
	if (prev_cpu >= 0 && prev_cpu < USCHED_MAX_CPUS && cpu_fast[prev_cpu] &&
	    claim_idle_cpu(p, prev_cpu))
		return prev_cpu;
	if (n > USCHED_MAX_CPUS)
		n = USCHED_MAX_CPUS;
	/* A whole idle core first: not beside a busy SMT sibling. */
	smt = scx_bpf_get_idle_smtmask();
	bpf_for(i, 0, n) {
		s32 c = fast_cpus[i & (USCHED_MAX_CPUS - 1)];

		if (c != prev_cpu && bpf_cpumask_test_cpu(c, smt) && claim_idle_cpu(p, c)) {
			found = c;
			break;
		}
	}
	scx_bpf_put_idle_cpumask(smt);
	if (found >= 0)
		return found;
	bpf_for(i, 0, n) {
		s32 c = fast_cpus[i & (USCHED_MAX_CPUS - 1)];

		if (c != prev_cpu && claim_idle_cpu(p, c))
			return c;
	}
	return -1;
}

/* Wakes @cpu if it is idle, counted in nr_idle_kicks. */
static __always_inline void kick_idle(s32 cpu)
{
	scx_bpf_kick_cpu(cpu, SCX_KICK_IDLE);
	cnt_inc(nr_idle_kicks);
}

/*
 * --pack: the lowest idle CPU in @allowed below @below that sits beside a
 * busy SMT sibling, not on @self's core; claimed if @claim. -1 if none.
 */
static s32 packed_cpu_below(const struct cpumask *allowed, s32 below, s32 self, bool claim)
{
	s32 c;

	bpf_for(c, 0, scx_bpf_nr_cpu_ids()) {
		if (c >= below || c >= USCHED_MAX_CPUS)
			break;
		if (!cpu_idle[c & (USCHED_MAX_CPUS - 1)] || cpu_reserved(c) ||
		    !bpf_cpumask_test_cpu(c, allowed) || !smt_sibling_busy(c))
			continue;
		if (self >= 0 && place_level(self, c) == USCHED_PLACE_SMT)
			continue;
		if (!claim || scx_bpf_test_and_clear_cpu_idle(c))
			return c;
	}
	return -1;
}

/*
 * Claims an idle CPU in @allowed for queued work, -1 if none: a whole idle
 * core first, so that two tasks do not share a core while another core
 * idles (2 CPU hogs on 2 cores x 2 threads shared one in 36-57 % of samples
 * when CPUs were taken lowest number first); with --pack (powersave), the
 * thread beside a busy one first instead, so that whole cores stay idle
 * (and may sleep deeper) while work fits on fewer. The one place that
 * chooses idle CPUs for work (kick_for(), kick_for_shared(), usched_kick);
 * the CPU busy mode reserves for the dispatcher is never chosen: claimed
 * by a pick (its idle bit cleared, which only keeps later picks off it),
 * it is passed over for the next.
 */
static __always_inline s32 pick_idle_cpu_for_work(const struct cpumask *allowed)
{
	s32 cpu;

	if (pack_work)
		cpu = packed_cpu_below(allowed, USCHED_MAX_CPUS, -1, true);
	else
		cpu = scx_bpf_pick_idle_cpu(allowed, SCX_PICK_IDLE_CORE);
	if (cpu < 0 || cpu_reserved(cpu))
		cpu = scx_bpf_pick_idle_cpu(allowed, 0);
	if (cpu >= 0 && cpu_reserved(cpu))
		cpu = scx_bpf_pick_idle_cpu(allowed, 0);
	return cpu < 0 || cpu_reserved(cpu) ? -1 : cpu;
}

/* Wakes one idle CPU (see pick_idle_cpu_for_work()) for work that waits in
 * the shared DSQ or in undrained decisions: it takes the earliest it may
 * run. False if no CPU is idle. */
static bool kick_idle_cpu_for_work(void)
{
	const struct cpumask *online = scx_bpf_get_online_cpumask();
	s32 cpu = pick_idle_cpu_for_work(online);

	scx_bpf_put_cpumask(online);
	if (cpu < 0)
		return false;
	kick_idle(cpu);
	return true;
}

/*
 * Wakes an idle CPU that should take @p, just inserted into @dsq. The kernel
 * wakes the CPU a task is enqueued on, not the one a decision drained by
 * another CPU is meant for: without this, a task could wait in the DSQ of an
 * idle CPU (or in the shared DSQ, skipped by the CPUs it may not use) until
 * the starvation guard.
 */
static __always_inline void kick_for(struct task_struct *p, u64 dsq)
{
	s32 cpu;

	if (dsq == USCHED_SHARED_DSQ) {
		cpu = pick_idle_cpu_for_work(p->cpus_ptr);
		if (cpu < 0)
			return;
	} else {
		cpu = (s32)(dsq - USCHED_CPU_DSQ_BASE);
		if (cpu == (s32)bpf_get_smp_processor_id())
			return;
	}
	kick_idle(cpu);
}

/* Inserts @p by @key into the DSQ for "any CPU" (see shared_dsq_for()) and
 * wakes an idle CPU for it. */
static __always_inline void insert_any(struct task_struct *p, u64 slice, u64 key, u64 enq_flags)
{
	u64 dsq = shared_dsq_for(p);

	scx_bpf_dsq_insert_vtime(p, dsq, slice, key, enq_flags & ~(SCX_ENQ_HEAD | SCX_ENQ_PREEMPT));
	kick_for(p, dsq);
}
