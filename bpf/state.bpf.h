/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the BPF side keeps: the tunables user space sets before load, the
 * state it shares with user space (.bss), the per-CPU and per-task contexts
 * and the maps. Included once, by main.bpf.c.
 */
/* Time units. */
#define NSEC_PER_USEC	1000ULL
#define NSEC_PER_MSEC	(1000ULL * NSEC_PER_USEC)
#define NSEC_PER_SEC	(1000ULL * NSEC_PER_MSEC)

/* Tunables, set by user space before the program is loaded. */
const volatile s32 usersched_tgid;		/* the scheduler's own process */
const volatile u64 slice_ns = USCHED_SLICE_DEFAULT_NS;	/* default slice */
const volatile bool builtin_idle;		/* dispatch to idle CPUs directly */
const volatile s32 dispatcher_cpu = -1;		/* CPU reserved in busy mode */
const volatile u32 poll_mode = USCHED_POLL_ADAPTIVE;
const volatile u64 heartbeat_ns = USCHED_HEARTBEAT_DEFAULT_NS;
/* The starvation guard's threshold: the watchdog / USCHED_STARVE_DIV. */
const volatile u64 starve_ns = USCHED_WATCHDOG_DEFAULT_MS * NSEC_PER_MSEC / USCHED_STARVE_DIV;
const volatile bool debug;			/* trace each decision (bpf_printk) */
const volatile bool cpufreq;			/* set CPU performance targets (cpuperf.bpf.h) */
const volatile bool pack_work;			/* idle CPUs on partly busy cores first (place.bpf.h) */
const volatile bool run_events_on;		/* send run and stop events (emit_run_event()) */
/*
 * Fast wake-up path (0 = off): a task woken by a timer or an interrupt (not
 * a sync wake-up) after running less than this since its previous sleep,
 * having slept at least twice as long, is dispatched
 * here without the user-space round trip: to an idle CPU if there is one,
 * else cutting in on the allowed CPU whose task has run longest, if that
 * task is a long runner (see may_cut_in()); otherwise it takes the policy's
 * path like any other.
 */
const volatile u64 fast_wakeup_ns;
/* Sync wake-ups may take the waker's CPU without a round trip
 * (sync_handoff_cpu() in main.bpf.c). */
const volatile bool sync_handoff = true;
/*
 * The topology (src/topology.rs, filled in at load; a hotplug restarts the
 * scheduler): the next SMT thread of each CPU's core, round the core and
 * back (the CPU itself without SMT), its last-level cache and NUMA node.
 */
const volatile s32 cpu_smt_next[USCHED_MAX_CPUS];
const volatile u32 cpu_llc[USCHED_MAX_CPUS];
const volatile u32 cpu_node[USCHED_MAX_CPUS];
/*
 * The CPUs a fast waker prefers when one idles, best first (Config::fast_cpus:
 * by default the biggest cores of a hybrid machine, none where CPUs are
 * alike), and the same set as a flag per CPU (pick_idle_fast_cpu()).
 */
const volatile s32 fast_cpus[USCHED_MAX_CPUS];
const volatile u8 cpu_fast[USCHED_MAX_CPUS];
const volatile u32 nr_fast_cpus;

/*
 * Shared with user space through the mmap'd .bss. User space writes only
 * usersched_sleeping, dispatcher_tid, nr_user_queued, user_next_key,
 * user_vtime_floor, nr_user_pushed and nr_user_ring_full; everything else
 * is written here and only read there.
 */
struct usched_counters counters;
volatile u32 usersched_sleeping;	/* dispatcher blocks on the ring buffer */
volatile s32 dispatcher_tid;		/* the dispatching thread */
volatile u64 nr_user_queued;		/* tasks waiting in the user-space policy */
volatile u64 user_next_key;		/* the key the policy's next task gets (0: unknown) */
volatile u64 user_vtime_floor;		/* the policy's earliest vtime now (0: none) */
volatile u64 nr_user_pushed;		/* decisions pushed so far */
volatile u64 nr_user_ring_full;		/* decisions that found the ring full */
volatile u64 nr_run_events_lost;		/* run events that found run_events full */
u64 nr_kqueued;				/* decided, inserted, not yet running */
u64 vtime_now;				/* the latest ordering key that ran */
u64 task_seq;				/* last enqueue sequence handed out */
u64 dispatcher_off_since;		/* runnable, not running, since (0: no) */
u64 dispatcher_cpu_taken_at;		/* a higher class last seen on its CPU */
u64 nr_running;				/* tasks running on a CPU */
u64 runnable_weight;			/* load weights of our runnable tasks (see task_ctx.rweight) */
u64 wait_max_ns;			/* longest wait_since -> running (see running) */
u64 nr_placed[USCHED_NR_PLACE];		/* runs by distance from the last CPU (see running) */
u8 cpu_idle[USCHED_MAX_CPUS];		/* maintained by ops.update_idle() */
u64 idle_fence;				/* a full barrier in ops.update_idle() */
/* --cpufreq (cpuperf.bpf.h): each CPU's time running our tasks, what was
 * last asked of it. */
u64 cpu_run_ns[USCHED_MAX_CPUS];	/* ns, up to cpu_run_since */
u64 cpu_run_since[USCHED_MAX_CPUS];	/* running one of ours since (0: not) */
u32 cpuperf_cur[USCHED_MAX_CPUS];	/* the last target set (0: none) */
/* What the BPF side keeps per CPU (user space reads none of it). */
struct cpu_ctx {
	/* What the CPU runs, for wake-up preemption: when its current task
	 * started running and how long that task had already run since it
	 * last slept (0 and 0 while no task of ours runs there). */
	u64 run_start;
	u64 run_base;
	/* Decisions drained by the CPU's current ops.dispatch() (see
	 * drain_counter()). */
	u32 drain_nr;
	/* The heartbeat (serial) that last rescued a task onto the CPU. */
	u32 rescued_at_serial;
	/* The earliest key among the decisions the current ops.dispatch()
	 * drained for this CPU or any CPU: they sit in its dispatch buffer,
	 * where no peek sees them, until it returns (see keep_prev()). */
	u64 drain_min_key;
	u8 drained_keyed;	/* drain_min_key holds a key */
	u8 fast;		/* it runs a fast waker's short burst */
	u8 cut_in;		/* a fast waker preempted its task */
	u8 disp_cut_in;		/* the dispatcher preempted its task */
	/* A preemption held back while a fast waker's burst is protected (a
	 * kick from usched_kick, a task at the head of the local DSQ): sent
	 * when the protection ends (the protect timer) if work waits, else
	 * left to the next run's ops.running() - a fast waker holds it for
	 * its own protection, our own threads drop it, any other task gives
	 * way at once if work waits (fast.bpf.h, work_waits_for()). */
	u32 preempt_pending;
	/* Runs started here (ops.running()): which run a protect timer or a
	 * held-back preemption's cut-in was meant for. */
	u64 run_seq;
	/* The run the protect timer cut in on (0 again if keep_prev() keeps
	 * it). */
	u64 held_cut_seq;
	/* When a sync wake-up was handed this CPU, to wait behind its current
	 * task (0: none since a task last started here; see ops.tick()). */
	u64 handoff_at;
};
struct cpu_ctx cpu_ctxs[USCHED_MAX_CPUS];

/* @cpu's context; callers check the range first (the mask keeps the
 * verifier's bound, and a negative @cpu would alias another CPU). */
static __always_inline struct cpu_ctx *cpu_ctx_of(s32 cpu)
{
	return &cpu_ctxs[cpu & (USCHED_MAX_CPUS - 1)];
}
u64 hist[USCHED_NR_HIST][USCHED_HIST_BUCKETS];

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, USCHED_QUEUED_RB_BYTES);
} queued SEC(".maps");

/* Sized at load: USCHED_RUN_EVENTS_RB_BYTES with run_events_on. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, USCHED_RUN_EVENTS_RB_OFF);
} run_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_USER_RINGBUF);
	__uint(max_entries, USCHED_DISPATCH_RB_BYTES);
} dispatched SEC(".maps");

/*
 * Where a task stands with us. Every change is one atomic exchange or
 * compare-and-swap, so ops.dispatch() deciding a task on one CPU and the
 * kernel taking the task back (class or affinity change, exit) on another
 * agree on who counts it in nr_kqueued, and nothing leaks.
 */
enum task_state {
	TASK_IDLE	= 0,	/* running, asleep, or dispatched by the BPF side */
	TASK_IN_USER	= 1,	/* sent to user space: a decision for seq is awaited */
	TASK_IN_KQ	= 2,	/* decided and inserted, not yet running: counted in nr_kqueued */
};

/* Per-task state. */
struct task_ctx {
	u64 vtime;		/* vruntime: decided by user space, charged here */
	u64 exec_runtime;	/* runtime since the task last slept */
	u64 last_run_at;	/* when it last started running */
	u64 last_stop_at;	/* when it last left a CPU */
	u64 runnable_at;	/* when it woke up (0 once it ran) */
	u64 enq_ts;		/* when it was sent to user space */
	u64 seq;		/* enqueue sequence: unique across all tasks */
	u32 state;		/* TASK_IDLE, TASK_IN_USER, TASK_IN_KQ: changed atomically */
	u32 to_idle_core;	/* keep_prev() found it a better core (see try_idle_core()) */
	u32 ran_on;		/* the CPU it last ran on, + 1 (0: it never ran) */
	u32 rweight;		/* its load weight in runnable_weight (0: not counted) */
	u32 woke;		/* the pending enqueue follows a wake-up */
	u32 async_wake;		/* ops.select_cpu() saw a wake-up that is not sync */
	u32 fast_kept;		/* judged a fast waker at its last wake-up (fast_waker()) */
	u64 last_burst;		/* runtime between its last two sleeps: EWMA, 1/4 weight */
	u64 stopped_at;		/* when it last went to sleep */
	u64 last_sleep;		/* how long it sleeps: EWMA, 1/4 weight */
	u64 run_slice;		/* its slice when it last started running */
	u64 resume_slice;	/* slice left when a fast waker cut in on it */
	u64 wait_since;		/* runnable and not running since (0 = running or asleep) */
	u64 rescued_wait;	/* wait_since when it was sent to the front (0: it was not) */
	u64 rescue_fair;	/* the fair share its pending rescue ran for (0: none) */
	u64 rescue_debt;	/* what its rescues ran past their fair shares, ns */
	u64 key;		/* key of its last decision (0: none) */
	u64 key_vtime;		/* its vtime when that key was given */
	u64 key_run;		/* CPU time it ran since that key was given, ns */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_ctx);
} task_ctx_stor SEC(".maps");

struct heartbeat {
	struct bpf_timer timer;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct heartbeat);
} heartbeat_map SEC(".maps");

/*
 * Per-CPU timers, one of each kind per CPU (a map value holds one bpf_timer):
 * - RUN_TIMER_SLICE ends the slice of a task lighter than nice 0 on time.
 *   The kernel checks slices only at the tick, so a 0.5 ms turn of a
 *   SCHED_IDLE hog lasted until the next tick (up to 4 ms): about five times
 *   its weight's share (docs/simulator.md, "What-ifs"; the nice-fair
 *   scenario). Armed when such a task starts running (ops.running()) and
 *   when ops.dispatch() refills its slice where it runs (keep_prev()).
 * - RUN_TIMER_PROTECT ends a fast waker's protection on time. A preemption
 *   asked for while the burst is protected is held back (a task waiting at
 *   the head of the local DSQ, or cpu_ctx.preempt_pending); with nothing
 *   but the burst's end to send it, a request that came in a 4 ms frame's
 *   first millisecond waited for all of it, and the tick is as coarse.
 *   Armed when a preemption is held back (hold_at_head(), hold_kick()), and
 *   when a fast waker starts running with a preemption pending.
 */
enum run_timer_kind {
	RUN_TIMER_SLICE,
	RUN_TIMER_PROTECT,
	NR_RUN_TIMER_KINDS,
};

struct run_timer {
	struct bpf_timer timer;
	u64 run_start;	/* slice: the run it ends, cpu_ctx.run_start when armed */
	u64 run_seq;	/* protect: the run it ends, cpu_ctx.run_seq when armed */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NR_RUN_TIMER_KINDS * USCHED_MAX_CPUS);
	__type(key, u32);
	__type(value, struct run_timer);
} run_timers SEC(".maps");

/* @cpu's timer of @kind (its key: kind * USCHED_MAX_CPUS + cpu); callers
 * check the range of @cpu first. */
static __always_inline struct run_timer *run_timer_of(enum run_timer_kind kind, s32 cpu)
{
	u32 key = kind * USCHED_MAX_CPUS + (cpu & (USCHED_MAX_CPUS - 1));

	return bpf_map_lookup_elem(&run_timers, &key);
}

#define cnt_inc(field) __sync_fetch_and_add(&counters.field, 1)
