/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * usched: the one ABI shared by the BPF component (main.bpf.c) and the Rust
 * side (bindgen'd into bpf_intf.rs). Every struct that crosses the boundary
 * is defined here with fixed-width fields, and its size is asserted on both
 * sides (_Static_assert below, const asserts in src/bpf.rs).
 */
#ifndef __USCHED_INTF_H
#define __USCHED_INTF_H

#ifndef __VMLINUX_H__
typedef unsigned char u8;
typedef unsigned int u32;
typedef int s32;
typedef unsigned long long u64;
typedef long long s64;
#endif

enum usched_consts {
	/* Largest CPU id + 1 the scheduler supports. */
	USCHED_MAX_CPUS		= 1024,
	USCHED_CPU_WORDS	= USCHED_MAX_CPUS / 64,
	USCHED_MAX_SMT		= 8,		/* threads per core the BPF side looks at */
	USCHED_COMM_LEN		= 16,		/* the kernel's TASK_COMM_LEN */
	/* DSQ of tasks that may run on any CPU (RL_CPU_ANY), ordered by key. */
	USCHED_SHARED_DSQ	= 0,
	/* DSQ of the tasks decided for one CPU: USCHED_CPU_DSQ_BASE + cpu,
	 * ordered by key; each CPU serves the earlier of its own and the
	 * shared DSQ's head. */
	USCHED_CPU_DSQ_BASE	= 1,
	/* Records the BPF side sends to user space, and decisions back. */
	USCHED_QUEUED_RB_BYTES	= 1 << 20,	/* ~13k records */
	USCHED_DISPATCH_RB_BYTES = 1 << 15,	/* ~680 decisions */
	/* Wake, run and stop events (Config::run_events): 4 MiB, ~87k events
	 * (48 bytes each with the ring's header),
	 * a second of a busy desktop's context switches; one page when off. */
	USCHED_RUN_EVENTS_RB_BYTES = 1 << 22,
	USCHED_RUN_EVENTS_RB_OFF = 1 << 12,
	/* Decisions handled in one ops.dispatch() (also .dispatch_max_batch;
	 * the kernel allocates it per CPU, at most 32 KiB: 24 bytes each). */
	USCHED_DRAIN_MAX	= 512,
	/* Latency histograms: usched-core's log-linear layout, 6 sub-bucket bits. */
	USCHED_HIST_SUB_BITS	= 6,
	USCHED_HIST_BUCKETS	= 3776,
	USCHED_HIST_ENQ_TO_DISPATCH = 0,
	USCHED_HIST_WAKE_TO_RUN	= 1,
	USCHED_NR_HIST		= 2,
	/* Where a task runs next, against where it ran last (nr_placed[]). */
	USCHED_PLACE_SAME_CPU	= 0,
	USCHED_PLACE_SMT	= 1,	/* another thread of the same core */
	USCHED_PLACE_LLC	= 2,	/* another core, same last-level cache */
	USCHED_PLACE_NODE	= 3,	/* another LLC, same NUMA node */
	USCHED_PLACE_REMOTE	= 4,	/* another NUMA node */
	USCHED_NR_PLACE		= 5,
	/* Poll modes of the dispatcher. */
	USCHED_POLL_BUSY	= 0,
	USCHED_POLL_ADAPTIVE	= 1,
	USCHED_POLL_BLOCKING	= 2,
	/* Weight of a nice-0 task as sched_ext reports it (p->scx.weight). */
	USCHED_WEIGHT_NICE0	= 100,
	/*
	 * Load weight of a nice-0 task as the kernel's fair class has it
	 * (sched_prio_to_weight): the unit of task_load_weight() and of the
	 * runnable_weight statistic.
	 */
	USCHED_LOAD_WEIGHT_NICE0 = 1024,
	/* Full performance on the kernel's cpuperf scale (SCX_CPUPERF_ONE,
	 * usched-core's CPUPERF_ONE): what --cpufreq asks for while a
	 * latency-critical task runs. */
	USCHED_CPUPERF_ONE	= 1024,
};

/*
 * Bounds on what user space may send, enforced by the BPF side (decisions
 * outside are clamped and counted in nr_clamped), and other limits in ns.
 */
enum usched_limits {
	USCHED_SLICE_MIN_NS	= 10ULL * 1000,			/* 10 us */
	USCHED_SLICE_MAX_NS	= 1000ULL * 1000 * 1000,	/* 1 s */
	/* A decision's vtime or key lies within this of the scheduler's
	 * vtime clock (the latest key that ran). */
	USCHED_VTIME_MAX_LAG	= 10ULL * 1000 * 1000 * 1000,	/* 10 s of vtime */
	/* Range of the kernel watchdog (ops.timeout_ms), ms. */
	USCHED_WATCHDOG_MIN_MS	= 1000,
	USCHED_WATCHDOG_MAX_MS	= 30000,
	/* A task waiting in a DSQ longer than the watchdog / this is moved to
	 * the head of an allowed CPU's local DSQ (the starvation guard). */
	USCHED_STARVE_DIV	= 10,
	/* A task sent to the front (rescued by the guard, or overdue in the
	 * policy) gets a slice of at least this; cut off before it ran this
	 * long (or its whole slice), it still counts as waiting since
	 * before: a 50 us run is no service. */
	USCHED_RESCUE_SERVICE_NS = 1000ULL * 1000,		/* 1 ms */
	/* The dispatcher wanted a CPU this long without getting one (an RT
	 * task holds its CPU, say): new tasks bypass user space until it runs
	 * again, counted in nr_sched_congested. */
	USCHED_DISPATCHER_STALL_NS = 5ULL * 1000 * 1000,	/* 5 ms */
};

/*
 * Defaults, for the BPF side's tunables before user space sets them and for
 * Config's defaults (src/config.rs takes them from here).
 */
enum usched_defaults {
	USCHED_SLICE_DEFAULT_NS		= 5ULL * 1000 * 1000,		/* 5 ms */
	USCHED_HEARTBEAT_DEFAULT_NS	= 100ULL * 1000 * 1000,		/* 100 ms */
	USCHED_WATCHDOG_DEFAULT_MS	= 5000,				/* 5 s */
};

/* queued_task.flags */
enum usched_task_flags {
	USCHED_TASK_WAKEUP	= 1 << 0,	/* became runnable by a wake-up */
	USCHED_TASK_KTHREAD	= 1 << 1,	/* kernel thread */
	USCHED_TASK_CPUS_ALL_LO	= 1 << 2,	/* cpus_lo lists every CPU it may use */
	USCHED_TASK_WAKE_ONLY	= 1 << 31,	/* no task: wakes the dispatcher */
};

/* dispatched_task.flags (scx_rustland_core's RL_CPU_ANY, plus ours) */
enum usched_dispatch_flags {
	USCHED_RL_CPU_ANY	= 1ULL << 20,	/* run on any allowed CPU */
	USCHED_RL_PREEMPT	= 1ULL << 21,	/* preempt the target CPU's task */
};

/* A task that became runnable, kernel -> user space (BPF ring buffer). */
struct queued_task {
	s32 pid;
	s32 cpu;		/* CPU it last ran on */
	u32 nr_cpus_allowed;
	u32 flags;		/* USCHED_TASK_* */
	u64 sum_exec_runtime;	/* total CPU time, ns */
	u64 exec_runtime;	/* CPU time since it last slept, ns */
	u64 weight;		/* 100 = nice 0 */
	u64 nvcsw;		/* voluntary context switches */
	u64 slice;		/* slice left when it was enqueued, ns */
	u64 vtime;		/* vruntime kept by the BPF side */
	u64 enq_ts;		/* when it was sent to user space, ns (CLOCK_MONOTONIC) */
	u64 seq;		/* enqueue sequence, echoed back to detect stale decisions */
	u64 cpus_lo;		/* the CPUs among ids 0-63 it may run on (bit n: CPU n) */
	u64 start_ts;		/* when it last started running, ns (0: never) */
	u64 stop_ts;		/* when it last left a CPU, ns (0: never) */
	u64 dsq_vtime;		/* the key it was last inserted into a DSQ with */
	char comm[USCHED_COMM_LEN];	/* its name, NUL-terminated */
};

/* struct usched_run_event's kind. */
enum usched_run_event_kind {
	USCHED_RUN_EVENT_RUN	= 1,	/* started running (ops.running) */
	USCHED_RUN_EVENT_STOP	= 2,	/* slept (ops.stopping, not runnable) */
	USCHED_RUN_EVENT_YIELD	= 3,	/* preempted or slice ended, still runnable */
	USCHED_RUN_EVENT_WAKE	= 4,	/* woke up (ops.runnable with SCX_ENQ_WAKEUP) */
};

/* A task starting or ceasing to run, kernel -> user space (BPF ring
 * buffer run_events, only with Config::run_events). */
struct usched_run_event {
	u64 ts;			/* when, ns (CLOCK_MONOTONIC) */
	u64 sum_exec_runtime;	/* the task's total CPU time then, ns */
	u64 lost;		/* events that found the ring full since load */
	s32 pid;
	s32 cpu;
	u32 kind;		/* USCHED_RUN_EVENT_* */
	s32 tgid;		/* its process */
};

/* A scheduling decision, user space -> kernel (BPF user ring buffer). */
struct dispatched_task {
	s32 pid;
	s32 cpu;		/* target CPU, ignored with USCHED_RL_CPU_ANY */
	u64 flags;		/* USCHED_RL_* */
	u64 slice_ns;		/* 0 = default slice */
	u64 vtime;		/* vruntime to store for the task (0 = keep) */
	u64 seq;		/* queued_task.seq it answers */
	u64 deadline;		/* order among waiting tasks (0 = vtime) */
};

/*
 * Context of the usched_kick syscall program: CPUs to kick after a batch.
 * Decisions for any CPU name no CPU: the program picks that many idle ones
 * (the BPF side owns the choice of idle CPUs), the urgent ones first; urgent
 * ones that find none preempt the CPUs in `urgent` (their tasks' last).
 */
struct kick_args {
	u64 preempt[USCHED_CPU_WORDS];	/* SCX_KICK_PREEMPT */
	u64 idle[USCHED_CPU_WORDS];	/* SCX_KICK_IDLE */
	u64 urgent[USCHED_CPU_WORDS];	/* preempted if urgent decisions find no idle CPU */
	u32 nr_any;			/* any-CPU decisions (urgent included) */
	u32 nr_urgent;			/* of them, asking to preempt */
};

/* Counters kept by the BPF side; user space only reads them. */
struct usched_counters {
	u64 nr_user_dispatches;		/* decisions inserted into a DSQ */
	u64 nr_kernel_dispatches;	/* tasks dispatched without user space */
	u64 nr_cancel_dispatches;	/* stale decisions dropped */
	u64 nr_bounce_dispatches;	/* decisions moved to an allowed CPU */
	u64 nr_failed_dispatches;	/* decision records that could not be read */
	u64 nr_unknown_pid;		/* decisions for tasks that no longer exist */
	u64 nr_sched_congested;		/* ring buffer full or dispatcher stalled: no round trip */
	u64 nr_enqueued;		/* tasks sent to user space */
	u64 nr_drained;			/* decisions read from the user ring buffer */
	u64 nr_wakeups_sent;		/* wake-ups of the sleeping dispatcher */
	u64 nr_preempt_kicks;		/* CPUs kicked to preempt */
	u64 nr_idle_kicks;		/* idle CPUs kicked */
	u64 nr_heartbeats;		/* heartbeat timer runs */
	u64 nr_fast_dispatches;		/* wake-ups that took the fast path */
	u64 nr_clamped;			/* decisions with slice or vtime out of range */
	u64 nr_starved;			/* tasks the starvation guard moved ahead */
	u64 nr_wakeups_lost;		/* dispatcher wake-ups retried (ring full) */
	u64 nr_slice_kicks;		/* light tasks' slices ended by the slice timer */
	u64 nr_cpuperf_sets;		/* scx_bpf_cpuperf_set() calls (--cpufreq) */
	u64 nr_cpuperf_boosts;		/* latency-critical runs started at full speed (--cpufreq) */
	u64 nr_fast_cpu_picks;		/* fast wake-ups placed on an idle preferred CPU */
	u64 nr_self_kicks_skipped;	/* urgent kicks not sent to the dispatcher's CPU */
	u64 nr_protect_kicks;		/* held-back preemptions sent when a protection ended */
};

_Static_assert(sizeof(struct queued_task) == 128, "queued_task ABI");
_Static_assert(sizeof(struct dispatched_task) == 48, "dispatched_task ABI");
_Static_assert(sizeof(struct kick_args) == 3 * USCHED_CPU_WORDS * 8 + 8, "kick_args ABI");
_Static_assert(sizeof(struct usched_counters) == 23 * 8, "usched_counters ABI");
_Static_assert(sizeof(struct usched_run_event) == 40, "usched_run_event ABI");

#endif /* __USCHED_INTF_H */
