/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What ops.enqueue() does with a task: the inserts it makes without user
 * space, the shortcuts that keep a task off the round trip (each a
 * try_*() helper, tried in the order usched_enqueue() lists them), and the
 * long way (send_to_user()). Included once, by main.bpf.c, after the
 * helpers it uses.
 */
/* @p runs on this CPU next, without user space. */
static __always_inline void kernel_local(struct task_struct *p, u64 slice, u64 enq_flags)
{
	scx_bpf_dsq_insert(p, SCX_DSQ_LOCAL, slice, enq_flags);
	cnt_inc(nr_kernel_dispatches);
}

/* @p goes to the DSQs by @key, without user space. */
static __always_inline void kernel_any(struct task_struct *p, u64 slice, u64 key, u64 enq_flags)
{
	insert_any(p, slice, key, enq_flags);
	cnt_inc(nr_kernel_dispatches);
}

/* The scheduler's own threads never wait for themselves. */
static __always_inline void enqueue_own(struct task_struct *p, u64 enq_flags)
{
	u64 fl = 0;

	/* Not behind an RT task here if it may run elsewhere: first in line
	 * for the next CPU that looks for work. */
	if (p->nr_cpus_allowed > 1 && rt_runnable_here()) {
		kernel_any(p, slice_ns, front_key(), enq_flags);
		return;
	}
	/* The dispatcher goes first. The task it preempts keeps its place
	 * (see try_resume_after_cut_in()): a second round trip for it would
	 * only wake the dispatcher again. */
	if (p->pid == dispatcher_tid) {
		s32 c = scx_bpf_task_cpu(p);

		fl = run_next_flags(c);
		if (fl == SCX_ENQ_PREEMPT && c >= 0 && c < USCHED_MAX_CPUS &&
		    cpu_ctx_of(c)->run_start)
			cpu_ctx_of(c)->disp_cut_in = 1;
	}
	kernel_local(p, slice_ns, enq_flags | fl);
}

/*
 * Kernel threads do not wait for user space. Per-CPU ones can run nowhere
 * else: run them right here. Unbound ones (kworkers, among them the one that
 * runs the sched_ext watchdog) go to the head of the shared DSQ, which the
 * next CPU to look for work serves first: behind a flood of runnable tasks
 * (or a full ring buffer), a FIFO tail would leave them waiting for seconds.
 * Pinned user tasks still go through the policy: inserting them locally
 * would keep this CPU's local DSQ from ever draining, and ops.dispatch(),
 * which serves the shared DSQ, would not run.
 */
static __always_inline void enqueue_kthread(struct task_struct *p, u64 enq_flags)
{
	if (p->nr_cpus_allowed == 1)
		kernel_local(p, slice_ns, enq_flags);
	else
		kernel_any(p, slice_ns, front_key(), enq_flags);
}

/*
 * Short-running timer/IRQ wakers cut in on long runners without the round
 * trip (fast path: see ops.select_cpu()). ops.select_cpu() is not called for
 * a task that may run on one CPU only: its wake-up's kind is unknown there,
 * and it may take the path. True if @p was inserted.
 */
static __always_inline bool try_fast_wakeup(struct task_struct *p, struct task_ctx *tctx,
					    s32 cpu, u64 enq_flags)
{
	bool fast = (tctx->async_wake || p->nr_cpus_allowed == 1) &&
		    (enq_flags & SCX_ENQ_WAKEUP) && fast_waker(tctx);

	tctx->async_wake = 0;
	if (!fast)
		return false;
	if (may_cut_in(cpu, tctx, bpf_ktime_get_ns())) {
		kernel_local(p, slice_ns, enq_flags | SCX_ENQ_PREEMPT);
		/* Claimed: a waker arriving before this one runs looks for
		 * another long runner (periodic threads wake together). The
		 * task it preempts resumes here after it (see ops.stopping()). */
		if (!cpu_idle[cpu & (USCHED_MAX_CPUS - 1)])
			cpu_ctx_of(cpu)->cut_in = 1;
		cpu_ctx_of(cpu)->run_start = 0;
		cnt_inc(nr_fast_dispatches);
		return true;
	}
	/*
	 * No long runner to cut in on, but this CPU runs another fast waker's
	 * burst (or one is about to): wait at the head of the local DSQ,
	 * until that protection ends (hold_at_head()).
	 */
	if (cpu_short_burst(cpu)) {
		kernel_local(p, slice_ns, enq_flags | SCX_ENQ_HEAD);
		hold_at_head(cpu);
		cnt_inc(nr_fast_dispatches);
		return true;
	}
	return false;
}

/*
 * A fast waker or the dispatcher cut in on this task: it goes on with the
 * rest of its slice, without a round trip. It lost the CPU for a fraction
 * of a millisecond, not its turn; sending it to user space would cost a
 * decision per cut-in and put the dispatcher's wake-up on the waker's path
 * (and a preempted CPU hog's on the next one: every dispatcher wake-up on
 * a busy machine sent one up). While no other task waits it resumes right
 * here after the cut-in; otherwise it waits in the DSQs by its key, where
 * the earliest runs first and an idle CPU may take it at once. True if @p
 * was inserted.
 */
static __always_inline bool try_resume_after_cut_in(struct task_struct *p, struct task_ctx *tctx,
						    s32 cpu, u64 enq_flags)
{
	u64 rest = tctx->resume_slice;
	bool clamped = false;

	if (!rest)
		return false;
	tctx->resume_slice = 0;
	if (enq_flags & SCX_ENQ_WAKEUP)
		return false;
	if (nobody_waits(cpu))
		kernel_local(p, rest, enq_flags);
	else if (tctx->key)
		kernel_any(p, rest, vtime_clamp(next_key(tctx), &clamped), enq_flags);
	else
		return false;
	return true;
}

/*
 * A task put back on the local DSQ of a CPU that has already chosen to idle
 * (SCX_ENQ_LAST): the kernel leaves the follow-up scheduling event to us,
 * and without one the task would wait there until something else woke the
 * CPU. Deferred by the kernel until the CPU is idle; a no-op if it is not.
 */
static __always_inline void last_task_follow_up(s32 cpu, u64 enq_flags)
{
	if (enq_flags & SCX_ENQ_LAST)
		scx_bpf_kick_cpu(cpu, SCX_KICK_IDLE);
}

/*
 * Its slice ran out (and ops.dispatch() gave this CPU another task, or the
 * task could not be kept there: see keep_prev()), but no task the BPF side
 * sees waits before it: it goes on for another slice without a round trip -
 * here if this CPU has nothing else to run, else in the DSQs by its key,
 * where the next CPU that frees up (an idle one at once) takes it. Sent to
 * user space, it would wait a round trip while a CPU went idle (4 CPU hogs
 * on 4 CPUs used 55 % of the machine). The DSQs order what waits in them,
 * but a task on its way through user space is in none: it gets its place by
 * key when its decision comes. The task's own key must be the policy's: a
 * light task alone in a DSQ would otherwise run each time a CPU frees up,
 * however far its key lies behind. Only a task the policy has ordered
 * (it has a key, fresh if it is heavier than nice 0: key_fresh()) can
 * claim to be first: a new task that reached a CPU
 * without a decision has a vtime counted from 0, seconds behind every key,
 * and kept its CPU for good (a periodic thread among 8 new hogs got 2 % of
 * its periods). True if @p was inserted.
 */
static __always_inline bool try_still_first(struct task_struct *p, struct task_ctx *tctx,
					    s32 cpu, u64 enq_flags)
{
	u64 key, slice;

	if ((enq_flags & SCX_ENQ_WAKEUP) || !key_fresh(p, tctx, 0))
		return false;
	key = next_key(tctx);
	if (!still_first(cpu, key))
		return false;
	slice = tctx->run_slice ?: slice_ns;
	/*
	 * Decisions wait in the user ring buffer, and only ops.dispatch()
	 * drains it, which this CPU does not call while its local DSQ holds a
	 * task: go into the DSQs by key instead, so that this CPU drains them
	 * and runs whichever comes first. (A flood of decisions filled the
	 * ring while every CPU kept running its own tasks.) The same when this
	 * CPU runs another task first (ops.dispatch() just pulled one in): on
	 * the local DSQ, behind it, no CPU that goes idle meanwhile could take
	 * this one, and two tasks could take turns there for good while
	 * another CPU idled.
	 */
	if (decisions_undrained() || scx_bpf_dsq_nr_queued(SCX_DSQ_LOCAL_ON | (u32)cpu)) {
		bool clamped = false;

		kernel_any(p, slice, vtime_clamp(key, &clamped), enq_flags);
	} else {
		kernel_local(p, slice, enq_flags);
		last_task_follow_up(cpu, enq_flags);
	}
	return true;
}

/*
 * keep_prev() found this task sharing a core while a whole core it may use
 * idles: it goes there now (the kernel's choice: in its LLC and node
 * first), with the rest of its turn, and its current core's other thread
 * gets the core to itself. With --pack, the reverse: alone on its core, it
 * goes beside a busy sibling on a lower CPU id, and its core may sleep.
 * True if @p was inserted.
 */
static __always_inline bool try_idle_core(struct task_struct *p, struct task_ctx *tctx, s32 cpu,
					  u64 enq_flags)
{
	s32 c;

	if (!tctx->to_idle_core)
		return false;
	tctx->to_idle_core = 0;
	if (enq_flags & SCX_ENQ_WAKEUP)
		return false;
	if (pack_work)
		c = packed_cpu_below(p->cpus_ptr, cpu, cpu, true);
	else
		c = scx_bpf_select_cpu_and(p, cpu, 0, p->cpus_ptr, SCX_PICK_IDLE_CORE);
	if (c < 0 || c == cpu || c >= USCHED_MAX_CPUS || cpu_reserved(c))
		return false;
	scx_bpf_dsq_insert(p, SCX_DSQ_LOCAL_ON | (u32)c, tctx->run_slice ?: slice_ns, enq_flags);
	kick_idle(c);
	cnt_inc(nr_kernel_dispatches);
	return true;
}

/*
 * The slice of the last task on a CPU ran out and nobody waits, neither in
 * user space nor in the kernel: let it go on without a round trip. True if
 * @p was inserted.
 */
static __always_inline bool try_last_task(struct task_struct *p, s32 cpu, u64 enq_flags)
{
	if (!(enq_flags & SCX_ENQ_LAST) || !nobody_waits(cpu))
		return false;
	kernel_local(p, slice_ns, enq_flags);
	last_task_follow_up(cpu, enq_flags);
	return true;
}

/*
 * The long way: @p goes to user space for a decision, or - the ring buffer
 * full, or the dispatcher unable to run - to the DSQs without one.
 */
static __always_inline void send_to_user(struct task_struct *p, struct task_ctx *tctx,
					 u64 enq_flags)
{
	struct queued_task *rec;

	rec = ring_has_room() && !dispatcher_stalled() ?
		bpf_ringbuf_reserve(&queued, sizeof(*rec), 0) : NULL;
	if (!rec) {
		/* User space is behind, or its dispatcher cannot run: keep the
		 * task moving without it. */
		insert_any(p, slice_ns, fallback_key(tctx), enq_flags);
		cnt_inc(nr_sched_congested);
		return;
	}

	/* Unique across tasks: a decision for a dead task can never match the
	 * task that reuses its pid. */
	tctx->seq = __sync_add_and_fetch(&task_seq, 1);
	tctx->state = TASK_IN_USER;
	tctx->enq_ts = bpf_ktime_get_ns();

	rec->pid = p->pid;
	rec->cpu = scx_bpf_task_cpu(p);
	rec->nr_cpus_allowed = p->nr_cpus_allowed;
	rec->flags = (tctx->woke ? USCHED_TASK_WAKEUP : 0) |
		     ((p->flags & PF_KTHREAD) ? USCHED_TASK_KTHREAD : 0) |
		     (scx_bpf_nr_cpu_ids() <= 64 ? USCHED_TASK_CPUS_ALL_LO : 0);
	/* Its affinity, for BpfScheduler::select_cpu() (no syscall there):
	 * while migration is disabled, only the CPU it is on. */
	if (p->migration_disabled)
		rec->cpus_lo = rec->cpu >= 0 && rec->cpu < 64 ? 1ULL << rec->cpu : 0;
	else
		rec->cpus_lo = BPF_CORE_READ(p, cpus_ptr, bits[0]);
	rec->sum_exec_runtime = p->se.sum_exec_runtime;
	rec->exec_runtime = tctx->exec_runtime;
	rec->weight = p->scx.weight;
	rec->nvcsw = p->nvcsw;
	rec->slice = p->scx.slice;
	/* 0 ("never seen": the policy starts it at its clock) until a decision
	 * gave it a vtime: what the task ran before that (on a fallback path)
	 * was charged from 0, seconds behind every vtime, and the policy keeps
	 * the lag of a task that did not sleep (a new nice -20 hog took 2.5x
	 * its share). */
	rec->vtime = tctx->key ? tctx->vtime : 0;
	/* The policy counts waits from when the task became runnable (or from
	 * before a rescue that served it too briefly), not from this send. */
	rec->enq_ts = tctx->wait_since ?: tctx->enq_ts;
	rec->seq = tctx->seq;
	rec->start_ts = tctx->last_run_at;
	rec->stop_ts = tctx->last_stop_at;
	rec->dsq_vtime = p->scx.dsq_vtime;
	if (bpf_probe_read_kernel_str(rec->comm, sizeof(rec->comm), p->comm) < 0)
		rec->comm[0] = 0;
	tctx->woke = 0;

	bpf_ringbuf_submit(rec, BPF_RB_NO_WAKEUP);
	cnt_inc(nr_enqueued);
	/* After the commit (a full barrier), so a dispatcher going to sleep
	 * either sees the record or is woken: see block() in src/scheduler/poll.rs. */
	wake_dispatcher();
}
