// SPDX-License-Identifier: GPL-2.0-only
//! The high-level runtime: drive any usched-core [`Policy`] on the calling
//! thread, the dispatcher.
//!
//! Each round drains every runnable task into the policy, asks the policy for
//! as many decisions as there are CPUs able to take a task soon (free CPUs
//! minus decisions still in flight), sends them, and kicks the CPUs once for
//! the batch. With nothing to do, the thread waits as the poll mode says.
//! The loop does not allocate.
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use scx_utils::UserExitInfo;
use usched_core::heap::VtimeHeap;
use usched_core::policy::{EnqueueError, Policy};

use crate::error::Result;
use crate::record::{DispatchedTask, RL_CPU_ANY};
use crate::scheduler::BpfScheduler;

/// Numbers the runtime publishes for other threads (lock-free).
#[derive(Debug, Default)]
pub struct RuntimeCounters {
    /// Rounds of the dispatch loop (published every round: another thread
    /// can tell a dispatcher that stopped making progress).
    pub rounds: AtomicU64,
    /// Tasks the policy refused (full) and that were sent to any CPU.
    pub policy_overflows: AtomicU64,
    /// Stale policy entries replaced by a newer record of the same task
    /// (the kernel re-queued it after a class, affinity or nice change
    /// while its old record waited in the policy).
    pub policy_replaced: AtomicU64,
    /// Decisions retried because the user ring buffer was full.
    pub dispatch_retries: AtomicU64,
    /// Ring-buffer records dropped for want of staging room
    /// ([`BpfScheduler::nr_lost_records`]), over every scheduler this
    /// loop ran: must stay 0.
    pub records_lost: AtomicU64,
    /// Page faults of the dispatcher thread since the loop started.
    pub page_faults: AtomicU64,
    /// The dispatch loop is running ([`Runtime::run`] between its start and
    /// its return): while it is, `rounds` must keep moving.
    pub in_loop: AtomicBool,
}

/// Decisions the user ring buffer had no room for, oldest first.
const BACKLOG: usize = 4096;

/// The dispatch loop of one scheduler and one policy, a round at a time.
///
/// [`step`](Self::step) runs one round; [`run`](Self::run) loops until the
/// scheduler exits. Nothing a task goes through is ever dropped: a task the
/// policy cannot hold is sent to any CPU; a decision the user ring buffer
/// cannot take waits in a fixed backlog; when that is full too, records stay
/// in the BPF ring buffer (and the BPF side falls back to the shared DSQ).
pub struct Runtime<'r, 'a, P: Policy> {
    sched: &'r mut BpfScheduler<'a>,
    policy: &'r mut P,
    backlog: Box<VtimeHeap<DispatchedTask, BACKLOG>>,
    backlog_seq: u64,
    nr_online_cpus: u64,
    round: u64,
    faults_at_start: u64,
    /// `sched.nr_lost_records()` already added to the counters.
    lost_seen: u64,
    counters: Option<Arc<RuntimeCounters>>,
}

impl<'r, 'a, P: Policy> Runtime<'r, 'a, P> {
    /// Prepares the loop on the calling thread, which becomes the dispatcher.
    pub fn new(
        sched: &'r mut BpfScheduler<'a>,
        policy: &'r mut P,
        counters: Option<Arc<RuntimeCounters>>,
    ) -> Self {
        sched.register_dispatcher_thread();
        // Losses before this loop are not its own (a scheduler may be run
        // by more than one loop).
        let lost_seen = sched.nr_lost_records();
        Self {
            sched,
            policy,
            backlog: Box::new(VtimeHeap::new()),
            backlog_seq: 0,
            nr_online_cpus: crate::procfs::online_cpus() as u64,
            round: 0,
            faults_at_start: crate::procfs::current_thread_page_faults(),
            lost_seen,
            counters,
        }
    }

    /// The scheduler has exited (see [`BpfScheduler::exited`]).
    pub fn exited(&self) -> bool {
        self.sched.exited()
    }

    /// Tasks waiting in the policy and the backlog.
    pub fn nr_pending(&self) -> usize {
        self.policy.nr_queued() + self.backlog.len()
    }

    fn defer(&mut self, d: DispatchedTask) {
        // A stale decision for the same pid is superseded by this one.
        self.backlog.remove(d.pid);
        if self.backlog.push(d.pid, self.backlog_seq, d).is_ok() {
            self.backlog_seq = self.backlog_seq.wrapping_add(1);
        }
        if let Some(c) = &self.counters {
            c.dispatch_retries.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// One round: backlog, drain, decide, kick, and wait if idle.
    /// Returns whether anything moved.
    pub fn step(&mut self) -> bool {
        self.round = self.round.wrapping_add(1);
        let mut progress = false;

        // 1. Decisions refused earlier for a full ring buffer go first.
        while let Some(e) = self.backlog.peek() {
            let d = *e.value;
            if self.sched.dispatch_task(&d).is_err() {
                break;
            }
            self.backlog.pop_min();
            progress = true;
        }

        // 2. Everything runnable goes to the policy, while there is room to
        //    place a task the policy refuses.
        let mut ring_full = !self.backlog.is_empty();
        while !self.backlog.is_full() {
            let Ok(Some(task)) = self.sched.dequeue_task() else {
                break;
            };
            progress = true;
            let mut res = self.policy.enqueue(task.into());
            if let Err(EnqueueError::Duplicate(t)) = res {
                // The kernel took the task back and queued it anew (class,
                // affinity or nice change) while its old record waited
                // here: the new record supersedes it.
                let removed = self.policy.remove(t.pid);
                res = self.policy.enqueue(t);
                if let (true, true, Some(c)) = (removed, res.is_ok(), &self.counters) {
                    c.policy_replaced.fetch_add(1, Ordering::Relaxed);
                }
            }
            if let Err(e) = res {
                // Policy full: the task still runs, on any CPU.
                let back = e.into_task();
                if let Some(c) = &self.counters {
                    c.policy_overflows.fetch_add(1, Ordering::Relaxed);
                }
                let d = DispatchedTask {
                    pid: back.pid,
                    cpu: back.cpu,
                    flags: RL_CPU_ANY,
                    slice_ns: 0,
                    vtime: back.vtime,
                    seq: back.cookie,
                    deadline: 0,
                };
                // Once the ring refused one decision this round (after
                // waiting up to FULL_RING_WAIT for room), the rest wait in
                // the backlog: one wait per round, not one per task.
                if ring_full || self.sched.dispatch_task(&d).is_err() {
                    ring_full = true;
                    self.defer(d);
                }
            }
        }

        // 3. As many decisions as CPUs can take soon: free CPUs, or CPUs
        //    without a decided task waiting for them. Latency-critical tasks
        //    have the earliest deadlines, so they go first and preempt.
        //    At least one per round: rounds follow events, so the queue
        //    drains at least as fast as tasks arrive, whatever the counters
        //    say (they are estimates: a task can leave a DSQ unseen).
        let busy = self.sched.nr_inflight() + self.sched.nr_scheduled();
        let mut budget =
            self.nr_online_cpus.saturating_sub(busy).max(self.sched.nr_idle_cpus() as u64).max(1);
        while budget > 0 && self.backlog.is_empty() {
            let Some(d) = self.policy.dispatch(crate::sys::monotonic_ns()) else {
                break;
            };
            budget -= 1;
            progress = true;
            let t = DispatchedTask::from(d);
            // Whatever the error (full ring, a failed submit), the decision
            // is kept and sent again: a task whose decision is lost waits
            // for the watchdog.
            if self.sched.dispatch_task(&t).is_err() {
                self.defer(t);
            }
        }

        let pending = self.nr_pending() as u64;
        self.sched.set_next_deadline(self.policy.next_deadline());
        self.sched.set_vtime_floor(self.policy.vtime_floor());
        self.sched.notify_complete(pending);
        if !progress && pending > 0 {
            self.sched.wait();
        }
        let lost = self.sched.nr_lost_records();
        if let Some(c) = &self.counters {
            if lost != self.lost_seen {
                c.records_lost.fetch_add(lost.saturating_sub(self.lost_seen), Ordering::Relaxed);
            }
            c.rounds.store(self.round, Ordering::Relaxed);
            if self.round.is_multiple_of(1024) {
                c.page_faults.store(
                    crate::procfs::current_thread_page_faults()
                        .saturating_sub(self.faults_at_start),
                    Ordering::Relaxed,
                );
            }
        }
        self.lost_seen = lost;
        progress
    }

    /// Runs rounds until the scheduler exits; then detaches and reports.
    ///
    /// # Errors
    /// What [`BpfScheduler::shutdown`] returns.
    pub fn run(mut self) -> Result<UserExitInfo> {
        if let Some(c) = &self.counters {
            c.in_loop.store(true, Ordering::Relaxed);
        }
        while !self.sched.exited() {
            self.step();
        }
        if let Some(c) = &self.counters {
            c.in_loop.store(false, Ordering::Relaxed);
        }
        self.sched.shutdown()
    }
}

/// Runs `policy` until the scheduler exits; then detaches and reports.
///
/// # Errors
/// What [`BpfScheduler::shutdown`] returns.
pub fn run<P: Policy>(
    sched: &mut BpfScheduler<'_>,
    policy: &mut P,
    counters: Option<Arc<RuntimeCounters>>,
) -> Result<UserExitInfo> {
    Runtime::new(sched, policy, counters).run()
}
