/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Decisions from user space: each record drained from the user ring
 * buffer is checked against the task's current state and inserted by its
 * key, or counted and dropped when stale. Included once, by main.bpf.c,
 * before ops.dispatch().
 */
/*
 * Decisions drained by the current ops.dispatch() of each CPU. Kept in
 * global memory rather than on the stack on purpose: the verifier then sees
 * an unknown scalar instead of tracking every count from 1 to the limit,
 * which would blow its state budget. The limit keeps us within
 * .dispatch_max_batch while user space keeps appending during a drain.
 */
static __always_inline u32 *drain_counter(void)
{
	return &cpu_ctx_of(bpf_get_smp_processor_id())->drain_nr;
}

/*
 * A decision this CPU's ops.dispatch() drained into @dsq, by @key: if this
 * CPU serves that DSQ, it is a task keep_prev() must not pass over.
 */
static __always_inline void note_drained(u64 dsq, u64 key)
{
	s32 cpu = bpf_get_smp_processor_id();
	struct cpu_ctx *cc = cpu_ctx_of(cpu);

	if (dsq != cpu_dsq(cpu) && (dsq != USCHED_SHARED_DSQ || cpu_reserved(cpu)))
		return;
	if (!cc->drained_keyed || vtime_before(key, cc->drain_min_key)) {
		cc->drain_min_key = key;
		cc->drained_keyed = 1;
	}
}

static long handle_decision(struct bpf_dynptr *dynptr, void *data)
{
	u32 *nr = drain_counter();
	struct dispatched_task d;
	struct task_struct *p;
	struct task_ctx *tctx;
	u64 slice, key;
	bool clamped = false, any = true;
	s32 cpu;

	(*nr)++;
	cnt_inc(nr_drained);
	if (bpf_dynptr_read(&d, sizeof(d), dynptr, 0, 0)) {
		cnt_inc(nr_failed_dispatches);
		goto out;
	}
	p = bpf_task_from_pid(d.pid);
	if (!p) {
		cnt_inc(nr_unknown_pid);
		goto out;
	}
	tctx = lookup_task_ctx(p);
	/*
	 * Counted before the state says so, so the count never goes below 0
	 * when the kernel takes the task back right after the exchange; the
	 * seq is read again after it, in case the task was queued anew.
	 */
	__sync_fetch_and_add(&nr_kqueued, 1);
	if (!tctx || tctx->seq != d.seq ||
	    !__sync_bool_compare_and_swap(&tctx->state, TASK_IN_USER, TASK_IN_KQ)) {
		__sync_fetch_and_sub(&nr_kqueued, 1);
		cnt_inc(nr_cancel_dispatches);
		goto release;
	}
	if (tctx->seq != d.seq) {
		if (__sync_bool_compare_and_swap(&tctx->state, TASK_IN_KQ, TASK_IN_USER))
			__sync_fetch_and_sub(&nr_kqueued, 1);
		cnt_inc(nr_cancel_dispatches);
		goto release;
	}
	hist_record(USCHED_HIST_ENQ_TO_DISPATCH, bpf_ktime_get_ns() - tctx->enq_ts);

	/* Nothing user space sends may stall the machine: bound every input. */
	if (d.vtime)
		tctx->vtime = vtime_clamp(d.vtime, &clamped);
	key = vtime_clamp(d.deadline ?: tctx->vtime, &clamped);
	/*
	 * A key before the task's vtime (an overdue task sent to the front)
	 * orders this insertion only: kept for its later turns, it would let
	 * the task stay "still first" at every slice end until its vtime made
	 * up the distance (a nice-0 hog among nice -20 ones took 30x its
	 * share). Like a task the starvation guard rescues, it counts as
	 * waiting until it has run USCHED_RESCUE_SERVICE_NS.
	 */
	if (vtime_before(key, tctx->vtime)) {
		tctx->key = tctx->vtime;
		if (tctx->wait_since)
			tctx->rescued_wait = tctx->wait_since;
	} else {
		tctx->key = key;
	}
	tctx->key_vtime = tctx->vtime;
	tctx->key_run = 0;
	slice = d.slice_ns ?: slice_ns;
	if (slice < USCHED_SLICE_MIN_NS) {
		slice = USCHED_SLICE_MIN_NS;
		clamped = true;
	} else if (slice > USCHED_SLICE_MAX_NS) {
		slice = USCHED_SLICE_MAX_NS;
		clamped = true;
	}
	if (clamped)
		cnt_inc(nr_clamped);
	/* Sent to the front: a slice it can count as service (see stopping). */
	if (tctx->rescued_wait && slice < USCHED_RESCUE_SERVICE_NS)
		slice = USCHED_RESCUE_SERVICE_NS;

	if (!(d.flags & USCHED_RL_CPU_ANY) && d.cpu >= 0) {
		cpu = d.cpu;
		if (cpu >= scx_bpf_nr_cpu_ids() ||
		    !bpf_cpumask_test_cpu(cpu, p->cpus_ptr) || !cpu_online(cpu) ||
		    (p->migration_disabled && cpu != scx_bpf_task_cpu(p)) ||
		    (cpu_reserved(cpu) && p->nr_cpus_allowed > 1)) {
			cnt_inc(nr_bounce_dispatches);
		} else {
			any = false;
		}
	}

	if (any) {
		note_drained(shared_dsq_for(p), key);
		insert_any(p, slice, key, 0);
	} else {
		note_drained(cpu_dsq(cpu), key);
		scx_bpf_dsq_insert_vtime(p, cpu_dsq(cpu), slice, key, 0);
		kick_for(p, cpu_dsq(cpu));
	}
	cnt_inc(nr_user_dispatches);
	/* The decision trace (Config::debug, off by default), readable in
	 * /sys/kernel/tracing/trace_pipe: what was asked, what was done. */
	if (debug)
		bpf_printk("usched: pid %d cpu %d->%d slice %llu key %llu%s",
			   d.pid, d.cpu, any ? -1 : cpu, slice, key, clamped ? " clamped" : "");
	/* The CPU runs it when its key comes up there: a latency-critical
	 * decision (USCHED_RL_PREEMPT) has its CPU kicked by usched_kick. */
release:
	bpf_task_release(p);
out:
	return *nr >= USCHED_DRAIN_MAX ? 1 : 0;
}
