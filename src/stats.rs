// SPDX-License-Identifier: GPL-2.0-only
//! A read-only snapshot of what the scheduler did.
use usched_core::histogram::Histogram;

use crate::bpf::intf;
use crate::bpf::skel::types;

/// Counters and latency histograms, as read at one moment.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Decisions from user space inserted into a DSQ.
    pub nr_user_dispatches: u64,
    /// Tasks dispatched by the BPF side without user space (own threads,
    /// per-CPU kthreads, built-in idle, last-task shortcut).
    pub nr_kernel_dispatches: u64,
    /// Stale decisions dropped (task dequeued or re-enqueued meanwhile).
    pub nr_cancel_dispatches: u64,
    /// Decisions moved off a CPU the task may not use.
    pub nr_bounce_dispatches: u64,
    /// Decision records that could not be read from the user ring buffer.
    pub nr_failed_dispatches: u64,
    /// Decisions for pids that no longer exist.
    pub nr_unknown_pid: u64,
    /// Tasks that bypassed user space because the ring buffer was full or
    /// the dispatcher had wanted a CPU for more than 5 ms.
    pub nr_sched_congested: u64,
    /// Tasks sent to user space.
    pub nr_enqueued: u64,
    /// Wake-ups of the sleeping dispatcher.
    pub nr_wakeups_sent: u64,
    /// CPUs kicked to preempt their task.
    pub nr_preempt_kicks: u64,
    /// Urgent decisions' kicks not sent to the dispatcher's own CPU, which
    /// takes the decision once the dispatcher sleeps (`usched_kick`).
    pub nr_self_kicks_skipped: u64,
    /// Preemptions held back while a fast waker's burst was protected,
    /// sent by the protect timer when the protection ended.
    pub nr_protect_kicks: u64,
    /// Idle CPUs kicked.
    pub nr_idle_kicks: u64,
    /// BPF heartbeat timer runs.
    pub nr_heartbeats: u64,
    /// Decisions whose slice, vtime or key was out of range and clamped.
    pub nr_clamped: u64,
    /// Tasks the starvation guard moved ahead after waiting too long.
    pub nr_starved: u64,
    /// Dispatcher wake-ups that found the ring buffer full (retried).
    pub nr_wakeups_lost: u64,
    /// Slices of tasks lighter than nice 0 ended by the slice timer
    /// rather than at the next tick.
    pub nr_slice_kicks: u64,
    /// CPU performance targets set (`--cpufreq`, [`crate::Config::cpufreq`]).
    pub nr_cpuperf_sets: u64,
    /// Runs of latency-critical tasks (fast wakers) started at full speed.
    pub nr_cpuperf_boosts: u64,
    /// The performance target last set on each CPU, by CPU id, on the
    /// kernel's cpuperf scale (1024: full speed; 0: none set). Empty
    /// without `--cpufreq`.
    pub cpuperf: Vec<u32>,
    /// Wake-ups dispatched by the BPF side's fast path (also counted in
    /// `nr_kernel_dispatches`).
    pub nr_fast_dispatches: u64,
    /// Fast wake-ups placed on an idle CPU of those fast wakers prefer
    /// ([`crate::Config::fast_cpus`]; also counted in `nr_fast_dispatches`).
    pub nr_fast_cpu_picks: u64,
    /// Decisions that found the user ring buffer full and waited for the
    /// CPUs to drain it (see `BpfScheduler::dispatch_task`).
    pub nr_user_ring_full: u64,
    /// The longest wait of a runnable task for a CPU since the scheduler
    /// started, ns: from its wake-up or the end of its last run to its next
    /// run. A nice, affinity or cgroup change does not restart a wait, nor
    /// does a run shorter than 1 ms and than its slice after the starvation
    /// guard or the policy sent the task to the front.
    pub wait_max_ns: u64,
    /// Tasks running on a CPU.
    pub nr_running: u64,
    /// Tasks waiting in the user-space policy (last `notify_complete`).
    pub nr_queued: u64,
    /// Tasks decided and inserted, not yet running.
    pub nr_scheduled: u64,
    /// The load weights of the runnable tasks, summed
    /// ([`Stats::LOAD_WEIGHT_NICE0`] = one nice-0 task): what the starvation guard divides a wait by to give a
    /// rescued task its fair share.
    pub runnable_weight: u64,
    /// CPUs online.
    pub nr_online_cpus: u64,
    /// Page faults taken by the dispatcher thread (minor + major).
    pub dispatcher_page_faults: u64,
    /// CPU time used by the scheduler process, ns.
    pub cpu_time_ns: u64,
    /// Where tasks ran against where they ran last, one count per run (our
    /// own threads aside): the same CPU, another thread of its core, another
    /// core of its last-level cache, another LLC of its NUMA node, another
    /// node (indexed by [`Placement`]).
    pub placed: [u64; Placement::COUNT],
    /// Enqueue → dispatch latency (the round trip through user space), ns.
    pub enq_to_dispatch: Box<Histogram>,
    /// Wake-up → running latency, ns.
    pub wake_to_run: Box<Histogram>,
}

/// How far a task ran from the CPU it ran on last (index into
/// [`Stats::placed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// The same CPU.
    SameCpu = intf::usched_consts_USCHED_PLACE_SAME_CPU as isize,
    /// Another SMT thread of the same core.
    Smt = intf::usched_consts_USCHED_PLACE_SMT as isize,
    /// Another core sharing the last-level cache.
    Llc = intf::usched_consts_USCHED_PLACE_LLC as isize,
    /// Another last-level cache of the same NUMA node.
    Node = intf::usched_consts_USCHED_PLACE_NODE as isize,
    /// Another NUMA node.
    Remote = intf::usched_consts_USCHED_PLACE_REMOTE as isize,
}

impl Placement {
    /// How many levels there are.
    pub const COUNT: usize = intf::usched_consts_USCHED_NR_PLACE as usize;
    /// Every level, nearest first, with its short name.
    pub const ALL: [(Placement, &'static str); Self::COUNT] = [
        (Placement::SameCpu, "cpu"),
        (Placement::Smt, "smt"),
        (Placement::Llc, "llc"),
        (Placement::Node, "node"),
        (Placement::Remote, "remote"),
    ];
}

impl Stats {
    /// The load weight of one nice-0 task, the unit of
    /// [`runnable_weight`](Self::runnable_weight): the kernel's
    /// `sched_prio_to_weight` for nice 0.
    pub const LOAD_WEIGHT_NICE0: u64 = intf::usched_consts_USCHED_LOAD_WEIGHT_NICE0 as u64;

    /// Builds a snapshot from a copy of the BPF side's `.bss`.
    pub(crate) fn from_bss(b: &types::bss) -> Self {
        let c = &b.counters;
        let hist = |h: u32| {
            let mut out = Box::new(Histogram::new());
            for (i, n) in b.hist[h as usize].iter().enumerate() {
                out.record_bucket(i, *n);
            }
            out
        };
        let tid = b.dispatcher_tid;
        Stats {
            nr_user_dispatches: c.nr_user_dispatches,
            nr_kernel_dispatches: c.nr_kernel_dispatches,
            nr_cancel_dispatches: c.nr_cancel_dispatches,
            nr_bounce_dispatches: c.nr_bounce_dispatches,
            nr_failed_dispatches: c.nr_failed_dispatches,
            nr_unknown_pid: c.nr_unknown_pid,
            nr_sched_congested: c.nr_sched_congested,
            nr_enqueued: c.nr_enqueued,
            nr_wakeups_sent: c.nr_wakeups_sent,
            nr_preempt_kicks: c.nr_preempt_kicks,
            nr_self_kicks_skipped: c.nr_self_kicks_skipped,
            nr_protect_kicks: c.nr_protect_kicks,
            nr_idle_kicks: c.nr_idle_kicks,
            nr_heartbeats: c.nr_heartbeats,
            nr_clamped: c.nr_clamped,
            nr_starved: c.nr_starved,
            nr_wakeups_lost: c.nr_wakeups_lost,
            nr_slice_kicks: c.nr_slice_kicks,
            nr_fast_dispatches: c.nr_fast_dispatches,
            nr_fast_cpu_picks: c.nr_fast_cpu_picks,
            nr_cpuperf_sets: c.nr_cpuperf_sets,
            nr_cpuperf_boosts: c.nr_cpuperf_boosts,
            cpuperf: if c.nr_cpuperf_sets > 0 {
                let n = crate::procfs::online_cpu_ids().last().map_or(0, |&c| c + 1);
                b.cpuperf_cur.iter().take(n).copied().collect()
            } else {
                Vec::new()
            },
            nr_user_ring_full: b.nr_user_ring_full,
            wait_max_ns: b.wait_max_ns,
            placed: b.nr_placed,
            nr_running: b.nr_running,
            nr_queued: b.nr_user_queued,
            nr_scheduled: b.nr_kqueued,
            runnable_weight: b.runnable_weight,
            nr_online_cpus: crate::procfs::online_cpus() as u64,
            dispatcher_page_faults: crate::procfs::thread_page_faults(tid).unwrap_or(0),
            cpu_time_ns: crate::procfs::process_cpu_time_of(tid).unwrap_or(0),
            enq_to_dispatch: hist(intf::usched_consts_USCHED_HIST_ENQ_TO_DISPATCH),
            wake_to_run: hist(intf::usched_consts_USCHED_HIST_WAKE_TO_RUN),
        }
    }

    /// Decisions that reached the kernel as a share of all dispatches, in %.
    pub fn user_share(&self) -> f64 {
        let all = self.nr_user_dispatches + self.nr_kernel_dispatches + self.nr_sched_congested;
        if all == 0 {
            0.0
        } else {
            100.0 * self.nr_user_dispatches as f64 / all as f64
        }
    }
}

fn us(ns: u64) -> f64 {
    ns as f64 / 1000.0
}

impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "dispatch: user={} kernel={} (fast {} pref {}) cancel={} bounce={} failed={} unknown_pid={} congested={} clamped={} starved={} ring_full={} wait_max_ms={}",
            self.nr_user_dispatches,
            self.nr_kernel_dispatches,
            self.nr_fast_dispatches,
            self.nr_fast_cpu_picks,
            self.nr_cancel_dispatches,
            self.nr_bounce_dispatches,
            self.nr_failed_dispatches,
            self.nr_unknown_pid,
            self.nr_sched_congested,
            self.nr_clamped,
            self.nr_starved,
            self.nr_user_ring_full,
            self.wait_max_ns / 1_000_000
        )?;
        writeln!(
            f,
            "tasks: running={} queued={} scheduled={} weight={} cpus={} enqueued={} wakeups={} (lost {}) kicks(preempt/idle/slice)={}/{}/{} (self skipped {}) protect={} faults={}",
            self.nr_running,
            self.nr_queued,
            self.nr_scheduled,
            self.runnable_weight,
            self.nr_online_cpus,
            self.nr_enqueued,
            self.nr_wakeups_sent,
            self.nr_wakeups_lost,
            self.nr_preempt_kicks,
            self.nr_idle_kicks,
            self.nr_slice_kicks,
            self.nr_self_kicks_skipped,
            self.nr_protect_kicks,
            self.dispatcher_page_faults
        )?;
        if !self.cpuperf.is_empty() {
            write!(
                f,
                "cpuperf: sets={} boosts={} target:",
                self.nr_cpuperf_sets, self.nr_cpuperf_boosts
            )?;
            for (cpu, t) in self.cpuperf.iter().enumerate() {
                write!(f, " {cpu}={t}")?;
            }
            writeln!(f)?;
        }
        write!(f, "placed:")?;
        for (level, name) in Placement::ALL {
            write!(f, " {name}={}", self.placed[level as usize])?;
        }
        writeln!(f)?;
        for (name, h) in
            [("enq->dispatch", &self.enq_to_dispatch), ("wake->run", &self.wake_to_run)]
        {
            writeln!(
                f,
                "{name:>14} us: n={} p50={:.1} p90={:.1} p99={:.1} max={:.1}",
                h.count(),
                us(h.percentile(50.0)),
                us(h.percentile(90.0)),
                us(h.percentile(99.0)),
                us(h.max())
            )?;
        }
        Ok(())
    }
}
