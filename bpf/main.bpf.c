/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * usched: the BPF half of a sched_ext scheduler whose policy runs in user space.
 *
 * Data flow:
 *
 *   ops.enqueue()  --(BPF ring buffer "queued")-->  user-space dispatcher
 *   ops.dispatch() <--(user ring buffer "dispatched")--  policy decisions
 *
 * A task that becomes runnable is described in a struct queued_task and sent
 * to user space, where a policy orders it and answers with a struct
 * dispatched_task: target CPU (or any), slice, vruntime, ordering key
 * (deadline) and flags. Whichever CPU next runs ops.dispatch() drains the
 * decisions and inserts the tasks by key: into the target CPU's own DSQ, or
 * into the shared DSQ (RL_CPU_ANY; a task allowed on one CPU only always
 * goes to that CPU's DSQ). Each CPU runs the earlier of the two heads, so the
 * policy's order holds across both, whatever the order in which decisions
 * arrive, and a CPU whose local DSQ is refilled by its own tasks still
 * serves the shared DSQ.
 *
 * Waiting is bounded: the heartbeat moves a task that has waited in a DSQ for
 * longer than the watchdog / USCHED_STARVE_DIV to the local DSQ of an allowed
 * CPU and preempts it, the longest waits first (the starvation guard,
 * counted in nr_starved); a task whose weight has not yet earned the
 * shortest rescue over its wait waits on, up to half the watchdog.
 *
 * The kernel does not call ops.dispatch() on a busy CPU until its task's
 * slice runs out (checked at the tick), so after each batch of decisions the
 * dispatcher runs the usched_kick syscall program once: it kicks the idle
 * CPUs that should take the new work and preempts the CPUs named by
 * latency-critical decisions. One syscall per batch, not one per task.
 *
 * Tasks that must not wait for user space are dispatched here directly: the
 * scheduler's own threads (which would otherwise wait on themselves),
 * kernel threads (per-CPU ones locally, unbound ones at the head of the
 * shared DSQ), tasks pinned to a CPU where RT tasks are runnable (the
 * kernel's ext_server lends that CPU only to what its local DSQ holds), and -
 * with built-in idle selection - tasks waking while an idle CPU is
 * available; and sync wake-ups while nothing else waits (the sync
 * hand-off: sync_handoff_cpu()). When the ring buffer is full, tasks fall back to the shared
 * DSQ (counted as congestion).
 *
 * Nothing user space sends can make this program call scx_bpf_error():
 * stale decisions (the task was dequeued or re-enqueued meanwhile), CPUs the
 * task may not use and unknown pids are counted and handled.
 *
 * This file holds the sched_ext callbacks; one concern each lives in the
 * files it includes where their helpers are needed: state.bpf.h (tunables,
 * shared state, contexts, maps), cpuperf.bpf.h (--cpufreq), fast.bpf.h (the
 * fast path's judgement), place.bpf.h (topology and the idle-CPU rule),
 * keys.bpf.h (carried keys), enqueue.bpf.h (ops.enqueue()'s shortcuts and
 * the long way), decisions.bpf.h (draining user space's decisions) and
 * guard.bpf.h (the heartbeat and starvation guard).
 */
#include <scx/common.bpf.h>
#include "intf.h"

char _license[] SEC("license") = "GPL";

UEI_DEFINE(uei);

#include "state.bpf.h"

static __always_inline bool vtime_before(u64 a, u64 b)
{
	return (s64)(a - b) < 0;
}

/* The DSQ of the tasks decided for @cpu. */
static __always_inline u64 cpu_dsq(s32 cpu)
{
	return USCHED_CPU_DSQ_BASE + (u64)cpu;
}

/* @v brought within USCHED_VTIME_MAX_LAG of the vtime clock. */
static __always_inline u64 vtime_clamp(u64 v, bool *clamped)
{
	u64 now = vtime_now;

	if ((s64)(v - now) > (s64)USCHED_VTIME_MAX_LAG) {
		*clamped = true;
		return now + USCHED_VTIME_MAX_LAG;
	}
	if ((s64)(now - v) > (s64)USCHED_VTIME_MAX_LAG) {
		*clamped = true;
		return now - USCHED_VTIME_MAX_LAG;
	}
	return v;
}

/* The key that puts a task ahead of every decision (unbound kthreads). */
static __always_inline u64 front_key(void)
{
	return vtime_now - USCHED_VTIME_MAX_LAG - 1;
}

/*
 * The kernel's sched_prio_to_weight (nice -20..19; nice 0 = 1024) and
 * SCHED_IDLE's weight: sched_ext's own weight (p->scx.weight) rounds nice 19
 * (15/1024) and SCHED_IDLE (3/1024) both to 1/100, 1.5x and 3.4x too heavy.
 */
static const u32 nice_weight[40] = {
	88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916,
	9548, 7620, 6100, 4904, 3906, 3121, 2501, 1991, 1586, 1277,
	1024, 820, 655, 526, 423, 335, 272, 215, 172, 137,
	110, 87, 70, 56, 45, 36, 29, 23, 18, 15,
};
#define WEIGHT_IDLEPRIO	3
#define SCHED_IDLE_POLICY 5

/* The task's weight as the kernel's fair class has it (nice 0 = USCHED_LOAD_WEIGHT_NICE0). */
static __always_inline u64 task_load_weight(const struct task_struct *p)
{
	u32 prio = (u32)(p->static_prio - 100);	/* MAX_RT_PRIO: nice -20 = 0 */

	if (p->policy == SCHED_IDLE_POLICY)
		return WEIGHT_IDLEPRIO;
	if (prio >= 40)
		return (p->scx.weight ?: 1) * USCHED_LOAD_WEIGHT_NICE0 / USCHED_WEIGHT_NICE0;
	return nice_weight[prio];
}

static __always_inline struct task_ctx *lookup_task_ctx(struct task_struct *p)
{
	return bpf_task_storage_get(&task_ctx_stor, p, 0, 0);
}

/* The most a task's rescues may have run past their fair shares: what the
 * next rescues take back (see rescue_slice()). */
#define RESCUE_DEBT_MAX (50 * NSEC_PER_MSEC)

/*
 * runnable_weight: the sum of the load weights of the tasks that are
 * runnable (waiting or running), for the starvation guard's fair share
 * (rescue_slice()). A task counts from ops.runnable() to ops.quiescent()
 * or ops.disable(); a nice or class change takes it off and back through
 * both, so the weight it counted with is the one it takes away.
 */

static __always_inline void weight_count(struct task_struct *p, struct task_ctx *tctx)
{
	u32 w = (u32)task_load_weight(p);

	if (tctx->rweight)
		return;
	tctx->rweight = w;
	__sync_fetch_and_add(&runnable_weight, w);
}

static __always_inline void weight_uncount(struct task_ctx *tctx)
{
	u32 w = tctx->rweight;

	if (!w)
		return;
	tctx->rweight = 0;
	__sync_fetch_and_sub(&runnable_weight, w);
}

static __always_inline bool is_usersched(const struct task_struct *p)
{
	return p->tgid == usersched_tgid;
}

/*
 * Averages of a task's bursts and sleeps, so that one late period (a short
 * sleep after it) or one long burst does not flip how the task is treated.
 */
static __always_inline u64 ewma(u64 avg, u64 v)
{
	return avg ? (3 * avg + v) / 4 : v;
}

/* usched-core's histogram layout: see core/src/histogram.rs. */
static __always_inline u32 msb64(u64 v)
{
	u32 r = 0;

	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) { r += 1; }
	return r;
}

static __always_inline void hist_record(u32 h, u64 v)
{
	u32 sub = 1U << USCHED_HIST_SUB_BITS, shift, b;

	if (v < 2 * sub) {
		b = v;
	} else {
		shift = msb64(v) - USCHED_HIST_SUB_BITS;
		b = sub + shift * sub + ((v >> shift) & (sub - 1));
	}
	if (h >= USCHED_NR_HIST || b >= USCHED_HIST_BUCKETS)
		return;
	__sync_fetch_and_add(&hist[h][b], 1);
}

/*
 * A CPU offline now: a hotplug restarts the scheduler, but a policy may name
 * a CPU that was offline at load, whose DSQ no CPU serves.
 */
static __always_inline bool cpu_online(s32 cpu)
{
	const struct cpumask *online = scx_bpf_get_online_cpumask();
	bool on = bpf_cpumask_test_cpu(cpu, online);

	scx_bpf_put_cpumask(online);
	return on;
}

static __always_inline bool cpu_reserved(s32 cpu)
{
	return poll_mode == USCHED_POLL_BUSY && cpu == dispatcher_cpu;
}

/*
 * Wake the dispatcher if it sleeps in epoll. Exactly one caller wins the
 * 1 -> 0 transition and sends a task-less record with a forced wake-up.
 */
static void wake_dispatcher(void)
{
	struct queued_task *rec;

	if (!usersched_sleeping ||
	    !__sync_bool_compare_and_swap(&usersched_sleeping, 1, 0))
		return;
	rec = bpf_ringbuf_reserve(&queued, sizeof(*rec), 0);
	if (!rec) {
		/* Cannot happen while ring_has_room() keeps room for it; if it
		 * does, the heartbeat sends the wake-up again. */
		usersched_sleeping = 1;
		cnt_inc(nr_wakeups_lost);
		return;
	}
	__builtin_memset(rec, 0, sizeof(*rec));
	rec->flags = USCHED_TASK_WAKE_ONLY;
	bpf_ringbuf_submit(rec, BPF_RB_FORCE_WAKEUP);
	cnt_inc(nr_wakeups_sent);
}

/*
 * Room for a task record, keeping enough for the dispatcher's wake-up record:
 * a full ring must never swallow the wake-up of a sleeping dispatcher.
 */
static __always_inline bool ring_has_room(void)
{
	u64 size = bpf_ringbuf_query(&queued, BPF_RB_RING_SIZE);
	u64 used = bpf_ringbuf_query(&queued, BPF_RB_AVAIL_DATA);
	u64 rec = sizeof(struct queued_task) + 8;	/* + ring buffer header */

	return used + 4 * rec <= size;
}

/*
 * User space cannot take tasks now: the dispatcher has wanted a CPU for
 * longer than USCHED_DISPATCHER_STALL_NS without getting one. Pinned to a
 * CPU that an RT task holds, it gets only the ext_server's 50 ms a second:
 * a task sent up then would wait for up to a second.
 */
static __always_inline bool dispatcher_stalled(void)
{
	u64 since = dispatcher_off_since;

	return since && bpf_ktime_get_ns() - since > USCHED_DISPATCHER_STALL_NS;
}

/* RT tasks are runnable on the CPU whose rq this callback holds locked. */
static __always_inline bool rt_runnable_here(void)
{
	struct rq *rq = scx_bpf_locked_rq();

	return rq && BPF_CORE_READ(rq, rt.rt_nr_running);
}

#include "cpuperf.bpf.h"
#include "fast.bpf.h"

/* Decisions wait in the user ring buffer: pushed, not yet drained by an
 * ops.dispatch(). */
static __always_inline bool decisions_undrained(void)
{
	return nr_user_pushed != counters.nr_drained;
}

/* No task waits anywhere: not in user space, not in a decision on its way
 * back, not in a DSQ. */
static __always_inline bool nobody_waits(s32 cpu)
{
	return !nr_user_queued && !nr_kqueued && !decisions_undrained() &&
	       !bpf_ringbuf_query(&queued, BPF_RB_AVAIL_DATA) &&
	       !scx_bpf_dsq_nr_queued(USCHED_SHARED_DSQ) &&
	       !scx_bpf_dsq_nr_queued(cpu_dsq(cpu));
}

/* The task is neither awaited from user space nor decided-and-waiting any
 * more (it runs, left, or is being queued anew). */
static __always_inline void task_settle(struct task_ctx *tctx)
{
	if (tctx->state != TASK_IDLE &&
	    __sync_lock_test_and_set(&tctx->state, TASK_IDLE) == TASK_IN_KQ)
		__sync_fetch_and_sub(&nr_kqueued, 1);
}

/*
 * Busy mode keeps the dispatcher's CPU out of the shared DSQ. A task that
 * may run on that CPU only (pinned there, or migration-disabled there) must
 * therefore never wait in the shared DSQ: nobody would take it out.
 */
static __always_inline bool runs_only_on_reserved(struct task_struct *p)
{
	if (poll_mode != USCHED_POLL_BUSY || dispatcher_cpu < 0)
		return false;
	if (p->migration_disabled)
		return scx_bpf_task_cpu(p) == dispatcher_cpu;
	return p->nr_cpus_allowed == 1 && bpf_cpumask_test_cpu(dispatcher_cpu, p->cpus_ptr);
}

/*
 * The DSQ for a task that goes to "any CPU": the shared one, unless it may
 * run on one CPU only (pinned, or migration-disabled): then that CPU's own
 * DSQ, which no other CPU's local work can keep it out of.
 */
static __always_inline u64 shared_dsq_for(struct task_struct *p)
{
	if (p->migration_disabled)
		return cpu_dsq(scx_bpf_task_cpu(p));
	if (p->nr_cpus_allowed == 1)
		return cpu_dsq(bpf_cpumask_first(p->cpus_ptr));
	return USCHED_SHARED_DSQ;
}

#include "place.bpf.h"

/* The key of a task that bypasses the policy (no decision to order it). */
static __always_inline u64 fallback_key(struct task_ctx *tctx)
{
	bool clamped = false;

	return tctx ? vtime_clamp(tctx->vtime, &clamped) : vtime_now;
}

/*
 * @cpu runs a fast waker's short burst, or is claimed by one about to run:
 * a fast waker that finds no long runner to cut in on waits there, at the
 * head of the queue, for that burst's protection (or that burst, if it
 * ends first) instead of a round trip. On a claimed CPU it runs first, and
 * the claimer after it (hold_at_head()).
 */
static __always_inline bool cpu_short_burst(s32 cpu)
{
	if (cpu < 0 || cpu >= USCHED_MAX_CPUS || cpu_reserved(cpu))
		return false;
	return cpu_ctx_of(cpu)->cut_in || cpu_runs_fast_waker(cpu);
}

/* The allowed CPU whose task has run longest without sleeping, or -1. */
static s32 longest_runner_cpu(struct task_struct *p, u64 now)
{
	u32 i, n = scx_bpf_nr_cpu_ids();
	u64 run, best_run = 0;
	s32 best = -1;

	bpf_for(i, 0, n) {
		if (i >= USCHED_MAX_CPUS)
			break;
		if (cpu_reserved(i) || !bpf_cpumask_test_cpu(i, p->cpus_ptr))
			continue;
		run = cpu_curr_run_ns(i, now);
		if (run > best_run) {
			best_run = run;
			best = i;
		}
	}
	return best;
}

#include "keys.bpf.h"

/*
 * A sync wake-up (message passing: the waker is about to sleep) runs at
 * once, without a round trip, when no task the BPF side sees waits
 * anywhere (not in user space, not in a DSQ, not in the waker CPU's local
 * DSQ): the policy would have had nobody else to order. It goes to its
 * previous CPU if that idles in the waker's LLC (warm, and it waits for
 * nobody), else to the waker's CPU, behind the waker, if the waker is one
 * of ours (not the dispatcher, not exiting) in a short burst: under
 * SYNC_WAKER_RUN_MAX_NS since it last slept. A softirq's sync wake-up (a
 * socket's data) runs in whatever task it interrupted, maybe a CPU hog;
 * and a waker that goes on running after all is preempted by ops.tick()
 * once the wake-up has waited that long. A round trip per message cost a
 * ping-pong pair most of its throughput (llc-pair: 1.4-1.5k round trips a
 * second, 9-11k with the hand-off; EEVDF 6-9k). The CPU, or -1.
 */
#define SYNC_WAKER_RUN_MAX_NS	NSEC_PER_MSEC

static __always_inline s32 sync_handoff_cpu(struct task_struct *p, s32 prev_cpu)
{
	struct task_struct *waker = (void *)bpf_get_current_task_btf();
	s32 cpu = bpf_get_smp_processor_id();
	u64 now = bpf_ktime_get_ns(), run;

	if (cpu < 0 || cpu >= USCHED_MAX_CPUS || !nobody_waits(cpu) ||
	    scx_bpf_dsq_nr_queued(SCX_DSQ_LOCAL_ON | cpu))
		return -1;
	if (prev_cpu != cpu && prev_cpu >= 0 && prev_cpu < USCHED_MAX_CPUS &&
	    place_level(prev_cpu, cpu) <= USCHED_PLACE_LLC && claim_idle_cpu(p, prev_cpu))
		return prev_cpu;
	if (cpu_reserved(cpu) || !bpf_cpumask_test_cpu(cpu, p->cpus_ptr) ||
	    is_usersched(waker) || (waker->flags & PF_EXITING))
		return -1;
	/* One of ours runs there (the waker, unless an interrupt woke @p). */
	run = cpu_curr_run_ns(cpu, now);
	if (!run || run >= SYNC_WAKER_RUN_MAX_NS)
		return -1;
	cpu_ctx_of(cpu)->handoff_at = now;
	return cpu;
}

/*
 * A sync wake-up says the waker is about to sleep. Believed while the task
 * running here is not one of ours or is in a short burst (under
 * SYNC_WAKER_RUN_MAX_NS since it last slept, as a message-passing task
 * is), and whenever other tasks wait: in a message-passing load (hackbench)
 * senders run long too, and the fast path there let 160 tasks cut in on
 * each other past the policy (hackbench 3x slower, waits of seconds). A
 * waker that has run longer on a machine where nobody waits goes on
 * running after the wake-up (a game's main loop signalling a worker, a
 * softirq's socket data delivered inside a CPU hog): its wakee is served
 * as a timer's would be, by the fast path, rather than waiting behind it
 * or for a round trip (a pair whose waker lingers 20 ms beside a hog on
 * 2 CPUs: the wakee's p99 was 7-14 ms, EEVDF's 1 ms).
 */
static __always_inline bool sync_waker_sleeps(u64 wake_flags)
{
	s32 cpu = bpf_get_smp_processor_id();

	if (!(wake_flags & SCX_WAKE_SYNC))
		return false;
	return cpu_curr_run_ns(cpu, bpf_ktime_get_ns()) < SYNC_WAKER_RUN_MAX_NS ||
	       !nobody_waits(cpu);
}

s32 BPF_STRUCT_OPS(usched_select_cpu, struct task_struct *p, s32 prev_cpu, u64 wake_flags)
{
	struct task_ctx *tctx;
	bool is_idle = false, fast;
	s32 cpu;

	if (is_usersched(p)) {
		/* Our own threads go where they can run now. */
		cpu = scx_bpf_select_cpu_dfl(p, prev_cpu, wake_flags, &is_idle);
		return is_idle ? cpu : prev_cpu;
	}
	/*
	 * The fast path serves wake-ups that come from a timer or an interrupt
	 * (an audio period, a frame tick). A sync wake-up comes from a task
	 * about to sleep - message passing - where the waker's CPU frees up
	 * by itself and cutting in on anyone only costs throughput; unless the
	 * waker has run too long for that (sync_waker_sleeps()).
	 */
	tctx = lookup_task_ctx(p);
	fast = fast_waker(tctx) && !sync_waker_sleeps(wake_flags);
	if (tctx)
		tctx->async_wake = fast;
	/* A sync hint not believed is dropped: the kernel's idle pick would
	 * take the waker's CPU for it, behind a waker that runs on. */
	if (fast)
		wake_flags &= ~SCX_WAKE_SYNC;
	if ((wake_flags & SCX_WAKE_SYNC) && sync_handoff) {
		cpu = sync_handoff_cpu(p, prev_cpu);
		if (cpu >= 0) {
			scx_bpf_dsq_insert(p, SCX_DSQ_LOCAL, slice_ns, 0);
			cnt_inc(nr_kernel_dispatches);
			return cpu;
		}
		/* Declined: the waker's CPU is no place for @p now (others
		 * wait, or the waker runs on), which the kernel's idle pick
		 * (--builtin-idle) would take for a sync wake-up. */
		wake_flags &= ~SCX_WAKE_SYNC;
	}
	if (!builtin_idle && !fast)
		return prev_cpu;

	/* A fast waker takes an idle preferred CPU first (a hybrid machine's
	 * big cores; Config::fast_cpus), before an idle CPU of another kind. */
	cpu = fast && !pack_work ? pick_idle_fast_cpu(p, prev_cpu) : -1;
	if (cpu >= 0) {
		is_idle = true;
		cnt_inc(nr_fast_cpu_picks);
	} else if (pack_work) {
		/* Its previous CPU if idle (warm, and no other core woken),
		 * else the packing rule's choice (place.bpf.h). */
		if (claim_idle_cpu(p, prev_cpu))
			cpu = prev_cpu;
		else
			cpu = pick_idle_cpu_for_work(p->cpus_ptr);
		is_idle = cpu >= 0;
		if (!is_idle)
			cpu = prev_cpu;
	} else {
		cpu = scx_bpf_select_cpu_dfl(p, prev_cpu, wake_flags, &is_idle);
	}
	if (is_idle && !cpu_reserved(cpu)) {
		scx_bpf_dsq_insert(p, SCX_DSQ_LOCAL, slice_ns, 0);
		cnt_inc(nr_kernel_dispatches);
		if (fast)
			cnt_inc(nr_fast_dispatches);
		return cpu;
	}
	/*
	 * No idle CPU: a fast waker cuts in on a long runner - on its previous
	 * CPU if that runs one (its timer fired there: no IPI, warm cache),
	 * else on the CPU whose task has run longest.
	 */
	if (fast && tctx) {
		u64 now = bpf_ktime_get_ns();
		s32 best;

		if (bpf_cpumask_test_cpu(prev_cpu, p->cpus_ptr) && may_cut_in(prev_cpu, tctx, now))
			return prev_cpu;
		best = longest_runner_cpu(p, now);
		if (best >= 0)
			return best;
		/* No long runner: queue behind a short burst (ops.enqueue()). */
		if (bpf_cpumask_test_cpu(prev_cpu, p->cpus_ptr) && cpu_short_burst(prev_cpu))
			return prev_cpu;
		if (bpf_cpumask_test_cpu(cpu, p->cpus_ptr) && cpu_short_burst(cpu))
			return cpu;
	}
	return cpu;
}

#include "enqueue.bpf.h"

/*
 * Every runnable task of ours comes here once per enqueue: the shortcuts
 * that keep it off the round trip are tried in order (each a helper in
 * enqueue.bpf.h), and what none takes goes to user space.
 */
void BPF_STRUCT_OPS(usched_enqueue, struct task_struct *p, u64 enq_flags)
{
	struct task_ctx *tctx;
	s32 cpu;

	if (is_usersched(p)) {
		enqueue_own(p, enq_flags);
		return;
	}
	if (p->flags & PF_KTHREAD) {
		enqueue_kthread(p, enq_flags);
		return;
	}
	tctx = lookup_task_ctx(p);
	if (!tctx) {
		kernel_any(p, slice_ns, fallback_key(NULL), enq_flags);
		return;
	}
	/* Back from a DSQ without having run (e.g. affinity change). */
	task_settle(tctx);

	if (rt_runnable_here()) {
		/*
		 * A task that may run only on a CPU where RT tasks are
		 * runnable gets that CPU only through the kernel's ext_server,
		 * a deadline server (50 ms per second by default) that runs
		 * what the local DSQ holds when it fires and gives up the rest
		 * of its budget when that is empty. Such a task must not be
		 * away in user space then: it goes to the local DSQ now, where
		 * the server finds it. Without this a pinned CPU hog under an
		 * RT hog got ~0.5 % of its CPU instead of ~5 %.
		 */
		if (p->nr_cpus_allowed == 1) {
			kernel_local(p, slice_ns, enq_flags);
			return;
		}
		/*
		 * The shortcuts keep a task on this CPU's local DSQ. One that
		 * may run elsewhere must not wait there behind an RT task (for
		 * the ext_server, up to a second): it goes the long way, to a
		 * CPU that is free for it.
		 */
		tctx->async_wake = 0;
		tctx->resume_slice = 0;
		send_to_user(p, tctx, enq_flags);
		return;
	}

	cpu = scx_bpf_task_cpu(p);
	if (try_fast_wakeup(p, tctx, cpu, enq_flags) ||
	    try_resume_after_cut_in(p, tctx, cpu, enq_flags) ||
	    try_idle_core(p, tctx, cpu, enq_flags) ||
	    try_still_first(p, tctx, cpu, enq_flags) ||
	    try_last_task(p, cpu, enq_flags))
		return;
	send_to_user(p, tctx, enq_flags);
}

void BPF_STRUCT_OPS(usched_dequeue, struct task_struct *p, u64 deq_flags)
{
	struct task_ctx *tctx = lookup_task_ctx(p);

	if (!tctx)
		return;
	/* Any decision still on its way for this task is now stale. */
	task_settle(tctx);
}

/*
 * The task left the run queue for any reason other than a migration: went
 * to sleep, changed class (SCHED_FIFO, SCHED_EXT off in partial mode),
 * exited, or is taken off for a property change and put back. Unlike
 * ops.dequeue(), the kernel calls this whether or not the task had been
 * inserted into a DSQ, so it is where a task stops counting as decided.
 */
void BPF_STRUCT_OPS(usched_quiescent, struct task_struct *p, u64 deq_flags)
{
	struct task_ctx *tctx = lookup_task_ctx(p);

	/* Not waiting for a CPU any more, whatever the reason. */
	if (p->pid == dispatcher_tid)
		dispatcher_off_since = 0;
	if (!tctx)
		return;
	if (deq_flags & SCX_DEQ_SLEEP)
		tctx->wait_since = 0;
	weight_uncount(tctx);
	task_settle(tctx);
}

#include "decisions.bpf.h"

/*
 * Runs the earlier of the heads of this CPU's own DSQ and of the shared one
 * (which the CPU busy mode reserves for the dispatcher never serves).
 */
static bool consume_earliest(s32 cpu)
{
	u64 own = cpu_dsq(cpu);
	struct task_struct *a, *b = NULL;
	bool shared = !cpu_reserved(cpu);

	a = __COMPAT_scx_bpf_dsq_peek(own);
	if (shared)
		b = __COMPAT_scx_bpf_dsq_peek(USCHED_SHARED_DSQ);
	if (a && (!b || vtime_before(a->scx.dsq_vtime, b->scx.dsq_vtime)) &&
	    scx_bpf_dsq_move_to_local(own, 0))
		return true;
	if (shared && scx_bpf_dsq_move_to_local(USCHED_SHARED_DSQ, 0))
		return true;
	return scx_bpf_dsq_move_to_local(own, 0);
}

/*
 * The slice timer (see RUN_TIMER_SLICE): a task lighter than nice 0 is
 * preempted when its slice ends, not at the next tick after.
 */
static int slice_timer_fn(void *map, int *key, struct run_timer *st)
{
	u32 cpu = (u32)*key % USCHED_MAX_CPUS;

	/* Still the run it was armed for (not a later one, nor a fast waker's
	 * cut-in, which clears run_start). */
	if (st->run_start && cpu_ctx_of(cpu)->run_start == st->run_start) {
		scx_bpf_kick_cpu(cpu, SCX_KICK_PREEMPT);
		cnt_inc(nr_slice_kicks);
	}
	return 0;
}

static __always_inline void arm_slice_timer(struct task_struct *p, struct task_ctx *tctx,
					    s32 cpu, u64 now)
{
	struct run_timer *st;

	/* (A slice past the tick ends at the tick or here, whichever is
	 * first: the timer needs no knowledge of HZ.) A rescue's slice is its
	 * fair share (rescue_slice()), whatever the task's weight: ended at
	 * the tick, a nice-0 hog among eight nice -20 ones got 5x its share. */
	if ((task_load_weight(p) >= USCHED_LOAD_WEIGHT_NICE0 && !tctx->rescue_fair) || !p->scx.slice ||
	    p->scx.slice > USCHED_SLICE_MAX_NS)
		return;
	st = run_timer_of(RUN_TIMER_SLICE, cpu);
	if (!st)
		return;
	st->run_start = now;
	bpf_timer_start(&st->timer, p->scx.slice, BPF_F_TIMER_CPU_PIN);
}

/*
 * @p goes on running on @cpu with the slice ops.dispatch() just refilled:
 * no ops.running() follows, so the timer is armed again here, for a new run
 * that starts now (the task's run since it last slept is unchanged:
 * run_base takes what run_start gave). Without it a light task kept this
 * way runs on to the next tick (up to 4 ms at HZ 250).
 */
static __always_inline void rearm_slice_timer(struct task_struct *p, struct task_ctx *tctx,
					      s32 cpu, u64 now)
{
	struct cpu_ctx *cc = cpu_ctx_of(cpu);

	/* 0: our own thread, or a cut-in that takes this CPU. */
	if (!cc->run_start || (s64)(now - cc->run_start) < 0)
		return;
	cc->run_base += now - cc->run_start;
	cc->run_start = now;
	arm_slice_timer(p, tctx, cpu, now);
}

/*
 * @prev's slice ran out and no task waits before it for this CPU: it goes on
 * for another slice where it is. The kernel keeps a runnable @prev whose
 * slice ops.dispatch() refilled - no round trip, and no moment in which this
 * CPU idles while @prev waits (which ops.enqueue()'s shortcuts could not
 * avoid: by then the CPU has picked idle, or another task). Waiting before
 * it: the heads of this CPU's DSQ and the shared one, the decisions this
 * ops.dispatch() drained (see note_drained()), and the policy's next key.
 * Only a task the policy has ordered (with a key, fresh if it is heavier
 * than nice 0; see try_still_first()). A stale one returns before the
 * idle-core move below: it goes through the policy at once instead.
 */
static bool keep_prev(s32 cpu, struct task_struct *prev)
{
	struct cpu_ctx *cc = cpu_ctx_of(cpu);
	struct task_ctx *tctx;
	u64 key, now;

	if (!prev || !(prev->scx.flags & SCX_TASK_QUEUED) || is_usersched(prev) ||
	    (prev->flags & PF_KTHREAD) || (cpu_reserved(cpu) && prev->nr_cpus_allowed > 1) ||
	    !bpf_cpumask_test_cpu(cpu, prev->cpus_ptr))
		return false;
	tctx = lookup_task_ctx(prev);
	if (!tctx || !tctx->last_run_at)
		return false;
	/* Packing (--pack): alone on its core while a CPU with a lower id
	 * idles beside a busy sibling, it moves there (towards low ids, so
	 * that two lone tasks do not swap places), whatever its key. */
	if (pack_work && !smt_sibling_busy(cpu) &&
	    packed_cpu_below(prev->cpus_ptr, cpu, cpu, false) >= 0) {
		tctx->to_idle_core = 1;
		return false;
	}
	now = bpf_ktime_get_ns();
	if (!key_fresh(prev, tctx, now - tctx->last_run_at))
		return false;
	key = live_key(prev, tctx, now);
	if ((cc->drained_keyed && !vtime_before(key, cc->drain_min_key)) || !still_first(cpu, key))
		return false;
	/* Sharing a core while a whole one idles: not kept, it moves there
	 * (try_idle_core()) - unless work is packed (--pack). Nothing else
	 * would ever move it: a CPU hog never passes ops.select_cpu() again. */
	if (!pack_work && smt_sibling_busy(cpu) && idle_core_for(prev)) {
		tctx->to_idle_core = 1;
		return false;
	}
	prev->scx.slice = tctx->run_slice ?: slice_ns;
	rearm_slice_timer(prev, tctx, cpu, now);
	/* A protect kick that found work the CPU does not take first: the run
	 * goes on, not cut in on (its next stop is its own). */
	if (cc->held_cut_seq == cc->run_seq)
		cc->held_cut_seq = 0;
	/* The clock follows the keys that run (no ops.running() for a kept
	 * task). */
	if (vtime_before(vtime_now, key))
		vtime_now = key;
	cnt_inc(nr_kernel_dispatches);
	return true;
}

/*
 * Work is left in the shared DSQ after this CPU took its pick: wake an idle
 * CPU for it, a whole idle core first. The inserts of a drain become visible
 * only when ops.dispatch() returns, after kick_for() woke a CPU for them:
 * that CPU may have looked too early.
 */
static void kick_for_shared(void)
{
	if (scx_bpf_dsq_nr_queued(USCHED_SHARED_DSQ))
		kick_idle_cpu_for_work();
}

void BPF_STRUCT_OPS(usched_dispatch, s32 cpu, struct task_struct *prev)
{
	struct cpu_ctx *cc = cpu_ctx_of(cpu);

	cc->drain_nr = 0;
	cc->drained_keyed = 0;
	bpf_user_ringbuf_drain(&dispatched, handle_decision, NULL, 0);

	if (!rt_runnable_here() && keep_prev(cpu, prev))
		return;
	if (consume_earliest(cpu)) {
		kick_for_shared();
		return;
	}
	/*
	 * Nothing else to run here while RT tasks wait: the kernel's
	 * ext_server is running us, and a pick that finds nothing stops it
	 * until this CPU has no sched_ext task left, which a task pinned
	 * here never allows. Keep the previous task for another slice.
	 */
	if (prev && (prev->scx.flags & SCX_TASK_QUEUED) && rt_runnable_here()) {
		prev->scx.slice = slice_ns;
		cnt_inc(nr_kernel_dispatches);
		return;
	}
	/* This CPU is about to idle while tasks wait in user space. */
	if (nr_user_queued)
		wake_dispatcher();
}

/*
 * @p woke up (USCHED_RUN_EVENT_WAKE), started (_RUN) or ceased running on
 * @cpu, told to user space when run_events_on (Config::run_events:
 * --record's wake, run and stop records), every task alike, whether the
 * policy saw it or not. The consumer is woken by nobody: it polls. A full
 * ring drops the event and counts it; each event carries the count so far.
 */
static __always_inline void emit_run_event(struct task_struct *p, s32 cpu, u32 kind, u64 now)
{
	struct usched_run_event *ev;

	if (!run_events_on)
		return;
	ev = bpf_ringbuf_reserve(&run_events, sizeof(*ev), 0);
	if (!ev) {
		__sync_fetch_and_add(&nr_run_events_lost, 1);
		return;
	}
	ev->ts = now;
	ev->sum_exec_runtime = p->se.sum_exec_runtime;
	ev->lost = nr_run_events_lost;
	ev->pid = p->pid;
	ev->cpu = cpu;
	ev->kind = kind;
	ev->tgid = p->tgid;
	bpf_ringbuf_submit(ev, BPF_RB_NO_WAKEUP);
}

void BPF_STRUCT_OPS(usched_runnable, struct task_struct *p, u64 enq_flags)
{
	struct task_ctx *tctx = lookup_task_ctx(p);
	u64 now = bpf_ktime_get_ns();

	if (enq_flags & SCX_ENQ_WAKEUP)
		emit_run_event(p, scx_bpf_task_cpu(p), USCHED_RUN_EVENT_WAKE, now);
	if (!tctx)
		return;
	weight_count(p, tctx);
	tctx->runnable_at = now;
	if (p->pid == dispatcher_tid)
		dispatcher_off_since = tctx->runnable_at;
	/* A property change (nice, affinity, cgroup) takes the task off the
	 * queue and back without a wait ending: the wait goes on. */
	if ((enq_flags & SCX_ENQ_WAKEUP) || !tctx->wait_since) {
		tctx->wait_since = tctx->runnable_at;
		tctx->rescued_wait = 0;
	}
	if (tctx->stopped_at)
		tctx->last_sleep = ewma(tctx->last_sleep, tctx->runnable_at - tctx->stopped_at);
	/* The fast waker's band (fast_waker()): judged once a wake-up. */
	tctx->fast_kept = fast_judge(tctx);
	/* A new sleep-to-run period starts. */
	tctx->exec_runtime = 0;
	tctx->woke = !!(enq_flags & SCX_ENQ_WAKEUP);
}

/* wait_max_ns = max(wait_max_ns, @wait), against concurrent raises (a few
 * tries: each failed one means another CPU raised it meanwhile). */
static __always_inline void raise_wait_max(u64 wait)
{
	u64 old = wait_max_ns;
	u32 i;

	for (i = 0; i < 4 && wait > old; i++) {
		u64 seen = __sync_val_compare_and_swap(&wait_max_ns, old, wait);

		if (seen == old)
			break;
		old = seen;
	}
}

void BPF_STRUCT_OPS(usched_running, struct task_struct *p)
{
	struct task_ctx *tctx = lookup_task_ctx(p);
	u64 now = bpf_ktime_get_ns();
	s32 cpu;

	__sync_fetch_and_add(&nr_running, 1);
	if (p->pid == dispatcher_tid)
		dispatcher_off_since = 0;
	/* The vtime clock: the latest key that ran (a benign race: a lost
	 * update only keeps the clock a little behind). */
	if (vtime_before(vtime_now, p->scx.dsq_vtime))
		vtime_now = p->scx.dsq_vtime;
	cpu = scx_bpf_task_cpu(p);
	emit_run_event(p, cpu, USCHED_RUN_EVENT_RUN, now);
	if (cpu >= 0 && cpu < USCHED_MAX_CPUS) {
		cpuperf_account_run(cpu, true, now);
		cpu_ctx_of(cpu)->handoff_at = 0;	/* the CPU moved on */
	}
	if (!tctx)
		return;
	tctx->last_run_at = now;
	/* Runs now: its next enqueue is no wake-up unless ops.runnable()
	 * says so again (a kernel-placed wake-up never reached
	 * send_to_user(), which clears it otherwise). */
	tctx->woke = 0;
	tctx->run_slice = p->scx.slice;
	/* Where it runs against where it ran (our own threads aside). */
	if (!is_usersched(p) && cpu >= 0 && cpu < USCHED_MAX_CPUS) {
		if (tctx->ran_on)
			__sync_fetch_and_add(&nr_placed[place_level(tctx->ran_on - 1, cpu) %
							USCHED_NR_PLACE], 1);
		tctx->ran_on = cpu + 1;
	}
	/* Our own threads (the dispatcher above all) are never cut in on:
	 * preempted, the dispatcher would preempt the waker right back. */
	if (cpu >= 0 && cpu < USCHED_MAX_CPUS) {
		struct cpu_ctx *cc = cpu_ctx_of(cpu);

		cc->run_seq++;
		cc->run_base = tctx->exec_runtime;
		cc->run_start = is_usersched(p) ? 0 : now;
		if (cc->run_start)
			arm_slice_timer(p, tctx, cpu, now);
		cc->fast = !is_usersched(p) && fast_waker(tctx);
		cpuperf_apply(cpu, cc->fast);
		if (cpufreq && cc->fast)
			cnt_inc(nr_cpuperf_boosts);
		/*
		 * A preemption held back while a fast waker's burst ran here
		 * (fast.bpf.h): the task after the burst (a long runner
		 * resuming its slice, say) gives way now if work waits; another
		 * fast waker holds it for its own protection only.
		 */
		if (cc->preempt_pending && cc->fast) {
			arm_protect_timer(cpu, now);
		} else if (cc->preempt_pending &&
			   __sync_lock_test_and_set(&cc->preempt_pending, 0) && !is_usersched(p) &&
			   (scx_bpf_dsq_nr_queued(USCHED_SHARED_DSQ) > 0 ||
			    scx_bpf_dsq_nr_queued(cpu_dsq(cpu)) > 0)) {
			scx_bpf_kick_cpu(cpu, SCX_KICK_PREEMPT);
			cnt_inc(nr_preempt_kicks);
		}
	}
	if (tctx->runnable_at) {
		hist_record(USCHED_HIST_WAKE_TO_RUN, now - tctx->runnable_at);
		tctx->runnable_at = 0;
	}
	if (tctx->wait_since)
		raise_wait_max(now - tctx->wait_since);
	tctx->wait_since = 0;
	task_settle(tctx);
}

/* A task cut in on resumes its slice if at least this much of it is left. */
#define RESUME_LEFT_MIN_NS	(100 * NSEC_PER_USEC)

void BPF_STRUCT_OPS(usched_stopping, struct task_struct *p, bool runnable)
{
	struct task_ctx *tctx = lookup_task_ctx(p);
	u64 delta, now = bpf_ktime_get_ns();
	bool cut_in = false, waits_on;
	s32 cpu;

	__sync_fetch_and_sub(&nr_running, 1);
	if (p->pid == dispatcher_tid)
		dispatcher_off_since = runnable ? now : 0;
	cpu = scx_bpf_task_cpu(p);
	emit_run_event(p, cpu, runnable ? USCHED_RUN_EVENT_YIELD : USCHED_RUN_EVENT_STOP, now);
	if (cpu >= 0 && cpu < USCHED_MAX_CPUS) {
		struct cpu_ctx *cc = cpu_ctx_of(cpu);

		cpuperf_account_run(cpu, false, now);
		/* Whatever comes next (our task, another class's, idle) starts
		 * at the target: a boost never outlives its task's run. */
		if (cc->fast)
			cpuperf_apply(cpu, false);
		cc->run_start = 0;
		cc->fast = 0;
		cut_in = cc->cut_in || cc->disp_cut_in || cc->held_cut_seq == cc->run_seq;
		cc->cut_in = 0;
		cc->disp_cut_in = 0;
	}
	if (!tctx || !tctx->last_run_at)
		return;
	tctx->last_stop_at = now;
	delta = now - tctx->last_run_at;
	/* A task sent to the front (rescued, or overdue in the policy) and
	 * preempted before it ran USCHED_RESCUE_SERVICE_NS or its whole slice
	 * (at least that long) waits on from before: otherwise it would wait
	 * another guard period with nothing done (waits of twice starve_ns
	 * were seen). One that used up its slice was served, short or not: it
	 * must not qualify again and again ahead of everyone. */
	waits_on = runnable && tctx->rescued_wait && delta < USCHED_RESCUE_SERVICE_NS &&
		   delta < tctx->run_slice;
	/* A rescue's run against its fair share (see rescue_slice()). One
	 * that waits on is charged its run alone: its next rescue's share
	 * counts the same wait again (credited both times, a nice-19 hog cut
	 * off after 0.2-0.5 ms ran 7.7 ms at its next rescue, debt-free). */
	if (tctx->rescue_fair) {
		s64 debt = (s64)tctx->rescue_debt + (s64)delta -
			   (waits_on ? 0 : (s64)tctx->rescue_fair);

		tctx->rescue_debt = debt < 0 ? 0 : debt > RESCUE_DEBT_MAX ? RESCUE_DEBT_MAX : debt;
		tctx->rescue_fair = 0;
	}
	if (waits_on) {
		tctx->wait_since = tctx->rescued_wait;
	} else {
		tctx->rescued_wait = 0;
		if (runnable)
			tctx->wait_since = now;
	}
	/* Preempted by a fast waker, the dispatcher or a held-back
	 * preemption (protect_timer_fn()) with at least
	 * RESUME_LEFT_MIN_NS of its slice left: ops.enqueue() puts it back
	 * here with what is left. */
	if (cut_in && runnable && tctx->run_slice > delta + RESUME_LEFT_MIN_NS)
		tctx->resume_slice = tctx->run_slice - delta;
	tctx->exec_runtime += delta;
	tctx->key_run += delta;
	tctx->vtime += delta * USCHED_LOAD_WEIGHT_NICE0 / task_load_weight(p);
	if (!runnable) {
		/*
		 * One burst stretched by an interrupt storm or a stalled
		 * (virtual) CPU counts as at most twice the fast path's bound:
		 * it must not shut a periodic task out of the path for the
		 * next several periods. A task that keeps running long still
		 * averages out above the bound.
		 */
		u64 burst = tctx->exec_runtime;

		if (fast_wakeup_ns && burst > 2 * fast_wakeup_ns)
			burst = 2 * fast_wakeup_ns;
		tctx->last_burst = ewma(tctx->last_burst, burst);
		tctx->stopped_at = tctx->last_run_at + delta;
		/* Its rescues' overrun is settled within one runnable spell: a
		 * task that sleeps starts its next one owing nothing (else one
		 * bad spell would hold its later rescues back, up to half the
		 * watchdog each). */
		tctx->rescue_debt = 0;
	}
}

/*
 * A higher class (RT, deadline, stop) takes this CPU. What waits on its local DSQ
 * - a task preempted with slice left goes to the head of it without passing
 * through ops.enqueue() - goes through ops.enqueue() again, which sends
 * whatever may run elsewhere to a CPU free for it (the dispatcher first).
 */
void BPF_STRUCT_OPS(usched_cpu_release, s32 cpu, struct scx_cpu_release_args *args)
{
	/* User space reads it to tell when the pinned dispatcher may go back
	 * to its CPU (src/escape.rs): RT and deadline tasks only (in partial
	 * mode the fair class takes it too, as it may). */
	if (cpu == dispatcher_cpu &&
	    (args->reason == SCX_CPU_PREEMPT_RT || args->reason == SCX_CPU_PREEMPT_DL))
		dispatcher_cpu_taken_at = bpf_ktime_get_ns();
	scx_bpf_reenqueue_local();
}

/*
 * Besides keeping cpu_idle[] for user space, closes the race between a CPU
 * going idle and work being queued for it: a task inserted after this CPU's
 * ops.dispatch() found nothing, but before it counted as idle, would wait
 * until some other event (the heartbeat: up to 100 ms). The kernel sets its
 * own idle bit before calling us, and a full barrier separates our store
 * from the checks below; so either an inserter's scx_bpf_pick_idle_cpu()
 * (kick_for()) or user space's kick (BpfScheduler::flush(), with its own
 * fence) sees this CPU idle, or this CPU sees the work and wakes itself.
 */
void BPF_STRUCT_OPS(usched_update_idle, s32 cpu, bool idle)
{
	if (cpu < 0 || cpu >= USCHED_MAX_CPUS)
		return;
	cpu_idle[cpu & (USCHED_MAX_CPUS - 1)] = idle;	/* (the mask: for the verifier) */
	if (!idle || cpu_reserved(cpu))
		return;
	__sync_fetch_and_add(&idle_fence, 1);
	if (scx_bpf_dsq_nr_queued(USCHED_SHARED_DSQ) || scx_bpf_dsq_nr_queued(cpu_dsq(cpu)) ||
	    decisions_undrained())
		kick_idle(cpu);
}

/* The tick on the CPU @p runs on: keeps its performance target current
 * (--cpufreq) while one task runs on and on; boosted if it is the fast
 * waker ops.running() saw (a task's burst averages change only when it
 * wakes or stops). */
void BPF_STRUCT_OPS(usched_tick, struct task_struct *p)
{
	s32 cpu = scx_bpf_task_cpu(p);
	struct cpu_ctx *cc;
	u64 at;

	if (cpu < 0 || cpu >= USCHED_MAX_CPUS)
		return;
	cc = cpu_ctx_of(cpu);
	if (cpufreq)
		cpuperf_apply(cpu, cc->fast);
	/* A sync wake-up handed this CPU still waits behind a waker that went
	 * on running: end the waker's slice (see sync_handoff_cpu()). */
	at = cc->handoff_at;
	if (at && bpf_ktime_get_ns() - at >= SYNC_WAKER_RUN_MAX_NS) {
		cc->handoff_at = 0;
		if (scx_bpf_dsq_nr_queued(SCX_DSQ_LOCAL_ON | cpu))
			p->scx.slice = 0;
	}
}

/* The task leaves sched_ext (class change, exit): nothing of it is waiting. */
void BPF_STRUCT_OPS(usched_disable, struct task_struct *p)
{
	struct task_ctx *tctx = lookup_task_ctx(p);

	if (p->pid == dispatcher_tid)
		dispatcher_off_since = 0;
	if (!tctx)
		return;
	tctx->wait_since = 0;
	weight_uncount(tctx);
	task_settle(tctx);
}

void BPF_STRUCT_OPS(usched_enable, struct task_struct *p)
{
	struct task_ctx *tctx = lookup_task_ctx(p);

	if (!tctx)
		return;
	tctx->vtime = tctx->key = 0;	/* the policy starts it at its clock */
	/* Back from another class: no rescue pending, nothing owed. */
	tctx->rescue_fair = tctx->rescue_debt = 0;
}

s32 BPF_STRUCT_OPS(usched_init_task, struct task_struct *p, struct scx_init_task_args *args)
{
	if (!bpf_task_storage_get(&task_ctx_stor, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE))
		return -ENOMEM;
	return 0;
}

#include "guard.bpf.h"

s32 BPF_STRUCT_OPS_SLEEPABLE(usched_init)
{
	struct heartbeat *hb;
	u32 key = 0;
	s32 err;

	u32 i;

	err = scx_bpf_create_dsq(USCHED_SHARED_DSQ, -1);
	if (err) {
		scx_bpf_error("failed to create the shared DSQ: %d", err);
		return err;
	}
	bpf_for(i, 0, scx_bpf_nr_cpu_ids()) {
		err = scx_bpf_create_dsq(cpu_dsq(i), -1);
		if (err) {
			scx_bpf_error("failed to create the DSQ of CPU %d: %d", i, err);
			return err;
		}
	}
	bpf_for(i, 0, scx_bpf_nr_cpu_ids()) {
		struct run_timer *st = run_timer_of(RUN_TIMER_SLICE, i);
		struct run_timer *pt = run_timer_of(RUN_TIMER_PROTECT, i);

		if (!st || !pt)
			return -ENOENT;
		bpf_timer_init(&st->timer, &run_timers, CLOCK_MONOTONIC);
		bpf_timer_set_callback(&st->timer, slice_timer_fn);
		bpf_timer_init(&pt->timer, &run_timers, CLOCK_MONOTONIC);
		bpf_timer_set_callback(&pt->timer, protect_timer_fn);
	}
	hb = bpf_map_lookup_elem(&heartbeat_map, &key);
	if (!hb)
		return -ENOENT;
	bpf_timer_init(&hb->timer, &heartbeat_map, CLOCK_MONOTONIC);
	bpf_timer_set_callback(&hb->timer, heartbeat_fn);
	return bpf_timer_start(&hb->timer, heartbeat_ns, 0);
}

void BPF_STRUCT_OPS(usched_exit, struct scx_exit_info *ei)
{
	UEI_RECORD(uei, ei);
}

/*
 * Run by the dispatcher (BPF_PROG_TEST_RUN) once per batch of decisions:
 * preempt the CPUs named by latency-critical decisions, wake the idle ones
 * that should take the rest.
 */
SEC("syscall")
int usched_kick(struct kick_args *args)
{
	u32 w, b, i, found = 0, n = scx_bpf_nr_cpu_ids();
	u32 nr_any = args->nr_any;

	/* Any-CPU decisions: as many idle CPUs, chosen here (see
	 * pick_idle_cpu_for_work()). */
	if (nr_any > n)
		nr_any = n;
	bpf_for(i, 0, nr_any) {
		if (!kick_idle_cpu_for_work())
			break;
		found++;
	}
	/*
	 * Urgent ones that found no idle CPU take their tasks' last CPUs; but
	 * not this one when the caller - the dispatcher, at the end of a batch
	 * - is about to wait: nothing left in user space (notify_complete()
	 * stored that before this run) nor in the ring buffer, and not busy
	 * polling. It then sleeps (it spins first only while a CPU idles, at
	 * most its spin window) and its CPU takes the decision from the shared
	 * DSQ; preempted, it would wait behind the task it kicked for, with
	 * every later decision. A decision naming this CPU (RL_PREEMPT) still
	 * preempts it.
	 */
	if (found < args->nr_urgent) {
		u32 self = bpf_get_smp_processor_id();
		bool waits = poll_mode != USCHED_POLL_BUSY && !nr_user_queued &&
			     !bpf_ringbuf_query(&queued, BPF_RB_AVAIL_DATA);

		bpf_for(w, 0, USCHED_CPU_WORDS) {
			u64 u = args->urgent[w];

			if (waits && w == self / 64 && (u & (1ULL << (self % 64)))) {
				u &= ~(1ULL << (self % 64));
				cnt_inc(nr_self_kicks_skipped);
			}
			args->preempt[w] |= u;
		}
	}

	bpf_for(w, 0, USCHED_CPU_WORDS) {
		u64 pm, im;

		if (w * 64 >= n)
			break;
		pm = args->preempt[w];
		im = args->idle[w];
		if (!(pm | im))
			continue;
		bpf_for(b, 0, 64) {
			s32 cpu = w * 64 + b;

			if (cpu >= n)
				break;
			if ((pm & (1ULL << b)) && cpu_runs_fast_waker(cpu)) {
				/* Deferred to the protection's end. */
				hold_kick(cpu);
			} else if (pm & (1ULL << b)) {
				scx_bpf_kick_cpu(cpu, SCX_KICK_PREEMPT);
				cnt_inc(nr_preempt_kicks);
			} else if (im & (1ULL << b)) {
				kick_idle(cpu);
			}
		}
	}
	return 0;
}

SCX_OPS_DEFINE(usched_ops,
	       .select_cpu		= (void *)usched_select_cpu,
	       .enqueue			= (void *)usched_enqueue,
	       .dequeue			= (void *)usched_dequeue,
	       .quiescent		= (void *)usched_quiescent,
	       .dispatch		= (void *)usched_dispatch,
	       .runnable		= (void *)usched_runnable,
	       .running			= (void *)usched_running,
	       .stopping		= (void *)usched_stopping,
	       .tick			= (void *)usched_tick,
	       .cpu_release		= (void *)usched_cpu_release,
	       .update_idle		= (void *)usched_update_idle,
	       .enable			= (void *)usched_enable,
	       .disable			= (void *)usched_disable,
	       .init_task		= (void *)usched_init_task,
	       .init			= (void *)usched_init,
	       .exit			= (void *)usched_exit,
	       .flags			= SCX_OPS_ENQ_LAST | SCX_OPS_KEEP_BUILTIN_IDLE,
	       .dispatch_max_batch	= USCHED_DRAIN_MAX,
	       .timeout_ms		= USCHED_WATCHDOG_DEFAULT_MS,
	       .name			= "usched");
