/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Carried keys: the key a task has when the BPF side orders it without a
 * round trip (a slice end, a resume after a cut-in), counted from its last
 * decision's key and the policy's floor (next_key(), live_key()); when it
 * is stale (key_fresh()); and whether it comes before every task waiting
 * for a CPU that the BPF side can see (still_first()). Included once, by
 * main.bpf.c, after the helpers it uses.
 */
/*
 * The policy's vtime floor (Policy::vtime_floor), 0 if it has none. Bounded
 * like every input from user space: one that vtime_clamp() would have to
 * move (further than USCHED_VTIME_MAX_LAG from the BPF side's vtime clock)
 * is ignored.
 */
static __always_inline u64 policy_floor(void)
{
	u64 floor = user_vtime_floor;
	bool far = false;

	vtime_clamp(floor, &far);
	return far ? 0 : floor;
}

/*
 * A task's vtime, counted from no earlier than the policy's floor while it
 * carries a key and has run a whole slice since it last slept (a CPU hog),
 * as the policy counts every task it orders: a CPU hog kept here while the
 * policy's clock moved on held a key 14-76 ms before that of a pinned
 * thread woken beside it (a decision in its CPU's DSQ), was kept at each
 * slice end, and the thread waited 39-87 ms (cyclictest's maximum; a
 * bpf_printk at each keep and each long wait). Applied where the key is
 * read, as the policy applies it where it orders: runs are charged to the
 * vtime as it is (raised at each ops.stopping() instead, the run charged
 * on top, a nice-19 hog among nice-0 ones got 0.63-0.75 of its share in
 * 3 of 3 rounds, against 0.94-1.02). A shorter runner keeps its lag for the
 * rest of its burst: floored too, frame loops resumed after a cut-in lost
 * their turn to the hogs (median lateness beside them 1.60x EEVDF's
 * against 1.02x, one boot, 3 rounds).
 */
static __always_inline u64 floored_vtime(struct task_ctx *tctx)
{
	u64 floor = policy_floor();

	if (tctx->key && tctx->exec_runtime >= slice_ns && floor &&
	    vtime_before(tctx->vtime, floor))
		return floor;
	return tctx->vtime;
}

/*
 * The key a task would get now: the policy's last key for it, moved on by
 * the vtime it was charged since (the policy's offset for it kept; that
 * vtime floored: floored_vtime()), or its vtime when no decision gave it
 * one.
 */
static __always_inline u64 next_key(struct task_ctx *tctx)
{
	return tctx->key ? tctx->key + (floored_vtime(tctx) - tctx->key_vtime) : tctx->vtime;
}

/*
 * A key carried past this much CPU time since its decision (checked at each
 * slice end, so the last slice may run past it) is stale: the
 * task goes back to the policy for a new one (one round trip per
 * KEY_RUN_SLICES slices of a hog that others wait behind). The policy's
 * clock moves on without the tasks the BPF side keeps running, and the
 * policy pulls every task it orders up to at most one slice behind that
 * clock; a kept key is pulled up only to the floor of nice 0 (next_key()),
 * short of a heavier task's, whose credit is shorter. Two nice -20 hogs of eight,
 * keyed before a nice-0 task dragged the clock 60 ms of vtime forward
 * (5 s of their CPU time), stayed "still first" for seconds: 2.5-3.2x
 * their shares, the six others 0.55-0.8x (bpf_printk at every keep).
 */
#define KEY_RUN_SLICES 8

/*
 * Only for tasks heavier than nice 0, whose keys move slowest against the
 * clock: sent up every 8 slices, nice-0 CPU hogs on a 2-core SMT machine
 * came back through the user-space path, whose placement ignores the
 * topology (#13), and shared a core in 27-51 % of samples (2-12 % kept).
 */
static __always_inline bool key_fresh(struct task_struct *p, struct task_ctx *tctx, u64 running)
{
	if (!tctx->key)
		return false;
	return task_load_weight(p) <= USCHED_LOAD_WEIGHT_NICE0 ||
	       tctx->key_run + running < KEY_RUN_SLICES * slice_ns;
}

/*
 * A task with key @vtime comes before every task waiting for this CPU that
 * the BPF side can see: the heads of this CPU's DSQ and of the shared one,
 * and the user-space policy's next task (as far as it says: see
 * user_next_key). Tasks on their way through user space are in none of
 * them; they get their place by key when their decision comes.
 */
static bool still_first(s32 cpu, u64 vtime)
{
	struct task_struct *a, *b = NULL;
	u64 user_key = user_next_key;

	/* Tasks the policy holds wait too: a DSQ holding only a task far
	 * behind let a running hog go on while its peers waited in user space
	 * (one nice -20 hog of eight took 1.4x its share). */
	if (nr_user_queued && user_key && !vtime_before(vtime, user_key))
		return false;
	a = __COMPAT_scx_bpf_dsq_peek(cpu_dsq(cpu));
	if (!cpu_reserved(cpu))
		b = __COMPAT_scx_bpf_dsq_peek(USCHED_SHARED_DSQ);
	if (a && !vtime_before(vtime, a->scx.dsq_vtime))
		return false;
	if (b && !vtime_before(vtime, b->scx.dsq_vtime))
		return false;
	return true;
}

/*
 * The key @p would have now: next_key() plus the run in progress, which
 * ops.stopping() has not charged yet.
 */
static __always_inline u64 live_key(struct task_struct *p, struct task_ctx *tctx, u64 now)
{
	return next_key(tctx) + (now - tctx->last_run_at) * USCHED_LOAD_WEIGHT_NICE0 / task_load_weight(p);
}
