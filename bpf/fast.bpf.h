/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The fast wake-up path's judgement: which task is a fast waker, which
 * CPU's task it may cut in on, and the protection of a fast waker's burst
 * (its first fast_protect_ns(): FAST_PROTECT_MAX_NS at most), with the
 * held-back preemptions the protect timer sends when that ends. Where a
 * fast waker goes is try_fast_wakeup()'s (enqueue.bpf.h) and place.bpf.h's.
 * Included once, by main.bpf.c, after the helpers it uses.
 */
/*
 * The task may take the fast wake-up path (see fast_wakeup_ns): it runs
 * briefly and sleeps at least twice as long (periodic, latency-bound work
 * such as audio or a frame loop), and once judged so it stays a fast waker
 * while it sleeps at least as long as it runs. On average that is at most
 * a third of a CPU to become one and half a CPU to stay one, in bursts
 * shorter than fast_wakeup_ns (single bursts enter the average capped, see
 * ops.stopping()), and the path only decides where the wake-up runs: the
 * slice still ends, and past its protection (fast_protect_ns()) the task
 * may be preempted like any other. (An earlier guard compared the task's
 * vruntime with the highest one user space had decided; that clock stalls
 * while CPU hogs keep running without a round trip, and it shut the path
 * off after a few seconds.)
 *
 * The band: with one bound, a periodic task whose bursts sit near it flips
 * between the paths every few periods, and each wake-up not judged fast
 * makes the round trip, whose dispatcher time stretches the next bursts.
 * Two 1 ms threads of 50 us bursts, stretched to 300-600 us by
 * single-threaded TCG, were judged not fast at 4,075 wake-ups in 8 s and
 * missed 14-36 % of their periods (EEVDF 1.5-2.4 %); with the band, a
 * median of 12.5 % against 38.8 % (9 rounds each, 3 boots, A/B in each):
 * docs/benchmarks.md, "Two 1 ms audio threads on an idle 4-vCPU guest".
 * ops.runnable() moves tctx->fast_kept at each wake-up (fast_judge()).
 */
static __always_inline bool fast_judge(struct task_ctx *tctx)
{
	u64 burst = tctx->last_burst;

	/* A task that never slept (a CPU hog) has no burst to judge by. */
	if (!fast_wakeup_ns || !burst || !tctx->last_sleep || burst >= fast_wakeup_ns)
		return false;
	return tctx->last_sleep >= (tctx->fast_kept ? burst : 2 * burst);
}

static __always_inline bool fast_waker(struct task_ctx *tctx)
{
	return tctx && fast_judge(tctx);
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
 * the rounds overlap). What comes in the protected part (a decision's
 * kick, the dispatcher, a waker behind the burst) waits for its end: the
 * protect timer (RUN_TIMER_PROTECT) sends it then (see protect_timer_fn()
 * for the exceptions: races with the run's end, a CPU only claimed). Past it, a
 * burst is a long runner to may_cut_in() as well (CUT_IN_RUN_MIN_NS).
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
 * @cpu runs the protected part of a fast waker's burst (fast_protect_ns()):
 * nothing preempts it - not a decision asking to, not the dispatcher waking
 * up. Preempted at once, the burst would pay a kick and, unless it resumes
 * as a cut-in, a round trip, for every request that comes while it runs.
 */
static __always_inline bool cpu_runs_fast_waker(s32 cpu)
{
	return cpu >= 0 && cpu < USCHED_MAX_CPUS && cpu_ctx_of(cpu)->fast &&
	       cpu_curr_run_ns(cpu, bpf_ktime_get_ns()) < fast_protect_ns();
}

/*
 * Work waits for @cpu: in its local DSQ, its own DSQ, or the shared one if
 * the CPU is not reserved. Once a preemption was held back, a burst gives
 * way at its protection's end to any of it, whatever was held back - the
 * task the burst cut in on, back in the local DSQ, included. And a pending
 * preemption outlives the run it was held for until something sends it: a
 * fast waker that waited at the head inherits it (and gives way at its own
 * protection's end), the first later task of any other kind gives way at
 * once (ops.running()). Measured as one rule (mix workload, 2 vCPUs,
 * medians of 5 or 3 rounds, docs/benchmarks.md "Held-back preemptions"):
 * giving way only to what was held back, with a head wait setting nothing
 * (t3), read audio p99 1.37x and 1.59x EEVDF's in two boots where this
 * rule before the race mends (t2) read 1.09x and 1.20x; with the mends
 * (f3) 1.20x, against t2's 1.43x, in a third.
 */
static __always_inline bool work_waits_for(s32 cpu)
{
	return scx_bpf_dsq_nr_queued(SCX_DSQ_LOCAL_ON | cpu) > 0 ||
	       scx_bpf_dsq_nr_queued(cpu_dsq(cpu)) > 0 ||
	       (!cpu_reserved(cpu) && scx_bpf_dsq_nr_queued(USCHED_SHARED_DSQ) > 0);
}

/*
 * The protection of the run the timer was armed for has ended: what it held
 * back is sent, if that run still goes on (the same run_seq, and a fast
 * waker's run under way: ops.stopping() clears both) and work waits. A
 * preemption left pending here is the next run's (ops.running()). The
 * check and the kick are not atomic with the run's end: the run_seq is
 * checked again after the preemption is taken, and one that changed gives
 * it back; a kick that still lands after the end preempts the next task
 * once (not marked cut in on: another run_seq).
 */
static int protect_timer_fn(void *map, int *key, struct run_timer *pt)
{
	u32 cpu = (u32)*key % USCHED_MAX_CPUS;
	struct cpu_ctx *cc = cpu_ctx_of(cpu);
	u64 seq = pt->run_seq;

	if (cc->run_seq != seq || !cc->fast || !cc->run_start || !cc->preempt_pending ||
	    !work_waits_for(cpu) || !__sync_lock_test_and_set(&cc->preempt_pending, 0))
		return 0;
	if (cc->run_seq != seq) {
		__sync_lock_test_and_set(&cc->preempt_pending, 1);
		return 0;
	}
	/* The burst was cut in on, not done: it resumes after what waited,
	 * without a round trip (try_resume_after_cut_in()). */
	cc->held_cut_seq = seq;
	scx_bpf_kick_cpu(cpu, SCX_KICK_PREEMPT);
	cnt_inc(nr_protect_kicks);
	return 0;
}

/*
 * Sets @cpu's protect timer for the end of its fast waker's protection. The
 * run is read last, so that a caller on another CPU (hold_kick()) racing
 * with the run's end arms for the next run rather than the one that ended.
 */
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
	pt->run_seq = cc->run_seq;
	run = cpu_curr_run_ns(cpu, now);
	bpf_timer_start(&pt->timer, run < protect ? protect - run : 0, 0);
}

/*
 * A task was put at the head of @cpu's local DSQ to run after the burst (or,
 * through hold_kick(), a preempt kick came for @cpu): it waits for the
 * burst's protection, a preemption pending that the protect timer sends
 * when the protection ends. (On a CPU only claimed by a fast waker
 * about to run, no run is under way and no timer is armed: the task runs
 * before the claimer, inserted at the head after it, and the claimer
 * inherits the pending preemption in its ops.running().)
 */
static __always_inline void hold_at_head(s32 cpu)
{
	if (cpu >= 0 && cpu < USCHED_MAX_CPUS) {
		__sync_lock_test_and_set(&cpu_ctx_of(cpu)->preempt_pending, 1);
		arm_protect_timer(cpu, bpf_ktime_get_ns());
	}
}

/*
 * A preempt kick for @cpu (usched_kick) waits for its fast waker's
 * protection. If the burst or its protection ended since the caller looked,
 * the task after it found nothing pending: the kick goes now, unless that
 * task's ops.running() or the timer took it first (the exchange).
 */
static __always_inline void hold_kick(s32 cpu)
{
	if (cpu < 0 || cpu >= USCHED_MAX_CPUS)
		return;
	hold_at_head(cpu);
	if (!cpu_runs_fast_waker(cpu) &&
	    __sync_lock_test_and_set(&cpu_ctx_of(cpu)->preempt_pending, 0)) {
		scx_bpf_kick_cpu(cpu, SCX_KICK_PREEMPT);
		cnt_inc(nr_preempt_kicks);
	}
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
	hold_at_head(cpu);
	return SCX_ENQ_HEAD;
}
