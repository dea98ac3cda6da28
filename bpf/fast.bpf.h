/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The fast wake-up path's judgement: which task is a fast waker, which
 * CPU's task it may cut in on, and the protection of a fast waker's burst
 * (the first FAST_PROTECT_MAX_NS of it), with the held-back preemptions the
 * protect timer sends when that ends. Where a fast waker goes is
 * try_fast_wakeup()'s (main.bpf.c) and place.bpf.h's.
 * Included once, by main.bpf.c, after the helpers it uses.
 */
/*
 * The task may take the fast wake-up path (see fast_wakeup_ns): it ran
 * briefly and slept at least twice as long (periodic, latency-bound work
 * such as audio or a frame loop). On average that is at most a third of a
 * CPU in bursts shorter than fast_wakeup_ns (single bursts enter the
 * average capped, see ops.stopping()), and the path only decides where
 * the wake-up runs: the slice still ends, and past its protection
 * (fast_protect_ns()) the task may be preempted like any other. (An earlier
 * guard compared the task's vruntime with the highest one user space had
 * decided; that clock stalls while CPU hogs keep running without a round
 * trip, and it shut the path off after a few seconds.)
 */
static __always_inline bool fast_waker(struct task_ctx *tctx)
{
	/* A task that never slept (a CPU hog) has no burst to judge by. */
	return fast_wakeup_ns && tctx && tctx->last_burst && tctx->last_sleep &&
	       tctx->last_burst < fast_wakeup_ns && tctx->last_sleep >= 2 * tctx->last_burst;
}

/*
 * How long the task now running on @cpu has run since it last slept; 0 when
 * none of ours runs there. A benign race: an estimate read without locks.
 */
static __always_inline u64 cpu_curr_run_ns(s32 cpu, u64 now)
{
	struct cpu_ctx *cc;
	u64 start;

	if (cpu < 0 || cpu >= USCHED_MAX_CPUS)
		return 0;
	cc = cpu_ctx_of(cpu);
	start = cc->run_start;
	if (!start || (s64)(now - start) < 0)
		return 0;
	return cc->run_base + (now - start);
}

/*
 * A fast waker may cut in on @cpu when the CPU idles or its task is a long
 * runner: it has run without sleeping for twice the waker's last burst and
 * at least CUT_IN_RUN_MIN_NS (a CPU hog, a batch job), so preempting it costs it little
 * and saves the waker up to a whole slice. A short runner there (another
 * waker, a message-passing task) is left alone, and the waker takes the
 * ordinary path through the policy.
 */
#define CUT_IN_RUN_MIN_NS	NSEC_PER_MSEC

static __always_inline bool may_cut_in(s32 cpu, struct task_ctx *tctx, u64 now)
{
	u64 need = 2 * tctx->last_burst;

	if (cpu < 0 || cpu >= USCHED_MAX_CPUS || cpu_reserved(cpu))
		return false;
	if (need < CUT_IN_RUN_MIN_NS)
		need = CUT_IN_RUN_MIN_NS;
	/* Masked again: the verifier loses the bound across the inlining. */
	return cpu_idle[cpu & (USCHED_MAX_CPUS - 1)] || cpu_curr_run_ns(cpu, now) >= need;
}

/*
 * How much of a fast waker's burst is protected, at most: an audio period's
 * whole burst, a frame's first millisecond. Protected for all of its 4 ms
 * (fast_wakeup_ns 5 ms), two frame loops held audio periods and the
 * dispatcher behind them: audio p99 7.8 ms beside them against 6.1 ms with
 * this cap, the loops' own p99 6.9 against 5.2 ms (medians of 3, one boot;
 * the rounds overlap). It limits which requests wait, not for how long: one
 * that came in the first millisecond (a decision, the dispatcher, a waker
 * behind the burst) still waits for the burst to end. Past it, a burst is a
 * long runner to may_cut_in() as well (CUT_IN_RUN_MIN_NS).
 */
#define FAST_PROTECT_MAX_NS	NSEC_PER_MSEC
_Static_assert(FAST_PROTECT_MAX_NS <= CUT_IN_RUN_MIN_NS,
	       "a burst past its protection may be cut in on");

/* How much of a fast waker's burst is protected: min(fast_wakeup_ns, cap). */
static __always_inline u64 fast_protect_ns(void)
{
	return fast_wakeup_ns < FAST_PROTECT_MAX_NS ? fast_wakeup_ns : FAST_PROTECT_MAX_NS;
}

/*
 * @cpu runs a fast waker's short burst (until it has run fast_wakeup_ns, and
 * FAST_PROTECT_MAX_NS at most): nothing preempts it - not a decision asking
 * to, not the dispatcher waking up. A preempted task loses its slice and
 * would go back through user space, so one preemption would cost the burst
 * a whole round trip.
 */
static __always_inline bool cpu_runs_fast_waker(s32 cpu)
{
	return cpu >= 0 && cpu < USCHED_MAX_CPUS && cpu_ctx_of(cpu)->fast &&
	       cpu_curr_run_ns(cpu, bpf_ktime_get_ns()) < fast_protect_ns();
}

/*
 * A preemption held back sends itself when the protection ends (see
 * RUN_TIMER_PROTECT), if the burst it waited for still runs and work waits.
 */
static int protect_timer_fn(void *map, int *key, struct run_timer *pt)
{
	u32 cpu = (u32)*key % USCHED_MAX_CPUS;
	struct cpu_ctx *cc = cpu_ctx_of(cpu);

	if (!pt->run_start || cc->run_start != pt->run_start || !cc->preempt_pending)
		return 0;
	cc->preempt_pending = 0;
	if (scx_bpf_dsq_nr_queued(SCX_DSQ_LOCAL_ON | cpu) || scx_bpf_dsq_nr_queued(cpu_dsq(cpu)) ||
	    (!cpu_reserved(cpu) && scx_bpf_dsq_nr_queued(USCHED_SHARED_DSQ))) {
		/* The burst was cut in on, not done: it resumes after what
		 * waited, without a round trip (try_resume_after_cut_in()). */
		cc->held_cut_in = 1;
		scx_bpf_kick_cpu(cpu, SCX_KICK_PREEMPT);
		cnt_inc(nr_protect_kicks);
	}
	return 0;
}

/* Sets @cpu's protect timer for the end of its fast waker's protection. */
static __always_inline void arm_protect_timer(s32 cpu, u64 now)
{
	struct cpu_ctx *cc = cpu_ctx_of(cpu);
	u64 run, protect = fast_protect_ns();
	struct run_timer *pt;

	if (!cc->fast || !cc->run_start)
		return;
	pt = run_timer_of(RUN_TIMER_PROTECT, cpu);
	if (!pt)
		return;
	run = cpu_curr_run_ns(cpu, now);
	pt->run_start = cc->run_start;
	bpf_timer_start(&pt->timer, run < protect ? protect - run : 0, 0);
}

/*
 * A preemption of @cpu waits for the protected part of its fast waker's
 * burst (or of the one about to start there: ops.running() arms the timer
 * then), and no longer: after it, the task that runs gives way if work waits.
 */
static __always_inline void hold_preempt(s32 cpu)
{
	if (cpu < 0 || cpu >= USCHED_MAX_CPUS)
		return;
	cpu_ctx_of(cpu)->preempt_pending = 1;
	arm_protect_timer(cpu, bpf_ktime_get_ns());
}

/*
 * Flags for a task that should run next on @cpu: preempt what runs there,
 * or - while a fast waker's burst is protected - wait at the head of the
 * queue until the protection ends.
 */
static __always_inline u64 run_next_flags(s32 cpu)
{
	if (!cpu_runs_fast_waker(cpu))
		return SCX_ENQ_PREEMPT;
	hold_preempt(cpu);
	return SCX_ENQ_HEAD;
}
