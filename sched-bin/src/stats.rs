// SPDX-License-Identifier: GPL-2.0-only
//! scx_usched's live statistics, served through scx_stats.
//!
//! The running scheduler answers on scx_stats' UNIX socket
//! (`/var/run/scx/root/stats`); `--stats SECS` and `--monitor SECS` are
//! clients of it, so a second terminal (or a monitoring agent speaking the
//! scx_stats JSON protocol) sees the same figures without loading anything.
//!
//! Each connection keeps its own previous snapshot: counters and latency
//! percentiles cover the interval since that client's last read, gauges
//! (tasks running/queued, page faults) are current values.
use std::io::Write;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Result;
use scx_stats::prelude::*;
use scx_stats_derive::{stat_doc, Stats};
use serde::{Deserialize, Serialize};
use usched::runtime::RuntimeCounters;
use usched::usched_core::histogram::Histogram;
use usched::{Placement, Stats as Snapshot};

/// One interval's statistics of a running scx_usched.
#[stat_doc]
#[derive(Clone, Debug, Default, Serialize, Deserialize, Stats)]
#[stat(top)]
pub struct Metrics {
    #[stat(desc = "Online CPUs")]
    pub nr_cpus: u64,
    #[stat(desc = "Tasks running on a CPU")]
    pub nr_running: u64,
    #[stat(desc = "Tasks waiting in the user-space policy")]
    pub nr_queued: u64,
    #[stat(desc = "Tasks decided and inserted into a DSQ, not yet running")]
    pub nr_scheduled: u64,
    #[stat(desc = "Policy decisions inserted into a DSQ in the interval")]
    pub nr_user_dispatches: u64,
    #[stat(
        desc = "Tasks the BPF side dispatched itself in the interval (own threads, kthreads, last task, RT-held CPUs, fast wake-ups)"
    )]
    pub nr_kernel_dispatches: u64,
    #[stat(
        desc = "Wake-ups the BPF side's fast path dispatched in the interval (part of nr_kernel_dispatches)"
    )]
    pub nr_fast_dispatches: u64,
    #[stat(
        desc = "Fast wake-ups placed on an idle preferred CPU (--fast-cpus; a hybrid machine's big cores) in the interval (part of nr_fast_dispatches)"
    )]
    pub nr_fast_cpu_picks: u64,
    #[stat(desc = "Stale decisions dropped in the interval (task dequeued meanwhile)")]
    pub nr_cancel_dispatches: u64,
    #[stat(desc = "Decisions moved off a CPU the task may not use, in the interval")]
    pub nr_bounce_dispatches: u64,
    #[stat(desc = "Decision records that could not be read, in the interval")]
    pub nr_failed_dispatches: u64,
    #[stat(
        desc = "Tasks that bypassed user space because the ring buffer was full or the dispatcher could not run, in the interval"
    )]
    pub nr_sched_congested: u64,
    #[stat(desc = "Decisions with a slice, vtime or key out of range, clamped, in the interval")]
    pub nr_clamped: u64,
    #[stat(
        desc = "Tasks the starvation guard moved ahead after waiting longer than the watchdog / 10, in the interval"
    )]
    pub nr_starved: u64,
    #[stat(desc = "Longest wait of a runnable task for a CPU since start, ms")]
    pub wait_max_ms: u64,
    #[stat(desc = "Wake-ups of the sleeping dispatcher in the interval")]
    pub nr_wakeups: u64,
    #[stat(desc = "CPUs kicked to preempt in the interval")]
    pub nr_preempt_kicks: u64,
    #[stat(
        desc = "Urgent kicks not sent to the dispatcher's own CPU (it takes the decision once the dispatcher sleeps), in the interval"
    )]
    pub nr_self_kicks_skipped: u64,
    #[stat(
        desc = "Preemptions held back during a fast waker's protected burst, sent when the protection ended, in the interval"
    )]
    pub nr_protect_kicks: u64,
    #[stat(desc = "Idle CPUs kicked in the interval")]
    pub nr_idle_kicks: u64,
    #[stat(desc = "Slices of tasks lighter than nice 0 ended by the slice timer, in the interval")]
    pub nr_slice_kicks: u64,
    #[stat(desc = "CPU performance targets set (--cpufreq) in the interval")]
    pub nr_cpuperf_sets: u64,
    #[stat(
        desc = "Runs of latency-critical tasks started at full speed (--cpufreq) in the interval"
    )]
    pub nr_cpuperf_boosts: u64,
    #[stat(desc = "Dispatcher rounds in the interval")]
    pub nr_rounds: u64,
    #[stat(desc = "Decisions the policy could not hold and sent to any CPU, since start")]
    pub nr_policy_overflows: u64,
    #[stat(
        desc = "Stale policy entries replaced by a newer record of the same task (re-queued by a class, affinity or nice change), since start"
    )]
    pub nr_policy_replaced: u64,
    #[stat(
        desc = "Ring-buffer records dropped for want of staging room, since start (must stay 0: each is a task no decision will come for)"
    )]
    pub nr_records_lost: u64,
    #[stat(
        desc = "Page faults of the dispatcher thread since start (constant in steady state when mlocked)"
    )]
    pub nr_page_faults: u64,
    #[stat(desc = "CPU used by the scheduler process in the interval, % of one CPU")]
    pub cpu_pct: f64,
    #[stat(desc = "Enqueue -> dispatch (the user-space round trip), p50 in the interval, us")]
    pub enq_dispatch_p50_us: f64,
    #[stat(desc = "Enqueue -> dispatch, p99 in the interval, us")]
    pub enq_dispatch_p99_us: f64,
    #[stat(desc = "Wake-up -> running (wake-up latency), p50 in the interval, us")]
    pub wake_run_p50_us: f64,
    #[stat(desc = "Wake-up -> running, p99 in the interval, us")]
    pub wake_run_p99_us: f64,
    #[stat(desc = "Wake-up -> running, max in the interval, us")]
    pub wake_run_max_us: f64,
    #[stat(desc = "Runs on the CPU the task last ran on, in the interval")]
    pub nr_placed_cpu: u64,
    #[stat(desc = "Runs on another SMT thread of the task's last core, in the interval")]
    pub nr_placed_smt: u64,
    #[stat(desc = "Runs on another core of the task's last LLC, in the interval")]
    pub nr_placed_llc: u64,
    #[stat(desc = "Runs on another LLC of the task's last NUMA node, in the interval")]
    pub nr_placed_node: u64,
    #[stat(desc = "Runs on another NUMA node than the task's last, in the interval")]
    pub nr_placed_remote: u64,
}

/// `cur - prev`, bucket by bucket (both are cumulative).
fn hist_delta(cur: &Histogram, prev: &Histogram) -> Box<Histogram> {
    let mut out = Box::new(Histogram::new());
    for (i, (c, p)) in cur.counts().iter().zip(prev.counts().iter()).enumerate() {
        out.record_bucket(i, c.saturating_sub(*p));
    }
    out
}

fn us(ns: u64) -> f64 {
    ns as f64 / 1000.0
}

/// What a reader remembers between two reads.
struct Previous {
    snap: Snapshot,
    rounds: u64,
    at: Instant,
}

impl Previous {
    /// The scheduler's state now. The BPF map is found again on every
    /// read: a restarted scheduler has a new one.
    fn take(counters: &RuntimeCounters) -> Result<Self> {
        Ok(Previous {
            snap: usched::monitor::snapshot()?,
            rounds: counters.rounds.load(Ordering::Relaxed),
            at: Instant::now(),
        })
    }
}

impl Metrics {
    /// The interval from `prev` to `now`; `totals` are the runtime's
    /// running totals.
    fn between(now: &Previous, prev: &Previous, totals: &RuntimeCounters) -> Self {
        let total = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        let (cur, prev, rounds, elapsed) = (
            &now.snap,
            &prev.snap,
            now.rounds.saturating_sub(prev.rounds),
            now.at.duration_since(prev.at),
        );
        let d = |c: u64, p: u64| c.saturating_sub(p);
        let enq = hist_delta(&cur.enq_to_dispatch, &prev.enq_to_dispatch);
        let wake = hist_delta(&cur.wake_to_run, &prev.wake_to_run);
        let secs = elapsed.as_secs_f64().max(1e-3);
        let placed = |l: Placement| d(cur.placed[l as usize], prev.placed[l as usize]);
        Metrics {
            nr_cpus: cur.nr_online_cpus,
            nr_running: cur.nr_running,
            nr_queued: cur.nr_queued,
            nr_scheduled: cur.nr_scheduled,
            nr_user_dispatches: d(cur.nr_user_dispatches, prev.nr_user_dispatches),
            nr_kernel_dispatches: d(cur.nr_kernel_dispatches, prev.nr_kernel_dispatches),
            nr_fast_dispatches: d(cur.nr_fast_dispatches, prev.nr_fast_dispatches),
            nr_fast_cpu_picks: d(cur.nr_fast_cpu_picks, prev.nr_fast_cpu_picks),
            nr_cancel_dispatches: d(cur.nr_cancel_dispatches, prev.nr_cancel_dispatches),
            nr_bounce_dispatches: d(cur.nr_bounce_dispatches, prev.nr_bounce_dispatches),
            nr_failed_dispatches: d(cur.nr_failed_dispatches, prev.nr_failed_dispatches),
            nr_sched_congested: d(cur.nr_sched_congested, prev.nr_sched_congested),
            nr_clamped: d(cur.nr_clamped, prev.nr_clamped),
            nr_starved: d(cur.nr_starved, prev.nr_starved),
            wait_max_ms: cur.wait_max_ns / 1_000_000,
            nr_wakeups: d(cur.nr_wakeups_sent, prev.nr_wakeups_sent),
            nr_preempt_kicks: d(cur.nr_preempt_kicks, prev.nr_preempt_kicks),
            nr_self_kicks_skipped: d(cur.nr_self_kicks_skipped, prev.nr_self_kicks_skipped),
            nr_protect_kicks: d(cur.nr_protect_kicks, prev.nr_protect_kicks),
            nr_idle_kicks: d(cur.nr_idle_kicks, prev.nr_idle_kicks),
            nr_slice_kicks: d(cur.nr_slice_kicks, prev.nr_slice_kicks),
            nr_cpuperf_sets: d(cur.nr_cpuperf_sets, prev.nr_cpuperf_sets),
            nr_cpuperf_boosts: d(cur.nr_cpuperf_boosts, prev.nr_cpuperf_boosts),
            nr_rounds: rounds,
            nr_policy_overflows: total(&totals.policy_overflows),
            nr_policy_replaced: total(&totals.policy_replaced),
            nr_records_lost: total(&totals.records_lost),
            nr_page_faults: cur.dispatcher_page_faults,
            cpu_pct: 100.0 * d(cur.cpu_time_ns, prev.cpu_time_ns) as f64 / 1e9 / secs,
            enq_dispatch_p50_us: us(enq.percentile(50.0)),
            enq_dispatch_p99_us: us(enq.percentile(99.0)),
            wake_run_p50_us: us(wake.percentile(50.0)),
            wake_run_p99_us: us(wake.percentile(99.0)),
            wake_run_max_us: us(wake.max()),
            nr_placed_cpu: placed(Placement::SameCpu),
            nr_placed_smt: placed(Placement::Smt),
            nr_placed_llc: placed(Placement::Llc),
            nr_placed_node: placed(Placement::Node),
            nr_placed_remote: placed(Placement::Remote),
        }
    }

    /// One line for a terminal.
    pub fn format<W: Write>(&self, w: &mut W) -> std::io::Result<()> {
        writeln!(
            w,
            "[scx_usched] tasks r/q/s {}/{}/{} of {} cpus | dispatch u {} k {} (fast {} pref {}) c {} b {} f {} cg {} cl {} st {} (wait max {} ms) | \
             kicks p {} i {} s {} self-skip {} protect {} wake {} | cpu {:.2}% pf {} | enq->dsp p50/p99 {:.0}/{:.0} us | \
             wake->run p50/p99/max {:.0}/{:.0}/{:.0} us | placed cpu/smt/llc/node/remote {}/{}/{}/{}/{}",
            self.nr_running,
            self.nr_queued,
            self.nr_scheduled,
            self.nr_cpus,
            self.nr_user_dispatches,
            self.nr_kernel_dispatches,
            self.nr_fast_dispatches,
            self.nr_fast_cpu_picks,
            self.nr_cancel_dispatches,
            self.nr_bounce_dispatches,
            self.nr_failed_dispatches,
            self.nr_sched_congested,
            self.nr_clamped,
            self.nr_starved,
            self.wait_max_ms,
            self.nr_preempt_kicks,
            self.nr_idle_kicks,
            self.nr_slice_kicks,
            self.nr_self_kicks_skipped,
            self.nr_protect_kicks,
            self.nr_wakeups,
            self.cpu_pct,
            self.nr_page_faults,
            self.enq_dispatch_p50_us,
            self.enq_dispatch_p99_us,
            self.wake_run_p50_us,
            self.wake_run_p99_us,
            self.wake_run_max_us,
            self.nr_placed_cpu,
            self.nr_placed_smt,
            self.nr_placed_llc,
            self.nr_placed_node,
            self.nr_placed_remote,
        )
    }
}

/// A connection's reader: the figures since its previous read.
pub struct Reader {
    prev: Previous,
}

impl Reader {
    /// Starts an interval now; fails while no scheduler is attached.
    pub fn new(counters: &RuntimeCounters) -> Result<Self> {
        Ok(Reader { prev: Previous::take(counters)? })
    }

    /// The interval since the previous read (or since [`Reader::new`]).
    pub fn read(&mut self, counters: &RuntimeCounters) -> Result<Metrics> {
        let now = Previous::take(counters)?;
        let m = Metrics::between(&now, &self.prev, counters);
        self.prev = now;
        Ok(m)
    }
}

/// Prints what each statistic means (`--help-stats`).
pub fn describe<W: Write>(w: &mut W) -> Result<()> {
    StatsServerData::<(), ()>::new().add_meta(Metrics::meta()).describe_meta(w, None)
}

/// Prints the running scheduler's statistics every `intv` until an exit is
/// requested (SIGINT/SIGTERM or the scheduler's own shutdown). Waits quietly
/// while the server is not up or the scheduler not attached yet (at start,
/// during a restart); says so once if that lasts.
pub fn monitor(intv: Duration) -> Result<()> {
    let mut waiting = Waiting::default();
    while !usched::exit_requested() {
        let mut client = match StatsClient::new().connect(Some(5000)) {
            Ok(c) => c,
            Err(e) => {
                waiting.wait(&e);
                continue;
            }
        };
        while !usched::exit_requested() {
            match client.request::<Metrics>("stats", vec![]) {
                Ok(m) => {
                    waiting = Waiting::default();
                    m.format(&mut std::io::stdout())?;
                    std::thread::sleep(intv);
                }
                // Not attached (yet, or again): ask again soon.
                Err(e) if matches!(e.downcast_ref(), Some(StatsErrno(libc::ENODATA))) => {
                    waiting.wait(&e)
                }
                Err(e) => {
                    waiting.wait(&e);
                    break;
                }
            }
        }
    }
    Ok(())
}

/// How long the monitor has waited for figures, and whether it said so.
#[derive(Default)]
struct Waiting {
    since: Option<Instant>,
    said: bool,
}

impl Waiting {
    /// Sleeps a little; says why once, if the wait lasts 5 s.
    fn wait(&mut self, why: &dyn std::fmt::Display) {
        let since = *self.since.get_or_insert_with(Instant::now);
        if !self.said && since.elapsed() >= Duration::from_secs(5) {
            log::info!("statistics not available yet: {why}");
            self.said = true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
