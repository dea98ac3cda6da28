/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The heartbeat: the starvation guard (a task waiting past starve_ns is
 * moved to an allowed CPU, the longest waits first) and the backstops for a
 * missed wake-up. Included once, by main.bpf.c, after the ops it calls
 * into.
 */
/*
 * The starvation guard: a task that has waited in a DSQ longer than
 * starve_ns goes to the tail of an allowed CPU's local DSQ and that CPU is
 * preempted (once per heartbeat). Weights and keys decide the order; this
 * bounds the wait whatever they say (a nice-0 task among many nice -20
 * hogs, a policy's bad keys). In busy mode it also moves a task the shared
 * DSQ holds for the reserved CPU alone (confined there after it was
 * queued), which that CPU never serves.
 *
 * The longest waits go first. Each heartbeat counts the starving tasks of
 * every DSQ by how long they waited past starve_ns (buckets of starve_ns / 4,
 * the last one open-ended) and rescues the oldest buckets that fill its
 * budget of two per CPU, so that a flood of starving tasks is spread over
 * heartbeats instead of piled onto local DSQs. A task that waited half the
 * watchdog's timeout (STARVE_URGENT_BUCKET) is rescued whatever the budget,
 * as long as the CPU's local DSQ holds fewer than RESCUE_LOCAL_MAX tasks.
 * A task starves once its weight's fair share of the wait (fair_share())
 * covers the shortest rescue and what its rescues overran: the lightest
 * (SCHED_IDLE beside CPU hogs) wait longer than starve_ns, as their weight
 * says, up to half the watchdog.
 * Rescuing in key order, a few per heartbeat, a flood of starving tasks with
 * low keys kept the guard busy while the one with the highest key waited
 * past the watchdog (fifo-flood: the burst's joining thread, last of 119 in
 * its DSQ, 52 of them past starve_ns; an ejection in 1 of 3 fresh-clone CI
 * runs and 2 of 10 local runs).
 */
#define STARVE_BUCKETS 32
_Static_assert((STARVE_BUCKETS & (STARVE_BUCKETS - 1)) == 0, "indices are masked");
/* Half the watchdog, in starve_ns (the watchdog / USCHED_STARVE_DIV): the
 * wait that makes a task urgent, and the bucket it is then in. */
#define STARVE_URGENT_WAITS (USCHED_STARVE_DIV / 2)
#define STARVE_URGENT_BUCKET ((STARVE_URGENT_WAITS - 1) * 4)
_Static_assert(USCHED_STARVE_DIV % 2 == 0, "half the watchdog is a whole bucket");
_Static_assert(STARVE_URGENT_BUCKET > 0 && STARVE_URGENT_BUCKET < STARVE_BUCKETS,
	       "the urgent bucket is within the histogram");
/* A local DSQ this deep takes no more rescues: at a tick (1-4 ms) a task,
 * its tasks run within about 100 ms, a heartbeat. */
#define RESCUE_LOCAL_MAX 32
/*
 * The shortest rescue: what counts as service (see usched_stopping()). With
 * 250 us, a SCHED_IDLE hog's rescues under single-threaded TCG were at
 * times spent with its vCPU not running (the guest's clock runs on), so
 * they counted as served with nothing done and it waited two guard periods
 * (1.03 s; four such waits failed nice-fair in a fresh-clone CI run).
 */
#define RESCUE_MIN_NS USCHED_RESCUE_SERVICE_NS
/* The longest wait rescue_slice() counts (its arithmetic stays in u64). */
#define RESCUE_WAIT_MAX (10 * NSEC_PER_SEC)
_Static_assert(RESCUE_WAIT_MAX < (1ULL << 34), "wait x weight (< 2^17) fits in u64");

static u32 starve_hist[STARVE_BUCKETS];	/* this heartbeat's starving tasks */
static u32 rescue_budget;		/* rescues left in this heartbeat */
static u32 rescue_edge_left;		/* of them, for the threshold bucket */
/* The heartbeat's serial number; a CPU a task is rescued onto is preempted
 * once per heartbeat (cpu_ctx.rescued_at_serial). */
static u32 heartbeat_serial;

/* CPUs the runnable tasks share (online ones; read once a heartbeat, before
 * the guard counts: starve_bucket() weighs each wait with it). */
static u32 rescue_nr_cpus = 1;

static u32 nr_online_cpus(void)
{
	const struct cpumask *online = scx_bpf_get_online_cpumask();
	u32 n = bpf_cpumask_weight(online);

	scx_bpf_put_cpumask(online);
	return n ?: 1;
}

/*
 * The CPU time @p's weight earned over a wait of @wait ns among all runnable
 * tasks' (its fair share): wait x CPUs x weight / runnable_weight, the CPUs
 * being the online ones, at most as many as it may use (an estimate: a
 * pinned task is weighed against the whole machine's runnable weight, and
 * so waits longer than its CPU's load says, never past the urgent bucket).
 */
static __always_inline u64 fair_share(const struct task_struct *p, u64 wait)
{
	u64 w = task_load_weight(p), sum = runnable_weight, ncpus = rescue_nr_cpus;

	if (p->nr_cpus_allowed < ncpus)
		ncpus = p->nr_cpus_allowed;
	if ((s64)sum < (s64)w)
		sum = w;
	/* In u64: the wait (capped at RESCUE_WAIT_MAX, < 2^34 ns) times a
	 * weight (< 2^17), over sum, times ncpus. */
	if (wait > RESCUE_WAIT_MAX)
		wait = RESCUE_WAIT_MAX;
	return wait * w / sum * (ncpus ?: 1);
}

/*
 * The slice of a rescue: the fair share of the wait that ends now, less
 * what its earlier rescues ran past theirs (rescue_debt: a slice ends at the
 * next timer interrupt, up to 0.4 ms late under multi-threaded TCG, at the
 * next 4 ms tick under single-threaded), between RESCUE_MIN_NS and one
 * default slice; *@fair is set to the fair share (0: none, the task is not
 * waiting by our count). A light task is rescued only once its share covers
 * RESCUE_MIN_NS and its debt (starve_bucket()), so over its rescues it gets
 * what its weight gives it, whatever the timer's precision.
 */
static __always_inline u64 rescue_slice(const struct task_struct *p, struct task_ctx *tctx,
					u64 now, u64 *fair)
{
	u64 w = task_load_weight(p), s;

	*fair = 0;
	if (!tctx || !tctx->wait_since || (s64)(now - tctx->wait_since) <= 0) {
		/* Not waiting by our count (confined to the reserved CPU). */
		s = slice_ns;
		if (w < USCHED_LOAD_WEIGHT_NICE0)
			s = s * w / USCHED_LOAD_WEIGHT_NICE0;
		return s < RESCUE_MIN_NS ? RESCUE_MIN_NS : s;
	}
	s = fair_share(p, now - tctx->wait_since);
	*fair = s ?: 1;
	s = s > tctx->rescue_debt ? s - tctx->rescue_debt : 0;
	if (s < RESCUE_MIN_NS)
		s = RESCUE_MIN_NS;
	return s > slice_ns ? slice_ns : s;
}

/* How long past starve_ns @p has waited, as a bucket; -1: it has not. */
static s32 starve_bucket(struct task_struct *p, u64 now)
{
	struct task_ctx *tctx;
	u64 wait, over;

	/* Confined to the CPU busy mode reserves for the dispatcher, which
	 * spins there and reaches ops.dispatch() (and so any DSQ) only when
	 * preempted: moved to its local DSQ with a preemption at once,
	 * whatever the budget (the last bucket is urgent). */
	if (runs_only_on_reserved(p))
		return STARVE_BUCKETS - 1;
	tctx = lookup_task_ctx(p);
	if (!tctx || !tctx->wait_since)
		return -1;
	wait = now - tctx->wait_since;
	if ((s64)wait < (s64)starve_ns)
		return -1;
	/*
	 * A task whose weight has not yet earned the shortest rescue plus what
	 * its rescues ran past their shares waits on, up to half the watchdog
	 * (the urgent bucket). A turn per starve_ns was 1.3-5x a SCHED_IDLE
	 * hog's share among four nice-0 ones (fair: 0.75 ms per 0.5 s; the
	 * 1 ms floor, and single-threaded TCG's 4 ms ticks) and 2-2.8x a nice-0
	 * hog's among eight nice -20 ones.
	 */
	if (wait < starve_ns * STARVE_URGENT_WAITS &&
	    fair_share(p, wait) < RESCUE_MIN_NS + tctx->rescue_debt)
		return -1;
	over = (wait - starve_ns) / (starve_ns / 4 ?: 1);
	return over >= STARVE_BUCKETS ? STARVE_BUCKETS - 1 : (s32)over;
}

/*
 * count_starving() and rescue_starving() are global functions, verified
 * once and not per caller's state (inlined in the heartbeat's loops, they
 * made the verifier give up), and take their own RCU read lock for the DSQ
 * iterator, whatever context the verifier assumes for them.
 */

/* Adds @dsq's starving tasks to starve_hist; returns how many it has. */
__noinline u32 count_starving(u64 dsq, u64 now)
{
	struct task_struct *p;
	u32 nr = 0;

	if (!scx_bpf_dsq_nr_queued(dsq))
		return 0;
	bpf_rcu_read_lock();
	bpf_for_each(scx_dsq, p, dsq, 0) {
		s32 b = starve_bucket(p, now);

		if (b < 0)
			continue;
		starve_hist[b & (STARVE_BUCKETS - 1)]++;
		nr++;
	}
	bpf_rcu_read_unlock();
	return nr;
}

/*
 * Moves @dsq's tasks that waited past starve_ns by more than bucket @edge,
 * and while rescue_edge_left lasts those in @edge, to the local DSQ of a CPU
 * they may use; urgent ones whatever the budget. Returns 0.
 */
__noinline int rescue_starving(u64 dsq, u64 now, s32 edge)
{
	struct task_struct *p;

	if (!scx_bpf_dsq_nr_queued(dsq))
		return 0;
	bpf_rcu_read_lock();
	bpf_for_each(scx_dsq, p, dsq, 0) {
		s32 b = starve_bucket(p, now);
		struct task_ctx *tctx;
		u64 slice, fair;
		s32 cpu;

		if (b < 0 || b < edge)
			continue;
		if (b < STARVE_URGENT_BUCKET && (!rescue_budget || (b == edge && !rescue_edge_left)))
			continue;
		tctx = lookup_task_ctx(p);
		/* An idle allowed CPU if there is one, else spread over the
		 * allowed ones: a fork storm's tasks all last ran on one CPU. */
		cpu = scx_bpf_pick_idle_cpu(p->cpus_ptr, 0);
		if (cpu < 0)
			cpu = bpf_cpumask_any_distribute(p->cpus_ptr);
		if (cpu < 0 || cpu >= scx_bpf_nr_cpu_ids())
			continue;
		if (scx_bpf_dsq_nr_queued(SCX_DSQ_LOCAL_ON | cpu) >= RESCUE_LOCAL_MAX)
			continue;
		/* Its fair share of the wait (rescue_slice()), whatever its
		 * decision said, and behind what the CPU's local DSQ holds
		 * (tasks rescued before it). A full slice every 0.5 s gave a
		 * SCHED_IDLE hog among four nice-0 ones 7x what its weight
		 * gives it. */
		slice = rescue_slice(p, tctx, now, &fair);
		scx_bpf_dsq_move_set_slice(BPF_FOR_EACH_ITER, slice);
		if (scx_bpf_dsq_move(BPF_FOR_EACH_ITER, p, SCX_DSQ_LOCAL_ON | cpu, 0)) {
			u32 *at = &cpu_ctx_of(cpu)->rescued_at_serial;

			/*
			 * One preemption per CPU and heartbeat: a second kick
			 * would zero the slice of the task rescued first as soon
			 * as it runs, sending it back to wait for another guard
			 * period with nothing done (waits of 2 x starve_ns were
			 * seen). The second task runs after the first's slice.
			 */
			if (*at != heartbeat_serial) {
				*at = heartbeat_serial;
				scx_bpf_kick_cpu(cpu, SCX_KICK_PREEMPT);
			}
			if (tctx && tctx->wait_since) {
				tctx->rescued_wait = tctx->wait_since;
				tctx->rescue_fair = fair;
			}
			cnt_inc(nr_starved);
			if (rescue_budget)
				rescue_budget--;
			if (b == edge && rescue_edge_left)
				rescue_edge_left--;
		}
	}
	bpf_rcu_read_unlock();
	return 0;
}

/* One heartbeat's rescues: the oldest waits first, over every DSQ. */
static void rescue_oldest(u64 now)
{
	u32 i, nr, above = 0;
	s32 edge = 0;

	rescue_budget = 2 * scx_bpf_nr_cpu_ids();
	rescue_nr_cpus = nr_online_cpus();
	rescue_edge_left = rescue_budget;
	bpf_for(i, 0, STARVE_BUCKETS)
		starve_hist[i] = 0;
	nr = count_starving(USCHED_SHARED_DSQ, now);
	bpf_for(i, 0, scx_bpf_nr_cpu_ids())
		nr += count_starving(cpu_dsq(i), now);
	if (!nr)
		return;
	/*
	 * The edge: the lowest bucket that, with the ones above it, fills the
	 * budget. Everything above it fits; the edge bucket gets what is left,
	 * so an older task in a DSQ visited later is not crowded out by younger
	 * ones visited first.
	 */
	bpf_for(i, 0, STARVE_BUCKETS) {
		u32 b = STARVE_BUCKETS - 1 - i;
		u32 here = starve_hist[b & (STARVE_BUCKETS - 1)];

		if (above + here >= rescue_budget) {
			edge = b;
			rescue_edge_left = rescue_budget - above;
			break;
		}
		above += here;
	}
	rescue_starving(USCHED_SHARED_DSQ, now, edge);
	bpf_for(i, 0, scx_bpf_nr_cpu_ids())
		rescue_starving(cpu_dsq(i), now, edge);
}

/*
 * Sampled every heartbeat, for the pinned dispatcher's return to its CPU
 * (src/escape.rs): an RT or deadline task (prio below MAX_RT_PRIO) runs on
 * that CPU. ops.cpu_release() records the moments it is taken as well.
 */
static void sample_dispatcher_cpu(u64 now)
{
	struct task_struct *curr;

	if (dispatcher_cpu < 0)
		return;
	bpf_rcu_read_lock();
	curr = __COMPAT_scx_bpf_cpu_curr(dispatcher_cpu);
	if (curr && curr->prio < 100)
		dispatcher_cpu_taken_at = now;
	bpf_rcu_read_unlock();
}

/* Keeps decisions from waiting in the user ring buffer while every CPU that
 * could drain it is idle, and a sleeping dispatcher from missing records. */
static int heartbeat_fn(void *map, int *key, struct bpf_timer *timer)
{
	u64 now = bpf_ktime_get_ns();
	u32 i;

	cnt_inc(nr_heartbeats);
	heartbeat_serial++;
	sample_dispatcher_cpu(now);
	rescue_oldest(now);
	bpf_for(i, 0, scx_bpf_nr_cpu_ids()) {
		if (!scx_bpf_dsq_nr_queued(cpu_dsq(i)))
			continue;
		/* Backstop for a missed wake-up: work waits for an idle CPU. */
		if (i < USCHED_MAX_CPUS && cpu_idle[i & (USCHED_MAX_CPUS - 1)])
			scx_bpf_kick_cpu(i, SCX_KICK_IDLE);
	}
	if (decisions_undrained() || scx_bpf_dsq_nr_queued(USCHED_SHARED_DSQ))
		kick_idle_cpu_for_work();
	if (usersched_sleeping && bpf_ringbuf_query(&queued, BPF_RB_AVAIL_DATA))
		wake_dispatcher();
	bpf_timer_start(timer, heartbeat_ns, 0);
	return 0;
}
